"""One error hierarchy for every outside call.

Errors carry the vendor, the real HTTP status, the vendor's own error code (kept apart: a Graph 400 with
code 4 is "(Graph code 4: rate limit) (HTTP 400)", a RateLimited, never an "HTTP 429") and the vendor's
request id, never a credential: messages are built from the method and path only (no query string,
no headers), so they are safe to log, store in the ledger and show in artifacts.
"""

from __future__ import annotations

import re

from relevo.model import RelevoError

# What a vendor's request id looks like: UUIDs (HubSpot correlationId, X-Request-Id), hex or digit
# strings (TikTok), short base64 (Meta x-fb-trace-id, LinkedIn x-li-uuid). At most 64 characters:
# access tokens are longer (Meta, LinkedIn, most JWTs), and short ones have telltale prefixes
# (HubSpot pat-, OpenAI/Stripe sk-/sk_, GitHub ghp_, Slack xox?-, Google ya29., JWT eyJ).
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,63}")
CREDENTIAL_PREFIX = re.compile(r"^(?:(?i:bearer|basic)|eyJ|pat-|sk[-_]|rk[-_]|gh[opsu]_|xox[abpr]-|ya29\.)")


def safe_request_id(value: object) -> str | None:
    """A vendor's request id fit to log and store, or None.

    It is vendor text like the message: a misbehaving vendor or proxy has echoed the caller's token
    there. Anything not shaped like an id (whitespace, '***' left by redaction, too long) or shaped
    like a credential is dropped: an id only helps a vendor's support find a request.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not REQUEST_ID.fullmatch(text) or CREDENTIAL_PREFIX.match(text):
        return None
    return text


class ConnectorError(RelevoError):
    """Base of every failure talking to an outside system (relevo.model.ConfigurationError is a sibling)."""

    retryable = False
    # Set by the transport when it gave up after its own retries: no other layer (a Prefect task retry)
    # repeats the call, so one action costs at most the transport's attempts.
    exhausted = False

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        vendor_code: str | None = None,
        code_text: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.status = status  # the real HTTP status of the answer, never one a vendor code stands for
        self.request_id = safe_request_id(request_id)
        self.retry_after = retry_after
        self.vendor_code = vendor_code  # the vendor's own error code ("4", "100/33"), apart from the status
        # "Graph code 4: rate limit": the code as the vendor names it and what relevo read it as
        self.code_text = code_text or (f"code {vendor_code}" if vendor_code else None)

    def __str__(self) -> str:
        parts = [f"{self.vendor}: {self.message}" if self.vendor else self.message]
        if self.code_text:
            parts.append(f"({self.code_text})")
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.request_id:
            parts.append(f"[request id {self.request_id}]")
        return " ".join(parts)


class AuthenticationError(ConnectorError):
    """401: the credential is missing, wrong or expired."""


class PermissionDenied(ConnectorError):
    """403: the credential works but lacks a permission or scope."""


class NotFound(ConnectorError):
    """404: the object does not exist (an already-removed role is not an error for callers)."""


class Conflict(ConnectorError):
    """409: the change conflicts with the current state."""


class InvalidRequest(ConnectorError):
    """Any other 4xx: relevo sent something the vendor refuses; retrying will not help."""


class RateLimited(ConnectorError):
    """429 or a vendor throttle code: retry after `retry_after` seconds."""

    retryable = True


class ServerError(ConnectorError):
    """5xx: the vendor failed; worth retrying."""

    retryable = True


class ConnectionFailed(ConnectorError):
    """Timeout, reset or refused connection: the request may or may not have arrived."""

    retryable = True


class InvalidResponse(ConnectorError):
    """The vendor answered 2xx with a body relevo cannot read (not JSON, wrong shape)."""


class BadRecord(ConnectorError):
    """A record from HR, the CRM or the registry that relevo refuses to act on (an address that is not one
    plain address, say). The message names the record and the field; a person fixes the data, then reruns."""


def error_for_status(status: int) -> type[ConnectorError]:
    """The error class for an HTTP status: the only place this mapping lives."""
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDenied
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    if status == 429:
        return RateLimited
    if status == 408:
        return ConnectionFailed
    if status >= 500:
        return ServerError
    return InvalidRequest
