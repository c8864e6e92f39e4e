"""A loopback HTTP server that plays the vendors relevo talks to, with latency, limits and faults.

Why: the reliability tests and benchmarks need the same connector code that runs
against the real vendors to run against something that throttles, fails and resets
like they do, reproducibly (seeded), and that records every call with timestamps so a
test can prove Retry-After was honoured and no call was repeated.

One server, one port; each vendor lives under its own path prefix (`/meta`, `/hubspot`,
...), so a registry points a connector at it with `base_url = sim.url("meta")`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULTS = ("429", "500", "503", "reset", "timeout")


@dataclass
class Request:
    """What a vendor handler sees: the path after the vendor prefix, query, headers, body."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list → JSON; bytes → as is; None → empty
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes):
            return self.body, headers
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return json.dumps(self.body).encode(), headers


@dataclass
class Call:
    """One request as the simulator saw it (fault = the injected fault, or None)."""

    vendor: str
    method: str
    path: str
    query: dict[str, str]
    started: float  # time.monotonic() when the request was read
    ended: float = 0.0  # when the answer was written (or the socket was reset)
    status: int | None = None  # None: no HTTP answer (reset / timeout)
    fault: str | None = None
    retry_after: float | None = None  # the Retry-After the simulator asked for
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class VendorConfig:
    """Per-vendor behaviour; change it at any time with `Simulator.configure`."""

    latency: float = 0.0  # seconds added to every answer
    fault_rate: float = 0.0  # probability that a request gets one of `faults`
    faults: tuple[str, ...] = FAULTS
    retry_after: float = 1.0  # Retry-After (seconds) sent with an injected 429/503
    hang: float = 2.0  # "timeout" fault: hold the request this long, then reset
    # Generic limit: (requests, window seconds) → 429 with Retry-After (Graph, TikTok, Hootsuite).
    rate_limit: tuple[int, float] | None = None
    seed: int = 0
    fault_budget: int | None = None  # inject at most this many faults, then none (None: no cap)


class Vendor:
    """A vendor: a path prefix, routes and in-memory state. Subclasses add routes and limits."""

    name = "vendor"

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = []
        self.lock = threading.RLock()  # one lock for the vendor's state
        self.token: str | None = None  # expected credential; None accepts any
        self.forbidden: list[tuple[str, re.Pattern[str]]] = []  # (method, path) the credential may not call
        self.echo_credentials = False  # a careless vendor: its error messages repeat the credential

    def forbid(self, method: str, pattern: str) -> None:
        """Answer 403 to matching calls: a permanent refusal (missing scope) that must never be retried."""
        self.forbidden.append((method, re.compile(pattern)))

    def refuse(self, detail: str) -> Response:
        """The vendor's 403 in its own error shape."""
        return Response(403, {"message": detail})

    def refusal_detail(self, request: Request) -> str:
        detail = "the credential lacks the permission for this call"
        if not self.echo_credentials:
            return detail
        values = list(request.headers.values())
        for value in list(values):  # Basic credentials as the vendor decoded them
            if value.lower().startswith("basic "):
                values.append(base64.b64decode(value[6:]).decode("utf-8", "replace"))
        return f"{detail} (request headers: {' | '.join(values)}; query: {request.query})"

    def route(self, method: str, pattern: str, handler: Callable[..., Response]) -> None:
        self.routes.append((method, re.compile(pattern + r"/?$"), handler))

    def handle(self, request: Request) -> Response:
        if (refused := self.authenticate(request)) is not None:
            return refused
        if any(m == request.method and p.search(request.path) for m, p in self.forbidden):
            return self.refuse(self.refusal_detail(request))
        allowed = False
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            allowed = True
            if method == request.method:
                with self.lock:
                    return handler(request, *match.groups())
        return self.not_found(request) if not allowed else Response(405, {"message": "method not allowed"})

    def authenticate(self, request: Request) -> Response | None:
        """None when the credential is right; the vendor's 401 otherwise."""
        return None

    def not_found(self, request: Request) -> Response:
        return Response(404, {"message": f"no route {request.method} {request.path}"})

    def throttle(self, request: Request, now: float) -> Response | None:
        """A vendor-specific rate limit answer (HubSpot, Meta), or None to go on."""
        return None

    def decorate(self, request: Request, response: Response, now: float) -> None:
        """Add vendor-specific headers (usage, remaining quota) to every answer."""

    def fault_response(self, kind: str, retry_after: float) -> Response:
        """The vendor's body for an injected 429/500/503."""
        status = int(kind)
        headers = {"Retry-After": retry_value(retry_after)} if status in (429, 503) else {}
        return Response(status, {"message": f"simulated {kind}"}, headers)


