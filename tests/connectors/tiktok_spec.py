"""TikTok's own request definitions (tests/specs/tiktok/, MIT, from tiktok/tiktok-business-api-sdk) as a check.

Each BC Members file is an OpenAPI 3.0 document for one operation. `check_request` holds a
request relevo made to what the file declares: the path and method, only declared query
parameters (with integer ones integers and `filtering` a JSON object of declared keys and
enum values), the JSON body against the declared schema (required keys, types, enums, no
undeclared key), and the `Access-Token` header (the SDK's client sends it as a header).
`check_answer` holds a mocked or simulated answer to the documented envelope and to the
member fields the file's `response_rule` maps.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import yaml

SPECS = Path(__file__).resolve().parents[1] / "specs" / "tiktok"
OPERATIONS = {
    "/bc/member/get/": "bc_member_get.yml",
    "/bc/member/delete/": "bc_member_delete.yml",
    "/bc/member/invite/": "bc_member_invite.yml",
}
MEMBER_FIELDS = {"user_id", "user_name", "user_email", "user_role", "relation_status", "ext_user_role"}


@cache
def operation(path: str) -> tuple[str, dict[str, Any]]:
    """(method, operation object) of the file that defines `path`."""
    document = yaml.safe_load((SPECS / OPERATIONS[path]).read_text("utf-8"))
    ((method, op),) = document["paths"][path].items()
    return method.upper(), op


def schema_of(node: Any) -> Any:
    """The file's schema as JSON Schema: TikTok's `x-open-enum` key lists become `enum`, no undeclared keys."""
    if isinstance(node, list):
        return [schema_of(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: schema_of(v) for k, v in node.items() if not k.startswith("x-") and k != "nullable"}
    if "x-open-enum" in node:
        out["enum"] = [e["key"] for e in node["x-open-enum"]["enums"] if e.get("is_valid", True)]
    if out.get("type") == "object" and "properties" in out:
        out["additionalProperties"] = False
    return out


def spec_path(url: str) -> str:
    path = urlsplit(url).path
    return path[path.index("/bc/") :]


def check_request(request: Any) -> None:
    """Raise AssertionError (or jsonschema.ValidationError) where the request departs from TikTok's definition."""
    path = spec_path(request.url)
    assert path in OPERATIONS, f"{path}: no TikTok definition vendored"
    method, op = operation(path)
    assert request.method == method, f"{path}: {request.method}, TikTok defines {method}"
    assert request.headers.get("Access-Token"), f"{path}: no Access-Token header"
    declared = {
        p["name"]: p for p in op.get("parameters", []) if p["in"] == "query" and p["name"] != "Access-Token"
    }
    query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    assert "Access-Token" not in query and "access_token" not in query, (
        "the token travels in a header, never the URL"
    )
    unknown = set(query) - set(declared)
    assert not unknown, f"{path}: undeclared query parameters {sorted(unknown)}"
    for name, parameter in declared.items():
        if parameter.get("required"):
            assert name in query, f"{path}: required query parameter {name} missing"
        if name not in query:
            continue
        if "content" in parameter:
            value = json.loads(query[name])
            jsonschema.validate(value, schema_of(parameter["content"]["application/json"]["schema"]))
        elif parameter["schema"].get("type") == "integer":
            assert query[name].lstrip("-").isdigit(), f"{path}: {name}={query[name]!r} is not an integer"
    body_schema = (
        ((op.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get("schema")
    )
    if body_schema is not None:
        jsonschema.validate(json.loads(request.body or b"{}"), schema_of(body_schema))
    else:
        assert not request.body, f"{path}: a body where TikTok defines none"


def check_answer(path: str, body: Any) -> None:
    """The documented envelope {code, message, request_id, data}; member rows carry only mapped fields."""
    _, op = operation(path)
    envelope = schema_of(op["responses"]["200"]["content"]["application/json"]["schema"])
    envelope["properties"]["data"].pop("additionalProperties", None)  # `data` varies by operation
    envelope["properties"]["data"].pop("properties", None)
    for field in ("code", "message", "request_id"):  # nullable in the file
        envelope["properties"][field]["type"] = [envelope["properties"][field]["type"], "null"]
    jsonschema.validate(body, envelope)
    if path == "/bc/member/get/":
        data = body.get("data") or {}
        assert set(data) <= {"list", "page_info"}, f"unexpected data keys {sorted(data)}"
        for row in data.get("list") or []:
            assert set(row) <= MEMBER_FIELDS, (
                f"member row with unmapped fields {sorted(set(row) - MEMBER_FIELDS)}"
            )
