"""Issue 18: the receiver in public. Slow clients, framing, public surface, batch size, retention,
and `relevo webhook serve` refusing to start half-configured.

The transport tests run the real app under uvicorn with relevo's protocol on loopback, with
short deadlines so each is bounded to a few seconds and a dozen sockets.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from typer.testing import CliRunner

from relevo.cli.main import app as cli
from relevo.config.registry import load_registry
from relevo.receiver.dispatcher import Dispatcher
from relevo.receiver.transport import guarded_protocol, uvicorn_options
from relevo.receiver.verify import bamboohr_signature
from relevo.receiver.webhook import INLINE_MAX, MAX_EMPLOYEES, create_app
from relevo.storage.inbox import Inbox
from tests.support.canaries import FACTORIAL_CHALLENGE as CHALLENGE
from tests.support.canaries import WEBHOOK_KEY as KEY

ROOT = Path(__file__).resolve().parent.parent


def signed(body: bytes, key: str = KEY) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "content-type": "application/json",
        "x-bamboohr-timestamp": stamp,
        "x-bamboohr-signature": bamboohr_signature(key, body, stamp),
    }


def dismissals(count: int) -> bytes:
    return json.dumps(
        {
            "employees": [
                {
                    "action": "Updated",
                    "changedFields": ["Employment Status"],
                    "id": str(5000 + i),
                    "fields": {"Employment Status": "Terminated"},
                    "timestamp": "2026-11-20T09:12:00+0000",
                }
                for i in range(count)
            ]
        }
    ).encode()


@pytest.fixture
def app_and_inbox(acme: Path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RELEVO_BAMBOOHR_WEBHOOK_KEY", KEY)
    monkeypatch.setenv("RELEVO_FACTORIAL_CHALLENGE", CHALLENGE)
    inbox = Inbox(load_registry(acme).database_url)
    dispatcher = Dispatcher(inbox, str(acme), launch=lambda event, path: "run")
    dispatcher.start = lambda: None  # type: ignore[method-assign]  (nothing to dispatch in these tests)
    return create_app(acme, dispatcher=dispatcher), inbox


@contextmanager
def live(
    app, header_timeout: float = 0.6, body_timeout: float = 0.6, max_connections: int = 8
) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """The app under uvicorn with relevo's options (shorter limits), on a loopback port; yields the port."""
    options = {**uvicorn_options(), "http": guarded_protocol(header_timeout, body_timeout, max_connections)}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def read_all(sock: socket.socket, limit: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (or `limit` seconds pass)."""
    sock.settimeout(limit)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return data + b"<still open>"
    except ConnectionResetError:
        pass
    return data


def healthz(port: int) -> tuple[bytes, float]:
    started = time.monotonic()
    with connect(port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return read_all(sock), time.monotonic() - started


# --- 1. slow clients ---


def test_stalled_headers_and_bodies_are_closed_and_others_still_served(app_and_inbox):  # type: ignore[no-untyped-def]
    app, inbox = app_and_inbox
    with live(app, header_timeout=0.6, body_timeout=0.6, max_connections=8) as port:
        started = time.monotonic()
        silent = connect(port)  # connects and never sends a byte
        half = [connect(port) for _ in range(4)]
        for sock in half:
            sock.sendall(b"POST /webhooks/bamboohr HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
        body = dismissals(1)
        slow_body = connect(port)
        slow_body.sendall(
            b"POST /webhooks/bamboohr HTTP/1.1\r\nHost: x\r\n"
            + b"".join(f"{k}: {v}\r\n".encode() for k, v in signed(body).items())
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        answer, took = healthz(port)  # while they all stall
        assert answer.startswith(b"HTTP/1.1 200") and b'{"status":"ok"}' in answer and took < 0.5
        for sock in half:
            assert read_all(sock).startswith(b"HTTP/1.1 408 Request Timeout")
        assert read_all(silent) == b""  # closed without a word: nothing of a request had arrived
        assert read_all(slow_body) == b""  # the body stalled: closed, nothing stored
        assert time.monotonic() - started < 3.0
        for sock in (silent, slow_body, *half):
            sock.close()
    assert inbox.events() == []


def test_more_connections_than_the_cap_evict_the_longest_waiting(app_and_inbox):  # type: ignore[no-untyped-def]
    """12 stalled sockets against a cap of 8 (and a 10 s deadline that does not fire here): the oldest
    stalled ones are closed as new connections arrive, so a real request still gets through at once."""
    app, _ = app_and_inbox
    with live(app, header_timeout=10, body_timeout=10, max_connections=8) as port:
        stalled = []
        for _ in range(12):
            sock = connect(port)
            sock.sendall(b"GET /heal")
            stalled.append(sock)
            time.sleep(0.02)  # a definite order of arrival
        answer, took = healthz(port)
        assert answer.startswith(b"HTTP/1.1 200") and took < 1.0
        closed = [read_all(sock, 0.3) != b"<still open>" for sock in stalled]
        assert closed[:5] == [True] * 5  # the oldest went first (12 + the probe - 8 = 5)
        assert closed[-3:] == [False] * 3  # the newest are still waiting for their deadline
        for sock in stalled:
            sock.close()


def test_uvicorn_runs_with_relevos_limits():
    options = uvicorn_options()
    assert options["limit_concurrency"] > options["http"].max_connections > 0
    assert options["timeout_keep_alive"] == 5 and options["h11_max_incomplete_event_size"] == 16 * 1024
    assert options["http"].header_timeout == 10 and options["http"].body_timeout == 30


# --- 5. Content-Length and Transfer-Encoding together ---


def test_content_length_with_transfer_encoding_is_400_and_closed(app_and_inbox):  # type: ignore[no-untyped-def]
    app, inbox = app_and_inbox
    body = dismissals(1)
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    with live(app) as port, connect(port) as sock:
        sock.sendall(
            b"POST /webhooks/bamboohr HTTP/1.1\r\nHost: x\r\n"
            + b"".join(f"{k}: {v}\r\n".encode() for k, v in signed(body).items())
            + f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + chunked
            + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        )  # a second request on the same connection
        answer = read_all(sock)
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 400") and b"connection: close" in head
    assert (
        b"Transfer-Encoding" in answer and answer.count(b"HTTP/1.1") == 1
    )  # closed: the second one unanswered
    assert inbox.events() == []


# --- 2. the public surface ---


def test_healthz_is_liveness_only_and_no_openapi_is_served(app_and_inbox):  # type: ignore[no-untyped-def]
    app, inbox = app_and_inbox
    inbox.count("bamboohr", "rejected", "401 bad signature", datetime.now(UTC))
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert client.get(path).status_code == 404, path


def test_inbox_counts_are_counted_by_the_database(acme):  # type: ignore[no-untyped-def]
    inbox = Inbox(load_registry(acme).database_url)
    at = datetime(2026, 11, 20, tzinfo=UTC)
    for i in range(5):
        inbox.store(Inbox.event("bamboohr", str(1000 + i), "terminated", f"c{i}", at))
    inbox.dispatched("bamboohr:1000:terminated:c0", "run-0", at)
    inbox.count("bamboohr", "rejected", "401 bad signature", at)
    inbox.count("factorial", "rejected", "401 bad challenge", at)
    statements: list[str] = []
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    sa_event.listen(inbox.engine, "before_cursor_execute", listener)
    try:
        assert inbox.counts() == {"pending": 4, "dispatched": 1, "ignored": 0, "rejected": 2}
    finally:
        sa_event.remove(inbox.engine, "before_cursor_execute", listener)
    assert statements and all("GROUP BY" in s for s in statements), statements


# --- 4. one delivery's size ---


def test_a_batch_above_the_cap_is_refused_whole_and_parsed_off_the_event_loop(app_and_inbox, monkeypatch):  # type: ignore[no-untyped-def]
    from relevo.connectors import bamboohr

    app, inbox = app_and_inbox
    on_loop: list[bool] = []
    real = bamboohr.parse_webhook

    def parse(payload):  # type: ignore[no-untyped-def]
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real(payload)

    monkeypatch.setattr(bamboohr, "parse_webhook", parse)
    too_many = dismissals(MAX_EMPLOYEES + 1)
    with TestClient(app) as client:
        refused = client.post("/webhooks/bamboohr", content=too_many, headers=signed(too_many))
        assert refused.status_code == 413
        assert (
            f"at most {MAX_EMPLOYEES}" in refused.json()["error"]
            and "relevo layoff" in refused.json()["error"]
        )
        assert inbox.events() == []
        small, large = dismissals(3), dismissals(200)
        assert len(small) <= INLINE_MAX < len(large)
        for body in (small, large):
            assert client.post("/webhooks/bamboohr", content=body, headers=signed(body)).status_code == 202
    assert len(inbox.events()) == 200  # the large batch includes the small one's three employees
    assert on_loop == [True, False]  # a few kB on the event loop; the large batch in the thread pool


# --- 3. retention ---


def test_retention_prunes_only_old_finished_events(acme):  # type: ignore[no-untyped-def]
    inbox = Inbox(load_registry(acme).database_url)
    now = datetime(2026, 11, 27, tzinfo=UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=2)

    def add(employee: str, at: datetime, run_state: str | None, dispatched: bool = True) -> str:
        doc = Inbox.event("bamboohr", employee, "terminated", "c", at)
        inbox.store(doc)
        if dispatched:
            inbox.dispatched(doc["event_key"], f"run-{employee}", at)
        if run_state:
            inbox.run_seen(doc["event_key"], run_state, at)  # what the dispatcher's follow() records
        return doc["event_key"]

    completed, failed = add("1", old, "COMPLETED"), add("2", old, "FAILED")
    kept = [
        add("3", old, "RUNNING"),
        add("4", old, None),
        add("5", old, None, dispatched=False),
        add("6", recent, "COMPLETED"),
    ]  # running, never seen, pending, finished but recent
    dispatcher = Dispatcher(inbox, str(acme), launch=lambda e, p: "run", clock=now.timestamp)
    assert dispatcher.retention_days == 30
    assert dispatcher.prune() == 2
    remaining = {e.event_key for e in inbox.events()}
    assert remaining == set(kept) and not {completed, failed} & remaining
    add("7", old, "CANCELLED")
    dispatcher.prune_if_due()  # due (it never ran through the loop) ...
    assert len(inbox.events()) == 4
    add("8", old, "COMPLETED")
    dispatcher.prune_if_due()  # ... and then not again within the hour
    assert len(inbox.events()) == 5
    result = CliRunner().invoke(cli, ["inbox", "--prune", "--registry", str(acme)])  # by hand
    assert result.exit_code == 0 and "Pruned 1 finished event(s) older than 30 days." in result.output
    assert len(inbox.events()) == 4


def test_retention_shorter_than_the_redelivery_window_is_refused(tmp_path, acme):  # type: ignore[no-untyped-def]
    from relevo.model import ConfigurationError

    acme.write_text(acme.read_text("utf-8") + "\nstorage: {inbox_retention_days: 1}\n", "utf-8")
    with pytest.raises(ConfigurationError, match="storage.inbox_retention_days"):
        load_registry(acme)


# --- 6, 7, 9. `relevo webhook serve` refuses to start half-configured ---


def test_serve_without_its_webhook_key_refuses_to_start(acme, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("relevo.receiver.webhook.prefect_api_url", lambda: "http://127.0.0.1:9/api")
    monkeypatch.setenv("RELEVO_FACTORIAL_CHALLENGE", CHALLENGE)
    monkeypatch.delenv("RELEVO_BAMBOOHR_WEBHOOK_KEY", raising=False)
    served: list[object] = []
    monkeypatch.setattr("relevo.receiver.webhook.serve", lambda *a: served.append(a))
    result = CliRunner().invoke(cli, ["webhook", "serve", "--registry", str(acme)])
    assert result.exit_code == 2 and served == []
    assert (
        "webhooks.bamboohr.private_key: environment variable RELEVO_BAMBOOHR_WEBHOOK_KEY is not set"
        in result.output
    )
    assert "Traceback" not in result.output


def test_serve_prints_the_database_url_with_its_password_masked(acme, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("relevo.receiver.webhook.prefect_api_url", lambda: "http://127.0.0.1:9/api")
    monkeypatch.setenv("RELEVO_BAMBOOHR_WEBHOOK_KEY", KEY)
    monkeypatch.setenv("RELEVO_FACTORIAL_CHALLENGE", CHALLENGE)
    monkeypatch.setattr("relevo.receiver.webhook.serve", lambda *a: None)
    monkeypatch.setattr("relevo.storage.db.check_company", lambda *a: None)  # no server at db.internal
    monkeypatch.setattr(
        "relevo.config.registry.Registry.database_url",
        "postgresql+psycopg://relevo:db-password-canary@db.internal:5432/relevo",
    )
    result = CliRunner().invoke(cli, ["webhook", "serve", "--registry", str(acme)])
    assert result.exit_code == 0, result.output
    assert "inbox in postgresql+psycopg://relevo:***@db.internal:5432/relevo" in result.output
    assert "db-password-canary" not in result.output


def test_serve_without_prefect_api_url_refuses_and_leaves_no_process(acme, tmp_path):  # type: ignore[no-untyped-def]
    """Before, the receiver started and its first dispatch brought up a temporary Prefect server that
    outlived it. Now it exits 2 naming PREFECT_API_URL, before anything is started."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        RELEVO_BAMBOOHR_WEBHOOK_KEY=KEY,
        RELEVO_FACTORIAL_CHALLENGE=CHALLENGE,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "relevo.cli", "webhook", "serve", "--registry", str(acme), "--port", "9"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 2, err
    assert "PREFECT_API_URL" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ProcessLookupError):  # nothing of its session is left running
        os.killpg(process.pid, 0)
