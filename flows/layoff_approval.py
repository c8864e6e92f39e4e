"""A layoff's one approval form: every leaver's drafts in one list, answered once in the Prefect UI.

A batch run started from the UI or by the webhook dispatcher (a deployment run) records every leaver's
notices as awaiting approval, like `relevo layoff`, then suspends once with one form: one checkbox per
draft, labelled with the leaver, the recipient and the language, and the approver's name (required).
Without it an operator would open one `relevo approve ID` per leaver. Suspended, the run holds no
process or worker slot while the form waits (a paused run kept ~134 MB for up to the timeout); once
answered, the worker starts the run again from the top, and `resumed` sends it straight to the answer:
nothing is listed or revoked again, the drafts are rendered again from the HR records and the CRM.

The answer is applied per leaver exactly as `relevo approve ID` applies it (`approve_notices`): the HR
record and the CRM are read again; a leaver whose termination was withdrawn gets nothing placed; drafts
that changed since they were shown are not placed but rendered again for review; each leaver's HR note
says what was approved and by whom. A successor is chosen per leaver (`relevo approve ID --successor`),
so the batch form has no successor field. Unanswered within the policy's timeout, nothing is placed and
every leaver's notices wait for `relevo approve`.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from prefect.exceptions import FlowPauseTimeout, PrefectHTTPStatusError
from prefect.input import RunInput
from prefect.runtime import deployment
from prefect.states import State
from pydantic import Field, create_model

from relevo.engine import approval
from relevo.engine.approving import fired_pause_keys, hold_for_form, prefect_sender, wait_for_answer
from relevo.engine.execute import Run
from relevo.engine.steps import log
from relevo.rules.plan import Action

ARTIFACT_KEY = "layoff-drafts"
FORM_KEY = "relevo-batch-approval-"
ORDER = "-order"  # the stored list of [employee id, action key, is a draft] in the form's order


def form_key(waiting: dict[str, list[Action]]) -> str:
    """The suspension key of the batch form: the drafts' keys in the form's order (its fields are numbered).

    Beside it, under the key + ORDER, the run stores which leaver and draft each numbered field stands
    for: the resumed run reads the answer with that, whatever the HR records or the CRM say by then.
    """
    keys = json.dumps([[i, [a.key for a in actions]] for i, actions in waiting.items()])
    return FORM_KEY + hashlib.sha256(keys.encode()).hexdigest()[:16]


def resumed() -> bool:
    """True in a batch deployment run started again after its form was answered (or it is replaying one)."""
    return deployment.id is not None and any(k.startswith(FORM_KEY) for k in fired_pause_keys())


def answer_model(drafts: int) -> type[RunInput]:
    """The batch form's fields without their labels: enough to read its stored answer after the resume."""
    fields: dict[str, Any] = {"approved_by": (str, Field(..., min_length=1))}
    for number in range(1, drafts + 1):
        fields[approval.draft_field(number)] = (bool, Field(True))
    fields["approve"] = (bool, Field(True))
    fields["reject"] = (list[str], Field(default_factory=list))
    return create_model("ApprovalForm", __base__=RunInput, **fields)


def stored_answer() -> tuple[approval.Approval, dict[str, list[str]]] | None:
    """In a resumed batch run: the form's answer, and the action keys it was about per leaver (as shown).

    Read with the order stored before suspending, so a leaver withdrawn or a client added meanwhile does
    not make the answer unreadable: `apply` re-checks each leaver. None when nothing was stored (a run
    suspended by an older relevo: its notices wait for `relevo approve`)."""
    from prefect import suspend_flow_run
    from prefect.input.actions import read_flow_run_input
    from prefect.input.run_input import keyset_from_paused_state
    from prefect.states import Suspended

    key = min(k for k in fired_pause_keys() if k.startswith(FORM_KEY))
    order: list[list[Any]] | None = read_flow_run_input(key + ORDER)  # type: ignore[assignment]  # sync caller
    answered = keyset_from_paused_state(Suspended(pause_key=key))[
        "response"
    ]  # where Prefect keeps the answer
    if read_flow_run_input(answered) is None:  # fired but never answered (it timed out)
        log().warning("The form was not answered in time: each leaver's notices await `relevo approve`")
        return None
    if not order:
        log().warning(
            "The answered form's drafts are not on record: each leaver's notices await `relevo approve`"
        )
        return None
    drafts = [action_key for _, action_key, is_draft in order if is_draft]
    filled: Any = suspend_flow_run(
        wait_for_input=answer_model(len(drafts)), timeout=60, key=key
    )  # stored: at once
    unticked = [k for n, k in enumerate(drafts, 1) if getattr(filled, approval.draft_field(n), True) is False]
    answer = approval.Approval(
        approve=filled.approve, reject=list(filled.reject) + unticked, approved_by=filled.approved_by
    )
    if (metadata := getattr(filled, "_metadata", None)) is not None:
        answer._metadata = metadata  # the audit reads the answer's sender from there
    shown: dict[str, list[str]] = {}
    for employee_id, action_key, _ in order:
        shown.setdefault(employee_id, []).append(action_key)
    return answer, shown


def what(runs: dict[str, Run]) -> str:
    """What the batch is, in the form's words: a layoff someone started, or terminations HR sent together."""
    return "terminations HR sent together" if any(r.event_key for r in runs.values()) else "layoff"


