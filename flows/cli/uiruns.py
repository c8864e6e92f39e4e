"""The CLI's view of runs waiting in the Prefect UI: approvals in an `offboard-employee` run.

A deployment run (from the UI or a webhook) is suspended with the approval form (no process waits; its
notices are in the ledger as "awaiting approval" from then on); a run without a deployment pauses in its
process, its notices recorded only once its pause times out. `relevo tasks` lists those waiting runs
with their address, and `relevo approve` answers their form (the run itself then places the drafts).
A form whose time is up is not listed: the server fails its run, and `relevo approve` works from the
ledger. Only with PREFECT_API_URL set: without a server there is no waiting run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from relevo.cli.output import console
from relevo.cli.running import quiet_prefect


@dataclass
class PausedApproval:
    employee_id: str
    run_id: str
    run_name: str
    url: str
    registry_path: str
    how: str = "paused"  # or "suspended" (a deployment run: no process waits for the answer)


def paused_approvals(employee_id: str | None = None) -> list[PausedApproval]:
    """`offboard-employee` runs waiting for their approval form, oldest first (all employees, or one).

    A form past its timeout is left out: Prefect refuses its answer, and the server fails the run soon."""
    if not os.environ.get("PREFECT_API_URL"):
        return []
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_UI_URL

    ui = (PREFECT_UI_URL.value() or "").rstrip("/")
    now = datetime.now(UTC)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["offboard-employee"])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
    found = []
    for run in runs:
        run_employee = str(run.parameters.get("employee_id", "")).strip()
        if employee_id is not None and run_employee != employee_id:
            continue
        if not (run.state and run.state.state_details.run_input_keyset):
            continue  # paused for something else than a form
        if (until := run.state.state_details.pause_timeout) is not None and until <= now:
            continue  # timed out: the notices wait in the ledger for `relevo approve`
        found.append(
            PausedApproval(
                run_employee,
                str(run.id),
                run.name,
                f"{ui}/runs/flow-run/{run.id}",
                str(run.parameters.get("registry_path", "")),
                "suspended" if run.state.name == "Suspended" else "paused",
            )
        )
    return found


def answer(paused: PausedApproval, approved_by: str, reject: list[str], successor_id: str = "") -> None:
    """Answer the run's approval form as the UI would: every draft approved except `reject` (keys or e-mails),
    or another successor named by HR id (the run checks it in HR and shows the new drafts again)."""
    from uuid import UUID

    from prefect.flow_runs import resume_flow_run

    run_input: dict[str, Any] = {
        "approved_by": approved_by,
        "approve": True,
        "reject": reject,
        "successor_id": successor_id,
    }
    resume_flow_run(UUID(str(paused.run_id)), run_input=run_input)


def ui_approvals(employee_id: str | None) -> list[Any]:
    """Approval forms paused in Prefect runs (with PREFECT_API_URL); an unreachable server is one dim line."""
    if not os.environ.get("PREFECT_API_URL"):
        return []
    quiet_prefect()
    try:
        return paused_approvals(employee_id)
    except Exception as exc:  # the Prefect API: the ledger's tasks are still listed
        console().print(f"[dim]Could not ask the Prefect server for paused runs ({type(exc).__name__}).[/]")
        return []


FORM_RUN = re.compile(r"awaiting approval in the form of Prefect run \S*/runs/flow-run/([0-9a-f-]{36})")


def runs_holding_notices(registry_url: str, employee_id: str) -> list[str]:
    """Prefect runs whose approval form holds notices of this employee that the ledger lists as awaiting.

    A suspended run writes its notices as awaiting approval before it waits; they belong to its form until
    the run has ended (answered, the worker runs it again and it places them as the approver said)."""
    from relevo.storage.ledger import Ledger

    held = []
    for key, state in Ledger(registry_url).states(employee_id).items():
        if (
            state.status == "awaiting_approval"
            and ":notice:" in key
            and (found := FORM_RUN.search(state.detail))
        ):
            held.append(found[1])
    return sorted(set(held))


def unfinished(run_ids: list[str]) -> list[tuple[str, str]]:
    """(run id, state name) of those runs that have not ended; raises when the server cannot be asked."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    quiet_prefect()
    out = []
    with get_client(sync_client=True) as client:
        for run_id in run_ids:
            state = client.read_flow_run(UUID(run_id)).state
            if state is not None and not state.is_final():
                out.append((run_id, state.name or state.type.value))
    return out
