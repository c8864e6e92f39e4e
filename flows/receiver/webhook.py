"""The webhook receiver: verify, store, acknowledge; the dispatcher starts the flows.

HR platforms retry a webhook that does not get a 2xx (BambooHR 5 times over 2.5 h,
Factorial 20 times over 48 h), so the receiver answers 202 only after the event is
committed to the inbox, answers 4xx only for requests it will never accept, and never
lets bad input reach a 5xx. The signature is checked on the raw bytes before any JSON
parsing (the checks are in relevo/receiver/verify.py; only this module chooses status codes). Work
happens later, in the dispatcher's thread (relevo/receiver/dispatcher.py), which hands each pending
event to a Prefect deployment with the event key as idempotency key.

Checking a usual request (a few kB) is a fraction of a millisecond of CPU, so it runs on the
event loop: handing it to a thread would cost more, in thread switches, than the work. A body
over INLINE_MAX is checked, parsed and validated in the thread pool, so one large signed batch
cannot stall every other connection (a 9,500-employee body once held the loop for 7 s). The
inbox's group commit is awaited without holding a thread. The HTTP layer's limits (deadlines,
connection cap, framing) are in flows/receiver/transport.py.

About 400 lines: the four vendor routes, the request checks they share and the one store-then-acknowledge
path are kept together so that every status code the receiver can answer is chosen in this one module.

Kept as one module: the HTTP app and one handler per HR vendor, each verifying before it parses; the
dispatcher is in relevo.receiver.dispatcher.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from relevo.config.registry import Registry, load_registry
from relevo.config.secrets import resolve
from relevo.connectors import bamboohr, factorial, hibob, personio
from relevo.log import clean
from relevo.model import ConfigurationError
from relevo.receiver.dispatcher import Dispatcher, company_batch_launcher, company_launcher
from relevo.receiver.transport import FramingGuard, uvicorn_options
from relevo.receiver.verify import (
    BambooHRVerifier,
    Clock,
    FactorialVerifier,
    HiBobVerifier,
    PersonioVerifier,
    VerificationError,
)
from relevo.storage.inbox import Inbox

logger = logging.getLogger("relevo.webhook")

MAX_BODY = 1024 * 1024  # 1 MiB: a termination webhook is a few kB
# Employees in one BambooHR delivery. Each becomes an event and a Prefect run; a larger batch is a
# layoff, which `relevo layoff` runs with each presence listed once (README: "Running the receiver in public").
MAX_EMPLOYEES = 500
INLINE_MAX = 16 * 1024  # bodies up to this size are checked on the event loop (~100 employees)


class Rejected(Exception):
    """A request relevo will never accept: status code, a message for the sender, a fixed counter label."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


class NotReady(Exception):
    """The receiver cannot store the event right now (secret missing, database down): the vendor retries."""


# --- request checks (the signature checks are in relevo/receiver/verify.py) ---


def one_header(headers: Any, name: str) -> str | None:
    """A header that must appear at most once (two signatures would make the check ambiguous)."""
    values = headers.getlist(name)
    if len(values) > 1:
        credential = any(word in name.lower() for word in ("signature", "challenge", "authorization"))
        raise Rejected(401 if credential else 400, f"header {name} given more than once", "duplicate header")
    return values[0] if values else None


def verify(check: Callable[..., None], *args: Any) -> None:
    """Run a verifier's check; a delivery that fails it is refused with 401 (the vendor does not retry a 4xx)."""
    try:
        check(*args)
    except VerificationError as exc:
        raise Rejected(401, exc.message, exc.reason) from None


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise Rejected(400, "empty body: expected a JSON object", "empty body")
    try:
        payload = json.loads(body)
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8", "not json") from None
    except json.JSONDecodeError as exc:
        raise Rejected(
            400, f"body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", "not json"
        ) from None
    except RecursionError:
        raise Rejected(400, "body is not usable JSON: nested too deeply", "not json") from None
    except ValueError:  # Python's limit on integer digits
        raise Rejected(400, "body is not usable JSON: a number is too large", "not json") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "body is JSON but not an object", "wrong shape")
    return payload


# --- the receiver: vendor routes over one store-then-acknowledge path ---


