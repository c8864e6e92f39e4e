"""connectors/factorial.py: the employee record and the terminate/unterminate webhook payloads.

Payloads follow the official SDK's EmployeesEmployee model (factorialco/factorial-api-sdks,
GET /api/{version}/resources/employees/employees/{id} returns the bare object).
"""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from relevo import schemas
from relevo.config.registry import load_registry
from relevo.connectors import errors
from relevo.connectors.factorial import Factorial, parse_webhook
from relevo.model import ConfigurationError
from tests.support.canaries import FACTORIAL_KEY as CANARY
from tests.support.factorial_api import BASE, MANAGER, connector, page, record, stub


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


# --- the record ---


def test_dismissed_employee_with_manager(api):
    stub(api, record())
    stub(api, MANAGER)

    employee = schemas.check("employee", connector().employee("2001"), "Factorial 2001")

    assert employee == {
        "id": "2001",
        "name": "Laura Martínez Ferrer",
        "email": "laura.martinez@acme-comunicacion.example",
        "phone": "+34 961 23 45 10",
        "language": "es",
        "department": None,
        "job_title": None,
        "status": "terminated",
        "termination": {
            "type": "involuntary",
            "date": "2026-11-20",
            "reason": "Reestructuración del equipo",
            "vendor_type": "company",
        },
        "manager": {
            "id": "2002",
            "name": "Marta Soler",
            "email": "marta.soler@acme-comunicacion.example",
            "phone": None,
            "job_title": None,
        },
        "successor": None,
        "restrictions": {"no_client_contact": False, "non_solicitation_until": None},
    }
    assert all(CANARY not in c.request.url for c in api.calls)


def test_resignation_with_a_future_last_day_is_terminating_and_voluntary(api):
    stub(
        api,
        record(
            is_terminating=True,
            active=True,
            terminated_on="2026-12-18",
            termination_reason_type="employee",
            termination_reason="Nuevo empleo",
            manager_id=None,
        ),
    )

    employee = schemas.check("employee", connector().employee("2001"), "Factorial 2001")

    assert employee["status"] == "terminating"
    assert employee["termination"]["type"] == "voluntary" and employee["termination"]["date"] == "2026-12-18"


def test_missing_manager_and_successor_are_explicit_nulls(api):
    stub(api, record(manager_id=None))

    employee = connector().employee("2001")

    assert "manager" in employee and employee["manager"] is None
    assert "successor" in employee and employee["successor"] is None
    assert len(api.calls) == 1


def test_manager_that_no_longer_exists_reads_as_no_manager(api):
    stub(api, record(manager_id=4040))
    api.get(f"{BASE}/employees/employees/4040", status=404)

    assert connector().employee("2001")["manager"] is None


def test_active_employee_has_no_termination(api):
    stub(
        api,
        record(
            terminated_on=None,
            termination_reason_type=None,
            termination_reason=None,
            active=True,
            manager_id=None,
        ),
    )

    employee = connector().employee("2001")

    assert employee["status"] == "active" and employee["termination"] is None


@pytest.mark.parametrize(
    "login,mail,expected",
    [
        (
            "laura.martinez@acme-comunicacion.example",
            "laura.mf@correo.example",
            "laura.martinez@acme-comunicacion.example",
        ),
        (None, "laura.martinez@acme-comunicacion.example", "laura.martinez@acme-comunicacion.example"),
        (None, None, None),
    ],
)
def test_login_email_is_preferred_and_email_is_the_fallback(api, login, mail, expected):
    stub(api, record(login_email=login, email=mail, manager_id=None))
    assert connector().employee("2001")["email"] == expected


@pytest.mark.parametrize(
    "vendor_type,overrides,expected",
    [
        ("company", None, "involuntary"),
        ("employee", None, "voluntary"),
        ("other", None, "unknown"),
        (None, None, "unknown"),
        ("other", {"other": "involuntary"}, "involuntary"),
        ("employee", {"Employee": "involuntary"}, "involuntary"),
    ],
)
def test_termination_type_mapping(api, vendor_type, overrides, expected):
    stub(api, record(termination_reason_type=vendor_type, manager_id=None))
    termination = connector(termination_types=overrides).employee("2001")["termination"]
    assert termination["type"] == expected and termination["vendor_type"] == vendor_type


