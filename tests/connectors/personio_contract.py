"""Personio's API v2 contract for the calls relevo makes: request and answer shapes, as JSON Schema.

Transcribed from Personio's own OpenAPI files as stored in Hochfrequenz/personio_client.py
`openapi/v2/` (downloaded there from https://developer.personio.de/openapi/<name>.yaml):
`credentials-service-api-v2.json` (Authentication 2.0.0: OAuth2TokenRequest, OAuth2Token,
OAuth2TokenErrorResponse), `persons-service-api-v2.json` (Person 2.0.0: Person, the list answer
{_data, _meta.links}, the problem+json error) and `employment-contract-v2.json` (Employment 2.0.0:
Employment, Termination); and from personio/api-docs `personio-personnel-data-api-oa3.yaml`
(/company/documents: DocumentUploadRequest and its 201 answer). None of these files states a
licence, so they are not vendored (tests/specs/README.md); only the facts relevo relies on are
written here, each schema named after the spec's component, and the examples are the spec's own.
Where the spec disagrees with itself it is said next to the schema:
- the Termination schema names `last_working_day`, its examples send `last_working_date`;
- custom attribute `type` is an upper-case enum in the schema, lower case ("string") in every example:
  the enum is not enforced here (relevo does not read `type`).
The webhook envelope is Personio's published JSON schema (developer.personio.de/v2.0/reference/webhooks);
the fields inside `payload` of an employment event are UNCONFIRMED (see connectors/personio.py).
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema

OPT_STR = {"type": ["string", "null"]}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
DATE_TIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}
LINKS = {
    "type": "object",
    "properties": {
        "links": {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"href": {"type": "string"}}},
        }
    },
}

OAUTH2_TOKEN_REQUEST = {  # OAuth2TokenRequest (application/x-www-form-urlencoded)
    "type": "object",
    "required": ["grant_type", "client_id", "client_secret"],
    "properties": {
        "grant_type": {"enum": ["client_credentials"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "scope": {"type": "string"},
    },
    "additionalProperties": False,
}
OAUTH2_TOKEN = {  # OAuth2Token
    "type": "object",
    "required": ["access_token", "token_type", "expires_in"],
    "properties": {
        "access_token": {"type": "string"},
        "refresh_token": OPT_STR,
        "token_type": {"enum": ["Bearer"]},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
    },
}
OAUTH2_TOKEN_ERROR = {  # OAuth2TokenErrorResponse
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "enum": [
                "invalid_request",
                "invalid_client",
                "invalid_grant",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
                "server_error",
                "temporarily_unavailable",
                "access_denied",
                "unsupported_response_type",
            ]
        },
        "error_description": OPT_STR,
        "error_uri": OPT_STR,
        "timestamp": {"type": "string"},
        "trace_id": {"type": "string"},
        "meta": {"type": "object"},
    },
}
CUSTOM_ATTRIBUTE = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "type": {"type": "string"},
        "global_id": {"type": "string"},
        "label": {"type": "string"},
        "value": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
                {"type": "array", "items": {"type": "object"}},
            ]
        },
    },
}
PERSON = {  # Person: no required fields in the spec
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "email": {"type": "string"},
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "preferred_name": {"type": "string"},
        "gender": {"enum": ["UNSPECIFIED", "MALE", "FEMALE", "DIVERSE"]},
        "profile_picture": {"type": "object", "properties": {"url": {"type": "string"}}},
        "status": {"enum": ["UNSPECIFIED", "ACTIVE", "INACTIVE"]},
        "custom_attributes": {"type": "array", "items": CUSTOM_ATTRIBUTE},
        "employments": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "string"}}},
        },
        "_meta": LINKS,
    },
}
TERMINATION = {  # Termination (see the module docstring for last_working_date)
    "type": "object",
    "properties": {
        "termination_date": DATE,
        "last_working_day": DATE,
        "last_working_date": DATE,
        "terminated_at": DATE,
        "reason": {"type": "string"},
        "type": {
            "enum": [
                "UNSPECIFIED",
                "EMPLOYEE",
                "FIRED",
                "DEATH",
                "CONTRACT_EXPIRED",
                "AGREEMENT",
                "SUB_COMPANY_SWITCH",
                "IRREVOCABLE_SUSPENSION",
                "CANCELLATION",
                "COLLECTIVE_AGREEMENT",
                "SETTLEMENT_AGREEMENT",
                "RETIREMENT",
                "COURT_SETTLEMENT",
                "QUIT",
            ]
        },
    },
}
ID_OBJECT = {"type": "object", "properties": {"id": {"type": "string"}}}
EMPLOYMENT = {  # Employment: no required fields in the spec; employment_end_date is null in every example
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "position": {"type": "object", "properties": {"title": {"type": "string"}}},
        "status": {"enum": ["ACTIVE", "INACTIVE", "ONBOARDING", "LEAVE", "UNSPECIFIED"]},
        "weekly_working_hours": {"type": "number"},
        "full_time_weekly_working_hours": {"type": "number"},
        "probation_end_date": {"type": "string"},
        "employment_start_date": {"type": "string"},
        "employment_end_date": OPT_STR,
        "contract_end_date": {"type": "string"},
        "type": {"enum": ["UNSPECIFIED", "INTERNAL", "EXTERNAL"]},
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        "supervisor": ID_OBJECT,
        "office": ID_OBJECT,
        "person": ID_OBJECT,
        "legal_entity": ID_OBJECT,
        "job": ID_OBJECT,
        "sub_company": ID_OBJECT,
        "termination": TERMINATION,
        "org_units": {
            "type": "array",
            "items": {"type": "object", "properties": {"type": {"type": "string"}, "id": {"type": "string"}}},
        },
        "cost_centers": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "weight": {"type": "number"}},
            },
        },
        "_meta": LINKS,
    },
}
ERROR = {  # the problem+json error of the persons and employments endpoints
    "type": "object",
    "properties": {
        "personio_trace_id": {"type": "string"},
        "timestamp": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "detail": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
# DocumentUploadRequest (multipart/form-data); employee_id and category_id: integers
DOCUMENT_UPLOAD_REQUEST = {
    "type": "object",
    "required": ["title", "employee_id", "category_id", "file"],
    "properties": {
        "title": {"type": "string", "maxLength": 255},
        "comment": {"type": "string"},
        "employee_id": {"type": "string", "pattern": r"^[0-9]+$"},
        "category_id": {"type": "string", "pattern": r"^[0-9]+$"},
        "date": DATE,
        "file": {},
    },
    "additionalProperties": False,
}
DOCUMENT_UPLOAD_201 = {  # DocumentUploadSuccessResponse
    "type": "object",
    "required": ["success", "data"],
    "properties": {
        "success": {"const": True},
        "data": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "integer"}, "type": {"const": "Document"}},
        },
    },
}
WEBHOOK = {  # the published schema every Personio webhook conforms to
    "type": "object",
    "required": ["company_id", "occurred_at", "payload", "event_name"],
    "properties": {
        "company_id": {"type": "string"},
        "occurred_at": DATE_TIME,
        "payload": {"type": "object"},
        "meta": {"type": "object"},
        "event_name": {"type": "string"},
    },
}
LIST_PARAMS = {  # GET /v2/persons and /v2/persons/{person_id}/employments query parameters relevo sends
    "type": "object",
    "properties": {
        "limit": {"type": "string", "pattern": r"^([1-9]|[1-4][0-9]|50)$"},
        "cursor": {"type": "string"},
        "email": {"type": "string"},
        "updated_at.gt": DATE_TIME,
    },
    "additionalProperties": False,
}

# The spec's own examples (EmploymentResponse, PersonsResponse, OAuth2TokenSuccessAccessToken, the 201
# upload).
PERSON_EXAMPLE: dict[str, Any] = {
    "id": "3003",
    "email": "jen.doe@personio.de",
    "created_at": "2017-07-21T17:32:28Z",
    "updated_at": "2017-07-21T17:32:28Z",
    "first_name": "John",
    "last_name": "Smith",
    "preferred_name": "John Smith",
    "gender": "MALE",
    "profile_picture": {"url": "https://api.personio.de/v1/company/employees/3003/profile-picture"},
    "status": "ACTIVE",
    "custom_attributes": [
        {"id": "dynamic_305", "type": "string", "value": "Red", "global_id": "color"},
        {"id": "dynamic_306", "type": "string", "value": "DExx-xxff-ss-os02", "global_id": "IBAN"},
    ],
    "employments": [{"id": "c85d978e-1104-4762-be94-c868525eef45"}],
    "_meta": {"links": {"employments": {"href": "https://api.personio.de/v2/persons/3003/employments"}}},
}
EMPLOYMENT_EXAMPLE: dict[str, Any] = {
    "id": "2306b77a-35fb-4b1d-8044-3b14f7f2ca65",
    "status": "ACTIVE",
    "weekly_working_hours": 40,
    "probation_end_date": "2023-07-01",
    "employment_start_date": "2023-01-01",
    "full_time_weekly_working_hours": 40,
    "employment_end_date": None,
    "type": "INTERNAL",
    "contract_end_date": "2024-01-01",
    "created_at": "2023-01-01T14:07:17Z",
    "updated_at": "2023-06-17T14:07:17Z",
    "position": {"title": "Software Engineer"},
    "supervisor": {"id": "3003"},
    "office": {"id": "60302"},
    "legal_entity": {"id": "170"},
    "job": {"id": "a1b2c3d4-e5f6-7890-abcd-ef1234567890"},
    "sub_company": {"id": "47"},
    "org_units": [{"type": "team", "id": "4502"}, {"type": "department", "id": "401"}],
    "cost_centers": [{"id": "1000", "weight": 100}],
    "person": {"id": "5005"},
    "termination": {
        "termination_date": "2022-12-12",
        "last_working_date": "2023-01-07",
        "terminated_at": "2022-11-01",
        "type": "QUIT",
        "reason": "Moving to a different position",
    },
    "_meta": {
        "links": {
            "person": {"href": "https://api.personio.de/v2/persons/5005"},
            "supervisor": {"href": "https://api.personio.de/v2/persons/3003"},
        }
    },
}
TOKEN_EXAMPLE: dict[str, Any] = {
    "access_token": "papi-OUYVj9QdAyL8F-Naa0PB7X2CZVb0uHDTYvW_FoX1o3lJBgvbcJ_ctlJ8nH4FDi6QWl5BHlzj-"
    "CheybZaxVRq0g",
    "expires_in": 86400,
    "token_type": "Bearer",
    "scope": "personio:person:write personio:employment:read",
}
UPLOAD_EXAMPLE: dict[str, Any] = {
    "success": True,
    "data": {
        "id": 1,
        "type": "Document",
        "attributes": {"title": "Personio", "date": "2022-02-02", "comment": "Enable better organisations"},
    },
}
NOT_FOUND_EXAMPLE: dict[str, Any] = {  # ResourceNotFound
    "personio_trace_id": "aswo3f-a202lfso-312123sld-1230ddd",
    "timestamp": "2021-05-28T11:17:30+00:00",
    "errors": [
        {
            "title": "Resource not found",
            "detail": "There is no resource for the specified id.",
            "type": "https://developer.personio.de/reference/errors#common.resource_not_found",
        }
    ],
}


def person(person_id: str = "3003", **changes: Any) -> dict[str, Any]:
    """The spec's PersonsResponse example with changes, checked against Person."""
    body = copy.deepcopy(PERSON_EXAMPLE)
    body.update(id=person_id, **changes)
    check(PERSON, body)
    return body


