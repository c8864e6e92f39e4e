"""Client notices in every language: hostile names render as plain text, nothing private leaks."""

from __future__ import annotations

import copy
import email
from datetime import UTC, date, datetime
from email.policy import default
from pathlib import Path

import pytest
from markupsafe import escape

from relevo.config.registry import Registry, load_registry
from relevo.connectors.drafts import to_message
from relevo.engine.approval import decide, listing
from relevo.model import Client, Contact
from relevo.rules import notices, wording

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "acme" / "relevo.yaml"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
REASON = "Despido disciplinario: expediente RH-2026-999 (canary reason)"
NEW_EMPLOYER = "Competidora Rival S.A."
LANGUAGES = sorted(notices.languages("client_notice"))
HOSTILE = [
    "María-José Núñez d'Ávila",
    "Siobhán O'Connor & Sons",
    "محمد بن سلمان العلي",
    "שרה כהן-לוי",
    "Zoë 🚀 Smith 👩🏽‍💼",
    "<script>alert('pwned')</script><img src=x onerror=alert(1)>",
    "{{ 7*7 }} {% if true %}jinja{% endif %} ${7*7}",
    "Ev\u202eil\u202c Bidi",
    "Wolfeschlegelsteinhausenbergerdorff " * 12,
]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(EXAMPLE)


def with_language(registry: Registry, language: str) -> Registry:
    data = copy.deepcopy(registry.data)
    data["company"]["default_language"] = language
    return Registry(path=registry.path, data=data)


def employee(
    kind: str = "involuntary",
    last_day: str = "2026-11-20",
    non_solicitation: str | None = None,
    no_contact: bool = False,
    name: str = "Laura Martínez Ferrer",
    successor: str = "Nuria Castells",
) -> dict:
    return {
        "id": "1001",
        "name": name,
        "email": "laura.private@acme.example",
        "phone": "+34 600 000 111",
        "language": "es",
        "department": "Cuentas",
        "job_title": "Ejecutiva",
        "status": "terminated",
        "termination": {"type": kind, "date": last_day, "reason": REASON, "vendor_type": NEW_EMPLOYER},
        "manager": {
            "id": "1010",
            "name": "Javier Soler",
            "email": "javier@acme.example",
            "phone": None,
            "job_title": "Director",
        },
        "successor": {
            "id": "1005",
            "name": successor,
            "email": "nuria@acme.example",
            "phone": "+34 961 23 45 05",
            "job_title": "Directora de cuentas adjunta",
        },
        "restrictions": {"no_client_contact": no_contact, "non_solicitation_until": non_solicitation},
    }


def client(name: str, contact: str, language: str) -> Client:
    return Client(
        id="C9",
        company=name,
        owner_id="1001",
        contacts=(Contact(name=contact, email="o'brien+x@client.example", language=language),),
    )


def assert_safe(draft, *private: str) -> None:
    """Subject on one line, plain text literal, HTML escaped, MIME round-trips, nothing private inside."""
    assert "\n" not in draft.subject and "\r" not in draft.subject
    for part in (draft.subject, draft.text, draft.html):
        for secret in (REASON, NEW_EMPLOYER, "RH-2026-999", *private):
            assert secret not in part
        assert "\u202e" not in part and "\u202c" not in part
        assert "49" not in part.replace("+34 961 23 45 05", "")  # template syntax in data is never evaluated
    assert "<script" not in draft.html and "<img" not in draft.html
    parsed = email.message_from_bytes(bytes(to_message(draft)), policy=default)
    assert parsed["Subject"] == draft.subject
    assert [(a.display_name, a.addr_spec) for a in parsed["To"].addresses] == [
        (draft.to_name, draft.to_email)
    ]
    assert [(a.display_name, a.addr_spec) for a in parsed["From"].addresses] == [
        (draft.sender_name, draft.mailbox)
    ]
    assert all(len(line) <= 998 for line in bytes(to_message(draft)).split(b"\r\n"))
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == draft.text
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n").strip() == draft.html.strip()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_every_language_renders_hostile_names_as_literal_text(registry, language, hostile):
    emp = employee(name=hostile, successor=hostile)
    actions = notices.draft_actions(emp, registry, [client(hostile, hostile, language)], NOW)
    (action,) = actions
    draft = action.draft
    assert draft.language == language and draft.group == "C9"
    assert_safe(draft, emp["email"], emp["phone"])
    shown = notices.one_line(hostile)
    assert shown in draft.text  # accents, apostrophes, RTL, emoji and braces survive as written
    assert str(escape(shown)) in draft.html  # and the HTML part shows the same text, escaped
    if "<" in hostile:
        assert "&lt;script&gt;" in draft.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_handover_note_in_every_language_with_hostile_names(registry, language):
    reg = with_language(registry, language)
    emp = employee(kind="voluntary", last_day="2027-03-31", no_contact=True, name=HOSTILE[5])
    clients = [client(h, h, "en") for h in HOSTILE[:7]]
    drafts = [a.draft for a in notices.draft_actions(emp, reg, clients, NOW)]
    assert {d.language for d in drafts} == {language}
    assert {d.to_email for d in drafts} == {"javier@acme.example"}  # the manager, never the client
    for d in drafts:
        assert_safe(d, emp["email"], emp["phone"])
        assert "o'brien+x@client.example" in d.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_resignation_with_a_future_last_day_names_it_and_the_handover_day(registry, language):
    (action,) = notices.draft_actions(
        employee(kind="voluntary", last_day="2027-03-31"), registry, [client("Hotel", "Ana", language)], NOW
    )
    locale = wording.audience(
        action.clients[0].contacts[0], action.clients[0], "es", notices.languages("client_notice")
    ).locale
    assert wording.long_date(date(2027, 3, 31), locale) in action.draft.text
    assert wording.long_date(date(2027, 4, 1), locale) in action.draft.text  # the successor's first day


