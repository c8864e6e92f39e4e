"""A withdrawn termination stops the runs it started, through the real pieces: `prefect deploy --all`,
a process worker and the session's Prefect server. A run waiting for approval (suspended: no process of its
own) is cancelled, so it is never started again to place its notices, and a run that was
pending when the withdrawal came and starts anyway writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from relevo.config.registry import load_registry
from relevo.storage.ledger import Ledger
from tests.support.approval import use_timeout
from tests.support.deployments import PREFECT, ROOT
from tests.support.example_hr import withdraw_in_hr
from tests.support.waiting import wait_for

TIMEOUT_HOURS = 0.003  # the approval pause times out after 11 s


def state_of(run_id):  # type: ignore[no-untyped-def]
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state


@pytest.mark.slow  # a worker, two run processes and the approval timeout: 30-40 s on an idle 2-core VM, 110 s loaded
def test_withdrawal_cancels_a_suspended_run_and_a_pending_run_writes_nothing(deployed, acme):
    from prefect import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.deployments import run_deployment
    from prefect.states import Pending

    from relevo.rescind import rescind_termination

    use_timeout(acme, TIMEOUT_HOURS)
    registry = load_registry(acme)
    ledger = Ledger(registry.database_url)
    params = {"employee_id": "1001", "registry_path": str(registry.path)}
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "PREFECT_API_URL": deployed,
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_CANCELLATION_POLL_SECONDS": "1",
    }
    worker = subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", "relevo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        paused = run_deployment(
            "offboard-employee/offboard-employee",
            parameters={**params, "event_key": f"a-{tag}"},
            idempotency_key=f"paused-{tag}",
            timeout=0,
        )
        wait_for(lambda: (s := state_of(paused.id)) is not None and s.is_paused(), timeout=120)
        paused_at = time.monotonic()
        # Another run of Laura's, claimed by a worker whose process has not started yet.
        pending = run_deployment(
            "offboard-employee/offboard-employee",
            parameters={**params, "event_key": f"b-{tag}"},
            idempotency_key=f"pending-{tag}",
            timeout=0,
            scheduled_time=datetime.now(UTC) + timedelta(days=1),
        )
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(pending.id, Pending())
        before = len(ledger.audit("1001"))
        assert before > 0  # the paused run revoked (tasks here: the example's presences have no API)

        withdraw_in_hr(acme, "1001")
        result = rescind_termination("1001", str(registry.path), event_key=f"factorial:1001:rescinded:{tag}")
        cancelled = {r["target"] for r in result["rows"] if r["outcome"] == "cancelled"}
        assert any(str(paused.id) in t for t in cancelled) and any(str(pending.id) in t for t in cancelled)

        with get_client(sync_client=True) as client:
            history = [s.type for s in client.read_flow_run_states(paused.id)]
        # Suspended, it had no process: Prefect turns the Cancelling asked for into Cancelled at once.
        assert history[-2:] == [StateType.PAUSED, StateType.CANCELLED] and state_of(pending.id).is_final()

        # ...that pending run's process starts anyway (`python -m prefect.engine`, what the process worker runs).
        started = subprocess.run(
            [sys.executable, "-m", "prefect.engine"],
            cwd=ROOT,
            timeout=180,
            env={**env, "PREFECT__FLOW_RUN_ID": str(pending.id)},
            capture_output=True,
            text=True,
        )
        assert "Traceback" not in started.stderr or "Abort" in started.stderr, started.stderr[-2000:]

        # Past the approval timeout: a paused process still alive would now have written.
        time.sleep(max(0.0, paused_at + TIMEOUT_HOURS * 3600 + 4 - time.monotonic()))
    finally:
        worker.terminate()
        worker.wait(30)

    rows = ledger.audit("1001")[before:]
    ours = {r["run_id"] for r in rows}
    assert str(paused.id) not in ours and str(pending.id) not in ours  # neither run wrote anything after it
    assert {r["action"] for r in rows if r["outcome"] != "withdrawn"} <= {
        "withdraw_termination",
        "schedule_revocation",
        "restore_role",
    }
    # The suspended run had recorded its notices as awaiting approval: the rescind withdrew them.
    assert {r["action"] for r in rows if r["outcome"] == "withdrawn"} <= {"draft_notice", "reassign_crm"}
    assert {s.status for k, s in ledger.states("1001").items() if ":notice:" in k} == {"withdrawn"}
    out = acme.parent / "out"
    assert not (out / "hr-notes" / "1001.md").exists()
    assert not list((out / "drafts").rglob("*.eml")) and not (out / "crm-reassignments.csv").exists()
