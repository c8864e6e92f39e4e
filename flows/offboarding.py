"""The offboarding flow: fetch, plan, revoke, notices, log.

The flow is thin on purpose: rules live in `relevo.rules.plan` and `relevo.rules.notices`, calls in
`connectors/`, state in `relevo.storage.ledger`. Each action runs as one Prefect task and is
written to the ledger before and after its call, so a rerun or a duplicate event
skips what is done and retries what failed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import signal
import time
import functools
import inspect
import typing
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from prefect import flow, get_run_logger, pause_flow_run, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import FlowPauseTimeout
from prefect.runtime import deployment, flow_run
from prefect.states import Cancelled, Completed, Failed, State
from pydantic.json_schema import SkipJsonSchema

from relevo import schemas
from relevo.connectors.errors import ConfigurationError, ConnectorError, NotFound
from relevo.connectors.grants import ConfirmsRemoval, Grant, Outcome, still_held
from relevo.engine import approval
from relevo.engine import gate
from relevo.rules import notices
from relevo.engine import revocation
from relevo.engine import runview
from relevo.rules.inputs import BadInput, EmployeeId, RegistryPath
from relevo.storage.ledger import FINISHED, Ledger
from relevo.rules.plan import CRM, NOTICE, REVOKE, Action, Plan, plan
from relevo.config.registry import Registry, load_registry

# Called with every outcome row as it is recorded (the CLI prints them as they come).
listeners: list[Callable[[dict[str, Any]], None]] = []

ATTENTION = {"manual", "failed", "awaiting_approval"}
# Outcomes recorded with the fingerprint of what the draft or hand-over says in that version.
VERSIONED = {"awaiting_approval", "done", "rejected"}


def crash_point(name: str) -> None:
    """Crash tests only: SIGKILL this process at a named step boundary when RELEVO_TEST_CRASH_AT names it."""
    if os.environ.get("RELEVO_TEST_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


MAX_TASK_RETRY_WAIT = 300.0  # a vendor asking for longer gets a failed action and a rerun later


def transient_wait(error: BaseException) -> float | None:
    """Seconds the vendor asked to wait before a retry (0: none said); None when a retry cannot help (4xx)."""
    if not isinstance(error, ConnectorError) or not error.retryable:
        return None
    if error.retry_after and error.retry_after > MAX_TASK_RETRY_WAIT:
        return None
    return error.retry_after or 0.0


def retry_on_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: only errors a retry can fix (429, 5xx, timeouts), never 4xx.

    Prefect's retry delays are fixed, so when the vendor said how long to wait (Retry-After,
    Meta's regain estimate) the wait happens here, before the retry is scheduled.
    """
    try:
        state.result()
    except Exception as exc:
        wait = transient_wait(exc)
        if wait is None:
            return False
        time.sleep(wait)
        return True
    return False


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_on_transient)
def fetch_employee(registry: Registry, employee_id: str) -> Any:
    """Step 1: the HR record, normalized and validated; an unknown id or a bad record ends the step Failed
    with its one-line cause (no traceback in the run's logs: it is bad input, not a bug)."""
    try:
        employee = registry.hr().employee(employee_id)
        return schemas.check("employee", employee, f"HR record of employee {employee_id}")
    except (NotFound, schemas.SchemaError) as exc:
        return Failed(message=str(exc), data=exc)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_on_transient)
def list_members(registry: Registry, presence_id: str) -> list[Grant]:
    presence = next(p for p in registry.presences if p.id == presence_id)
    return registry.social(presence).members(presence)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_on_transient)
def fetch_clients(registry: Registry, employee: dict[str, Any]) -> list[Any]:
    return registry.crm().clients_of(employee.get("email"), employee["id"])


def in_flow_run() -> bool:
    """Whether a Prefect flow run is executing this code (else the CLI runs the flow's function without a
    server, see `relevo.cli.main.run_flow`: every step is then a plain call, with the connectors' own retries)."""
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def log() -> logging.Logger | logging.LoggerAdapter:
    """The run's logger in a flow run (the UI shows it), relevo's own logger outside one."""
    return get_run_logger() if in_flow_run() else logging.getLogger("relevo")


def step(task_: Any, name: str, *args: Any) -> Any:
    """One step: a Prefect task run named after what it acts on, or a plain call outside a flow run."""
    value = task_.fn(*args) if not in_flow_run() else task_.with_options(task_run_name=name)(*args)
    if isinstance(value, State):  # a step that ended Failed with its cause
        error = value.result(raise_on_failure=False)
        raise error if isinstance(error, BaseException) else RuntimeError(value.message)
    return value


EXPECTED = (NotFound, ConfigurationError, schemas.SchemaError, BadInput)


