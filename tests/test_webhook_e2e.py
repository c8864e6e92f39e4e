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

from relevo.config.registry import load_registry
from relevo.receiver.dispatcher import Dispatcher, company_launcher
from relevo.receiver.verify import bamboohr_signature
from relevo.receiver.webhook import create_app
from relevo.storage.inbox import Inbox
from relevo.storage.ledger import Ledger
from tests.support.canaries import WEBHOOK_KEY as KEY
from tests.support.deployments import prefect_cli, runs_of
from tests.support.example_hr import withdraw_in_hr
from tests.support.waiting import wait_for

# BambooHR's field-based payload (vendors-hr.md): Laura (1001) is dismissed.
DISMISSAL = {
    "employees": [
        {
            "action": "Updated",
            "changedFields": ["Employment Status"],
            "id": "1001",
            "fields": {"Employment Status": "Terminated", "First Name": "Laura"},
            "timestamp": "2026-11-20T09:12:00+0000",
        }
    ]
}


def signed(body: bytes, now: float) -> dict[str, str]:
    stamp = str(int(now))
    return {
        "content-type": "application/json",
        "x-bamboohr-timestamp": stamp,
        "x-bamboohr-signature": bamboohr_signature(KEY, body, stamp),
    }


def ours(event_key: str) -> list:  # type: ignore[no-untyped-def]
    """Runs for Laura started for this test's webhook event."""
    return [r for r in runs_of("1001") if r.parameters.get("event_key") == event_key]


@pytest.mark.slow  # a real worker runs the deployment: ~15 s on 2 cores (in CI's slow step)
def test_signed_dismissal_webhook_runs_the_deployment_once(deployed, acme, monkeypatch, tmp_path):
    """The receiver sends no path of its own; the worker, on "another machine" (no checkout, another working
    directory), runs relevo as installed and finds the registry through its RELEVO_REGISTRY."""
    monkeypatch.setenv("RELEVO_BAMBOOHR_WEBHOOK_KEY", KEY)
    # No one clicks "approve" in this test: the policy approves the drafts so the run can finish.
    acme.write_text(
        acme.read_text("utf-8").replace("auto_approve_notices: false", "auto_approve_notices: true"), "utf-8"
    )
    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    launched: list[str] = []

    def launch(
        event, registry_path, relaunch=0
    ):  # the real launcher, as `relevo webhook serve` makes it, counted
        run_id = company_launcher(registry)(event, registry_path, relaunch)
        launched.append(run_id)
        return run_id

    dispatcher = Dispatcher(inbox, None, launch=launch)  # as `relevo webhook serve` without --worker-registry
    elsewhere = tmp_path / "worker-machine"
    elsewhere.mkdir()
    worker_env = {"RELEVO_REGISTRY": str(registry.path)}
    body = json.dumps(DISMISSAL).encode()
    with TestClient(create_app(acme, dispatcher=dispatcher)) as client:
        accepted = client.post("/webhooks/bamboohr", content=body, headers=signed(body, time.time()))
        assert accepted.status_code == 202, accepted.text
        accepted_at = time.monotonic()
        [key] = accepted.json()["stored"]
        event = wait_for(lambda: next((e for e in inbox.events() if e.state == "dispatched"), None))
        assert event.event_key == key and launched == [event.flow_run_id]

        worker = prefect_cli(
            "worker",
            "start",
            "--pool",
            "relevo",
            "--run-once",
            api_url=deployed,
            cwd=elsewhere,
            env=worker_env,
        )
        assert worker.returncode == 0, worker.stdout + worker.stderr
        run = wait_for(lambda: next((r for r in ours(key) if r.state and r.state.is_final()), None))
        print(f"webhook accepted -> flow run completed: {time.monotonic() - accepted_at:.1f} s")
        assert str(run.id) == event.flow_run_id
        assert run.state.is_completed(), run.state
        assert run.state.name == "Needs a person"  # the example's platforms have no API
        assert run.parameters == {
            "employee_id": "1001",
            "event_key": key,
            "dry_run": False,
            "revoke_now": False,
        }  # the last two: prefect.yaml defaults
        assert run.idempotency_key == f"{registry.company_slug}:{key}"

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

        for _ in range(3):  # BambooHR redelivers; so can an attacker replaying within the window
            again = client.post("/webhooks/bamboohr", content=body, headers=signed(body, time.time()))
            assert again.status_code == 202 and again.json() == {
                "stored": [],
                "already_stored": [key],
                "ignored": 0,
            }
        dispatcher.wake()
        time.sleep(0.5)  # give the dispatcher thread a pass: it must find nothing pending
        assert launched == [event.flow_run_id] and ledger.states("1001") == actions_before
        # The termination is withdrawn in BambooHR: the rescind deployment gives back what was taken.
        withdraw_in_hr(acme, "1001")
        withdrawal = json.dumps(
            {
                "employees": [
                    {
                        "action": "Updated",
                        "changedFields": ["Termination Date"],
                        "id": "1001",
                        "fields": {"Termination Date": ""},
                        "timestamp": "2026-11-21T10:00:00+0000",
                    }
                ]
            }
        ).encode()
        answer = client.post(
            "/webhooks/bamboohr", content=withdrawal, headers=signed(withdrawal, time.time())
        )
        assert answer.status_code == 202 and answer.json()["stored"][0].startswith("bamboohr:1001:rescinded:")
        rescind = wait_for(
            lambda: next((e for e in inbox.events() if e.kind == "rescinded" and e.flow_run_id), None)
        )
        worker = prefect_cli(
            "worker",
            "start",
            "--pool",
            "relevo",
            "--run-once",
            api_url=deployed,
            cwd=elsewhere,
            env=worker_env,
        )
        assert worker.returncode == 0, worker.stdout + worker.stderr
    restored = [r for r in Ledger(registry.database_url).audit("1001") if r["event_key"] == rescind.event_key]
    assert restored and {r["run_id"] for r in restored} == {rescind.flow_run_id}
    assert {(r["action"], r["outcome"]) for r in restored} == {  # no API in the example: tasks for a person
        ("withdraw_termination", "done"),
        ("restore_role", "manual"),
    }
    assert len(launched) == 2 and launched[0] == event.flow_run_id
    assert company_launcher(registry)(event, None) == event.flow_run_id  # same key, same run
    assert [str(r.id) for r in ours(key) if r.idempotency_key == f"{registry.company_slug}:{key}"] == [
        event.flow_run_id
    ]
    assert len(Ledger(registry.database_url).audit("1001")) == len(rows) + len(restored)
    assert [e.state for e in inbox.events()] == ["dispatched", "dispatched"]
    assert KEY not in (registry.output_dir / "audit.jsonl").read_text("utf-8")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(registry: Path, port: int, api_url: str) -> subprocess.Popen:
    """`relevo webhook serve` as an operator runs it, in its own process."""
    env = {
        **os.environ,
        "RELEVO_BAMBOOHR_WEBHOOK_KEY": KEY,
        "RELEVO_FACTORIAL_CHALLENGE": "unused-challenge",
        "PREFECT_API_URL": api_url,
        "PREFECT_CLIENT_MAX_RETRIES": "0",
    }  # serve needs every configured secret
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "relevo.cli",
            "webhook",
            "serve",
            "--registry",
            str(registry),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    import requests

    def up() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            return False

    wait_for(up)
    return process


