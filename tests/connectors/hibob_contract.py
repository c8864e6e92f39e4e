"""What HiBob documents about the calls relevo makes, transcribed (HiBob's OpenAPI definitions on
apidocs.hibob.com are marked "Proprietary", so they are not vendored in tests/specs).

Every mocked request and answer in the HiBob tests is checked against these schemas, so a mock
cannot drift from the documented shape. Sources:
- WEBHOOK: reference/post_webhook_employee-left (and -inactivated, -activated): companyId number,
  type, triggeredBy, triggeredAt, version (all required strings), data (required object); the
  changelog "Employee data webhooks: table entry events payload updated" (2026-03) for the example
  below and its `data` {employeeId, tableId, effectiveDate}.
- SEARCH_REQUEST / SEARCH_ANSWER: reference/post_people-search and docs/people-read-api-contract:
  body fields (field paths), filters, showInactive (boolean), humanReadable; answer {employees: [...]},
  no pagination. The filter's item shape {fieldPath, operator, values} is from the page's examples.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

WEBHOOK = {
    "type": "object",
    "required": ["companyId", "type", "triggeredBy", "triggeredAt", "version", "data"],
    "properties": {
        "companyId": {"type": "number"},
        "type": {"type": "string"},
        "triggeredBy": {"type": "string"},
        "triggeredAt": {"type": "string"},
        "version": {"type": "string"},
        "data": {"type": "object"},
    },
}

SEARCH_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fields": {
            "type": "array",
            "items": {"type": "string", "pattern": r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$"},
        },
        "filters": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["fieldPath", "operator", "values"],
                "properties": {
                    "fieldPath": {"type": "string"},
                    "operator": {"type": "string"},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "showInactive": {"type": "boolean"},
        "humanReadable": {"enum": ["APPEND", "REPLACE"]},
    },
}

SEARCH_ANSWER = {
    "type": "object",
    "required": ["employees"],
    "properties": {"employees": {"type": "array", "items": {"type": "object", "required": ["id"]}}},
}

# The documented example (changelog 2026-03, historical table entry): a lifecycle entry was added.
TABLE_ENTRY_EXAMPLE = {
    "companyId": 636192,
    "type": "table.entry.created",
    "triggeredBy": "3332883804594373380",
    "triggeredAt": "2025-01-08T13:06:26.915906",
    "version": "v2",
    "data": {"employeeId": "3332883854254932743", "tableId": "lifecycle", "effectiveDate": "2025-01-08"},
}


def lifecycle(
    kind: str, employee_id: str = "3332883854254932743", at: str = "2026-11-20T00:00:03.118204"
) -> dict:
    """A lifecycle event (employee.left, .inactivated, .activated) in the documented v2 envelope."""
    return {
        "companyId": 636192,
        "type": kind,
        "triggeredBy": "system",
        "triggeredAt": at,
        "version": "v2",
        "data": {"employeeId": employee_id},
    }


def check(schema: dict[str, Any], document: Any) -> Any:
    """Fail the test with the first mismatch when a mocked request or answer leaves the documented shape."""
    errors = sorted(Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, f"not in HiBob's documented shape: {errors[0].message} at {list(errors[0].path)}"
    return document