def test_api_version_is_configurable(api):
    api.get(
        "https://api.factorialhr.com/api/2026-10-01/resources/employees/employees/2001",
        json=record(manager_id=None),
    )
    assert connector(version="2026-10-01").employee("2001")["id"] == "2001"


def test_a_version_that_is_not_a_date_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="not a date"):
        connector(version="v1")


# --- transport ---


def test_429_then_200_waits_what_retry_after_says():
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        api.get(f"{BASE}/employees/employees/2001", status=429, headers={"Retry-After": "11"})
        stub(api, record(manager_id=None))
        waits: list[float] = []

        assert connector(waits).employee("2001")["status"] == "terminated"
        assert waits == [11.0]


def test_503_with_retry_after_is_retried():
    with responses.RequestsMock(registry=OrderedRegistry) as api:
        api.get(f"{BASE}/employees/employees/2001", status=503, headers={"Retry-After": "4"})
        stub(api, record(manager_id=None))
        waits: list[float] = []

        assert connector(waits).employee("2001")["id"] == "2001"
        assert waits == [4.0]


def test_401_is_an_authentication_error_without_the_key(api):
    api.get(f"{BASE}/employees/employees/2001", status=401, json={"error": f"invalid api key {CANARY}"})

    with pytest.raises(errors.AuthenticationError) as caught:
        connector().employee("2001")

    assert caught.value.status == 401 and len(api.calls) == 1
    assert CANARY not in f"{caught.value} {caught.value!r}"


def test_404_names_the_employee(api):
    api.get(f"{BASE}/employees/employees/999", status=404, json={"error": "Not found"})

    with pytest.raises(errors.NotFound, match="employee 999 not found in Factorial"):
        connector().employee("999")


def test_timeout_is_a_connection_failure(api):
    api.get(f"{BASE}/employees/employees/2001", body=requests.exceptions.ConnectTimeout())
    waits: list[float] = []

    with pytest.raises(errors.ConnectionFailed, match="timed out") as caught:
        connector(waits).employee("2001")

    assert len(api.calls) == 3 and len(waits) == 2 and CANARY not in str(caught.value)


def test_malformed_json_is_an_invalid_response(api):
    api.get(f"{BASE}/employees/employees/2001", body='{"id": 2001,', content_type="application/json")

    with pytest.raises(errors.InvalidResponse, match="not JSON"):
        connector().employee("2001")


def test_a_list_instead_of_an_employee_is_an_invalid_response(api):
    api.get(f"{BASE}/employees/employees/2001", json={"data": [record()], "meta": {}})

    with pytest.raises(errors.InvalidResponse, match="did not return an employee object"):
        connector().employee("2001")


@pytest.mark.parametrize(
    "status,cls",
    [
        (401, errors.AuthenticationError),
        (403, errors.PermissionDenied),
        (422, errors.InvalidRequest),
        (500, errors.ServerError),
    ],
)
def test_the_api_key_never_appears_in_any_error(api, status, cls):
    api.get(
        f"{BASE}/employees/employees/2001", status=status, json={"message": f"x-api-key {CANARY} refused"}
    )

    with pytest.raises(cls) as caught:
        connector().employee("2001")

    assert CANARY not in f"{caught.value} {caught.value!r} {caught.value.message}"


# --- registry ---


def test_registry_builds_factorial_with_the_key_from_the_environment(acme: Path, monkeypatch):
    monkeypatch.setenv("FACTORIAL_API_KEY", CANARY)
    text, count = re.subn(
        r"(?m)^hr: .*$",
        "hr: {connector: factorial, api_key: {env: FACTORIAL_API_KEY}, version: '2026-10-01'}",
        acme.read_text("utf-8"),
    )
    assert count == 1
    acme.write_text(text, "utf-8")

    hr = load_registry(acme).hr()

    assert isinstance(hr, Factorial)
    assert hr.http.base_url == "https://api.factorialhr.com/api/2026-10-01/resources/"
    sent = hr.http.session.prepare_request(requests.Request("GET", hr.http.base_url + "x"))
    assert sent.headers["x-api-key"] == CANARY and CANARY not in repr(hr.http.session.auth)


# --- webhooks ---


def test_terminate_payload():
    facts = parse_webhook(
        record(is_terminating=True, terminated_on="2026-12-18", active=True), "employees/employee/terminate"
    )
    assert facts == {"employee_id": "2001", "kind": "terminated", "effective_date": "2026-12-18"}


