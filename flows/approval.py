"""Approval of client notices: the form a person answers, and what an answer means.

relevo drafts, a person approves. The form (a Prefect RunInput, shown in the UI's Resume
dialog) lists every draft; the answer approves all, rejects some (by key or recipient
e-mail), or names another successor (the drafts are then rendered again and asked again).
Pure functions, so the rules are tested without a Prefect server.
"""
from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from pydantic import Field
from prefect.input import RunInput

from flows.plan import Action

MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")


class Approval(RunInput):
    """The operator's answer; every field has a safe default (approve as drafted)."""

    approve: bool = Field(True, description="Untick to reject every draft: nothing is placed, the CRM is not changed.")
    reject: list[str] = Field(default_factory=list,
                              description="Draft keys or recipient e-mails to leave out (the others are placed).")
    approved_by: str = Field("", description="Your name, recorded in the audit log with what is placed.")
    successor_name: str = Field("", description="To introduce someone else instead: their name…")
    successor_email: str = Field("", pattern=r"^$|^[^@\s]+@[^@\s]+$",
                                 description="…and work e-mail. The drafts are rendered again and shown for approval.")


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
        d = action.draft
        lines.append(f"| {number} | {md(d.to_name)} ({md(d.to_email)}) | {d.language} | {md(d.subject)} | {md(d.key)} |")
    for action in actions:
        if action.action == "reassign_crm":
            lines += ["", f"On approval the CRM owner of these clients becomes **{md(action.person.name)}** "
                          f"({md(action.person.email)}); clients whose drafts are all rejected keep their owner."]
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
    return ["", f"Non-solicitation clause until **{md(until)}**: send these notices as soon as they are approved"
                f"{before}, so that clients hear of the change from the company before the leaver may approach them."]


def matches(action: Action, rejected: list[str]) -> bool:
    wanted = {r.strip().casefold() for r in rejected if r.strip()}
    return action.key.casefold() in wanted or (action.draft is not None and action.draft.to_email.casefold() in wanted)


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
            action.description += (f" ({len(rejected_clients)} client(s) with every draft rejected keep their owner)"
                                   if rejected_clients else "")
            kept.append(action)
        else:
            dropped.append(action)
    return kept, dropped


def with_successor(employee: dict[str, Any], name: str, email: str) -> dict[str, Any]:
    """The employee record with the successor the operator named (HR id unknown: the CRM finds them by e-mail)."""
    successor = {"id": None, "name": name.strip() or email, "email": email.strip(), "phone": None, "job_title": None}
    return {**employee, "successor": successor}
