"""Client transition notices: who writes to whom, in which language, saying what.

Rendering only: the words live in `templates/` (one file per kind and language, a company's
own folder first), the rules about who is introduced, from when, and under which restriction
live here, and the language rules (locale, greeting, names, typography) in `wording.py`. The
reason for leaving and the termination type are never passed to a template, so no template
can leak or hint at them.

Kept as one module: every rule about who hears what, from when and under which restriction, in one place to
review before a notice goes to a client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from relevo.config.registry import Registry
from relevo.log import warn
from relevo.model import Client, Draft, Person, action_key
from relevo.rules import wording
from relevo.rules.plan import CRM, NOTICE, Action

TEMPLATES = Path(__file__).parent / "templates"
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), None)
# Removed from data: the bidi overrides and every C0 control but tab and line feed (one translate call).
UNWANTED = {**BIDI_CONTROLS, **{c: None for c in range(32) if chr(c) not in "\n\t"}}


@cache
def environment(override: Path | None = None) -> Environment:
    """Templates from the company's folder first (registry `notices.templates`), then relevo's own.

    Text parts are not escaped (they are plain text); the HTML part is autoescaped.
    """
    folders = [override, TEMPLATES] if override else [TEMPLATES]
    env = Environment(
        loader=FileSystemLoader([str(f) for f in folders]),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        auto_reload=False,  # templates do not change under a running process: no stat() per notice
    )
    env.globals.update(of=wording.of, ca_el=wording.catalan_article)
    env.filters["sentence"] = lambda text: text[:1].upper() + text[1:]  # unlike `capitalize`, keeps "April"
    return env


@cache
def languages(kind: str, override: Path | None = None) -> frozenset[str]:
    """The language tags a kind of message has templates for ("es", "pt-BR", ...), the company's included."""
    folders = [override, TEMPLATES] if override else [TEMPLATES]
    return frozenset(p.name.split(".")[1] for folder in folders for p in folder.glob(f"{kind}.*.txt.j2"))


def pick_language(wanted: str, kind: str, fallback: str, override: Path | None = None) -> str:
    """A template tag for `wanted` ("pt-BR" -> "pt-BR" or else "pt"), else the fallback's, else English."""
    available = languages(kind, override)
    for candidate in (wanted, fallback, "en"):
        parsed = wording.normalise_tag(candidate)
        if not parsed:
            continue
        tag = f"{parsed[0]}-{parsed[1]}" if parsed[1] else parsed[0]
        for option in (tag, parsed[0]):
            if option in available:
                return option
    return sorted(available)[0]


def clean(value: str) -> str:
    """Text from HR or CRM data as it may appear in a message: no control characters, no bidi overrides.

    Right-to-left names are kept; only the invisible direction overrides that can disguise text are removed.
    """
    return value.translate(UNWANTED).strip()


def one_line(value: str) -> str:
    """Whitespace runs folded to one space, line breaks included; no-break spaces are kept (French typography)."""
    return re.sub(r"[^\S\u00a0\u202f]+", " ", clean(value)).strip()


def render(
    kind: str, language: str, context: dict[str, Any], override: Path | None = None
) -> tuple[str, str, str]:
    """(subject, text, html) for one message; the first template line is the subject.

    Lines are stripped of trailing spaces and blank runs folded to one, so a template can use
    conditional lines freely; French gets its non-breaking spaces before high punctuation.
    """
    env = environment(override)
    text = env.get_template(f"{kind}.{language}.txt.j2").render(language=language, **context)
    if language.split("-")[0] == "fr":
        text = wording.french_spacing(text)
    subject, _, body = text.partition("\n")
    lines = [line.rstrip() for line in body.strip().split("\n")]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
    paragraphs = [block.split("\n") for block in body.strip().split("\n\n")]
    html = env.get_template("notice.html.j2").render(
        language=language, subject=subject.strip(), paragraphs=paragraphs
    )
    return one_line(subject), body, html


