"""The one HTTP transport every connector uses.

Why one: timeouts, retries (429/5xx/timeouts, honouring Retry-After, full jitter),
redirect refusal, call counting and secret-free typed errors are decided here once,
so every vendor module only says which endpoint it calls and what the answer means.
"""
from __future__ import annotations

import collections
import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import timezone
from typing import Any

import requests

from relevo.connectors.errors import (
    AuthenticationError,
    ConnectionFailed,
    ConnectorError,
    InvalidResponse,
    RateLimited,
    error_for_status,
)

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
MAX_ATTEMPTS = 3  # per request at this layer (Google SRE: keep retry amplification low)
MAX_RETRY_AFTER = 60.0  # longer waits are handed back to the caller as RateLimited
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0

ErrorParser = Callable[[requests.Response], tuple[str, str | None]]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Full jitter: uniform(0, min(cap, base * 2**attempt)) (AWS architecture blog)."""
    rng = rng or random
    return rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


def should_retry(error: ConnectorError, idempotent: bool) -> bool:
    """Retry only what can succeed on retry.

    429 means the vendor did not process the request, so it is safe even for POST.
    5xx and connection failures may have been processed: only idempotent calls repeat.
    """
    if isinstance(error, RateLimited):
        return True
    return error.retryable and idempotent


def default_error_parser(response: requests.Response) -> tuple[str, str | None]:
    """A short message from a JSON error body (common shapes), and a request id header."""
    request_id = (
        response.headers.get("X-Request-Id")
        or response.headers.get("x-fb-trace-id")
        or response.headers.get("X-Correlation-Id")
    )
    try:
        body = response.json()
    except ValueError:
        return (response.reason or "error", request_id)
    message = None
    if isinstance(body, dict):
        for key in ("message", "detail", "error_description", "error"):
            value = body.get(key)
            if isinstance(value, str):
                message = value
                break
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                message = value["message"]
                break
    return (message or response.reason or "error", request_id)


class BearerTokens(requests.auth.AuthBase):
    """`Authorization: Bearer <token>` from a token source that renews itself, for tokens that expire.

    Subclasses implement `fetch(force)`: a valid access token (the vendor's library caches it and
    renews it before it expires), or a new one when `force` is set (the vendor answered 401 to the
    cached one). HttpClient calls `refresh()` once on a 401 and repeats the request: a 401 means
    the request was not processed, so repeating it is safe even for a POST. Every token handed
    out is remembered so HttpClient can remove it from error text.
    """

    def __init__(self) -> None:
        self.issued: list[str] = []
        self._force = False
        self._lock = threading.Lock()

    def fetch(self, force: bool) -> str:
        raise NotImplementedError

    def token(self) -> str:
        with self._lock:
            force, self._force = self._force, False
            value = self.fetch(force)
            if value not in self.issued:
                self.issued.append(value)
            return value

    def refresh(self) -> None:
        """The next token is a new one, not the cached one the vendor refused."""
        with self._lock:
            self._force = True

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


class CallWindow:
    """At most `calls` requests in any `seconds`: a vendor's published limit, kept on our side.

    Optional (the `rate_limit` setting): a batch then waits for its turn instead of earning a
    429 and spending a call on the retry. Shared by every thread using the client. A call holds
    its slot from sending until `seconds` after its answer: the vendor counted it somewhere in
    between, so network jitter cannot make a window look longer to us than to the vendor.
    """

    def __init__(self, calls: int, seconds: float) -> None:
        self.calls = calls
        self.seconds = seconds
        self._answered: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self._lock = threading.Lock()

    def take(self) -> float:
        """Claim a slot now (0.0), or say how many seconds until one may be free (nothing claimed)."""
        with self._lock:
            now = time.monotonic()
            while self._answered and self._answered[0] <= now - self.seconds:
                self._answered.popleft()
            if self._in_flight + len(self._answered) < self.calls:
                self._in_flight += 1
                return 0.0
            return self._answered[0] + self.seconds - now if self._answered else 0.01

    def answered(self) -> None:
        """The claimed call is over (answered or failed): its slot frees `seconds` from now."""
        with self._lock:
            self._in_flight -= 1
            self._answered.append(time.monotonic())


class HttpClient:
    """A `requests.Session` with relevo's transport rules, bound to one vendor and base URL."""

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        auth: requests.auth.AuthBase | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        max_retry_after: float = MAX_RETRY_AFTER,
        error_parser: ErrorParser = default_error_parser,
        default_retry_after: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        self.error_parser = error_parser
        self.default_retry_after = default_retry_after  # a 429 without Retry-After: the vendor's documented window
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.auth = auth
        self.session.headers.update({"Accept": "application/json", "User-Agent": "relevo/0.1"})
        self.session.headers.update(headers or {})
        self._secrets = [s for s in secrets if s]
        self._token_sources: list[BearerTokens] = [auth] if isinstance(auth, BearerTokens) else []
        self._lock = threading.Lock()
        self._resume_at = 0.0  # monotonic time before which new requests wait: the vendor asked every caller to wait
        self._throttled_thread: int | None = None  # the thread that was told (it waits in its own retry loop)
        self.calls = 0
        self.throttled = 0
        self.window: CallWindow | None = None  # the vendor's published rate, when the registry gives it

    def redact(self, text: str) -> str:
        """Remove any known secret value from text (defence in depth for vendor messages)."""
        issued = [t for source in self._token_sources for t in source.issued]
        for secret in [*self._secrets, *issued]:
            text = text.replace(secret, "***")
        return text

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool | None = None,
        allow: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request with retries; return the response or raise a typed ConnectorError.

        `allow` lists non-2xx statuses the caller handles itself (e.g. 404 meaning "already gone").
        """
        if idempotent is None:
            idempotent = method.upper() in {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        attempt = 0
        renewed = False
        tokens = kwargs.get("auth") or self.session.auth  # a request may carry its own (a mailbox's token)
        if isinstance(tokens, BearerTokens) and tokens not in self._token_sources:
            with self._lock:
                self._token_sources.append(tokens)
        self.wait_if_throttled()
        while True:
            attempt += 1
            try:
                response = self._send(method, path, **kwargs)
                if 200 <= response.status_code < 300 or response.status_code in allow:  # redirects refused
                    return response
                error = self.error_from(method, path, response)
            except ConnectorError as exc:
                error = exc
            if isinstance(error, AuthenticationError) and isinstance(tokens, BearerTokens) and not renewed:
                renewed = True  # once: a token refused right after renewal is a credential problem
                tokens.refresh()
                attempt -= 1
                continue
            if attempt >= self.max_attempts or not should_retry(error, idempotent):
                raise error
            wait = error.retry_after if error.retry_after is not None else backoff_delay(attempt)
            if wait > self.max_retry_after:
                raise error
            self.sleep(wait)

    def wait_if_throttled(self) -> None:
        """Before a new request: wait out a Retry-After another thread was given.

        Without this, every thread of a batch earns its own 429 (and its own retry) from a vendor
        that has already said when to come back.
        """
        with self._lock:
            remaining = self._resume_at - time.monotonic()
            told = self._throttled_thread == threading.get_ident()
        if remaining > 0 and not told:
            self.sleep(min(remaining, self.max_retry_after))

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`request` and decode a JSON body (empty body gives None)."""
        return self.decode(self.request(method, path, **kwargs), method, path)

    def decode(self, response: requests.Response, method: str, path: str) -> Any:
        """A response's JSON body (empty body gives None), for callers that looked at its status first."""
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise InvalidResponse(
                f"{method} {_path_only(path)} returned a body that is not JSON",
                vendor=self.vendor,
                status=response.status_code,
            ) from None

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        while self.window is not None and (wait := self.window.take()) > 0:
            time.sleep(wait)  # real time: the window is measured on the real clock
        with self._lock:
            self.calls += 1
        try:
            return self.session.request(method, self.url(path), **kwargs)
        except requests.Timeout:
            raise ConnectionFailed(
                f"{method} {_path_only(path)} timed out", vendor=self.vendor
            ) from None
        except requests.ConnectionError:
            raise ConnectionFailed(
                f"{method} {_path_only(path)} could not connect", vendor=self.vendor
            ) from None
        except requests.RequestException as exc:
            raise ConnectionFailed(
                f"{method} {_path_only(path)} failed: {type(exc).__name__}", vendor=self.vendor
            ) from None
        finally:
            if self.window is not None:
                self.window.answered()

    def error_from(self, method: str, path: str, response: requests.Response) -> ConnectorError:
        """The typed error for a failed response, with the vendor's message, secrets removed."""
        message, request_id = self.error_parser(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        cls = error_for_status(response.status_code)
        if cls is RateLimited and retry_after is None:
            retry_after = self.default_retry_after
        if cls is RateLimited:
            with self._lock:
                self.throttled += 1
                if retry_after is not None and retry_after <= self.max_retry_after:
                    self._resume_at = max(self._resume_at, time.monotonic() + retry_after)
                    self._throttled_thread = threading.get_ident()
        text = self.redact(f"{method} {_path_only(path)}: {message}"[:500])
        return cls(
            text,
            vendor=self.vendor,
            status=response.status_code,
            request_id=self.redact(request_id) if request_id else None,  # a redacted id is then dropped
            retry_after=retry_after,
        )


def _path_only(path: str) -> str:
    """The path without a query string: query strings can carry tokens (Graph access_token)."""
    return path.split("?", 1)[0]

