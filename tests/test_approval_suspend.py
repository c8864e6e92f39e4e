"""A deployment run waiting for its approval form is suspended (issue 17 item 6): no process waits, and
nothing is lost that a paused run kept. On the session's real Prefect server, with each attempt of the
deployment's flow run executed here as the process worker would (`run_as_worker`).

- Unanswered in time: the notices were already in the ledger as awaiting approval (the suspended run ends
  with no code of ours running), `relevo tasks` lists them, and `relevo approve` places them.
- Answered: the worker runs the flow again from the top; the answer is applied once (the rejection and the
  approver's name recorded once), to exactly the drafts it was given for.
- Withdrawn while suspended: nothing is placed when the run resumes.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from relevo.config.registry import load_registry
from relevo.storage.ledger import Ledger
from tests.support.approval import deployment_run, run_as_worker, use_timeout
from tests.support.cli import relevo
from tests.support.example_hr import withdraw_in_hr

# Real deployment runs attempt by attempt: ~50 s for the module on 2 cores, run in CI's slow step.
pytestmark = pytest.mark.slow

REJECTED = "j.oconnor@seaviewhotels.example"


def ledger(registry: Path) -> Ledger:
    return Ledger(load_registry(registry).database_url)


def notice_states(registry: Path) -> dict[str, str]:
    """Status of each draft and CRM hand-over of Laura's (1001) in the ledger."""
    return {
        k: s.status
        for k, s in ledger(registry).states("1001").items()
        if ":notice:" in k or ":reassign_crm:" in k
    }


def suspended(flow_run_id) -> object:
    state = run_as_worker(flow_run_id)
    assert state.is_paused() and state.name == "Suspended", state
    assert state.state_details.run_input_keyset, "suspended without its approval form"
    return state


def resume(flow_run_id, **answer) -> None:
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(flow_run_id, run_input={"approve": True, "reject": [], "successor_id": "", **answer})


