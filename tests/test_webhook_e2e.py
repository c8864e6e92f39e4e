"""A signed BambooHR webhook to a finished offboarding, through the real pieces: the receiver,
its inbox and dispatcher, `prefect deploy --all` from prefect.yaml, a process worker and a
Prefect server on loopback. Redeliveries start nothing new."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flows.inbox import Inbox
from flows.ledger import Ledger
from flows.registry import load_registry
from flows.webhook import Dispatcher, bamboohr_signature, create_app, launch_deployment

ROOT = Path(__file__).resolve().parent.parent
PREFECT = str(Path(sys.executable).parent / "prefect")
KEY = "bhr-e2e-key-canary-91c2"

# BambooHR's field-based payload (vendors-hr.md): Laura (1001) is dismissed.
DISMISSAL = {"employees": [{
    "action": "Updated", "changedFields": ["Employment Status"], "id": "1001",
    "fields": {"Employment Status": "Terminated", "First Name": "Laura"},
    "timestamp": "2026-11-20T09:12:00+0000",
}]}


def prefect_cli(*args: str, api_url: str, timeout: float = 90) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_WORKER_QUERY_SECONDS": "1"}
    return subprocess.run([PREFECT, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def signed(body: bytes, now: float) -> dict[str, str]:
    stamp = str(int(now))
    return {"content-type": "application/json", "x-bamboohr-timestamp": stamp,
            "x-bamboohr-signature": bamboohr_signature(KEY, body, stamp)}


def wait_for(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def offboarding_runs(employee_id: str) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=["offboard-employee"])))
    return [r for r in runs if r.parameters.get("employee_id") == employee_id]


@pytest.fixture(scope="module")
def deployed(prefect_api_url: str) -> str:
    """The work pool and both deployments, made exactly as the README says."""
    pool = prefect_cli("work-pool", "create", "relevo", "--type", "process", "--overwrite", api_url=prefect_api_url)
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = prefect_cli("deploy", "--all", api_url=prefect_api_url)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert "offboard-employee/offboard-employee" in deploy.stdout
    assert "rescind-termination/rescind-termination" in deploy.stdout
    return prefect_api_url


def test_signed_dismissal_webhook_runs_the_deployment_once(deployed, acme, monkeypatch):
    monkeypatch.setenv("RELEVO_BAMBOOHR_WEBHOOK_KEY", KEY)
    # No one clicks "approve" in this test: the policy approves the drafts so the run can finish.
    acme.write_text(acme.read_text("utf-8").replace("auto_approve_notices: false", "auto_approve_notices: true"), "utf-8")
    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    launched: list[str] = []

    def launch(event, registry_path):  # the real launcher, counted
        run_id = launch_deployment(event, registry_path)
        launched.append(run_id)
        return run_id

    dispatcher = Dispatcher(inbox, str(registry.path), launch=launch)
    body = json.dumps(DISMISSAL).encode()
    with TestClient(create_app(acme, dispatcher=dispatcher)) as client:
        accepted = client.post("/webhooks/bamboohr", content=body, headers=signed(body, time.time()))
        assert accepted.status_code == 202, accepted.text
        accepted_at = time.monotonic()
        [key] = accepted.json()["stored"]
        event = wait_for(lambda: next((e for e in inbox.events() if e.state == "dispatched"), None))
        assert event.event_key == key and launched == [event.flow_run_id]

        worker = prefect_cli("worker", "start", "--pool", "relevo", "--run-once", api_url=deployed)
        assert worker.returncode == 0, worker.stdout + worker.stderr
        [run] = wait_for(lambda: [r for r in offboarding_runs("1001") if r.state and r.state.is_final()] or None)
        print(f"webhook accepted -> flow run completed: {time.monotonic() - accepted_at:.1f} s")
        assert str(run.id) == event.flow_run_id
        assert run.state.is_completed(), run.state
        assert run.state.name == "Completed with manual actions"  # the example's platforms have no API
        assert run.parameters == {"employee_id": "1001", "registry_path": str(registry.path), "event_key": key,
                                  "dry_run": False, "revoke_now": False}  # the last two: prefect.yaml defaults

        ledger = Ledger(registry.database_url)
        rows = ledger.audit("1001")
        assert {r["event_key"] for r in rows} == {key}
        assert {r["run_id"] for r in rows} == {event.flow_run_id}
        outcomes = {(r["action"], r["outcome"]) for r in rows}
        assert ("revoke_role", "manual") in outcomes  # Facebook, Instagram, ... by hand, with steps
        assert ("add_admin", "manual") in outcomes  # she is YouTube's only owner
        assert ("draft_notice", "done") in outcomes
        assert ("personal_not_touched", "not_touched") in outcomes
        actions_before = ledger.states("1001")

        for attempt in range(3):  # BambooHR redelivers; so can an attacker replaying within the window
            again = client.post("/webhooks/bamboohr", content=body, headers=signed(body, time.time()))
            assert again.status_code == 202 and again.json() == {"stored": [], "already_stored": [key], "ignored": 0}
        dispatcher.wake()
        time.sleep(0.5)  # give the dispatcher thread a pass: it must find nothing pending
    assert launched == [event.flow_run_id]
    assert launch_deployment(event, str(registry.path)) == event.flow_run_id  # same key, same run
    assert [str(r.id) for r in offboarding_runs("1001")] == [event.flow_run_id]
    assert Ledger(registry.database_url).states("1001") == actions_before
    assert len(Ledger(registry.database_url).audit("1001")) == len(rows)
    assert [e.state for e in inbox.events()] == ["dispatched"]
    assert KEY not in (registry.output_dir / "audit.jsonl").read_text("utf-8")
