"""The one HTTP transport every connector uses.

Why one: timeouts, retries (429/5xx/timeouts, honouring Retry-After, full jitter),
redirect refusal, call counting and secret-free typed errors are decided here once,
so every vendor module only says which endpoint it calls and what the answer means.

Kept as one module: the transport every outside call goes through (timeouts, the one retry policy, auth
that says what to redact, the one pagination loop, error bodies); one place to read what any call does.
"""

from __future__ import annotations

import collections
import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import requests

from relevo.connectors.errors import (
    AuthenticationError,
    ConnectionFailed,
    ConnectorError,
    InvalidResponse,
    RateLimited,
    ServerError,
    error_for_status,
)

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
MAX_ATTEMPTS = 3  # per request at this layer (Google SRE: keep retry amplification low)
MAX_RETRY_AFTER = 60.0  # longer waits are handed back to the caller as RateLimited (a Prefect task retry)
# The longest wait before a call (a held Retry-After, a vendor's pause): a handed-back 429 is waited out
# here, once, when its retry calls again; longer is refused without calling (the run records a failure and
# a rerun comes later). Equal to the flows' longest task-retry wait.
MAX_WAIT = 300.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0

ErrorParser = Callable[[requests.Response], "ErrorBody"]


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
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


# --- the retry policy: small handlers say *whether* a failure is worth another call, one calculator says
# *when* (the shape of python-slack-sdk's slack_sdk/http_retry: RetryHandler, RetryIntervalCalculator,
# RetryState), so every vendor gets the same rules and tests can check each piece alone ---


@dataclass
class RetryState:
    """What one request has been through so far: calls made, and whether the token was renewed."""

    attempt: int = 0
    renewed: bool = False


class RetryHandler:
    """One kind of failure worth another call. `idempotent`: repeating the request cannot do it twice."""

    def can_retry(self, error: ConnectorError, *, idempotent: bool) -> bool:
        raise NotImplementedError


class RateLimitHandler(RetryHandler):
    """429 (or a vendor's throttle code): the vendor did not process the request, so even a POST repeats."""

    def can_retry(self, error: ConnectorError, *, idempotent: bool) -> bool:
        return isinstance(error, RateLimited)


class ServerErrorHandler(RetryHandler):
    """5xx: the vendor may have processed the request, so only an idempotent one repeats."""

    def can_retry(self, error: ConnectorError, *, idempotent: bool) -> bool:
        return isinstance(error, ServerError) and idempotent


class ConnectionErrorHandler(RetryHandler):
    """Timeouts, resets, refused connections (and 408): the request may have arrived; idempotent only."""

    def can_retry(self, error: ConnectorError, *, idempotent: bool) -> bool:
        return isinstance(error, ConnectionFailed) and idempotent


DEFAULT_HANDLERS: tuple[RetryHandler, ...] = (
    RateLimitHandler(),
    ServerErrorHandler(),
    ConnectionErrorHandler(),
)


class RetryIntervalCalculator:
    """Seconds before the next call: the vendor's Retry-After when it gave one, else full jitter,
    uniform(0, min(cap, base * 2**attempt)) (AWS architecture blog), so parallel callers spread out.

    `base`/`cap` default to the module's BACKOFF_BASE/BACKOFF_CAP, read at each call (tests shorten them).
    """

    def __init__(
        self, base: float | None = None, cap: float | None = None, rng: random.Random | None = None
    ) -> None:
        self.base, self.cap, self.rng = base, cap, rng

    def backoff(self, attempt: int) -> float:
        base = BACKOFF_BASE if self.base is None else self.base
        cap = BACKOFF_CAP if self.cap is None else self.cap
        return (self.rng or random).uniform(0, min(cap, base * 2**attempt))

    def interval(self, state: RetryState, error: ConnectorError) -> float:
        return error.retry_after if error.retry_after is not None else self.backoff(state.attempt)


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Full jitter for `attempt` (the default calculator's backoff)."""
    return RetryIntervalCalculator(rng=rng).backoff(attempt)


def should_retry(
    error: ConnectorError, idempotent: bool, handlers: Iterable[RetryHandler] = DEFAULT_HANDLERS
) -> bool:
    """Whether any handler takes this failure: 429 always; 5xx and connection failures when idempotent."""
    return any(handler.can_retry(error, idempotent=idempotent) for handler in handlers)


class Throttle:
    """The one wait before a call: a vendor's Retry-After, shared by every thread using the client.

    `hold(seconds)` records when the vendor wants callers back; `wait()` (before every call, retries
    included) sleeps until then, or refuses without calling when that is further off than `max_wait`.
    A thread remembers the resume time it already slept for, so a Retry-After is waited once, whoever
    waits it (the retry loop, another thread of a batch, or a Prefect task retry of a handed-back 429).
    """

    def __init__(
        self, vendor: str, sleep: Callable[[float], None], clock: Callable[[], float], max_wait: float
    ) -> None:
        self.vendor, self.sleep, self.clock, self.max_wait = vendor, sleep, clock, max_wait
        self._resume_at = 0.0
        self._waited = threading.local()
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, self.clock() + seconds)

    def sleep_told(self, seconds: float) -> None:
        """The thread the vendor answered sleeps the Retry-After it was given, and has then waited it."""
        self.sleep(seconds)
        with self._lock:
            self._waited.until = self._resume_at

    def wait(self) -> None:
        with self._lock:
            resume_at = self._resume_at
            remaining = resume_at - self.clock()
        if remaining <= 0 or getattr(self._waited, "until", 0.0) >= resume_at:
            return
        if remaining > self.max_wait:
            raise RateLimited(
                f"not called: the vendor asked to wait {remaining:.0f} s more",
                vendor=self.vendor,
                retry_after=remaining,
            )
        self.sleep(remaining)
        self._waited.until = resume_at


