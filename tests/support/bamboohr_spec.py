"""BambooHR's official OpenAPI spec (tests/specs/bamboohr-public.yaml, MIT) and the request check built on it."""

from __future__ import annotations

import email.parser
import email.policy
import functools
import re
from pathlib import Path

import jsonschema
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.validation.request.validators import V31RequestParametersValidator

SPEC_FILE = (
    Path(__file__).resolve().parents[1] / "specs" / "bamboohr-public.yaml"
)  # BambooHR's official spec (MIT)


@functools.cache
def load_spec() -> OpenAPI:
    """The 700 KB spec, parsed once for the session (about 3 s; the `spec` fixture in tests/conftest.py)."""
    return OpenAPI.from_file_path(str(SPEC_FILE))


def spec_server_url(request: requests.PreparedRequest) -> None:
    """The request goes to the spec's own server (`https://{companyDomain}.bamboohr.com`, paths `/api/v1/...`)."""
    with open(SPEC_FILE, encoding="utf-8") as handle:
        head = handle.read(2000)
    assert "url: 'https://{companyDomain}.bamboohr.com'" in head, "the spec's server changed"
    assert re.match(r"^https://[A-Za-z0-9-]+\.bamboohr\.com/api/v1/", request.url), (
        f"not the spec's BambooHR server: {request.url}"
    )


def multipart_fields(request: requests.PreparedRequest) -> dict[str, str]:
    """A multipart body's parts by name (file parts decoded as text: relevo only uploads text)."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    return {
        part.get_param("name", header="content-disposition"): part.get_content()
        for part in message.iter_parts()
    }


def validate_against_spec(spec: OpenAPI, request: requests.PreparedRequest) -> None:
    """Method, path, parameters, security and body, as the spec defines them.

    Two gaps of openapi-core are closed here. Security: it accepts any request when an
    operation also lists an oauth2 alternative ("Unsupported scheme type"), so the operation
    must list `basic` and the request must carry HTTP Basic. Multipart: it does not cast form
    values (always text on the wire) to the schema's types and rejects bytes for
    `format: binary`, so the body is checked with jsonschema against the spec's own schema,
    each form value cast as that schema says.
    """
    spec_server_url(request)
    mapped_request = request
    mapped = RequestsOpenAPIRequest(mapped_request)
    # The path finder matches the URL without its query (with it, `reports/custom?format=json` reads as `reports/{id}`).
    url = mapped_request.url.split("?", 1)[0]
    operation = APICallPathFinder(spec.spec).find(request.method.lower(), url).operation
    with (operation / "security").open() as security:
        assert {"basic": []} in security, f"{request.method} {mapped.path} does not accept HTTP Basic"
    assert request.headers.get("Authorization", "").startswith("Basic "), "request without HTTP Basic auth"
    if not request.headers.get("Content-Type", "").startswith("multipart/form-data"):
        spec.validate_request(mapped)
        return
    V31RequestParametersValidator(spec.spec).validate(mapped)
    with (operation / "requestBody" / "content" / "multipart/form-data" / "schema").open() as schema:
        types = {name: prop.get("type") for name, prop in schema["properties"].items()}
        body = {
            name: int(value) if types.get(name) == "integer" and value.isdigit() else value
            for name, value in multipart_fields(request).items()
        }
        jsonschema.Draft202012Validator(schema).validate(body)
