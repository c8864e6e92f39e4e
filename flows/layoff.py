"""A layoff: many leavers in one run, bound by the vendors' rate limits rather than by relevo.

Each presence is one Prefect task that lists its members once for the whole batch (leaving
admins hidden from each other, see `plan.split_members`), plans every leaver's actions there
and runs them back to back; presences run in parallel, so each vendor works at its own pace.
Meanwhile the clients of all leavers are read from the CRM in one go. A leaver's notices are
drafted as soon as their access is gone from every presence (never before: nobody hears of a
dismissal while the person can still post), so drafting overlaps the slowest vendor's
revocations. Approved CRM hand-overs of the whole batch share calls. Every action goes
through the same ledger as a single offboarding, so a rerun of the batch, or of one of its
people, does nothing twice. Without `policy.auto_approve_notices`, notices wait for
`relevo approve ID`, as from the command line.

Kept as one module: the batch's order of events (list once, revoke, then notices per leaver
as their access goes) reads top to bottom here; its approval form is in relevo.layoff_approval.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import deployment
from prefect.states import Completed
from pydantic import BeforeValidator
from pydantic.json_schema import SkipJsonSchema

from relevo import deployments, layoff_approval, schemas
from relevo.config.registry import Registry, load_registry
from relevo.connectors.errors import ConnectorError
from relevo.connectors.protocols import MembersOneByOne
from relevo.engine import gate, revocation, runview
from relevo.engine.approving import notice_phase
from relevo.engine.execute import (
    Run,
    Unconfirmed,
    close_stale_checks,
    execute,
    finished,
    recover_interrupted,
    suggested_fix,
)
from relevo.engine.gate import forced_action
from relevo.engine.report import plan_only, tally, write_hr_note
from relevo.engine.steps import in_flow_run, log, one_line_failures, unreadable
from relevo.model import NEEDS_PERSON, ConfigurationError, Grant, Presence
from relevo.rules import notices
from relevo.rules.inputs import EmployeeIds, RegistryPath
from relevo.rules.inputs import employee_ids as parse_ids
from relevo.rules.plan import (
    CRM,
    NOTICE,
    REVOKE,
    Action,
    Owners,
    Plan,
    plan,
    plan_presences,
    plan_record_checks,
    revoke_time,
    split_members,
)

WORKERS = 8  # drafts and HR notes in parallel; each vendor client paces itself
APPROVED_BY_POLICY = "by policy.auto_approve_notices"


def read_employees(
    registry: Registry, employee_ids: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(employees, problems): the HR records in batches; one unreadable record is reported, it does not stop the layoff."""
    wanted = list(dict.fromkeys(employee_ids))
    try:
        found = registry.hr().employees(wanted)
    except (
        ConnectorError,
        ConfigurationError,
    ) as exc:  # the HR platform itself failed: nobody can be planned
        found = {employee_id: exc for employee_id in wanted}
    employees, problems = [], []
    for employee_id in wanted:
        record = found.get(employee_id)
        try:
            if isinstance(record, Exception):
                raise record
            employees.append(schemas.check("employee", record, f"HR record of employee {employee_id}"))
        except (ConnectorError, ConfigurationError, schemas.SchemaError) as exc:
            problems.append({"employee_id": employee_id, "problem": str(exc)})
    return employees, problems


class Cleared:
    """Counts each leaver's presences still to do; calls `then(employee_id)` once all are done."""

    def __init__(self, employee_ids: list[str], presences: int, then: Callable[[str], None]) -> None:
        self.left = dict.fromkeys(employee_ids, presences)
        self.then = then
        self.lock = threading.Lock()
        if presences == 0:
            for employee_id in employee_ids:
                then(employee_id)

    def done(self, employee_id: str) -> None:
        with self.lock:
            self.left[employee_id] -= 1
            clear = self.left[employee_id] == 0
        if clear:
            self.then(employee_id)