# --- error bodies: one reader, each vendor naming where its message, code and request id are ---

Path = tuple[str | int, ...]  # keys (and list indexes) into a JSON body: ("errors", 0, "message")
# The common shapes: a string, or an object with a string `message`, under one of these keys (first wins).
MESSAGE_PATHS: tuple[Path, ...] = tuple(
    path for key in ("message", "detail", "error_description", "error") for path in ((key,), (key, "message"))
)
REQUEST_ID_HEADERS = ("X-Request-Id", "x-fb-trace-id", "X-Correlation-Id")


@dataclass(frozen=True)
class ErrorBody:
    """What a failed answer says, read once: the vendor's message, its own code and a request id, and
    what relevo makes of the code (`means`: the HTTP status it stands for, e.g. 429 for Graph code 4;
    `meaning`: the words for it). The answer's real status is never changed: the client classifies
    by `means` when there is one, and the error keeps both.
    """

    message: str
    request_id: str | None = None
    code: str | None = None  # the vendor's code as text ("4", "4/2446079", "40100")
    label: str = "code"  # how the vendor names its codes ("Graph code", "TikTok code", "serviceErrorCode")
    means: int | None = None
    meaning: str | None = None  # "rate limit", "expired token"...
    retry_after: float | None = None  # the vendor's wait when not given as Retry-After (Meta's pacing)

    @property
    def code_text(self) -> str | None:
        """ "Graph code 4: rate limit", for error text and logs."""
        if self.code is None:
            return None
        return f"{self.label} {self.code}" + (f": {self.meaning}" if self.meaning else "")


def at(body: Any, path: Path) -> Any:
    """body[k1][k2]... through objects and lists; None where a level is missing (vendor JSON is untrusted)."""
    for key in path:
        if isinstance(key, int):
            body = body[key] if isinstance(body, list) and -len(body) <= key < len(body) else None
        else:
            body = body.get(key) if isinstance(body, dict) else None
    return body


