"""Webhook verification: pure verifier classes over raw bytes and header values, with an injected clock.

Shaped like python-slack-sdk's `SignatureVerifier` (`is_valid(body, timestamp, signature)`, a `clock`
that tests replace): each vendor's check is one class that knows nothing of HTTP. `verify` raises
`VerificationError` with a message for the sender and a fixed reason label; `is_valid` answers yes or
no. The status code (401) is chosen by the receiver (relevo/receiver/webhook.py), not here. Signatures
are checked on the raw body before any JSON parsing, in constant time (`hmac.compare_digest`).

Only BambooHR signs a timestamp, so only its verifier has a clock and a window. HiBob signs the body
alone, Personio and Factorial sign nothing (they send back a shared value): for those three a replay
passes the verifier and is stopped by the inbox's event key, as a BambooHR replay inside its window is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Clock = Callable[[], float]

# How old a validly signed timestamp may be: BambooHR retries a 5xx/timeout five times, 5, 10, 20, 40
# and 80 minutes apart (155 min after the first try; spec tests/specs/bamboohr-public.yaml, webhook
# responses "500+": "retry ... up to 5 times ... 5min, 10min, 20min, 40min, 80min"; docs
# https://documentation.bamboohr.com/docs/webhooks-2). A retry may carry the first attempt's timestamp,
# so anything shorter loses a termination after one 503 (and a 401 is never retried). 3 h covers the
# horizon plus delivery delays; a replay inside it is stopped by the inbox's event key.
RETRY_HORIZON = 3 * 3600
CLOCK_SKEW = 300  # seconds a timestamp may be ahead of our clock (Standard Webhooks, python-slack-sdk)


class VerificationError(Exception):
    """A delivery whose signature, timestamp or challenge does not check out.

    `message` is safe to send back (it never contains the secret); `reason` is a fixed label for counters.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


class Verifier:
    """What every verifier shares: `verify(...)` raises VerificationError; `is_valid(...)` says yes or no."""

    def verify(self, *args: Any) -> None:
        raise NotImplementedError

    def is_valid(self, *args: Any) -> bool:
        """`verify` with the same arguments, as a yes or no (slack-sdk's `SignatureVerifier.is_valid`)."""
        try:
            self.verify(*args)
        except VerificationError:
            return False
        return True


def parse_timestamp(value: str) -> float:
    """Unix seconds or ISO-8601 (BambooHR has been seen sending both); naive ISO means UTC."""
    text = value.strip()
    if re.fullmatch(r"\d{1,12}(\.\d{1,9})?", text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise VerificationError(
            "X-BambooHR-Timestamp is neither Unix seconds nor ISO-8601", "bad timestamp"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def bamboohr_signature(key: str, body: bytes, timestamp: str) -> str:
    """hex HMAC-SHA256 over the raw body followed by the timestamp header, as BambooHR signs."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


class BambooHRVerifier(Verifier):
    """X-BambooHR-Signature over body + X-BambooHR-Timestamp, with BambooHR's retry horizon as the window.

    Only what is forged is rejected: a valid signature over a timestamp up to RETRY_HORIZON old
    (a vendor retry) is accepted; replays are stopped by the event key, not by the clock. The window
    is therefore not symmetric: up to RETRY_HORIZON in the past, CLOCK_SKEW in the future.
    """

    def __init__(self, private_key: str, clock: Clock = time.time) -> None:
        self.private_key = private_key
        self.clock = clock

    def generate_signature(self, body: bytes, timestamp: str) -> str:
        return bamboohr_signature(self.private_key, body, timestamp)

    def verify(self, body: bytes, timestamp: str | None, signature: str | None) -> None:
        """Raise VerificationError unless the signature matches and the timestamp is inside the window."""
        if not signature:
            raise VerificationError("missing X-BambooHR-Signature header", "missing signature")
        if not timestamp:
            raise VerificationError("missing X-BambooHR-Timestamp header", "missing timestamp")
        expected = self.generate_signature(body, timestamp).encode()
        given = signature.strip().lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected, given):
            raise VerificationError("signature does not match the body and timestamp", "bad signature")
        age = self.clock() - parse_timestamp(timestamp)
        if age > RETRY_HORIZON:
            raise VerificationError(
                "X-BambooHR-Timestamp is more than 3 hours old (beyond BambooHR's retries)", "stale timestamp"
            )
        if age < -CLOCK_SKEW:
            raise VerificationError(
                "X-BambooHR-Timestamp is more than 5 minutes in the future", "future timestamp"
            )


class FactorialVerifier(Verifier):
    """Factorial sends back, in x-factorial-wh-challenge, the challenge chosen at subscription.

    It signs nothing and sends no timestamp (../shared/design/vendors-hr.md): no window to check;
    the challenge is compared in constant time, and replays are stopped by the inbox's event key.
    """

    def __init__(self, challenge: str) -> None:
        self.challenge = challenge

    def verify(self, given: str | None) -> None:
        if not given:
            raise VerificationError("missing x-factorial-wh-challenge header", "missing challenge")
        if not hmac.compare_digest(self.challenge.encode(), given.encode("utf-8", "replace")):
            raise VerificationError("x-factorial-wh-challenge does not match", "bad challenge")


def hibob_signature(secret: str, body: bytes) -> str:
    """base64(HMAC-SHA512(secret, raw body)), as Bob signs (header Bob-Signature)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha512).digest()).decode()


class HiBobVerifier(Verifier):
    """Bob-Signature: base64 HMAC-SHA512 over the raw body with the webhook's secret (Bob webhooks v2).

    apidocs.hibob.com/docs/working-with-webhooks, "Step 3: Authenticate your events": "HMAC SHA512 on the
    request payload and the secret token given ... sent as the header attribute - Bob-Signature", with a
    Java example that Base64-encodes the digest. Bob signs no timestamp: no window to check; replays are
    stopped by the inbox's event key.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def generate_signature(self, body: bytes) -> str:
        return hibob_signature(self.secret, body)

    def verify(self, body: bytes, signature: str | None) -> None:
        """Raise VerificationError unless Bob-Signature is the body's signature (outer blanks ignored)."""
        if not signature:
            raise VerificationError("missing Bob-Signature header", "missing signature")
        expected = self.generate_signature(body).encode()
        if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
            raise VerificationError("Bob-Signature does not match the body", "bad signature")


class PersonioVerifier(Verifier):
    """Personio signs nothing: a webhook with auth_type TOKEN sends its token verbatim in Authorization.

    developer.personio.de/reference/post_v2-webhooks: "The callback will include this exact value in the
    Authorization header ... no prefix will be added automatically" (a "Bearer " prefix, if any, is part
    of the configured token). No timestamp: replays are stopped by the inbox's event key. Compared in
    constant time, as the whole header value.
    """

    def __init__(self, token: str) -> None:
        self.token = token

    def verify(self, authorization: str | None) -> None:
        if not authorization:
            raise VerificationError(
                "missing Authorization header (the Personio webhook's token)", "missing token"
            )
        if not hmac.compare_digest(self.token.encode(), authorization.encode("utf-8", "replace")):
            raise VerificationError("Authorization does not match the Personio webhook's token", "bad token")