class Receiver:
    """Turns verified vendor payloads into stored inbox events."""

    def __init__(self, registry: Registry, inbox: Inbox, clock: Clock, wake: Callable[[], None]) -> None:
        self.registry = registry
        self.inbox = inbox
        self.clock = clock
        self.wake = wake
        self._secrets: dict[str, str] = {}

    def secret(self, vendor: str, field: str) -> str:
        """The vendor's webhook secret from the registry's reference; resolved once, never logged."""
        if vendor not in self._secrets:
            config = (self.registry.data.get("webhooks") or {}).get(vendor)
            if config is None:
                raise Rejected(404, f"webhooks.{vendor} is not configured in the registry", "not configured")
            try:
                self._secrets[vendor] = resolve(config.get(field), f"webhooks.{vendor}.{field}")
            except ConfigurationError as exc:
                logger.error("cannot verify %s webhooks: %s", vendor, exc)
                raise NotReady(f"webhook secret for {vendor} is not available") from None
        return self._secrets[vendor]

    def bamboohr(self, body: bytes, headers: Any, query: Any) -> list[dict[str, Any]]:
        key = self.secret("bamboohr", "private_key")
        signature = one_header(headers, "x-bamboohr-signature")
        timestamp = one_header(headers, "x-bamboohr-timestamp")
        verify(BambooHRVerifier(key, clock=self.clock).verify, body, timestamp, signature)
        payload = parse_json(body)
        entries = payload.get("employees")
        if isinstance(entries, list) and len(entries) > MAX_EMPLOYEES:
            raise Rejected(
                413,
                f"{len(entries)} employees in one delivery; the receiver accepts at most "
                f"{MAX_EMPLOYEES} (offboard a larger group with `relevo layoff`)",
                "too many employees",
            )
        try:
            changes = bamboohr.parse_webhook(payload)
        except ValueError as exc:
            raise Rejected(400, clean(str(exc)), "wrong shape") from None
        return self.events("bamboohr", [(c.employee_id, c.kind, c.change_fingerprint, None) for c in changes])

    def factorial(self, body: bytes, headers: Any, query: Any) -> list[dict[str, Any]]:
        """One target URL per subscription: `?subscription=employees/employee/terminate` (or unterminate).

        The payload is the bare employee object, the same for both subscriptions: only the URL says
        whether it reports a termination or its withdrawal, so a post without a known subscription
        is refused (400) rather than guessed from the object.
        """
        verify(
            FactorialVerifier(self.secret("factorial", "challenge")).verify,
            one_header(headers, "x-factorial-wh-challenge"),
        )
        subscriptions = query.getlist("subscription")
        if len(subscriptions) != 1 or subscriptions[0] not in factorial.SUBSCRIPTIONS:
            raise Rejected(
                400,
                "unknown subscription: the webhook's target URL must end in "
                "?subscription=employees/employee/terminate (or employees/employee/unterminate)",
                "unknown subscription",
            )
        payload = parse_json(body)
        try:
            change = factorial.parse_webhook(payload, subscriptions[0])
        except ValueError as exc:
            raise Rejected(400, clean(str(exc)), "wrong shape") from None
        date = change["effective_date"]
        return self.events("factorial", [(change["employee_id"], change["kind"], date, date)])

    def personio(self, body: bytes, headers: Any, query: Any) -> list[dict[str, Any]]:
        """A dataless Employment.updated / employment.terminated notification: stored as "status_changed".

        The run it starts reads the person's employment and does nothing unless it shows a termination
        (flows/engine/gate.py); a withdrawal is found by reconciliation. `webhooks.personio.company_id`,
        when set, refuses notifications for another Personio company sent with the same token.
        """
        token = self.secret("personio", "token")
        verify(PersonioVerifier(token).verify, one_header(headers, "Authorization"))
        payload = parse_json(body)
        company = ((self.registry.data.get("webhooks") or {}).get("personio") or {}).get("company_id")
        if company is not None and str(payload.get("company_id")) != str(company):
            raise Rejected(
                400,
                "company_id is not the company configured in webhooks.personio.company_id",
                "other company",
            )
        try:
            change = personio.parse_webhook(payload)
        except ValueError as exc:
            raise Rejected(400, clean(str(exc)), "wrong shape") from None
        if change is None:
            return []
        received = datetime.fromtimestamp(self.clock(), UTC)
        try:  # occurred_at kept: a notification of a change made before a polled termination repeats it
            return [
                Inbox.event(
                    "personio",
                    change["employee_id"],
                    "status_changed",
                    change["fingerprint"],
                    received,
                    occurred_at=change["occurred_at"],
                )
            ]
        except ValueError as exc:  # SchemaError: the message names the field
            raise Rejected(400, clean(str(exc), 300), "wrong shape") from None

    def hibob(self, body: bytes, headers: Any, query: Any) -> list[dict[str, Any]]:
        """Bob webhooks v2: employee.left, employee.activated, lifecycle table entries (connectors.hibob)."""
        secret = self.secret("hibob", "secret")
        verify(HiBobVerifier(secret).verify, body, one_header(headers, "bob-signature"))
        try:
            changes = hibob.parse_webhook(parse_json(body))
        except ValueError as exc:
            raise Rejected(400, clean(str(exc)), "wrong shape") from None
        return self.events("hibob", [(c.employee_id, c.kind, c.change_fingerprint, None) for c in changes])

    def events(
        self, vendor: str, changes: list[tuple[str, str, str | None, str | None]]
    ) -> list[dict[str, Any]]:
        """The event documents, each checked against the schema (all or nothing) before any is stored."""
        received = datetime.fromtimestamp(self.clock(), UTC)
        try:
            return [
                Inbox.event(vendor, employee_id, kind, change, received, effective_date=effective_date)
                for employee_id, kind, change, effective_date in changes
            ]
        except ValueError as exc:  # SchemaError: the message names the field
            raise Rejected(400, clean(str(exc), 300), "wrong shape") from None

    async def accept(self, vendor: str, docs: list[dict[str, Any]]) -> dict[str, Any]:
        """Store the events in one transaction and return once it is committed: the 202 comes after."""
        ignored = 0 if docs else 1  # a valid webhook about something else than a termination
        received = datetime.fromtimestamp(self.clock(), UTC)

        def write(conn: Connection) -> list[bool]:
            if ignored:
                Inbox.tally(conn, vendor, "ignored", "not a termination", received)
            return [self.inbox.add(conn, doc) for doc in docs]

        try:
            added = await asyncio.wrap_future(self.inbox.writer.submit(write))
        except Exception as exc:  # the database: the vendor retries on 5xx, so nothing is lost
            logger.error("inbox unavailable: %s", type(exc).__name__)
            raise NotReady("the event could not be stored") from None
        for doc, new in zip(docs, added, strict=True):
            logger.info(
                "%s %s event %s for employee %s",
                "stored" if new else "already stored",
                vendor,
                doc["kind"],
                doc["employee_id"],
            )
        if ignored:
            logger.info("%s webhook ignored: not a termination", vendor)
        if any(added):
            self.wake()
        return {
            "stored": [doc["event_key"] for doc, new in zip(docs, added, strict=True) if new],
            "already_stored": [doc["event_key"] for doc, new in zip(docs, added, strict=True) if not new],
            "ignored": ignored,
        }


