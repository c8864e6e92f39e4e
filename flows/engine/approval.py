"""Approval of client notices: the form a person answers, and what an answer means.

relevo drafts, a person approves. The form (a Prefect RunInput, shown in the UI's Resume
dialog) lists every draft; the answer approves all, rejects some (by key or recipient
e-mail), or names another successor by HR id (the drafts are then rendered again and asked
again). An approval is about a version: every draft and CRM hand-over has a fingerprint of
what it says, kept in the ledger, so a version that changed after a person saw it is shown
again instead of placed. Pure functions, so the rules are tested without a Prefect server.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import date
from typing import Any

from prefect.input import RunInput
from pydantic import Field

from relevo import schemas
from relevo.connectors.errors import ConnectorError, NotFound
from relevo.rules.plan import Action

SUCCESSOR_ID = r"^$|^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SUCCESSOR_HELP = (
    "To introduce someone else instead: their employee id in the HR system (an active employee). "
    "The drafts are rendered again and shown for approval."
)
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")


class Approval(RunInput):
    """The operator's answer; every field has a safe default (approve as drafted)."""

    approve: bool = Field(
        True, description="Untick to reject every draft: nothing is placed, the CRM is not changed."
    )
    reject: list[str] = Field(
        default_factory=list,
        description="Draft keys or recipient e-mails to leave out (the others are placed).",
    )
    approved_by: str = Field(
        "", max_length=200, description="Your name, recorded in the audit log with what is placed."
    )
    successor_id: str = Field("", pattern=SUCCESSOR_ID, description=SUCCESSOR_HELP)


def md(text: str) -> str:
    """Client data shown in Markdown as literal text: no HTML, no links, no table breaks."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(" ".join(text.split()), quote=False))


def listing(employee: dict[str, Any], actions: list[Action], timeout_hours: float, resume_hint: str) -> str:
    """The form's description: what will happen on approval, one row per draft."""
    drafts = [a for a in actions if a.draft is not None]
    lines = [
        f"## Client notices for {md(employee['name'])} ({md(employee['id'])})",
        "",
        f"{len(drafts)} draft(s) will be placed in a mailbox for a person to review and send; relevo never sends.",
        "",
        "| # | recipient | language | subject | key |",
        "|---|---|---|---|---|",
    ]
    for number, action in enumerate(drafts, 1):
        d = action.the_draft
        lines.append(
            f"| {number} | {md(d.to_name)} ({md(d.to_email)}) | {d.language} | {md(d.subject)} | {md(d.key)} |"
        )
    for action in actions:
        if action.action == "reassign_crm":
            lines += [
                "",
                f"On approval the CRM owner of these clients becomes **{md(action.the_person.name)}** "
                f"({md(action.the_person.email)}); clients whose drafts are all rejected keep their owner.",
            ]
    lines += clause_note(employee, drafts)
    lines += ["", f"Unanswered after {timeout_hours:g} h: nothing is placed; resume with `{resume_hint}`."]
    return "\n".join(lines)


def clause_note(employee: dict[str, Any], drafts: list[Action]) -> list[str]:
    """For a non-solicitation clause: its end and when the notices should go out (clients hear it from us first)."""
    until = (employee.get("restrictions") or {}).get("non_solicitation_until")
    if not until or not drafts:
        return []
    last = (employee.get("termination") or {}).get("date")
    before = f", before the last day ({md(last)})" if last and last >= date.today().isoformat() else ""
    return [
        "",
        f"Non-solicitation clause until **{md(until)}**: send these notices as soon as they are approved"
        f"{before}, so that clients hear of the change from the company before the leaver may approach them.",
    ]


def matches(action: Action, rejected: list[str]) -> bool:
    wanted = {r.strip().casefold() for r in rejected if r.strip()}
    return action.key.casefold() in wanted or (
        action.draft is not None and action.draft.to_email.casefold() in wanted
    )


def decide(actions: list[Action], approve: bool, rejected: list[str]) -> tuple[list[Action], list[Action]]:
    """(to do, rejected). The CRM reassignment keeps only clients with at least one approved draft."""
    if not approve:
        return [], list(actions)
    drafts = [a for a in actions if a.draft is not None]
    kept = [a for a in drafts if not matches(a, rejected)]
    dropped = [a for a in drafts if matches(a, rejected)]
    rejected_clients = {c.id for a in dropped for c in a.clients} - {c.id for a in kept for c in a.clients}
    for action in actions:
        if action.action != "reassign_crm":
            continue
        clients = [c for c in action.clients if c.id not in rejected_clients]
        if clients:
            action.clients = clients
            action.description += (
                f" ({len(rejected_clients)} client(s) with every draft rejected keep their owner)"
                if rejected_clients
                else ""
            )
            kept.append(action)
        else:
            dropped.append(action)
    return kept, dropped


def with_successor(employee: dict[str, Any], successor: dict[str, Any]) -> dict[str, Any]:
    """The employee record with the successor a person named (as `resolve_successor` read it from HR)."""
    return {**employee, "successor": successor}