@dataclass(frozen=True)
class Introduced:
    """Who a client is introduced to: the successor, else the manager (interim), else the company's team.

    name is how a letter names them ("Nuria Castells", not the HR record's "Nuria Castells Vidal").
    """

    name: str
    email: str
    phone: str | None
    job_title: str | None
    is_interim: bool
    is_team: bool = False  # the company contact: writes "we" and signs as the team
    first_name: str = ""


def person_name(person: dict[str, Any], registry: Registry) -> tuple[str, str]:
    """(name as a letter writes it, given name) for an HR person object."""
    full = one_line(person["name"])
    first, last = person.get("first_name"), person.get("last_name")
    shown = wording.short_name(
        full, one_line(first) if first else None, one_line(last) if last else None, company_custom(registry)
    )
    return shown, one_line(first) if first else full.split()[0] if full.split() else full


def company_custom(registry: Registry) -> str:
    """The naming custom of the company's own people (its language): Spanish keeps the first surname."""
    return registry.default_language.split("-")[0]


def introduced(employee: dict[str, Any], registry: Registry) -> Introduced:
    for role, interim in (("successor", False), ("manager", True)):
        person = employee.get(role)
        if person and person.get("email"):
            name, first = person_name(person, registry)
            return Introduced(
                name,
                person["email"],
                person.get("phone"),
                person.get("job_title"),
                is_interim=interim,
                first_name=first,
            )
    contact = registry.contact
    return Introduced(
        one_line(contact.name),
        contact.email,
        registry.company.contact_phone,
        None,
        is_interim=True,
        is_team=True,
        first_name=one_line(contact.name),
    )


def internal_recipient(employee: dict[str, Any], registry: Registry) -> tuple[Person, str, bool]:
    """(who gets the hand-over note, their given name, is the company's team)."""
    manager = employee.get("manager")
    if manager and manager.get("email"):
        return (
            Person(one_line(manager["name"]), manager["email"], manager.get("id")),
            person_name(manager, registry)[1],
            False,
        )
    contact = registry.contact
    return contact, one_line(contact.name), True


@dataclass(frozen=True)
class Timeline:
    """What a notice may say about dates, the same for a dismissal and a resignation (the type would hint
    at the reason): whether the last day is still ahead, whether the leaver still looks after the client
    until then, and from which day the new contact takes over (None: from now)."""

    last_day: date | None
    ahead: bool
    reachable: bool
    takes_over: date | None


def timeline(employee: dict[str, Any], today: date) -> Timeline:
    """The leaver still looks after clients only on a resignation with the last day ahead and no restriction;
    after a dismissal access is gone at once, so the new contact takes over now even if the contract runs on."""
    termination = employee.get("termination") or {}
    restrictions = employee["restrictions"]
    last = date.fromisoformat(termination["date"]) if termination.get("date") else None
    ahead = last is not None and last > today  # on the last day itself the notice is read once they have gone
    reachable = (
        ahead
        and termination.get("type") == "voluntary"
        and not restrictions["no_client_contact"]
        and not restrictions["non_solicitation_until"]
    )
    return Timeline(last, ahead, reachable, last + timedelta(days=1) if reachable and last else None)


def notice_actions(
    employee: dict[str, Any], registry: Registry, clients: list[Client], now: datetime
) -> list[Action]:
    """Step 5's plan: the drafts, then the CRM reassignment they introduce."""
    return draft_actions(employee, registry, clients, now) + reassign_action(employee, clients)


def reassign_action(employee: dict[str, Any], clients: list[Client]) -> list[Action]:
    """The successor becomes the clients' owner in the CRM (after approval, with the drafts).

    Without a successor nobody is named: plan_record_checks already asks a person to set one.
    """
    successor = employee.get("successor")
    clients = [
        c for c in clients if c.problem is None
    ]  # a client whose record is unusable stays with its owner
    if not clients or not successor or not successor.get("email"):
        return []
    person = Person(one_line(successor["name"]), successor["email"], successor.get("id"))
    return [
        Action(
            key=action_key(employee["id"], "reassign_crm", person.email.casefold()),
            action="reassign_crm",
            target=f"CRM: {len(clients)} client(s) → {person.email}",
            phase=CRM,
            clients=list(clients),
            person=person,
            description=f"make {person.name} the owner of {len(clients)} client(s) in the CRM once the notices are approved",
        )
    ]