def json_body(response: requests.Response) -> Any:
    """The decoded body of an answer, None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def error_body(
    response: requests.Response,
    *,
    message: Iterable[Path] = MESSAGE_PATHS,
    code: Iterable[Path] = (),
    label: str = "code",
    request_id: Iterable[Path] = (),
    headers: Iterable[str] = REQUEST_ID_HEADERS,
) -> ErrorBody:
    """The one error-body reader: the first string found at `message` (else the HTTP reason), the values
    at `code` joined with "/" (a code and its subcode), a request id from the body (`request_id`) or the
    first of `headers`. Vendors add their meaning of the code (`means`, `meaning`) with `replace`."""
    body = json_body(response)
    text = next((v for v in (at(body, p) for p in message) if isinstance(v, str) and v), None)
    codes = [
        str(v) for v in (at(body, p) for p in code) if isinstance(v, (str, int)) and not isinstance(v, bool)
    ]
    ids = [at(body, p) for p in request_id] + [response.headers.get(h) for h in headers]
    return ErrorBody(
        text or response.reason or "error",
        request_id=next((str(v) for v in ids if isinstance(v, (str, int)) and v), None),
        code="/".join(codes) or None,
        label=label,
    )


def default_error_parser(response: requests.Response) -> ErrorBody:
    """A short message from a JSON error body (common shapes), and a request id header."""
    return error_body(response)


class Auth(requests.auth.AuthBase):
    """An auth scheme (requests' AuthBase) that also tells the client which values to redact.

    Constructors hand the client one of these instead of building an `Authorization` header by hand
    with a separate `secrets=[token]`: the value that authenticates is the value that is redacted from
    every message, and the object's repr never shows it.
    """

    def redacted(self) -> list[str]:
        """Every secret value this scheme sends (the client removes them from error text)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"


class BearerToken(Auth):
    """`Authorization: Bearer <token>` for a fixed token (SCIM, Hootsuite, HubSpot, LinkedIn, Meta)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def redacted(self) -> list[str]:
        return [self._token] if self._token else []

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class BasicAuth(Auth):
    """HTTP Basic (BambooHR: the API key as user name, "x" as password); both parts are redacted."""

    def __init__(self, username: str, password: str) -> None:
        self._basic = requests.auth.HTTPBasicAuth(username, password)

    def redacted(self) -> list[str]:
        return [v for v in (self._basic.username, self._basic.password) if isinstance(v, str) and len(v) > 1]

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signed: requests.PreparedRequest = self._basic(request)
        return signed


class ApiKeyHeader(Auth):
    """A key in a vendor's own header (Factorial `x-api-key`, TikTok `Access-Token`)."""

    def __init__(self, header: str, key: str) -> None:
        self.header, self._key = header, key

    def redacted(self) -> list[str]:
        return [self._key] if self._key else []

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self._key
        return request


class BearerTokens(Auth):
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

    def redacted(self) -> list[str]:
        """Every token handed out, and the credential behind them (a client secret, a private key)."""
        return [*self.issued, *[v for v in getattr(self, "secrets", []) if v]]

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
        clock: Callable[[], float] = time.monotonic,
        handlers: tuple[RetryHandler, ...] = DEFAULT_HANDLERS,
        intervals: RetryIntervalCalculator | None = None,
        errors_in_body: bool = False,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        self.error_parser = error_parser
        # A 2xx answer may still be an error the body's code tells (TikTok): the parser's `means` decides.
        self.errors_in_body = errors_in_body
        self.default_retry_after = (
            default_retry_after  # a 429 without Retry-After: the vendor's documented window
        )
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.auth = auth
        self.session.headers.update({"Accept": "application/json", "User-Agent": "relevo/0.1"})
        self.session.headers.update(headers or {})
        self._secrets = [s for s in secrets if s]  # values not sent by an Auth (kept for older callers)
        self._auths: list[Auth] = [auth] if isinstance(auth, Auth) else []
        self._lock = threading.Lock()
        self.handlers = handlers
        self.intervals = intervals or RetryIntervalCalculator()
        self.throttle = Throttle(vendor, sleep, clock, MAX_WAIT)
        self.calls = 0
        self.throttled = 0
        self.window: CallWindow | None = None  # the vendor's published rate, when the registry gives it

    def redact(self, text: str) -> str:
        """Remove any known secret value from text (defence in depth for vendor messages)."""
        told = [value for auth in list(self._auths) for value in auth.redacted()]
        for secret in sorted({*self._secrets, *told}, key=len, reverse=True):  # longest first
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

        `allow` lists non-2xx statuses the caller handles itself (e.g. 404 meaning "already gone"); an
        answer whose vendor code means one of them (Graph 100/33: 404) is handed back too, its status as sent.
        """
        if idempotent is None:
            idempotent = method.upper() in {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        state = RetryState()
        tokens = kwargs.get("auth") or self.session.auth  # a request may carry its own (a mailbox's token)
        if isinstance(tokens, Auth) and tokens not in self._auths:
            with self._lock:
                self._auths.append(tokens)
        while True:
            self.throttle.wait()  # a Retry-After this client was given, waited once
            state.attempt += 1
            try:
                response = self._send(method, path, **kwargs)
                ok = 200 <= response.status_code < 300  # redirects refused
                if (ok and not self.errors_in_body) or response.status_code in allow:
                    return response
                detail = self.error_parser(response)
                if (ok and detail.means is None) or detail.means in allow:
                    return response
                error = self.error_from(method, path, response, detail)
            except ConnectorError as exc:
                error = exc
            if (
                isinstance(error, AuthenticationError)
                and isinstance(tokens, BearerTokens)
                and not state.renewed
            ):
                state.renewed = True  # once: a token refused right after renewal is a credential problem
                tokens.refresh()
                state.attempt -= 1
                continue
            if not should_retry(error, idempotent, self.handlers):
                raise error
            if state.attempt >= self.max_attempts:
                error.exhausted = True  # retried here already: no other layer repeats it
                raise error
            wait = self.intervals.interval(state, error)
            if wait > self.max_retry_after:
                raise error  # handed back: the throttle holds it, the caller's next try waits it out once
            if error.retry_after is None:
                self.sleep(wait)
            else:
                self.throttle.sleep_told(wait)

    def wait_if_throttled(self) -> None:
        """Before a call made outside `request` (a vendor pacer): wait out a Retry-After this client holds."""
        self.throttle.wait()

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
            raise ConnectionFailed(f"{method} {_path_only(path)} timed out", vendor=self.vendor) from None
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

    def error_from(
        self, method: str, path: str, response: requests.Response, detail: ErrorBody | None = None
    ) -> ConnectorError:
        """The typed error for a failed response, with the vendor's message, secrets removed.

        The class follows what the vendor's code means when it says more than the status (a Graph 400
        with code 4 is RateLimited); `status` stays the status the vendor sent, the code beside it.
        """
        detail = detail or self.error_parser(response)
        message, request_id = detail.message, detail.request_id
        retry_after = detail.retry_after
        if retry_after is None:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        cls = error_for_status(detail.means or response.status_code)
        if cls is RateLimited and retry_after is None:
            retry_after = self.default_retry_after
        if cls is RateLimited:
            with self._lock:
                self.throttled += 1
            if retry_after is not None:
                self.throttle.hold(retry_after)
        text = self.redact(f"{method} {_path_only(path)}: {message}"[:500])
        return cls(
            text,
            vendor=self.vendor,
            status=response.status_code,
            request_id=self.redact(request_id) if request_id else None,  # a redacted id is then dropped
            retry_after=retry_after,
            vendor_code=self.redact(detail.code)[:40] if detail.code else None,
            code_text=self.redact(detail.code_text)[:120] if detail.code_text else None,
        )


def _path_only(path: str) -> str:
    """The path without a query string: query strings can carry tokens (Graph access_token)."""
    return path.split("?", 1)[0]


# --- pagination: one loop (HttpClient.paginate), each vendor's scheme a small class (dlt's rest_client
# paginators: update_state / has_next_page / the next request's parameters) ---


class Paginator:
    """How one vendor pages a list: read the answer (`update_state`), say whether there is more
    (`has_next_page`), and give the next request (`update_request`: its query parameters by default,
    `next_params`; a vendor paging in a POST body overrides it).

    The base class refuses a page token it has already followed: a vendor answering the same cursor
    twice would otherwise loop forever, or (cut short) return a partial list that hides an admin.
    `max_pages`, when set, is the most pages one listing may take before the answer is not trusted.
    """

    def __init__(self, max_pages: int | None = None) -> None:
        self.has_next_page = True
        self.max_pages = max_pages
        self._seen: set[str] = set()
        self.where = ""  # "GET path", for the error message
        self.vendor = ""

    def update_state(self, body: Any) -> None:
        raise NotImplementedError

    def next_params(self, params: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def update_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """The next request's keyword arguments (`params`, `json`...) from this one's."""
        return {**request, "params": self.next_params(dict(request.get("params") or {}))}

    def follow(self, token: Any) -> Any:
        """Record the next page's token (None or empty: no next page); a repeated one is InvalidResponse."""
        if token is None or token == "":
            self.has_next_page = False
            return None
        if str(token) in self._seen:
            raise InvalidResponse(
                f"{self.where} repeated cursor {str(token)[:80]!r} (the vendor repeats a page)",
                vendor=self.vendor,
            )
        self._seen.add(str(token))
        return token


