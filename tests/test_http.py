"""connectors/http.py: the transport rules every connector inherits."""

from __future__ import annotations

import pytest
import requests
import responses
from hypothesis import given
from hypothesis import strategies as st
from responses.registries import OrderedRegistry

from relevo.connectors import errors
from relevo.connectors.http import HttpClient, parse_retry_after
from tests.support.canaries import HTTP_TOKEN as CANARY

BASE = "https://api.vendor.example/v1"


def client(waits: list[float]) -> HttpClient:
    return HttpClient(
        "vendor", BASE, headers={"Authorization": f"Bearer {CANARY}"}, secrets=[CANARY], sleep=waits.append
    )


@responses.activate(registry=OrderedRegistry, assert_all_requests_are_fired=True)
def test_429_then_200_waits_what_retry_after_says():
    responses.get(f"{BASE}/things", status=429, headers={"Retry-After": "7"}, json={"message": "slow down"})
    responses.get(f"{BASE}/things", status=200, json={"ok": True})
    waits: list[float] = []
    assert client(waits).json("GET", "things") == {"ok": True}
    assert waits == [7.0]


@responses.activate(registry=OrderedRegistry, assert_all_requests_are_fired=True)
def test_503_retried_then_gives_up_with_typed_error_after_three_attempts():
    for _ in range(3):
        responses.get(f"{BASE}/things", status=503, headers={"Retry-After": "1"})
    waits: list[float] = []
    with pytest.raises(errors.ServerError) as caught:
        client(waits).request("GET", "things")
    assert caught.value.status == 503 and waits == [1.0, 1.0]
    assert len(responses.calls) == 3


@responses.activate(assert_all_requests_are_fired=True)
@pytest.mark.parametrize(
    "status,cls",
    [
        (400, errors.InvalidRequest),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDenied),
        (404, errors.NotFound),
        (409, errors.Conflict),
    ],
)
def test_4xx_is_never_retried(status, cls):
    responses.get(f"{BASE}/things", status=status, json={"message": "no"})
    with pytest.raises(cls):
        client([]).request("GET", "things")
    assert len(responses.calls) == 1


@responses.activate(registry=OrderedRegistry, assert_all_requests_are_fired=True)
def test_post_is_not_repeated_after_a_5xx_but_is_after_a_429():
    responses.post(f"{BASE}/things", status=500)
    with pytest.raises(errors.ServerError):
        client([]).request("POST", "things", json={})
    assert len(responses.calls) == 1
    responses.post(f"{BASE}/things", status=429, headers={"Retry-After": "0"})
    responses.post(f"{BASE}/things", status=201, json={})
    assert client([]).request("POST", "things", json={}).status_code == 201


@responses.activate(assert_all_requests_are_fired=True)
def test_a_very_long_retry_after_is_handed_back_not_slept():
    responses.get(f"{BASE}/things", status=429, headers={"Retry-After": "3600"})
    waits: list[float] = []
    with pytest.raises(errors.RateLimited) as caught:
        client(waits).request("GET", "things")
    assert caught.value.retry_after == 3600 and waits == []


@responses.activate(registry=OrderedRegistry, assert_all_requests_are_fired=True)
def test_timeouts_become_connection_failed_and_are_retried():
    responses.get(f"{BASE}/things", body=requests.exceptions.ConnectTimeout())
    responses.get(f"{BASE}/things", body=requests.exceptions.ReadTimeout())
    responses.get(f"{BASE}/things", body=requests.exceptions.ConnectionError())
    with pytest.raises(errors.ConnectionFailed, match="could not connect"):
        client([]).request("GET", "things")
    assert len(responses.calls) == 3


@responses.activate(assert_all_requests_are_fired=True)
def test_secrets_never_reach_the_error_even_if_the_vendor_echoes_them():
    responses.get(f"{BASE}/things", status=401, json={"message": f"token {CANARY} is expired"})
    with pytest.raises(errors.AuthenticationError) as caught:
        client([]).request("GET", f"things?access_token={CANARY}")
    text = str(caught.value) + repr(caught.value.args)
    assert CANARY not in text and "expired" in text