def employment(person_id: str = "5005", **changes: Any) -> dict[str, Any]:
    """The spec's EmploymentResponse example with changes, checked against Employment."""
    body = copy.deepcopy(EMPLOYMENT_EXAMPLE)
    body["person"] = {"id": person_id}
    body.update(changes)
    check(EMPLOYMENT, body)
    return body


def page(
    rows: list[dict[str, Any]], next_cursor: str | None = None, path: str = "v2/persons"
) -> dict[str, Any]:
    """A list answer: {_data, _meta.links.self/next}; the next link carries only the cursor, as in the
    examples."""
    links: dict[str, Any] = {"self": {"href": f"https://api.personio.de/{path}"}}
    if next_cursor:
        links["next"] = {"href": f"https://api.personio.de/{path}?cursor={next_cursor}"}
    return {"_data": rows, "_meta": {"links": links}}


def check(schema: dict[str, Any], document: Any) -> None:
    jsonschema.validate(document, schema)


def validate_request(request: Any) -> None:
    """A request relevo sent to Personio, against the operation it calls; AssertionError otherwise."""
    parts = urlsplit(request.url)
    path = parts.path
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    headers = request.headers
    assert re.fullmatch(r"[A-Z][A-Z0-9_]*", headers.get("X-Personio-App-ID", "")), "X-Personio-App-ID missing"
    if path == "/v2/auth/token":
        assert request.method == "POST" and headers["Content-Type"] == "application/x-www-form-urlencoded"
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        check(OAUTH2_TOKEN_REQUEST, {k: v[0] for k, v in parse_qs(body).items()})
        assert "Authorization" not in headers
        return
    assert headers.get("Authorization", "").startswith("Bearer "), "resource calls carry the bearer token"
    if re.fullmatch(r"/v2/persons/[^/]+", path) or re.fullmatch(r"/v2/persons/[^/]+/employments/[^/]+", path):
        assert request.method == "GET" and not query
    elif path in ("/v2/persons",) or re.fullmatch(r"/v2/persons/[^/]+/employments", path):
        assert request.method == "GET"
        check(LIST_PARAMS, query)
    elif path == "/v1/company/documents":
        assert request.method == "POST" and headers["Content-Type"].startswith("multipart/form-data")
        fields = _multipart(request)
        check(DOCUMENT_UPLOAD_REQUEST, fields)
    else:
        raise AssertionError(f"{request.method} {path} is not an operation relevo may call")


def _multipart(request: Any) -> dict[str, str]:
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode() + request.body
    )
    out = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        out[name] = payload.decode("utf-8", "replace") if name != "file" else "<file>"
    return out