@dataclass
class Settings:
    """The registry's `notices` section: the company's own templates, greeting style, job title translations."""

    override: Path | None = None
    style: str = "auto"
    job_titles: dict[str, dict[str, str]] = field(default_factory=dict)
    contact_names: dict[str, str] = field(default_factory=dict)  # the company contact's name per language


def settings(registry: Registry) -> Settings:
    section = registry.data.get("notices") or {}
    folder = section.get("templates")
    return Settings(
        override=registry.resolve_path(folder) if folder else None,
        style=section.get("salutation", "auto"),
        job_titles=section.get("job_titles") or {},
        contact_names=section.get("contact_names") or {},
    )


def job_title(title: str | None, language: str, config: Settings) -> str | None:
    """The title in the reader's language when the registry gives it, else as the HR record has it."""
    if not title:
        return None
    names = config.job_titles.get(title) or {}
    return one_line(names.get(language) or names.get(language.split("-")[0]) or title)


def draft_actions(
    employee: dict[str, Any], registry: Registry, clients: list[Client], now: datetime
) -> list[Action]:
    """One draft per client contact, or one internal hand-over note per client when contact is restricted."""
    if not registry.policy.draft_notices:
        return []
    unusable = [bad_record(employee, client) for client in clients if client.problem is not None]
    clients = [client for client in clients if client.problem is None]
    config = settings(registry)
    today = now.astimezone(registry.timezone).date()
    times = timeline(employee, today)
    if employee["restrictions"]["no_client_contact"]:
        return unusable + [handover_note(employee, registry, client, times, config) for client in clients]
    contact = introduced(employee, registry)
    available = languages("client_notice", config.override)
    leaver, leaver_first = person_name(employee, registry)
    company = one_line(registry.company.name)
    out = unusable
    for client in clients:
        for person in client.contacts:
            reader = wording.audience(person, client, registry.default_language, available)
            if reader.warning:
                warn(reader.warning)
            language = reader.language
            writer = contact
            if (
                contact.is_team
            ):  # the team signs with its name in the reader's language when the registry has it
                shown = config.contact_names.get(language) or config.contact_names.get(language.split("-")[0])
                writer = replace(contact, name=one_line(shown)) if shown else contact
            recipient = wording.parse_name(
                one_line(person.name),
                person.first_name and one_line(person.first_name),
                person.last_name and one_line(person.last_name),
                person.salutation,
            )
            context = {
                "company": company,
                "greeting": wording.greeting(recipient, language, config.style, str(reader.locale)),
                "recipient": recipient,
                "leaver": leaver,
                "leaver_first": leaver_first,
                "contact": writer,
                "job_title": job_title(contact.job_title, language, config),
                "ahead": times.ahead,
                "reachable": times.reachable,
                "last_day": wording.long_date(times.last_day, reader.locale) if times.last_day else "",
                "takes_over": wording.long_date(times.takes_over, reader.locale) if times.takes_over else "",
                "client_company": one_line(client.company),
                "locale": str(reader.locale),
            }
            subject, text, html = render("client_notice", language, context, config.override)
            key = action_key(employee["id"], "notice", client.id, person.email.casefold())
            description = f"draft in {language} introducing {contact.name}" + (
                " (interim)" if contact.is_interim else ""
            )
            if reader.warning:
                description += f" ({reader.warning})"
            out.append(
                Action(
                    key=key,
                    action="draft_notice",
                    target=f"{one_line(client.company)} <{person.email}>",
                    phase=NOTICE,
                    clients=[client],
                    description=description,
                    draft=Draft(
                        key=key,
                        mailbox=contact.email,
                        sender_name=writer.name,
                        to_name=one_line(person.name),
                        to_email=person.email,
                        subject=subject,
                        text=text,
                        html=html,
                        language=language,
                        group=client.id,
                    ),
                )
            )
    return out


