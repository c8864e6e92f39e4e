"""The notice phase: drafts and the CRM hand-over wait for a person's approval, then are placed.

From the Prefect UI the run pauses with the approval form (`ask_approval`); from the command line the
ledger records them as awaiting approval for `relevo approve` (`await_approval`). Any answer is checked
against the HR record and the CRM as they are when it comes (`settle` places only what was shown).

Kept as one module: the notice phase from drafting to the approver's answer (record, ask, apply, settle) is
one sequence; split, the order in which a draft becomes placeable would be spread over files.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import pause_flow_run, suspend_flow_run
from prefect.exceptions import FlowPauseTimeout
from prefect.runtime import deployment, flow_run

from relevo import schemas
from relevo.config.registry import Registry, load_registry
from relevo.connectors.errors import ConnectorError
from relevo.engine import approval, gate, runview
from relevo.engine.execute import Run, execute, finished
from relevo.engine.report import progress
from relevo.engine.steps import log
from relevo.model import ActionKey, ConfigurationError, Draft
from relevo.rules import notices
from relevo.rules.plan import CRM, NOTICE, Action


def notice_phase(
    run: Run, actions: list[Action], clients: list[Any], now: datetime, wait_for_approval: bool
) -> list[dict[str, Any]]:
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
    if run.registry.policy.auto_approve_notices:
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
    return (
        f"{name} (name as typed in the form; Prefect identity: {prefect_sender(answer) or 'none recorded'})"
    )


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
        gone = Action(
            key=row["key"], action=row["action"], target=row["target"], phase=NOTICE, description=""
        )
        rows.append(
            run.record(
                gone,
                "superseded",
                "superseded: no longer planned with the current HR and CRM data "
                "(recipient, successor or clients changed); its review copy is removed",
            )
        )
    return rows


def stale_draft(key: str) -> Any:
    """Enough of a draft to find its review copy: the key, and the client id the copies are grouped by."""
    return Draft(
        key=key,
        mailbox="",
        sender_name="",
        to_name="",
        to_email="",
        subject="",
        text="",
        html="",
        language="",
        group=ActionKey.parse(key).subject,
    )


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
                if (
                    again
                ):  # what it says changed (or an older relevo wrote it): the copy to review is replaced
                    store.discard(action.draft)
                _, where = store.place(action.draft)
                detail = (
                    f"awaiting approval: review copy in {where}"
                    + (" (rendered again: what it says changed)" if again else "")
                    + f"; {how}"
                )
            except ConnectorError as exc:  # a link planted in the drafts folder, say: this draft only
                detail = f"awaiting approval: no review copy ({exc}); {how}"
        else:
            detail = f"awaiting approval: nothing placed yet; {how}"
        rows.append(run.record(action, "awaiting_approval", f"{detail} | {action.description}"))
    return rows


def ask_approval(
    run: Run, pending: list[Action]
) -> tuple[list[Action], approval.Approval | None, str | None]:
    """Pause the run with the approval form until an answer is about the current version of the drafts.

    A successor named in the form is read from the HR system (an active employee, else the form comes
    back naming the problem), recorded in the audit, and the drafts are rendered for them and asked
    again. Any other answer is checked against the HR record and the CRM as they are now: a withdrawn
    termination places nothing, and drafts that changed while the form was open are shown again.
    Returns (the actions the answer is about, the answer or None when nobody answered in time,
    the reason nothing may be placed or None).
    """
    hours = run.registry.policy.approval_timeout_hours
    timeout = max(1, math.ceil(hours * 3600))
    approver = ""  # kept when the form comes back
    chosen: dict[str, Any] | None = None  # the successor named in the form, as HR has them
    note = ""
    asked = (
        0  # each version of the form is its own suspension key: a resumed run replays the answers in order
    )
    while True:
        asked += 1
        key = form_key(asked, pending)
        suspending = deployment.id is not None
        if (
            suspending and key in fired_pause_keys()
        ):  # a resumed run replaying an answered form: nothing to show
            filled = suspend_flow_run(wait_for_input=approval.form_model(pending), timeout=timeout, key=key)
        else:
            if (
                suspending
            ):  # the process ends: what waits is in the ledger first, for `relevo tasks` and after a timeout
                if replaced := [k for k in fired_pause_keys() if k.startswith(f"relevo-approval-{asked}-")]:
                    note = note or CHANGED_WHILE_OPEN.format("they are not what the answer was given for")
                    log().warning(
                        "An answered approval form (%s) is about other drafts now: asked again", replaced[0]
                    )
                hold_for_form(run, pending, timeout)
            progress(
                run,
                "Waiting for approval of the client notices (the run is "
                + ("suspended: no process waits)." if suspending else "paused)."),
                pending,
            )
            link = publish_full_text(run, pending)
            initial: dict[str, Any] = {"approved_by": approver} if approver else {}
            # Prefect 3.9's Resume dialog shows field descriptions, not the form's: the note goes in both.
            form = approval.form_model(
                pending, note + approval.form_intro(run.employee, pending, link)
            ).with_initial_data(
                description=note + approval.form_header(run.employee, pending, hours, resume_hint(run), link),
                **initial,
            )
            filled = None
        try:
            if filled is None:
                filled = wait_for_answer(form, timeout, key)
        except FlowPauseTimeout:
            log().warning("No approval within %g h: notices await `%s`", hours, resume_hint(run))
            return pending, None, None
        answer = approval.answer_of(filled, pending)
        approver = answer.approved_by
        try:
            now_registry = load_registry(
                run.registry.path
            )  # new connectors: nothing read before the pause is reused
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
            recorded = run.ledger.state(f"{run.employee['id']}:change_successor:{chosen['id']}")
            if recorded is None or recorded.status != "done":  # else a resumed run replaying this answer
                record_successor(run, chosen, f"in the Prefect UI by {ui_approver(answer)}")
        try:
            employee, clients = current_data(now_registry, run.employee["id"], chosen)
        except (ConnectorError, ConfigurationError, schemas.SchemaError) as exc:
            log().warning("HR or CRM unreadable at approval (%s): notices await `%s`", exc, resume_hint(run))
            return pending, None, None
        if (refused := refused_at_approval(run, employee)) is not None:
            return pending, answer, refused
        run.employee = employee
        current = [
            a
            for a in notices.notice_actions(employee, run.registry, clients, datetime.now(UTC))
            if not finished(run, a) and a.outcome != "failed"
        ]
        if renamed:
            note = (
                f"**The drafts below now introduce {approval.md(run.employee['successor']['name'])}**: "
                "approve them, or answer again.\n\n"
            )
            pending = current
            continue
        if changed := approval.changes(pending, current):
            note = CHANGED_WHILE_OPEN.format(approval.md("; ".join(changed)))
            pending = current
            continue
        return current, answer, None


CHANGED_WHILE_OPEN = (
    "**The drafts changed while this form was open** (the HR record or the CRM changed: {}): "
    "nothing was placed; here they are again.\n\n"
)


def form_key(asked: int, pending: list[Action]) -> str:
    """The pause key of one version of the form: its number and what its drafts say.

    A suspended run starts again from the top when answered, and renders the drafts again from the HR
    record and the CRM as they are then: Prefect returns a stored answer only for the same key, so an
    answer is applied only to the very drafts (keys and fingerprints, in the form's order) it was given for.
    """
    shown = json.dumps([[a.key, approval.fingerprint(a)] for a in pending])
    return f"relevo-approval-{asked}-{hashlib.sha256(shown.encode()).hexdigest()[:16]}"


def fired_pause_keys() -> set[str]:
    """The pause keys this flow run has already used (as read when this attempt started)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return set()
    return set(context.flow_run.empirical_policy.pause_keys or ())


def wait_for_answer(form: Any, timeout: int, key: str) -> Any:
    """The form's answer. A deployment run is suspended: its process exits and holds no worker slot; when
    the form is answered the worker runs the flow again from the start, the ledger skips what is done, and
    each form already answered returns its stored answer at once (Prefect finds its `key` used).
    Unanswered within `timeout`, Prefect's server fails the suspended run ("paused and never resumed"):
    no code of ours runs then, so `hold_for_form` wrote the notices as awaiting approval before.

    Without a deployment (a flow called in a script or a test) nothing could start the run again, so it
    pauses in its process as before (a 1 s poll: a redrawn form is back within about 2 s, not 10), and
    records the notices as awaiting approval itself when the pause times out.
    """
    if deployment.id is not None:
        return suspend_flow_run(wait_for_input=form, timeout=timeout, key=key)
    return pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=1, key=key)


