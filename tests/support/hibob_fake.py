"""Bob's people/search behind `responses`: the employee records the HiBob tests share, and their server.

Every request and answer is checked against the shapes transcribed in tests/connectors/hibob_contract.py.
"""

from __future__ import annotations

import json

from tests.connectors.hibob_contract import SEARCH_ANSWER, SEARCH_REQUEST, check
from tests.sim.vendors import HiBob as HiBobSim

BASE = "https://api.hibob.com/v1"
USER = "SERVICE-4411"
TOKEN = "hibob-token-canary-3f9e1c"
LEAVER = "3332883854254932743"
BOSS = "3332883804594373380"


def record(employee_id: str = LEAVER, **internal) -> dict:
    """An employee as people/search answers with humanReadable APPEND: machine values, display copies."""
    base = {
        "id": employee_id,
        "displayName": "Laura Martínez",
        "firstName": "Laura",
        "surname": "Martínez Ferrer",
        "email": "laura.martinez@acme-comunicacion.example",
        "work": {
            "title": "Account Manager",
            "department": "Cuentas",
            "reportsTo": {
                "id": BOSS,
                "displayName": "Marta Soler",
                "email": "marta.soler@acme-comunicacion.example",
            },
        },
        "internal": {
            "status": "Inactive",
            "lifecycleStatus": "terminated",
            "terminationDate": "2026-11-20",
            "terminationReason": "2451",
            "terminationType": "2317",
        },
        "employee": {"lastDayOfWork": "2026-11-19"},
        "humanReadable": {
            "internal": {
                "terminationReason": "Reestructuración",
                "terminationType": "Dismissal",
                "lifecycleStatus": "Terminated",
            }
        },
    }
    base["internal"].update(internal)
    return base


BOSS_RECORD = {
    "id": BOSS,
    "displayName": "Marta Soler",
    "firstName": "Marta",
    "surname": "Soler",
    "email": "marta.soler@acme-comunicacion.example",
    "work": {"title": "Directora de Cuentas"},
}


class Bob:
    """people/search as documented: the body is checked, filters by root.id honoured, only the fields asked
    for returned (with their humanReadable copies), everything in one answer."""

    def __init__(self, *records: dict) -> None:
        self.records = {r["id"]: r for r in records}
        self.bodies: list[dict] = []

    def __call__(self, request):  # type: ignore[no-untyped-def]
        body = check(SEARCH_REQUEST, json.loads(request.body))
        self.bodies.append(body)
        assert body["showInactive"] is True, "leavers are inactive: without showInactive they are invisible"
        rows = list(self.records.values())
        for item in body.get("filters", []):
            assert item == {"fieldPath": "root.id", "operator": "equals", "values": item["values"]}
            rows = [r for r in rows if r["id"] in item["values"]]
        rows = [HiBobSim.only(r, body["fields"]) for r in rows]  # only the fields asked for come back
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps(check(SEARCH_ANSWER, {"employees": rows})),
        )