class SuccessorProblem(ValueError):
    """The successor named in an approval is not an active employee in the HR system; the message says why."""


def resolve_successor(hr: Any, leaver: dict[str, Any], successor_id: str) -> dict[str, Any]:
    """The successor a person named (form or command line), read from the HR system, never taken as typed.

    Anyone able to answer the form could otherwise make the drafts come from their own address and
    hand the clients over to them in the CRM: only an active employee with a work e-mail, other than
    the leaver, can be introduced. Raises SuccessorProblem naming what is wrong.
    """
    wanted = successor_id.strip()
    if not wanted:
        raise SuccessorProblem("no successor id given")
    if wanted == leaver["id"]:
        raise SuccessorProblem(f"successor {wanted} is the employee who leaves")
    try:
        record = hr.employee(wanted)
    except NotFound:
        raise SuccessorProblem(f"successor {wanted}: no such employee in the HR system") from None
    except ConnectorError as exc:
        raise SuccessorProblem(f"successor {wanted}: the HR system could not be read ({exc})") from None
    try:
        record = schemas.check("employee", record, f"HR record of successor {wanted}")
    except schemas.SchemaError as exc:
        raise SuccessorProblem(str(exc)) from None
    if record["status"] != "active" or (record["termination"] or {}).get("date"):
        raise SuccessorProblem(
            f"successor {wanted} is not an active employee in the HR system (status: {record['status']})"
        )
    if not record.get("email"):
        raise SuccessorProblem(f"successor {wanted} has no work e-mail in the HR system")
    return {
        "id": str(record["id"]),
        "name": record["name"],
        "email": record["email"],
        "phone": record.get("phone"),
        "job_title": record.get("job_title"),
    }


# What a draft says, field by field: named, so a field that differs on every rendering (a date
# stamp, say) never makes every approval look stale.
DRAFT_CONTENT = ("mailbox", "sender_name", "to_name", "to_email", "cc", "subject", "text", "html", "language")


