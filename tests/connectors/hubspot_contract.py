"""HubSpot's CRM 2026-09 contract for the calls relevo makes: field names and types, as JSON Schema.

Transcribed from HubSpot's own OpenAPI files (github.com/HubSpot/HubSpot-public-api-spec-collection,
PublicApiSpecs/CRM/Objects/Rollouts/424/2026-09/objects.json and CRM/Crm Owners/Rollouts/146888/
2026-09/crmOwners.json, read 2026-11-27). Those files are "proprietary to HubSpot and not licensed
for external use", so they are not vendored; only the facts relevo relies on are written here,
each schema named after the spec's component. Where the spec and HubSpot's documentation disagree,
the documentation wins and the difference is written next to it:
- PublicObjectSearchRequest lists `after` and `sorts` as required and `sorts` items as strings;
  the search guide (developers.hubspot.com/docs/api/crm/search) sends neither on a first page
  and writes a sort as `{"propertyName": ..., "direction": "ASCENDING"|"DESCENDING"}` (UNCONFIRMED
  which the 2026-09 server enforces; relevo follows the guide).
- batch/update documents 200 only in 2026-09; the v3 spec (same schema plus `errors`/`numErrors`,
  BatchResponseSimplePublicObjectWithErrors) documents 207 for a partly applied batch: both accepted.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema

VERSION = "2026-09"
STRING_MAP = {"type": "object", "additionalProperties": {"type": ["string", "null"]}}
FILTER = {
    "type": "object",
    "required": ["operator", "propertyName"],
    "additionalProperties": False,
    "properties": {
        "propertyName": {"type": "string"},
        "value": {"type": "string"},
        "highValue": {"type": "string"},
        "values": {"type": "array", "items": {"type": "string"}},
        "operator": {
            "enum": [
                "BETWEEN",
                "CONTAINS_TOKEN",
                "EQ",
                "GT",
                "GTE",
                "HAS_PROPERTY",
                "IN",
                "LT",
                "LTE",
                "NEQ",
                "NOT_CONTAINS_TOKEN",
                "NOT_HAS_PROPERTY",
                "NOT_IN",
            ]
        },
    },
}
SEARCH_REQUEST = {  # PublicObjectSearchRequest (see the module docstring for `after` and `sorts`)
    "type": "object",
    "required": ["filterGroups", "limit", "properties"],
    "additionalProperties": False,
    "properties": {
        "after": {"type": "string"},
        "query": {"type": "string", "maxLength": 3000},
        "limit": {"type": "integer", "minimum": 1, "maximum": 200},  # "up to 200 objects"
        "properties": {"type": "array", "items": {"type": "string"}},
        "filterGroups": {
            "type": "array",
            "maxItems": 6,
            "items": {  # "Up to 6 groups"
                "type": "object",
                "required": ["filters"],
                "additionalProperties": False,
                "properties": {"filters": {"type": "array", "items": FILTER}},
            },
        },
        "sorts": {
            "type": "array",
            "items": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "required": ["propertyName"],
                        "additionalProperties": False,
                        "properties": {
                            "propertyName": {"type": "string"},
                            "direction": {"enum": ["ASCENDING", "DESCENDING"]},
                        },
                    },
                ]
            },
        },
    },
}
BATCH_UPDATE_REQUEST = {  # BatchInputSimplePublicObjectBatchInput
    "type": "object",
    "required": ["inputs"],
    "additionalProperties": False,
    "properties": {
        "inputs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "properties"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string"},
                    "idProperty": {"type": "string"},
                    "objectWriteTraceId": {"type": "string"},
                    "properties": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        }
    },
}
SIMPLE_OBJECT = {  # SimplePublicObject
    "type": "object",
    "required": ["archived", "createdAt", "id", "properties", "updatedAt"],
    "properties": {
        "id": {"type": "string"},
        "archived": {"type": "boolean"},
        "createdAt": {"type": "string"},
        "updatedAt": {"type": "string"},
        "properties": STRING_MAP,
    },
}
PAGING = {
    "type": "object",
    "properties": {
        "next": {
            "type": "object",
            "required": ["after"],
            "properties": {"after": {"type": "string"}, "link": {"type": "string"}},
        }
    },
}
SEARCH_RESPONSE = {  # CollectionResponseWithTotalSimplePublicObject
    "type": "object",
    "required": ["results", "total"],
    "properties": {
        "total": {"type": "integer"},
        "results": {"type": "array", "items": SIMPLE_OBJECT},
        "paging": PAGING,
    },
}
STANDARD_ERROR = {  # StandardError
    "type": "object",
    "required": ["category", "context", "errors", "links", "message", "status"],
    "properties": {
        "category": {"type": "string"},
        "message": {"type": "string"},
        "status": {"type": "string"},
        "context": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "errors": {"type": "array"},
        "links": {"type": "object"},
    },
}
BATCH_RESPONSE = {  # BatchResponseSimplePublicObject (200) / ...WithErrors (207)
    "type": "object",
    "required": ["completedAt", "results", "startedAt", "status"],
    "properties": {
        "status": {"enum": ["CANCELED", "COMPLETE", "PENDING", "PROCESSING"]},
        "results": {"type": "array", "items": SIMPLE_OBJECT},
        "startedAt": {"type": "string"},
        "completedAt": {"type": "string"},
        "numErrors": {"type": "integer"},
        "errors": {"type": "array", "items": STANDARD_ERROR},
    },
}
OWNER = {  # PublicOwner
    "type": "object",
    "required": ["archived", "createdAt", "id", "type", "updatedAt"],
    "properties": {
        "id": {"type": "string"},
        "email": {"type": "string"},
        "firstName": {"type": "string"},
        "lastName": {"type": "string"},
        "userId": {"type": "integer"},
        "archived": {"type": "boolean"},
        "type": {"enum": ["PERSON", "QUEUE"]},
        "createdAt": {"type": "string"},
        "updatedAt": {"type": "string"},
    },
}
OWNERS_RESPONSE = {  # CollectionResponsePublicOwnerForwardPaging
    "type": "object",
    "required": ["results"],
    "properties": {"results": {"type": "array", "items": OWNER}, "paging": PAGING},
}
OWNERS_QUERY = {"after", "archived", "email", "limit"}
ERROR = {  # Error (every `default` answer)
    "type": "object",
    "required": ["category", "correlationId", "message"],
    "properties": {
        "category": {"type": "string"},
        "correlationId": {"type": "string"},
        "message": {"type": "string"},
    },
}

OPERATIONS = [  # (method, path pattern, request body schema, 2xx answer schema)
    ("GET", rf"^/crm/owners/{VERSION}$", None, OWNERS_RESPONSE),
    ("POST", rf"^/crm/objects/{VERSION}/(companies|contacts)/search$", SEARCH_REQUEST, SEARCH_RESPONSE),
    (
        "POST",
        rf"^/crm/objects/{VERSION}/(companies|contacts)/batch/update$",
        BATCH_UPDATE_REQUEST,
        BATCH_RESPONSE,
    ),
]


def check_exchange(request: Any, response: Any) -> None:
    """One request relevo sent and the answer it got, against the contract above (AssertionError if not)."""
    url = urlsplit(request.url)
    assert url.scheme == "https" and url.netloc == "api.hubapi.com", request.url
    assert request.headers.get("Authorization", "").startswith("Bearer "), (
        "HubSpot calls carry a Bearer token"
    )
    matching = [op for op in OPERATIONS if op[0] == request.method and re.match(op[1], url.path)]
    assert matching, f"{request.method} {url.path} is not an operation of HubSpot's {VERSION} CRM API"
    _, _, body_schema, answer_schema = matching[0]
    if request.method == "GET":
        assert set(parse_qs(url.query)) <= OWNERS_QUERY, f"unknown query parameter in {url.query}"
        limit = int(parse_qs(url.query).get("limit", ["100"])[0])
        assert limit <= 500, "owners are listed at most 500 a page"
    if body_schema is not None:
        jsonschema.Draft202012Validator(body_schema).validate(json.loads(request.body))
    if response is None:
        return
    answer = json.loads(response.content or b"null")
    status = response.status_code
    jsonschema.Draft202012Validator(answer_schema if 200 <= status < 300 else ERROR).validate(answer)
