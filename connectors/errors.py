"""One error hierarchy for every outside call.

Errors carry the vendor, the HTTP status and the vendor's request id, never a
credential: messages are built from the method and path only (no query string,
no headers), so they are safe to log, store in the ledger and show in artifacts.
"""
from __future__ import annotations


class ConnectorError(Exception):
    """Base of every failure talking to an outside system."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [f"{self.vendor}: {self.message}" if self.vendor else self.message]
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


class ConfigurationError(Exception):
    """The registry, a data file or a secret reference is wrong; the message names it."""


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