def one_line_failures(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A flow function whose bad input (unknown employee, broken registry, a vendor refusing) ends the run
    Failed with the one-line cause as the state's message: the run's header says it, with no traceback.
    Anything else is a bug and keeps Prefect's traceback."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EXPECTED as exc:
            return Failed(message=runview.label(exc, 500), data=exc)
        except ConnectorError as exc:
            return Failed(message=runview.label(f"{exc} (nothing after this step ran; rerun when it is fixed)", 500),
                          data=exc)

    # Resolved here: Prefect reads the parameters' types in the wrapper's module, not the flow's.
    run.__annotations__ = typing.get_type_hints(fn, include_extras=True)
    run.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
    return run


def read_members(registry: Registry) -> dict[str, list[Grant] | str]:
    """Every company presence's live member list, read concurrently; an unreadable one becomes a task."""
    if not in_flow_run():
        return read_members_direct(registry)
    futures = {
        p.id: list_members.with_options(task_run_name=runview.task_name("list members", p.account)).submit(registry, p.id)
        for p in registry.presences
        if p.owner == "company"
    }
    out: dict[str, list[Grant] | str] = {}
    for presence_id, future in futures.items():
        future.wait()
        if future.state.is_completed():
            out[presence_id] = future.result()
        else:
            out[presence_id] = unreadable(future.state.result(raise_on_failure=False))
    return out


def read_members_direct(registry: Registry) -> dict[str, list[Grant] | str]:
    """`read_members` without Prefect: one thread per presence, an error becomes the presence's task."""
    def read(presence_id: str) -> list[Grant] | str:
        try:
            return list_members.fn(registry, presence_id)
        except Exception as exc:
            return unreadable(exc)

    company = [p.id for p in registry.presences if p.owner == "company"]
    with ThreadPoolExecutor(max(1, min(8, len(company)))) as pool:
        return dict(zip(company, pool.map(read, company)))


def unreadable(error: BaseException) -> str:
    """Why a member list could not be read, for a person's task: connector errors name it without a secret."""
    return str(error) if isinstance(error, (ConnectorError, ConfigurationError)) else type(error).__name__


class Run:
    """What one run needs while executing actions: registry, ledger, ids."""

    def __init__(self, registry: Registry, employee: dict[str, Any], event_key: str | None,
                 direct: bool = False) -> None:
        self.registry = registry
        # direct: no Prefect task per action (a layoff's thousands of calls are paced by the vendors,
        # not by task bookkeeping); the transport still retries 429/5xx/timeouts.
        self.direct = direct
        self.employee = employee
        self.event_key = event_key
        self.ledger = Ledger(registry.database_url, registry.output_dir / "audit.jsonl")
        self.run_id = str(flow_run.id) if flow_run.id else None
        self.holder = self.run_id or uuid.uuid4().hex  # who claims this run's actions in the ledger
        self.approval = ""  # how and by whom the notices were approved, recorded with what they did
        self.rows: list[dict[str, Any]] = []  # what this run recorded so far (the artifact while it runs)
        self.plan_rows: list[dict[str, Any]] = []  # the dry-run view of the plan, for steps not recorded yet
        # When the run was created (gate.run_created_at): a withdrawal recorded later stops it. None: not checked.
        self.since: str | None = None
        self.stopped: str | None = None  # why this run stopped writing (its termination was withdrawn)
        self._checked = 0.0

    def withdrawn(self) -> str | None:
        """Why this run must write nothing more (its termination was withdrawn after it began), or None.

        Read from the ledger before every action; a layoff's direct run reads it at most once a
        second (thousands of actions). Once withdrawn, always withdrawn for this run.
        """
        if self.stopped is None and self.since is not None:
            moment = time.monotonic()
            if not self.direct or moment - self._checked >= 1.0:
                self._checked = moment
                self.stopped = gate.withdrawn_since(self.ledger, self.employee["id"], self.since)
        return self.stopped

    def unrecorded(self, action: Action, detail: str) -> dict[str, Any]:
        """What a withdrawn run reports for an action it no longer takes: shown, never written to the ledger."""
        row = {"at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "employee_id": self.employee["id"],
               "action_key": action.key, "action": action.action, "target": action.target, "outcome": "cancelled",
               "detail": detail, "dry_run": False, "run_id": self.run_id, "event_key": self.event_key}
        for listener in listeners:
            listener(row)
        return row

    def stop_rows(self, actions: list[Action]) -> list[dict[str, Any]] | None:
        """Unrecorded rows for `actions` when the termination was withdrawn; None when the run goes on."""
        if (reason := self.withdrawn()) is None:
            return None
        return [self.unrecorded(a, reason) for a in actions]

    def record(self, action: Action, outcome: str, detail: str, pre_state: dict[str, Any] | None = None) -> dict[str, Any]:
        versioned = outcome in VERSIONED and (action.draft is not None or action.action == "reassign_crm")
        row = self.ledger.finish(
            key=action.key, employee_id=self.employee["id"], action=action.action, target=action.target,
            outcome=outcome, detail=detail, pre_state=pre_state, run_id=self.run_id, event_key=self.event_key,
            fingerprint=approval.fingerprint(action) if versioned else None,
        )
        self.rows.append(row)
        tell(row)
        return row


def tell(row: dict[str, Any]) -> None:
    """Show a recorded row to the listeners (the CLI's screen). A listener that fails is a display problem:
    it is logged, and never stops the run half-way (the row is already in the ledger)."""
    for listener in listeners:
        try:
            listener(row)
        except Exception as exc:  # noqa: BLE001 - any display error, by design
            logging.getLogger(__name__).warning("could not show an outcome row (%s)", type(exc).__name__)


def call(run: Run, action: Action, first_attempt: bool = False) -> Outcome:
    """The one outside call an action makes (on a first attempt a draft store need not look for an earlier one)."""
    if action.action == "draft_notice":
        created, where = run.registry.drafts().place(action.draft, first_attempt=first_attempt)
        # Not finished in the ledger, so an existing draft is its review copy (or a crash's): done now.
        return Outcome("done", f"draft {'placed' if created else 'approved'} in {where}; a person reviews and sends it"
                       + (f" (approved {run.approval})" if run.approval else ""))
    if action.action == "reassign_crm":
        changed = run.registry.crm().reassign(action.clients, run.employee.get("email"), action.person)
        return Outcome("done", changed + (f" (approved {run.approval})" if run.approval else ""))
    connector = run.registry.social(action.presence)
    if action.action == "add_admin":
        return connector.add_admin(action.presence, action.person)
    if action.action == "revoke_role":
        return connector.revoke(action.presence, action.grant)
    return Outcome("manual", action.description, steps=action.steps)


def attempt_once(run: Run, action: Action) -> Outcome:
    """One try of one action: started in the ledger, then the call."""
    pre_state = dict(action.grant.pre_state) if action.grant else None
    number = run.ledger.start(action.key, run.employee["id"], action.action, action.target, pre_state)
    return call(run, action, first_attempt=number == 1)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_on_transient)