def test_an_unanswered_suspended_run_leaves_its_notices_to_relevo_approve(deployed, acme):
    """d76e079 suspended without writing anything: after the timeout the notices were nowhere but in a
    Failed run, `relevo tasks` listed nothing and `relevo approve` had nothing to place."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort
    from prefect.exceptions import FlowPauseTimeout

    from relevo.cli.uiruns import paused_approvals

    use_timeout(acme, 0.001)  # 4 s
    flow_run = deployment_run(acme)
    state = suspended(flow_run.id)
    waiting = notice_states(acme)
    assert waiting and set(waiting.values()) == {"awaiting_approval"}  # written before the process ended
    detail = ledger(acme).state(next(iter(waiting))).detail
    assert f"/runs/flow-run/{flow_run.id}" in detail and "relevo approve 1001" in detail
    with get_client(
        sync_client=True
    ) as client:  # the run's report, published before it suspended, says so too
        [report] = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["offboarding-1001-rows"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id]),
            ),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    rows = json.loads(report.data) if isinstance(report.data, str) else report.data
    reported = {r["target"]: r for r in rows if r["action"] in {"draft_notice", "reassign_crm"}}
    assert len(reported) == len(waiting)
    assert all(
        r["outcome"] == "awaiting_approval" and "relevo approve 1001" in r["detail"]
        for r in reported.values()
    )

    time.sleep(max(0.0, (state.state_details.pause_timeout.timestamp() - time.time()) + 0.5))
    assert not paused_approvals("1001")  # its form can no longer be answered: the CLI works from the ledger
    with pytest.raises(FlowPauseTimeout):  # Prefect refuses a late answer and fails the run
        resume(flow_run.id, approved_by="Javier Soler")
    with get_client(sync_client=True) as client:
        final = client.read_flow_run(flow_run.id).state
    assert final.is_failed(), final

    listed = relevo("tasks", "--employee", "1001", "--registry", str(acme), api_url=deployed)
    assert listed.returncode == 0, listed.stderr
    assert "approval form of run" not in listed.stdout
    assert listed.stdout.count("awaiting approval") >= len(waiting), listed.stdout
    for key in waiting:
        assert f"key: {key}" in listed.stdout

    approved = relevo("approve", "1001", "--registry", str(acme), "--by", "Elena Sanchis", api_url=deployed)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "Answered the approval form" not in approved.stdout
    assert set(notice_states(acme).values()) == {"done"}
    assert len(list((acme.parent / "out" / "drafts").rglob("*.eml"))) == sum(":notice:" in k for k in waiting)


def test_an_answered_suspended_run_applies_the_answer_once(deployed, acme):
    use_timeout(acme, 1)
    flow_run = deployment_run(acme)
    suspended(flow_run.id)
    before = len(ledger(acme).audit("1001"))

    listed = relevo("tasks", "--employee", "1001", "--registry", str(acme), api_url=deployed)
    assert listed.returncode == 0, listed.stderr
    assert f"/runs/flow-run/{flow_run.id}" in listed.stdout and "suspended in the Prefect UI" in listed.stdout
    answered = relevo(
        "approve",
        "1001",
        "--registry",
        str(acme),
        "--by",
        "Javier Soler",
        "--reject",
        REJECTED,
        api_url=deployed,
    )
    assert answered.returncode == 0, answered.stdout + answered.stderr
    assert "Answered the approval form of run" in answered.stdout

    state = run_as_worker(flow_run.id)  # the worker starts the resumed run again, from the top
    assert state.is_completed(), state
    audit = ledger(acme).audit("1001")
    replay = audit[before:]
    assert not [
        r for r in replay if r["outcome"] == "awaiting_approval"
    ]  # the answered form is not re-recorded
    placed = Counter(
        (r["action_key"], r["outcome"])
        for r in audit
        if r["outcome"] in {"done", "rejected"} and r["action"] in {"draft_notice", "reassign_crm"}
    )
    assert placed and set(placed.values()) == {1}  # each draft placed or rejected exactly once
    rejected = [k for (k, o) in placed if o == "rejected"]
    assert rejected and all(REJECTED in r["target"] for r in audit if r["action_key"] in rejected)
    assert sum("in the Prefect UI by Javier Soler" in r["detail"] for r in replay) == len(placed), replay
    assert set(notice_states(acme).values()) == {"done", "rejected"}


def test_drafts_changed_while_suspended_are_asked_again_not_placed(deployed, acme):
    """d76e079 applied the stored answer to whatever the resumed run rendered: a draft the approver never
    saw (here: its recipient's name changed in the CRM while the form waited) was placed."""
    use_timeout(acme, 1)
    flow_run = deployment_run(acme)
    first = suspended(flow_run.id)
    clients = acme.parent / "clients.json"
    data = json.loads(clients.read_text("utf-8"))
    data["clients"][0]["contacts"][0]["name"] = "Rosa Beltrán Soler"
    data["clients"][0]["contacts"][0]["last_name"] = "Beltrán Soler"
    clients.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    resume(flow_run.id, approved_by="Javier Soler")

    again = suspended(flow_run.id)  # asked again: a new version of the form, nothing placed
    assert again.state_details.pause_key != first.state_details.pause_key
    assert set(notice_states(acme).values()) == {"awaiting_approval"}
    assert not list((acme.parent / "out" / "drafts").rglob("*.eml"))
    from tests.support.approval import form_description

    class Run:  # form_description reads the form of a run in this state
        id = flow_run.id
        state = again

    assert "changed while this form was open" in form_description(Run)


@pytest.mark.parametrize("how", ["rescind", "hr"])
def test_a_withdrawal_while_suspended_places_nothing(deployed, acme, how):
    """`rescind`: the termination's withdrawal event cancels the suspended run (no process to end) and
    withdraws its notices. `hr`: the HR record alone says so when the form is answered; the resumed run
    starts from the top, reads HR and places nothing."""
    from prefect.exceptions import NotPausedError

    from relevo.rescind import rescind_termination

    use_timeout(acme, 1)
    flow_run = deployment_run(acme)
    suspended(flow_run.id)
    withdraw_in_hr(acme, "1001")
    if how == "rescind":
        rescind_termination("1001", str(acme), event_key="factorial:1001:rescinded:none:after-1")
        assert set(notice_states(acme).values()) == {"withdrawn"}
    before = len(ledger(acme).audit("1001"))
    if how == "rescind":
        with pytest.raises(NotPausedError):  # cancelled: its form can no longer be answered
            resume(flow_run.id, approved_by="Javier Soler")
    else:
        resume(flow_run.id, approved_by="Javier Soler")
        state = run_as_worker(flow_run.id)
        assert state.is_completed() and state.name == "Not offboarded", state
        assert set(notice_states(acme).values()) == {"awaiting_approval"}  # `relevo approve` refuses them too
    assert ledger(acme).audit("1001")[before:] == []  # nothing placed, handed over or noted
    assert not list((acme.parent / "out" / "drafts").rglob("*.eml"))
    assert not (acme.parent / "out" / "crm-reassignments.csv").exists()


def test_relevo_approve_does_not_place_what_an_answered_or_waiting_form_holds(deployed, acme):
    """Review finding: the form answered in the UI with one draft rejected, then `relevo approve` before a
    worker started the run again: the CLI found no paused form, placed every awaiting draft from the ledger
    (the rejected one too), and the replay found them done. Without PREFECT_API_URL the same happened while
    the form still waited. Now both are refused (exit 2, nothing placed) and the run applies the answer."""
    use_timeout(acme, 1)
    flow_run = deployment_run(acme)
    suspended(flow_run.id)
    import os
    import subprocess
    import sys

    no_server = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    blind = subprocess.run(
        [sys.executable, "-m", "relevo.cli", "approve", "1001", "--registry", str(acme), "--by", "CLI"],
        capture_output=True,
        text=True,
        env=no_server,
        timeout=120,
    )
    assert blind.returncode == 2 and str(flow_run.id) in blind.stderr, blind.stdout + blind.stderr
    resume(flow_run.id, approved_by="UI approver", reject=[REJECTED])  # Scheduled again, no form waits
    late = relevo("approve", "1001", "--registry", str(acme), "--by", "CLI", api_url=deployed)
    assert late.returncode == 2 and "places them when a worker starts it again" in late.stderr, late.stderr
    assert not [
        r for r in ledger(acme).audit("1001") if r["outcome"] == "done" and r["action"] == "draft_notice"
    ]
    state = run_as_worker(flow_run.id)
    assert state.is_completed(), state
    statuses = notice_states(acme)
    assert [
        k for k, s in statuses.items() if s == "rejected" and REJECTED in k
    ] and "awaiting_approval" not in (statuses.values())


@pytest.mark.parametrize("from_hr", [True, False], ids=["hr-events", "layoff-from-the-ui"])
def test_a_batch_of_hr_events_suspends_its_one_form_and_resumes_without_listing_again(
    deployed, acme, monkeypatch, from_hr
):
    """Terminations the dispatcher gathered into one `offboard-batch` run: its one form suspends the run (the
    layoff form used to pause, holding a process for up to the timeout); answered, the run starts again
    from the top and goes straight to the answer: no presence is listed and nothing revoked again. On the
    old code the batch paused (the attempt never ended) and took no event keys."""
    from prefect import get_client
    from prefect.flow_runs import resume_flow_run

    from relevo.connectors.manual import ManualConnector
    from relevo.layoff import offboard_batch

    use_timeout(acme, 1)
    listed: list[str] = []
    original = ManualConnector.members
    monkeypatch.setattr(ManualConnector, "members", lambda self, p: listed.append(p.id) or original(self, p))
    keys = {i: f"bamboohr:{i}:terminated:test-{i}" for i in ("1001", "1004")}
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("offboard-batch/offboard-batch")
        flow_run = client.create_flow_run_from_deployment(
            deployment.id,
            parameters={
                "employee_ids": "1001, 1004",  # as the dispatcher sends them
                **({"event_keys": keys} if from_hr else {}),
                "registry_path": str(acme),
                "dry_run": False,
            },
        )
    state = run_as_worker(flow_run.id, offboard_batch)
    assert state.is_paused() and state.name == "Suspended", state
    first_listing = len(listed)
    assert first_listing > 0
    with get_client(sync_client=True) as client:  # the runs page finds the batch by an employee's id
        tags = set(client.read_flow_run(flow_run.id).tags)
    assert {"employee:1001", "employee:1004"} <= tags and ("hr-batch" if from_hr else "layoff") in tags
    held = {
        k: s
        for i in keys
        for k, s in ledger(acme).states(i).items()
        if ":notice:" in k and s.status == "awaiting_approval"
    }
    assert held and all(f"/runs/flow-run/{flow_run.id}" in s.detail for s in held.values())
    if from_hr:
        assert {r["event_key"] for i in keys for r in ledger(acme).audit(i)} == set(keys.values())

    withdraw_in_hr(acme, "1004")  # while the form waits, HR withdraws one leaver's termination
    resume_flow_run(flow_run.id, run_input={"approved_by": "Ana Ruiz", "approve": True, "reject": []})
    state = run_as_worker(flow_run.id, offboard_batch)
    assert state.is_completed(), state
    assert len(listed) == first_listing  # the resumed attempt listed nothing
    done = [r for r in ledger(acme).audit("1001") if r["action"] == "draft_notice" and r["outcome"] == "done"]
    assert done and all("Ana Ruiz" in r["detail"] for r in done)  # the answer applied, not asked again
    # The withdrawn leaver's drafts: nothing placed (the old resume computed a new form key and dropped
    # the answer for everyone, or refused the whole list before reading it).
    assert not [
        r for r in ledger(acme).audit("1004") if r["action"] == "draft_notice" and r["outcome"] == "done"
    ]
    recorded = Counter(
        r["action_key"]
        for i in keys
        for r in ledger(acme).audit(i)
        if r["action"] not in {"draft_notice", "reassign_crm", "hr_note"}
    )
    assert recorded and set(recorded.values()) == {1}, recorded  # nothing of the first attempt done again


def test_a_batch_retried_after_its_form_timed_out_asks_again(deployed, acme):
    """Second review: a batch run whose form timed out (Prefect fails it) and that an operator retries from
    the UI stored its form's order again under the same key: the server answered 409 and every retry ended
    Failed with a traceback. The retry now asks again with the same form."""
    from prefect import get_client
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import resume_flow_run
    from prefect.states import AwaitingRetry

    from relevo.layoff import offboard_batch

    use_timeout(acme, 0.001)  # 4 s
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("offboard-batch/offboard-batch")
        flow_run = client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"employee_ids": "1001, 1004", "registry_path": str(acme), "dry_run": False},
        )
    state = run_as_worker(flow_run.id, offboard_batch)
    assert state.name == "Suspended", state
    time.sleep(max(0.0, state.state_details.pause_timeout.timestamp() - time.time()) + 0.5)
    with pytest.raises(FlowPauseTimeout):  # a late answer: Prefect fails the run
        resume_flow_run(flow_run.id, run_input={"approved_by": "Ana Ruiz", "approve": True, "reject": []})
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(flow_run.id).state.is_failed()
        client.set_flow_run_state(flow_run.id, AwaitingRetry())  # the UI's Retry, through Prefect's rules
    state = run_as_worker(flow_run.id, offboard_batch)
    assert state.name == "Suspended", (state, state.message)  # the form again, not a 409