class CursorPaginator(Paginator):
    """A cursor read from the body (`cursor_of(body)`) and sent back as the `param` query parameter.

    `more_of(body)`, when given, is the body's own word that a further page exists (Factorial's
    `meta.has_next_page`): a further page without a cursor is then InvalidResponse, not a short list.
    """

    def __init__(
        self,
        cursor_of: Callable[[Any], Any],
        param: str,
        *,
        more_of: Callable[[Any], bool] | None = None,
        max_pages: int | None = None,
    ) -> None:
        super().__init__(max_pages)
        self.cursor_of, self.param, self.more_of = cursor_of, param, more_of
        self.cursor: Any = None

    def update_state(self, body: Any) -> None:
        body = body if isinstance(body, dict) else {}
        if self.more_of is None:
            self.cursor = self.follow(self.cursor_of(body))
            return
        if not self.more_of(body):
            self.has_next_page = False
            return
        cursor = self.cursor_of(body)
        if not isinstance(cursor, str) or not cursor:
            raise InvalidResponse(f"{self.where}: a next page without a cursor", vendor=self.vendor)
        self.cursor = self.follow(cursor)

    def next_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, self.param: self.cursor}


class OffsetPaginator(Paginator):
    """An item offset and a page size in the query: SCIM's 1-based `startIndex`/`count` (RFC 7644
    §3.4.2.4, `first=1`), LinkedIn's 0-based `start`/`count`. The offset moves by the items received,
    until a page is empty or the offset passes `total_of(body)` (None: no total given, read on).

    Offsets only grow, so the repeated-cursor guard cannot catch a vendor that ignores them; two
    guards do: the page's own offset (`echoed_of`, SCIM's and LinkedIn's response `startIndex` /
    `paging.start`) must be the one asked for, and a page must not repeat the previous page's items.
    """

    def __init__(
        self,
        items_of: Callable[[Any], list[Any]],
        total_of: Callable[[Any], int | None],
        *,
        param: str,
        first: int = 0,
        echoed_of: Callable[[Any], Any] | None = None,
        max_pages: int | None = None,
    ) -> None:
        super().__init__(max_pages)
        self.items_of, self.total_of, self.param, self.first = items_of, total_of, param, first
        self.echoed_of = echoed_of
        self.offset = first
        self._last: list[Any] | None = None

    def update_state(self, body: Any) -> None:
        echoed = self.echoed_of(body) if self.echoed_of else None
        if echoed is not None and str(echoed) != str(self.offset):
            raise InvalidResponse(
                f"{self.where} answered {self.param} {str(echoed)[:20]} when asked for "
                f"{self.offset}: the vendor does not page",
                vendor=self.vendor,
            )
        items = self.items_of(body)
        if items and items == self._last:
            raise InvalidResponse(
                f"{self.where} answered the same page at {self.param} {self.offset}", vendor=self.vendor
            )
        self._last = items
        total = self.total_of(body)
        nxt = self.offset + len(items)
        if not items or (total is not None and nxt >= total + self.first):
            self.has_next_page = False
            return
        self.offset = self.follow(nxt)

    def next_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, self.param: self.offset}