@task(cache_policy=NO_CACHE)
def revoke_on_presence(
    presence: Presence,
    employees: list[dict[str, Any]],
    runs: dict[str, Run],
    now: datetime,
    revoke_now: bool,
    dry_run: bool,
    cleared: Cleared,
) -> list[dict[str, Any]]:
    """One presence for the whole batch: list once (removing while reading, see `list_and_remove`),
    then every other action of each leaver in plan order.

    Within a leaver, an add-admin comes before the revocation it guards. Each leaver is
    reported to `cleared` as soon as their actions here are done. Called only with at least one leaver.
    """
    registry = next(iter(runs.values())).registry
    listed, early, rows = list_and_remove(
        presence, registry, employees, runs, now, revoke_now, dry_run, cleared
    )
    members = {presence.id: listed}
    views = split_members(members, employees, registry)
    plans = {
        e["id"]: [
            a
            for a in plan(e, registry, views[e["id"]], [], [], now, revoke_now).actions
            if a.phase == REVOKE and a.presence is not None and a.presence.id == presence.id
        ]
        for e in employees
    }
    one_rotation(plans, {e["id"]: e["name"] for e in employees})
    unconfirmed = Unconfirmed()
    waiting: list[str] = []  # leavers whose removals here wait for the next confirming read

    def confirm() -> None:
        nonlocal rows, waiting
        rows += unconfirmed.settle()
        for employee_id in waiting:
            cleared.done(employee_id)
        waiting = []

    for employee in employees:
        actions = plans[employee["id"]]
        run = runs[employee["id"]]
        removed = early.get(employee["id"], set())
        todo = [a for a in actions if a.key not in removed and not (removed and a.action == "manual_task")]
        if dry_run:
            rows += plan_only(Plan(employee, None, todo), registry)
        else:
            rows += recover_interrupted(run, Plan(employee, None, actions), members)
            rows += [row for a in todo if (row := execute(run, a, unconfirmed)) is not None]
        if not removed:
            waiting.append(employee["id"])
        if not unconfirmed or unconfirmed.due():  # nothing waits for a read: cleared at once
            confirm()
    confirm()
    if not dry_run:  # earlier "check by hand" tasks of this presence that this list answers
        rows += [row for e in employees for row in close_stale_checks(runs[e["id"]], members)]
    return rows


def list_and_remove(
    presence: Presence,
    registry: Registry,
    employees: list[dict[str, Any]],
    runs: dict[str, Run],
    now: datetime,
    revoke_now: bool,
    dry_run: bool,
    cleared: Cleared,
) -> tuple[list[Grant] | str, dict[str, set[str]], list[dict[str, Any]]]:
    """(the presence's members or why they could not be read, action keys removed while reading, their rows).

    Where the vendor needs calls per member to list them (Hootsuite: 1,000 leavers are 2,000
    reads), a leaver's role is removed as soon as it is read, and the leaver is cleared as soon as
    a fresh read of the member ids confirms it (`Unconfirmed.due`: every 100 removals or 5 s, and at
    the end): their notices need not wait for the rest of the list. Removing a non-admin never orphans a
    presence; a leaving admin waits until an admin who stays has been read (or for the whole list,
    where the plan then puts an add-admin step first, as everywhere). Removals that are due later
    (a resignation's last day) and dry runs also wait for the list.
    """
    early: dict[str, set[str]] = {}
    rows: list[dict[str, Any]] = []
    unconfirmed = Unconfirmed()
    waiting: list[str] = []

    def confirm() -> None:
        nonlocal waiting
        rows.extend(unconfirmed.settle())
        for employee_id in waiting:
            cleared.done(employee_id)
        waiting = []

    def remove(employee_id: str, view: list[Grant]) -> None:
        run = runs[employee_id]
        due = [
            a
            for a in plan(run.employee, registry, {presence.id: view}, [], [], now, revoke_now).actions
            if a.action == "revoke_role" and a.outcome is None and a.after is None
        ]
        if not due:
            return
        if employee_id not in early:
            waiting.append(employee_id)
        early.setdefault(employee_id, set()).update(a.key for a in due)
        rows.extend(row for a in due if (row := execute(run, a, unconfirmed)) is not None)
        if unconfirmed.due():
            confirm()

    try:
        connector = registry.social(presence)
        if dry_run or not isinstance(connector, MembersOneByOne):
            return connector.members(presence), early, rows
        owners = Owners(employees, registry)
        listed: list[Grant] = []
        staying_admin: Grant | None = None
        leaving_admins: list[tuple[str, Grant]] = []  # leaving admins read before any admin who stays
        for grant in connector.each_member(presence):
            listed.append(grant)
            employee_id = owners.of(presence.id, grant)
            if employee_id is None:
                if grant.is_admin and staying_admin is None:
                    staying_admin = grant
                    for waiting_id, admin in leaving_admins:
                        remove(waiting_id, [admin, staying_admin])
                    leaving_admins = []
            elif grant.is_admin and staying_admin is None:
                leaving_admins.append((employee_id, grant))
            else:
                remove(employee_id, [grant] + ([staying_admin] if staying_admin else []))
        return listed, early, rows
    except Exception as exc:  # an unreadable list becomes a task per leaver, as in a single offboarding
        return unreadable(exc), early, rows
    finally:
        confirm()  # what was removed while reading is confirmed (or failed) whatever happened to the list


