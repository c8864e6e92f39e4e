"""Nobody is offboarded who has not left, and a withdrawn termination stops everything it started
(issue 11, items 1 and 2): the example company's active employees, forced runs, layoffs, and runs
that resume or time out after a withdrawal, against the session's real Prefect server."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from relevo import schemas
from relevo.config.registry import load_registry
from relevo.storage.ledger import Ledger
from tests.support.approval import use_timeout
from tests.support.cli import relevo
from tests.support.example_hr import withdraw_in_hr

ACTIVE = ["1005", "1006", "1007"]  # examples/acme/hr.json: no termination


def out_files(registry: Path) -> list[Path]:
    """Files written to the output folder (the ledger's database aside: reading the ledger creates it)."""
    return sorted(
        p for p in (registry.parent / "out").rglob("*") if p.is_file() and not p.name.startswith("relevo.db")
    )


def ledger(registry: Path) -> Ledger:
    return Ledger(load_registry(registry).database_url)


@pytest.mark.parametrize("args", [["1005"], ["1006"], ["1007", "--dry-run"], ["1007", "--now"]])
def test_cli_refuses_an_employee_who_has_not_left(prefect_api_url, acme, args):
    result = relevo("offboard", *args, "--registry", str(acme), api_url=prefect_api_url)
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"relevo: error: employee {args[0]} (") and "has not left" in line
    assert "no termination" in line and "--force" in line
    assert "Traceback" not in result.stdout + result.stderr
    assert (
        "planned" not in result.stdout and "revoke_role" not in result.stdout
    )  # 1007's admin roles: no plan
    assert out_files(acme) == [] and ledger(acme).audit() == []


def test_offboard_help_mentions_force():
    result = relevo("offboard", "--help", timeout=30)
    assert result.returncode == 0 and "--force" in result.stdout and "--by" in result.stdout


@pytest.mark.parametrize("employee_id", ACTIVE)
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_deployment_run_for_someone_who_stays_does_nothing_and_says_so(
    prefect_api_url, acme, employee_id, dry_run
):
    """What the UI ("Custom run") and a webhook's run do: the HR record decides, whatever started the run."""
    from relevo.offboarding import offboard_employee

    state = offboard_employee(
        employee_id,
        str(acme),
        dry_run=dry_run,
        wait_for_approval=True,
        event_key=f"bamboohr:{employee_id}:status_changed:x",
        return_state=True,
    )
    assert state.is_completed() and state.name == "Not offboarded"
    assert state.message.startswith(f"employee {employee_id} (") and "has not left" in state.message
    assert "\n" not in state.message
    assert ledger(acme).audit() == [] and out_files(acme) == []


def test_force_offboards_and_records_who_asked(prefect_api_url, acme):
    from relevo.offboarding import offboard_employee

    summary = offboard_employee("1006", str(acme), force=True, requested_by="Elena Sanchis (HR)")
    summary = summary if isinstance(summary, dict) else summary.result()
    rows = ledger(acme).audit("1006")
    [forced] = [r for r in rows if r["action"] == "force_offboard"]
    assert forced["outcome"] == "done" and rows[0] == forced  # before anything else
    assert "although the HR record shows status active and no termination" in forced["detail"]
    assert "requested by 'Elena Sanchis (HR)'" in forced["detail"] and "run as OS user" in forced["detail"]
    for row in rows:
        schemas.check("outcome", {k: v for k, v in row.items() if k != "seq"}, "audit row")
    assert any(r["action"] == "draft_notice" for r in rows)  # the run went on


