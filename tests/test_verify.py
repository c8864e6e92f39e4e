"""Webhook verifiers on their own: fixed clock, raw bytes, the replay window's edges to the second."""
from __future__ import annotations

import pytest

from relevo.receiver.verify import (
    CLOCK_SKEW,
    RETRY_HORIZON,
    BambooHRVerifier,
    FactorialVerifier,
    VerificationError,
    bamboohr_signature,
    parse_timestamp,
)
from tests.support.canaries import FACTORIAL_CHALLENGE, WEBHOOK_KEY

NOW = 1_795_000_000.0  # 2026-11-18T11:06:40Z
BODY = b'{"employees": [{"id": "1001", "action": "Updated"}]}'


def verifier(now: float = NOW) -> BambooHRVerifier:
    return BambooHRVerifier(WEBHOOK_KEY, clock=lambda: now)


def test_the_signature_is_hex_hmac_sha256_over_body_then_timestamp() -> None:
    import hashlib
    import hmac

    stamp = "1795000000"
    expected = hmac.new(WEBHOOK_KEY.encode(), BODY + stamp.encode(), hashlib.sha256).hexdigest()
    assert bamboohr_signature(WEBHOOK_KEY, BODY, stamp) == expected == verifier().generate_signature(BODY, stamp)


@pytest.mark.parametrize(("offset", "valid"), [
    (-RETRY_HORIZON, True),  # the oldest a BambooHR retry can carry
    (-RETRY_HORIZON - 1, False),
    (CLOCK_SKEW, True),  # the furthest a sender's clock may run ahead
    (CLOCK_SKEW + 1, False),
    (0, True),
])
def test_window_edges_to_the_second(offset: int, valid: bool) -> None:
    stamp = str(int(NOW) + offset)
    signature = bamboohr_signature(WEBHOOK_KEY, BODY, stamp)
    assert verifier().is_valid(BODY, stamp, signature) is valid


def test_the_clock_is_read_at_each_check() -> None:
    now = {"t": NOW}
    check = BambooHRVerifier(WEBHOOK_KEY, clock=lambda: now["t"])
    stamp = str(int(NOW))
    signature = bamboohr_signature(WEBHOOK_KEY, BODY, stamp)
    assert check.is_valid(BODY, stamp, signature)
    now["t"] = NOW + RETRY_HORIZON + 1
    with pytest.raises(VerificationError, match="more than 3 hours old") as caught:
        check.verify(BODY, stamp, signature)
    assert caught.value.reason == "stale timestamp"


@pytest.mark.parametrize(("timestamp", "signature", "message", "reason"), [
    ("1795000000", None, "missing X-BambooHR-Signature", "missing signature"),
    ("1795000000", "", "missing X-BambooHR-Signature", "missing signature"),
    (None, "ab", "missing X-BambooHR-Timestamp", "missing timestamp"),
    ("1795000000", "0" * 64, "does not match", "bad signature"),
    ("1795000000", "zz-not-hex-ñ", "does not match", "bad signature"),
])
def test_each_failure_has_its_message_and_reason(timestamp: str | None, signature: str | None, message: str,
                                                 reason: str) -> None:
    with pytest.raises(VerificationError, match=message) as caught:
        verifier().verify(BODY, timestamp, signature)
    assert caught.value.reason == reason and WEBHOOK_KEY not in caught.value.message
    assert not verifier().is_valid(BODY, timestamp, signature)


def test_future_timestamp_and_unreadable_timestamp() -> None:
    future = str(int(NOW) + CLOCK_SKEW + 1)
    with pytest.raises(VerificationError, match="5 minutes in the future"):
        verifier().verify(BODY, future, bamboohr_signature(WEBHOOK_KEY, BODY, future))
    odd = "1795000000000000000000"  # signed, but no date: refused after the signature check
    with pytest.raises(VerificationError, match="neither Unix seconds nor ISO-8601") as caught:
        verifier().verify(BODY, odd, bamboohr_signature(WEBHOOK_KEY, BODY, odd))
    assert caught.value.reason == "bad timestamp"


def test_the_signature_covers_body_and_timestamp() -> None:
    stamp = str(int(NOW))
    signature = bamboohr_signature(WEBHOOK_KEY, BODY, stamp)
    assert not verifier().is_valid(BODY + b" ", stamp, signature)
    assert not verifier().is_valid(BODY, str(int(NOW) - 1), signature)
    assert not BambooHRVerifier("another-key", clock=lambda: NOW).is_valid(BODY, stamp, signature)


def test_parse_timestamp_forms() -> None:
    assert parse_timestamp("1795000000") == NOW
    assert parse_timestamp(" 1795000000.5 ") == NOW + 0.5
    assert parse_timestamp("2026-11-18T11:06:40Z") == NOW
    assert parse_timestamp("2026-11-18T11:06:40+0000") == NOW
    assert parse_timestamp("2026-11-18T11:06:40") == NOW  # naive ISO: UTC


def test_accepts_uppercase_hex_and_rejects_one_flipped_character() -> None:
    stamp = str(int(NOW))
    good = bamboohr_signature(WEBHOOK_KEY, BODY, stamp)
    assert verifier().is_valid(BODY, stamp, good.upper())
    assert verifier().is_valid(BODY, stamp, f" {good} ")
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert not verifier().is_valid(BODY, stamp, flipped)


def test_factorial_challenge() -> None:
    check = FactorialVerifier(FACTORIAL_CHALLENGE)
    assert check.is_valid(FACTORIAL_CHALLENGE)
    assert not check.is_valid(FACTORIAL_CHALLENGE + "x") and not check.is_valid(FACTORIAL_CHALLENGE.upper())
    assert not check.is_valid("ñ")  # not ASCII: compared as bytes, no TypeError
    for given, reason in ((None, "missing challenge"), ("", "missing challenge"), ("nope", "bad challenge")):
        with pytest.raises(VerificationError) as caught:
            check.verify(given)
        assert caught.value.reason == reason and FACTORIAL_CHALLENGE not in caught.value.message