def test_unterminate_payload_is_a_rescinded_termination():
    payload = record(
        is_terminating=False,
        terminated_on=None,
        termination_reason_type=None,
        termination_reason=None,
        active=True,
    )
    assert parse_webhook(payload, "employees/employee/unterminate") == {
        "employee_id": "2001",
        "kind": "rescinded",
        "effective_date": None,
    }


def test_the_subscription_type_decides_and_is_required():
    payload = record(is_terminating=True, terminated_on="2026-12-18")
    assert parse_webhook(payload, "employees/employee/unterminate")["kind"] == "rescinded"
    assert parse_webhook(payload, "employees/employee/terminate") == {
        "employee_id": "2001",
        "kind": "terminated",
        "effective_date": "2026-12-18",
    }
    # Without it an object lacking termination fields used to count as a withdrawal.
    for unknown in (None, "", "employees/employee/update"):
        with pytest.raises(ValueError, match="subscription type"):
            parse_webhook(record(is_terminating=False, terminated_on=None), unknown)


def test_terminating_without_a_date_is_terminated_with_no_effective_date():
    assert parse_webhook(
        {"id": "2001", "is_terminating": True, "terminated_on": None}, "employees/employee/terminate"
    ) == {"employee_id": "2001", "kind": "terminated", "effective_date": None}


TERMINATE = "employees/employee/terminate"


@pytest.mark.parametrize(
    "payload,subscription,message",
    [
        ([record()], TERMINATE, "payload is not a JSON object"),
        ({"full_name": "Laura"}, TERMINATE, "id is missing"),
        ({"id": True}, TERMINATE, "id is missing"),
        ({"id": "20/01"}, TERMINATE, "id is not an employee id"),
        (
            {"id": 2001, "terminated_on": "18/12/2026"},
            TERMINATE,
            r"terminated_on is not a date \(YYYY-MM-DD\)",
        ),
        ({"id": 2001, "is_terminating": "yes"}, TERMINATE, "is_terminating is not a boolean"),
        ({"id": 2001}, "employees/employee/create", "subscription type 'employees/employee/create' is not"),
    ],
)
def test_payloads_of_the_wrong_shape_name_the_field(payload, subscription, message):
    with pytest.raises(ValueError, match=message):
        parse_webhook(payload, subscription)


@pytest.mark.parametrize(
    "bad", ['"Boss" <boss@evil.example>', "a@x.example, b@y.example", "a@x.example\r\nBcc: b@y.example"]
)
def test_a_manager_whose_email_is_not_one_address_is_refused_naming_the_record(api, bad):
    """Issue 11: a second recipient or a header in an e-mail field was accepted."""
    stub(api, record())
    stub(api, {**MANAGER, "login_email": bad})
    with pytest.raises(errors.BadRecord, match="Factorial employee 2002: work e-mail"):
        connector().employee("2001")


# --- webhook subscription health (issue 12 row 13) ---

# ApiPublicWebhookSubscription as the official SDK's generated model requires it (id, target_url, type,
# company_id, enabled, api_version; name and challenge optional), for every subscription a mock returns.
SUBSCRIPTION = {
    "type": "object",
    "required": ["id", "target_url", "type", "company_id", "enabled", "api_version"],
    "properties": {
        "id": {"type": "integer"},
        "target_url": {"type": "string"},
        "type": {"type": "string"},
        "company_id": {"type": "integer"},
        "enabled": {"type": "boolean"},
        "api_version": {"type": "string"},
        "name": {"type": "string"},
        "challenge": {"type": "string"},
    },
}
UPDATE_BODY = {
    "type": "object",
    "required": ["id"],
    "additionalProperties": False,  # PutApi2026...IdBody
    "properties": {
        "id": {"type": "string"},
        "target_url": {"type": "string"},
        "subscription_type": {"type": "string"},
        "name": {"type": "string"},
        "challenge": {"type": "string"},
        "enabled": {"type": "boolean"},
        "api_version": {"type": "string"},
    },
}


def subscription(sub_id: int, kind: str, enabled: bool) -> dict:
    row = {
        "id": sub_id,
        "target_url": f"https://relevo.acme.example/webhooks/factorial?subscription={kind}",
        "type": kind,
        "company_id": 77,
        "enabled": enabled,
        "api_version": "2026-07-01",
        "name": f"relevo {kind}",
    }
    import jsonschema

    jsonschema.validate(row, SUBSCRIPTION)
    return row


