"""Factorial's API as the tests stub it: employee records in the documented shape, list pages, the connector.

Shared by the Factorial connector tests, the roster and the batch HR reads (tests/connectors/).
"""

from __future__ import annotations

from datetime import date

from responses import matchers

from relevo.connectors.factorial import Factorial
from tests.support.canaries import FACTORIAL_KEY as CANARY

BASE = "https://api.factorialhr.com/api/2026-07-01/resources"
TODAY = date(2026, 11, 26)


def record(employee_id: int = 2001, **changes) -> dict:
    """An employee as Factorial returns it (required: id, access_id, names, company, location, dates,
    flags)."""
    base = {
        "id": employee_id,
        "access_id": 9001,
        "first_name": "Laura",
        "last_name": "Martínez Ferrer",
        "full_name": "Laura Martínez Ferrer",
        "preferred_name": None,
        "company_id": 77,
        "legal_entity_id": 5,
        "location_id": 3,
        "created_at": "2021-03-01T09:00:00.000Z",
        "updated_at": "2026-11-20T17:12:03.000Z",
        "email": "laura.martinez@acme-comunicacion.example",
        "login_email": "laura.martinez@acme-comunicacion.example",
        "personal_email": "laura.mf@correo.example",
        "phone_number": "+34 961 23 45 10",
        "is_terminating": False,
        "terminated_on": "2026-11-20",
        "termination_reason_type": "company",
        "termination_reason": "Reestructuración del equipo",
        "termination_observations": None,
        "termination_type_description": None,
        "manager_id": 2002,
        "timeoff_manager_id": 2002,
        "active": False,
        "attendable": True,
        "gender": None,
        "nationality": "ES",
        "country": "ES",
    }
    base.update(changes)
    return base


MANAGER = record(
    2002,
    first_name="Marta",
    last_name="Soler",
    full_name="Marta Soler",
    email="marta.soler@acme-comunicacion.example",
    login_email="marta.soler@acme-comunicacion.example",
    phone_number=None,
    terminated_on=None,
    termination_reason_type=None,
    termination_reason=None,
    manager_id=None,
    active=True,
)


def connector(waits: list[float] | None = None, **kwargs) -> Factorial:
    sleep = (waits if waits is not None else []).append
    options = {"default_language": "es", "today": lambda: TODAY, "sleep": sleep}
    options.update(kwargs)
    return Factorial(CANARY, **options)


def stub(api, body: dict) -> None:
    api.get(
        f"{BASE}/employees/employees/{body['id']}",
        json=body,
        match=[matchers.header_matcher({"x-api-key": CANARY})],
    )


def page(rows: list[dict], *, next_cursor: str | None = None, total: int | None = None) -> dict:
    """An answer of GET employees/employees as the SDK's response model has it ({data, meta:
    PagedIndexMeta})."""
    meta = {
        "has_next_page": next_cursor is not None,
        "has_previous_page": False,
        "limit": 100,
        "total": total if total is not None else len(rows),
        "start_cursor": "MQ==",
    }
    if next_cursor is not None:
        meta["end_cursor"] = next_cursor
    return {"data": rows, "meta": meta}