def one_rotation(plans: dict[str, list[Action]], names: dict[str, str]) -> None:
    """A shared login is rotated once per batch and moment: by the last holder's task, which names every holder.

    Rotations due at different times (a dismissal now, a resignation at the end of its last day)
    stay separate: the earlier one must not wait for the later.
    """
    holders: dict[tuple[str | None, str], list[str]] = {}
    for employee_id, actions in plans.items():
        for action in actions:
            if action.action == "rotate_credentials":
                holders.setdefault((action.outcome, action.description), []).append(employee_id)
    for group in holders.values():
        if len(group) < 2:
            continue
        for employee_id in group[:-1]:
            plans[employee_id] = [a for a in plans[employee_id] if a.action != "rotate_credentials"]
        who = ", ".join(names[i] for i in group)
        plans[group[-1]] = [
            replace(a, description=f"{a.description}; once for the {len(group)} leavers who used it ({who})")
            if a.action == "rotate_credentials"
            else a
            for a in plans[group[-1]]
        ]


def joined(value: Any) -> Any:
    """A list of ids (the CLI, scripts, older deployments' defaults) becomes the form's one text field."""
    return ", ".join(str(v) for v in value) if isinstance(value, list) else value


def batch_run_name() -> str:
    """The name a batch run starts with: a layoff, or terminations the HR platform sent together."""
    from prefect.runtime import flow_run as current

    return "terminations from HR" if current.parameters.get("event_keys") else "layoff"