def test_a_subscription_factorial_disabled_is_reported_and_nothing_is_changed(api):
    """Factorial disables a subscription after 48 h of non-2xx: later terminations are missed silently."""
    api.get(
        f"{BASE}/api_public/credentials",
        json={"data": [{"id": 1, "company_id": 77, "employee_id": 0}]},
        match=[matchers.header_matcher({"x-api-key": CANARY})],
    )
    api.get(
        f"{BASE}/api_public/webhook_subscriptions",
        json={
            "data": [
                subscription(41, "employees/employee/terminate", enabled=False),
                subscription(42, "employees/employee/unterminate", enabled=True),
                subscription(43, "ats/candidate/create", enabled=False),
            ]
        },
    )

    findings = connector().check()

    assert [(f.level, f.subject) for f in findings] == [
        ("ok", "hr"),
        ("warning", "webhooks"),
        ("ok", "webhooks"),
    ]
    assert "41" in findings[1].text and "DISABLED" in findings[1].text and "48 h" in findings[1].text
    assert all(c.request.method == "GET" for c in api.calls)  # a check never changes anything


def test_a_missing_termination_subscription_is_a_warning(api):
    api.get(
        f"{BASE}/api_public/webhook_subscriptions",
        json={"data": [subscription(42, "employees/employee/unterminate", enabled=True)]},
    )
    findings = connector().webhook_health()
    assert (
        findings[0].level == "warning"
        and "no 'employees/employee/terminate' subscription" in findings[0].text
    )


def test_reenable_puts_enabled_true_with_the_id(api):
    put = api.put(
        f"{BASE}/api_public/webhook_subscriptions/41",
        json=subscription(41, "employees/employee/terminate", enabled=True),
    )
    connector().reenable(41)
    import json as _json

    import jsonschema

    body = _json.loads(put.calls[0].request.body)
    jsonschema.validate(body, UPDATE_BODY)
    assert body == {"id": "41", "enabled": True}


# --- reconciliation: employees changed since the cursor ---


def test_changed_since_pages_with_after_id_and_filters_by_the_day_before(api):
    hr = connector()
    first = [record(2001 + i, updated_at=f"2026-11-2{i}T10:00:00.000Z") for i in range(3)]
    second = [record(2010, updated_at="2026-11-26T08:30:00.000Z")]
    common = {
        "only_active": "false",
        "only_managers": "false",
        "limit": "100",
        "updated_at_gteq": "2026-11-19",
    }
    api.get(
        f"{BASE}/employees/employees",
        json=page(first, next_cursor="MjAwMw==", total=4),
        match=[matchers.query_param_matcher(common), matchers.header_matcher({"x-api-key": CANARY})],
    )
    api.get(
        f"{BASE}/employees/employees",
        json=page(second, total=4),
        match=[matchers.query_param_matcher({**common, "after_id": "MjAwMw=="})],
    )

    ids, cursor = hr.changed_since("2026-11-20T09:00:00+00:00")

    assert ids == ["2001", "2002", "2003", "2010"]
    assert cursor == "2026-11-26T08:30:00.000Z"
    assert len(api.calls) == 2


def test_a_roster_over_many_pages_lists_everyone_exactly_once(api):
    common = {"only_active": "true", "only_managers": "false", "limit": "100"}
    for i, (after, nxt) in enumerate([(None, "Mg=="), ("Mg==", "Mw=="), ("Mw==", None)]):
        api.get(
            f"{BASE}/employees/employees",
            json=page([record(3000 + i)], next_cursor=nxt, total=3),
            match=[matchers.query_param_matcher({**common, **({"after_id": after} if after else {})})],
        )
    assert [row["id"] for row in connector().roster()] == ["3000", "3001", "3002"]
    assert len(api.calls) == 3


def test_an_end_cursor_that_comes_back_is_a_typed_error_not_an_endless_loop(api):
    """A, B, then A again: the old check compared only with the cursor just sent and read 1,000 pages."""
    common = {"only_active": "true", "only_managers": "false", "limit": "100"}
    for after, nxt in [(None, "QQ=="), ("QQ==", "Qg=="), ("Qg==", "QQ==")]:
        api.get(
            f"{BASE}/employees/employees",
            json=page([record(3000)], next_cursor=nxt, total=3),
            match=[matchers.query_param_matcher({**common, **({"after_id": after} if after else {})})],
        )
    with pytest.raises(errors.InvalidResponse, match="repeated cursor 'QQ=='"):
        connector().roster()
    assert len(api.calls) == 3


