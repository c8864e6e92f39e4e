"""Run names, tags, step states and the one-line headline an operator reads in the Prefect UI."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from relevo.engine import runview


def test_label_is_one_short_printable_line():
    hostile = "Laura\u202e Mart\u00ednez\n\r\x00\x1b[31m\tFerrer" + "x" * 200
    text = runview.label(hostile, 40)
    assert len(text) == 40 and text.endswith("…")
    assert "\n" not in text and "\x1b" not in text and "\u202e" not in text and "\x00" not in text
    assert text.startswith("Laura Martínez [31m Ferrer")
    assert runview.label(None) == ""


def test_run_name_and_tag():
    employee = {"name": "Laura Martínez", "termination": {"type": "involuntary", "date": "2026-11-20"}}
    assert runview.run_name("1001", employee) == "offboard 1001 · Laura Martínez · dismissal"
    assert (
        runview.run_name("1002", {"name": "Diego", "termination": {"type": "voluntary"}})
        == "offboard 1002 · Diego · resignation"
    )
    assert runview.run_name("1003") == "offboard 1003"
    assert runview.run_name("1\n2", {"name": "A\x07B" * 50, "termination": None}).count("\n") == 0
    assert runview.employee_tag(" 10 01\n") == "employee:10_01"
    assert runview.task_name("revoke", "Acme (Facebook Page)") == "revoke · Acme (Facebook Page)"


def row(action: str, target: str, outcome: str) -> dict:
    return {"action": action, "target": target, "outcome": outcome}


def test_headline_counts_presences_not_rows():
    rows = [
        row("revoke_role", "Facebook", "done"),
        row("revoke_role", "Facebook", "already_done"),
        row("revoke_role", "X", "done"),
        row("rotate_credentials", "X", "manual"),  # a shared login stays open
        row("add_admin", "YouTube", "manual"),
        row("revoke_role", "YouTube", "manual"),
        row("personal_not_touched", "x @me", "not_touched"),
        row("check_record", "HR record: manager", "manual"),
        row("draft_notice", "Client A", "awaiting_approval"),
        row("reassign_crm", "CRM", "awaiting_approval"),
    ]
    assert runview.access(rows) == (1, 3)
    assert runview.headline(rows) == (
        "Access removed on 1 of 3 presences; 4 tasks for a person; 2 notice(s) await approval"
    )
    assert runview.headline([row("revoke_role", "Facebook", "planned")], dry_run=True) == (
        "Dry run: relevo would remove access on 1 of 1 presence; 0 tasks for a person"
    )
    scheduled = [row("revoke_role", "Facebook", "scheduled")]
    assert runview.headline(scheduled).startswith(
        "Access removed on 0 of 1 presence; 0 tasks for a person; 1 presence"
    )


def test_step_state_is_grey_needs_a_person_only_when_left_to_a_person():
    state = runview.step_state({"x": 1}, True, "remove by hand\nsteps")
    assert state.is_cancelled() and state.name == "Needs a person" and state.message == "remove by hand steps"
    assert runview.step_state({"x": 1}, False) == {"x": 1}


def test_run_is_findable_and_its_steps_say_what_happened(prefect_api_url, acme: Path):
    """1001 on the example company: every presence is by hand, so no step is a green success."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterTags,
    )

    from relevo.offboarding import offboard_employee

    dry = offboard_employee("1001", registry_path=str(acme), dry_run=True, return_state=True)
    assert dry.name == "Dry run" and dry.message.startswith(
        "Dry run: relevo would remove access on 0 of 6 presences"
    )
    state = offboard_employee("1001", registry_path=str(acme), wait_for_approval=False, return_state=True)
    assert state.is_completed() and state.name == "Needs a person"
    assert (
        state.message
        == "Access removed on 0 of 6 presences; 8 tasks for a person; 9 notice(s) await approval"
    )
    with get_client(sync_client=True) as client:
        [run] = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id]),
                tags=FlowRunFilterTags(all_=["employee:1001"]),
            )
        )
        assert run.name == "offboard 1001 · Laura Martínez Ferrer · dismissal"
        # Task-run states reach the server as events, recorded a little after the run ends: wait for them.
        deadline = time.monotonic() + 30
        while True:
            steps = {
                t.name: t.state
                for t in client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
                )
            }
            if all(s is not None and s.is_final() for s in steps.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        # Each key has a version per stage (before the access steps, after them, at the end): the latest wins.
        # This test's two runs only: other tests of the session offboard 1001 too, under the same keys.
        ours = ArtifactFilterFlowRunId(any_=[run.id, dry.state_details.flow_run_id])
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="offboarding-1001"), flow_run_id=ours)
        )
        reports = {a.key: a for a in sorted(artifacts, key=lambda a: a.created)}
    facebook = steps["revoke · Acme Comunicación (Facebook Page)"]
    assert facebook.type.value == "CANCELLED" and facebook.name == "Needs a person"
    assert steps["revoke_role · Acme Comunicación (Facebook Page)"].name == "Needs a person"
    assert "by hand" in steps["revoke_role · Acme Comunicación (Facebook Page)"].message
    assert steps["read HR record · 1001"].is_completed()
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline, finished, logs = time.monotonic() + 20, [], []
    while len(finished) < 8 and time.monotonic() < deadline:  # logs reach the API in batches, a little later
        with get_client(sync_client=True) as client:  # expected work for a person is a warning, not an error
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
        finished = [
            entry
            for entry in logs  # each step's own line; the run's last line says it too, at INFO
            if entry.name == "prefect.task_runs" and "Finished in state Needs a person" in entry.message
        ]
        time.sleep(0.5)
    assert finished and {entry.level for entry in finished} == {logging.WARNING}
    assert not [entry.message for entry in logs if entry.level >= logging.ERROR]
    assert not [n for n, s in steps.items() if n.startswith(("revoke", "add_admin")) and s.is_completed()]
    # Dry and real runs keep their reports apart; the report leads with access, then notices.
    assert {"offboarding-1001", "offboarding-1001-dry-run", "offboarding-1001-rows"} <= set(reports)
    report = reports["offboarding-1001"].data
    assert (
        report.index("Access removed on 0 of 6 presences")
        < report.index("## Access")
        < report.index("## Client notices")
    )