@responses.activate(assert_all_requests_are_fired=True)
def test_non_json_success_body_is_a_typed_error():
    responses.get(f"{BASE}/things", body="<html>maintenance</html>", status=200)
    with pytest.raises(errors.InvalidResponse, match="not JSON"):
        client([]).json("GET", "things")


@responses.activate(assert_all_requests_are_fired=True)
def test_redirects_are_not_followed():
    responses.get(f"{BASE}/things", status=302, headers={"Location": "https://evil.example/"})
    with pytest.raises(errors.InvalidRequest):
        client([]).request("GET", "things")
    assert len(responses.calls) == 1


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_a_retry_after_given_to_one_thread_holds_back_the_others():
    """A batch's other threads wait for the Retry-After the vendor gave one of them, instead of each earning a 429."""
    import threading

    sleeps: list[tuple[int, float]] = []
    client = HttpClient(
        "vendor", "https://api.example.com", sleep=lambda s: sleeps.append((threading.get_ident(), s))
    )
    with responses.RequestsMock() as mock:
        mock.get("https://api.example.com/a", status=429, headers={"Retry-After": "2"})
        mock.get("https://api.example.com/a", json={})
        other = mock.get("https://api.example.com/b", json={})
        client.request("GET", "a")  # told to wait 2 s: sleeps in its own retry loop
        worker = threading.Thread(target=client.request, args=("GET", "b"))
        worker.start()
        worker.join()
        assert other.call_count == 1  # one call, no 429 of its own
    waited = [s for thread, s in sleeps if thread != threading.get_ident()]
    assert len(waited) == 1 and 1.0 < waited[0] <= 2.0
    assert [s for thread, s in sleeps if thread == threading.get_ident()] == [2.0]  # the told thread: once


def test_a_published_rate_limit_is_kept_on_our_side():
    """With `rate_limit` set, the client waits for a free slot in the window instead of sending and earning a 429."""
    import time as clock

    from relevo.connectors.http import CallWindow

    window = CallWindow(3, 0.3)
    client = HttpClient("vendor", BASE)
    client.window = window
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/ping", json={})
        started = clock.monotonic()
        for _ in range(4):
            client.request("GET", "ping")
        assert mock.calls and len(mock.calls) == 4
    assert clock.monotonic() - started >= 0.29  # the 4th call waited for the 1st to leave the window


def test_a_window_counts_a_call_until_its_answer_and_a_failed_call_frees_its_slot():
    """The vendor counts a call when it arrives, somewhere before its answer: the next window starts at the answer."""
    import time as clock

    from relevo.connectors.http import CallWindow

    client = HttpClient("vendor", BASE, max_attempts=1)
    client.window = CallWindow(1, 0.2)
    sent: list[float] = []

    def slow(request):
        sent.append(clock.monotonic())
        clock.sleep(0.15)
        return 200, {}, "{}"

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, f"{BASE}/slow", callback=slow)
        mock.get(f"{BASE}/broken", body=requests.ConnectionError("reset"))
        client.request("GET", "slow")
        client.request("GET", "slow")
        with pytest.raises(errors.ConnectionFailed):
            client.request("GET", "broken")
        client.request("GET", "slow")  # not stuck: the failed call gave its slot back
    assert sent[1] - sent[0] >= 0.15 + 0.2 - 0.01
    assert len(sent) == 3


def test_rate_limit_setting_is_checked(acme):
    import yaml

    from relevo.config.registry import load_registry
    from relevo.model import ConfigurationError

    data = yaml.safe_load(acme.read_text("utf-8"))
    data["presences"][0].setdefault("settings", {})["rate_limit"] = {"calls": 0, "seconds": 10}
    acme.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    registry = load_registry(acme)
    with pytest.raises(ConfigurationError, match="rate_limit must be"):
        registry.social(registry.presences[0])


# --- vendor request ids are vendor text: redacted like the message, dropped when shaped like a credential ---

