"""Canary secrets: no credential value leaves relevo in any output, even when a vendor repeats it.

Every secret of the simulated company is a canary value. Every write the run attempts is
refused by a careless vendor whose error message repeats the request's headers (so the
credential) back; the run then records those errors. The canaries must not appear in the
logs (Python's and the Prefect server's), the artifacts, the ledger and audit log, the
audit file, the drafts, `relevo audit` output, or any error text.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from relevo.config.registry import load_registry
from relevo.storage.ledger import Ledger
from tests.sim.company import SECRETS

ROOT = Path(__file__).resolve().parents[2]
WRITES = {  # vendor → a write the run makes there
    "meta": ("DELETE", r"/assigned_users$|^/v21\.0/\d+$"),
    "hootsuite": ("DELETE", r"/members/"),
    "tiktok": ("POST", r"/bc/member/delete"),
    "hubspot": ("POST", r"/batch/update$"),
    "bamboohr": ("POST", r"/files$"),
}


def leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def prefect_outputs(flow_run_id, employee_id: str) -> str:
    """Everything the Prefect server keeps for the run: its logs and the run's artifacts."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)  # logs reach the server in batches
    with get_client(sync_client=True) as client:
        for _ in range(100):
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            if logs:
                break
            time.sleep(0.1)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        run = client.read_flow_run(flow_run_id)
    assert logs and artifacts, "the run left no logs or artifacts to check"
    return "\n".join(
        [
            *(log.message for log in logs),
            *(json.dumps(a.data, default=str) for a in artifacts),
            *(str(a.description) for a in artifacts),
            json.dumps(run.parameters, default=str),
            str(run.state.message if run.state else ""),
        ]
    )


def test_no_secret_in_any_output(prefect_api_url, company, fast_prefect_retries, caplog, capfd):
    from relevo.offboarding import offboard_employee

    caplog.set_level(logging.DEBUG)
    sim, world = company.sim, company.world
    leaver = world.leavers[0]
    for vendor, (method, pattern) in WRITES.items():
        sim.vendors[vendor].echo_credentials = True
        sim.vendors[vendor].forbid(method, pattern)
    sim.vendors["graph"].echo_credentials = True
    sim.vendors["graph"].forbid("POST", r"/messages$")

    state = offboard_employee(leaver.id, str(company.registry), return_state=True)
    summary = state.result(raise_on_failure=False)
    summary = summary if isinstance(summary, dict) else summary.result()
    failed = [r for r in summary["rows"] if r["outcome"] == "failed"]
    assert len(failed) >= 6, [(r["action_key"], r["outcome"], r["detail"][:120]) for r in summary["rows"]]
    echoed = [c for c in sim.log() if c.status == 403 or (c.vendor == "tiktok" and c.method == "POST")]
    assert echoed, "no vendor echoed a credential"

    registry = load_registry(company.registry)
    ledger = Ledger(registry.database_url)
    outputs = {
        "rows and error texts": json.dumps(summary["rows"], ensure_ascii=False),
        "audit table": json.dumps(ledger.audit(), ensure_ascii=False, default=str),
        "actions table": json.dumps(
            {k: (s.status, s.detail, s.pre_state) for k, s in ledger.states(leaver.id).items()},
            ensure_ascii=False,
        ),
        "audit.jsonl": (registry.output_dir / "audit.jsonl").read_text("utf-8"),
        "drafts": json.dumps(sim.vendors["graph"].mailboxes, ensure_ascii=False),
        "HR files": "".join(f["content"].decode("utf-8", "replace") for f in sim.vendors["bamboohr"].files),
        "python logs": caplog.text,
        "stdout/stderr": "".join(capfd.readouterr()),
        "prefect logs and artifacts": prefect_outputs(state.state_details.flow_run_id, leaver.id),
    }
    audit_cli = subprocess.run(
        [sys.executable, "-m", "relevo.cli", "audit", "--registry", str(company.registry)],
        cwd=ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert audit_cli.returncode == 0, audit_cli.stderr
    outputs["relevo audit"] = audit_cli.stdout + audit_cli.stderr
    assert "***" in outputs["rows and error texts"]  # the echoed values were there, and were redacted
    found = {where: leaks(text) for where, text in outputs.items() if leaks(text)}
    assert not found, f"secret values found in: {found}"
