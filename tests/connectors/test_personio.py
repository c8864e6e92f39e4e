"""connectors/personio.py: token lifecycle, the person and employment, the report upload, polling, webhooks.

Every mocked answer is built from Personio's own spec examples and checked against the transcribed
schemas (tests/connectors/personio_contract.py); every request relevo sends is checked against the
operation it calls (`sent_to_spec`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import responses

from relevo import schemas
from relevo.config.registry import load_registry
from relevo.connectors import errors
from relevo.connectors.personio import RENEW_BEFORE, Personio, parse_webhook
from relevo.model import ConfigurationError
from tests.connectors import personio_contract as spec

BASE = "https://api.personio.de"
CLIENT_ID = "papi-client-canary-0d1e"
SECRET = "papi-secret-canary-77ab3c"
TOKEN = "papi-token-canary-5a5a"
TODAY = date(2026, 11, 26)


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock
        for call in mock.calls:
            spec.validate_request(call.request)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def connector(clock: Clock | None = None, **kwargs) -> Personio:
    options = {
        "default_language": "de",
        "today": lambda: TODAY,
        "sleep": lambda s: None,
        "clock": clock or Clock(),
        "document_category": 7,
    }
    options.update(kwargs)
    return Personio(CLIENT_ID, SECRET, **options)


def token(api, value: str = TOKEN, expires_in: int = 86400) -> None:
    body = {**spec.TOKEN_EXAMPLE, "access_token": value, "expires_in": expires_in}
    spec.check(spec.OAUTH2_TOKEN, body)
    api.post(f"{BASE}/v2/auth/token", json=body)


def person_and_employment(api, person: dict, employment: dict | None) -> None:
    api.get(f"{BASE}/v2/persons/{person['id']}", json=person)
    rows = [employment] if employment else []
    api.get(f"{BASE}/v2/persons/{person['id']}/employments", json=spec.page(rows, path="v2/employments"))


LEAVER = spec.person(
    "5005",
    email="lena.vogel@acme.example",
    first_name="Lena",
    last_name="Vogel",
    preferred_name="Lena",
    status="INACTIVE",
    custom_attributes=[
        {"id": "dynamic_901", "type": "string", "value": "3003", "global_id": "successor"},
        {"id": "dynamic_902", "type": "string", "value": "fr", "label": "Sprache"},
        {"id": "dynamic_903", "type": "string", "value": "true", "global_id": "no_contact"},
        {"id": "dynamic_904", "type": "string", "value": "2027-05-31", "global_id": "non_solicit"},
    ],
)
DISMISSAL = spec.employment(
    "5005",
    status="INACTIVE",
    termination={
        "termination_date": "2026-11-30",
        "last_working_day": "2026-11-20",
        "terminated_at": "2026-11-02",
        "type": "FIRED",
        "reason": "Restructuring",
    },
)
MANAGER = spec.person("3003")
CONFIGURED = {
    "successor_field": "successor",
    "language_field": "sprache",
    "restriction_fields": {"no_client_contact": "dynamic_903", "non_solicitation_until": "non_solicit"},
}


# --- the record ---


def test_dismissal_with_manager_successor_language_and_restrictions(api):
    token(api)
    person_and_employment(api, LEAVER, DISMISSAL)
    api.get(f"{BASE}/v2/persons/3003", json=MANAGER)

    employee = schemas.check("employee", connector(**CONFIGURED).employee("5005"), "Personio 5005")

    assert employee == {
        "id": "5005",
        "name": "Lena Vogel",
        "first_name": "Lena",
        "last_name": "Vogel",
        "email": "lena.vogel@acme.example",
        "phone": None,
        "language": "fr",
        "department": None,
        "job_title": "Software Engineer",
        "status": "terminated",
        "termination": {
            "type": "involuntary",
            "date": "2026-11-20",
            "reason": "Restructuring",
            "vendor_type": "FIRED",
        },
        "manager": {
            "id": "3003",
            "name": "John Smith",
            "email": "jen.doe@personio.de",
            "phone": None,
            "job_title": None,
        },
        "successor": {
            "id": "3003",
            "name": "John Smith",
            "email": "jen.doe@personio.de",
            "phone": None,
            "job_title": None,
        },
        "restrictions": {"no_client_contact": True, "non_solicitation_until": "2027-05-31"},
    }
    # the manager, also the successor, is read once; one token for all the calls
    assert [c.request.url.split("?")[0] for c in api.calls].count(f"{BASE}/v2/persons/3003") == 1
    assert sum(c.request.url.endswith("/v2/auth/token") for c in api.calls) == 1
    assert all(c.request.headers.get("Authorization") == f"Bearer {TOKEN}" for c in api.calls[1:])


def test_the_spec_example_quit_with_last_working_date_is_voluntary(api):
    """The spec's own EmploymentResponse: a QUIT whose day is written `last_working_date` (its schema:
    `last_working_day`)."""
    token(api)
    person_and_employment(api, spec.person("5005"), spec.employment("5005"))
    api.get(f"{BASE}/v2/persons/3003", json=MANAGER)

    employee = connector().employee("5005")

    assert employee["termination"] == {
        "type": "voluntary",
        "date": "2023-01-07",
        "reason": "Moving to a different position",
        "vendor_type": "QUIT",
    }
    assert employee["status"] == "terminated" and employee["language"] == "de"


def test_a_resignation_entered_with_a_future_last_day_is_terminating(api):
    token(api)
    resignation = spec.employment(
        "5005",
        status="ACTIVE",
        supervisor={},
        termination={"termination_date": "2026-12-31", "last_working_day": "2026-12-18", "type": "EMPLOYEE"},
    )
    person_and_employment(api, spec.person("5005"), resignation)

    employee = connector().employee("5005")

    assert employee["status"] == "terminating" and employee["termination"]["type"] == "voluntary"
    assert employee["termination"]["date"] == "2026-12-18" and employee["manager"] is None


def test_an_active_employment_without_termination_is_active(api):
    token(api)
    active = spec.employment("5005", termination={"type": "UNSPECIFIED"})
    person_and_employment(api, spec.person("5005"), active)
    api.get(f"{BASE}/v2/persons/3003", json=MANAGER)

    employee = connector().employee("5005")

    assert employee["status"] == "active" and employee["termination"] is None


def test_inactive_without_dates_is_terminated_without_a_date(api):
    token(api)
    person_and_employment(
        api, spec.person("5005"), spec.employment("5005", status="INACTIVE", termination={})
    )
    api.get(f"{BASE}/v2/persons/3003", json=MANAGER)

    termination = connector().employee("5005")["termination"]

    assert termination == {"type": "unknown", "date": None, "reason": None, "vendor_type": None}


def test_the_most_recent_employment_decides(api):
    """A rehired person: the old, terminated employment is history; the current one is active."""
    token(api)
    old = spec.employment("5005", employment_start_date="2019-01-01", status="INACTIVE")
    current = spec.employment("5005", employment_start_date="2025-03-01", termination={})
    api.get(f"{BASE}/v2/persons/5005", json=spec.person("5005"))
    api.get(f"{BASE}/v2/persons/5005/employments", json=spec.page([old, current]))
    api.get(f"{BASE}/v2/persons/3003", json=MANAGER)

    assert connector().employee("5005")["status"] == "active"


@pytest.mark.parametrize(
    "vendor_type,overrides,expected",
    [
        ("FIRED", None, "involuntary"),
        ("QUIT", None, "voluntary"),
        ("EMPLOYEE", None, "voluntary"),
        ("SETTLEMENT_AGREEMENT", None, "unknown"),
        ("SETTLEMENT_AGREEMENT", {"settlement_agreement": "involuntary"}, "involuntary"),
        ("UNSPECIFIED", None, "unknown"),
    ],
)
def test_termination_type_mapping(api, vendor_type, overrides, expected):
    token(api)
    person_and_employment(
        api,
        spec.person("5005"),
        spec.employment(
            "5005", supervisor={}, termination={"last_working_day": "2026-11-20", "type": vendor_type}
        ),
    )

    assert connector(termination_types=overrides).employee("5005")["termination"]["type"] == expected


def test_a_successor_named_by_email_is_looked_up_with_the_email_filter(api):
    token(api)
    leaver = spec.person(
        "5005",
        custom_attributes=[
            {"id": "dynamic_1", "type": "string", "global_id": "successor", "value": "Jen.Doe@personio.de"}
        ],
    )
    person_and_employment(api, leaver, spec.employment("5005", supervisor={}))
    api.get(f"{BASE}/v2/persons", json=spec.page([MANAGER]))

    successor = connector(successor_field="successor").employee("5005")["successor"]

    assert successor is not None and successor["id"] == "3003"
    lookup = [c for c in api.calls if c.request.url.startswith(f"{BASE}/v2/persons?")]
    assert "email=Jen.Doe%40personio.de" in lookup[0].request.url


def test_unknown_person_is_not_found_and_an_odd_id_is_never_sent(api):
    token(api)
    api.get(
        f"{BASE}/v2/persons/404",
        status=404,
        json=spec.NOT_FOUND_EXAMPLE,
        content_type="application/problem+json",
    )
    with pytest.raises(errors.NotFound, match="404"):
        connector().employee("404")
    with pytest.raises(errors.NotFound, match="not an employee id"):
        connector().employee("../../v1/company/employees")
    assert all("/v1/" not in c.request.url for c in api.calls)


@pytest.mark.parametrize(
    "bad_person,message",
    [
        ({"id": "5005", "email": ["a@b.example"]}, "email"),
        ({"id": "../x"}, "id"),
        ({"id": "5005", "custom_attributes": "dynamic"}, "custom_attributes"),
        ({"id": "5005", "first_name": "x" * 201}, "first_name"),
    ],
)
def test_a_person_of_the_wrong_shape_is_refused_naming_the_field(api, bad_person, message):
    token(api)
    api.get(f"{BASE}/v2/persons/5005", json=bad_person)
    with pytest.raises(errors.InvalidResponse, match=message):
        connector().employee("5005")


@pytest.mark.parametrize(
    "termination,message",
    [
        ({"last_working_day": "next friday"}, "last_working_day"),
        ({"last_working_day": ["2026-11-20"]}, "last_working_day"),
        ({"reason": {"text": "x"}}, "reason"),
    ],
)
def test_an_employment_of_the_wrong_shape_is_refused_naming_the_field(api, termination, message):
    token(api)
    person_and_employment(api, spec.person("5005"), {**spec.EMPLOYMENT_EXAMPLE, "termination": termination})
    with pytest.raises(errors.InvalidResponse, match=message):
        connector().employee("5005")


@pytest.mark.parametrize(
    "bad", ["a@b.example, c@d.example", "Lena <lena@x.example>\r\nBcc: x@evil.example", "not-an-address"]
)
def test_a_work_email_that_is_not_one_address_is_refused_naming_the_record(api, bad):
    token(api)
    person_and_employment(api, spec.person("5005", email=bad), spec.employment("5005", supervisor={}))
    with pytest.raises(errors.BadRecord, match="Personio person 5005"):
        connector().employee("5005")


# --- the token ---


def test_the_token_is_reused_then_renewed_before_it_expires(api):
    clock = Clock()
    token(api, "papi-first-canary", expires_in=3600)
    token(api, "papi-second-canary", expires_in=3600)
    api.get(f"{BASE}/v2/persons", json=spec.page([]))
    hr = connector(clock)

    hr.check()
    clock.now += 3600 - RENEW_BEFORE - 1  # still valid for a little over RENEW_BEFORE: reused
    hr.check()
    clock.now += 2  # within RENEW_BEFORE of the expiry: renewed before any call fails
    hr.check()

    auth = [c.request.headers.get("Authorization") for c in api.calls if "/v2/persons" in c.request.url]
    assert auth == ["Bearer papi-first-canary", "Bearer papi-first-canary", "Bearer papi-second-canary"]
    assert hr.tokens.fetched == 2


def test_a_401_renews_the_token_once_and_repeats_the_call(api):
    token(api, "papi-revoked-canary")
    token(api, "papi-fresh-canary")
    api.get(f"{BASE}/v2/persons", status=401, json=spec.NOT_FOUND_EXAMPLE)
    api.get(f"{BASE}/v2/persons", json=spec.page([]))

    connector().check()

    auth = [c.request.headers.get("Authorization") for c in api.calls if "/v2/persons" in c.request.url]
    assert auth == ["Bearer papi-revoked-canary", "Bearer papi-fresh-canary"]


def test_refused_credentials_are_an_authentication_error_without_the_secret(api):
    body = {
        "timestamp": "2023-03-01T14:07:17Z",
        "trace_id": "baaaaaad-c0de-fade-baad-c000000000de",
        "error": "unauthorized_client",
        "error_description": f"bad secret {SECRET}",
    }
    spec.check(spec.OAUTH2_TOKEN_ERROR, body)
    api.post(f"{BASE}/v2/auth/token", status=400, json=body, content_type="application/problem+json")

    with pytest.raises(errors.AuthenticationError) as caught:
        connector().employee("5005")

    text = str(caught.value)
    assert "unauthorized_client" in text and SECRET not in text and CLIENT_ID not in text


def test_a_token_answer_without_access_token_is_an_invalid_response(api):
    api.post(f"{BASE}/v2/auth/token", json={"token_type": "Bearer", "expires_in": 86400})
    with pytest.raises(errors.InvalidResponse, match="access_token"):
        connector().check()


def test_429_on_a_read_waits_what_retry_after_says(api):
    waits: list[float] = []
    token(api)
    api.get(f"{BASE}/v2/persons", status=429, headers={"Retry-After": "3"})
    api.get(f"{BASE}/v2/persons", json=spec.page([]))

    connector(sleep=waits.append).check()

    assert waits == [3.0]


@pytest.mark.parametrize("status,cls", [(403, errors.PermissionDenied), (500, errors.ServerError)])
def test_no_secret_or_token_appears_in_any_error(api, status, cls):
    token(api)
    api.get(
        f"{BASE}/v2/persons/5005",
        status=status,
        json={"errors": [{"title": "Echo", "detail": f"{TOKEN} {SECRET}"}], "personio_trace_id": TOKEN},
    )
    with pytest.raises(cls) as caught:
        connector().employee("5005")
    assert TOKEN not in str(caught.value) and SECRET not in str(caught.value)


# --- writing the report ---


def test_the_report_is_uploaded_as_a_document_in_the_configured_category(api):
    token(api)
    spec.check(spec.DOCUMENT_UPLOAD_201, spec.UPLOAD_EXAMPLE)
    api.post(f"{BASE}/v1/company/documents", status=201, json=spec.UPLOAD_EXAMPLE)

    where = connector().write_note("5005", "relevo offboarding report", "3 roles removed", Path("/unused"))

    assert (
        where
        == "Personio document 'relevo-offboarding-report-5005.txt' (id 1) in category 7 of employee 5005"
    )
    upload = api.calls[-1].request
    assert b"3 roles removed" in upload.body and b'name="category_id"\r\n\r\n7' in upload.body


def test_an_unknown_category_is_not_found_and_no_category_is_a_configuration_error(api):
    token(api)
    api.post(
        f"{BASE}/v1/company/documents",
        status=404,
        json={
            "success": False,
            "error": {"message": "No query results for model [DocumentCategory] 1", "code": 0},
        },
    )
    with pytest.raises(errors.NotFound, match="document category 7"):
        connector().write_note("5005", "report", "text", Path("/unused"))
    with pytest.raises(ConfigurationError, match="document_category"):
        connector(document_category=None).write_note("5005", "report", "text", Path("/unused"))


def test_an_upload_answered_500_is_not_repeated(api):
    token(api)
    api.post(f"{BASE}/v1/company/documents", status=500)
    with pytest.raises(errors.ServerError):
        connector().write_note("5005", "report", "text", Path("/unused"))
    assert sum(c.request.url.endswith("/v1/company/documents") for c in api.calls) == 1


# --- polling ---


def test_changed_since_reads_each_persons_employments_updated_after_the_cursor(api):
    token(api)
    api.get(
        f"{BASE}/v2/persons", json=spec.page([spec.person("5005"), spec.person("5006")], next_cursor="cur_2")
    )
    api.get(f"{BASE}/v2/persons", json=spec.page([spec.person("5007")]))
    api.get(
        f"{BASE}/v2/persons/5005/employments",
        json=spec.page([spec.employment("5005", updated_at="2026-11-27T08:55:00Z")]),
    )
    api.get(f"{BASE}/v2/persons/5006/employments", json=spec.page([]))
    api.get(
        f"{BASE}/v2/persons/5007/employments",
        json=spec.page([spec.employment("5007", updated_at="2026-11-26T10:00:00Z")]),
    )

    ids, cursor = connector().changed_since("2026-11-20T00:00:00+00:00")

    assert ids == ["5005", "5007"] and cursor == "2026-11-27T08:54:59Z"
    employment_calls = [c.request.url for c in api.calls if "/employments" in c.request.url]
    assert all("updated_at.gt=2026-11-20T00%3A00%3A00Z" in url for url in employment_calls)
    assert (
        "cursor=cur_2"
        in [c.request.url for c in api.calls if c.request.url.startswith(f"{BASE}/v2/persons?")][1]
    )


def test_no_change_keeps_the_cursor_and_persons_mode_uses_one_filtered_listing(api):
    token(api)
    api.get(f"{BASE}/v2/persons", json=spec.page([]))
    hr = connector(poll="persons")

    assert hr.changed_since("2026-11-20T00:00:00+00:00") == ([], "2026-11-20T00:00:00+00:00")
    (listing,) = [c for c in api.calls if "/v2/persons" in c.request.url]
    assert "updated_at.gt=2026-11-20T00%3A00%3A00Z" in listing.request.url


def test_a_cursor_that_repeats_stops_the_poll(api):
    token(api)
    api.get(f"{BASE}/v2/persons", json=spec.page([spec.person("5005")], next_cursor="cur_same"))
    api.get(f"{BASE}/v2/persons/5005/employments", json=spec.page([]))
    with pytest.raises(errors.InvalidResponse, match="repeats"):
        connector().changed_since("2026-11-20T00:00:00+00:00")


def persons_pages(api, cursors: list[str | None]) -> list[str]:
    """GET /v2/persons answered page by page: page i holds person 600i and links to cursors[i]."""
    ids = []
    for i, nxt in enumerate(cursors):
        query = {"updated_at.gt": "2026-11-20T00:00:00Z", "limit": "50"}
        if i:
            query["cursor"] = cursors[i - 1]
        ids.append(f"600{i}")
        api.get(
            f"{BASE}/v2/persons",
            json=spec.page([spec.person(ids[-1])], next_cursor=nxt),
            match=[responses.matchers.query_param_matcher(query)],
        )
    return ids


def test_a_listing_over_many_pages_reads_each_page_once(api):
    token(api)
    ids = persons_pages(api, ["cur_b", "cur_c", None])
    hr = connector(poll="persons")
    assert hr.changed_since("2026-11-20T00:00:00+00:00")[0] == ids
    assert hr.http.calls == 3  # one call per page (the token has a client of its own)


def test_a_cursor_that_comes_back_two_pages_later_stops_the_poll(api):
    token(api)
    persons_pages(api, ["cur_b", "cur_c", "cur_b"])
    with pytest.raises(errors.InvalidResponse, match="repeated cursor 'cur_b'"):
        connector(poll="persons").changed_since("2026-11-20T00:00:00+00:00")


# --- webhooks ---


def webhook(event: str = "Employment.updated", **payload) -> dict:
    body = {
        "company_id": "12345",
        "event_name": event,
        "occurred_at": "2026-11-27T08:55:00Z",
        "payload": payload or {"id": "2306b77a-35fb-4b1d-8044-3b14f7f2ca65", "person_id": "5005"},
        "meta": {},
    }
    spec.check(spec.WEBHOOK, body)
    return body


def test_an_employment_notification_names_the_person_and_a_stable_fingerprint():
    first = parse_webhook(webhook())
    assert first is not None and first["employee_id"] == "5005"
    assert parse_webhook(webhook())["fingerprint"] == first["fingerprint"]  # a redelivery
    other = parse_webhook({**webhook(), "occurred_at": "2026-11-27T09:00:00Z"})
    assert other["fingerprint"] != first["fingerprint"]
    assert parse_webhook(webhook("employment.terminated", person={"id": "5005"}))["employee_id"] == "5005"


@pytest.mark.parametrize(
    "event", ["Person.updated", "Person.created", "Employment.created", "Employment.deleted"]
)
def test_other_events_are_not_terminations(event):
    assert parse_webhook(webhook(event)) is None


@pytest.mark.parametrize(
    "body,message",
    [
        ([], "not a JSON object"),
        ({"event_name": "Employment.updated", "occurred_at": "x", "payload": {}}, "company_id"),
        ({**webhook(), "payload": "5005"}, "payload is not an object"),
        (webhook(id="2306b77a"), "names no person"),
        (webhook(person_id="../5005"), "not an employee id"),
        (webhook(person_id=True), "names no person"),
    ],
)
def test_notifications_of_the_wrong_shape_name_the_field(body, message):
    with pytest.raises(ValueError, match=message):
        parse_webhook(body)


# --- the registry ---


def test_registry_builds_personio_from_secret_references(acme: Path, monkeypatch):
    monkeypatch.setenv("PERSONIO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PERSONIO_CLIENT_SECRET", SECRET)
    text = acme.read_text("utf-8").replace(
        "hr: {connector: directory, path: hr.json}",
        "hr: {connector: personio, client_id: {env: PERSONIO_CLIENT_ID},"
        " client_secret: {env: PERSONIO_CLIENT_SECRET}, document_category: 7, successor_field: successor,"
        " restriction_fields: {no_client_contact: dynamic_903}}",
    )
    acme.write_text(text, "utf-8")

    hr = load_registry(acme).hr()

    assert isinstance(hr, Personio) and hr.document_category == 7 and hr.successor_field == "successor"
    acme.write_text(text.replace(" document_category: 7,", ""), "utf-8")
    with pytest.raises(ConfigurationError, match="document_category"):
        load_registry(acme).hr()
