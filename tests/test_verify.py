"""Webhook verifiers on their own: fixed clock, raw bytes, the replay window's edges to the second."""

from __future__ import annotations

import pytest

from relevo.receiver.verify import (
    CLOCK_SKEW,
    RETRY_HORIZON,
    BambooHRVerifier,
    FactorialVerifier,
    HiBobVerifier,
    PersonioVerifier,
    VerificationError,
    bamboohr_signature,
    hibob_signature,
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
    assert (
        bamboohr_signature(WEBHOOK_KEY, BODY, stamp) == expected == verifier().generate_signature(BODY, stamp)
    )


@pytest.mark.parametrize(
    ("offset", "valid"),
    [
        (-RETRY_HORIZON, True),  # the oldest a BambooHR retry can carry
        (-RETRY_HORIZON - 1, False),
        (CLOCK_SKEW, True),  # the furthest a sender's clock may run ahead
        (CLOCK_SKEW + 1, False),
        (0, True),
    ],
)
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


@pytest.mark.parametrize(
    ("timestamp", "signature", "message", "reason"),
    [
        ("1795000000", None, "missing X-BambooHR-Signature", "missing signature"),
        ("1795000000", "", "missing X-BambooHR-Signature", "missing signature"),
        (None, "ab", "missing X-BambooHR-Timestamp", "missing timestamp"),
        ("1795000000", "0" * 64, "does not match", "bad signature"),
        ("1795000000", "zz-not-hex-ñ", "does not match", "bad signature"),
    ],
)
def test_each_failure_has_its_message_and_reason(
    timestamp: str | None, signature: str | None, message: str, reason: str
) -> None:
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


def test_a_bamboohr_replay_inside_the_window_passes_the_verifier() -> None:
    """The verifier has no memory: a replay is stopped by the inbox's event key (test_webhook.py)."""
    stamp = str(int(NOW) - 3600)
    signature = bamboohr_signature(WEBHOOK_KEY, BODY, stamp)
    assert verifier().is_valid(BODY, stamp, signature) and verifier().is_valid(BODY, stamp, signature)


# HiBob: base64(HMAC-SHA512(secret, raw body)) in Bob-Signature, no timestamp (apidocs.hibob.com
# working-with-webhooks, "Step 3: Authenticate your events").
BOB_SECRET = "bob-webhook-secret-for-tests"
BOB_BODY = (
    b'{"companyId": 601449, "type": "employee.left", "triggeredBy": "system", '
    b'"triggeredAt": "2026-11-18T00:00:00.000Z", "version": "v2", '
    b'"data": {"employeeId": "3332883884017713238"}}'
)


def test_hibob_signature_is_base64_hmac_sha512_of_the_raw_body() -> None:
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(BOB_SECRET.encode(), BOB_BODY, hashlib.sha512).digest()).decode()
    assert hibob_signature(BOB_SECRET, BOB_BODY) == expected
    assert HiBobVerifier(BOB_SECRET).generate_signature(BOB_BODY) == expected
    assert len(base64.b64decode(expected)) == 64


def test_hibob_valid_wrong_and_replayed_signatures() -> None:
    import base64
    import hashlib
    import hmac

    check = HiBobVerifier(BOB_SECRET)
    good = hibob_signature(BOB_SECRET, BOB_BODY)
    assert check.is_valid(BOB_BODY, good) and check.is_valid(BOB_BODY, f" {good} ")
    assert check.is_valid(BOB_BODY, good)  # a replay passes: the inbox's event key stops it
    hex_form = hmac.new(BOB_SECRET.encode(), BOB_BODY, hashlib.sha512).hexdigest()  # right MAC, hex
    wrong = [
        hibob_signature("another-secret", BOB_BODY),
        hibob_signature(BOB_SECRET, BOB_BODY + b" "),
        hex_form,
        good.swapcase(),
        base64.b64encode(b"\0" * 64).decode(),
        "é" * 88,
    ]
    for signature in wrong:
        with pytest.raises(VerificationError, match="does not match the body") as caught:
            check.verify(BOB_BODY, signature)
        assert caught.value.reason == "bad signature" and BOB_SECRET not in caught.value.message
        assert not check.is_valid(BOB_BODY, signature)
    for missing in (None, ""):
        with pytest.raises(VerificationError, match="missing Bob-Signature") as caught:
            check.verify(BOB_BODY, missing)
        assert caught.value.reason == "missing signature"


# Personio: no signature; auth_type TOKEN sends the configured token verbatim in Authorization, no prefix
# added (developer.personio.de/reference/post_v2-webhooks).
PERSONIO_TOKEN = "Bearer personio-webhook-token-for-tests"


def test_personio_token_valid_wrong_and_replayed() -> None:
    check = PersonioVerifier(PERSONIO_TOKEN)
    assert check.is_valid(PERSONIO_TOKEN) and check.is_valid(PERSONIO_TOKEN)  # a replay: stopped by the inbox
    for given in (
        PERSONIO_TOKEN.removeprefix("Bearer "),
        PERSONIO_TOKEN + " ",
        PERSONIO_TOKEN.upper(),
        "Bearer guess",
        "é" * 20,
    ):
        with pytest.raises(VerificationError, match="does not match") as caught:
            check.verify(given)
        assert caught.value.reason == "bad token" and PERSONIO_TOKEN not in caught.value.message
    for missing in (None, ""):
        with pytest.raises(VerificationError, match="missing Authorization") as caught:
            check.verify(missing)
        assert caught.value.reason == "missing token"
