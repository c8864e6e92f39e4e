"""Resignations revoke at the end of the last working day (a scheduled run of the deployment),
and a withdrawn termination cancels that run and gives back what was revoked, from the ledger's
pre-state: against a real Prefect server and a real SCIM service on loopback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from relevo.config.registry import load_registry
from relevo.engine import revocation
from relevo.storage.ledger import Ledger
from tests.support.canaries import SCIM_TOKEN
from tests.support.deployments import deployment_id, runs_of
from tests.support.example_hr import withdraw_in_hr

LAURA = "laura.martinez@acme-comunicacion.example"
# Diego (1002) resigned; his last day is 2027-03-31: access goes at 23:59 Madrid time (CEST, UTC+2).
DIEGO_REVOKE_AT = datetime(2027, 3, 31, 21, 59, tzinfo=UTC)


def approved(path: Path) -> Path:
    """Nobody clicks "approve" in these tests: the policy approves the drafts so runs finish."""
    path.write_text(
        path.read_text("utf-8").replace("auto_approve_notices: false", "auto_approve_notices: true"), "utf-8"
    )
    return path


def summary_of(result):  # type: ignore[no-untyped-def]
    return result if isinstance(result, dict) else result.result()


def as_deployment(monkeypatch, scheduled_start: datetime | None = None) -> None:  # type: ignore[no-untyped-def]
    """Run the flow in-process as if a worker had started it from the offboard-employee deployment."""
    monkeypatch.setattr(
        revocation, "deployment", SimpleNamespace(id=deployment_id("offboard-employee/offboard-employee"))
    )
    monkeypatch.setattr(
        revocation, "flow_run", SimpleNamespace(scheduled_start_time=scheduled_start or datetime.now(UTC))
    )


def scheduled_runs(registry_path: Path) -> list:
    return [
        r
        for r in runs_of("1002")
        if r.parameters.get("registry_path") == str(registry_path)
        and r.state
        and r.state.type.value == "SCHEDULED"
    ]


def test_resignation_schedules_one_revocation_run_and_rescind_cancels_it(deployed, acme, monkeypatch):
    from relevo.offboarding import offboard_employee
    from relevo.rescind import rescind_termination

    approved(acme)
    as_deployment(monkeypatch)
    first = summary_of(offboard_employee("1002", str(acme), event_key="bamboohr:1002:terminated:x"))
    outcomes = {(r["action"], r["outcome"]) for r in first["rows"]}
    assert ("revoke_role", "scheduled") in outcomes and ("revoke_role", "manual") not in outcomes
    assert ("schedule_revocation", "scheduled") in outcomes
    [run] = scheduled_runs(acme)
    assert run.expected_start_time == DIEGO_REVOKE_AT
    assert (
        run.idempotency_key == "acme-comunicacion:1002:revoke-at:2027-03-31T21:59:00+00:00"
    )  # company first
    assert run.parameters["employee_id"] == "1002" and run.parameters["revoke_now"] is False

    offboard_employee("1002", str(acme))  # a duplicate event: still one scheduled run
    assert [r.id for r in scheduled_runs(acme)] == [run.id]

    hr = (acme.parent / "hr.json").read_text("utf-8")
    withdraw_in_hr(acme, "1002")
    result = summary_of(rescind_termination("1002", str(acme), event_key="bamboohr:1002:rescinded:y"))
    [cancelled] = [r for r in result["rows"] if r["outcome"] == "cancelled"]
    assert cancelled["action"] == "schedule_revocation" and str(run.id) in cancelled["target"]
    assert scheduled_runs(acme) == []
    assert [r for r in runs_of("1002") if r.id == run.id][0].state.type.value == "CANCELLED"
    restored = [r for r in result["rows"] if r["action"] == "restore_role"]
    assert restored == []  # nothing had been revoked yet: nothing to give back
    audit = Ledger(load_registry(acme).database_url).audit("1002")
    assert audit[-1]["event_key"] == "bamboohr:1002:rescinded:y" and audit[-1]["outcome"] == "cancelled"

    # He resigns again, same last day: a new run is scheduled (Prefect would hand back the cancelled one
    # for the same idempotency key).
    (acme.parent / "hr.json").write_text(hr, "utf-8")
    again = summary_of(offboard_employee("1002", str(acme), event_key="bamboohr:1002:terminated:z"))
    [new] = scheduled_runs(acme)
    assert new.id != run.id and new.expected_start_time == DIEGO_REVOKE_AT
    assert ("schedule_revocation", "scheduled") in {(r["action"], r["outcome"]) for r in again["rows"]}


def test_the_scheduled_run_revokes_even_if_started_a_little_early(prefect_api_url, acme, monkeypatch):
    from relevo.offboarding import offboard_employee

    approved(acme)
    monkeypatch.setattr(revocation, "deployment", SimpleNamespace(id=None))
    monkeypatch.setattr(revocation, "flow_run", SimpleNamespace(scheduled_start_time=DIEGO_REVOKE_AT))
    # Not a deployment run: the plain CLI behaviour, revocations stay scheduled and nothing is scheduled.
    plain = summary_of(offboard_employee("1002", str(acme)))
    assert {r["outcome"] for r in plain["rows"] if r["action"] == "revoke_role"} == {"scheduled"}
    assert not [r for r in plain["rows"] if r["action"] == "schedule_revocation"]

    # The run the deployment scheduled for 23:59 on the last day, picked up by a worker seconds early.
    monkeypatch.setattr(revocation, "deployment", SimpleNamespace(id="a-deployment"))
    due = summary_of(offboard_employee("1002", str(acme)))
    assert {r["outcome"] for r in due["rows"] if r["action"] == "revoke_role"} == {
        "manual"
    }  # done by hand here
    assert not [r for r in due["rows"] if r["action"] == "schedule_revocation"]


@pytest.fixture
def scim_registry(acme: Path, scim_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = approved(acme.parent / "relevo-scim.yaml")
    path.write_text(path.read_text("utf-8").replace("http://127.0.0.1:8099/v2", scim_url), "utf-8")
    monkeypatch.setenv("ACME_SCIM_TOKEN", SCIM_TOKEN)
    return path


def active(scim_url: str, user_name: str) -> bool:
    response = requests.get(
        f"{scim_url}/Users",
        params={"filter": f'userName eq "{user_name}"'},
        headers={"Authorization": f"Bearer {SCIM_TOKEN}"},
        timeout=5,
    )
    (user,) = response.json()["Resources"]
    return user["active"]


def test_rescind_restores_from_pre_state_and_a_new_termination_revokes_again(
    prefect_api_url, scim_registry, scim_url
):
    from examples.acme.seed_scim import seed
    from relevo.offboarding import offboard_employee
    from relevo.rescind import rescind_termination

    seed(scim_url, SCIM_TOKEN)
    summary_of(offboard_employee("1001", str(scim_registry)))
    assert active(scim_url, LAURA) is False

    hr = (scim_registry.parent / "hr.json").read_text("utf-8")
    withdraw_in_hr(scim_registry, "1001")
    result = summary_of(
        rescind_termination("1001", str(scim_registry), event_key="factorial:1001:rescinded:none")
    )
    restores = {r["target"]: r for r in result["rows"] if r["action"] == "restore_role"}
    assert restores["Acme social-media suite (SCIM)"]["outcome"] == "done"
    assert active(scim_url, LAURA) is True
    manual = [r for r in restores.values() if r["outcome"] == "manual"]
    assert len(manual) == 5 and all(
        "again with role" in r["detail"] for r in manual
    )  # no API: a person does it
    # YouTube's removal waited for a second owner and never happened: nothing to give back there.
    assert not [t for t in restores if "YouTube" in t]
    assert result["open"] == 5

    again = summary_of(rescind_termination("1001", str(scim_registry)))  # a duplicate withdrawal
    assert not [r for r in again["rows"] if "SCIM" in r["target"]]  # given back already: not touched again
    restores = [r["outcome"] for r in again["rows"] if r["action"] == "restore_role"]
    assert restores == ["manual"] * 5  # the people's tasks stay open
    assert active(scim_url, LAURA) is True

    (scim_registry.parent / "hr.json").write_text(hr, "utf-8")  # dismissed again
    rehired_then_fired = summary_of(offboard_employee("1001", str(scim_registry)))
    [scim] = [r for r in rehired_then_fired["rows"] if r["action"] == "revoke_role" and "SCIM" in r["target"]]
    assert scim["outcome"] == "done" and active(scim_url, LAURA) is False


def test_a_withdrawal_waits_for_a_call_another_run_is_making(acme, monkeypatch):
    """Review: a rescind looked only at `offboard-employee` runs (which it cancels). With terminations gathered
    into an `offboard-batch` run, or a `relevo layoff` from the command line, it gave roles back while such a
    run was in the middle of removing one: the removal landed after the restore and stayed. It now waits
    until no other live run holds one of the employee's actions; one that never lets go is a task."""
    import threading
    import time

    from relevo import rescind
    from relevo.engine.execute import Run

    registry = load_registry(acme)
    ledger = Ledger(registry.database_url)
    key = "1001:revoke:yt-brand:laura"
    assert ledger.claim(key, "1001", "revoke_role", "YouTube", "batch-run/elsewhere/1") == "claimed"
    threading.Timer(2.0, lambda: ledger.release(key, "batch-run/elsewhere/1")).start()  # its call returns
    me = Run(registry, {"id": "1001"}, None)
    began = time.monotonic()
    assert rescind.wait_for_claims(me) == []
    assert time.monotonic() - began >= 1.9  # it waited for the other run's call

    assert ledger.claim(key, "1001", "revoke_role", "YouTube", "batch-run/elsewhere/1") == "claimed"
    monkeypatch.setattr(rescind, "STOP_WAIT", 0.3)
    (task,) = rescind.wait_for_claims(me)
    assert task["outcome"] == "manual" and "run this rescind again" in task["detail"]