def test_a_next_page_without_an_end_cursor_is_a_typed_error_not_a_short_list(api):
    body = page([record(3000)], next_cursor="x")
    del body["meta"]["end_cursor"]
    api.get(f"{BASE}/employees/employees", json=body)
    with pytest.raises(errors.InvalidResponse, match="a next page without a cursor"):
        connector().roster()


def test_a_row_whose_updated_at_is_not_a_time_is_listed_but_does_not_move_the_cursor(api):
    rows = [record(2001, updated_at="yesterday"), record(2002, updated_at="2026-11-26T10:00:00Z")]
    api.get(f"{BASE}/employees/employees", json=page(rows))
    assert connector().changed_since("2026-11-26T09:00:00+00:00") == (
        ["2001", "2002"],
        "2026-11-26T10:00:00Z",
    )


def test_nothing_changed_keeps_the_cursor(api):
    api.get(f"{BASE}/employees/employees", json=page([]))
    assert connector().changed_since("2026-11-26T09:00:00+00:00") == ([], "2026-11-26T09:00:00+00:00")


def test_listed_employees_are_read_without_a_call_of_their_own(api):
    hr = connector()
    leaver = record(
        2001,
        is_terminating=True,
        terminated_on="2026-12-31",
        termination_reason_type="employee",
        active=True,
        updated_at="2026-11-26T08:00:00.000Z",
    )
    api.get(f"{BASE}/employees/employees", json=page([leaver, MANAGER]))
    ids, _ = hr.changed_since("2026-11-26T00:00:00+00:00")
    found = hr.employees(ids)
    assert len(api.calls) == 1  # the listing served both the leaver and the manager
    assert found["2001"]["status"] == "terminating" and found["2001"]["termination"]["date"] == "2026-12-31"
    assert found["2001"]["manager"]["name"] == "Marta Soler"


@pytest.mark.parametrize(
    "body", [[], {"data": []}, {"data": [], "meta": {"has_next_page": True}}, {"data": "x", "meta": {}}]
)
def test_a_listing_of_the_wrong_shape_is_an_invalid_response(api, body):
    api.get(f"{BASE}/employees/employees", json=body)
    with pytest.raises(errors.InvalidResponse):
        connector().changed_since("2026-11-26T00:00:00+00:00")


def test_reconciliation_finds_a_future_dated_factorial_termination_when_entered(acme: Path, monkeypatch):
    """HR enters a resignation effective next month: reconciliation queues it today, once."""
    from datetime import datetime

    from relevo.reconcile import reconcile_once
    from relevo.storage.inbox import Inbox

    monkeypatch.setenv("FACTORIAL_API_KEY", CANARY)
    text = re.sub(
        r"(?m)^hr: .*$",
        "hr: {connector: factorial, api_key: {env: FACTORIAL_API_KEY}}",
        acme.read_text("utf-8"),
    )
    acme.write_text(text, "utf-8")
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    leaver = record(
        2001,
        is_terminating=True,
        terminated_on="2026-12-31",
        termination_reason_type="employee",
        active=True,
        updated_at="2026-11-27T08:40:00.000Z",
    )
    staying = record(
        2003,
        terminated_on=None,
        is_terminating=False,
        active=True,
        termination_reason_type=None,
        updated_at="2026-11-27T08:00:00.000Z",
    )
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{BASE}/employees/employees", json=page([leaver, staying, MANAGER]))
        first = reconcile_once(load_registry(acme), now=now)
        second = reconcile_once(load_registry(acme), now=now)
        # the second poll started from the stored cursor, the day before its date
        assert "updated_at_gteq=2026-11-26" in mock.calls[-1].request.url
    assert first["stored"] == ["factorial:2001:terminated:polled:2026-12-31"]
    assert second["stored"] == []  # polled again: nothing new
    (event,) = [e for e in Inbox(load_registry(acme).database_url).events() if e.employee_id == "2001"]
    assert event.source == "reconciliation" and event.effective_date == "2026-12-31"
    assert first["cursor"] == "2026-11-27T08:40:00.000Z"