def attempt(run: Run, action: Action) -> Any:
    """One try of one action, with Prefect retries for transient errors.

    A step left to a person ends in a grey state named "Needs a person", not a green Completed.
    Why that state type (Cancelled): the UI colours a state by its type, so a Completed one stays a
    green success whatever its name; Failed is red, counts as a failure in automations, and Prefect
    retries a task that returns it (`handle_success`); Paused is for flow runs waiting for input; Crashed
    means the infrastructure failed. Cancelled is terminal, grey, never retried, and
    `result(raise_on_failure=False)` still gives the outcome back to the flow.
    """
    outcome = attempt_once(run, action)
    return runview.step_state(outcome, outcome.status == "manual", outcome.detail)


def attempt_direct(run: Run, action: Action) -> Outcome:
    """`attempt` without a Prefect task run (a layoff's thousands of actions), with the same retries.

    A vendor that throttles a batch (Meta's usage at 100% for minutes) is waited out here, in
    this presence's thread only: the other presences go on.
    """
    delays = attempt.retry_delay_seconds
    for number in range(attempt.retries):
        try:
            return attempt_once(run, action)
        except ConnectorError as exc:
            wait = transient_wait(exc)
            if wait is None:
                raise
            time.sleep(wait or delays[min(number, len(delays) - 1)])
    return attempt_once(run, action)


def recover_interrupted(run: Run, the_plan: Plan, members: dict[str, list[Grant] | str]) -> list[dict[str, Any]]:
    """Settle revocations a killed run left "started": the live list says whether the call went through.

    A revocation the new plan no longer contains, whose grant is gone from the live member
    list, was done by the interrupted run: it is recorded as done, with the pre-state saved
    before the call. One still listed is in the new plan and simply runs again.
    """
    planned = {a.key for a in the_plan.actions}
    rows = []
    for row in run.ledger.started(run.employee["id"], run.holder):
        _, kind, presence_id, member_id = (row["key"].split(":", 3) + ["", "", ""])[:4]
        listed = members.get(presence_id)
        if kind != "revoke" or row["key"] in planned or not isinstance(listed, list):
            continue
        if any(g.member_id == member_id for g in listed):
            continue
        action = Action(key=row["key"], action=row["action"], target=row["target"], phase=REVOKE, description="")
        pre_state = json.loads(row["pre_state"]) if row["pre_state"] else None
        rows.append(run.record(action, "done", "confirmed gone from the live member list after an interrupted run",
                               pre_state))
    return rows


def execute(run: Run, action: Action, unconfirmed: Unconfirmed | None = None) -> dict[str, Any] | None:
    """Run one action unless the ledger says it is finished; record what happened.

    A removal the vendor answered is recorded only once a fresh read confirms it (`Unconfirmed`):
    given a batch, it joins the batch and None is returned (its row comes from `settle`); without
    one it is confirmed at once. Nothing at all once the termination was withdrawn (`Run.withdrawn`).
    """
    if (reason := run.withdrawn()) is not None:
        return run.unrecorded(action, reason)
    state = run.ledger.state(action.key)
    if action.outcome != "not_touched" and state is not None and state.status in FINISHED:
        return run.record(action, "already_done", f"already done: {state.detail}"[:2000])
    if action.outcome in {"manual", "not_touched", "scheduled", "failed"}:
        detail = Outcome(action.outcome, action.description, steps=action.steps).summary()
        if state is not None and state.status == action.outcome == "manual":
            detail = "still open: " + detail
        return run.record(action, action.outcome, detail)
    if action.after:
        first = run.ledger.state(action.after)
        if first is None or first.status not in FINISHED:
            return run.record(action, "manual", "not removed: the presence would be left without an admin. "
                              "Finish the add-admin task first, then run relevo again")
    if (other := claim(run, action)) is not None:
        return other
    try:
        if run.direct or not in_flow_run():
            outcome = attempt_direct(run, action)
        else:
            outcome = step_result(attempt.with_options(task_run_name=step_name(run, action))(
                run, action, return_state=True))
    except ConnectorError as exc:
        run.ledger.release(action.key, run.holder)
        return run.record(action, "failed", f"{exc} | fix: {suggested_fix(exc)}")
    except BaseException:
        run.ledger.release(action.key, run.holder)
        raise
    if action.action == "revoke_role" and outcome.status in {"done", "already_done"}:
        # The claim is kept and the ledger row stays "started" until the vendor's live state agrees:
        # no other run calls again meanwhile; `confirm_removals` releases and records.
        batch = unconfirmed if unconfirmed is not None else Unconfirmed()
        batch.add(run, action, outcome)
        return None if unconfirmed is not None else batch.settle()[0]
    run.ledger.release(action.key, run.holder)
    crash_point("before_ledger_write")
    return run.record(action, outcome.status, outcome.summary(), outcome.pre_state)


class Unconfirmed:
    """Removals the vendor answered, waiting for one fresh read of their presence before they count.

    A vendor's "removed" or "already gone" is a claim (Meta's 100/33 also means "no permission to
    see it"; `success: false` removed nothing). `settle` reads each presence's holders once for all
    its waiting removals: one still listed is `failed` with what the credential needs, never `done`.
    Until then the ledger row stays "started", so a crash is settled from the live list on the next run.
    """

    def __init__(self, every: int = 100, after: float = 5.0) -> None:
        self.waiting: list[tuple[Run, Action, Outcome]] = []
        self.every = every  # a batch's confirming read covers at most this many removals...
        self.after = after  # ...and waits at most this many seconds (the leavers' notices wait for it)
        self._oldest = 0.0

    def __len__(self) -> int:
        return len(self.waiting)

    def add(self, run: Run, action: Action, outcome: Outcome) -> None:
        if not self.waiting:
            self._oldest = time.monotonic()
        self.waiting.append((run, action, outcome))

    def due(self) -> bool:
        """Time for the confirming read: `every` removals wait, or the oldest has waited `after` seconds."""
        return bool(self.waiting) and (len(self.waiting) >= self.every
                                       or time.monotonic() - self._oldest >= self.after)

    def employees(self) -> list[str]:
        """The employees with a removal waiting, in order."""
        return list(dict.fromkeys(run.employee["id"] for run, _, _ in self.waiting))

    def settle(self) -> list[dict[str, Any]]:
        """One read per presence; each waiting removal recorded as the live state says. Empties the batch."""
        waiting, self.waiting = self.waiting, []
        by_presence: dict[str, list[tuple[Run, Action, Outcome]]] = {}
        for item in waiting:
            by_presence.setdefault(item[1].presence.id, []).append(item)  # type: ignore[union-attr]
        rows = []
        for items in by_presence.values():
            rows += confirm_removals(items)
        return rows


