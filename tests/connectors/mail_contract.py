"""Requests to Gmail and Microsoft Graph, and the answers the mocks give, checked against the vendors' own specs.

Gmail: tests/specs/gmail-v1-discovery.json, users.drafts.create/list from Google's discovery document
(revision 20261005). Graph: tests/specs/msgraph-v1.0-messages.csdl.xml, the message types and the
user's `messages` navigation property from Microsoft Graph's v1.0 CSDL metadata
(microsoftgraph/msgraph-metadata). See tests/specs/README.md.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema

SPECS = Path(__file__).resolve().parents[1] / "specs"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


# --- Gmail: discovery document -> JSON Schema ---


@cache
def gmail_discovery() -> dict[str, Any]:
    return json.loads((SPECS / "gmail-v1-discovery.json").read_text("utf-8"))


def discovery_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A discovery schema as JSON Schema (no extra properties: a field Google does not define is an error)."""
    if "$ref" in schema:
        return {"$ref": f"#/$defs/{schema['$ref']}"}
    kind = schema.get("type")
    if kind == "object":
        out: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: discovery_schema(v) for k, v in schema.get("properties", {}).items()},
        }
        if "additionalProperties" in schema:
            out["additionalProperties"] = discovery_schema(schema["additionalProperties"])
        return out
    if kind == "array":
        return {"type": "array", "items": discovery_schema(schema["items"])}
    if kind == "string" and schema.get("format") == "byte":  # base64url, as Gmail's `raw`
        return {"type": "string", "pattern": r"^[A-Za-z0-9_\-]*=*$"}
    if kind == "string" and schema.get("format") in ("int64", "uint64"):
        return {"type": "string", "pattern": r"^[0-9]+$"}
    return {
        "type": {"string": "string", "integer": "integer", "boolean": "boolean", "number": "number"}[kind]
    }


def gmail_validator(name: str) -> jsonschema.Validator:
    doc = gmail_discovery()
    return jsonschema.Draft202012Validator(
        {
            "$ref": f"#/$defs/{name}",
            "$defs": {key: discovery_schema(value) for key, value in doc["schemas"].items()},
        }
    )


def check_gmail(request: Any, response: Any) -> None:
    url = urlsplit(request.url)
    assert url.netloc == "gmail.googleapis.com" and url.scheme == "https", request.url
    methods = gmail_discovery()["resources"]["users"]["resources"]["drafts"]["methods"]
    method = next(
        (
            m
            for m in methods.values()
            if m["httpMethod"] == request.method
            and re.fullmatch("/" + m["path"].replace("{userId}", "[^/]+"), url.path)
        ),
        None,
    )
    assert method, f"{request.method} {url.path} is not users.drafts.create or users.drafts.list"
    user = unquote(url.path.split("/")[4])
    assert user == "me" or re.fullmatch(r"[^@\s]+@[^@\s]+", user), (
        f"userId {user!r} is neither me nor an address"
    )
    for name, values in parse_qs(url.query).items():
        parameter = method["parameters"].get(name)
        assert parameter and parameter["location"] == "query", f"{method['id']} has no query parameter {name}"
        if parameter["type"] == "integer":
            assert all(v.isdigit() for v in values), f"{name} is not an integer"
    if "request" in method:
        gmail_validator(method["request"]["$ref"]).validate(json.loads(request.body))
    if response is not None and 200 <= response.status_code < 300:
        gmail_validator(method["response"]["$ref"]).validate(response.json())


# --- Microsoft Graph: CSDL -> type checks ---


@cache
def graph_types() -> dict[str, ET.Element]:
    root = ET.parse(SPECS / "msgraph-v1.0-messages.csdl.xml").getroot()
    return {
        el.get("Name"): el
        for el in root.iter()
        if el.tag in (f"{EDM}EntityType", f"{EDM}ComplexType", f"{EDM}EnumType")
    }


def graph_properties(type_name: str) -> dict[str, str]:
    """Property name -> type of an entity or complex type, base types included."""
    types = graph_types()
    el = types[type_name.split(".")[-1]]
    props = {
        p.get("Name"): p.get("Type") for p in el if p.tag in (f"{EDM}Property", f"{EDM}NavigationProperty")
    }
    base = el.get("BaseType")
    return {**graph_properties(base), **props} if base else props


def check_graph_value(value: Any, type_name: str, where: str) -> None:
    if type_name.startswith("Collection("):
        assert isinstance(value, list), f"{where} is not a collection"
        for index, item in enumerate(value):
            check_graph_value(item, type_name[11:-1], f"{where}[{index}]")
        return
    if value is None:
        return
    edm = {
        "Edm.String": str,
        "Edm.Boolean": bool,
        "Edm.Int32": int,
        "Edm.DateTimeOffset": str,
        "Edm.Binary": str,
    }
    if type_name in edm:
        assert isinstance(value, edm[type_name]), f"{where} is not {type_name}"
        return
    el = graph_types()[type_name.split(".")[-1]]
    if el.tag == f"{EDM}EnumType":
        members = {m.get("Name") for m in el}
        assert isinstance(value, str) and value.lower() in {m.lower() for m in members}, (
            f"{where}: {value!r} not in {members}"
        )
        return
    assert isinstance(value, dict), f"{where} is not a {type_name} object"
    props = graph_properties(type_name)
    for key, item in value.items():
        if key.startswith("@odata."):
            continue
        assert key in props, f"{where}.{key} is not a property of {type_name}"
        check_graph_value(item, props[key], f"{where}.{key}")


def check_graph(request: Any, response: Any) -> None:
    url = urlsplit(request.url)
    assert url.netloc == "graph.microsoft.com" and url.path.startswith("/v1.0/"), request.url
    match = re.fullmatch(r"/v1\.0/users/([^/]+)/messages", url.path)
    assert match, f"{url.path} is not /users/{{id|userPrincipalName}}/messages"
    assert graph_properties("user")["messages"] == "Collection(graph.message)"
    assert request.headers.get("Authorization", "").startswith("Bearer ")
    message = graph_properties("message")
    for name, values in parse_qs(url.query).items():
        assert name in ("$filter", "$select", "$top"), f"unexpected query option {name}"
        if name == "$select":
            assert all(f in message for f in values[0].split(",")), (
                f"$select names a field message lacks: {values[0]}"
            )
        if name == "$top":
            assert values[0].isdigit()
        if name == "$filter":
            for prop in re.findall(r"\b([A-Za-z]+)/any\(", values[0]):
                assert prop in message, f"$filter on {prop}, not a property of message"
    if request.method == "POST":
        check_graph_value(json.loads(request.body), "graph.message", "body")
    else:
        assert request.method == "GET", request.method
    if response is not None and 200 <= response.status_code < 300:
        body = response.json()
        if request.method == "POST":
            assert response.status_code == 201, "a created message answers 201"
            check_graph_value(body, "graph.message", "answer")
        else:
            check_graph_value(body.get("value"), "Collection(graph.message)", "answer.value")


def check(request: Any, response: Any) -> None:
    """Either vendor, by host."""
    host = urlsplit(request.url).netloc
    (check_gmail if host == "gmail.googleapis.com" else check_graph)(request, response)
