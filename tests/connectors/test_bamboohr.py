"""connectors/bamboohr.py against BambooHR's documented API.

Every request the connector makes is checked against the official OpenAPI spec
(tests/specs/bamboohr-public.yaml, MIT, copied from the vendor) by the `api` fixture after each test.
The spec's server is `https://{companyDomain}.bamboohr.com` with paths `/api/v1/...`, the base
URL relevo calls: method, URL, query parameters, security and body are validated exactly as the
spec defines them.
"""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import requests
import responses
from responses.registries import OrderedRegistry

from relevo import schemas
from relevo.config.registry import load_registry
from relevo.connectors import errors
from relevo.connectors.bamboohr import BambooHR, WebhookChange, parse_webhook
from relevo.connectors.hr_records import termination_kind, termination_table
from relevo.model import ConfigurationError
from tests.support.bamboohr_api import (
    BASE,
    JOB_INFO,
    META_LISTS,
    connector,
    employee_fields,
    status_row,
    stub_employee,
    stub_person,
)
from tests.support.bamboohr_spec import multipart_fields, validate_against_spec
from tests.support.canaries import BAMBOOHR_KEY as CANARY


@pytest.fixture
def api(spec):
    """A `responses` mock; after the test, every request made is validated against the spec."""
    with responses.RequestsMock() as mock:
        yield mock
        assert mock.calls, "the test made no request"
        for call in mock.calls:
            validate_against_spec(spec, call.request)


@pytest.fixture
def ordered_api(spec):
    with responses.RequestsMock(registry=OrderedRegistry, assert_all_requests_are_fired=True) as mock:
        yield mock
        for call in mock.calls:
            validate_against_spec(spec, call.request)


# --- reading the record ---


def test_dismissed_employee_with_manager_successor_and_restrictions(api):
    fields = employee_fields(
        customSuccessorEId="1012",
        customNoClientContact="yes",
        customNonSolicitUntil="2027-06-30",
        customLanguage="es",
    )
    stub_employee(
        api,
        fields,
        [
            status_row("1", "2021-03-01", "Full-Time"),
            status_row("2", "2026-11-20", "Terminated", type_id="31", reason_id="40"),
        ],
        extra_fields=",customSuccessorEId,customLanguage,customNoClientContact,customNonSolicitUntil",
    )
    api.get(f"{BASE}/meta/lists", json=META_LISTS)
    stub_person(
        api, "1007", "Marta", "Soler", "marta.soler@acme-comunicacion.example", "Directora de Cuentas"
    )
    stub_person(api, "1012", "Tomás", "Ribas", "tomas.ribas@acme-comunicacion.example", "Community Manager")

    hr = connector(
        successor_field="customSuccessorEId",
        language_field="customLanguage",
        restriction_fields={
            "no_client_contact": "customNoClientContact",
            "non_solicitation_until": "customNonSolicitUntil",
        },
    )
    employee = schemas.check("employee", hr.employee("1001"), "BambooHR 1001")

    assert employee == {
        "id": "1001",
        "name": "Laura Martínez Ferrer",
        "email": "laura.martinez@acme-comunicacion.example",
        "phone": "+34 961 23 45 10",
        "language": "es",
        "department": "Cuentas",
        "job_title": "Social Media Manager",
        "status": "terminated",
        "termination": {
            "type": "involuntary",
            "date": "2026-11-20",
            "reason": "Reestructuración",
            "vendor_type": "Despido",
        },
        "manager": {
            "id": "1007",
            "name": "Marta Soler",
            "email": "marta.soler@acme-comunicacion.example",
            "phone": "+34 600 000 000",
            "job_title": "Directora de Cuentas",
        },
        "successor": {
            "id": "1012",
            "name": "Tomás Ribas",
            "email": "tomas.ribas@acme-comunicacion.example",
            "phone": "+34 600 000 000",
            "job_title": "Community Manager",
        },
        "restrictions": {"no_client_contact": True, "non_solicitation_until": "2027-06-30"},
    }
    sent = api.calls[0].request
    assert sent.headers["Authorization"].startswith("Basic ")  # key as user name, "x" as password
    assert requests.auth._basic_auth_str(CANARY, "x") == sent.headers["Authorization"]
    assert CANARY not in sent.url