def confirm_removals(items: list[tuple[Run, Action, Outcome]]) -> list[dict[str, Any]]:
    """Record removals on one presence after one fresh read of its holders (each claim released as it is recorded)."""
    run, action, _ = items[0]
    presence = action.presence
    connector = run.registry.social(presence)
    held: set[str] = set()
    unconfirmed = ""
    if not isinstance(connector, ConfirmsRemoval):  # every API connector reads its holders; a new one must too
        unconfirmed = (f"not confirmed: the {presence.platform} connector cannot read its members again | fix: check "
                       "by hand that the role is gone, then rerun")
    else:
        try:
            held = still_held(connector, presence, [a.grant for _, a, _ in items])
        except Exception as exc:  # whatever broke the read, each removal gets its row and its claim back
            unconfirmed = (f"not confirmed: the member list could not be read again ({unreadable(exc)}) | fix: "
                           "rerun relevo: the removal is checked again (done actions are skipped)")
    rows = []
    for r, a, o in items:
        r.ledger.release(a.key, r.holder)
        crash_point("before_ledger_write")
        if unconfirmed:
            rows.append(r.record(a, "failed", f"{o.detail}; {unconfirmed}"[:2000]))
        elif a.grant.member_id in held:
            who = a.grant.display_name or a.grant.identity
            rows.append(r.record(a, "failed", f"{o.detail}; but a fresh read of {a.target} still lists {who}: "
                                 f"not removed | fix: {connector.removal_needs}; then rerun relevo"[:2000]))
        else:
            rows.append(r.record(a, o.status, f"{o.summary()} (confirmed by a fresh read)", o.pre_state))
        crash_point("mid_revoke")
    return rows


def claim(run: Run, action: Action, poll: float = 1.0) -> dict[str, Any] | None:
    """Claim the action for this run before its outside call; None when this run may call.

    Another run of the same employee that holds the action is waited for (never called twice);
    once it has finished, its outcome is reported here as already done.
    """
    while (result := run.ledger.claim(action.key, run.employee["id"], action.action, action.target,
                                      run.holder)) == "busy":
        time.sleep(poll)
    if result == "finished":
        state = run.ledger.state(action.key)
        return run.record(action, "already_done", f"already done: {state.detail if state else ''}"[:2000])
    return None


def step_name(run: Run, action: Action) -> str:
    """`revoke_role · Acme Comunicación (Facebook Page)`: what the step does, and where."""
    return runview.task_name(action.action, action.target)


def step_result(state: Any) -> Any:
    """A step's value from its final state, whether green or "Needs a person"; its error raised."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, BaseException):
        raise value
    return value


def settled(future: Any) -> Any:
    """A submitted step's value once it has finished (see `step_result`)."""
    future.wait()
    return step_result(future.state)


def suggested_fix(error: ConnectorError) -> str:
    from relevo.connectors import errors

    if isinstance(error, errors.AuthenticationError):
        return "the credential was refused: renew the token in its Secret block or variable, then rerun"
    if isinstance(error, errors.PermissionDenied):
        return "the credential lacks a permission for this call: grant it, or do this step by hand"
    if error.retryable:
        return "the service kept failing or throttling: rerun later (done actions are skipped)"
    return "do this step by hand, then rerun to record it"


def expected_outcome(registry: Registry | None, action: Action, by_hand: set[str]) -> tuple[str, str]:
    """(outcome, detail) a real run would record, as far as it is known without calling anyone.

    A step the presence's connector can only leave to a person (`by_hand`), and a removal that waits
    for such an add-admin step, are "manual" in the dry run too; a call relevo would make is "planned".
    """
    if action.outcome:
        return action.outcome, action.description
    presence = action.presence
    if registry is not None and presence is not None:
        try:
            manual = action.action in getattr(registry.social(presence), "by_hand", frozenset())
        except (ConfigurationError, ConnectorError):
            manual = False  # the real run fails the same way, on the call
        if manual:
            return "manual", f"by hand: {action.description}"
    if action.after and action.after in by_hand:
        return "manual", f"waits for the add-admin step by hand: {action.description}"
    return "planned", action.description


def progress(run: Run, stage: str, waiting: list[Action] | None = None) -> None:
    """Publish the run's report while it runs: recorded outcomes, then the plan for the steps still ahead
    (`waiting`: notices that are in this run's approval form now)."""
    if run.direct or not run.plan_rows or not in_flow_run():
        return
    latest = {r["action_key"]: r for r in run.rows}
    asked = {a.key for a in waiting or []}
    rows = []
    for planned in run.plan_rows:
        row = latest.pop(planned["action_key"], None)
        if row is None and planned["action_key"] in asked:
            row = {**planned, "outcome": "awaiting_approval", "detail": "in this run's approval form"}
        rows.append(row or planned)
    rows += [r for r in latest.values()]
    rows += [{**planned_row(a), "outcome": "awaiting_approval", "detail": "in this run's approval form"}
             for a in waiting or [] if a.key not in {r["action_key"] for r in rows}]
    try:
        publish(summarize(run.employee, rows, False, run.registry), stage)
    except Exception as exc:  # the Prefect API: the run's work goes on; the final report follows
        log().warning("Could not publish the progress report (%s)", type(exc).__name__)