def hold_for_form(run: Run, pending: list[Action], timeout: int) -> None:
    """Before a run suspends: the notices in the ledger as awaiting approval, each with the fingerprint of
    the version in the form, so `relevo tasks` lists them and, once the form has timed out, `relevo approve`
    places exactly that version (a changed draft is rendered again for review, as after a paused run).
    A row already saying so for this version is not written again."""
    until = (datetime.now(UTC) + timedelta(seconds=timeout)).strftime("%Y-%m-%d %H:%M UTC")
    from prefect.settings import PREFECT_UI_URL

    where = f"{(PREFECT_UI_URL.value() or '').rstrip('/')}/runs/flow-run/{flow_run.id}"
    for action in pending:
        state = run.ledger.state(action.key)
        if (
            state is not None
            and state.status == "awaiting_approval"
            and state.fingerprint == approval.fingerprint(action)
            and where in state.detail
        ):
            continue
        run.record(
            action,
            "awaiting_approval",
            f"awaiting approval in the form of Prefect run {where} until {until} (nothing placed yet); "
            f"unanswered by then: `{resume_hint(run)}` | {action.description}",
        )


def current_data(
    registry: Registry, employee_id: str, chosen: dict[str, Any] | None
) -> tuple[dict[str, Any], list[Any]]:
    """The HR record and the leaver's clients as they are now, with the successor named at approval if any."""
    employee = schemas.check(
        "employee", registry.hr().employee(employee_id), f"HR record of employee {employee_id}"
    )
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
    was = (
        f"{before.get('name')} <{before.get('email')}>"
        if before.get("email")
        else "none (an interim contact)"
    )
    action = Action(
        key=f"{run.employee['id']}:change_successor:{successor['id']}",
        action="change_successor",
        target=f"successor: {successor['name']} <{successor['email']}> (HR {successor['id']})",
        phase="record",
        description="",
    )
    row = run.record(action, "done", f"named {how}; an active employee in the HR system; was {was}")
    # The "no successor in the HR record" task is answered by this choice: closed, saying by whom.
    check = f"{run.employee['id']}:check:successor"
    if (state := run.ledger.state(check)) is not None and state.status == "manual":
        run.record(
            Action(
                key=check,
                action="check_record",
                target="HR record: successor",
                phase="record",
                description="",
            ),
            "done",
            f"successor {successor['name']} (HR {successor['id']}) named {how}; set it in the HR system too",
        )
    return row


def publish_full_text(run: Run, pending: list[Action]) -> str:
    """Every draft's full text as an artifact; returns its address in the UI for the form to link to."""
    from prefect.artifacts import create_markdown_artifact

    key = runview.artifact_key(run.employee["id"], False) + "-drafts"
    created = create_markdown_artifact(
        markdown=approval.full_text(run.employee, pending),
        key=key,
        description="The drafts awaiting approval, in full",
    )
    return approval.artifact_address(created)


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
