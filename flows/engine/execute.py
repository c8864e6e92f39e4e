"""The one execution module: an action claimed, called once, confirmed and recorded in the ledger.

`Run` is the context every flow acts in (registry, ledger, employee, ids); `execute` is the only path
from a planned action to an outside call: skipped when the ledger says it is finished, claimed before
the call so a concurrent run waits instead of calling twice, and a vendor's "removed" recorded as done
only once a fresh read of the presence confirms it (`Unconfirmed`).

Kept as one module: claim, call, confirm and record are one path, and `execute` is the only
way to it; splitting them would hide which order they run in.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, overload

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from relevo.config.registry import Registry
from relevo.connectors.errors import ConnectorError
from relevo.connectors.protocols import ConfirmsRemoval, still_held
from relevo.engine import approval, gate, runview
from relevo.engine.steps import (
    TASK_RETRIES,
    TRANSIENT,
    crash_point,
    in_flow_run,
    listeners,
    log,
    retry_later,
    settled,
    step_result,
    tell,
    unreadable,
)
from relevo.model import FINISHED, TASKS, VERSIONED, ActionKey, Grant, Outcome
from relevo.rules.plan import REVOKE, Action, Plan, is_leavers
from relevo.storage.ledger import CLAIM_SECONDS, Ledger, process_holder


class Run:
    """What one run needs while executing actions: registry, ledger, ids."""

    def __init__(
        self, registry: Registry, employee: dict[str, Any], event_key: str | None, direct: bool = False
    ) -> None:
        self.registry = registry
        # direct: no Prefect task per action (a layoff's thousands of calls are paced by the vendors,
        # not by task bookkeeping); the transport still retries 429/5xx/timeouts.
        self.direct = direct
        self.employee = employee
        self.event_key = event_key
        self.ledger = Ledger(registry.owned_database_url(), registry.output_dir / "audit.jsonl")
        self.run_id = str(flow_run.id) if flow_run.id else None
        self.holder = process_holder(self.run_id or uuid.uuid4().hex)  # who claims this run's actions
        self.approval = ""  # how and by whom the notices were approved, recorded with what they did
        self.rows: list[dict[str, Any]] = []  # what this run recorded so far (the artifact while it runs)
        self.plan_rows: list[dict[str, Any]] = []  # the dry-run view of the plan, for steps not recorded yet
        # When the run was created (gate.run_created_at): a withdrawal recorded later stops it. None: not checked.
        self.since: str | None = None
        self.stopped: str | None = None  # why this run stopped writing (its termination was withdrawn)
        self._checked = 0.0

    @property
    def employee_id(self) -> str:
        return str(self.employee["id"])

    def withdrawn(self, fresh: bool = False) -> str | None:
        """Why this run must write nothing more (its termination was withdrawn after it began), or None.

        Read from the ledger before every action; a layoff's direct run reads it at most once a
        second (thousands of actions), and again (`fresh`) once it holds an action's claim, just before
        the outside call. Once withdrawn, always withdrawn for this run.
        """
        if self.stopped is None and self.since is not None:
            moment = time.monotonic()
            if fresh or not self.direct or moment - self._checked >= 1.0:
                self._checked = moment
                self.stopped = gate.withdrawn_since(self.ledger, self.employee["id"], self.since)
        return self.stopped

    def unrecorded(self, action: Action, detail: str) -> dict[str, Any]:
        """What a withdrawn run reports for an action it no longer takes: shown, never written to the ledger."""
        row = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "employee_id": self.employee["id"],
            "action_key": action.key,
            "action": action.action,
            "target": action.target,
            "outcome": "cancelled",
            "detail": detail,
            "dry_run": False,
            "run_id": self.run_id,
            "event_key": self.event_key,
        }
        for listener in listeners:
            listener(row)
        return row

    def stop_rows(self, actions: list[Action]) -> list[dict[str, Any]] | None:
        """Unrecorded rows for `actions` when the termination was withdrawn; None when the run goes on."""
        if (reason := self.withdrawn()) is None:
            return None
        return [self.unrecorded(a, reason) for a in actions]

    def record(
        self,
        action: Action,
        outcome: str,
        detail: str,
        pre_state: dict[str, Any] | None = None,
        steps: list[str] | None = None,
    ) -> dict[str, Any]:
        """An action's outcome in the ledger and the audit log (drafts with the fingerprint of what they say)."""
        versioned = outcome in VERSIONED and (action.draft is not None or action.action == "reassign_crm")
        return self.record_key(
            action.key,
            action.action,
            action.target,
            outcome,
            detail,
            pre_state,
            approval.fingerprint(action) if versioned else None,
            steps=steps,
            due_at=action.due_at.isoformat() if action.due_at and outcome == "scheduled" else None,
        )

    def record_key(
        self,
        key: str,
        action: str,
        target: str,
        outcome: str,
        detail: str,
        pre_state: dict[str, Any] | None = None,
        fingerprint: str | None = None,
        steps: list[str] | None = None,
        due_at: str | None = None,
    ) -> dict[str, Any]:
        """`record` for an outcome that is not a planned action (a rescind's restore, a cancelled run)."""
        row = self.ledger.finish(
            key=key,
            employee_id=self.employee["id"],
            action=action,
            target=target,
            outcome=outcome,
            detail=detail,
            pre_state=pre_state,
            run_id=self.run_id,
            event_key=self.event_key,
            fingerprint=fingerprint,
            steps=steps,
            due_at=due_at,
        )
        self.rows.append(row)
        tell(row)
        return row