def retry_value(value: float) -> str:
    """A Retry-After value: whole seconds as an integer (the usual form), else a decimal."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class SlidingWindow:
    """Requests in the last `window` seconds (HubSpot's "ten-secondly rolling" limit)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.stamps: deque[float] = deque()
        self.lock = threading.Lock()

    def _trim(self, now: float) -> None:
        while self.stamps and self.stamps[0] <= now - self.window:
            self.stamps.popleft()

    def take(self, now: float) -> tuple[bool, int, float]:
        """(allowed, remaining after this request, seconds until a slot frees)."""
        with self.lock:
            self._trim(now)
            if len(self.stamps) >= self.limit:
                return False, 0, self.stamps[0] + self.window - now
            self.stamps.append(now)
            return True, self.limit - len(self.stamps), 0.0

    def used(self, now: float) -> int:
        with self.lock:
            self._trim(now)
            return len(self.stamps)


class Simulator:
    """The server. `with Simulator(vendors) as sim:` starts it on 127.0.0.1 with a free port."""

    def __init__(self, vendors: list[Vendor], **defaults: Any) -> None:
        self.vendors = {v.name: v for v in vendors}
        self.config = {name: VendorConfig(**defaults) for name in self.vendors}
        self.rngs = {name: random.Random(self.config[name].seed) for name in self.vendors}
        self.windows: dict[str, SlidingWindow] = {}
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # --- control ---

    def configure(self, vendor: str, **changes: Any) -> None:
        """Change latency, faults or limits of one vendor (or "*" for all)."""
        for name in self.vendors if vendor == "*" else [vendor]:
            config = self.config[name]
            for key, value in changes.items():
                setattr(config, key, value)
            if "seed" in changes:
                self.rngs[name] = random.Random(config.seed)
            if "rate_limit" in changes:
                self.windows.pop(name, None)

    def url(self, vendor: str) -> str:
        assert self.server is not None, "simulator not started"
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/{vendor}"

    def start(self) -> Simulator:
        handler = type("Handler", (_Handler,), {"sim": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name="vendor-sim", daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what happened ---

    def log(
        self, vendor: str | None = None, method: str | None = None, path: str | None = None
    ) -> list[Call]:
        """Recorded calls, oldest first; `path` is a regular expression searched in the path."""
        with self.lock:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if (vendor is None or c.vendor == vendor)
            and (method is None or c.method == method)
            and (path is None or re.search(path, c.path))
        ]

    def reset_log(self) -> None:
        with self.lock:
            self.calls.clear()

    # --- serving one request ---

    def serve(self, vendor_name: str, request: Request, call: Call) -> Response | str:
        """The answer to one request, or a fault kind ("reset"/"timeout") to act out."""
        vendor = self.vendors[vendor_name]
        config = self.config[vendor_name]
        if config.latency:
            time.sleep(config.latency)
        fault = self.pick_fault(vendor_name, config)
        now = time.monotonic()
        if fault in ("reset", "timeout"):
            call.fault = fault
            return fault
        if fault is not None:
            call.fault = fault
            response = vendor.fault_response(fault, config.retry_after)
            if "Retry-After" in response.headers:
                call.retry_after = float(response.headers["Retry-After"])
            return response
        response = vendor.throttle(request, now)
        if response is None and config.rate_limit is not None:
            window = self.windows.setdefault(vendor_name, SlidingWindow(*config.rate_limit))
            allowed, _, wait = window.take(now)
            if not allowed:
                response = vendor.fault_response("429", max(1.0, round(wait + 0.5)))
                call.fault = "rate_limit"
                call.retry_after = float(response.headers["Retry-After"])
        if response is None:
            try:
                response = vendor.handle(request)
            except (ValueError, KeyError, TypeError) as exc:  # a malformed request, as a vendor says it
                response = Response(400, {"message": f"bad request: {type(exc).__name__}"})
        elif call.fault is None:
            call.fault = "rate_limit"
        vendor.decorate(request, response, now)
        return response

    def pick_fault(self, vendor_name: str, config: VendorConfig) -> str | None:
        if not config.fault_rate or config.fault_budget == 0:
            return None
        with self.lock:
            rng = self.rngs[vendor_name]
            if rng.random() >= config.fault_rate:
                return None
            if config.fault_budget is not None:
                config.fault_budget -= 1
            return rng.choice(config.faults)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sim: Simulator

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes: without NODELAY, Nagle + delayed ACK add ~40 ms a call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the call log is the record
        pass

    def _any(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        prefix, _, rest = split.path.lstrip("/").partition("/")
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        call = Call(
            vendor=prefix,
            method=self.command,
            path="/" + rest,
            query=query,
            started=time.monotonic(),
            body=body,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        with self.sim.lock:
            self.sim.calls.append(call)
        if prefix not in self.sim.vendors:
            self._write(Response(404, {"message": f"unknown vendor prefix /{prefix}"}), call)
            return
        request = Request(self.command, "/" + rest, query, call.headers, body)
        answer = self.sim.serve(prefix, request, call)
        if answer == "timeout":
            time.sleep(self.sim.config[prefix].hang)
            answer = "reset"
        if answer == "reset":
            self._reset(call)
            return
        self._write(answer, call)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def _write(self, response: Response, call: Call) -> None:
        payload, headers = response.encode()
        # Recorded before the bytes leave: a client that acts on the answer always finds it in the log.
        call.status = response.status
        call.ended = time.monotonic()
        self.send_response(response.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reset(self, call: Call) -> None:
        """Close with RST (SO_LINGER 0): the client sees "connection reset by peer"."""
        call.ended = time.monotonic()
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the socket was reset on purpose
            super().finish()