REQUEST_ID = "5f0c6a51-0d5e-4cf4-9c2f-3a1e6b7d8e90"  # HubSpot's correlationId is a UUID (its error body docs)
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMDAxIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "echoed,kept",
    [
        (REQUEST_ID, REQUEST_ID),  # an ordinary id stays: vendor support needs it
        (CANARY, None),  # our own token echoed back: redacted, then dropped
        (f"req-{CANARY}", None),
        (JWT, None),  # someone else's credential
        ("pat-na1-11111111-2222-3333-4444-555555555555", None),  # a HubSpot private-app token's shape
        ("Bearer abc.def", None),
        ("x" * 65, None),  # longer than any request id
        ("id\r\nInjected: 1", None),
    ],
)
@responses.activate(assert_all_requests_are_fired=True)
def test_request_id_header_is_redacted_and_dropped_when_credential_shaped(echoed, kept):
    responses.get(f"{BASE}/things", status=400, headers={"X-Request-Id": echoed}, json={"message": "bad"})
    with pytest.raises(errors.InvalidRequest) as caught:
        client([]).request("GET", "things")
    assert caught.value.request_id == kept
    text = str(caught.value)
    assert CANARY not in text and JWT not in text
    assert (f"[request id {kept}]" in text) if kept else ("request id" not in text)


@responses.activate(assert_all_requests_are_fired=True)
def test_hubspot_correlation_id_in_the_body_is_treated_like_the_header():
    from relevo.connectors.hubspot import hubspot_error

    hub = HttpClient("hubspot", BASE, secrets=[CANARY], error_parser=hubspot_error, sleep=lambda s: None)
    responses.get(
        f"{BASE}/crm",
        status=400,
        json={"status": "error", "message": "Invalid input", "correlationId": CANARY},
    )
    with pytest.raises(errors.InvalidRequest) as caught:
        hub.request("GET", "crm")
    assert caught.value.request_id is None and CANARY not in str(caught.value)
    assert CANARY not in repr(caught.value.__dict__)


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code, response.reason = status, "Bad Request"
    response._content = __import__("json").dumps(body).encode()
    response.headers.update(headers or {})
    return response


def test_the_one_error_body_reader_follows_each_vendors_paths():
    from relevo.connectors.http import error_body

    hootsuite = answer(
        400,
        {"errors": [{"code": 4303, "message": "Member does not exist", "id": "e-1"}]},
        {"X-Request-Id": "hdr-1"},
    )
    read = error_body(
        hootsuite,
        message=[("errors", 0, "message")],
        code=[("errors", 0, "code")],
        request_id=[("errors", 0, "id")],
    )
    assert (read.message, read.code, read.request_id, read.code_text) == (
        "Member does not exist",
        "4303",
        "e-1",
        "code 4303",
    )
    graph = answer(
        400, {"error": {"message": "Unsupported", "code": 100, "error_subcode": 33}}, {"x-fb-trace-id": "t"}
    )
    read = error_body(
        graph,
        message=[("error", "message")],
        label="Graph code",
        code=[("error", "code"), ("error", "error_subcode")],
    )
    assert (read.message, read.code, read.request_id, read.code_text) == (
        "Unsupported",
        "100/33",
        "t",
        "Graph code 100/33",
    )
    # the common shapes, a body that is not JSON, a list where an object was expected
    assert error_body(answer(400, {"detail": {"message": "nested"}})).message == "nested"
    assert error_body(answer(400, ["odd"]), code=[("errors", 0, "code")]) == error_body(answer(400, ["odd"]))
    not_json = answer(502, None)
    not_json._content = b"<html>"
    assert error_body(not_json).message == "Bad Request"


@responses.activate(assert_all_requests_are_fired=True)
def test_a_vendor_code_meaning_an_allowed_status_hands_the_answer_back_unchanged():
    """Graph's 100/33 in a 400 means "not found": a caller allowing 404 gets the answer, status as sent."""
    from dataclasses import replace

    from relevo.connectors.http import error_body

    def parser(response):
        read = error_body(response, code=[("code",)])
        return replace(read, means=404 if read.code == "33" else None, meaning="not found")

    client = HttpClient("vendor", BASE, error_parser=parser, sleep=lambda s: None)
    responses.delete(f"{BASE}/a", status=400, json={"code": 33, "message": "gone"})
    responses.delete(f"{BASE}/b", status=400, json={"code": 33, "message": "gone"})
    assert client.request("DELETE", "a", allow=(404,)).status_code == 400
    with pytest.raises(errors.NotFound) as caught:
        client.request("DELETE", "b")
    assert caught.value.status == 400 and str(caught.value).endswith("gone (code 33: not found) (HTTP 400)")


