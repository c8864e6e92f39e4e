"""HR, CRM and registry data cannot steer where mail or files go, and nothing internal reaches a client
(issue 11, items 3 and 4): the connectors, draft stores and writers, one at a time.

The end-to-end suite, with every value planted in the example company at once, is tests/test_hostile_cli.py.
"""

from __future__ import annotations

import email
import json
import shutil
from datetime import UTC, datetime
from email.policy import default
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relevo.config.registry import load_registry
from relevo.connectors.directory import DirectoryCRM, DirectoryHR
from relevo.connectors.drafts import EmlDrafts, to_message
from relevo.connectors.errors import ConnectorError
from relevo.connectors.hubspot import HubSpotCRM
from relevo.model import ConfigurationError, Draft
from relevo.rules import notices
from tests.support.paths import EXAMPLE

ATTACKER = "attacker@evil.example"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
# The values the issue reproduced, as they would be typed into an e-mail field.
BAD_EMAILS = [
    f"nuria.castells@acme-comunicacion.example\r\nBcc: {ATTACKER}",
    f"nuria.castells@acme-comunicacion.example\nBcc: {ATTACKER}",
    f'"Boss" <{ATTACKER}>',
    f"a@x.example, {ATTACKER}",
    f"a@x.example;{ATTACKER}",
    "Nuria <nuria.castells@acme-comunicacion.example>",
    "nuria.castells@acme-comunicacion.example (comment)",
    "nuria@[127.0.0.1]",
    "",
]
LONG_QUOTED_NAME = '"' + "A" * 80 + f'" <{ATTACKER}>'


def company(tmp_path: Path) -> Path:
    target = tmp_path / "acme"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("out"))
    return target


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text("utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")


def employee_row(data: dict, employee_id: str) -> dict:
    return next(r for r in data["employees"] if r["id"] == employee_id)


def draft(**changes) -> Draft:
    base = {
        "key": "1001:notice:C005:olivia.hartley@seaviewhotels.example",
        "mailbox": "nuria.castells@acme-comunicacion.example",
        "sender_name": "Nuria Castells Vidal",
        "to_name": "Olivia Hartley",
        "to_email": "olivia.hartley@seaviewhotels.example",
        "subject": "Acme Comunicación: your new contact",
        "text": "Dear Olivia,\n\nHello.\n",
        "html": "<p>Dear Olivia,</p>",
        "language": "en",
        "group": "C005",
    }
    return Draft(**{**base, **changes})


