"""The CLI and the UI see each other: a run paused for approval is listed by `relevo tasks` with its
address, and `relevo approve` answers its form (the run places the drafts)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


def relevo(*args: str, api_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "relevo.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PREFECT_API_URL": api_url},
        timeout=180,
    )


def test_tasks_lists_a_ui_paused_approval_and_approve_answers_it(prefect_api_url, acme: Path):
    from relevo.cli.uiruns import paused_approvals
    from relevo.offboarding import offboard_employee

    out: dict[str, Any] = {}

    def target() -> None:
        out["state"] = offboard_employee(
            "1001", registry_path=str(acme), wait_for_approval=True, return_state=True
        )

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not (paused := paused_approvals("1001")) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert paused, "the run never paused for approval"

    listed = relevo("tasks", "--employee", "1001", "--registry", str(acme), api_url=prefect_api_url)
    assert listed.returncode == 0, listed.stderr
    assert f"/runs/flow-run/{paused[0].run_id}" in listed.stdout
    assert "approval form of run offboard 1001 · Laura Martínez Ferrer · dismissal" in listed.stdout

    rejected = "j.oconnor@seaviewhotels.example"
    answered = relevo(
        "approve",
        "1001",
        "--registry",
        str(acme),
        "--by",
        "Javier Soler",
        "--reject",
        rejected,
        api_url=prefect_api_url,
    )
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert "Answered the approval form of run" in answered.stdout
    thread.join(120)
    assert not thread.is_alive()
    rows = out["state"].result()["rows"]
    notices = {r["target"]: r["outcome"] for r in rows if r["action"] == "draft_notice"}
    assert [t for t, o in notices.items() if o == "rejected"] == [t for t in notices if rejected in t]
    assert {o for t, o in notices.items() if rejected not in t} == {"done"}
    assert any("approved in the Prefect UI by Javier Soler" in r["detail"] for r in rows)
    assert not paused_approvals("1001")