@flow(name="offboard-batch", log_prints=False, flow_run_name=batch_run_name)
@one_line_failures
def offboard_batch(
    employee_ids: Annotated[EmployeeIds, BeforeValidator(joined)],
    registry_path: RegistryPath | None = None,
    dry_run: bool = False,
    revoke_now: bool = False,
    force: bool = False,
    requested_by: str | None = None,
    wait_for_approval: SkipJsonSchema[bool | None] = None,
    event_keys: SkipJsonSchema[dict[str, str] | None] = None,
) -> Any:
    """Offboard many employees at once (a layoff, or terminations the HR platform sent together).

    Args:
        employee_ids: the HR platform's employee ids, pasted as one field: separated by commas, spaces or
            new lines. An unknown id is flagged in the report; the others go on.
        registry_path: the company's relevo.yaml on the worker: absolute, or relative to its working directory;
            None (the deployments' default): the worker's RELEVO_REGISTRY, else relevo.yaml in its working directory.
        dry_run: show the plan, change nothing.
        revoke_now: revoke at once even where a last working day is still ahead.
        force: offboard even those whose HR record shows no termination (each recorded with who asked).
        requested_by: who asks for this run (recorded as given with forced employees).
        wait_for_approval: (internal, not in the UI form) pause once with one approval form for every leaver's
            notices (`relevo.layoff_approval`). Default: only when running as a deployment (a person can see
            the UI); otherwise the notices await `relevo approve ID`.
        event_keys: (internal, not in the UI form) set by the webhook dispatcher for terminations that arrived
            together: each employee's event key, for the audit. The list is then what the HR platform said,
            not a person's: whoever's HR record shows no termination is skipped and reported, the others go on.
    """
    logger = log()
    ids = parse_ids(employee_ids)
    registry = load_registry(registry_path)
    from_hr = event_keys is not None
    what = "terminations from HR" if from_hr else "layoff"
    runview.name_current_run(
        f"{what} · {len(ids)} employee(s)" + (" · dry run" if dry_run else ""),
        "hr-batch" if from_hr else "layoff",
        *([runview.employee_tag(i) for i in ids] if len(ids) <= runview.TAGGED_AT_MOST else []),
    )
    employees, problems = read_employees(registry, ids)
    keys = event_keys or {}
    if not dry_run and layoff_approval.resumed():  # its form was answered: straight to the answer
        # Before any check of the list: everyone's access went in the first attempt, and each leaver's
        # answer is checked against their HR record as it is now (a withdrawal meanwhile places nothing).
        runs = {e["id"]: Run(registry, e, keys.get(e["id"]), direct=True) for e in employees}
        summary = batch_summary(
            employees, problems, answered_after_resume(employees, runs), dry_run, [], what
        )
        publish_batch(summary)
        return runview.batch_state(summary)
    if from_hr and problems and not employees:  # the HR platform itself failed: Failed, like a single run
        raise ConnectorError(f"no HR record of the batch could be read: {problems[0]['problem']}")
    refused = {
        e["id"]: line
        for e in employees
        if (line := gate.refusal(e, "the force parameter, or relevo layoff --force,")) is not None
    }
    skipped: list[dict[str, str]] = []
    if refused and from_hr and not force:  # the HR platform's events, not a person's list: the others go on
        for line in refused.values():
            logger.warning("%s", line)
        skipped = [{"employee_id": i, "problem": line} for i, line in refused.items()]
        employees = [e for e in employees if e["id"] not in refused]
        refused = {}
    if refused and not force:  # a list with people who stay is a wrong list: nobody in it is offboarded
        message = gate.not_left(list(refused.values()))
        logger.warning("%s", message)
        return Completed(name="Not offboarded", message=message, data={"refused": list(refused.values())})
    now = datetime.now(UTC)
    runs = {e["id"]: Run(registry, e, keys.get(e["id"]), direct=True) for e in employees}
    since = gate.run_created_at()
    for run in runs.values():
        run.since = since
    if withdrawn := [i for i, run in runs.items() if run.withdrawn()]:  # before this run was created
        skipped += [{"employee_id": i, "problem": runs[i].stopped or "withdrawn"} for i in withdrawn]
        employees = [e for e in employees if e["id"] not in withdrawn]
        runs = {i: run for i, run in runs.items() if i not in withdrawn}
    presences = [p for p in registry.presences if p.owner == "company"]
    logger.info("Layoff of %d employee(s) on %d presence(s)", len(employees), len(presences))
    forced = [(runs[i], forced_action(i, line)) for i, line in refused.items()]
    if dry_run:
        rows = [row for run, a in forced for row in plan_only(Plan(run.employee, None, [a]))]
    else:
        who = gate.requester(requested_by)
        rows = [run.record(a, "done", f"{a.description}: {who}") for run, a in forced]
        rows += schedule_later_revocations(runs, now, revoke_now)
    rows += personal_records(runs, dry_run)
    with ThreadPoolExecutor(1) as reader, ThreadPoolExecutor(WORKERS) as drafting:
        clients = reader.submit(read_clients, registry, employees)  # a read: it overlaps the revocations
        follow_ups: dict[str, Future] = {}
        drafted: dict[str, list[Action]] = {}  # each leaver's notices as rendered once, for the approval form
        lock = threading.Lock()

        def draft(employee_id: str) -> None:
            with lock:
                follow_ups[employee_id] = drafting.submit(
                    follow_up, runs[employee_id], clients, now, dry_run, drafted
                )

        cleared = Cleared(list(runs), len(presences), draft)
        rows += revoke_everywhere(presences, employees, runs, now, revoke_now, dry_run, cleared)
        # Every presence is worked through: approved hand-overs go to the CRM while the last drafts are made.
        if auto_approved(registry, dry_run):
            owned = clients.result()
            handovers: list[tuple[Run, Action]] = []
            for run in runs.values():
                if isinstance(theirs := owned[run.employee["id"]], list):  # a str: the CRM could not be read
                    handovers += [(run, a) for a in notices.reassign_action(run.employee, theirs)]
            rows += reassign_batch(handovers)
        with ThreadPoolExecutor(WORKERS) as writing:  # each HR note as soon as that leaver's notices are done
            notes = [writing.submit(note_when_done, runs[i], follow_ups[i], dry_run) for i in runs]
            rows += [row for employee_id in runs for row in follow_ups[employee_id].result()]
            rows += [note for future in notes if (note := future.result())]
    ask = (deployment.id is not None) if wait_for_approval is None else wait_for_approval
    if (
        ask
        and not dry_run
        and not auto_approved(registry, dry_run)
        and (waiting := layoff_approval.waiting_drafts(runs, drafted))
    ):
        progress_batch(batch_summary(employees, problems, rows, dry_run, skipped, what))
        hours = registry.policy.approval_timeout_hours
        if (answer := layoff_approval.ask(runs, waiting, hours)) is not None:
            shown = {i: [a.key for a in actions] for i, actions in waiting.items()}
            rows = latest(rows + layoff_approval.apply(answer, runs, shown))
    summary = batch_summary(employees, problems, rows, dry_run, skipped, what)
    if in_flow_run():
        publish_batch(summary)
    return runview.batch_state(summary)