def test_forced_dry_run_from_the_cli_shows_the_plan(prefect_api_url, acme):
    result = relevo(
        "offboard", "1007", "--dry-run", "--force", "--registry", str(acme), api_url=prefect_api_url
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "force_offboard" in result.stdout and "revoke_role" in result.stdout
    assert ledger(acme).audit() == []


def test_a_layoff_with_someone_who_stays_offboards_nobody(prefect_api_url, acme):
    from relevo.layoff import offboard_batch

    cli = relevo(
        "layoff", "1001", "1005", "1012", "--dry-run", "--registry", str(acme), api_url=prefect_api_url
    )
    assert cli.returncode == 2, cli.stdout + cli.stderr
    # (the tests let Prefect's warnings through to the console; relevo's CLI keeps them to the UI)
    lines = [x for x in cli.stderr.strip().splitlines() if "| WARNING |" not in x]
    assert len(lines) == 1, cli.stderr
    [line] = lines
    assert "employee 1005 (" in line and "has not left" in line and "1001" not in line

    state = offboard_batch(["1001", "1005", "1006"], str(acme), dry_run=False, return_state=True)
    assert state.name == "Not offboarded" and "employees 1005, 1006 have not left" in state.message
    assert ledger(acme).audit() == [] and out_files(acme) == []


@pytest.mark.parametrize("employee_id", ["1001", "1002", "1003", "1004", "1012"])
def test_the_readme_examples_are_still_offboarded(prefect_api_url, acme, employee_id):
    from relevo.offboarding import offboard_employee

    state = offboard_employee(employee_id, str(acme), dry_run=True, return_state=True)
    assert state.name != "Not offboarded" and state.result()["employee_id"] == employee_id
    assert "refused" not in state.result()


# --- a withdrawn termination stops everything it started ---


def start_paused(registry: Path) -> tuple[threading.Thread, dict[str, Any], Any]:
    """Laura's offboarding (a dismissal) in a thread, paused for approval of the notices as a deployment run is."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    from tests.support.approval import start

    thread, out = start(registry)
    paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
    deadline = time.monotonic() + 120
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:  # only paused runs: the session's server holds hundreds of others
            assert "error" not in out, out.get("error")
            for run in client.read_flow_runs(flow_run_filter=paused, limit=200):
                if run.parameters.get("registry_path") == str(registry):
                    return thread, out, run
            time.sleep(0.3)
    raise AssertionError("the run never paused for approval")


@pytest.mark.parametrize("how", ["timeout", "resume"])
def test_a_paused_run_writes_nothing_after_the_termination_is_withdrawn(prefect_api_url, acme, how):
    """It used to write the notices and the CRM hand-over as awaiting approval, and an HR note, when its pause
    timed out (or place them when resumed) for a person who stays."""
    from prefect.flow_runs import resume_flow_run

    from relevo.rescind import rescind_termination

    use_timeout(acme, 0.0015 if how == "timeout" else 1)  # 6 s
    thread, out, run = start_paused(acme)
    withdraw_in_hr(acme, "1001")
    before = len(ledger(acme).audit("1001"))
    rescind_termination("1001", str(acme), event_key="factorial:1001:rescinded:none:after-1")
    rescinded = ledger(acme).audit("1001")[before:]
    assert [r["action"] for r in rescinded][0] == "withdraw_termination"
    if how == "resume":
        resume_flow_run(
            run.id,
            run_input={"approve": True, "reject": [], "approved_by": "Javier Soler", "successor_id": ""},
        )
    thread.join(120)
    assert not thread.is_alive() and "error" not in out

    after = ledger(acme).audit("1001")[before + len(rescinded) :]
    assert after == []  # nothing: no notice awaiting approval, no placed draft, no CRM hand-over, no HR note
    assert not (acme.parent / "out" / "hr-notes" / "1001.md").exists()
    assert not list((acme.parent / "out" / "drafts").rglob("*.eml"))
    assert not (acme.parent / "out" / "crm-reassignments.csv").exists()
    assert out["state"].is_final()  # (after a pause timeout Prefect names it "cancelled and never resumed")


def test_rescind_restores_nothing_while_hr_still_shows_the_termination(prefect_api_url, acme):
    """A Factorial unterminate or a BambooHR status change used to give every role back without asking HR."""
    from relevo.offboarding import offboard_employee
    from relevo.rescind import rescind_termination

    offboard_employee("1001", str(acme))
    before = ledger(acme).states("1001")
    state = rescind_termination(
        "1001", str(acme), event_key="factorial:1001:rescinded:none:after-1", return_state=True
    )
    result = state.result()
    [task] = result["rows"]
    assert (task["action"], task["outcome"]) == ("check_record", "manual")
    assert "still shows one" in task["detail"] and "nothing was cancelled or restored" in task["detail"]
    after = ledger(acme).states("1001")
    assert {k: v.status for k, v in after.items() if k in before} == {k: v.status for k, v in before.items()}
    assert not [k for k in after if k.endswith(":restore") or ":withdrawn:" in k]

    withdraw_in_hr(
        acme, "1001"
    )  # now HR says so: the roles are given back (tasks here: no API in the example)
    result = rescind_termination("1001", str(acme), event_key="factorial:1001:rescinded:none:after-1")
    assert {r["action"] for r in result["rows"]} >= {"withdraw_termination", "restore_role"}


def test_notices_awaiting_approval_are_withdrawn_with_the_termination(prefect_api_url, acme):
    from relevo.offboarding import offboard_employee
    from relevo.rescind import rescind_termination

    offboard_employee("1001", str(acme))  # from a script: notices await `relevo approve`
    withdraw_in_hr(acme, "1001")
    rescind_termination("1001", str(acme))
    states = ledger(acme).states("1001")
    notices = [s for k, s in states.items() if ":notice:" in k or ":reassign_crm:" in k]
    assert notices and {s.status for s in notices} == {"withdrawn"}
    approved = relevo(
        "approve", "1001", "--registry", str(acme), "--by", "Elena Sanchis", api_url=prefect_api_url
    )
    assert approved.returncode == 2 and "has not left" in approved.stderr
    assert not (acme.parent / "out" / "crm-reassignments.csv").exists()