def planned_row(action: Action) -> dict[str, Any]:
    return {"action_key": action.key, "action": action.action, "target": action.target, "outcome": "planned",
            "detail": action.description}


def plan_only(the_plan: Plan, registry: Registry | None = None, quiet: bool = False) -> list[dict[str, Any]]:
    """Dry run rows: what a real run would do, written nowhere but the artifact and the screen."""
    rows = []
    by_hand: set[str] = set()
    stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    for action in the_plan.actions:
        outcome, detail = expected_outcome(registry, action, by_hand)
        if outcome == "manual":
            by_hand.add(action.key)
        row = {"at": stamp, "employee_id": the_plan.employee["id"], "action_key": action.key,
               "action": action.action, "target": action.target, "outcome": outcome,
               "detail": detail, "dry_run": True, "run_id": None, "event_key": None}
        if not quiet:
            tell(row)
        rows.append(row)
    return rows


def write_hr_note(run: Run) -> dict[str, Any] | None:
    """Step 6c: the outcome report back in the HR record, from the ledger, once per distinct report.

    Written from the ledger rather than from this run's rows, so the report is whole and
    stable: a rerun that finds everything done (and the clients already handed over) writes
    nothing new, and an approval or a finished manual task gives a new report.
    """
    if not run.registry.policy.get("write_hr_note", True) or run.withdrawn():
        return None
    title, text = notices.hr_note(run.employee, run.ledger.outcomes(run.employee["id"]), run.registry,
                                  markdown=getattr(run.registry.hr(), "writes_markdown", False))
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    action = Action(key=f"{run.employee['id']}:hr_note:{digest}", action="hr_note",
                    target=f"HR record {run.employee['id']}", phase="record", description="outcome report")
    if (state := run.ledger.state(action.key)) is not None and state.status in FINISHED:
        return None
    try:
        where = run.registry.hr().write_note(run.employee["id"], title, text,
                                             run.registry.output_dir)
    except ConnectorError as exc:
        return run.record(action, "failed", f"{exc} | fix: {suggested_fix(exc)}")
    return run.record(action, "done", f"report written to {where}")


