"""The offboarding flows: `offboard-employee` (fetch, plan, revoke, notices, log) and `approve-notices`.

Thin on purpose: the rules live in `relevo.rules` (plan, notices), the execution of every action in
`relevo.engine.execute` (ledger claim, call, confirmation, record), the approval of notices in
`relevo.engine.approving`, what the operator sees in `relevo.engine.report` and `relevo.engine.runview`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow
from prefect.runtime import deployment
from prefect.states import Cancelled, Completed
from pydantic.json_schema import SkipJsonSchema

from relevo.config.registry import load_registry
from relevo.engine import approval, gate, revocation, runview
from relevo.engine.approving import (
    await_approval,
    cli_approver,
    notice_phase,
    record_successor,
    settle,
    supersede,
)
from relevo.engine.execute import Run, close_stale_checks, execute, recover_interrupted, revoke_all
from relevo.engine.gate import forced_action
from relevo.engine.report import plan_only, progress, publish, summarize, write_hr_note
from relevo.engine.steps import (
    crash_point,
    fetch_clients,
    fetch_employee,
    in_flow_run,
    log,
    one_line_failures,
    read_members,
    step,
)
from relevo.model import Grant
from relevo.rules import notices
from relevo.rules.inputs import EmployeeId, RegistryPath
from relevo.rules.plan import CRM, NOTICE, REVOKE, Plan, plan
from relevo.storage.ledger import Ledger


def offboard_run_name() -> str:
    """The name a run starts with (the HR record is read later and completes it)."""
    from prefect.runtime import flow_run as current

    return runview.run_name(str(current.parameters.get("employee_id", "")))


@flow(name="offboard-employee", log_prints=False, flow_run_name=offboard_run_name)
@one_line_failures
def offboard_employee(
    employee_id: EmployeeId,
    registry_path: RegistryPath | None = None,
    dry_run: bool = False,
    revoke_now: bool = False,
    event_key: SkipJsonSchema[str | None] = None,
    wait_for_approval: SkipJsonSchema[bool | None] = None,
    force: bool = False,
    requested_by: str | None = None,
) -> Any:
    """Offboard one employee: revoke company access, draft client notices, log everything.

    Args:
        employee_id: the HR platform's employee id, e.g. 1001 (one line; spaces around it are ignored).
        registry_path: the company's relevo.yaml on the worker: absolute, or relative to its working directory;
            None (the deployments' default): the worker's RELEVO_REGISTRY, else relevo.yaml in its working directory.
        dry_run: show the plan, change nothing.
        revoke_now: revoke at once even for a resignation whose last day is still ahead.
        event_key: (internal, not in the UI form) the webhook event that started this run, for the audit log.
        wait_for_approval: (internal, not in the UI form) pause the run with an approval form for the notices (Prefect UI). Default: only
            when running as a deployment (a person can see the UI); otherwise (CLI, scripts) the notices are
            recorded as awaiting approval for `relevo approve`, so nothing hangs waiting for a form.
        force: offboard even though the HR record shows no termination (recorded in the audit with who asked).
        requested_by: who asks for this run (recorded as given with a forced run).
    """
    logger = log()
    runview.name_current_run(runview.run_name(employee_id), runview.employee_tag(employee_id))
    registry = load_registry(registry_path)
    employee = step(fetch_employee, runview.task_name("read HR record", employee_id), registry, employee_id)
    runview.name_current_run(runview.run_name(employee_id, employee), runview.employee_tag(employee_id))
    refused = gate.refusal(employee, "the force parameter, or relevo offboard --force,")
    if (
        refused is not None and not force
    ):  # nobody is offboarded who has not left: nothing planned, nothing written
        logger.warning("%s", refused)
        return Completed(
            name="Not offboarded", message=refused, data={"employee_id": employee_id, "refused": refused}
        )
    crash_point("after_fetch")
    members = read_members(registry)
    clients = step(fetch_clients, runview.task_name("read clients of", employee["name"]), registry, employee)
    now = datetime.now(UTC)
    revoke_now = revoke_now or revocation.due_by_schedule(employee, registry)
    the_plan = plan(
        employee,
        registry,
        members,
        clients,
        notices.notice_actions(employee, registry, clients, now),
        now,
        revoke_now,
    )
    logger.info("Plan for %s: %d actions", employee_id, len(the_plan.actions))
    forced = [forced_action(employee_id, refused)] if refused is not None else []
    if dry_run:
        rows = plan_only(Plan(employee, the_plan.revoke_at, forced + the_plan.actions), registry)
    else:
        run = Run(registry, employee, event_key)
        run.since = gate.run_created_at()
        if (
            run.withdrawn()
        ):  # created before a withdrawal (a scheduled, pending or retried run): nothing at all
            logger.warning("%s", run.stopped)
            return Cancelled(message=run.stopped, data={"employee_id": employee_id, "withdrawn": run.stopped})
        run.plan_rows = plan_only(the_plan, registry, quiet=True)
        progress(run, "Started: the plan below; each step's outcome replaces it as it is recorded.")
        rows = [run.record(a, "done", f"{a.description}: {gate.requester(requested_by)}") for a in forced]
        rows += recover_interrupted(run, the_plan, members)
        rows += revocation.schedule_revocation(run, the_plan.revoke_at)  # before notices wait for approval
        ask = deployment.id is not None if wait_for_approval is None else wait_for_approval
        rows += run_plan(run, the_plan, clients, now, ask, members)
        if (note := write_hr_note(run)) is not None:
            rows.append(note)
        if run.stopped:
            logger.warning("%s", run.stopped)
            return Cancelled(message=run.stopped, data=summarize(employee, rows, dry_run, registry))
    summary = summarize(employee, rows, dry_run, registry)
    if in_flow_run():
        publish(summary)
    return runview.final_state(summary)


def run_plan(
    run: Run,
    the_plan: Plan,
    clients: list[Any] | None = None,
    now: datetime | None = None,
    wait_for_approval: bool = False,
    members: dict[str, list[Grant] | str] | None = None,
) -> list[dict[str, Any]]:
    """Involuntary: revoke first, then notices. Voluntary: notices now, revocations when due.

    members: the lists the plan was made from; earlier "check by hand" tasks of presences read in
    them are closed once the revocations are recorded (`close_stale_checks`).
    """
    record_only = [a for a in the_plan.actions if a.phase not in {REVOKE, NOTICE, CRM}]
    rows = [execute(run, a) for a in record_only]
    rows += revoke_all(run, the_plan.phase(REVOKE))
    rows += close_stale_checks(run, members or {})
    progress(run, "Access steps done; client notices next.")
    rows += notice_phase(
        run,
        the_plan.phase(NOTICE) + the_plan.phase(CRM),
        clients or [],
        now or datetime.now(UTC),
        wait_for_approval,
    )
    crash_point("after_drafts")
    return rows


@flow(name="approve-notices", log_prints=False)
@one_line_failures
def approve_notices(
    employee_id: EmployeeId,
    registry_path: RegistryPath | None = None,
    reject: list[str] | None = None,
    approved_by: str = "",
    actor: str = "",
    successor_id: str = "",
    via: SkipJsonSchema[str] = "relevo approve",
) -> Any:
    """Place the notices awaiting approval and reassign the CRM (what `relevo approve` runs).

    The drafts are rendered again from the HR record and the CRM as they are now. A person approves
    what they were shown: when what a draft says differs from the version the ledger holds as awaiting
    approval (its review copy), nothing is placed; the changed drafts are rendered again for review
    (`changed` in the result). A successor named here (`successor_id`, read from the HR system) is the
    approver's own choice: the drafts rendered for them are placed at once. Nothing is placed when
    the HR record shows no termination any more (`refused` in the result).

    Args:
        approved_by: the approver's name as given. actor: who the OS says ran it (recorded with it).
        via: (internal) how the answer came, for the audit: `relevo approve`, or a layoff's approval form.
    """
    registry = load_registry(registry_path)
    employee = step(fetch_employee, runview.task_name("read HR record", employee_id), registry, employee_id)
    forced = any(":force_offboard:" in key for key in Ledger(registry.database_url).states(employee_id))
    if (refused := gate.refusal(employee, None)) is not None and not forced:  # withdrawn, or never terminated
        return Completed(
            name="Not offboarded", message=refused, data={"employee_id": employee_id, "refused": refused}
        )
    run = Run(registry, employee, None)
    how = f"with {via} by {cli_approver(approved_by, actor)}"
    if not any(
        r["status"] == "awaiting_approval" and r["action"] in {"draft_notice", "reassign_crm"}
        for r in run.ledger.open_actions(employee_id)
    ):
        return summarize(employee, [], False, registry)
    rows = []
    if successor_id:
        try:
            successor = approval.resolve_successor(registry.hr(), employee, successor_id)
        except approval.SuccessorProblem as exc:
            return {**summarize(employee, [], False, registry), "refused": str(exc)}
        rows.append(record_successor(run, successor, how))
        run.employee = employee = approval.with_successor(employee, successor)
    clients = step(fetch_clients, runview.task_name("read clients of", employee["name"]), registry, employee)
    actions = notices.notice_actions(employee, registry, clients, datetime.now(UTC))
    states = run.ledger.states(employee_id)
    # What awaits approval now: what was shown for it, and what is new since (a new contact, a new successor).
    waiting = [
        a
        for a in actions
        if a.outcome != "failed"  # failed at planning: a rerun reports it
        and ((s := states.get(a.key)) is None or s.status in {"awaiting_approval", "superseded"})
    ]
    rows += supersede(run, actions)
    changed = [
        a
        for a in waiting
        if (s := states.get(a.key)) is None
        or s.status != "awaiting_approval"
        or s.fingerprint != approval.fingerprint(a)
    ]
    shown_again = bool(changed) and not successor_id
    if shown_again:
        rows += await_approval(run, waiting, review_copies=True)
    else:
        rows += settle(run, waiting, approval.Approval(reject=reject or []), how)
    if rows and (note := write_hr_note(run)):  # the HR record says what was approved, placed and handed over
        rows.append(note)
    summary = summarize(employee, rows, False, registry)
    if shown_again:
        summary["changed"] = len(changed)
    return summary
