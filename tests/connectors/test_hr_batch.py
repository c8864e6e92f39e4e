"""`employees(ids)`: many leavers (a layoff) read from the HR platform in few calls.

BambooHR: every request is validated against the official OpenAPI spec as in test_bamboohr.py,
and every mocked 200 answer against the spec's response schema, so the payloads are the
vendor's documented shapes (custom report values are strings: `additionalProperties: string`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from responses import matchers

from relevo import schemas
from relevo.connectors import errors
from relevo.connectors.directory import DirectoryHR
from tests.support import factorial_api
from tests.support.bamboohr_api import (
    BASE,
    FIELDS,
    JOB_INFO,
    META_LISTS,
    connector,
    employee_fields,
    person_fields,
    status_row,
    stub_employee,
    stub_person,
)
from tests.support.bamboohr_spec import validate_against_spec
from tests.support.canaries import BAMBOOHR_KEY as CANARY

SUCCESSOR = "customSuccessorEId"
LEAVER_FIELDS = FIELDS.split(",") + [SUCCESSOR]
PERSON = ["firstName", "lastName", "displayName", "workEmail", "workPhone", "mobilePhone", "jobTitle"]


@pytest.fixture
def api(spec):
    """A `responses` mock; afterwards each request, and each 2xx answer, is validated against the spec."""
    with responses.RequestsMock() as mock:
        yield mock
        assert mock.calls, "the test made no request"
        for call in mock.calls:
            validate_against_spec(spec, call.request)
            if isinstance(call.response, requests.Response) and call.response.status_code == 200:
                spec.validate_response(
                    RequestsOpenAPIRequest(call.request), RequestsOpenAPIResponse(call.response)
                )


# --- BambooHR's answers, built from one in-memory company ---


def text(value: Any) -> str:
    """A custom report value: always a string (empty when the record has none)."""
    return "" if value is None else str(value)


def serve_reports(
    api,
    people: dict[str, dict],
    fail: Callable[[list[int]], int | None] = lambda ids: None,
    asked: list[dict] | None = None,
) -> None:
    """POST reports/custom answered like BambooHR: the requested fields of the requested ids that exist."""

    def answer(request: requests.PreparedRequest):
        body = json.loads(request.body)
        if asked is not None:
            asked.append(body)
        ids = body["filters"]["employeeIds"]
        if (status := fail(ids)) is not None:
            return status, {"X-BambooHR-Error-Message": f"failed for key {CANARY}"}, ""
        rows = [
            {"id": str(i), **{f: text(people[str(i)].get(f)) for f in body["fields"]}}
            for i in ids
            if str(i) in people
        ]
        report = {
            "title": body.get("title", "Report"),
            "fields": [{"id": f, "type": "text", "name": f} for f in body["fields"]],
            "employees": rows,
        }
        return 200, {}, json.dumps(report)

    api.add_callback(
        responses.POST,
        f"{BASE}/reports/custom",
        callback=answer,
        content_type="application/json",
        match=[matchers.query_param_matcher({"format": "json"})],
    )


def serve_tables(api, status: list[dict], jobs: list[dict]) -> None:
    api.get(f"{BASE}/employees/all/tables/employmentStatus", json=status)
    api.get(f"{BASE}/employees/all/tables/jobInfo", json=jobs)


def owned(rows: list[dict], employee_id: str) -> list[dict]:
    return [dict(row, id=f"{employee_id}{row['id']}", employeeId=employee_id) for row in rows]


def company() -> dict[str, dict]:
    """Two leavers (1002 is 1001's successor), a manager and a successor outside the batch."""
    return {
        "1001": employee_fields("1001", customSuccessorEId="1002"),
        "1002": employee_fields(
            "1002",
            firstName="Diego",
            lastName="Navarro Puig",
            displayName="Diego Navarro Puig",
            workEmail="diego.navarro@acme-comunicacion.example",
            workPhone=None,
            mobilePhone="+34 600 111 222",
            department=None,
            jobTitle=None,
            customSuccessorEId="1012",
        ),
        "1007": person_fields(
            "1007", "Marta", "Soler", "marta.soler@acme-comunicacion.example", "Directora de Cuentas"
        ),
        "1012": person_fields(
            "1012", "Tomás", "Ribas", "tomas.ribas@acme-comunicacion.example", "Community Manager"
        ),
    }


STATUS = (
    owned(
        [
            status_row("1", "2021-03-01", "Full-Time"),
            status_row("2", "2026-11-20", "Terminated", type_id="31", reason_id="40"),
        ],
        "1001",
    )
    + owned([status_row("1", "2026-12-18", "Terminated", type_id="Resignation")], "1002")
    + owned([status_row("1", "2019-01-01", "Full-Time")], "1007")
)
JOBS = owned(JOB_INFO, "1001") + owned(JOB_INFO, "1002") + owned(JOB_INFO[:1], "1007")


# --- BambooHR ---


def test_a_batch_is_one_report_two_tables_one_report_of_related_people_and_the_lists(api):
    asked: list[dict] = []
    serve_reports(api, company(), asked=asked)
    serve_tables(api, STATUS, JOBS)
    api.get(f"{BASE}/meta/lists", json=META_LISTS)
    hr = connector(successor_field=SUCCESSOR)

    got = hr.employees(["1001", "1002", "1404"])

    assert list(got) == ["1001", "1002", "1404"]
    laura = schemas.check("employee", got["1001"], "BambooHR 1001")
    assert laura["termination"] == {
        "type": "involuntary",
        "date": "2026-11-20",
        "reason": "Reestructuración",
        "vendor_type": "Despido",
    }
    assert laura["manager"] == {
        "id": "1007",
        "name": "Marta Soler",
        "email": "marta.soler@acme-comunicacion.example",
        "phone": "+34 600 000 000",
        "job_title": "Directora de Cuentas",
    }
    assert laura["successor"]["name"] == "Diego Navarro Puig"  # from the batch itself, not read again
    diego = schemas.check("employee", got["1002"], "BambooHR 1002")
    assert (diego["status"], diego["termination"]["type"]) == ("terminating", "voluntary")
    assert (diego["department"], diego["job_title"]) == (
        "Cuentas",
        "Social Media Manager",
    )  # jobInfo fallback
    assert diego["phone"] == "+34 600 111 222" and diego["successor"]["id"] == "1012"
    assert isinstance(got["1404"], errors.NotFound) and "1404" in str(got["1404"])
    # 1 report of leavers, 2 tables, 1 report of the manager and successor not in the batch, meta/lists.
    assert [c.request.url.split("/v1/")[1] for c in api.calls] == [
        "reports/custom?format=json",
        "employees/all/tables/employmentStatus",
        "employees/all/tables/jobInfo",
        "reports/custom?format=json",
        "meta/lists",
    ]
    assert asked[0] == {
        "title": "relevo leavers",
        "fields": LEAVER_FIELDS,
        "filters": {"employeeIds": [1001, 1002, 1404]},
    }
    assert asked[1] == {"title": "relevo leavers", "fields": PERSON, "filters": {"employeeIds": [1007, 1012]}}
    assert CANARY not in json.dumps([c.request.url for c in api.calls])


def test_the_batch_and_the_single_read_give_the_same_employee(api):
    people = company()
    serve_reports(api, people)
    serve_tables(api, STATUS, JOBS)
    api.get(f"{BASE}/meta/lists", json=META_LISTS)
    stub_employee(
        api, people["1001"], [r for r in STATUS if r["employeeId"] == "1001"], extra_fields=f",{SUCCESSOR}"
    )
    stub_person(
        api, "1007", "Marta", "Soler", "marta.soler@acme-comunicacion.example", "Directora de Cuentas"
    )
    api.get(
        f"{BASE}/employees/1002",
        json={k: people["1002"][k] for k in ["id", *PERSON]},
        match=[matchers.query_param_matcher({"fields": ",".join(PERSON)})],
    )

    batch = connector(successor_field=SUCCESSOR).employees(["1001"])["1001"]
    single = connector(successor_field=SUCCESSOR).employee("1001")

    assert batch == single


def test_people_already_read_are_not_read_again(api):
    serve_reports(api, company())
    serve_tables(api, STATUS, JOBS)
    api.get(f"{BASE}/meta/lists", json=META_LISTS)
    hr = connector(successor_field=SUCCESSOR)

    hr.employees(["1001"])
    reports = len(api.calls)
    hr.employees(["1002"])  # its successor 1012 was not needed before; its manager 1007 was

    bodies = [json.loads(c.request.body) for c in api.calls[reports:] if c.request.method == "POST"]
    assert [b["filters"]["employeeIds"] for b in bodies] == [[1002], [1012]]


def test_ids_are_chunked_100_per_report_and_1000_leavers_cost_a_fixed_few_calls(api):
    people = {str(n): employee_fields(str(n), supervisorEId=str(2000 + n % 30)) for n in range(3000, 4000)}
    people.update(
        {
            str(2000 + m): person_fields(str(2000 + m), "Jefa", f"N{m}", f"j{m}@x.example", "Jefa")
            for m in range(30)
        }
    )
    asked: list[dict] = []
    serve_reports(api, people, asked=asked)
    serve_tables(
        api,
        [
            dict(
                status_row("1", "2026-11-20", "Terminated", type_id="Despido"), id=f"s{n}", employeeId=str(n)
            )
            for n in range(3000, 4000)
        ],
        [],
    )
    hr = connector()

    got = hr.employees([str(n) for n in range(3000, 4000)])

    assert all(e["status"] == "terminated" and e["manager"]["name"].startswith("Jefa") for e in got.values())
    assert [len(b["filters"]["employeeIds"]) for b in asked] == [100] * 10 + [30]
    assert hr.http.calls == len(api.calls) == 13  # 10 leaver reports + 2 tables + 1 report of the 30 managers


def test_a_failed_chunk_is_the_error_of_its_ids_only(api):
    people = {str(n): employee_fields(str(n), supervisorEId=None) for n in range(5000, 5150)}
    serve_reports(api, people, fail=lambda ids: 503 if 5000 in ids else None)
    serve_tables(api, [], [])
    hr = connector()

    got = hr.employees(list(people))

    failed = [i for i, e in got.items() if isinstance(e, errors.ServerError)]
    assert failed == [str(n) for n in range(5000, 5100)]
    assert all(isinstance(got[str(n)], dict) for n in range(5100, 5150))
    assert CANARY not in str(got["5000"]) and CANARY not in repr(got["5000"].args)


@pytest.mark.parametrize(
    "status,cls",
    [(401, errors.AuthenticationError), (403, errors.PermissionDenied), (400, errors.InvalidRequest)],
)
def test_the_api_key_never_appears_in_a_batch_error(api, status, cls):
    serve_reports(api, company(), fail=lambda ids: status)

    got = connector().employees(["1001", "1002"])

    assert all(isinstance(e, cls) for e in got.values())
    assert all(CANARY not in f"{e} {e!r} {e.message}" for e in got.values())
    assert len(api.calls) == 1  # nothing found: no tables read


def test_an_unreadable_table_is_every_found_ids_error(api):
    serve_reports(api, company())
    api.get(
        f"{BASE}/employees/all/tables/employmentStatus", json=[{"id": "1", "date": "2026-11-20"}]
    )  # no employeeId

    got = connector().employees(["1001", "1404"])

    assert isinstance(got["1001"], errors.InvalidResponse) and "employeeId" in str(got["1001"])
    assert isinstance(got["1404"], errors.NotFound)


def test_a_bad_value_in_one_record_fails_that_id_only(api):
    people = company()
    people["1002"]["terminationDate"] = "20/11/2026"
    serve_reports(api, people)
    serve_tables(api, [r for r in STATUS if r["employeeId"] == "1001"], JOBS)
    api.get(f"{BASE}/meta/lists", json=META_LISTS)

    got = connector().employees(["1001", "1002"])

    assert got["1001"]["status"] == "terminated"
    assert isinstance(got["1002"], errors.InvalidResponse) and "terminationDate" in str(got["1002"])


def test_without_table_access_the_fields_still_tell_a_termination(api):
    serve_reports(api, company())
    api.get(f"{BASE}/employees/all/tables/employmentStatus", status=404)
    api.get(f"{BASE}/employees/all/tables/jobInfo", status=404)

    got = connector().employees(["1001"])["1001"]

    assert got["termination"] == {
        "type": "unknown",
        "date": "2026-11-20",
        "reason": None,
        "vendor_type": None,
    }


def test_ids_that_cannot_be_bamboohr_ids_are_not_found_without_a_call(api):
    serve_reports(api, company())
    serve_tables(api, [], [])

    got = connector().employees(["../meta/users", "abc", "0", "1001", "1001"])

    assert list(got) == ["../meta/users", "abc", "0", "1001"]
    assert all(isinstance(got[i], errors.NotFound) for i in ("../meta/users", "abc", "0"))
    assert json.loads(api.calls[0].request.body)["filters"]["employeeIds"] == [1001]


def test_an_empty_batch_makes_no_call():
    assert connector().employees([]) == {}


def test_the_report_of_the_wrong_shape_is_an_invalid_response(spec):
    with (
        responses.RequestsMock() as api
    ):  # the answer breaks the spec on purpose: only the request is checked
        api.post(f"{BASE}/reports/custom", json={"title": "x", "fields": [], "employees": {"1001": {}}})

        got = connector().employees(["1001"])

        validate_against_spec(spec, api.calls[0].request)
    assert isinstance(got["1001"], errors.InvalidResponse)


# --- BambooHR simulator: the same connector over the loopback vendor ---


def test_simulator_serves_the_batch_calls_and_agrees_with_single_reads():
    from relevo.connectors.bamboohr import BambooHR
    from tests.sim import Simulator, all_vendors
    from tests.sim.seed import generate, populate

    with Simulator(all_vendors()) as sim:
        sim.vendors["bamboohr"].token = "bamboo-key"
        world = populate(generate(n_leavers=4, n_stayers=2), sim.vendors)
        base = sim.url("bamboohr") + "/api/v1/"
        ids = [p.id for p in world.leavers]
        batch = BambooHR("acme", "bamboo-key", default_language="es", base_url=base, sleep=lambda s: None)
        single = BambooHR("acme", "bamboo-key", default_language="es", base_url=base, sleep=lambda s: None)

        got = batch.employees([*ids, "999999"])

        assert all(got[i] == single.employee(i) for i in ids)
        assert isinstance(got["999999"], errors.NotFound)
        assert batch.http.calls <= 5


# --- directory and Factorial ---


def test_directory_reads_the_export_once_and_a_missing_id_is_not_found(acme: Path, monkeypatch):
    import relevo.connectors.directory as directory

    reads: list[Path] = []
    real = directory.read_json
    monkeypatch.setattr(directory, "read_json", lambda path: reads.append(path) or real(path))
    hr = DirectoryHR(acme.parent / "hr.json", "es")

    got = hr.employees(["1001", "1002", "9999"])

    assert len(reads) == 1
    assert got["1001"] == DirectoryHR(acme.parent / "hr.json", "es").employee("1001")
    assert got["1002"]["id"] == "1002"
    assert isinstance(got["9999"], errors.NotFound)


def test_factorial_reads_each_leaver_and_a_missing_one_is_its_own_error():
    with responses.RequestsMock() as api:
        factorial_api.stub(api, factorial_api.record())
        factorial_api.stub(api, factorial_api.MANAGER)
        api.get(f"{factorial_api.BASE}/employees/employees/2404", status=404)

        got = factorial_api.connector().employees(["2001", "2404"])

    assert got["2001"]["manager"]["id"] == "2002"
    assert isinstance(got["2404"], errors.NotFound)
    assert CANARY not in str(got["2404"])
