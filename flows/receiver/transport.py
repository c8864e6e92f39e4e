"""The receiver's HTTP layer: limits a public endpoint needs that uvicorn does not set by itself.

uvicorn (0.54, h11) arms no timer while a request's headers or body are arriving: a client
that sends half its headers holds its socket for ever, and a few hundred of them exhaust the
process's file descriptors until `accept` fails for everyone. `GuardedH11Protocol` gives every
request a deadline for its headers and another for its body, closes connections that miss
them, and keeps the number of open connections bounded by evicting the longest-waiting
connection that has not sent a complete request. `FramingGuard` refuses a request that
carries both Content-Length and Transfer-Encoding (RFC 9112 §6.1: the server must close the
connection after answering it), where h11 would read it as chunked and keep the connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("relevo.webhook")

HEADER_TIMEOUT = 10.0  # seconds from the first byte (or the connection) to the end of the headers
BODY_TIMEOUT = 30.0  # seconds from the end of the headers to the end of the body (1 MiB at most)
KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open (uvicorn's timeout_keep_alive)
MAX_CONNECTIONS = 200  # open connections; above it the longest-waiting incomplete one is closed
RESERVED_FDS = 64  # descriptors kept for the inbox database, the Prefect client, logs
MAX_HEADER_BYTES = 16 * 1024  # h11's limit on a request line plus headers (a vendor sends < 2 kB)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's headers and body, and a connection cap.

    The class attributes are the limits; `guarded_protocol()` makes a subclass with others (tests use
    short ones). A request "waits" from its connection (or the end of the previous response) until
    h11 has parsed its headers, then until its body is complete; a connection that misses either
    deadline is closed: with a 408 when nothing of the request reached the application, silently
    (the application sees a disconnect) when the body stalled.
    """

    header_timeout = HEADER_TIMEOUT
    body_timeout = BODY_TIMEOUT
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: str | None = None  # "headers", "body" or None (no request arriving)
        self._waiting_since: float | None = None  # monotonic; set while no request is in the application
        self._received = False  # bytes of the current request arrived (a 408 then makes sense)

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("headers")
        if len(self.connections) > self.max_connections:
            self._evict()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._waiting_since = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase is None and self.conn.their_state is h11.IDLE:
            self._arm("headers")  # the first bytes of the next request on a kept-alive connection
        self._received = True
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start the next pipelined request
        self._follow()

    # --- deadlines ---

    def _follow(self) -> None:
        """Move the deadline along with h11's view of the client's request."""
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            self._waiting_since = None
            if self._phase != "body":
                self._arm("body")
        elif state is not h11.IDLE:  # DONE, MUST_CLOSE, ERROR, CLOSED: nothing more to wait for
            self._waiting_since = None
            self._disarm()
        elif self._phase is None:  # IDLE between requests: uvicorn's keep-alive timer runs
            self._received = False
            self._waiting_since = time.monotonic()

    def _arm(self, phase: str) -> None:
        self._disarm()
        self._phase = phase
        if phase == "headers":
            self._waiting_since = time.monotonic()
        timeout = self.header_timeout if phase == "headers" else self.body_timeout
        self._deadline = self.loop.call_later(timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = None

    def _expired(self) -> None:
        phase, self._deadline = self._phase, None
        self._disarm()
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        if phase == "headers":
            logger.warning(
                "closed the connection from %s: no complete request headers in %.0f s",
                client,
                self.header_timeout,
            )
            self._close(timed_out=True)
        else:
            logger.warning(
                "closed the connection from %s: request body not complete %.0f s after its headers",
                client,
                self.body_timeout,
            )
            self.transport.close()

    def _close(self, timed_out: bool) -> None:
        """Close a connection whose request has not reached the application (a 408 if it had begun)."""
        if timed_out and self._received:
            message = b"request not received in time\n"
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(message), message)
            )
        self.transport.close()

    def _evict(self) -> None:
        """Over the cap: close the connection that has waited longest without a complete request."""
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedH11Protocol)
            and c._waiting_since is not None
            and not c.transport.is_closing()
        ]
        if not waiting:
            return  # every connection has a request in the application: limit_concurrency answers 503
        oldest = min(waiting, key=lambda c: c._waiting_since or 0.0)
        logger.warning(
            "more than %d connections: closed the one waiting longest for a request", self.max_connections
        )
        oldest._disarm()
        oldest._close(timed_out=False)


def guarded_protocol(
    header_timeout: float = HEADER_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
) -> type[GuardedH11Protocol]:
    """`GuardedH11Protocol` with other limits (for tests and for operators who need them)."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout, "max_connections": max_connections},
    )


class FramingGuard:
    """ASGI middleware: a request with both Content-Length and Transfer-Encoding gets 400 and `Connection: close`.

    RFC 9112 §6.1 lets a server reject such a message and says it must close the connection
    after responding: the two framings disagree, the way request smuggling starts.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            names = {name.lower() for name, _ in scope["headers"]}
            if b"content-length" in names and b"transfer-encoding" in names:
                logger.warning("refused a request with both Content-Length and Transfer-Encoding")
                body = b'{"error":"both Content-Length and Transfer-Encoding given (RFC 9112 section 6.1)"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def connection_cap() -> int:
    """MAX_CONNECTIONS, or fewer when the process may open fewer files: `accept` must never hit EMFILE."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft - RESERVED_FDS))


def uvicorn_options() -> dict[str, Any]:
    """The uvicorn settings the receiver runs with (README: "Running the receiver in public").

    uvicorn's own `limit_concurrency` (503 above it) counts connections and requests in flight; it
    sits above the connection cap so that the cap, which evicts idle and stalled connections first,
    is what binds.
    """
    cap = connection_cap()
    return {
        "http": guarded_protocol(max_connections=cap),
        "limit_concurrency": cap + RESERVED_FDS // 2,
        "timeout_keep_alive": KEEP_ALIVE,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "ws": "none",  # no WebSocket routes: an Upgrade header is served as plain HTTP
        "server_header": False,
    }
