"""BambooHR's API as the tests stub it: payloads shaped as BambooHR documents them (GetEmployeeResponse,
EmployeeTableRow, ListFieldDetail), the stubs that serve an employee and a person, and the connector.

Shared by the BambooHR connector tests, the batch HR reads and the offboarding run on BambooHR; every
request is validated against BambooHR's OpenAPI spec by those tests' fixtures (bamboohr_spec.py).
"""

from __future__ import annotations

from datetime import date

import responses

from relevo.connectors.bamboohr import BambooHR
from tests.support.canaries import BAMBOOHR_KEY as CANARY

BASE = "https://acme.bamboohr.com/api/v1"
TODAY = date(2026, 11, 26)
FIELDS = (
    "firstName,lastName,displayName,workEmail,workPhone,mobilePhone,jobTitle,department,supervisorEId,"
    "status,employmentHistoryStatus,terminationDate"
)


def connector(waits: list[float] | None = None, **kwargs) -> BambooHR:
    sleep = (waits if waits is not None else []).append
    options = {"default_language": "es", "today": lambda: TODAY, "sleep": sleep}
    options.update(kwargs)
    return BambooHR("acme", CANARY, **options)


def employee_fields(employee_id: str = "1001", **changes) -> dict:
    fields = {
        "id": employee_id,
        "firstName": "Laura",
        "lastName": "Martínez Ferrer",
        "displayName": "Laura Martínez Ferrer",
        "workEmail": "laura.martinez@acme-comunicacion.example",
        "workPhone": "+34 961 23 45 10",
        "mobilePhone": None,
        "jobTitle": "Social Media Manager",
        "department": "Cuentas",
        "supervisorEId": "1007",
        "status": "Inactive",
        "employmentHistoryStatus": "Terminated",
        "terminationDate": "2026-11-20",
    }
    fields.update(changes)
    return fields


def person_fields(employee_id: str, first: str, last: str, mail: str, title: str) -> dict:
    return {
        "id": employee_id,
        "firstName": first,
        "lastName": last,
        "displayName": f"{first} {last}",
        "workEmail": mail,
        "workPhone": None,
        "mobilePhone": "+34 600 000 000",
        "jobTitle": title,
    }


def status_row(row_id: str, when: str, status: str, type_id=None, reason_id=None) -> dict:
    return {
        "id": row_id,
        "employeeId": "1001",
        "date": when,
        "employmentStatus": status,
        "terminationReasonId": reason_id,
        "terminationTypeId": type_id,
        "terminationRehireId": None,
        "terminationRegrettableId": None,
        "comment": None,
    }


JOB_INFO = [
    {
        "id": "11",
        "employeeId": "1001",
        "date": "2021-03-01",
        "location": "Valencia",
        "division": None,
        "department": "Cuentas",
        "jobTitle": "Community Manager",
        "reportsTo": "Marta Soler",
    },
    {
        "id": "12",
        "employeeId": "1001",
        "date": "2024-01-15",
        "location": "Valencia",
        "division": None,
        "department": "Cuentas",
        "jobTitle": "Social Media Manager",
        "reportsTo": "Marta Soler",
    },
]


META_LISTS = [
    {
        "fieldId": "17",
        "alias": "department",
        "manageable": "yes",
        "multiple": "no",
        "name": "Department",
        "options": [
            {"id": 1, "archived": "no", "createdDate": None, "archivedDate": None, "name": "Cuentas"}
        ],
    },
    {
        "fieldId": "1360",
        "alias": "terminationTypeId",
        "manageable": "yes",
        "multiple": "no",
        "name": "Termination Type",
        "options": [
            {
                "id": 31,
                "archived": "no",
                "createdDate": "2019-05-02",
                "archivedDate": None,
                "name": "Despido",
            },
            {
                "id": 32,
                "archived": "no",
                "createdDate": "2019-05-02",
                "archivedDate": None,
                "name": "Renuncia",
            },
            {
                "id": 33,
                "archived": "yes",
                "createdDate": "2019-05-02",
                "archivedDate": "2022-01-01",
                "name": "Fin de contrato",
            },
        ],
    },
    {
        "fieldId": "1361",
        "alias": "terminationReasonId",
        "manageable": "yes",
        "multiple": "no",
        "name": "Termination Reason",
        "options": [
            {
                "id": 40,
                "archived": "no",
                "createdDate": None,
                "archivedDate": None,
                "name": "Reestructuración",
            }
        ],
    },
]


def stub_employee(api, fields: dict, status_rows: list, extra_fields: str = "") -> None:
    employee_id = fields["id"]
    api.get(
        f"{BASE}/employees/{employee_id}",
        json=fields,
        match=[responses.matchers.query_param_matcher({"fields": FIELDS + extra_fields})],
    )
    api.get(f"{BASE}/employees/{employee_id}/tables/employmentStatus", json=status_rows)
    api.get(f"{BASE}/employees/{employee_id}/tables/jobInfo", json=JOB_INFO)


def stub_person(api, employee_id: str, first: str, last: str, mail: str, title: str) -> None:
    api.get(
        f"{BASE}/employees/{employee_id}",
        json=person_fields(employee_id, first, last, mail, title),
        match=[
            responses.matchers.query_param_matcher(
                {"fields": "firstName,lastName,displayName,workEmail,workPhone,mobilePhone,jobTitle"}
            )
        ],
    )