def parsed(message_bytes: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(message_bytes, policy=default)


# --- item 3: addresses are checked where they enter ---


@pytest.mark.parametrize("bad", BAD_EMAILS, ids=range(len(BAD_EMAILS)))
def test_a_successor_whose_work_email_is_not_one_address_is_refused_naming_the_record(tmp_path, bad):
    root = company(tmp_path)
    edit(root / "hr.json", lambda d: employee_row(d, "1005").update(work_email=bad))
    hr = DirectoryHR(root / "hr.json", "es")
    if bad == "":  # empty means no address: the successor has none, nothing to refuse
        assert hr.employee("1001")["successor"]["email"] is None
        return
    with pytest.raises(ConnectorError) as error:
        hr.employee("1001")
    message = str(error.value)
    assert "employee 1005" in message and "work e-mail" in message
    assert "\n" not in message and ATTACKER not in message  # one line, and the value is not echoed


def test_a_client_whose_contact_email_is_not_one_address_fails_alone_and_the_others_get_their_notices(
    tmp_path,
):
    root = company(tmp_path)

    def plant(data: dict) -> None:
        data["clients"][1]["contacts"][0]["email"] = f"amparo@requenaalta.example\r\nBcc: {ATTACKER}"  # C002
        data["clients"][2]["contacts"][0]["email"] = f'"Boss" <{ATTACKER}>'  # C003

    edit(root / "clients.json", plant)
    registry = load_registry(root / "relevo.yaml")
    employee = DirectoryHR(root / "hr.json", "es").employee("1001")
    clients = DirectoryCRM(root / "clients.json", tmp_path / "out").clients_of(employee["email"], "1001")
    actions = notices.notice_actions(employee, registry, clients, NOW)

    failed = {a.key: a for a in actions if a.outcome == "failed"}
    assert set(failed) == {"1001:notice:C002:record", "1001:notice:C003:record"}
    assert "client C002: contacts[0].email" in failed["1001:notice:C002:record"].description
    drafted = {a.draft.group for a in actions if a.draft is not None}
    assert drafted == {"C001", "C004", "C005", "C006"}  # the other clients go on
    (handover,) = [a for a in actions if a.action == "reassign_crm"]
    assert {c.id for c in handover.clients} == {
        "C001",
        "C004",
        "C005",
        "C006",
    }  # the bad ones keep their owner
    for action in actions:
        if action.draft is not None:
            message = parsed(bytes(to_message(action.draft)))
            assert message["Bcc"] is None and ATTACKER not in str(message)


@pytest.mark.parametrize("bad", BAD_EMAILS[:-1], ids=range(len(BAD_EMAILS) - 1))
def test_a_hubspot_contact_email_that_is_not_one_address_marks_its_client(bad):
    records = [
        {
            "id": "501",
            "properties": {
                "email": bad,
                "firstname": "Rosa",
                "lastname": "Beltrán",
                "hubspot_owner_id": "77",
            },
        },
        {
            "id": "502",
            "properties": {
                "email": "vicente@mirador.example",
                "firstname": "Vicente",
                "lastname": "Llorca",
                "hubspot_owner_id": "77",
            },
        },
    ]
    client = HubSpotCRM.client("9001", {"name": "Hotel Mirador"}, "", records, "77")
    assert (
        client.problem is not None and "HubSpot contact 501" in client.problem and "\n" not in client.problem
    )
    assert [c.email for c in client.contacts] == ["vicente@mirador.example"]


@pytest.mark.parametrize("field", ["contact", "break_glass_admin"])
def test_a_registry_address_that_is_not_one_address_is_a_configuration_error(tmp_path, field):
    root = company(tmp_path)
    registry = root / "relevo.yaml"
    text = registry.read_text("utf-8")
    original = (
        "cuentas@acme-comunicacion.example"
        if field == "contact"
        else "it-breakglass@acme-comunicacion.example"
    )
    registry.write_text(text.replace(f"email: {original}", f'email: "\\"Boss\\"<{ATTACKER}>"'), "utf-8")
    with pytest.raises(ConfigurationError, match=f"company.{field}.email"):
        load_registry(registry)


# --- item 3: headers are built from Address objects ---


def test_a_long_quoted_display_name_cannot_become_another_address():
    """Reproduced: `"AAAA…" <attacker@…>` as a contact's (or the successor's) name made To (and From) parse
    as the attacker's address."""
    message = parsed(bytes(to_message(draft(to_name=LONG_QUOTED_NAME, sender_name=LONG_QUOTED_NAME))))
    assert [a.addr_spec for a in message["To"].addresses] == ["olivia.hartley@seaviewhotels.example"]
    assert [a.addr_spec for a in message["From"].addresses] == ["nuria.castells@acme-comunicacion.example"]


NAMES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(to_name=NAMES, sender_name=NAMES, subject=NAMES)
def test_any_name_or_subject_gives_exactly_the_intended_sender_and_recipient(to_name, sender_name, subject):
    raw = bytes(to_message(draft(to_name=to_name, sender_name=sender_name, subject=subject or "x")))
    message = parsed(raw)
    assert [a.addr_spec for a in message["To"].addresses] == ["olivia.hartley@seaviewhotels.example"]
    assert [a.addr_spec for a in message["From"].addresses] == ["nuria.castells@acme-comunicacion.example"]
    headers = raw.split(b"\r\n\r\n", 1)[0]
    names = {
        line.split(b":", 1)[0].lower() for line in headers.split(b"\r\n") if line and line[:1] not in b" \t"
    }
    assert names == {
        b"from",
        b"to",
        b"subject",
        b"date",
        b"x-unsent",
        b"message-id",
        b"mime-version",
        b"content-type",
        b"content-language",
    }
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_anything_accepted_as_an_address_is_exactly_one_plain_address(text):
    from relevo.connectors.addresses import parse_email
    from relevo.connectors.errors import BadRecord

    try:
        address = parse_email(text, "record: field")
    except BadRecord as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc)
        return
    header = email.message_from_string(f"To: {address}\n\n", policy=default)["To"]
    assert [a.addr_spec for a in header.addresses] == [address] and not header.defects


# --- item 4: nothing internal reaches a client ---


