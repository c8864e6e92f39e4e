"""The `relevo` command as an operator runs it: a subprocess of this interpreter, and its audit as rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def relevo(*args: str, api_url: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m relevo.cli ARGS`, output captured; `api_url` sets PREFECT_API_URL for it."""
    env = {**os.environ}
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return subprocess.run(
        [sys.executable, "-m", "relevo.cli", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def audit_rows(registry: Path, *extra: str) -> list[dict]:
    """`relevo audit --json` for this registry, one dict per ledger row; the command must succeed."""
    result = relevo("audit", "--registry", str(registry), "--json", *extra)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]