def answered_after_resume(employees: list[dict[str, Any]], runs: dict[str, Run]) -> list[dict[str, Any]]:
    """A suspended batch run started again once its form was answered: its revocations and drafts are in the
    ledger, so nothing is listed or revoked again (thousands of calls for a large batch). The stored answer
    is applied per leaver to the drafts the form showed (`layoff_approval.stored_answer`), each checked
    against the HR record and the CRM as they are now, and the report shows every leaver's actions as the
    ledger has them."""
    found = layoff_approval.stored_answer()
    applied: list[dict[str, Any]] = []
    if found is not None:
        answer, shown = found
        missing = [i for i in shown if i not in runs]
        for employee_id in missing:  # their HR record could not be read now: their notices keep waiting
            log().warning(
                "Employee %s: HR record unreadable now; notices await `relevo approve`", employee_id
            )
        applied = layoff_approval.apply(answer, runs, {i: k for i, k in shown.items() if i in runs})
    recorded = [row for e in employees for row in runs[e["id"]].ledger.audit(e["id"])]
    return latest(recorded + applied)


def schedule_later_revocations(runs: dict[str, Run], now: datetime, revoke_now: bool) -> list[dict[str, Any]]:
    """Each resignation's revocations at the end of its last working day: a run of `offboard-employee` then,
    as a single offboarding schedules its own (in a deployment run only; from the CLI they stay scheduled)."""
    rows = []
    for run in runs.values():
        revoke_at = revoke_time(run.employee, run.registry, now, revoke_now)
        rows += revocation.schedule_revocation(run, revoke_at, deployments.OFFBOARD_EMPLOYEE)
    return rows


def latest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per action: the last recorded (an approval after the form replaces "awaiting approval")."""
    last = {(r["employee_id"], r["action_key"]): r for r in rows}
    return list(last.values())


def progress_batch(summary: dict[str, Any]) -> None:
    """The batch's report before it pauses for approval: the UI shows what was done while the form waits."""
    if in_flow_run():
        publish_batch(summary)


def revoke_everywhere(
    presences: list[Presence],
    employees: list[dict[str, Any]],
    runs: dict[str, Run],
    now: datetime,
    revoke_now: bool,
    dry_run: bool,
    cleared: Cleared,
) -> list[dict[str, Any]]:
    """Every presence at once, one task each (in a flow run, the UI shows one step per presence); without a
    Prefect server (`relevo layoff` with no PREFECT_API_URL), the same function in one thread per presence."""
    if not runs:
        return []
    if in_flow_run():
        tasks = [
            revoke_on_presence.with_options(task_run_name=runview.task_name("revoke", p.account)).submit(
                p, employees, runs, now, revoke_now, dry_run, cleared
            )
            for p in presences
        ]
        return [row for future in tasks for row in future.result()]
    with ThreadPoolExecutor(max(1, len(presences))) as pool:
        futures = [
            pool.submit(revoke_on_presence.fn, p, employees, runs, now, revoke_now, dry_run, cleared)
            for p in presences
        ]
        return [row for future in futures for row in future.result()]


def personal_records(runs: dict[str, Run], dry_run: bool) -> list[dict[str, Any]]:
    """Each leaver's personal accounts, recorded as not touched (the plan's record part, no member list needed)."""
    rows = []
    for run in runs.values():
        records = [a for a in plan_presences(run.employee, run.registry, {}) if a.phase == "record"]
        rows += (
            plan_only(Plan(run.employee, None, records)) if dry_run else [execute(run, a) for a in records]
        )
    return rows


def read_clients(registry: Registry, employees: list[dict[str, Any]]) -> dict[str, list[Any] | str]:
    """Every leaver's clients in one CRM read; if it fails, each leaver gets its message (no secret)."""
    try:
        return dict(registry.crm().clients_of_many([(e.get("email"), e["id"]) for e in employees]))
    except (ConnectorError, ConfigurationError) as exc:
        return {e["id"]: str(exc) for e in employees}


def auto_approved(registry: Registry, dry_run: bool) -> bool:
    """Notices and hand-overs approved by policy: the batch's hand-overs then go to the CRM together."""
    return not dry_run and registry.policy.auto_approve_notices