@pytest.mark.slow  # a receiver process killed and restarted: ~7 s on 2 cores (in CI's slow step)
def test_killed_receiver_loses_nothing_and_dispatches_after_restart(deployed, acme):
    """Prefect down: the event is acknowledged, stays pending through a SIGKILL, and is dispatched on restart."""
    import requests

    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    port = free_port()
    # Another delivery than the first test's: Prefect keeps one run per idempotency key server-wide.
    body = json.dumps(
        {"employees": [{**DISMISSAL["employees"][0], "timestamp": "2026-11-20T09:13:00+0000"}]}
    ).encode()
    receiver = serve(acme, port, f"http://127.0.0.1:{free_port()}/api")  # nothing listens there
    try:
        answer = requests.post(
            f"http://127.0.0.1:{port}/webhooks/bamboohr",
            data=body,
            headers=signed(body, time.time()),
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        event = wait_for(lambda: next((e for e in inbox.events() if e.attempts >= 1), None))
        assert event.state == "pending" and event.last_error  # Prefect refused: kept, with the reason
    finally:
        receiver.kill()  # SIGKILL: no shutdown handler runs
        receiver.wait(10)
    assert [e.state for e in inbox.events()] == ["pending"]

    restarted = serve(acme, port, deployed)
    try:
        event = wait_for(
            lambda: next((e for e in inbox.events() if e.state == "dispatched"), None), timeout=30
        )
    finally:
        restarted.terminate()
        restarted.wait(10)
    [run] = ours(event.event_key)
    assert (
        str(run.id) == event.flow_run_id
        and run.idempotency_key == f"{registry.company_slug}:{event.event_key}"
    )
    assert "registry_path" not in run.parameters  # the receiver's own path means nothing on a worker
    from prefect import get_client
    from prefect.states import Cancelled

    with get_client(sync_client=True) as client:  # no worker runs it here; leave nothing for later tests
        client.set_flow_run_state(run.id, Cancelled(), force=True)
