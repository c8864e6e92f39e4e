"""POST /webhooks/hibob: Bob's signed v2 lifecycle webhooks reach the inbox once; everything else
gets its status, starts nothing and never a 5xx; Bob's unsigned "Ping test" is acknowledged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from relevo.config.registry import load_registry
from relevo.receiver.dispatcher import Dispatcher
from relevo.receiver.webhook import create_app
from relevo.storage.inbox import Inbox
from tests.connectors.hibob_contract import TABLE_ENTRY_EXAMPLE, WEBHOOK, check, lifecycle

SECRET = "hibob-webhook-secret-canary-64d1"
NOW = 1_795_000_000.0
LEFT = json.dumps(check(WEBHOOK, lifecycle("employee.left"))).encode()


def bob_sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """Headers as Bob sends them: base64(HMAC-SHA512(secret, body)) in Bob-Signature (not relevo's code)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha512).digest()
    return {"content-type": "application/json", "bob-signature": base64.b64encode(digest).decode()}


def with_hibob(registry: Path) -> Path:
    text = registry.read_text("utf-8").replace(
        "webhooks:\n", "webhooks:\n  hibob: {secret: {env: RELEVO_HIBOB_WEBHOOK_SECRET}}\n", 1
    )
    registry.write_text(text, "utf-8")
    return registry


@pytest.fixture
def bob(acme: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Inbox]]:
    monkeypatch.setenv("RELEVO_HIBOB_WEBHOOK_SECRET", SECRET)
    registry = with_hibob(acme)
    inbox = Inbox(load_registry(registry).database_url)
    dispatcher = Dispatcher(inbox, str(registry), launch=lambda event, path: "run", clock=lambda: NOW)
    dispatcher.start = lambda: None  # type: ignore[method-assign]  (these tests dispatch nothing)
    with TestClient(create_app(registry, clock=lambda: NOW, dispatcher=dispatcher)) as client:
        yield client, inbox


def test_a_signed_employee_left_is_stored_once(bob: Any) -> None:
    client, inbox = bob
    first = client.post("/webhooks/hibob", content=LEFT, headers=bob_sign(LEFT))
    assert first.status_code == 202, first.text
    [key] = first.json()["stored"]
    [event] = inbox.events()
    assert (event.vendor, event.employee_id, event.kind, event.state) == (
        "hibob",
        "3332883854254932743",
        "terminated",
        "pending",
    )
    again = client.post("/webhooks/hibob", content=LEFT, headers=bob_sign(LEFT))  # Bob retries the same body
    assert again.json() == {"stored": [], "already_stored": [key], "ignored": 0}
    assert len(inbox.events()) == 1


def test_activated_is_a_withdrawal_to_check(bob: Any) -> None:
    client, inbox = bob
    body = json.dumps(check(WEBHOOK, lifecycle("employee.activated"))).encode()
    assert client.post("/webhooks/hibob", content=body, headers=bob_sign(body)).status_code == 202
    assert [e.kind for e in inbox.events()] == ["rescinded"]


def test_a_termination_sent_as_left_and_inactivated_starts_one_run(bob: Any) -> None:
    client, inbox = bob
    for kind in ("employee.inactivated", "employee.left"):  # Bob sends both at the effective date
        body = json.dumps(check(WEBHOOK, lifecycle(kind))).encode()
        assert client.post("/webhooks/hibob", content=body, headers=bob_sign(body)).status_code == 202
    assert [e.kind for e in inbox.events()] == ["terminated"]


def test_a_future_termination_entered_today_is_heard_as_a_lifecycle_entry(bob: Any) -> None:
    client, inbox = bob
    body = json.dumps(TABLE_ENTRY_EXAMPLE).encode()
    assert client.post("/webhooks/hibob", content=body, headers=bob_sign(body)).status_code == 202
    assert [(e.employee_id, e.kind) for e in inbox.events()] == [("3332883854254932743", "status_changed")]


def test_other_events_are_acknowledged_and_counted_as_ignored(bob: Any) -> None:
    client, inbox = bob
    body = json.dumps(check(WEBHOOK, lifecycle("employee.joined"))).encode()
    answer = client.post("/webhooks/hibob", content=body, headers=bob_sign(body))
    assert (answer.status_code, answer.json()["ignored"]) == (202, 1)
    assert inbox.events() == []


@pytest.mark.parametrize(
    "body, content_type", [(b"Ping test", "text/plain"), (b'{"text":"Ping test"}', "application/json")]
)
def test_bob_connection_test_gets_a_2xx_without_signature_and_stores_nothing(
    bob: Any, body: Any, content_type: Any
) -> None:
    client, inbox = bob
    answer = client.post("/webhooks/hibob", content=body, headers={"content-type": content_type})
    assert answer.status_code == 200 and answer.json() == {"ping": "ok"}
    assert inbox.events() == []


