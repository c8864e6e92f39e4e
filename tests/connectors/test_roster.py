"""Who still works for the company, as each HR connector reads it (the sweep's roster)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import responses
from responses import matchers

from relevo.connectors import errors
from relevo.connectors.bamboohr import BambooHR
from relevo.connectors.directory import DirectoryHR
from relevo.connectors.factorial import Factorial
from tests.support.bamboohr_spec import validate_against_spec
from tests.support.factorial_api import BASE as FACTORIAL
from tests.support.factorial_api import page, record


@responses.activate(assert_all_requests_are_fired=True)
def test_bamboohr_roster_is_one_report_of_the_active_employees(spec) -> None:  # type: ignore[no-untyped-def]
    hr = BambooHR("acme", "key-canary", default_language="es")
    # request-custom-report's answer (spec example shape): {title, fields, employees: [{id, <field>: text}]}
    answer = {
        "title": "relevo roster",
        "fields": [
            {"id": "status", "type": "status", "name": "Status"},
            {"id": "workEmail", "type": "email", "name": "Work Email"},
        ],
        "employees": [
            {"id": "1", "status": "Active", "workEmail": "ana@acme.example"},
            {"id": "2", "status": "Inactive", "workEmail": "leo@acme.example"},
            {"id": "3", "status": "Active", "workEmail": ""},
        ],
    }
    responses.post(
        hr.http.url("reports/custom"),
        json=answer,
        match=[
            matchers.query_param_matcher({"format": "json"}),
            matchers.json_params_matcher({"title": "relevo roster", "fields": ["status", "workEmail"]}),
        ],
    )
    assert hr.roster() == [{"id": "1", "email": "ana@acme.example"}, {"id": "3", "email": None}]
    (call,) = responses.calls
    validate_against_spec(spec, call.request)


@responses.activate(assert_all_requests_are_fired=True)
def test_bamboohr_roster_of_the_wrong_shape_is_an_invalid_response() -> None:
    hr = BambooHR("acme", "key-canary", default_language="es")
    responses.post(hr.http.url("reports/custom"), json={"data": []})
    with pytest.raises(errors.InvalidResponse):
        hr.roster()


def test_factorial_roster_is_the_active_employees_paged() -> None:
    hr = Factorial("fct-canary", default_language="es", today=lambda: date(2026, 11, 26))
    query = {"only_active": "true", "only_managers": "false", "limit": "100"}
    with responses.RequestsMock() as mock:
        mock.get(
            f"{FACTORIAL}/employees/employees",
            json=page([record(2002, login_email="marta@acme.example")], next_cursor="MjAwMg=="),
            match=[matchers.query_param_matcher(query)],
        )
        mock.get(
            f"{FACTORIAL}/employees/employees",
            json=page([record(2005, login_email=None, email="pau@acme.example")]),
            match=[matchers.query_param_matcher({**query, "after_id": "MjAwMg=="})],
        )
        assert hr.roster() == [
            {"id": "2002", "email": "marta@acme.example"},
            {"id": "2005", "email": "pau@acme.example"},
        ]


def test_directory_roster_keeps_those_not_yet_gone(acme: Path) -> None:
    hr = DirectoryHR(acme.parent / "hr.json", "es", today=date(2026, 11, 27))
    ids = {row["id"] for row in hr.roster()}
    assert {"1002", "1014", "1005"} <= ids  # last days in 2027, and no termination at all
    assert not {"1001", "1003", "1004", "1012"} & ids  # their last day has passed