def test_resignation_with_a_future_last_day_is_terminating_and_voluntary(api):
    # onlyCurrent (the default) shows today's values: the future-dated row is only in the table.
    fields = employee_fields(
        status="Active", employmentHistoryStatus="Full-Time", terminationDate="0000-00-00"
    )
    stub_employee(
        api,
        fields,
        [
            status_row("2", "2026-12-18", "Terminated", type_id="Resignation", reason_id="Otro empleo"),
            status_row("1", "2021-03-01", "Full-Time"),
        ],
    )
    stub_person(
        api, "1007", "Marta", "Soler", "marta.soler@acme-comunicacion.example", "Directora de Cuentas"
    )

    employee = schemas.check("employee", connector().employee("1001"), "BambooHR 1001")

    assert employee["status"] == "terminating"
    assert employee["termination"] == {
        "type": "voluntary",
        "date": "2026-12-18",
        "reason": "Otro empleo",
        "vendor_type": "Resignation",
    }
    assert not any("/meta/lists" in c.request.url for c in api.calls)  # names need no lookup


def test_missing_supervisor_and_successor_are_explicit_nulls(api):
    fields = employee_fields(supervisorEId=None, customSuccessorEId="")
    stub_employee(
        api,
        fields,
        [status_row("2", "2026-11-20", "Terminated", type_id="Despido")],
        extra_fields=",customSuccessorEId",
    )

    employee = schemas.check(
        "employee", connector(successor_field="customSuccessorEId").employee("1001"), "BambooHR"
    )

    assert "manager" in employee and employee["manager"] is None
    assert "successor" in employee and employee["successor"] is None
    assert employee["restrictions"] == {"no_client_contact": False, "non_solicitation_until": None}
    assert employee["language"] == "es"  # no language field configured: the company default
    assert len(api.calls) == 3  # no lookup of absent people


def test_custom_fields_may_be_given_by_numeric_field_id(api):
    stub_employee(
        api,
        employee_fields(supervisorEId=None, **{"4321": "1012"}),
        [status_row("2", "2026-11-20", "Terminated")],
        extra_fields=",4321",
    )
    stub_person(api, "1012", "Tomás", "Ribas", "tomas.ribas@acme-comunicacion.example", "Community Manager")

    assert connector(successor_field=4321).employee("1001")["successor"]["id"] == "1012"


def test_supervisor_that_no_longer_exists_reads_as_no_manager(api):
    stub_employee(api, employee_fields(supervisorEId="4040"), [status_row("2", "2026-11-20", "Terminated")])
    api.get(f"{BASE}/employees/4040", status=404)

    employee = connector().employee("1001")

    assert employee["manager"] is None and employee["successor"] is None


def test_department_and_title_fall_back_to_the_current_job_info_row(api):
    api.get(f"{BASE}/employees/1001", json=employee_fields(department=None, jobTitle="", supervisorEId=None))
    api.get(
        f"{BASE}/employees/1001/tables/employmentStatus", json=[status_row("2", "2026-11-20", "Terminated")]
    )
    future = {
        "id": "13",
        "employeeId": "1001",
        "date": "2027-01-01",
        "location": "Madrid",
        "division": None,
        "department": "Dirección",
        "jobTitle": "Directora",
        "reportsTo": None,
    }
    api.get(f"{BASE}/employees/1001/tables/jobInfo", json=[future, *JOB_INFO])

    employee = connector().employee("1001")

    assert (employee["department"], employee["job_title"]) == ("Cuentas", "Social Media Manager")


def test_active_employee_has_no_termination(api):
    fields = employee_fields(
        status="Active", employmentHistoryStatus="Full-Time", terminationDate="0000-00-00"
    )
    stub_employee(api, fields, [status_row("1", "2021-03-01", "Full-Time")])
    stub_person(
        api, "1007", "Marta", "Soler", "marta.soler@acme-comunicacion.example", "Directora de Cuentas"
    )

    employee = connector().employee("1001")

    assert employee["status"] == "active" and employee["termination"] is None