def fingerprint(action: Action) -> str:
    """What a draft or CRM hand-over says, as a short hash: equal fingerprints, equal messages.

    Taken from the rendered draft (sender, recipient, subject, text, HTML, language) or from the
    hand-over (who takes over which clients), never from file bytes (a MIME boundary is random).
    """
    if action.draft is not None:
        material: Any = {name: getattr(action.draft, name, None) for name in DRAFT_CONTENT}
    else:
        person = action.person
        material = {
            "action": action.action,
            "person": [person.name, person.email, person.id] if person is not None else None,
            "clients": sorted(c.id for c in action.clients),
        }
    blob = json.dumps(material, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def changes(shown: list[Action], current: list[Action]) -> list[str]:
    """What differs between the version a person saw and the current one (empty: the same), one phrase each."""
    before = {a.key: fingerprint(a) for a in shown}
    now = {a.key: fingerprint(a) for a in current}
    out = [f"{key} is new" for key in now if key not in before]
    out += [f"{key} is no longer planned" for key in before if key not in now]
    out += [f"{key} says something else" for key in now if key in before and before[key] != now[key]]
    return out


# --- the form in the Prefect UI: one checkbox per draft, the approver's name required ---


def kind_of(actions: list[Action]) -> str:
    """What the drafts are, for the form's header: client notices, internal hand-over notes, or both."""
    handovers = sum(1 for a in actions if a.draft is not None and ":handover:" in a.key)
    notices = sum(1 for a in actions if a.draft is not None and ":handover:" not in a.key)
    if handovers and not notices:
        return (
            "Internal hand-over notes (the exit agreement restricts client contact: nothing goes to clients)"
        )
    if notices and not handovers:
        return "Client notices"
    return f"{notices} client notice(s) and {handovers} internal hand-over note(s)"


def form_header(
    employee: dict[str, Any],
    actions: list[Action],
    timeout_hours: float,
    resume_hint: str,
    full_text_url: str,
) -> str:
    """The form's description: what kind of drafts, who is introduced, where to read every full text."""
    drafts = [a for a in actions if a.draft is not None]
    lines = [f"## {kind_of(actions)} for {md(employee['name'])} ({md(employee['id'])})", ""]
    if employee.get("successor") is None:
        manager = employee.get("manager") or {}
        who = f"the manager, **{md(manager['name'])}**," if manager.get("name") else "the company contact"
        lines += [
            f"HR names no successor: the drafts introduce {who} as interim contact. To introduce "
            "someone else, fill in the successor below: the drafts are rendered again.",
            "",
        ]
    lines += [
        f"{len(drafts)} draft(s); each approved one is placed in a mailbox for a person to review and send "
        "(relevo never sends). Untick a draft to reject it.",
        "",
        f"**{full_text_link(full_text_url)}**",
        "",
    ]
    lines += [
        f"{n}. {md(a.the_draft.to_name)} ({md(a.the_draft.to_email)}) · {a.the_draft.language} · {md(a.the_draft.subject)}"
        for n, a in enumerate(drafts, 1)
    ] + [""]
    for action in actions:
        if action.action == "reassign_crm":
            lines += [
                f"On approval the CRM owner of these clients becomes **{md(action.the_person.name)}** "
                f"({md(action.the_person.email)}); clients whose drafts are all rejected keep their owner.",
                "",
            ]
    lines += [f"Unanswered after {timeout_hours:g} h: nothing is placed; resume with `{resume_hint}`."]
    return "\n".join(lines)


def draft_field(number: int) -> str:
    return f"draft_{number}"


def form_intro(employee: dict[str, Any], actions: list[Action], full_text_url: str) -> str:
    """What the drafts are, whom they introduce and where their full text is, in the approver field's
    description: Prefect 3.9's Resume dialog shows field descriptions but not the form's description."""
    text = f"**{kind_of(actions)}** for {md(employee['name'])}. "
    if employee.get("successor") is None:
        manager = (employee.get("manager") or {}).get("name")
        text += (
            f"HR names no successor: the manager, **{md(manager)}**, is introduced as interim contact. "
            if manager
            else "HR names no successor: the company contact is introduced. "
        )
    return text + full_text_link(full_text_url) + ". "


def artifact_address(artifact_id: Any) -> str:
    """The UI's page of this one artifact version. A form links here, not to `/artifacts/key/<key>`, which shows
    the key's newest version: with two layoffs (or two runs of one employee) waiting, the older form's link
    would open the other one's drafts."""
    from prefect.settings import PREFECT_UI_URL

    return f"{(PREFECT_UI_URL.value() or '').rstrip('/')}/artifacts/artifact/{artifact_id}"


def full_text_link(url: str) -> str:
    """A markdown link to the artifact with every draft's text. Its label is fixed text: the address as the
    label, escaped for markdown, showed its backslashes in Prefect's Resume dialog (127\\.0\\.0\\.1)."""
    return f"[Read the full text of every draft]({url})"


def form_model(
    actions: list[Action], intro: str = "", leavers: dict[str, str] | None = None
) -> type[RunInput]:
    """The approval form for these drafts: one checkbox per draft (recipient · language · subject as its
    label, ticked = approve), the approver's name (required), another successor, and the older
    fields `approve` / `reject` that `relevo approve` and scripts use.

    `leavers` (a layoff's one form for the whole batch: draft key -> the leaver's name) puts the leaver
    in each draft's label and leaves out the successor field: a successor is chosen per leaver, with
    `relevo approve ID --successor`."""
    from pydantic import create_model

    drafts = [a for a in actions if a.draft is not None]
    fields: dict[str, Any] = {
        "approved_by": (
            str,
            Field(
                ...,
                min_length=1,
                title="Approved by",
                description=intro + "Your name, recorded in the audit log with what is placed.",
            ),
        )
    }
    for number, action in enumerate(drafts, 1):
        d = action.the_draft
        whose = f"{short(leavers[action.key], 60)} → " if leavers else ""
        fields[draft_field(number)] = (
            bool,
            Field(
                True,
                title=f"{number}. {whose}{short(d.to_name)} <{d.to_email}> · {d.language}",
                description=f"Subject: {short(d.subject)}",
            ),
        )
    if leavers is None:
        fields["successor_id"] = (str, Field("", pattern=SUCCESSOR_ID, description=SUCCESSOR_HELP))
    fields["approve"] = (
        bool,
        Field(True, description="Untick to reject every draft: nothing is placed, the CRM is not changed."),
    )
    fields["reject"] = (
        list[str],
        Field(
            default_factory=list, description="(Optional) more draft keys or recipient e-mails to leave out."
        ),
    )
    return create_model("ApprovalForm", __base__=RunInput, **fields)


def answer_of(form: Any, actions: list[Action]) -> Approval:
    """The form's answer as an `Approval`: each unticked draft joins the rejected keys."""
    drafts = [a for a in actions if a.draft is not None]
    unticked = [a.key for n, a in enumerate(drafts, 1) if getattr(form, draft_field(n), True) is False]
    answer = Approval(
        approve=form.approve,
        reject=list(form.reject) + unticked,
        approved_by=form.approved_by,
        successor_id=getattr(form, "successor_id", ""),
    )
    if (metadata := getattr(form, "_metadata", None)) is not None:
        answer._metadata = metadata  # where Prefect stored the answer: the audit reads its sender from there
    return answer


def short(text: Any, limit: int = 120) -> str:
    """HR/CRM text in a form label: one line, bounded."""
    cleaned = " ".join(str(text or "").split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def full_text(employee: dict[str, Any], actions: list[Action]) -> str:
    """Every draft's full text, as the artifact the form links to."""
    lines = [f"# {kind_of(actions)} for {md(employee['name'])} ({md(employee['id'])}): full text", ""]
    for number, action in enumerate([a for a in actions if a.draft is not None], 1):
        d = action.the_draft
        lines += [
            f"## {number}. {md(d.to_name)} ({md(d.to_email)}) · {d.language}",
            "",
            f"**Subject:** {md(d.subject)}",
            "",
            "```text",
            d.text.replace("```", "ˋˋˋ"),
            "```",
            "",
        ]
    return "\n".join(lines)
