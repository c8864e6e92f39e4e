"""Client transition notices: who writes to whom, in which language, saying what.

Rendering only: the words live in `templates/` (one file per kind and language),
the rules about who is introduced and when restrictions apply live here. The
reason for leaving is never passed to a template, so no template can leak it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from connectors.clients import Client, notice_language
from connectors.drafts import Draft
from connectors.grants import Person
from flows.plan import CRM, NOTICE, Action
from flows.registry import Registry

TEMPLATES = Path(__file__).parent / "templates"
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), None)


@cache
def environment() -> Environment:
    # Text parts are not escaped (they are plain text); the HTML part is autoescaped.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


def languages(kind: str) -> set[str]:
    return {p.name.split(".")[1] for p in TEMPLATES.glob(f"{kind}.*.txt.j2")}


def pick_language(wanted: str, kind: str, fallback: str) -> str:
    available = languages(kind)
    for candidate in (wanted, fallback, "en"):
        if candidate in available:
            return candidate
    return sorted(available)[0]


def clean(value: str) -> str:
    """Text from HR or CRM data as it may appear in a message: no control characters, no bidi overrides.

    Right-to-left names are kept; only the invisible direction overrides that can disguise text are removed.
    """
    value = value.translate(BIDI_CONTROLS)
    return "".join(ch for ch in value if ch in "\n\t" or ord(ch) >= 32).strip()


def one_line(value: str) -> str:
    return " ".join(clean(value).split())


def render(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) for one message; the first template line is the subject."""
    text = environment().get_template(f"{kind}.{language}.txt.j2").render(**context)
    subject, _, body = text.partition("\n")
    body = body.strip() + "\n"
    paragraphs = [block.split("\n") for block in body.strip().split("\n\n")]
    html = environment().get_template("notice.html.j2").render(
        language=language, subject=subject.strip(), paragraphs=paragraphs
    )
    return one_line(subject), body, html


@dataclass(frozen=True)
class Introduced:
    """The person a client is introduced to, and whether they are only interim."""

    name: str
    email: str
    phone: str | None
    job_title: str | None
    is_interim: bool


def introduced(employee: dict[str, Any], registry: Registry) -> Introduced:
    successor = employee.get("successor")
    if successor and successor.get("email"):
        return Introduced(one_line(successor["name"]), successor["email"], successor.get("phone"),
                          successor.get("job_title"), is_interim=False)
    manager = employee.get("manager")
    if manager and manager.get("email"):
        return Introduced(one_line(manager["name"]), manager["email"], manager.get("phone"),
                          manager.get("job_title"), is_interim=True)
    contact = registry.contact
    return Introduced(contact.name, contact.email, registry.company["contact"].get("phone"), None, is_interim=True)


def internal_recipient(employee: dict[str, Any], registry: Registry) -> Person:
    manager = employee.get("manager")
    if manager and manager.get("email"):
        return Person(one_line(manager["name"]), manager["email"], manager.get("id"))
    return registry.contact


def still_here(employee: dict[str, Any], today: date) -> bool:
    """Mention the last day (and that the leaver hands over) only for a future last day, no restriction.

    A dismissal never mentions it: access is already gone and nothing must suggest a reason.
    """
    termination = employee.get("termination") or {}
    restrictions = employee["restrictions"]
    if termination.get("type") == "involuntary" or not termination.get("date"):
        return False
    if restrictions["no_client_contact"] or restrictions["non_solicitation_until"]:
        return False
    return date.fromisoformat(termination["date"]) >= today


def has_left(employee: dict[str, Any], today: date) -> bool:
    """Say the leaver "is no longer with the company" only when it is true: a dismissal or a past last day.

    Otherwise (a resignation under a restriction, last day ahead) the notice says they are leaving, no date.
    """
    termination = employee.get("termination") or {}
    if termination.get("type") == "involuntary" or not termination.get("date"):
        return True
    return date.fromisoformat(termination["date"]) < today


def notice_actions(employee: dict[str, Any], registry: Registry, clients: list[Client], now: datetime) -> list[Action]:
    """Step 5's plan: the drafts, then the CRM reassignment they introduce."""
    return draft_actions(employee, registry, clients, now) + reassign_action(employee, clients)


