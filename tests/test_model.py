"""relevo.model: the outcome vocabulary matches the audit log's schema, keys round-trip, errors share a root."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from relevo.connectors import errors
from relevo.connectors.drafts import EmlDrafts
from relevo.connectors.gmail_drafts import GmailDrafts
from relevo.connectors.graph_drafts import GraphDrafts
from relevo.connectors.protocols import DraftStore
from relevo.model import (
    CALL_OUTCOMES,
    FINISHED,
    NEEDS_PERSON,
    TASKS,
    ActionKey,
    ConfigurationError,
    Outcome,
    RelevoError,
    Status,
    action_key,
    revoke_key,
)


def schema_outcomes() -> list[str]:
    text = resources.files("relevo.schemas").joinpath("outcome.schema.json").read_text(encoding="utf-8")
    return list(json.loads(text)["properties"]["outcome"]["enum"])


def test_the_status_enum_is_the_schemas_outcome_vocabulary() -> None:
    assert [s.value for s in Status] == schema_outcomes()


def test_the_derived_sets_are_made_of_statuses() -> None:
    assert {"manual", "failed", "awaiting_approval"} == NEEDS_PERSON
    assert TASKS < NEEDS_PERSON and TASKS < CALL_OUTCOMES
    assert not FINISHED & NEEDS_PERSON


def test_an_outcome_takes_text_and_refuses_what_a_call_cannot_end_with() -> None:
    outcome = Outcome("manual", "by hand", steps=["a", "b"])
    assert outcome.status is Status.MANUAL and outcome.status == "manual"
    assert outcome.summary() == "by hand | steps: 1. a 2. b"
    with pytest.raises(ValueError, match="scheduled"):
        Outcome("scheduled", "not a call's outcome")
    with pytest.raises(ValueError):
        Outcome("dne", "misspelt")


def test_keys_are_built_and_parsed_in_one_place_with_colons_in_the_last_part() -> None:
    key = revoke_key("e1", "scim-main", "urn:member:7")
    assert key == "e1:revoke:scim-main:urn:member:7"
    assert ActionKey.parse(key) == ActionKey("e1", "revoke", "scim-main", "urn:member:7")
    assert ActionKey.parse(action_key("e1", "check", "successor")) == ActionKey(
        "e1", "check", "successor", ""
    )


def test_relevo_errors_share_one_root() -> None:
    assert issubclass(errors.ConnectorError, RelevoError)
    assert issubclass(ConfigurationError, RelevoError)
    assert not issubclass(ConfigurationError, errors.ConnectorError)


@pytest.mark.parametrize("store", [EmlDrafts, GmailDrafts, GraphDrafts])
def test_every_draft_store_can_discard(store: type) -> None:
    for name in ("place", "discard"):
        assert callable(getattr(store, name)), (
            f"{store.__name__} lacks {name} (relevo.connectors.protocols.DraftStore)"
        )
    assert set(DraftStore.__dict__) >= {"place", "discard"}


def test_settings_take_their_defaults_from_the_registry_schema_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from relevo.config.company import Policy, Storage, schema_defaults
    from relevo.config.registry import Registry

    assert schema_defaults("policy") == {
        "auto_approve_notices": False,
        "approval_timeout_hours": 72,
        "draft_notices": True,
        "write_hr_note": True,
    }
    assert Policy.from_data(None) == Policy(False, 72.0, True, True, None)
    assert Policy.from_data({"draft_notices": False}).draft_notices is False
    assert Storage.from_data({"output": "files"}) == Storage("files/relevo.db", "files", 30.0)
    company = {
        "name": "Acme",
        "timezone": "Europe/Madrid",
        "default_language": "es",
        "contact": {"name": "Team", "email": "team@acme.example", "phone": "+34 1"},
        "break_glass_admin": {"name": "IT", "email": "it@acme.example"},
    }
    registry = Registry(tmp_path / "relevo.yaml", {"company": company, "presences": []})
    assert registry.company.end_of_day == "23:59" and registry.company.contact_phone == "+34 1"
    assert registry.policy.approval_timeout_hours == 72.0 and registry.inbox_retention_days == 30.0
    assert registry.output_dir == (tmp_path / "out").resolve()