class PageNumberPaginator(Paginator):
    """Numbered pages from `first`, until `total_pages(body)` (TikTok's page_info.total_page)."""

    def __init__(self, total_pages: Callable[[Any], int], param: str = "page", first: int = 1) -> None:
        super().__init__()
        self.total_pages, self.param, self.page = total_pages, param, first

    def update_state(self, body: Any) -> None:
        if self.page >= self.total_pages(body):
            self.has_next_page = False
            return
        self.page = self.follow(self.page + 1)

    def next_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, self.param: self.page}


def dig(body: Any, *keys: str | int) -> Any:
    """body[k1][k2]... or None where a level is missing (vendor JSON is untrusted): `at`, keys spread."""
    return at(body, keys)


def paginate(
    client: HttpClient,
    method: str,
    path: str,
    paginator: Paginator,
    *,
    params: dict[str, Any] | None = None,
    call: Callable[..., Any] | None = None,
    **kwargs: Any,
) -> Iterator[Any]:
    """Every page's JSON body, in order: the one pagination loop every connector uses.

    `call(method, path, params=..., **kwargs)` sends one request and returns its body (default: the
    client's `json`); a vendor with its own pacing passes its own. The paginator turns each request
    into the next (`update_request`): query parameters, or the JSON body of a search POST.
    """
    send = call or client.json
    paginator.where, paginator.vendor = f"{method} {_path_only(path)}", client.vendor
    request: dict[str, Any] = {**kwargs, "params": dict(params or {})}
    pages = 0
    while True:
        body = send(method, path, **request)
        pages += 1
        yield body
        paginator.update_state(body)
        if not paginator.has_next_page:
            return
        if paginator.max_pages is not None and pages >= paginator.max_pages:
            raise InvalidResponse(
                f"{paginator.where}: more than {paginator.max_pages} pages", vendor=client.vendor
            )
        request = paginator.update_request(request)