def reassign_action(employee: dict[str, Any], clients: list[Client]) -> list[Action]:
    """The successor becomes the clients' owner in the CRM (after approval, with the drafts).

    Without a successor nobody is named: plan_record_checks already asks a person to set one.
    """
    successor = employee.get("successor")
    clients = [c for c in clients if c.problem is None]  # a client whose record is unusable stays with its owner
    if not clients or not successor or not successor.get("email"):
        return []
    person = Person(one_line(successor["name"]), successor["email"], successor.get("id"))
    return [Action(
        key=f"{employee['id']}:reassign_crm:{person.email.casefold()}", action="reassign_crm",
        target=f"CRM: {len(clients)} client(s) → {person.email}", phase=CRM, clients=list(clients), person=person,
        description=f"make {person.name} the owner of {len(clients)} client(s) in the CRM once the notices are approved",
    )]


def draft_actions(employee: dict[str, Any], registry: Registry, clients: list[Client], now: datetime) -> list[Action]:
    """One draft per client contact, or one internal hand-over note per client when contact is restricted."""
    if not registry.policy.get("draft_notices", True):
        return []
    unusable = [bad_record(employee, client) for client in clients if client.problem is not None]
    clients = [client for client in clients if client.problem is None]
    if employee["restrictions"]["no_client_contact"]:
        return unusable + [handover_note(employee, registry, client) for client in clients]
    contact = introduced(employee, registry)
    signer = contact
    today = now.astimezone(registry.timezone).date()
    out = unusable
    for client in clients:
        for person in client.contacts:
            wanted = notice_language(person, client, registry.default_language)
            language = pick_language(wanted, "client_notice", registry.default_language)
            last_day = (employee.get("termination") or {}).get("date")
            # A job title is in the company's language: show it only to clients who read that language.
            shown = contact if language == registry.default_language else replace(contact, job_title=None)
            context = {
                "company": one_line(registry.company["name"]),
                "recipient_name": one_line(person.name),
                "leaver_name": one_line(employee["name"]),
                "contact": shown,
                "signer": signer,
                "still_here": still_here(employee, today),
                "has_left": has_left(employee, today),
                "last_day": format_date(date.fromisoformat(last_day), format="long", locale=language) if last_day else "",
                "client_company": one_line(client.company),
            }
            subject, text, html = render("client_notice", language, context)
            key = f"{employee['id']}:notice:{client.id}:{person.email.casefold()}"
            out.append(Action(
                key=key, action="draft_notice", target=f"{one_line(client.company)} <{person.email}>",
                phase=NOTICE, clients=[client],
                description=f"draft in {language} introducing {contact.name}" + (" (interim)" if contact.is_interim else ""),
                draft=Draft(key=key, mailbox=signer.email, sender_name=signer.name, to_name=one_line(person.name),
                            to_email=person.email, subject=subject, text=text, html=html, language=language,
                            group=client.id),
            ))
    return out


def bad_record(employee: dict[str, Any], client: Client) -> Action:
    """A client whose CRM record cannot be used (client.problem): no notice, no hand-over, one failed action.

    The leaver's other clients go on; the next run, once the record is fixed, drafts this client's notices.
    """
    return Action(
        key=f"{employee['id']}:notice:{client.id}:record", action="draft_notice",
        target=f"{one_line(client.company)} (CRM record)", phase=NOTICE, clients=[client], outcome="failed",
        description=f"no notice drafted and the client not handed over: {client.problem}",
    )


def handover_note(employee: dict[str, Any], registry: Registry, client: Client) -> Action:
    recipient = internal_recipient(employee, registry)
    language = pick_language(registry.default_language, "handover_note", "en")
    context = {
        "company": one_line(registry.company["name"]),
        "recipient_name": recipient.name,
        "leaver_name": one_line(employee["name"]),
        "client_company": one_line(client.company),
        "client_contacts": [{"name": one_line(c.name), "email": c.email} for c in client.contacts],
    }
    subject, text, html = render("handover_note", language, context)
    key = f"{employee['id']}:handover:{client.id}"
    return Action(
        key=key, action="draft_notice", target=f"internal: {one_line(client.company)} → {recipient.email}",
        phase=NOTICE, clients=[client],
        description="client contact restricted by the exit agreement: internal hand-over note to the manager instead",
        draft=Draft(key=key, mailbox=recipient.email, sender_name="relevo", to_name=recipient.name,
                    to_email=recipient.email, subject=subject, text=text, html=html, language=language,
                    group=client.id),
    )