def tally(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Outcome -> how many rows have it."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    return counts


def summarize(employee: dict[str, Any], rows: list[dict[str, Any]], dry_run: bool, registry: Registry) -> dict[str, Any]:
    counts = tally(rows)
    open_items = sum(counts.get(k, 0) for k in ATTENTION)
    return {
        "employee_id": employee["id"],
        "employee_name": employee["name"],
        "dry_run": dry_run,
        "counts": counts,
        "open": open_items,
        "failed": counts.get("failed", 0),
        "rows": rows,
        "drafts": registry.drafts().location,
        "audit": str(registry.output_dir / "audit.jsonl"),
    }


def publish(summary: dict[str, Any], stage: str = "") -> None:
    """Step 6b: the run's report as Prefect artifacts (see `runview.publish`)."""
    runview.publish(summary, stage)


def schemas_safe(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())


def offboard_run_name() -> str:
    """The name a run starts with (the HR record is read later and completes it)."""
    from prefect.runtime import flow_run as current

    return runview.run_name(str(current.parameters.get("employee_id", "")))


@flow(name="offboard-employee", log_prints=False, flow_run_name=offboard_run_name)
@one_line_failures
def offboard_employee(
    employee_id: EmployeeId,
    registry_path: RegistryPath = "relevo.yaml",
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
        registry_path: the company's relevo.yaml: absolute, or relative to the directory the worker runs the
            flows in (the project directory `prefect deploy` recorded).
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
    if refused is not None and not force:  # nobody is offboarded who has not left: nothing planned, nothing written
        logger.warning("%s", refused)
        return Completed(name="Not offboarded", message=refused, data={"employee_id": employee_id, "refused": refused})
    crash_point("after_fetch")
    members = read_members(registry)
    clients = step(fetch_clients, runview.task_name("read clients of", employee["name"]), registry, employee)
    now = datetime.now(timezone.utc)
    revoke_now = revoke_now or revocation.due_by_schedule(employee, registry)
    the_plan = plan(employee, registry, members, clients,
                    notices.notice_actions(employee, registry, clients, now), now, revoke_now)
    logger.info("Plan for %s: %d actions", employee_id, len(the_plan.actions))
    forced = [forced_action(employee_id, refused)] if refused is not None else []
    if dry_run:
        rows = plan_only(Plan(employee, the_plan.revoke_at, forced + the_plan.actions), registry)
    else:
        run = Run(registry, employee, event_key)
        run.since = gate.run_created_at()
        if run.withdrawn():  # created before a withdrawal (a scheduled, pending or retried run): nothing at all
            logger.warning("%s", run.stopped)
            return Cancelled(message=run.stopped, data={"employee_id": employee_id, "withdrawn": run.stopped})
        run.plan_rows = plan_only(the_plan, registry, quiet=True)
        progress(run, "Started: the plan below; each step's outcome replaces it as it is recorded.")
        rows = [run.record(a, "done", f"{a.description}: {gate.requester(requested_by)}") for a in forced]
        rows += recover_interrupted(run, the_plan, members)
        rows += revocation.schedule_revocation(run, the_plan.revoke_at)  # before notices wait for approval
        ask = deployment.id is not None if wait_for_approval is None else wait_for_approval
        rows += run_plan(run, the_plan, clients, now, ask)
        if (note := write_hr_note(run)) is not None:
            rows.append(note)
        if run.stopped:
            logger.warning("%s", run.stopped)
            return Cancelled(message=run.stopped, data=summarize(employee, rows, dry_run, registry))
    summary = summarize(employee, rows, dry_run, registry)
    if in_flow_run():
        publish(summary)
    return runview.final_state(summary)


def forced_action(employee_id: str, refused: str) -> Action:
    """The audit row of an offboarding forced past the HR record's "has not left" (one per run)."""
    from prefect.runtime import flow_run as current

    why = refused.split(": ", 1)[-1].split("; nothing was done")[0]
    return Action(key=f"{employee_id}:force_offboard:{current.id or datetime.now(timezone.utc).isoformat()}",
                  action="force_offboard", target=f"HR record {employee_id}", phase="record",
                  description=f"offboarded although {why}, because force was asked")


def run_plan(run: Run, the_plan: Plan, clients: list[Any] | None = None, now: datetime | None = None,
             wait_for_approval: bool = False) -> list[dict[str, Any]]:
    """Involuntary: revoke first, then notices. Voluntary: notices now, revocations when due."""
    record_only = [a for a in the_plan.actions if a.phase not in {REVOKE, NOTICE, CRM}]
    rows = [execute(run, a) for a in record_only]
    rows += revoke_all(run, the_plan.phase(REVOKE))
    progress(run, "Access steps done; client notices next.")
    rows += notice_phase(run, the_plan.phase(NOTICE) + the_plan.phase(CRM), clients or [],
                         now or datetime.now(timezone.utc), wait_for_approval)
    crash_point("after_drafts")
    return rows


def finished(run: Run, action: Action) -> bool:
    state = run.ledger.state(action.key)
    return state is not None and state.status in FINISHED


def notice_phase(run: Run, actions: list[Action], clients: list[Any], now: datetime,
                 wait_for_approval: bool) -> list[dict[str, Any]]:
    """Step 5: drafts and the CRM reassignment happen only once a person (or the policy) approves them.

    `clients` and `now` are what `actions` were rendered from; an answer from the form is checked
    against the HR record and the CRM as they are when it comes (see `ask_approval`).
    """
    # reported as already done, or failed at planning (a client record that cannot be used: bad e-mail)
    rows = [execute(run, a) for a in actions if finished(run, a) or a.outcome == "failed"]
    rows += supersede(run, actions)
    pending = [a for a in actions if not finished(run, a) and a.outcome != "failed"]
    if not pending:
        return rows
    if (stopped := run.stop_rows(pending)) is not None:
        return rows + stopped
    if run.registry.policy.get("auto_approve_notices", False):
        return rows + settle(run, pending, approval.Approval(), "by policy.auto_approve_notices")
    if not wait_for_approval:
        return rows + await_approval(run, pending, review_copies=True)
    pending, answer, refused = ask_approval(run, pending)
    if (stopped := run.stop_rows(pending)) is not None:  # resumed or timed out after a withdrawal
        return rows + stopped
    if refused is not None:
        return rows + [run.record(a, "skipped", f"not placed: {refused}") for a in pending]
    if answer is None:
        return rows + await_approval(run, pending)
    return rows + settle(run, pending, answer, f"in the Prefect UI by {ui_approver(answer)}")


def ui_approver(answer: approval.Approval) -> str:
    """The approver for the audit: the name typed in the form, marked as such, and what Prefect knows.

    A self-hosted Prefect server records no user for a resume (the stored answer's `sender` is empty,
    the Running state carries no actor): the name is a claim, and the README says how to make the
    API reachable only to people who may approve.
    """
    name = notices.one_line(answer.approved_by) or "an unnamed operator"
    return f"{name} (name as typed in the form; Prefect identity: {prefect_sender(answer) or 'none recorded'})"


def prefect_sender(answer: approval.Approval) -> str | None:
    """The `sender` Prefect stored with the form's answer, if any (None on a self-hosted server's resume)."""
    from prefect import get_client

    try:
        key = answer.metadata.key
        with get_client(sync_client=True) as client:
            stored = client.filter_flow_run_input(flow_run.id, key_prefix=key, limit=1, exclude_keys=set())
    except Exception as exc:  # the audit says it could not be read; the approval itself stands
        return f"unreadable ({type(exc).__name__})"
    return next((notices.one_line(i.sender) for i in stored if i.key == key and i.sender), None)


def cli_approver(approved_by: str, actor: str) -> str:
    """The approver for the audit: the name given on the command line, and the OS account that ran it."""
    name = notices.one_line(approved_by) or "an unnamed operator"
    return f"{name} (as given; {notices.one_line(actor) or 'OS user unknown'})"


def supersede(run: Run, actions: list[Action]) -> list[dict[str, Any]]:
    """Approvals waiting for a draft or hand-over that is no longer planned (the recipient, the successor or
    the clients changed): closed as superseded, their review copies removed, so nobody approves or sends them.

    Only kinds present in `actions` are looked at (a layoff hands the CRM over in its own batch).
    """
    kinds = {a.action for a in actions}
    planned = {a.key for a in actions}
    store = run.registry.drafts()
    rows = []
    for row in run.ledger.open_actions(run.employee["id"]):
        if row["status"] != "awaiting_approval" or row["action"] not in kinds or row["key"] in planned:
            continue
        if row["action"] == "draft_notice" and not store.reaches_mailbox:
            store.discard(stale_draft(row["key"]))
        gone = Action(key=row["key"], action=row["action"], target=row["target"], phase=NOTICE, description="")
        rows.append(run.record(gone, "superseded", "superseded: no longer planned with the current HR and CRM data "
                                                   "(recipient, successor or clients changed); its review copy is removed"))
    return rows


def stale_draft(key: str) -> Any:
    """Enough of a draft to find its review copy: the key, and the client id the copies are grouped by."""
    from relevo.connectors.drafts import Draft

    parts = key.split(":")
    return Draft(key=key, mailbox="", sender_name="", to_name="", to_email="", subject="", text="", html="",
                 language="", group=parts[2] if len(parts) > 2 else "")


def resume_hint(run: Run) -> str:
    return f"relevo approve {run.employee['id']} --registry {run.registry.path}"


def await_approval(run: Run, pending: list[Action], review_copies: bool = False) -> list[dict[str, Any]]:
    """Nothing reaches a mailbox or the CRM: the ledger says how to go on.

    From the command line (nobody to answer a form), a draft store that writes files (.eml) gets
    review copies now: they reach nobody, and they are what the person approving reads.
    `relevo approve --reject` removes a copy. After an unanswered form nothing is written.
    """
    if (stopped := run.stop_rows(pending)) is not None:
        return stopped
    store = run.registry.drafts()
    how = f"approve with `{resume_hint(run)}` (add --reject KEY_OR_EMAIL to leave a draft out)"
    rows = []
    for action in pending:
        if review_copies and action.draft is not None and not store.reaches_mailbox:
            state = run.ledger.state(action.key)
            again = state is not None and state.fingerprint != approval.fingerprint(action)
            try:
                if again:  # what it says changed (or an older relevo wrote it): the copy to review is replaced
                    store.discard(action.draft)
                _, where = store.place(action.draft)
                detail = (f"awaiting approval: review copy in {where}"
                          + (" (rendered again: what it says changed)" if again else "") + f"; {how}")
            except ConnectorError as exc:  # a link planted in the drafts folder, say: this draft only
                detail = f"awaiting approval: no review copy ({exc}); {how}"
        else:
            detail = f"awaiting approval: nothing placed yet; {how}"
        rows.append(run.record(action, "awaiting_approval", f"{detail} | {action.description}"))
    return rows


def ask_approval(run: Run, pending: list[Action]) -> tuple[list[Action], approval.Approval | None, str | None]:
    """Pause the run with the approval form until an answer is about the current version of the drafts.

    A successor named in the form is read from the HR system (an active employee, else the form comes
    back naming the problem), recorded in the audit, and the drafts are rendered for them and asked
    again. Any other answer is checked against the HR record and the CRM as they are now: a withdrawn
    termination places nothing, and drafts that changed while the form was open are shown again.
    Returns (the actions the answer is about, the answer or None when nobody answered in time,
    the reason nothing may be placed or None).
    """
    hours = float(run.registry.policy.get("approval_timeout_hours", 72))
    timeout = max(1, math.ceil(hours * 3600))
    approver = ""  # kept when the form comes back
    chosen: dict[str, Any] | None = None  # the successor named in the form, as HR has them
    note = ""
    while True:
        progress(run, "Waiting for approval of the client notices (the run is paused).", pending)
        link = publish_full_text(run, pending)
        initial: dict[str, Any] = {"approved_by": approver} if approver else {}
        # Prefect 3.9's Resume dialog shows field descriptions, not the form's: the note goes in both.
        form = approval.form_model(pending, note + approval.form_intro(run.employee, pending, link)).with_initial_data(
            description=note + approval.form_header(run.employee, pending, hours, resume_hint(run), link), **initial)
        try:
            # A 1 s poll: the redrawn form (another successor) is back within about 2 s, not 10.
            filled = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=1)
        except FlowPauseTimeout:
            log().warning("No approval within %g h: notices await `%s`", hours, resume_hint(run))
            return pending, None, None
        answer = approval.answer_of(filled, pending)
        approver = answer.approved_by
        try:
            now_registry = load_registry(run.registry.path)  # new connectors: nothing read before the pause is reused
        except ConfigurationError as exc:
            log().warning("Registry unreadable at approval (%s): notices await `%s`", exc, resume_hint(run))
            return pending, None, None
        wanted = answer.successor_id.strip()
        renamed = bool(wanted) and wanted != ((run.employee.get("successor") or {}).get("id") or "")
        if renamed:
            try:
                chosen = approval.resolve_successor(now_registry.hr(), run.employee, wanted)
            except approval.SuccessorProblem as exc:
                note = f"**Your last answer was not applied:** {approval.md(str(exc))}.\n\n"
                continue
            record_successor(run, chosen, f"in the Prefect UI by {ui_approver(answer)}")
        try:
            employee, clients = current_data(now_registry, run.employee["id"], chosen)
        except (ConnectorError, ConfigurationError, schemas.SchemaError) as exc:
            log().warning("HR or CRM unreadable at approval (%s): notices await `%s`", exc, resume_hint(run))
            return pending, None, None
        if (refused := refused_at_approval(run, employee)) is not None:
            return pending, answer, refused
        run.employee = employee
        current = [a for a in notices.notice_actions(employee, run.registry, clients, datetime.now(timezone.utc))
                   if not finished(run, a) and a.outcome != "failed"]
        if renamed:
            note = (f"**The drafts below now introduce {approval.md(run.employee['successor']['name'])}**: "
                    "approve them, or answer again.\n\n")
            pending = current
            continue
        if changed := approval.changes(pending, current):
            note = ("**The drafts changed while this form was open** (the HR record or the CRM changed: "
                    f"{approval.md('; '.join(changed))}): nothing was placed; here they are again.\n\n")
            pending = current
            continue
        return current, answer, None


def current_data(registry: Registry, employee_id: str,
                 chosen: dict[str, Any] | None) -> tuple[dict[str, Any], list[Any]]:
    """The HR record and the leaver's clients as they are now, with the successor named at approval if any."""
    employee = schemas.check("employee", registry.hr().employee(employee_id), f"HR record of employee {employee_id}")
    if chosen is not None:
        employee = approval.with_successor(employee, chosen)
    return employee, registry.crm().clients_of(employee.get("email"), employee["id"])


def refused_at_approval(run: Run, employee: dict[str, Any]) -> str | None:
    """Why nothing may be placed for this HR record now (no termination), unless the run was forced."""
    if any(":force_offboard:" in key for key in run.ledger.states(employee["id"])):
        return None
    return gate.refusal(employee, None)


def record_successor(run: Run, successor: dict[str, Any], how: str) -> dict[str, Any]:
    """The successor change itself, as an audit row: who was named instead of whom, by whom."""
    before = run.employee.get("successor") or {}
    was = f"{before.get('name')} <{before.get('email')}>" if before.get("email") else "none (an interim contact)"
    action = Action(key=f"{run.employee['id']}:change_successor:{successor['id']}", action="change_successor",
                    target=f"successor: {successor['name']} <{successor['email']}> (HR {successor['id']})",
                    phase="record", description="")
    row = run.record(action, "done", f"named {how}; an active employee in the HR system; was {was}")
    # The "no successor in the HR record" task is answered by this choice: closed, saying by whom.
    check = f"{run.employee['id']}:check:successor"
    if (state := run.ledger.state(check)) is not None and state.status == "manual":
        run.record(Action(key=check, action="check_record", target="HR record: successor", phase="record",
                          description=""), "done",
                   f"successor {successor['name']} (HR {successor['id']}) named {how}; set it in the HR system too")
    return row


def publish_full_text(run: Run, pending: list[Action]) -> str:
    """Every draft's full text as an artifact; returns its address in the UI for the form to link to."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.settings import PREFECT_UI_URL

    key = runview.artifact_key(run.employee["id"], False) + "-drafts"
    create_markdown_artifact(markdown=approval.full_text(run.employee, pending), key=key,
                             description="The drafts awaiting approval, in full")
    return f"{(PREFECT_UI_URL.value() or '').rstrip('/')}/artifacts/key/{key}"


def settle(run: Run, pending: list[Action], answer: approval.Approval, how: str) -> list[dict[str, Any]]:
    """Approved drafts placed, then the CRM reassigned; rejected ones recorded as such."""
    if (stopped := run.stop_rows(pending)) is not None:
        return stopped
    todo, dropped = approval.decide(pending, answer.approve, answer.reject)
    run.approval = how
    store = run.registry.drafts()
    for action in dropped:
        if action.draft is not None and not store.reaches_mailbox:
            store.discard(action.draft)  # the review copy goes with the rejection
    for action in todo:
        if action.draft is not None and not store.reaches_mailbox:
            state = run.ledger.state(action.key)
            if state is not None and state.fingerprint != approval.fingerprint(action):
                store.discard(action.draft)  # an older version's copy: the approved one is placed instead
    rows = [run.record(a, "rejected", f"rejected {how}: not placed, not changed") for a in dropped]
    rows += [execute(run, a) for a in todo if a.phase != CRM]
    rows += [execute(run, a) for a in todo if a.phase == CRM]
    return rows


@flow(name="approve-notices", log_prints=False)
@one_line_failures
def approve_notices(employee_id: EmployeeId, registry_path: RegistryPath = "relevo.yaml", reject: list[str] | None = None,
                    approved_by: str = "", actor: str = "", successor_id: str = "") -> Any:
    """Place the notices awaiting approval and reassign the CRM (what `relevo approve` runs).

    The drafts are rendered again from the HR record and the CRM as they are now. A person approves
    what they were shown: when what a draft says differs from the version the ledger holds as awaiting
    approval (its review copy), nothing is placed; the changed drafts are rendered again for review
    (`changed` in the result). A successor named here (`successor_id`, read from the HR system) is the
    approver's own choice: the drafts rendered for them are placed at once. Nothing is placed when
    the HR record shows no termination any more (`refused` in the result).

    Args:
        approved_by: the approver's name as given. actor: who the OS says ran it (recorded with it).
    """
    registry = load_registry(registry_path)
    employee = step(fetch_employee, runview.task_name("read HR record", employee_id), registry, employee_id)
    forced = any(":force_offboard:" in key for key in Ledger(registry.database_url).states(employee_id))
    if (refused := gate.refusal(employee, None)) is not None and not forced:  # withdrawn, or never terminated
        return Completed(name="Not offboarded", message=refused, data={"employee_id": employee_id, "refused": refused})
    run = Run(registry, employee, None)
    how = f"with relevo approve by {cli_approver(approved_by, actor)}"
    if not any(r["status"] == "awaiting_approval" and r["action"] in {"draft_notice", "reassign_crm"}
               for r in run.ledger.open_actions(employee_id)):
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
    actions = notices.notice_actions(employee, registry, clients, datetime.now(timezone.utc))
    states = run.ledger.states(employee_id)
    # What awaits approval now: what was shown for it, and what is new since (a new contact, a new successor).
    waiting = [a for a in actions if a.outcome != "failed"  # failed at planning: a rerun reports it
               and ((s := states.get(a.key)) is None or s.status in {"awaiting_approval", "superseded"})]
    rows += supersede(run, actions)
    changed = [a for a in waiting if (s := states.get(a.key)) is None or s.status != "awaiting_approval"
               or s.fingerprint != approval.fingerprint(a)]
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


def revoke_all(run: Run, actions: list[Action]) -> list[dict[str, Any]]:
    """Presences in parallel (one thread per presence); within a presence, in plan order."""
    by_presence: dict[str, list[Action]] = {}
    for action in actions:
        by_presence.setdefault(action.presence.id if action.presence else "", []).append(action)
    groups = list(by_presence.values())
    if not in_flow_run():
        with ThreadPoolExecutor(max(1, min(8, len(groups)))) as pool:
            return [row for rows in pool.map(lambda group: presence_rows(run, group), groups) for row in rows]
    futures = [revoke_presence.with_options(task_run_name=runview.task_name("revoke", group[0].target))
               .submit(run, group) for group in groups]
    return [row for future in futures for row in settled(future)]


def presence_rows(run: Run, actions: list[Action]) -> list[dict[str, Any]]:
    """One presence's actions in plan order (an add-admin before the removal it guards), its removals
    confirmed together by one fresh read."""
    unconfirmed = Unconfirmed()
    rows = [row for a in actions if (row := execute(run, a, unconfirmed)) is not None]
    return rows + unconfirmed.settle()


@task(cache_policy=NO_CACHE)
def revoke_presence(run: Run, actions: list[Action]) -> Any:
    """One presence's actions in plan order, its removals confirmed together by one fresh read;
    "Needs a person" when any is left to a person."""
    rows = presence_rows(run, actions)
    left = [r for r in rows if r["outcome"] in runview.FOR_A_PERSON]
    return runview.step_state(rows, bool(left), "; ".join(f"{r['action']}: {r['outcome']}" for r in left))