def step_name(run: Run, action: Action) -> str:
    """`revoke_role · Acme Comunicación (Facebook Page)`: what the step does, and where."""
    return runview.task_name(action.action, action.target)


def call(run: Run, action: Action, first_attempt: bool = False) -> Outcome:
    """The one outside call an action makes (on a first attempt a draft store need not look for an earlier one)."""
    if action.action == "draft_notice":
        created, where = run.registry.drafts().place(action.the_draft, first_attempt=first_attempt)
        # Not finished in the ledger, so an existing draft is its review copy (or a crash's): done now.
        return Outcome(
            "done",
            f"draft {'placed' if created else 'approved'} in {where}; a person reviews and sends it"
            + (f" (approved {run.approval})" if run.approval else ""),
        )
    if action.action == "reassign_crm":
        changed = run.registry.crm().reassign(action.clients, run.employee.get("email"), action.the_person)
        return Outcome("done", changed + (f" (approved {run.approval})" if run.approval else ""))
    connector = run.registry.social(action.the_presence)
    if action.action == "add_admin":
        return connector.add_admin(action.the_presence, action.the_person)
    if action.action == "revoke_role":
        return connector.revoke(action.the_presence, action.the_grant)
    return Outcome("manual", action.description, steps=action.steps)


def attempt_once(run: Run, action: Action) -> Outcome:
    """One try of one action: started in the ledger, then the call."""
    pre_state = dict(action.grant.pre_state) if action.grant else None
    number = run.ledger.start(action.key, run.employee["id"], action.action, action.target, pre_state)
    return call(run, action, first_attempt=number == 1)