def follow_up(
    run: Run, clients: Future, now: datetime, dry_run: bool, drafted: dict[str, list[Action]]
) -> list[dict[str, Any]]:
    """Once a leaver's access is gone: HR-record checks and notices (the CRM hand-over too, unless batched).
    The notices are kept in `drafted` as rendered here: the batch's approval form shows these, not a second
    rendering of every leaver's drafts."""
    employee = run.employee
    owned = clients.result()[employee["id"]]
    if isinstance(owned, str):  # the CRM could not be read: a task, not a failed layoff
        task_ = unreadable_clients(employee, owned)
        return plan_only(Plan(employee, None, [task_])) if dry_run else [execute(run, task_)]
    actions = plan_record_checks(employee, owned) + notices.notice_actions(employee, run.registry, owned, now)
    if dry_run:
        return plan_only(Plan(employee, None, actions))
    rows = [execute(run, a) for a in actions if a.phase == "record"]
    drafted[employee["id"]] = [a for a in actions if a.phase in {NOTICE, CRM}]
    wanted = {NOTICE} if auto_approved(run.registry, dry_run) else {NOTICE, CRM}
    return rows + notice_phase(
        run, [a for a in actions if a.phase in wanted], owned, now, wait_for_approval=False
    )


def reassign_batch(handovers: list[tuple[Run, Action]]) -> list[dict[str, Any]]:
    """Every approved CRM hand-over of the batch in shared calls; each leaver's is recorded on its own."""
    rows = [
        execute(run, a) for run, a in handovers if finished(run, a) or run.withdrawn()
    ]  # already done, or not
    todo = [(run, a) for run, a in handovers if not finished(run, a) and not run.withdrawn()]
    if not todo:
        return rows
    for run, action in todo:
        run.ledger.start(action.key, run.employee["id"], action.action, action.target)
    try:
        lines = todo[0][0].registry.crm().reassign_many([(a.clients, a.the_person) for _, a in todo])
    except (ConnectorError, ConfigurationError) as exc:
        fix = suggested_fix(exc) if isinstance(exc, ConnectorError) else "fix the CRM settings, then rerun"
        return rows + [run.record(a, "failed", f"{exc} | fix: {fix}") for run, a in todo]
    return rows + [
        run.record(a, "done", f"{line} (approved {APPROVED_BY_POLICY})")
        for (run, a), line in zip(todo, lines, strict=True)
    ]


def note_when_done(run: Run, follow_up: Future, dry_run: bool) -> dict[str, Any] | None:
    """The outcome report in the leaver's HR record, once everything for them is recorded."""
    follow_up.result()
    return None if dry_run else write_hr_note(run)


def unreadable_clients(employee: dict[str, Any], error: str) -> Action:
    return Action(
        key=f"{employee['id']}:check:clients",
        action="check_record",
        target="CRM: clients",
        phase="record",
        outcome="manual",
        description=f"could not read the clients ({error}); no notice drafted",
        steps=[
            f"Run `relevo offboard {employee['id']}` when the CRM answers: its access part is done "
            "and is skipped, the notices are drafted."
        ],
    )


def batch_summary(
    employees: list[dict[str, Any]],
    problems: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    dry_run: bool,
    skipped: list[dict[str, str]] | None = None,
    what: str = "layoff",
) -> dict[str, Any]:
    """`skipped`: people of HR events whose record shows no termination (or a withdrawal): listed, not open."""
    counts = tally(rows)
    return {
        "what": what,
        "employees": len(employees),
        "people": runview.per_employee(employees, problems, rows, dry_run, skipped or []),
        "problems": problems,
        "dry_run": dry_run,
        "counts": counts,
        "open": sum(counts.get(k, 0) for k in NEEDS_PERSON) + len(problems),
        "rows": rows,
    }


def publish_batch(summary: dict[str, Any]) -> None:
    """One row per employee (plan or outcome, access removed N/M, notices awaiting, unknown ids flagged)
    and one table of what needs a person, not thousands of rows in the UI; dry runs under their own keys."""
    key = ("layoff" if summary.get("what", "layoff") == "layoff" else "hr-batch") + (
        "-dry-run" if summary["dry_run"] else ""
    )
    attention = [
        {k: r[k] for k in ("employee_id", "action", "target", "outcome", "detail")}
        for r in summary["rows"]
        if r["outcome"] in NEEDS_PERSON
    ]
    create_table_artifact(
        table=attention or [{"outcome": "nothing needs a person"}],
        key=f"{key}-open-actions",
        description="Actions of the layoff that need a person",
    )
    create_markdown_artifact(
        markdown=runview.batch_markdown(summary),
        key=key,
        description=runview.label(runview.batch_headline(summary), 200),
    )