# --- the retry policy: handlers, interval calculator, one wait per Retry-After, calls per step ---


def test_handlers_retry_429_always_and_5xx_or_timeouts_only_when_idempotent():
    from relevo.connectors.http import should_retry

    assert should_retry(errors.RateLimited("x"), idempotent=False)
    assert should_retry(errors.ServerError("x"), idempotent=True) and not should_retry(
        errors.ServerError("x"), False
    )
    assert should_retry(errors.ConnectionFailed("x"), True) and not should_retry(
        errors.ConnectionFailed("x"), False
    )
    for error in (
        errors.InvalidRequest("x"),
        errors.NotFound("x"),
        errors.PermissionDenied("x"),
        errors.AuthenticationError("x"),
        errors.InvalidResponse("x"),
    ):
        assert not should_retry(error, idempotent=True)


@given(attempt=st.integers(min_value=0, max_value=40), seed=st.integers())
def test_backoff_is_full_jitter_within_its_cap(attempt, seed):
    import random

    from relevo.connectors.http import BACKOFF_BASE, BACKOFF_CAP, RetryIntervalCalculator, RetryState

    calculator = RetryIntervalCalculator(rng=random.Random(seed))
    wait = calculator.interval(RetryState(attempt=attempt), errors.ServerError("x"))
    assert 0 <= wait <= min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
    assert calculator.interval(RetryState(attempt=attempt), errors.RateLimited("x", retry_after=7.5)) == 7.5


def test_backoff_spreads_out():
    """Full jitter, not a fixed delay: many draws for one attempt differ and cover the range."""
    import random

    from relevo.connectors.http import RetryIntervalCalculator

    draws = [RetryIntervalCalculator(rng=random.Random(n)).backoff(3) for n in range(200)]
    assert len(set(draws)) > 190 and min(draws) < 0.5 and max(draws) > 3.5


@responses.activate(registry=OrderedRegistry, assert_all_requests_are_fired=True)
def test_a_handed_back_retry_after_is_waited_once_by_the_next_call():
    """A Retry-After longer than the transport sleeps is handed back (no sleep); the next call (a Prefect task
    retry) waits it out once before calling; a second call after that does not wait again."""
    responses.get(f"{BASE}/things", status=429, headers={"Retry-After": "90"})
    responses.get(f"{BASE}/things", json={"ok": True})
    responses.get(f"{BASE}/things", json={"ok": True})
    waits: list[float] = []
    http = client(waits)
    with pytest.raises(errors.RateLimited) as caught:
        http.request("GET", "things")
    assert caught.value.retry_after == 90 and not caught.value.exhausted and waits == []
    assert http.json("GET", "things") == {"ok": True}
    assert len(waits) == 1 and 89 < waits[0] <= 90
    http.json("GET", "things")
    assert len(waits) == 1 and len(responses.calls) == 3


@responses.activate(assert_all_requests_are_fired=True)
def test_a_wait_beyond_the_longest_is_refused_without_calling():
    from relevo.connectors.http import MAX_WAIT

    responses.get(f"{BASE}/things", status=429, headers={"Retry-After": str(int(MAX_WAIT) + 100)})
    waits: list[float] = []
    http = client(waits)
    with pytest.raises(errors.RateLimited):
        http.request("GET", "things")
    with pytest.raises(errors.RateLimited, match="not called"):
        http.request("GET", "things")
    assert len(responses.calls) == 1 and waits == []


class _Members:
    """A connector whose member list is one GET through the shared transport."""

    platform = "scim"

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def members(self, presence):
        return self.http.json("GET", "members")


class _Registry:
    def __init__(self, connector: _Members) -> None:
        from relevo.model import Presence

        self.presences = [Presence(id="p1", platform="scim", account="Acme", connector="scim", settings={})]
        self.connector = connector

    def social(self, presence):
        return self.connector


@responses.activate(assert_all_requests_are_fired=True)
def test_a_step_against_a_failing_vendor_costs_three_calls_not_nine(prefect_api_url):
    """The transport retries 5xx three times; Prefect's task retries do not repeat that (3 x 3 before)."""
    from relevo.engine.steps import list_members

    responses.get(f"{BASE}/members", status=503)
    with pytest.raises(errors.ServerError) as caught:
        list_members(_Registry(_Members(HttpClient("vendor", BASE, sleep=lambda s: None))), "p1")
    assert caught.value.exhausted and len(responses.calls) == 3


