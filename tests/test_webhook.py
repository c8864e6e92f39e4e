"""The receiver on its own (no Prefect): every bad request gets its status and starts nothing;
good ones are stored once, before the 202; the dispatcher retries until Prefect accepts."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from relevo import schemas
from relevo.config.registry import load_registry
from relevo.receiver.dispatcher import Dispatcher
from relevo.receiver.verify import RETRY_HORIZON, bamboohr_signature
from relevo.receiver.webhook import create_app
from relevo.storage.inbox import Inbox, event_key
from tests.support.canaries import FACTORIAL_CHALLENGE as CHALLENGE
from tests.support.canaries import WEBHOOK_KEY as KEY

NOW = 1_795_000_000.0  # 2026-11-18T...Z, fixed: the window's edges are tested exactly

DISMISSAL = {
    "employees": [
        {
            "action": "Updated",
            "changedFields": ["Employment Status"],
            "id": "1001",
            "fields": {"Employment Status": "Terminated"},
            "timestamp": "2026-11-20T09:12:00+0000",
        }
    ]
}
# Factorial's terminate webhook: the bare employee object (vendors-hr.md).
FACTORIAL_TERMINATE = {
    "id": 1003,
    "access_id": 9,
    "full_name": "Marta Ibáñez Cano",
    "email": "m@example.com",
    "login_email": "marta.ibanez@acme-comunicacion.example",
    "is_terminating": True,
    "terminated_on": "2026-10-30",
    "termination_reason": "",
    "termination_reason_type": "voluntary",
    "manager_id": 1011,
    "active": True,
    "company_id": 1,
    "legal_entity_id": 1,
    "location_id": 1,
}


def signed(body: bytes, stamp: str | None = None, key: str = KEY) -> dict[str, str]:
    stamp = stamp if stamp is not None else str(int(NOW))
    return {
        "content-type": "application/json",
        "x-bamboohr-timestamp": stamp,
        "x-bamboohr-signature": bamboohr_signature(key, body, stamp),
    }


class Launches:
    """A stand-in for Prefect's run_deployment that records calls (or fails while `down`)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.down = False

    def __call__(self, event, registry_path: str) -> str:  # type: ignore[no-untyped-def]
        if self.down:
            raise ConnectionError("All connection attempts failed")
        self.calls.append(event.event_key)
        return f"run-{len(self.calls)}"


