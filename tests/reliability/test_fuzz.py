"""Fuzzing the boundaries: the registry loader, the webhook parsers and the receiver's HTTP API.

Documents come from our own JSON Schemas, from arbitrary JSON and from schemathesis over
the receiver's OpenAPI (extended here with the headers, query and
bodies the vendors send, which the FastAPI app reads raw and so does not declare).
What must hold: bad input ends in ConfigurationError / ValueError / a 4xx, never a
traceback or a 5xx, and no invalid request ever reaches the inbox (so never starts a run).
`-m slow` runs the same properties with a much larger budget.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relevo.config.registry import load_registry
from relevo.config.wiring import CRM_CONNECTORS, DRAFT_CONNECTORS, HR_CONNECTORS, SOCIAL_CONNECTORS
from relevo.model import ConfigurationError
from tests.support.canaries import FACTORIAL_CHALLENGE as CHALLENGE
from tests.support.canaries import WEBHOOK_KEY as KEY

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
FAST, SLOW = 30, 600
NO_CHECKS = dict(
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))


def from_schema(document: dict) -> st.SearchStrategy:
    """Values drawn from a JSON Schema, by schemathesis's generator.

    hypothesis-jsonschema 0.23.1 (its last release, 2024) fails on every object schema with the
    installed Hypothesis (`cu.many(...).more` no longer exists), so the schema is handed to
    schemathesis as the request body of a one-operation OpenAPI 3.1 document instead.
    """
    body = {k: v for k, v in document.items() if k not in ("$schema", "$id", "$defs")}
    rewrite = lambda value: json.loads(json.dumps(value).replace("#/$defs/", "#/components/schemas/"))  # noqa: E731
    import schemathesis

    api = schemathesis.openapi.from_dict(
        {
            "openapi": "3.1.0",
            "info": {"title": "document", "version": "1"},
            "paths": {
                "/document": {
                    "post": {
                        "requestBody": {
                            "required": True,
                            "content": {"application/json": {"schema": rewrite(body)}},
                        },
                        "responses": {"200": {"description": "ok"}},
                    }
                }
            },
            "components": {"schemas": rewrite(document.get("$defs", {}))},
        }
    )
    return api["/document"]["POST"].as_strategy().map(lambda case: case.body)


def env_secrets_only(doc):
    """Secret references as env names (a `block` reference would ask a Prefect server, not the code under test)."""
    if isinstance(doc, dict):
        if set(doc) == {"block"}:
            return {"env": "RELEVO_FUZZ_SECRET"}
        return {k: env_secrets_only(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [env_secrets_only(v) for v in doc]
    return doc


# --- the registry loader ---


def load_and_build(tmp: Path, text: str) -> None:
    """Load the registry and build every connector it names: only ConfigurationError may come out."""
    path = tmp / "relevo.yaml"
    path.write_text(text, "utf-8")
    try:
        registry = load_registry(path)
        for build in (registry.hr, registry.crm, registry.drafts):
            with contextlib.suppress(ConfigurationError):
                build()
        for presence in registry.presences:
            with contextlib.suppress(ConfigurationError):
                registry.social(presence)
    except ConfigurationError as exc:
        assert str(exc) and "Traceback" not in str(exc)


def registry_property(tmp_path: Path, examples: int):
    os.environ["RELEVO_FUZZ_SECRET"] = "fuzz-secret"

    @settings(max_examples=examples, **NO_CHECKS)
    @given(doc=from_schema(schema("registry")).map(env_secrets_only), data=st.data())
    def valid_by_schema(doc, data):
        # Mostly real connector names, so the builders see schema-valid but odd settings.
        for section, known in (("hr", HR_CONNECTORS), ("crm", CRM_CONNECTORS), ("drafts", DRAFT_CONNECTORS)):
            if data.draw(st.booleans()):
                doc[section]["connector"] = data.draw(st.sampled_from(sorted(known)))
        for presence in doc["presences"]:
            if data.draw(st.booleans()):
                presence["connector"] = data.draw(st.sampled_from(sorted(SOCIAL_CONNECTORS)))
        load_and_build(tmp_path, yaml.safe_dump(doc, allow_unicode=True))

    @settings(max_examples=examples, **NO_CHECKS)
    @given(
        doc=json_values
        | st.dictionaries(
            st.sampled_from(
                ["company", "hr", "crm", "drafts", "presences", "identities", "policy", "storage", "webhooks"]
            ),
            json_values,
            max_size=9,
        )
    )
    def anything(doc):
        load_and_build(tmp_path, yaml.safe_dump(doc, allow_unicode=True))

    @settings(max_examples=examples, **NO_CHECKS)
    @given(text=st.text(max_size=300))
    def any_text(text):
        load_and_build(tmp_path, text)

    valid_by_schema()
    anything()
    any_text()


def test_registry_loader_only_raises_configuration_error(tmp_path):
    registry_property(tmp_path, FAST)


@pytest.mark.slow
def test_registry_loader_only_raises_configuration_error_large_budget(tmp_path):
    registry_property(tmp_path, SLOW)


# --- the webhook payload parsers ---

BAMBOOHR_PAYLOAD = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "employees": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": ["string", "integer"]},
                            "action": {"type": "string"},
                            "changedFields": {
                                "type": "array",
                                "items": {
                                    "enum": [
                                        "Employment Status",
                                        "employmentHistoryStatus",
                                        "Termination Date",
                                        "terminationDate",
                                        "status",
                                        "First Name",
                                    ]
                                },
                            },
                            "fields": {
                                "type": "object",
                                "additionalProperties": {"type": ["string", "null"]},
                            },
                            "timestamp": {"type": "string"},
                        },
                    },
                }
            },
            "required": ["employees"],
        },
        {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "timestamp": {"type": "string"},
                "data": {
                    "type": "object",
                    "properties": {
                        "employeeId": {"type": ["string", "integer", "null"]},
                        "changedFields": {"type": ["array", "string"]},
                    },
                },
            },
            "required": ["type"],
        },
    ]
}
FACTORIAL_PAYLOAD = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "string", "null"]},
        "full_name": {"type": "string"},
        "email": {"type": "string"},
        "is_terminating": {"type": "boolean"},
        "terminated_on": {"type": ["string", "null"]},
        "termination_reason_type": {"type": ["string", "null"]},
        "active": {"type": "boolean"},
        "manager_id": {"type": ["integer", "null"]},
    },
}
SUBSCRIPTIONS = st.sampled_from(["employees/employee/terminate", "employees/employee/unterminate", None, "x"])


def parsers_property(examples: int) -> None:
    from relevo.connectors import bamboohr, factorial

    @settings(max_examples=examples, **NO_CHECKS)
    @given(payload=from_schema(BAMBOOHR_PAYLOAD) | json_values)
    def bamboo(payload):
        try:
            changes = bamboohr.parse_webhook(payload)
        except ValueError as exc:
            assert str(exc).startswith("BambooHR webhook")
            return
        for change in changes:  # what would reach the inbox must fit its schema
            assert change.kind in ("terminated", "rescinded", "status_changed") and change.employee_id

    @settings(max_examples=examples, **NO_CHECKS)
    @given(payload=from_schema(FACTORIAL_PAYLOAD) | json_values, subscription=SUBSCRIPTIONS)
    def factorial_payloads(payload, subscription):
        try:
            change = factorial.parse_webhook(payload, subscription)
        except ValueError as exc:
            assert str(exc)
            return
        assert change["kind"] in ("terminated", "rescinded") and change["employee_id"]

    bamboo()
    factorial_payloads()


def test_webhook_parsers_raise_only_value_error():
    parsers_property(FAST)


@pytest.mark.slow
def test_webhook_parsers_raise_only_value_error_large_budget():
    parsers_property(SLOW)


# --- the receiver over HTTP: schemathesis from its OpenAPI ---


def receiver_spec(app) -> dict:
    """The app's own OpenAPI plus what each vendor sends (the routes read headers and raw bodies)."""
    spec = app.openapi()  # built from the routes; the receiver does not serve it
    header = {"in": "header", "required": False, "schema": {"type": "string"}}
    bamboo = spec["paths"]["/webhooks/bamboohr"]["post"]
    bamboo["parameters"] = [
        {**header, "name": "X-BambooHR-Signature"},
        {
            **header,
            "name": "X-BambooHR-Timestamp",
            "schema": {"anyOf": [{"type": "string"}, {"type": "string", "pattern": "^[0-9]{10}$"}]},
        },
    ]
    bamboo["requestBody"] = {
        "required": False,
        "content": {
            "application/json": {"schema": BAMBOOHR_PAYLOAD},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
    factorial_op = spec["paths"]["/webhooks/factorial"]["post"]
    factorial_op["parameters"] = [
        {**header, "name": "x-factorial-wh-challenge"},
        {"in": "query", "name": "subscription", "required": False, "schema": {"type": "string"}},
    ]
    factorial_op["requestBody"] = {
        "required": False,
        "content": {
            "application/json": {"schema": FACTORIAL_PAYLOAD},
            "application/xml": {"schema": {"type": "string"}},
        },
    }
    for op in (bamboo, factorial_op):
        op["responses"].update(
            {str(s): {"description": "refused"} for s in (400, 401, 404, 413, 415, 422, 503)}
        )
    return spec


@pytest.fixture
def receiver(acme, monkeypatch):
    from relevo.receiver.dispatcher import Dispatcher
    from relevo.receiver.webhook import create_app
    from relevo.storage.inbox import Inbox

    monkeypatch.setenv("RELEVO_BAMBOOHR_WEBHOOK_KEY", KEY)
    monkeypatch.setenv("RELEVO_FACTORIAL_CHALLENGE", CHALLENGE)
    inbox = Inbox(load_registry(acme).database_url)
    launched: list = []
    dispatcher = Dispatcher(inbox, str(acme), launch=lambda event, path: launched.append(event) or "run")
    app = create_app(acme, dispatcher=dispatcher)
    return app, inbox, launched


def receiver_property(receiver, examples: int) -> None:
    import schemathesis

    app, inbox, launched = receiver
    api = schemathesis.openapi.from_dict(receiver_spec(app))
    api.app = app
    strategy = st.one_of(
        api["/webhooks/bamboohr"]["POST"].as_strategy(),
        api["/webhooks/factorial"]["POST"].as_strategy(),
        api["/healthz"]["GET"].as_strategy(),
    )
    statuses: set[int] = set()

    @settings(max_examples=examples, **NO_CHECKS)
    @given(case=strategy)
    def never_5xx(case):
        response = case.call()
        statuses.add(response.status_code)
        assert response.status_code < 500, (
            f"{case.method} {case.path}: {response.status_code} {response.text[:200]}"
        )
        if case.path != "/healthz":
            assert response.status_code in (400, 401, 404, 413, 415, 422), response.text[:200]
            assert "error" in response.json()
            assert KEY not in response.text and CHALLENGE not in response.text

    never_5xx()
    assert not inbox.events() and not launched, "an unsigned request reached the inbox"
    assert statuses & {400, 401, 415}  # the generated requests did reach the checks


def test_receiver_never_answers_5xx_nor_stores_invalid_requests(receiver):
    receiver_property(receiver, FAST)


@pytest.mark.slow
def test_receiver_never_answers_5xx_nor_stores_invalid_requests_large_budget(receiver):
    receiver_property(receiver, SLOW)


def signed_property(receiver, examples: int) -> None:
    """Correctly signed bodies of any shape: 202 (stored) or 400 (stored nothing), never a 5xx."""
    from fastapi.testclient import TestClient

    from relevo.receiver.verify import bamboohr_signature

    app, inbox, _ = receiver
    client = TestClient(app)

    @settings(max_examples=examples, **NO_CHECKS)
    @given(payload=from_schema(BAMBOOHR_PAYLOAD) | json_values)
    def signed(payload):
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()))
        before = len(inbox.events())
        response = client.post(
            "/webhooks/bamboohr",
            content=body,
            headers={
                "content-type": "application/json",
                "x-bamboohr-timestamp": stamp,
                "x-bamboohr-signature": bamboohr_signature(KEY, body, stamp),
            },
        )
        assert response.status_code in (202, 400), response.text[:300]
        stored = response.json().get("stored", []) if response.status_code == 202 else []
        assert len(inbox.events()) == before + len(stored)

    signed()


def test_signed_payloads_of_any_shape_are_stored_or_refused(receiver):
    signed_property(receiver, FAST)


@pytest.mark.slow
def test_signed_payloads_of_any_shape_large_budget(receiver):
    signed_property(receiver, SLOW)