@responses.activate(registry=OrderedRegistry, assert_all_requests_are_fired=True)
def test_a_step_retries_a_handed_back_rate_limit_once_with_one_wait(prefect_api_url):
    from relevo.engine.steps import list_members

    responses.get(f"{BASE}/members", status=429, headers={"Retry-After": "120"})
    responses.get(f"{BASE}/members", json=["m1"])
    waits: list[float] = []
    assert list_members(_Registry(_Members(HttpClient("vendor", BASE, sleep=waits.append))), "p1") == ["m1"]
    assert len(responses.calls) == 2 and len(waits) == 1 and 119 < waits[0] <= 120


# --- auth schemes tell the client what to redact ---


@given(token=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=80))
def test_every_auth_scheme_sends_its_secret_and_never_shows_it(token):
    from relevo.connectors.http import ApiKeyHeader, BasicAuth, BearerToken

    for auth in (BearerToken(token), ApiKeyHeader("x-api-key", token), BasicAuth(token, "x")):
        http = HttpClient("vendor", BASE, auth=auth)
        sent = http.session.prepare_request(requests.Request("GET", BASE + "/x"))
        assert "Authorization" in sent.headers or sent.headers.get("x-api-key") == token
        assert token not in repr(auth) and token not in http.redact(f"vendor said {token}!")


@responses.activate(assert_all_requests_are_fired=True)
def test_a_request_level_token_is_redacted_too():
    """Meta's Page token goes on Page calls only (request-level auth): an echo of it is redacted like the rest."""
    from relevo.connectors.http import BearerToken

    page_token = "EAAPageToken0123456789"
    responses.get(f"{BASE}/page", status=400, json={"message": f"bad token {page_token}"})
    http = HttpClient("vendor", BASE, auth=BearerToken(CANARY))
    with pytest.raises(errors.InvalidRequest) as caught:
        http.request("GET", "page", auth=BearerToken(page_token))
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {page_token}"
    assert page_token not in str(caught.value) and "***" in str(caught.value)


# --- pagination: one loop, the repeated-cursor guard in the base ---


@responses.activate(assert_all_requests_are_fired=True)
def test_a_vendor_repeating_its_cursor_is_a_typed_error_not_an_endless_loop():
    from relevo.connectors.http import CursorPaginator, dig, paginate

    responses.get(f"{BASE}/list", json={"data": [1], "next": "abc"})  # every page says "next: abc"
    pages = CursorPaginator(lambda body: dig(body, "next"), "cursor")
    with pytest.raises(errors.InvalidResponse, match="repeated cursor 'abc'") as caught:
        list(paginate(client([]), "GET", "list", pages))
    assert len(responses.calls) == 2 and caught.value.vendor == "vendor"


@responses.activate(registry=OrderedRegistry, assert_all_requests_are_fired=True)
def test_cursor_and_page_number_paginators_follow_until_the_end():
    from responses import matchers

    from relevo.connectors.http import CursorPaginator, PageNumberPaginator, dig, paginate

    responses.get(
        f"{BASE}/list", match=[matchers.query_param_matcher({"n": "1"})], json={"d": [1], "next": "c2"}
    )
    responses.get(
        f"{BASE}/list", match=[matchers.query_param_matcher({"n": "1", "cursor": "c2"})], json={"d": [2]}
    )
    bodies = paginate(
        client([]), "GET", "list", CursorPaginator(lambda b: dig(b, "next"), "cursor"), params={"n": 1}
    )
    assert [b["d"] for b in bodies] == [[1], [2]]
    responses.get(f"{BASE}/pages", match=[matchers.query_param_matcher({"page": "1"})], json={"total": 2})
    responses.get(f"{BASE}/pages", match=[matchers.query_param_matcher({"page": "2"})], json={"total": 2})
    pages = PageNumberPaginator(lambda b: b["total"])
    assert len(list(paginate(client([]), "GET", "pages", pages, params={"page": 1}))) == 2