@pytest.fixture
def receiver(acme: Path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RELEVO_BAMBOOHR_WEBHOOK_KEY", KEY)
    monkeypatch.setenv("RELEVO_FACTORIAL_CHALLENGE", CHALLENGE)
    registry = load_registry(acme)
    launches = Launches()
    dispatcher = Dispatcher(
        Inbox(registry.database_url), str(registry.path), launch=launches, clock=lambda: NOW
    )
    with TestClient(create_app(acme, clock=lambda: NOW, dispatcher=dispatcher)) as client:
        yield client, dispatcher, launches


def big_int_body() -> bytes:
    return b'{"employees":[{"id":' + b"9" * 5000 + b',"changedFields":["Employment Status"]}]}'


def nested_body() -> bytes:
    return b'{"employees":' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def chunks(total: int):  # type: ignore[no-untyped-def]
    for _ in range(total // 65536 + 1):
        yield b" " * 65536


BODY = json.dumps(DISMISSAL).encode()
FBODY = json.dumps(FACTORIAL_TERMINATE).encode()
OTHER_KEY = "not-the-key"
BAD: list[tuple[str, str, str, dict, object, int, str]] = [
    # (case, method, path, headers, body, expected status, words the error must contain)
    ("forged signature", "POST", "/webhooks/bamboohr", signed(BODY, key=OTHER_KEY), BODY, 401, "signature"),
    (
        "body changed after signing",
        "POST",
        "/webhooks/bamboohr",
        signed(BODY),
        BODY.replace(b"1001", b"1002"),
        401,
        "signature",
    ),
    (
        "missing signature",
        "POST",
        "/webhooks/bamboohr",
        {"content-type": "application/json", "x-bamboohr-timestamp": str(int(NOW))},
        BODY,
        401,
        "missing",
    ),
    (
        "missing timestamp",
        "POST",
        "/webhooks/bamboohr",
        {"content-type": "application/json", "x-bamboohr-signature": "ab" * 32},
        BODY,
        401,
        "timestamp",
    ),
    (
        "signature for another timestamp",
        "POST",
        "/webhooks/bamboohr",
        {**signed(BODY, str(int(NOW) - 10)), "x-bamboohr-timestamp": str(int(NOW))},
        BODY,
        401,
        "signature",
    ),
    (
        "stale: just past BambooHR's retry horizon",
        "POST",
        "/webhooks/bamboohr",
        signed(BODY, str(int(NOW) - RETRY_HORIZON - 1)),
        BODY,
        401,
        "3 hours",
    ),
    (
        "from the future: 301 s ahead",
        "POST",
        "/webhooks/bamboohr",
        signed(BODY, str(int(NOW) + 301)),
        BODY,
        401,
        "5 minutes",
    ),
    (
        "replayed a day later (ISO timestamp)",
        "POST",
        "/webhooks/bamboohr",
        signed(BODY, datetime.fromtimestamp(NOW - 86400, UTC).isoformat()),
        BODY,
        401,
        "3 hours",
    ),
    ("timestamp not a time", "POST", "/webhooks/bamboohr", signed(BODY, "yesterday"), BODY, 401, "ISO-8601"),
    (
        "signature with unicode",
        "POST",
        "/webhooks/bamboohr",
        {**signed(BODY), "x-bamboohr-signature": ("é" * 64).encode()},
        BODY,
        401,
        "signature",
    ),
    (
        "signature header twice",
        "POST",
        "/webhooks/bamboohr",
        [*signed(BODY).items(), ("x-bamboohr-signature", "00" * 32)],
        BODY,
        401,
        "more than once",
    ),
    (
        "oversized (Content-Length)",
        "POST",
        "/webhooks/bamboohr",
        signed(b"{}"),
        b"{" + b" " * (1 << 20) + b"}",
        413,
        "larger",
    ),
    (
        "oversized (chunked, no Content-Length)",
        "POST",
        "/webhooks/bamboohr",
        signed(b"{}"),
        lambda: chunks(1 << 20),
        413,
        "larger",
    ),
    (
        "wrong content type",
        "POST",
        "/webhooks/bamboohr",
        {**signed(BODY), "content-type": "text/plain"},
        BODY,
        415,
        "application/json",
    ),
    (
        "form-encoded",
        "POST",
        "/webhooks/bamboohr",
        {**signed(b"a=1"), "content-type": "application/x-www-form-urlencoded"},
        b"a=1",
        415,
        "JSON",
    ),
    (
        "no content type",
        "POST",
        "/webhooks/bamboohr",
        {k: v for k, v in signed(BODY).items() if k != "content-type"},
        BODY,
        415,
        "Content-Type",
    ),
    ("truncated JSON", "POST", "/webhooks/bamboohr", signed(BODY[:-7]), BODY[:-7], 400, "not valid JSON"),
    ("empty body", "POST", "/webhooks/bamboohr", signed(b""), b"", 400, "empty"),
    ("not an object", "POST", "/webhooks/bamboohr", signed(b"[1,2]"), b"[1,2]", 400, "not an object"),
    ("huge number", "POST", "/webhooks/bamboohr", signed(big_int_body()), big_int_body(), 400, "too large"),
    (
        "number as id",
        "POST",
        "/webhooks/bamboohr",
        signed(b'{"employees":[{"id":1e999,"changedFields":["Status"]}]}'),
        b'{"employees":[{"id":1e999,"changedFields":["Status"]}]}',
        400,
        "id",
    ),
    (
        "deeply nested",
        "POST",
        "/webhooks/bamboohr",
        signed(nested_body()),
        nested_body(),
        400,
        "nested too deeply",
    ),
    (
        "invalid UTF-8",
        "POST",
        "/webhooks/bamboohr",
        signed(b'{"employees":"\xff\xfe\xc3"}'),
        b'{"employees":"\xff\xfe\xc3"}',
        400,
        "not UTF-8",
    ),
    (
        "unicode id",
        "POST",
        "/webhooks/bamboohr",
        signed(
            json.dumps(
                {"employees": [{"id": "１００１\u202e", "changedFields": ["Employment Status"]}]}
            ).encode()
        ),
        json.dumps(
            {"employees": [{"id": "１００１\u202e", "changedFields": ["Employment Status"]}]}
        ).encode(),
        400,
        "id",
    ),
    (
        "missing id",
        "POST",
        "/webhooks/bamboohr",
        signed(b'{"employees":[{"changedFields":["Employment Status"]}]}'),
        b'{"employees":[{"changedFields":["Employment Status"]}]}',
        400,
        "id",
    ),
    (
        "neither payload kind",
        "POST",
        "/webhooks/bamboohr",
        signed(b'{"hello":1}'),
        b'{"hello":1}',
        400,
        "employees",
    ),
    (
        "path in employee id",
        "POST",
        "/webhooks/bamboohr",
        signed(b'{"employees":[{"id":"../../etc/passwd","changedFields":["Employment Status"]}]}'),
        b'{"employees":[{"id":"../../etc/passwd","changedFields":["Employment Status"]}]}',
        400,
        "employee id",
    ),
    ("wrong method", "GET", "/webhooks/bamboohr", {}, None, 405, ""),
    ("wrong method on healthz", "POST", "/healthz", {"content-type": "application/json"}, b"{}", 405, ""),
    ("unknown route", "POST", "/webhooks/workday", signed(BODY), BODY, 404, ""),
    (
        "factorial: wrong challenge",
        "POST",
        "/webhooks/factorial",
        {"content-type": "application/json", "x-factorial-wh-challenge": "guess"},
        FBODY,
        401,
        "challenge",
    ),
    (
        "factorial: no challenge",
        "POST",
        "/webhooks/factorial",
        {"content-type": "application/json"},
        FBODY,
        401,
        "challenge",
    ),
    (
        "factorial: bad date",
        "POST",
        "/webhooks/factorial?subscription=employees/employee/terminate",
        {"content-type": "application/json", "x-factorial-wh-challenge": CHALLENGE},
        json.dumps({**FACTORIAL_TERMINATE, "terminated_on": "30/10/2026"}).encode(),
        400,
        "terminated_on",
    ),
    (
        "factorial: unknown subscription",
        "POST",
        "/webhooks/factorial?subscription=employees/employee/create",
        {"content-type": "application/json", "x-factorial-wh-challenge": CHALLENGE},
        FBODY,
        400,
        "subscription",
    ),
    # Without ?subscription= an object lacking termination fields used to be stored as a withdrawal.
    (
        "factorial: no subscription",
        "POST",
        "/webhooks/factorial",
        {"content-type": "application/json", "x-factorial-wh-challenge": CHALLENGE},
        json.dumps({**FACTORIAL_TERMINATE, "is_terminating": False, "terminated_on": None}).encode(),
        400,
        "?subscription=employees/employee/terminate",
    ),
    (
        "factorial: subscription twice",
        "POST",
        "/webhooks/factorial?subscription=employees/employee/terminate&subscription=employees/employee/unterminate",
        {"content-type": "application/json", "x-factorial-wh-challenge": CHALLENGE},
        FBODY,
        400,
        "subscription",
    ),
]


@pytest.mark.parametrize("case,method,path,headers,body,status,words", BAD, ids=[c[0] for c in BAD])
def test_bad_request_gets_its_status_and_starts_nothing(
    receiver, caplog, case, method, path, headers, body, status, words
):  # type: ignore[no-untyped-def]
    client, dispatcher, launches = receiver
    inbox = dispatcher.inbox
    before = inbox.events()
    caplog.set_level(logging.DEBUG)
    content = body() if callable(body) else body
    response = client.request(method, path, headers=headers, content=content)
    assert response.status_code == status, response.text
    assert words.lower() in response.text.lower()
    assert "Traceback" not in response.text and KEY not in response.text
    dispatcher.dispatch_due()
    assert launches.calls == [] and inbox.events() == before == []
    logged = caplog.text
    assert KEY not in logged and CHALLENGE not in logged
    if isinstance(headers, dict) and isinstance(headers.get("x-bamboohr-signature"), str):
        assert headers["x-bamboohr-signature"] not in logged  # never log the raw signature


def test_rejections_are_counted_by_reason(receiver):  # type: ignore[no-untyped-def]
    client, dispatcher, _ = receiver
    for _ in range(2):
        client.post("/webhooks/bamboohr", content=BODY, headers=signed(BODY, key=OTHER_KEY))
    client.post("/webhooks/bamboohr", content=BODY, headers=signed(BODY, str(int(NOW) - 4 * 3600)))
    reasons = {(r["outcome"], r["reason"]): r["count"] for r in dispatcher.inbox.reasons()}
    assert reasons == {("rejected", "401 bad signature"): 2, ("rejected", "401 stale timestamp"): 1}
    assert dispatcher.inbox.counts() == {"pending": 0, "dispatched": 0, "ignored": 0, "rejected": 3}


def test_termination_is_stored_before_the_202_and_once(receiver):  # type: ignore[no-untyped-def]
    client, dispatcher, launches = receiver
    dispatcher.stop()  # the background thread would race this test's own dispatch pass
    first = client.post("/webhooks/bamboohr", content=BODY, headers=signed(BODY))
    assert first.status_code == 202
    [key] = first.json()["stored"]
    [event] = dispatcher.inbox.events()  # committed by the time the 202 arrived
    assert (event.event_key, event.state, event.employee_id, event.kind) == (
        key,
        "pending",
        "1001",
        "terminated",
    )
    for _ in range(3):
        again = client.post("/webhooks/bamboohr", content=BODY, headers=signed(BODY))
        assert again.status_code == 202 and again.json()["already_stored"] == [key]
    assert dispatcher.dispatch_due() == 1 and dispatcher.dispatch_due() == 0
    assert launches.calls == [key]
    assert [(e.state, e.flow_run_id) for e in dispatcher.inbox.events()] == [("dispatched", "run-1")]


def test_bamboohr_retries_with_the_first_timestamp_are_accepted_up_to_the_last_retry(acme, monkeypatch):  # type: ignore[no-untyped-def]
    """BambooHR retries a 5xx at 5, 10, 20, 40 and 80 minutes (spec, webhook responses "500+") and never
    retries a 4xx: a retry signed with the first attempt's timestamp must not get a 401, or the termination
    is lost. The 80-minute retry arrives 155 min after the first try; a replay is stopped by the event key."""
    monkeypatch.setenv("RELEVO_BAMBOOHR_WEBHOOK_KEY", KEY)
    monkeypatch.setenv("RELEVO_FACTORIAL_CHALLENGE", CHALLENGE)
    first_try = int(NOW)
    headers = signed(BODY, str(first_try))
    now = {"t": NOW}
    registry = load_registry(acme)
    dispatcher = Dispatcher(
        Inbox(registry.database_url), str(registry.path), launch=Launches(), clock=lambda: now["t"]
    )
    with TestClient(create_app(acme, clock=lambda: now["t"], dispatcher=dispatcher)) as client:
        dispatcher.stop()
        statuses = []
        for minutes in (0, 5, 15, 35, 75, 155):  # the first try and BambooHR's five retries
            now["t"] = first_try + minutes * 60.0
            statuses.append(client.post("/webhooks/bamboohr", content=BODY, headers=headers).status_code)
        assert statuses == [202] * 6
        assert len(dispatcher.inbox.events()) == 1  # stored once: the retries are the same event
        now["t"] = first_try + RETRY_HORIZON + 1.0
        assert client.post("/webhooks/bamboohr", content=BODY, headers=headers).status_code == 401


def test_window_edges_and_iso_timestamps(receiver):  # type: ignore[no-untyped-def]
    client, dispatcher, _ = receiver
    dispatcher.stop()
    for stamp in (str(int(NOW) - RETRY_HORIZON), str(int(NOW) + 300), "2026-11-18T11:06:40+0000"):
        body = json.dumps({"employees": [{**DISMISSAL["employees"][0], "timestamp": stamp}]}).encode()
        assert (
            client.post("/webhooks/bamboohr", content=body, headers=signed(body, stamp)).status_code == 202
        ), stamp
    assert len(dispatcher.inbox.events()) == 3


def test_other_events_are_acknowledged_and_counted_as_ignored(receiver):  # type: ignore[no-untyped-def]
    client, dispatcher, launches = receiver
    body = json.dumps(
        {
            "employees": [
                {
                    "action": "Updated",
                    "changedFields": ["Job Title"],
                    "id": "1002",
                    "fields": {"Job Title": "Jefe"},
                    "timestamp": "2026-11-18T11:00:00+0000",
                }
            ]
        }
    ).encode()
    response = client.post("/webhooks/bamboohr", content=body, headers=signed(body))
    assert response.status_code == 202 and response.json() == {
        "stored": [],
        "already_stored": [],
        "ignored": 1,
    }
    dispatcher.dispatch_due()
    assert launches.calls == [] and dispatcher.inbox.events() == []
    assert dispatcher.inbox.counts()["ignored"] == 1


def test_factorial_terminate_and_unterminate(receiver):  # type: ignore[no-untyped-def]
    client, dispatcher, launches = receiver
    dispatcher.stop()
    headers = {"content-type": "application/json", "x-factorial-wh-challenge": CHALLENGE}
    terminate = client.post(
        "/webhooks/factorial?subscription=employees/employee/terminate", content=FBODY, headers=headers
    )
    withdrawn = json.dumps({**FACTORIAL_TERMINATE, "is_terminating": False, "terminated_on": None}).encode()
    unterminate = client.post(
        "/webhooks/factorial?subscription=employees/employee/unterminate", content=withdrawn, headers=headers
    )
    assert (terminate.status_code, unterminate.status_code) == (202, 202)
    events = {e.kind: e for e in dispatcher.inbox.events()}
    assert events["terminated"].event_key == "factorial:1003:terminated:2026-10-30"
    assert events["terminated"].effective_date == "2026-10-30"
    assert events["rescinded"].employee_id == "1003"


def test_every_stored_event_matches_the_schema(receiver):  # type: ignore[no-untyped-def]
    client, dispatcher, _ = receiver
    client.post("/webhooks/bamboohr", content=BODY, headers=signed(BODY))
    client.post(
        "/webhooks/factorial?subscription=employees/employee/terminate",
        content=FBODY,
        headers={"content-type": "application/json", "x-factorial-wh-challenge": CHALLENGE},
    )
    events = dispatcher.inbox.events()
    assert len(events) == 2
    for event in events:
        doc = {
            k: getattr(event, k)
            for k in (
                "event_key",
                "vendor",
                "employee_id",
                "kind",
                "received_at",
                "occurred_at",
                "effective_date",
            )
        }
        schemas.check("termination_event", doc, "stored event")


def test_missing_secret_is_a_503_not_a_401(receiver, monkeypatch, caplog):  # type: ignore[no-untyped-def]
    client, dispatcher, _ = receiver
    monkeypatch.delenv("RELEVO_BAMBOOHR_WEBHOOK_KEY")
    with TestClient(create_app(dispatcher.registry_path, clock=lambda: NOW)) as fresh:
        response = fresh.post("/webhooks/bamboohr", content=BODY, headers=signed(BODY))
    assert response.status_code == 503  # BambooHR retries 5xx: the event is not lost while this is fixed
    assert "RELEVO_BAMBOOHR_WEBHOOK_KEY is not set" in caplog.text


def test_event_key_is_bounded_and_stable():
    long = "x" * 500
    key = event_key("bamboohr", "1001", "terminated", long)
    assert len(key) <= 200 and key == event_key("bamboohr", "1001", "terminated", long)
    assert event_key("factorial", "7", "rescinded", None) == "factorial:7:rescinded:none"


def test_dispatcher_keeps_events_pending_while_prefect_is_down(acme):  # type: ignore[no-untyped-def]
    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    clock = [NOW]
    launches = Launches()
    launches.down = True
    dispatcher = Dispatcher(
        inbox,
        str(registry.path),
        launch=launches,
        clock=lambda: clock[0],
        base=1.0,
        cap=300.0,
        jitter=lambda: 1.0,
    )  # the worst case of full jitter, so the waits are exact
    doc = Inbox.event("bamboohr", "1001", "terminated", "abc", datetime.fromtimestamp(NOW, UTC))
    assert inbox.store(doc)
    waits = []
    for _ in range(4):
        assert dispatcher.dispatch_due() == 0
        [event] = inbox.events()
        due = datetime.fromisoformat(event.next_attempt_at).timestamp()
        waits.append(round(due - clock[0], 3))
        assert dispatcher.dispatch_due() == 0 and inbox.events()[0].attempts == event.attempts  # not due yet
        clock[0] = due
    assert waits == [1.0, 2.0, 4.0, 8.0]
    assert event.state == "pending" and "ConnectionError" in (event.last_error or "")
    launches.down = False
    assert dispatcher.dispatch_due() == 1
    [event] = inbox.events()
    assert (event.state, event.flow_run_id, event.attempts, event.last_error) == (
        "dispatched",
        "run-1",
        5,
        None,
    )


def test_backoff_is_capped():
    dispatcher = Dispatcher.__new__(Dispatcher)
    dispatcher.base, dispatcher.cap, dispatcher.jitter = 1.0, 300.0, lambda: 1.0
    assert dispatcher.delay(40) == 300.0
    dispatcher.jitter = lambda: 0.0
    assert dispatcher.delay(3) == 0.1  # never a busy loop


def test_restart_dispatches_what_was_pending(acme, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RELEVO_BAMBOOHR_WEBHOOK_KEY", KEY)
    registry = load_registry(acme)
    down = Launches()
    down.down = True
    first = Dispatcher(Inbox(registry.database_url), str(registry.path), launch=down)
    with TestClient(create_app(acme, dispatcher=first)) as client:
        body = json.dumps(DISMISSAL).encode()
        assert (
            client.post(
                "/webhooks/bamboohr", content=body, headers=signed(body, str(int(first.clock())))
            ).status_code
            == 202
        )
    assert [e.state for e in first.inbox.events()] == ["pending"]  # the receiver stopped with it undelivered

    up = Launches()
    second = Dispatcher(
        Inbox(registry.database_url), str(registry.path), launch=up, clock=lambda: first.clock() + 600
    )
    with TestClient(create_app(acme, dispatcher=second)):
        deadline = first.clock() + 10
        while second.inbox.events()[0].state != "dispatched" and first.clock() < deadline:
            second.wake()
    assert [e.state for e in second.inbox.events()] == ["dispatched"] and len(up.calls) == 1


def test_event_based_and_several_employees_per_post(receiver):  # type: ignore[no-untyped-def]
    client, dispatcher, _ = receiver
    dispatcher.stop()
    event_based = json.dumps(
        {
            "type": "employee.updated",
            "timestamp": "2026-11-18T11:00:00Z",
            "data": {
                "companyId": "12345",
                "employeeId": "1004",
                "changedFields": ["employmentHistoryStatus"],
            },
        }
    ).encode()
    assert (
        client.post("/webhooks/bamboohr", content=event_based, headers=signed(event_based)).status_code == 202
    )
    several = json.dumps(
        {
            "employees": [
                {
                    "action": "Updated",
                    "changedFields": ["Employment Status"],
                    "id": "1003",
                    "fields": {"Employment Status": "Terminated"},
                    "timestamp": "2026-11-18T11:00:00+0000",
                },
                {
                    "action": "Updated",
                    "changedFields": ["Job Title"],
                    "id": "1005",
                    "fields": {"Job Title": "Directora"},
                    "timestamp": "2026-11-18T11:00:00+0000",
                },
                {
                    "action": "Updated",
                    "changedFields": ["Termination Date"],
                    "id": "1006",
                    "fields": {"Termination Date": ""},
                    "timestamp": "2026-11-18T11:00:00+0000",
                },
            ]
        }
    ).encode()
    answer = client.post("/webhooks/bamboohr", content=several, headers=signed(several))
    assert answer.status_code == 202 and len(answer.json()["stored"]) == 2
    stored = sorted((e.employee_id, e.kind) for e in dispatcher.inbox.events())
    assert stored == [("1003", "terminated"), ("1004", "status_changed"), ("1006", "rescinded")]


def test_a_termination_given_again_after_a_withdrawal_counts(receiver):  # type: ignore[no-untyped-def]
    """terminate -> unterminate -> terminate with the same date: three events, three runs. It used to be
    dropped as already stored (the key was factorial:<id>:terminated:<date>). Redeliveries still dedupe."""
    client, dispatcher, launches = receiver
    dispatcher.stop()
    headers = {"content-type": "application/json", "x-factorial-wh-challenge": CHALLENGE}
    terminate = "/webhooks/factorial?subscription=employees/employee/terminate"
    unterminate = "/webhooks/factorial?subscription=employees/employee/unterminate"
    withdrawn = json.dumps({**FACTORIAL_TERMINATE, "is_terminating": False, "terminated_on": None}).encode()

    first = client.post(terminate, content=FBODY, headers=headers).json()
    assert client.post(terminate, content=FBODY, headers=headers).json()["already_stored"] == first["stored"]
    second = client.post(unterminate, content=withdrawn, headers=headers).json()
    again = client.post(terminate, content=FBODY, headers=headers).json()
    assert client.post(terminate, content=FBODY, headers=headers).json()["already_stored"] == again["stored"]
    withdrawn_again = client.post(unterminate, content=withdrawn, headers=headers).json()

    assert first["stored"] == ["factorial:1003:terminated:2026-10-30"]
    assert second["stored"] == ["factorial:1003:rescinded:none:after-1"]  # after one termination
    assert again["stored"] == ["factorial:1003:terminated:2026-10-30:after-1"]
    assert withdrawn_again["stored"] == ["factorial:1003:rescinded:none:after-2"]
    assert dispatcher.dispatch_due() == 4
    assert sorted(launches.calls) == sorted(
        first["stored"] + second["stored"] + again["stored"] + withdrawn_again["stored"]
    )


def test_bamboohr_redelivery_dedupes_and_a_new_dismissal_after_a_withdrawal_counts(receiver):  # type: ignore[no-untyped-def]
    client, dispatcher, _ = receiver
    dispatcher.stop()
    withdrawal = json.dumps(
        {
            "employees": [
                {
                    "action": "Updated",
                    "changedFields": ["Termination Date"],
                    "id": "1001",
                    "fields": {"Termination Date": ""},
                    "timestamp": "2026-11-20T10:00:00+0000",
                }
            ]
        }
    ).encode()
    first = client.post("/webhooks/bamboohr", content=BODY, headers=signed(BODY)).json()["stored"]
    client.post("/webhooks/bamboohr", content=withdrawal, headers=signed(withdrawal))
    # A redelivery of the first POST after the withdrawal is a new key: its run reads the HR record first.
    replay = client.post("/webhooks/bamboohr", content=BODY, headers=signed(BODY)).json()
    assert replay["stored"] and replay["stored"] != first and replay["stored"][0].endswith(":after-1")
    assert (
        client.post("/webhooks/bamboohr", content=BODY, headers=signed(BODY)).json()["already_stored"]
        == replay["stored"]
    )