def test_an_eml_draft_carries_no_key_and_has_date_and_content_language(tmp_path):
    created, where = EmlDrafts(tmp_path).place(draft())
    raw = Path(where).read_bytes()
    message = parsed(raw)
    assert message["X-Relevo-Key"] is None and b"1001" not in raw  # the key (and the HR id in it) stays out
    assert message["Date"] is not None and message["Date"].datetime.tzinfo is not None
    assert message["Content-Language"] == "en"  # on the message itself, not only its first part
    assert Path(where).name.startswith(
        "notice_C005_"
    )  # the key lives in the file name, which nobody receives


# --- item 3: files stay under their folders ---


@pytest.mark.parametrize(
    "employee_id, client_id",
    [("..", "C001"), ("1001", ".."), ("..", ".."), ("../../X", "../../../etc"), (".", "/")],
)
def test_ids_never_place_a_draft_outside_the_drafts_folder(tmp_path, employee_id, client_id):
    root = tmp_path / "out" / "drafts"
    root.mkdir(parents=True)
    key = f"{employee_id}:notice:{client_id}:rosa@client.example"
    created, where = EmlDrafts(root).place(draft(key=key, group=client_id))
    assert created
    assert Path(where).resolve().is_relative_to(root.resolve())
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.eml")) == [
        Path(where).relative_to(tmp_path)
    ]
    assert all(part not in {".", ".."} for part in Path(where).relative_to(root).parts)


@pytest.mark.parametrize("employee_id", ["..", "../../X", "../hr-notes/../../../Y", "."])
def test_an_employee_id_never_places_the_hr_note_outside_its_folder(tmp_path, employee_id):
    out = tmp_path / "work" / "out"
    where = Path(DirectoryHR(tmp_path / "hr.json", "es").write_note(employee_id, "report", "text", out))
    assert where.parent == (out / "hr-notes").resolve() and where.read_text("utf-8").endswith("text\n")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [where]


def test_writers_never_follow_a_link_planted_in_the_output_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "precious.txt"
    precious.write_text("keep me", "utf-8")
    out = tmp_path / "out"
    (out / "hr-notes").mkdir(parents=True)
    (out / "hr-notes" / "1001.md").symlink_to(precious)
    (out / "drafts" / "1001").mkdir(parents=True)
    (out / "drafts" / "1001" / "C005").symlink_to(outside, target_is_directory=True)
    (out / "crm-reassignments.csv").symlink_to(precious)

    note = Path(DirectoryHR(tmp_path / "hr.json", "es").write_note("1001", "report", "text", out))
    assert not note.is_symlink() and note.read_text("utf-8").endswith("text\n")
    with pytest.raises(ConnectorError, match="outside"):
        EmlDrafts(out / "drafts").place(draft())
    from relevo.model import Person

    with pytest.raises(ConnectorError, match="symbolic link"):
        DirectoryCRM(tmp_path / "clients.json", out).reassign_many(
            [([], Person("N", "n@acme.example", "1005"))]
        )
    assert precious.read_text("utf-8") == "keep me" and sorted(p.name for p in outside.iterdir()) == [
        "precious.txt"
    ]


# --- item 3: data printed or put into Markdown is text ---


def test_the_hr_note_and_the_summary_escape_markdown_in_data():
    from relevo.rules.notices import hr_note
    from tests.golden_cases import example_registry

    employee = {"id": "1001", "name": "Laura [Pay here](https://evil.example/pay)"}
    rows = [
        {
            "action": "draft_notice",
            "target": "[Pay here](https://evil.example/pay) <x@y.example>",
            "outcome": "awaiting_approval",
        }
    ]
    title, text = hr_note(employee, rows, example_registry("en"), markdown=True)
    assert "](" not in title + text and "<x@y" not in text
    assert "- Awaiting approval: client notice, " in text
    plain = hr_note(employee, rows, example_registry("en"))[
        1
    ]  # a plain-text note (BambooHR's file) keeps the text
    assert "[Pay here](https://evil.example/pay) <x@y.example>" in plain


def test_the_gmail_draft_id_secret_is_made_once_private_and_never_through_a_link(tmp_path):
    import stat

    from relevo.config.wiring import draft_id_secret

    out = tmp_path / "out"
    first = draft_id_secret(out)
    assert len(first) == 32 and draft_id_secret(out) == first  # the same drafts are found again on every run
    assert stat.S_IMODE((out / "draft-id.secret").stat().st_mode) == 0o600
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    (elsewhere / "draft-id.secret").symlink_to(out / "draft-id.secret")
    with pytest.raises(ConfigurationError, match="draft-id.secret"):
        draft_id_secret(elsewhere)