def hex_signed(body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "bob-signature": hmac.new(SECRET.encode(), body, hashlib.sha512).hexdigest(),
    }


BAD = [
    # (case, headers, body, status, words in the error)
    ("forged signature", bob_sign(LEFT, "not-the-secret"), LEFT, 401, "does not match"),
    (
        "body changed after signing",
        bob_sign(LEFT),
        LEFT.replace(b"3332883854254932743", b"3332883854254932744"),
        401,
        "does not match",
    ),
    ("missing signature", {"content-type": "application/json"}, LEFT, 401, "missing Bob-Signature"),
    ("hex instead of base64", hex_signed(LEFT), LEFT, 401, "does not match"),
    (
        "sha256 instead of sha512",
        {
            "content-type": "application/json",
            "bob-signature": base64.b64encode(
                hmac.new(SECRET.encode(), LEFT, hashlib.sha256).digest()
            ).decode(),
        },
        LEFT,
        401,
        "does not match",
    ),
    (
        "signature with unicode",
        {"content-type": "application/json", "bob-signature": ("é" * 88).encode()},
        LEFT,
        401,
        "does not match",
    ),
    (
        "signature header twice",
        [*bob_sign(LEFT).items(), ("bob-signature", "AAAA")],
        LEFT,
        401,
        "more than once",
    ),
    ("wrong content type", {**bob_sign(LEFT), "content-type": "text/plain"}, LEFT, 415, "application/json"),
    ("not JSON", bob_sign(b"{oops"), b"{oops", 400, "not valid JSON"),
    ("empty body", bob_sign(b""), b"", 400, "empty"),
    ("a list", bob_sign(b"[]"), b"[]", 400, "not an object"),
    (
        "no employee id",
        bob_sign(b'{"type":"employee.left","data":{}}'),
        b'{"type":"employee.left","data":{}}',
        400,
        "data.employeeId",
    ),
    (
        "path as employee id",
        bob_sign(b'{"type":"employee.left","data":{"employeeId":"../../x"}}'),
        b'{"type":"employee.left","data":{"employeeId":"../../x"}}',
        400,
        "employee id",
    ),
    (
        "unicode employee id",
        bob_sign('{"type":"employee.left","data":{"employeeId":"１２\u202e"}}'.encode()),
        '{"type":"employee.left","data":{"employeeId":"１２\u202e"}}'.encode(),
        400,
        "employee id",
    ),
    (
        "data not an object",
        bob_sign(b'{"type":"employee.left","data":[1]}'),
        b'{"type":"employee.left","data":[1]}',
        400,
        "data is not an object",
    ),
    (
        "huge number",
        bob_sign(b'{"type":"employee.left","data":{"employeeId":' + b"9" * 5000 + b"}}"),
        b'{"type":"employee.left","data":{"employeeId":' + b"9" * 5000 + b"}}",
        400,
        "too large",
    ),
    ("invalid UTF-8", bob_sign(b'{"type":"\xff\xfe"}'), b'{"type":"\xff\xfe"}', 400, "UTF-8"),
    (
        "deeply nested",
        bob_sign(b'{"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        b'{"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        400,
        "nested too deeply",
    ),
]


@pytest.mark.parametrize("case, headers, body, status, words", BAD, ids=[c[0] for c in BAD])
def test_bad_request_gets_its_status_and_stores_nothing(
    bob: Any, caplog: Any, case: Any, headers: Any, body: Any, status: Any, words: Any
) -> None:
    client, inbox = bob
    caplog.set_level(logging.DEBUG)
    answer = client.post("/webhooks/hibob", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert words.lower() in answer.text.lower()
    assert inbox.events() == []
    assert SECRET not in caplog.text and SECRET not in answer.text and "Traceback" not in answer.text


def test_without_its_secret_the_receiver_answers_503_so_bob_retries(bob: Any, monkeypatch: Any) -> None:
    client, inbox = bob
    monkeypatch.delenv("RELEVO_HIBOB_WEBHOOK_SECRET")
    answer = client.post("/webhooks/hibob", content=LEFT, headers=bob_sign(LEFT))
    assert answer.status_code == 503 and inbox.events() == []


def test_a_registry_without_a_hibob_webhook_refuses_the_route(acme: Any, monkeypatch: Any) -> None:
    inbox = Inbox(load_registry(acme).database_url)
    dispatcher = Dispatcher(inbox, str(acme), launch=lambda event, path: "run")
    dispatcher.start = lambda: None  # type: ignore[method-assign]
    with TestClient(create_app(acme, dispatcher=dispatcher)) as client:
        answer = client.post("/webhooks/hibob", content=LEFT, headers=bob_sign(LEFT))
    assert answer.status_code == 404 and "webhooks.hibob" in answer.text