def test_rehire_after_a_termination_is_active_again(api):
    stub_employee(
        api,
        employee_fields(),
        [
            status_row("1", "2020-01-01", "Full-Time"),
            status_row("2", "2023-05-31", "Terminated", type_id="Renuncia"),
            status_row("3", "2024-02-01", "Part-Time"),
        ],
    )
    stub_person(
        api, "1007", "Marta", "Soler", "marta.soler@acme-comunicacion.example", "Directora de Cuentas"
    )

    assert connector().employee("1001")["termination"] is None


def test_without_table_access_the_fields_still_tell_a_termination(api):
    api.get(f"{BASE}/employees/1001", json=employee_fields(supervisorEId=None))
    api.get(f"{BASE}/employees/1001/tables/employmentStatus", status=404)
    api.get(f"{BASE}/employees/1001/tables/jobInfo", status=404)

    employee = connector().employee("1001")

    assert employee["status"] == "terminated"
    assert employee["termination"] == {
        "type": "unknown",
        "date": "2026-11-20",
        "reason": None,
        "vendor_type": None,
    }


# --- termination type mapping ---


@pytest.mark.parametrize(
    "name,expected",
    [
        ("Resignation", "voluntary"),
        ("Voluntary", "voluntary"),
        ("renuncia", "voluntary"),
        ("Termination", "involuntary"),
        ("Involuntary", "involuntary"),
        ("Dismissal", "involuntary"),
        ("DESPIDO", "involuntary"),
        ("Death", "unknown"),
        ("Fin de contrato", "unknown"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_default_termination_type_table(name, expected):
    assert termination_kind(name, termination_table(None)) == expected


def test_registry_names_are_merged_over_the_defaults():
    table = termination_table({"Fin de contrato": "involuntary", "Resignation": "involuntary"})
    assert termination_kind("fin de contrato", table) == "involuntary"
    assert termination_kind("Resignation", table) == "involuntary"  # the company's word wins
    assert termination_kind("Renuncia", table) == "voluntary"  # defaults still apply


def test_type_id_resolved_through_meta_lists_and_mapped_by_the_registry(api):
    stub_employee(
        api,
        employee_fields(supervisorEId=None),
        [status_row("2", "2026-11-20", "Terminated", type_id="33", reason_id="99")],
    )
    api.get(f"{BASE}/meta/lists", json=META_LISTS)

    hr = connector(termination_types={"Fin de contrato": "involuntary"})
    termination = hr.employee("1001")["termination"]

    # 33 is archived but old rows still point at it; 99 is in no list: no name, never a guess.
    assert termination == {
        "type": "involuntary",
        "date": "2026-11-20",
        "reason": None,
        "vendor_type": "Fin de contrato",
    }


# --- transport: retries, errors, secrets ---


def test_429_then_200_waits_what_retry_after_says(ordered_api):
    ordered_api.get(f"{BASE}/employees/1001", status=429, headers={"Retry-After": "7"})
    stub_employee(
        ordered_api, employee_fields(supervisorEId=None), [status_row("2", "2026-11-20", "Terminated")]
    )
    waits: list[float] = []

    employee = connector(waits).employee("1001")

    assert employee["status"] == "terminated"
    assert waits == [7.0]


def test_503_with_retry_after_is_retried(ordered_api):
    ordered_api.get(f"{BASE}/employees/1001", status=503, headers={"Retry-After": "3"})
    stub_employee(
        ordered_api, employee_fields(supervisorEId=None), [status_row("2", "2026-11-20", "Terminated")]
    )
    waits: list[float] = []

    assert connector(waits).employee("1001")["id"] == "1001"
    assert waits == [3.0]


def test_503_three_times_is_a_server_error(api):
    api.get(f"{BASE}/employees/1001", status=503, headers={"Retry-After": "2"})
    waits: list[float] = []

    with pytest.raises(errors.ServerError) as caught:
        connector(waits).employee("1001")

    assert caught.value.status == 503 and waits == [2.0, 2.0] and len(api.calls) == 3


def test_401_is_an_authentication_error_without_the_key(api):
    # A vendor that echoes the credential back must not leak it through relevo.
    api.get(
        f"{BASE}/employees/1001",
        status=401,
        headers={"X-BambooHR-Error-Message": f"Invalid API key {CANARY}"},
    )

    with pytest.raises(errors.AuthenticationError) as caught:
        connector().employee("1001")

    assert caught.value.status == 401 and len(api.calls) == 1
    assert "Invalid API key ***" in str(caught.value)
    assert CANARY not in str(caught.value) and CANARY not in repr(caught.value.args)


def test_404_names_the_employee(api):
    api.get(f"{BASE}/employees/999", status=404)

    with pytest.raises(errors.NotFound, match=r"employee 999 not found in BambooHR"):
        connector().employee("999")


def test_timeout_is_a_connection_failure_after_three_attempts(api):
    api.get(f"{BASE}/employees/1001", body=requests.exceptions.ConnectTimeout())
    waits: list[float] = []

    with pytest.raises(errors.ConnectionFailed, match="timed out") as caught:
        connector(waits).employee("1001")

    assert len(api.calls) == 3 and len(waits) == 2
    assert CANARY not in str(caught.value)


def test_malformed_json_is_an_invalid_response(api):
    api.get(f"{BASE}/employees/1001", body="<html>Service Unavailable", content_type="application/json")

    with pytest.raises(errors.InvalidResponse, match="not JSON") as caught:
        connector().employee("1001")

    assert CANARY not in str(caught.value)


def test_table_of_the_wrong_shape_is_an_invalid_response(api):
    api.get(f"{BASE}/employees/1001", json=employee_fields())
    api.get(f"{BASE}/employees/1001/tables/employmentStatus", json={"rows": []})

    with pytest.raises(errors.InvalidResponse, match="employmentStatus did not return a list"):
        connector().employee("1001")


@pytest.mark.parametrize(
    "status,cls",
    [
        (401, errors.AuthenticationError),
        (403, errors.PermissionDenied),
        (404, errors.NotFound),
        (400, errors.InvalidRequest),
        (500, errors.ServerError),
    ],
)
def test_the_api_key_never_appears_in_any_error(api, status, cls):
    api.get(
        f"{BASE}/employees/1001",
        status=status,
        json={"message": f"bad key {CANARY}"},
        headers={"X-BambooHR-Error-Message": f"key={CANARY}"},
    )

    with pytest.raises(cls) as caught:
        connector().employee("1001")

    text = f"{caught.value} {caught.value!r} {caught.value.message}"
    assert CANARY not in text


def test_an_id_that_cannot_be_a_path_segment_is_refused_without_a_call():
    with pytest.raises(errors.NotFound, match="not an employee id"):
        connector().employee("../meta/users")


# --- writing the report back ---


def test_write_note_uploads_the_report_as_an_employee_file(api, tmp_path):
    location = f"{BASE}/employees/1001/files/4521"
    api.post(f"{BASE}/employees/1001/files", status=201, headers={"Location": location})

    where = connector(note_category=17).write_note(
        "1001", "relevo offboarding report", "5 roles revoked.", tmp_path
    )

    parts = multipart_fields(api.calls[0].request)
    assert parts == {
        "fileName": "relevo-offboarding-report-1001.txt",
        "category": "17",
        "share": "no",
        "file": "relevo offboarding report\n\n5 roles revoked.\n",
    }
    assert location in where and "section 17" in where
    assert list(tmp_path.iterdir()) == []  # nothing on disk: the report lives in BambooHR


def test_write_note_is_sent_once_a_5xx_may_have_stored_it(api, tmp_path):
    api.post(f"{BASE}/employees/1001/files", status=503)

    with pytest.raises(errors.ServerError):
        connector(note_category=17).write_note("1001", "relevo offboarding report", "text", tmp_path)

    assert len(api.calls) == 1  # POST is not idempotent: no blind retry


def test_write_note_to_a_missing_section_names_it(api, tmp_path):
    api.post(f"{BASE}/employees/1001/files", status=404)

    with pytest.raises(errors.NotFound, match="file section 99"):
        connector(note_category=99).write_note("1001", "relevo offboarding report", "text", tmp_path)


def test_write_note_without_a_section_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="note_category"):
        connector().write_note("1001", "relevo offboarding report", "text", tmp_path)


# --- registry ---


def bamboo_registry(acme: Path, hr: str) -> Path:
    text = acme.read_text("utf-8")
    text, count = re.subn(r"(?m)^hr: .*$", hr, text)
    assert count == 1
    acme.write_text(text, "utf-8")
    return acme


def test_registry_builds_bamboohr_with_the_key_from_the_environment(acme, monkeypatch):
    monkeypatch.setenv("BAMBOOHR_API_KEY", CANARY)
    path = bamboo_registry(
        acme,
        "hr: {connector: bamboohr, company_domain: acme, api_key: {env: BAMBOOHR_API_KEY}, "
        "note_category: 17, successor_field: customSuccessorEId}",
    )

    hr = load_registry(path).hr()

    assert isinstance(hr, BambooHR)
    assert (
        hr.http.base_url == f"{BASE}/"
        and hr.note_category == 17
        and hr.successor_field == "customSuccessorEId"
    )


def test_registry_without_the_key_names_the_variable(acme, monkeypatch):
    monkeypatch.delenv("BAMBOOHR_API_KEY", raising=False)
    path = bamboo_registry(
        acme,
        "hr: {connector: bamboohr, company_domain: acme, api_key: {env: BAMBOOHR_API_KEY}, "
        "note_category: 17}",
    )

    with pytest.raises(ConfigurationError, match="BAMBOOHR_API_KEY is not set"):
        load_registry(path).hr()


def test_registry_without_a_note_section_says_which_key(acme, monkeypatch):
    monkeypatch.setenv("BAMBOOHR_API_KEY", CANARY)
    path = bamboo_registry(
        acme, "hr: {connector: bamboohr, company_domain: acme, api_key: {env: BAMBOOHR_API_KEY}}"
    )

    with pytest.raises(ConfigurationError, match=r"hr\.note_category"):
        load_registry(path).hr()


# --- webhooks ---


def field_entry(
    employee_id: str, changed: list[str], values: dict, when: str = "2026-11-20T18:42:00+0000"
) -> dict:
    return {
        "action": "Updated",
        "changedFields": changed,
        "fields": values,
        "id": employee_id,
        "timestamp": when,
    }


def test_documented_field_based_example_is_not_a_termination():
    payload = {
        "employees": [
            {
                "action": "Updated",
                "changedFields": ["First Name"],
                "fields": {"First Name": "Bryony"},
                "id": "12345",
                "timestamp": "2026-01-31T18:42:00+0000",
            }
        ]
    }
    assert parse_webhook(payload) == []


def test_field_based_several_employees_in_one_post():
    payload = {
        "employees": [
            field_entry(
                "1001", ["Employment Status"], {"Employment Status": "Terminated", "First Name": "Laura"}
            ),
            field_entry("1002", ["First Name"], {"First Name": "Diego", "Employment Status": "Terminated"}),
            field_entry("1003", ["Termination Date"], {"Termination Date": "2026-12-18"}),
            field_entry("1004", ["Termination Date"], {"Termination Date": "0000-00-00"}),
            field_entry("1005", ["Employment Status"], {"Employment Status": "Part-Time"}),
            field_entry("1006", ["Employment Status"], {}),  # changed, value not posted: the run confirms it
            {
                "action": "Created",
                "changedFields": [],
                "fields": {},
                "id": "1008",
                "timestamp": "2026-11-20T18:42:00+0000",
            },
        ]
    }

    changes = parse_webhook(payload)

    assert [(c.employee_id, c.kind) for c in changes] == [
        ("1001", "terminated"),
        ("1003", "terminated"),
        ("1004", "rescinded"),
        ("1006", "status_changed"),
    ]
    assert all(isinstance(c, WebhookChange) and len(c.change_fingerprint) == 32 for c in changes)


def test_renamed_post_fields_are_recognised():
    payload = {
        "employees": [
            field_entry("1001", ["employmentHistoryStatus"], {"employmentHistoryStatus": "terminated"})
        ]
    }
    assert [c.kind for c in parse_webhook(payload)] == ["terminated"]


def test_fingerprint_is_stable_on_redelivery_and_differs_per_change():
    first = parse_webhook(
        {"employees": [field_entry("1001", ["Employment Status"], {"Employment Status": "Terminated"})]}
    )
    again = parse_webhook(
        {"employees": [field_entry("1001", ["Employment Status"], {"Employment Status": "Terminated"})]}
    )
    later = parse_webhook(
        {
            "employees": [
                field_entry(
                    "1001",
                    ["Employment Status"],
                    {"Employment Status": "Terminated"},
                    when="2026-11-21T09:00:00+0000",
                )
            ]
        }
    )
    assert first == again
    assert first[0].change_fingerprint != later[0].change_fingerprint


@pytest.mark.parametrize(
    "changed",
    [["employmentHistoryStatus"], ["status"], ["terminationDate"], ["firstName", "employmentHistoryStatus"]],
)
def test_event_based_status_change_is_never_taken_as_a_termination(spec, changed):
    """The spec's EmployeeUpdatedWebhookPayload lists the aliases of the changed fields, never their values:
    full-time -> part-time and a dismissal look the same, so the event is a status change for the run to confirm
    against the HR record (it used to be stored as a termination)."""
    payload = {
        "type": "employee.updated",
        "timestamp": "2026-01-31T18:42:00+0000",
        "data": {"companyId": "12345", "employeeId": "67890", "changedFields": changed},
    }
    with (spec.spec / "components" / "schemas" / "EmployeeUpdatedWebhookPayload").open() as schema:
        jsonschema.Draft202012Validator(dict(schema)).validate(payload)  # the vendor's own payload schema

    changes = parse_webhook(payload)

    assert [(c.employee_id, c.kind) for c in changes] == [("67890", "status_changed")]
    assert parse_webhook(dict(payload)) == changes


@pytest.mark.parametrize("value", ["Part-Time", "Full-Time", "Contractor", "Active", "Inactive"])
def test_field_based_status_change_to_anything_but_terminated_is_not_a_termination(value):
    for name in ("Employment Status", "employmentHistoryStatus", "Status", "status"):
        payload = {"employees": [field_entry("1007", [name], {name: value})]}
        assert parse_webhook(payload) == [], (name, value)


@pytest.mark.parametrize(
    "payload",
    [
        {
            "type": "employee.updated",
            "timestamp": "2026-01-31T18:42:00+0000",
            "data": {"companyId": "12345", "employeeId": "67890", "changedFields": ["firstName"]},
        },
        {
            "type": "employee.created",
            "timestamp": "2026-01-31T18:42:00+0000",
            "data": {"companyId": "12345", "employeeId": "67890"},
        },
        {
            "type": "employee.deleted",
            "timestamp": "2026-01-31T18:42:00+0000",
            "data": {"companyId": "12345", "employeeId": "67890"},
        },
    ],
)
def test_other_events_are_not_terminations(payload):
    assert parse_webhook(payload) == []


@pytest.mark.parametrize(
    "payload,message",
    [
        ([], "payload is not a JSON object"),
        ({}, "neither 'employees' .* nor 'type'"),
        ({"employees": {"1001": {}}}, "employees is not a list"),
        (
            {"employees": [{"changedFields": ["Employment Status"], "fields": {}}]},
            r"employees\[0\]\.id is missing",
        ),
        (
            {"employees": [{"id": "../admin", "changedFields": ["Termination Date"]}]},
            r"employees\[0\]\.id is not an employee id",
        ),
        (
            {"employees": [field_entry("1", "Employment Status", {})]},
            r"employees\[0\]\.changedFields is not a list",
        ),
        (
            {"employees": [field_entry("1", ["Employment Status"], "Terminated")]},
            r"employees\[0\]\.fields is not an object",
        ),
        ({"type": 7, "data": {}}, "type is not a string"),
        ({"type": "employee.updated"}, "data is not an object"),
        ({"type": "employee.updated", "data": {"companyId": "1"}}, r"data\.employeeId is missing"),
        (
            {"type": "employee.updated", "data": {"employeeId": "5", "changedFields": "status"}},
            r"data\.changedFields is not a list",
        ),
    ],
)
def test_payloads_of_the_wrong_shape_name_the_field(payload, message):
    """Refused only when nothing in the POST can be read and an unreadable entry looked like a termination."""
    with pytest.raises(ValueError, match=message):
        parse_webhook(payload)


def test_a_successor_whose_work_email_adds_a_header_is_refused_naming_the_record(api):
    """Issue 11: a CR/LF in the successor's work e-mail added `Bcc: attacker@…` to every draft."""
    fields = employee_fields(customSuccessorEId="1012")
    stub_employee(
        api, fields, [status_row("2", "2026-11-20", "Terminated")], extra_fields=",customSuccessorEId"
    )
    stub_person(
        api, "1007", "Marta", "Soler", "marta.soler@acme-comunicacion.example", "Directora de Cuentas"
    )
    stub_person(
        api,
        "1012",
        "Tomás",
        "Ribas",
        "tomas.ribas@acme-comunicacion.example\r\nBcc: attacker@evil.example",
        "Community Manager",
    )
    with pytest.raises(errors.BadRecord, match="BambooHR employee 1012: work e-mail") as error:
        connector(successor_field="customSuccessorEId").employee("1001")
    assert "attacker" not in str(error.value)


def test_php_empty_maps_and_odd_entries_never_cost_the_batch_its_terminations(caplog):
    """BambooHR writes an empty map as `[]` (Created/Deleted entries: `"fields": [], "changedFields": []`) and
    never retries a 4xx: a POST refused for one odd entry loses every termination in it."""
    payload = {
        "employees": [
            {
                "action": "Created",
                "changedFields": [],
                "fields": [],
                "id": "1008",
                "timestamp": "2026-11-20T18:42:00+0000",
            },
            {
                "action": "Deleted",
                "changedFields": {},
                "fields": [],
                "id": "1009",
                "timestamp": "2026-11-20T18:42:00+0000",
            },
            field_entry("1001", ["Employment Status"], {"Employment Status": "Terminated"}),
            7,  # not an object: skipped
            {
                "action": "Updated",
                "changedFields": ["First Name"],
                "fields": {"First Name": "Ana"},
            },  # no id: skipped
            field_entry("1010", "First Name", {}),  # changedFields not a list, not a termination: skipped
            {
                "action": "Updated",
                "changedFields": ["Employment Status"],
                "fields": {},
                "id": "../x",
            },  # logged as an error
            field_entry("1003", ["Termination Date"], {"Termination Date": "2026-12-18"}),
        ]
    }
    caplog.set_level("WARNING", logger="relevo.bamboohr")

    changes = parse_webhook(payload)

    assert [(c.employee_id, c.kind) for c in changes] == [("1001", "terminated"), ("1003", "terminated")]
    problems = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in problems] == ["WARNING", "WARNING", "WARNING", "ERROR"]
    assert (
        "employees[6].id is not an employee id" in problems[3][1] and "may be a termination" in problems[3][1]
    )


# --- relevo doctor ---


def test_check_reads_the_field_list_and_names_registry_fields_the_key_cannot_see(api):
    api.get(
        f"{BASE}/meta/fields",
        json=[
            {"id": 1, "name": "First Name", "type": "text", "alias": "firstName"},
            {"id": "4321", "name": "Successor", "type": "employee"},
            {"id": 4400, "name": "Client language", "type": "list", "alias": "customLanguage"},
        ],
    )
    ok = connector(successor_field=4321, language_field="customLanguage").check()
    assert [f.level for f in ok] == ["ok", "ok"]
    hidden = connector(
        successor_field=4321,
        language_field="customLanguage",
        restriction_fields={"no_client_contact": "customNoContact"},
    ).check()
    assert hidden[-1].level == "error" and "customNoContact" in hidden[-1].text