def bad_record(employee: dict[str, Any], client: Client) -> Action:
    """A client whose CRM record cannot be used (client.problem): no notice, no hand-over, one failed action.

    The leaver's other clients go on; the next run, once the record is fixed, drafts this client's notices.
    """
    return Action(
        key=action_key(employee["id"], "notice", client.id, "record"),
        action="draft_notice",
        target=f"{one_line(client.company)} (CRM record)",
        phase=NOTICE,
        clients=[client],
        outcome="failed",
        description=f"no notice drafted and the client not handed over: {client.problem}",
    )


def handover_note(
    employee: dict[str, Any], registry: Registry, client: Client, times: Timeline, config: Settings
) -> Action:
    """The internal note that replaces client notices when the exit agreement restricts client contact:
    in the company's language, informal between colleagues, with the dates the manager needs."""
    recipient, first, team = internal_recipient(employee, registry)
    language = pick_language(registry.default_language, "handover_note", "en", config.override)
    locale = wording.company_locale(registry.default_language)
    until = employee["restrictions"]["non_solicitation_until"]
    successor = employee.get("successor")
    context = {
        "company": one_line(registry.company.name),
        "recipient_first": first,
        "team": team,
        "leaver": one_line(employee["name"]),  # between colleagues the HR record's full name identifies best
        "ahead": times.ahead,
        "last_day": wording.long_date(times.last_day, locale) if times.last_day else "",
        "non_solicitation_until": wording.long_date(date.fromisoformat(until), locale) if until else "",
        "successor": (
            {"name": one_line(successor["name"]), "email": successor["email"]}
            if successor and successor.get("email")
            else None
        ),
        "client_company": one_line(client.company),
        "client_contacts": [{"name": one_line(c.name), "email": c.email} for c in client.contacts],
    }
    subject, text, html = render("handover_note", language, context, config.override)
    key = action_key(employee["id"], "handover", client.id)
    return Action(
        key=key,
        action="draft_notice",
        target=f"internal: {one_line(client.company)} → {recipient.email}",
        phase=NOTICE,
        clients=[client],
        description="client contact restricted by the exit agreement: internal hand-over note to the manager instead",
        draft=Draft(
            key=key,
            mailbox=recipient.email,
            sender_name=recipient.name,
            to_name=recipient.name,
            to_email=recipient.email,
            subject=subject,
            text=text,
            html=html,
            language=language,
            group=client.id,
        ),
    )


# The HR note lists access first, then what clients and the CRM were told, then the record.
NOTE_ORDER = [
    "add_admin",
    "schedule_revocation",
    "revoke_role",
    "restore_role",
    "rotate_credentials",
    "manual_task",
    "draft_notice",
    "reassign_crm",
    "check_record",
    "personal_not_touched",
]


def hr_note(
    employee: dict[str, Any], outcomes: list[dict[str, str]], registry: Registry, markdown: bool = False
) -> tuple[str, str]:
    """(title, text) of the report written back to the HR record, in the company's language.

    Every action relevo holds for the employee, in a fixed order (a rerun writes the same text), with
    outcomes a person reads ("pendiente de aprobación", not `awaiting_approval`). The reason is never
    passed to the template. HR and CRM data in it (names, targets) is one line each; in a Markdown note
    it is also escaped, so a client named `[Pay here](https://…)` is text, not a link.
    """
    from relevo.engine.approval import md

    text_of = md if markdown else one_line

    def order(row: dict[str, str]) -> tuple[int, str, str]:
        rank = NOTE_ORDER.index(row["action"]) if row["action"] in NOTE_ORDER else len(NOTE_ORDER)
        return rank, row["target"], row["outcome"]

    config = settings(registry)
    language = pick_language(registry.default_language, "hr_note", "en", config.override)
    context = {
        "company": one_line(registry.company.name),
        "employee": text_of(employee["name"]),
        "employee_id": text_of(employee["id"]),
        "rows": [
            {"action": r["action"], "target": text_of(r["target"]), "outcome": r["outcome"]}
            for r in sorted(outcomes, key=order)
        ],
    }
    text = (
        environment(config.override)
        .get_template(f"hr_note.{language}.txt.j2")
        .render(language=language, **context)
    )
    if language.split("-")[0] == "fr":
        text = wording.french_spacing(text)
    title, _, body = text.partition("\n")
    return one_line(title), re.sub(
        r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in body.strip().split("\n"))
    )
