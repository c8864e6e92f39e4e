"""POST /webhooks/personio: Personio's token in Authorization, dataless employment notifications stored once
as "status_changed" (the run confirms the termination from the employment), and the hostile-input corpus.

Payloads follow Personio's published envelope (tests/connectors/personio_contract.py WEBHOOK); the fields
inside `payload` are UNCONFIRMED (connectors/personio.py)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from relevo.config.registry import load_registry
from relevo.receiver.dispatcher import Dispatcher
from relevo.receiver.webhook import create_app
from relevo.reconcile import reconcile_once
from relevo.storage.inbox import Inbox
from tests.connectors import personio_contract as spec

TOKEN = "Bearer personio-webhook-token-canary-c4f1"
NOW = 1_795_000_000.0
NOTICE = {
    "company_id": "12345",
    "event_name": "Employment.updated",
    "occurred_at": "2026-11-18T11:00:00Z",
    "payload": {"id": "2306b77a-35fb-4b1d-8044-3b14f7f2ca65", "person_id": "1001"},
    "meta": {},
}
spec.check(spec.WEBHOOK, NOTICE)
BODY = json.dumps(NOTICE).encode()
HEADERS = {"content-type": "application/json", "authorization": TOKEN}


class Launches:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, event, registry_path: str, relaunch: int = 0) -> str:  # type: ignore[no-untyped-def]
        self.calls.append(event.event_key)
        return f"run-{len(self.calls)}"


def with_personio(acme: Path, company_id: str | None = None) -> Path:
    """The example registry with a Personio webhook block (the token by environment variable)."""
    extra = f", company_id: '{company_id}'" if company_id else ""
    text = acme.read_text("utf-8").replace(
        "webhooks:\n", f"webhooks:\n  personio: {{token: {{env: RELEVO_PERSONIO_WEBHOOK_TOKEN}}{extra}}}\n", 1
    )
    acme.write_text(text, "utf-8")
    return acme


@pytest.fixture
def receiver(acme: Path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RELEVO_PERSONIO_WEBHOOK_TOKEN", TOKEN)
    registry = load_registry(with_personio(acme, "12345"))
    launches = Launches()
    dispatcher = Dispatcher(
        Inbox(registry.database_url), str(registry.path), launch=launches, clock=lambda: NOW
    )
    with TestClient(create_app(acme, clock=lambda: NOW, dispatcher=dispatcher)) as client:
        dispatcher.stop()
        yield client, dispatcher, launches


def body_with(**changes: object) -> bytes:
    return json.dumps({**NOTICE, **changes}).encode()


def nested() -> bytes:
    return b'{"payload":' + b"[" * 100_000 + b"]" * 100_000 + b"}"


BAD: list[tuple[str, object, bytes, int, str]] = [
    # (case, headers, body, expected status, words the error must contain)
    ("wrong token", {**HEADERS, "authorization": "Bearer guess"}, BODY, 401, "does not match"),
    (
        "token without its prefix",
        {**HEADERS, "authorization": TOKEN.removeprefix("Bearer ")},
        BODY,
        401,
        "does not match",
    ),
    ("missing token", {"content-type": "application/json"}, BODY, 401, "missing Authorization"),
    ("empty token", {**HEADERS, "authorization": ""}, BODY, 401, "missing Authorization"),
    (
        "token twice",
        [("content-type", "application/json"), ("authorization", TOKEN), ("authorization", TOKEN)],
        BODY,
        401,
        "more than once",
    ),
    ("token with unicode", {**HEADERS, "authorization": ("é" * 20).encode()}, BODY, 401, "does not match"),
    ("wrong content type", {**HEADERS, "content-type": "text/plain"}, BODY, 415, "application/json"),
    ("oversized", HEADERS, b"{" + b" " * (1 << 20) + b"}", 413, "larger"),
    ("truncated JSON", HEADERS, BODY[:-5], 400, "not valid JSON"),
    ("empty body", HEADERS, b"", 400, "empty"),
    ("not an object", HEADERS, b"[1,2]", 400, "not an object"),
    ("huge number", HEADERS, b'{"company_id":' + b"9" * 5000 + b"}", 400, "too large"),
    ("deeply nested", HEADERS, nested(), 400, "nested too deeply"),
    ("invalid UTF-8", HEADERS, b'{"company_id":"\xff\xfe"}', 400, "not UTF-8"),
    ("another company", HEADERS, body_with(company_id="99999"), 400, "company_id"),
    (
        "no event name",
        HEADERS,
        json.dumps({k: v for k, v in NOTICE.items() if k != "event_name"}).encode(),
        400,
        "event_name",
    ),
    ("payload not an object", HEADERS, body_with(payload=["1001"]), 400, "payload"),
    ("no person in the payload", HEADERS, body_with(payload={"id": "2306b77a"}), 400, "names no person"),
    (
        "unicode person id",
        HEADERS,
        body_with(payload={"person_id": "１００１\u202e"}),
        400,
        "not an employee id",
    ),
    (
        "path in the person id",
        HEADERS,
        body_with(payload={"person": {"id": "../../etc"}}),
        400,
        "not an employee id",
    ),
    ("person id as a list", HEADERS, body_with(payload={"person_id": ["1001"]}), 400, "names no person"),
]


@pytest.mark.parametrize("case,headers,body,status,words", BAD, ids=[c[0] for c in BAD])
def test_bad_request_gets_its_status_and_starts_nothing(  # type: ignore[no-untyped-def]
    receiver, caplog, case, headers, body, status, words
):
    client, dispatcher, launches = receiver
    caplog.set_level(logging.DEBUG)
    response = client.post("/webhooks/personio", headers=headers, content=body)
    assert response.status_code == status, response.text
    assert words.lower() in response.text.lower()
    assert "Traceback" not in response.text and TOKEN not in response.text
    dispatcher.dispatch_due()
    assert launches.calls == [] and dispatcher.inbox.events() == []
    assert TOKEN.split()[1] not in caplog.text


def test_a_notification_is_stored_once_as_a_status_change(receiver):  # type: ignore[no-untyped-def]
    client, dispatcher, launches = receiver
    first = client.post("/webhooks/personio", content=BODY, headers=HEADERS)
    assert first.status_code == 202, first.text
    [key] = first.json()["stored"]
    [event] = dispatcher.inbox.events()
    assert event.occurred_at == "2026-11-18T11:00:00.000+00:00"  # in the inbox's own time format
    assert (event.vendor, event.employee_id, event.kind, event.state) == (
        "personio",
        "1001",
        "status_changed",
        "pending",
    )
    again = client.post(
        "/webhooks/personio", content=BODY, headers=HEADERS
    )  # Personio's retry of the same event
    assert again.status_code == 202 and again.json()["already_stored"] == [key]
    assert dispatcher.dispatch_due() == 1 and launches.calls == [key]


def test_profile_events_are_acknowledged_and_counted_as_ignored(receiver):  # type: ignore[no-untyped-def]
    client, dispatcher, launches = receiver
    response = client.post(
        "/webhooks/personio", content=body_with(event_name="Person.updated"), headers=HEADERS
    )
    assert response.status_code == 202 and response.json() == {
        "stored": [],
        "already_stored": [],
        "ignored": 1,
    }
    assert dispatcher.inbox.events() == [] and dispatcher.inbox.counts()["ignored"] == 1


def test_without_a_personio_block_the_route_is_404(acme: Path) -> None:
    with TestClient(create_app(acme, clock=lambda: NOW)) as client:
        response = client.post("/webhooks/personio", content=BODY, headers=HEADERS)
    assert response.status_code == 404 and "webhooks.personio" in response.text


def test_a_missing_token_variable_is_503_so_personio_retries(
    acme: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELEVO_PERSONIO_WEBHOOK_TOKEN", raising=False)
    with TestClient(create_app(with_personio(acme), clock=lambda: NOW)) as client:
        response = client.post("/webhooks/personio", content=BODY, headers=HEADERS)
    assert response.status_code == 503 and TOKEN not in response.text


@pytest.mark.parametrize(
    "occurred_at,second_run",
    [
        ("2026-11-27T08:40:00.000+00:00", False),  # the change reconciliation already found, heard late
        ("2026-11-27T09:03:00.000+00:00", True),  # a change made after the poll (the date moved): news
        (None, True),  # a notification that does not say when: its run reads HR and decides
    ],
)
def test_a_late_status_change_after_a_polled_termination(
    acme: Path, occurred_at: str | None, second_run: bool
) -> None:
    """The webhook was lost (receiver down), reconciliation found the termination and started its run; the
    dataless notification then arrives: stored (so Personio stops retrying) and, when its change happened
    before the poll heard the termination, marked a duplicate that starts no second run."""
    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    polled_at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert any(
        k.startswith("directory:1001:terminated") for k in reconcile_once(registry, now=polled_at)["stored"]
    )
    launches = Launches()
    dispatcher = Dispatcher(
        inbox, str(registry.path), launch=launches, clock=lambda: polled_at.timestamp() + 1
    )
    started = dispatcher.dispatch_due()
    heard = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
    late = Inbox.event("directory", "1001", "status_changed", "fp-late", heard, occurred_at=occurred_at)
    assert inbox.store(late)
    dispatcher.clock = lambda: polled_at.timestamp() + 600
    assert dispatcher.dispatch_due() == (1 if second_run else 0)
    assert len(launches.calls) == started + (1 if second_run else 0)
    state = {e.event_key: e.state for e in inbox.events()}[late["event_key"]]
    assert state == ("dispatched" if second_run else "duplicate")


def test_a_status_change_first_does_not_hide_a_termination_found_later(acme: Path) -> None:
    """A notification about another change (hours, office) ran and found no termination; a termination entered
    later whose notification was lost must still start its run when reconciliation finds it."""
    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    inbox.store(
        Inbox.event(
            "directory", "1001", "status_changed", "fp-hours", datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
        )
    )
    launches = Launches()
    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    dispatcher = Dispatcher(inbox, str(registry.path), launch=launches, clock=lambda: at.timestamp())
    dispatcher.dispatch_due()
    reconcile_once(registry, now=at)
    dispatcher.clock = lambda: at.timestamp() + 1
    dispatcher.dispatch_due()
    assert any(k.startswith("directory:1001:terminated") for k in launches.calls)