def test_a_run_holding_a_claim_reads_the_withdrawal_again_before_calling(acme, monkeypatch):
    """Review: a batch run checks for a withdrawal at most once a second, before it claims; a withdrawal
    written in between let it call the vendor after the rescind had looked at the claims. Now it reads the
    withdrawal again, fresh, once it holds the claim: nothing is called and nothing written."""
    from relevo.engine import execute as engine
    from relevo.engine.execute import Run
    from relevo.engine.gate import WITHDRAW
    from relevo.rules.plan import Action

    registry = load_registry(acme)
    employee = {"id": "1001", "name": "Laura"}
    run = Run(registry, employee, None, direct=True)
    run.since = "2026-01-01T00:00:00.000+00:00"
    assert run.withdrawn() is None  # looked a moment ago: cached for a second
    Run(registry, {"id": "1001"}, None).record_key(
        "1001:withdrawn:test", WITHDRAW, "HR record 1001", "done", "test"
    )
    calls: list[str] = []
    monkeypatch.setattr(engine, "attempt_direct", lambda run, action: calls.append(action.key))
    action = Action(
        key="1001:revoke:yt-brand:laura",
        action="revoke_role",
        target="YouTube",
        phase="revoke",
        description="remove",
    )
    row = engine.execute(run, action)
    assert calls == [] and row["outcome"] == "cancelled"
    ledger = Ledger(registry.database_url)
    state = ledger.state(action.key)
    assert state is None or state.status == "claimed"  # no outcome recorded
    assert ledger.claimed_by_others("1001", "someone-else") == []  # and the claim released