def waiting_drafts(runs: dict[str, Run], drafted: dict[str, list[Action]]) -> dict[str, list[Action]]:
    """Each leaver's drafts and CRM hand-over that the ledger holds as awaiting approval, as the batch rendered
    them (`drafted`: same HR record, clients and moment), in the batch's order."""
    waiting: dict[str, list[Action]] = {}
    for employee_id, run in runs.items():
        if employee_id not in drafted or run.withdrawn():
            continue
        states = run.ledger.states(employee_id)
        actions = [
            a
            for a in drafted[employee_id]
            if (state := states.get(a.key)) is not None and state.status == "awaiting_approval"
        ]
        if any(a.draft is not None for a in actions):
            waiting[employee_id] = actions
    return waiting


def form_header(runs: dict[str, Run], waiting: dict[str, list[Action]], hours: float, link: str) -> str:
    """The form's description: how many drafts for whom, where their full text is, what happens unanswered."""
    drafts = sum(1 for actions in waiting.values() for a in actions if a.draft is not None)
    lines = [
        f"## Notices of the {what(runs)}: {drafts} draft(s) for {len(waiting)} leaver(s)",
        "",
        "Each approved draft is placed in a mailbox for a person to review and send (relevo never sends); "
        "untick a draft to reject it. Approved hand-overs change the clients' owner in the CRM.",
        "",
        f"**{approval.full_text_link(link)}**",
        "",
    ]
    for employee_id, actions in waiting.items():
        employee = runs[employee_id].employee
        count = sum(1 for a in actions if a.draft is not None)
        lines.append(
            f"- {approval.md(employee['name'])} ({approval.md(employee_id)}): {count} draft(s)"
            + (
                ""
                if employee.get("successor")
                else "; HR names no successor: the manager or the "
                "company contact is introduced (another one: `relevo approve ID --successor`)"
            )
        )
    lines += [
        "",
        f"Unanswered after {hours:g} h: nothing is placed; each leaver's notices wait for "
        "`relevo approve ID`.",
    ]
    return "\n".join(lines)


def publish_full_text(runs: dict[str, Run], waiting: dict[str, list[Action]]) -> str:
    """Every leaver's drafts in full, as one artifact; its address in the UI, for the form to link to."""
    from prefect.artifacts import create_markdown_artifact

    text = "\n\n".join(approval.full_text(runs[i].employee, actions) for i, actions in waiting.items())
    created = create_markdown_artifact(
        markdown=text, key=ARTIFACT_KEY, description="The layoff's drafts awaiting approval"
    )
    return approval.artifact_address(created)


def ask(runs: dict[str, Run], waiting: dict[str, list[Action]], hours: float) -> approval.Approval | None:
    """Suspend the batch run once with the form for every waiting draft (outside a deployment: pause it);
    the answer, or None if none came.

    Before suspending, each leaver's notices are recorded as awaiting approval in this run's form (as a
    single run's `hold_for_form`): `relevo tasks` lists them, `relevo approve` leaves them to the form, and
    if nobody answers in time (Prefect then fails the suspended run, no code of ours runs) the ledger
    already says how to go on."""
    actions = [a for group in waiting.values() for a in group]
    leavers = {
        a.key: runs[employee_id].employee["name"] for employee_id, group in waiting.items() for a in group
    }
    key, timeout = form_key(waiting), max(1, math.ceil(hours * 3600))
    replaying = deployment.id is not None and key in fired_pause_keys()
    link = "" if replaying else publish_full_text(runs, waiting)
    if deployment.id is not None and not replaying:
        from prefect.input.actions import create_flow_run_input

        order = [[i, a.key, a.draft is not None] for i, group in waiting.items() for a in group]
        try:
            create_flow_run_input(key + ORDER, order)
        except PrefectHTTPStatusError as exc:  # 409: a retried run; the same key holds the same order
            if exc.response.status_code != 409:
                raise
        for employee_id, group in waiting.items():
            hold_for_form(runs[employee_id], group, timeout)
    intro = (
        f"**{sum(1 for a in actions if a.draft is not None)} draft(s) for {len(waiting)} leaver(s)** of this "
        f"{what(runs)}. {approval.full_text_link(link)}. "
    )
    form = approval.form_model(actions, intro, leavers).with_initial_data(
        description=form_header(runs, waiting, hours, link)
    )
    try:
        filled = wait_for_answer(form, timeout, key)
    except FlowPauseTimeout:
        log().warning("No approval within %g h: each leaver's notices await `relevo approve ID`", hours)
        return None
    return approval.answer_of(filled, actions)


def apply(
    answer: approval.Approval, runs: dict[str, Run], shown: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """The answer applied per leaver as `relevo approve ID` would; what each leaver's approval recorded.
    `shown`: each leaver's action keys as the form showed them (all rejected when the answer rejects all)."""
    from relevo.offboarding import approve_notices

    actor = f"the layoff's approval form in the Prefect UI; Prefect identity: {prefect_sender(answer) or 'none recorded'}"
    rows: list[dict[str, Any]] = []
    for employee_id, keys in shown.items():
        run = runs[employee_id]
        reject = list(keys) if not answer.approve else list(answer.reject)
        result = approve_notices.fn(
            employee_id,
            registry_path=str(run.registry.path),
            reject=reject,
            approved_by=answer.approved_by,
            actor=actor,
            via="the layoff's approval form",
        )
        if isinstance(result, State):  # refused (no termination any more) or a one-line failure
            log().warning("Employee %s: nothing placed (%s)", employee_id, result.message)
            continue
        if result.get("changed"):
            log().warning(
                "Employee %s: %d draft(s) changed since they were shown; rendered again for "
                "`relevo approve %s`",
                employee_id,
                result["changed"],
                employee_id,
            )
        rows += result["rows"]
    return rows