@task(cache_policy=NO_CACHE, **TRANSIENT)
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

    A vendor that throttles a batch (Meta's usage at 100% for minutes) is waited out by the connector's
    transport before the next try, in this presence's thread only: the other presences go on.
    """
    for _ in range(TASK_RETRIES):
        try:
            return attempt_once(run, action)
        except ConnectorError as exc:
            if not retry_later(exc):
                raise
    return attempt_once(run, action)


def recover_interrupted(
    run: Run, the_plan: Plan, members: dict[str, list[Grant] | str]
) -> list[dict[str, Any]]:
    """Settle revocations a killed run left "started": the live list says whether the call went through.
    Claims it left without a call, for actions the new plan no longer has, are forgotten.

    A revocation the new plan no longer contains, whose grant is gone from the live member
    list, was done by the interrupted run: it is recorded as done, with the pre-state saved
    before the call. One still listed is in the new plan and simply runs again.
    """
    planned = {a.key for a in the_plan.actions}
    run.ledger.drop_dead_claims(run.employee["id"], planned)
    rows = []
    for row in run.ledger.started(run.employee["id"]):
        parsed = ActionKey.parse(row["key"])
        kind, presence_id, member_id = parsed.kind, parsed.subject, parsed.rest
        listed = members.get(presence_id)
        if kind != "revoke" or row["key"] in planned or not isinstance(listed, list):
            continue
        if any(g.member_id == member_id for g in listed):
            continue
        action = Action(
            key=row["key"], action=row["action"], target=row["target"], phase=REVOKE, description=""
        )
        if (other := claim(run, action)) is not None:  # a live run of this employee settled it meanwhile
            rows.append(other)
            continue
        pre_state = json.loads(row["pre_state"]) if row["pre_state"] else None
        rows.append(
            run.record(
                action, "done", "confirmed gone from the live member list after an interrupted run", pre_state
            )
        )
    return rows


@overload
def execute(run: Run, action: Action) -> dict[str, Any]: ...
@overload
def execute(run: Run, action: Action, unconfirmed: Unconfirmed) -> dict[str, Any] | None: ...
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
        detail = action.description
        if state is not None and state.status == action.outcome == "manual":
            detail = "still open: " + detail
        return run.record(action, action.outcome, detail, steps=action.steps)
    if action.after:
        first = run.ledger.state(action.after)
        if first is None or first.status not in FINISHED:
            return run.record(
                action,
                "manual",
                "not removed: the presence would be left without an admin. "
                "Finish the add-admin task first, then run relevo again",
            )
    if (other := claim(run, action)) is not None:
        return other
    try:
        if run.direct or not in_flow_run():
            outcome = attempt_direct(run, action)
        else:
            outcome = step_result(
                attempt.with_options(task_run_name=step_name(run, action))(run, action, return_state=True)
            )
    except ConnectorError as exc:
        return run.record(action, "failed", f"{exc} | fix: {suggested_fix(exc)}")  # the record ends the claim
    except BaseException:
        run.ledger.release(action.key, run.holder)
        raise
    if action.action == "revoke_role" and outcome.status in {"done", "already_done"}:
        # The claim is kept and the ledger row stays "started" until the vendor's live state agrees:
        # no other run calls again meanwhile; `confirm_removals` releases and records.
        batch = unconfirmed if unconfirmed is not None else Unconfirmed()
        batch.add(run, action, outcome)
        return None if unconfirmed is not None else batch.settle()[0]
    crash_point("before_ledger_write")
    return run.record(action, outcome.status, outcome.detail, outcome.pre_state, steps=outcome.steps)


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
        return bool(self.waiting) and (
            len(self.waiting) >= self.every or time.monotonic() - self._oldest >= self.after
        )

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
    presence = action.the_presence
    connector = run.registry.social(presence)
    held: set[str] = set()
    unconfirmed, needs = "", ""
    if not isinstance(
        connector, ConfirmsRemoval
    ):  # every API connector reads its holders; a new one must too
        unconfirmed = (
            f"not confirmed: the {presence.platform} connector cannot read its members again | fix: check "
            "by hand that the role is gone, then rerun"
        )
    else:
        needs = connector.removal_needs
        try:
            held = still_held(connector, presence, [a.the_grant for _, a, _ in items])
        except Exception as exc:  # whatever broke the read, each removal gets its row and its claim back
            unconfirmed = (
                f"not confirmed: the member list could not be read again ({unreadable(exc)}) | fix: "
                "rerun relevo: the removal is checked again (done actions are skipped)"
            )
    rows = []
    for r, a, o in items:  # each record ends that action's claim
        crash_point("before_ledger_write")
        if unconfirmed:
            rows.append(r.record(a, "failed", f"{o.detail}; {unconfirmed}"[:2000]))
        elif a.the_grant.member_id in held:
            who = a.the_grant.display_name or a.the_grant.identity
            rows.append(
                r.record(
                    a,
                    "failed",
                    f"{o.detail}; but a fresh read of {a.target} still lists {who}: "
                    f"not removed | fix: {needs}; then rerun relevo"[:2000],
                )
            )
        else:
            rows.append(
                r.record(a, o.status, f"{o.detail} (confirmed by a fresh read)", o.pre_state, steps=o.steps)
            )
        crash_point("mid_revoke")
    return rows


def claim(run: Run, action: Action, poll: float = 1.0) -> dict[str, Any] | None:
    """Claim the action for this run before its outside call; None when this run may call.

    Another run of the same employee that holds the action is waited for (never called twice); once it has
    finished, its outcome is reported here as already done. A holder killed on this machine is seen at once,
    one on a lost machine after its claim lapses; a live holder that keeps its claim for MAX_CLAIM_WAIT is
    not waited for longer: this run reports the action as not done by it (nothing written: it is that run's).
    """
    waiting_since = None
    while (
        result := run.ledger.claim(action.key, run.employee["id"], action.action, action.target, run.holder)
    ) == "busy":
        if waiting_since is None:
            waiting_since = time.monotonic()
            log().warning(
                "Waiting for another run of %s that holds %s; if that run died, its claim lapses "
                "within %.0f s",
                run.employee_id,
                action.target,
                CLAIM_SECONDS,
            )
        elif (
            time.monotonic() - waiting_since > MAX_CLAIM_WAIT
        ):  # shown, not written: the action is that run's
            return run.unrecorded(
                action,
                f"not done by this run: another run of this employee has held "
                f"{action.target} for {MAX_CLAIM_WAIT / 60:.0f} min and records its outcome; if "
                "that run is stuck, end it in Prefect, then rerun relevo",
            )
        time.sleep(poll)
    if result == "finished":
        state = run.ledger.state(action.key)
        return run.record(action, "already_done", f"already done: {state.detail if state else ''}"[:2000])
    # Read again now the claim is held: a withdrawal recorded since the last look stops the call here, and
    # a rescind that wrote it first sees this claim and waits for it (relevo.rescind.wait_for_claims).
    if (reason := run.withdrawn(fresh=True)) is not None:
        run.ledger.release(action.key, run.holder)
        return run.unrecorded(action, reason)
    return None


MAX_CLAIM_WAIT = 3 * CLAIM_SECONDS  # a live run holding one action this long is stuck, not slow


def suggested_fix(error: ConnectorError) -> str:
    from relevo.connectors import errors

    if isinstance(error, errors.AuthenticationError):
        return "the credential was refused: renew the token in its Secret block or variable, then rerun"
    if isinstance(error, errors.PermissionDenied):
        return "the credential lacks a permission for this call: grant it, or do this step by hand"
    if error.retryable:
        return "the service kept failing or throttling: rerun later (done actions are skipped)"
    return "do this step by hand, then rerun to record it"


def finished(run: Run, action: Action) -> bool:
    state = run.ledger.state(action.key)
    return state is not None and state.status in FINISHED


def close_stale_checks(run: Run, members: dict[str, list[Grant] | str]) -> list[dict[str, Any]]:
    """Close the leaver's open "could not read who has access; check by hand" tasks that this run answered.

    An earlier run that could not read a presence left a task for a person (`:check:<presence>`,
    manual). Once a run has read that presence's members, the task is answered when the leaver holds
    no role there: not listed at all (gone, or removed by a person or another run), or every role
    listed is recorded removed (done, confirmed by a fresh read) in the ledger. It is then recorded
    done, saying why, so `relevo tasks` no longer asks a person for it. A removal that failed or is
    scheduled keeps the task open.
    """
    employee = run.employee
    rows = []
    for presence in run.registry.presences:
        listed = members.get(presence.id)
        if presence.owner != "company" or not isinstance(listed, list):
            continue
        key = f"{employee['id']}:check:{presence.id}"
        state = run.ledger.state(key)
        if state is None or state.status != "manual":
            continue
        held = [g for g in listed if is_leavers(g, employee, run.registry)]
        removals = [run.ledger.state(f"{employee['id']}:revoke:{presence.id}:{g.member_id}") for g in held]
        if not all(r is not None and r.status in {"done", "already_done"} for r in removals):
            continue
        why = (
            f"every role of {employee['name']} there is recorded removed"
            if held
            else f"{employee['name']} holds no role there"
        )
        rows.append(
            run.record(
                Action(key=key, action="manual_task", target=presence.account, phase=REVOKE, description=""),
                "done",
                f"closed: {presence.account} was read again and {why}",
            )
        )
    return rows


def revoke_all(run: Run, actions: list[Action]) -> list[dict[str, Any]]:
    """Presences in parallel (one thread per presence); within a presence, in plan order."""
    by_presence: dict[str, list[Action]] = {}
    for action in actions:
        by_presence.setdefault(action.presence.id if action.presence else "", []).append(action)
    groups = list(by_presence.values())
    if not in_flow_run():
        with ThreadPoolExecutor(max(1, min(8, len(groups)))) as pool:
            return [row for rows in pool.map(lambda group: presence_rows(run, group), groups) for row in rows]
    futures = [
        revoke_presence.with_options(task_run_name=runview.task_name("revoke", group[0].target)).submit(
            run, group
        )
        for group in groups
    ]
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
    left = [r for r in rows if r["outcome"] in TASKS]
    return runview.step_state(rows, bool(left), "; ".join(f"{r['action']}: {r['outcome']}" for r in left))