async def read_body(request: Request) -> bytes:
    """The raw body, refusing more than 1 MiB whatever Content-Length claims."""

    lengths = request.headers.getlist("content-length")
    if len(lengths) > 1:
        raise Rejected(400, "header Content-Length given more than once", "duplicate header")
    if lengths:
        if not lengths[0].strip().isdigit():
            raise Rejected(400, "Content-Length is not a number", "bad length")
        if int(lengths[0]) > MAX_BODY:
            raise Rejected(413, f"body larger than {MAX_BODY} bytes", "too large")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise Rejected(413, f"body larger than {MAX_BODY} bytes", "too large")
    except ClientDisconnect:
        raise Rejected(
            400, "the client closed the connection before the body was complete", "incomplete body"
        ) from None
    return bytes(body)


def check_content_type(request: Request) -> None:
    values = request.headers.getlist("content-type")
    media = values[0].split(";")[0].strip().lower() if len(values) == 1 else ""
    if media != "application/json":
        raise Rejected(
            415,
            "Content-Type must be application/json (set the webhook's format to JSON)",
            "wrong content type",
        )


def create_app(
    registry_path: str | Path, clock: Clock = time.time, dispatcher: Dispatcher | None = None
) -> FastAPI:
    """The FastAPI app. `clock` and `dispatcher` are injectable so tests are exact and start nothing."""
    registry = load_registry(registry_path)
    inbox = dispatcher.inbox if dispatcher is not None else Inbox(registry.owned_database_url())
    receiver = Receiver(registry, inbox, clock, dispatcher.wake if dispatcher is not None else (lambda: None))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        if dispatcher is not None:
            dispatcher.start()
        try:
            yield
        finally:
            if dispatcher is not None:
                dispatcher.stop()

    # No /openapi.json nor /docs: the public surface is the two webhook routes and a liveness probe.
    app = FastAPI(
        title="relevo webhook receiver", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.add_middleware(FramingGuard)

    async def handle(
        vendor: str,
        request: Request,
        verify: Callable[[bytes, Any, Any], list[dict[str, Any]]],
        ping: Callable[[bytes], bool] | None = None,
    ) -> JSONResponse:
        try:
            if ping is not None:  # a connection test, whatever its content type: 200, stored nowhere
                body = await read_body(request)
                if ping(body):
                    return JSONResponse({"ping": "ok"}, status_code=200)
                check_content_type(request)
            else:
                check_content_type(request)
                body = await read_body(request)
            if len(body) <= INLINE_MAX:
                docs = verify(body, request.headers, request.query_params)
            else:
                docs = await run_in_threadpool(verify, body, request.headers, request.query_params)
            result = await receiver.accept(vendor, docs)
        except Rejected as rejected:
            await count_rejection(inbox, vendor, rejected, clock)
            logger.warning("rejected %s webhook: %s %s", vendor, rejected.status, rejected.reason)
            return JSONResponse({"error": rejected.message}, status_code=rejected.status)
        except NotReady as exc:
            return JSONResponse({"error": f"{exc}; retry later"}, status_code=503)
        return JSONResponse(result, status_code=202)

    @app.post("/webhooks/bamboohr", status_code=202)
    async def bamboohr_webhook(request: Request) -> JSONResponse:
        """BambooHR employee webhook (field-based or event-based payload, JSON format)."""
        return await handle("bamboohr", request, receiver.bamboohr)

    @app.post("/webhooks/factorial", status_code=202)
    async def factorial_webhook(request: Request) -> JSONResponse:
        """Factorial employees/employee/terminate and unterminate subscriptions."""
        return await handle("factorial", request, receiver.factorial)

    @app.post("/webhooks/personio", status_code=202)
    async def personio_webhook(request: Request) -> JSONResponse:
        """Personio API v2 webhook notifications (Employment.updated, employment.terminated)."""
        return await handle("personio", request, receiver.personio)

    @app.post("/webhooks/hibob", status_code=202)
    async def hibob_webhook(request: Request) -> JSONResponse:
        """Bob webhooks v2 signed with Bob-Signature; Bob's "Ping test" is acknowledged."""
        return await handle("hibob", request, receiver.hibob, ping=hibob.is_ping)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        """Liveness only: it is public, so it tells nothing about the inbox (counts: `relevo inbox`)."""
        return {"status": "ok"}

    return app


async def count_rejection(inbox: Inbox, vendor: str, rejected: Rejected, clock: Clock) -> None:
    at = datetime.fromtimestamp(clock(), UTC)
    try:
        await asyncio.wrap_future(
            inbox.writer.submit(
                lambda conn: Inbox.tally(conn, vendor, "rejected", f"{rejected.status} {rejected.reason}", at)
            )
        )
    except Exception as exc:  # a counter must never turn a 4xx into a 5xx
        logger.error("could not count a rejected request: %s", type(exc).__name__)


WEBHOOK_SECRETS = {
    "bamboohr": "private_key",
    "factorial": "challenge",
    "personio": "token",
    "hibob": "secret",
}


def prefect_api_url() -> str | None:
    """The Prefect API the dispatcher would talk to (environment or Prefect profile), if any."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


def preflight(registry: Registry) -> None:
    """What the receiver needs before it listens; ConfigurationError names the first thing missing.

    Without a Prefect API, Prefect's client would start a temporary server of its own on the first
    dispatch, which outlived the receiver; without its key, the receiver would answer 503 to every
    delivery while looking healthy. Both are found here, before the port opens.
    """
    if not prefect_api_url():
        raise ConfigurationError(
            "PREFECT_API_URL is not set: the receiver hands events to a running Prefect server and does not start "
            "one of its own (set PREFECT_API_URL, e.g. http://127.0.0.1:4200/api)"
        )
    webhooks = registry.data.get("webhooks") or {}
    if not webhooks:
        raise ConfigurationError(
            f"{registry.path}: no webhooks block: configure webhooks.bamboohr.private_key, "
            "webhooks.factorial.challenge, webhooks.personio.token or webhooks.hibob.secret"
        )
    for vendor, field in WEBHOOK_SECRETS.items():
        if vendor in webhooks:
            resolve(webhooks[vendor].get(field), f"{registry.path}: webhooks.{vendor}.{field}")


def serve(
    registry_path: str | Path,
    host: str,
    port: int,
    worker_registry: str | None = None,
    gather: float = 2.0,
    gather_window: float = 30.0,
) -> None:
    """Run the receiver and its dispatcher until interrupted (`relevo webhook serve`; `preflight` first).

    The runs it starts carry no registry path unless the operator names one (`worker_registry`, the
    path on the workers): each worker finds its own, and the receiver's own path means nothing there.
    Terminations that arrive together become one batch run (`gather`, `gather_window`: see
    relevo.receiver.dispatcher); `gather` 0 starts one run per termination.
    """
    import prefect.deployments  # noqa: F401  (imported at start, not at the first event: ~1 s off its dispatch)
    import uvicorn

    registry = load_registry(registry_path)
    dispatcher = Dispatcher(
        Inbox(registry.owned_database_url()),
        worker_registry,
        launch=company_launcher(registry),
        retention_days=registry.inbox_retention_days,
        launch_batch=company_batch_launcher(registry) if gather > 0 else None,
        quiet=gather,
        window=max(gather, gather_window),
    )
    app = create_app(registry.path, dispatcher=dispatcher)
    # Prefect's import leaves ~150,000 long-lived objects; each full collection walked them all, an
    # 80-90 ms stop of every request in flight. Frozen, they are never scanned again.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=True, **uvicorn_options())