@pytest.mark.parametrize("language", LANGUAGES)
def test_dismissal_and_restricted_resignation_read_the_same(registry, language):
    """One neutral wording: the type of leaving never shows, so a dismissal and a resignation under a
    restriction, with the same last day, give the very same text (and neither says the leaver is still there)."""
    cases = [
        employee(kind="involuntary", last_day="2027-03-31"),
        employee(kind="voluntary", last_day="2027-03-31", non_solicitation="2027-09-30"),
    ]
    texts = []
    for emp in cases:
        (action,) = notices.draft_actions(emp, registry, [client("Hotel", "Ana", language)], NOW)
        assert_safe(action.draft, emp["email"], emp["phone"], "2027-09-30")
        texts.append((action.draft.subject, action.draft.text))
    assert texts[0] == texts[1]
    (reachable,) = notices.draft_actions(
        employee(kind="voluntary", last_day="2027-03-31"), registry, [client("Hotel", "Ana", language)], NOW
    )
    assert reachable.draft.text != texts[0][1]  # only an unrestricted resignation keeps the leaver until then


def test_one_draft_per_contact_grouped_per_client_and_crm_reassignment_planned(registry):
    clients = [
        Client(
            id="C1",
            company="A",
            owner_id="1001",
            contacts=(Contact("Ana", "ana@a.example", "es"), Contact("Bob", "bob@a.example", "en")),
        ),
        Client(id="C2", company="B", owner_id="1001", contacts=(Contact("Cleo", "cleo@b.example", "fr"),)),
    ]
    actions = notices.notice_actions(employee(), registry, clients, NOW)
    assert [(a.action, a.draft.group if a.draft else None) for a in actions] == [
        ("draft_notice", "C1"),
        ("draft_notice", "C1"),
        ("draft_notice", "C2"),
        ("reassign_crm", None),
    ]
    assert [a.draft.language for a in actions[:3]] == ["es", "en", "fr"]
    assert actions[3].person.email == "nuria@acme.example" and actions[3].clients == clients


def test_rejecting_every_draft_of_a_client_keeps_it_with_its_owner(registry):
    clients = [
        Client(id="C1", company="A", owner_id="1001", contacts=(Contact("Ana", "ana@a.example"),)),
        Client(
            id="C2",
            company="B",
            owner_id="1001",
            contacts=(Contact("Cleo", "cleo@b.example"), Contact("Dan", "dan@b.example")),
        ),
    ]
    actions = notices.notice_actions(employee(), registry, clients, NOW)
    todo, dropped = decide(actions, True, ["ANA@a.example", actions[1].key])
    assert {a.key for a in dropped} == {actions[0].key, actions[1].key}
    reassign = [a for a in todo if a.action == "reassign_crm"]
    assert [c.id for c in reassign[0].clients] == ["C2"]  # C1 lost its only draft; C2 still has Dan
    assert decide(actions, False, [])[0] == []


def test_approval_listing_escapes_client_data(registry):
    actions = notices.notice_actions(
        employee(), registry, [client(HOSTILE[5], "a|b **x** [l](http://e)", "es")], NOW
    )
    text = listing(employee(), actions, 72, "relevo approve 1001 --registry r.yaml")
    assert "<script" not in text and "](http" not in text and "a|b" not in text
    assert "relevo approve 1001" in text and "72 h" in text


def test_approval_listing_gives_the_non_solicitation_end_and_when_to_send(registry):
    emp = employee(kind="voluntary", last_day="2099-03-31", non_solicitation="2099-09-30")
    text = listing(
        emp, notices.notice_actions(emp, registry, [client("Hotel", "Ana", "es")], NOW), 72, "relevo approve"
    )
    assert "Non-solicitation clause until **2099\\-09\\-30**" in text
    assert "as soon as they are approved, before the last day (2099\\-03\\-31)" in text
    assert "Non-solicitation" not in listing(
        employee(), notices.notice_actions(employee(), registry, [client("H", "A", "es")], NOW), 72, "x"
    )
