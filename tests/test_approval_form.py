"""The approval form an operator answers in the Prefect UI: one checkbox per draft, approver required,
a header that says what the drafts are and whom they introduce."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from relevo import schemas
from relevo.config.registry import load_registry
from relevo.engine import approval
from relevo.rules import notices


def drafts_of(registry_path, employee_id):
    registry = load_registry(registry_path)
    employee = schemas.check("employee", registry.hr().employee(employee_id), "employee")
    clients = registry.crm().clients_of(employee.get("email"), employee["id"])
    return employee, notices.notice_actions(employee, registry, clients, datetime.now(UTC))


def test_one_checkbox_per_draft_and_the_approver_is_required(acme):
    employee, actions = drafts_of(acme, "1001")
    drafts = [a for a in actions if a.draft is not None]
    form = approval.form_model(actions)
    schema = form.model_json_schema()
    boxes = [name for name in schema["properties"] if name.startswith("draft_")]
    assert len(boxes) == len(drafts) == 8
    assert list(schema["properties"])[0] == "approved_by" and "approved_by" in schema["required"]
    first = schema["properties"]["draft_1"]
    assert first["type"] == "boolean" and first["default"] is True
    assert (
        first["title"]
        == f"1. {drafts[0].draft.to_name} <{drafts[0].draft.to_email}> · {drafts[0].draft.language}"
    )
    with pytest.raises(ValidationError):
        form(approved_by="")
    answer = approval.answer_of(form(approved_by="Javier", draft_2=False), actions)
    assert answer.reject == [drafts[1].key] and answer.approved_by == "Javier" and answer.approve
    kept, dropped = approval.decide(actions, answer.approve, answer.reject)
    assert [a.key for a in dropped] == [drafts[1].key]


def test_the_typed_name_comes_back_with_the_form(acme):
    _, actions = drafts_of(acme, "1001")
    again = approval.form_model(actions).with_initial_data(description="x", approved_by="Javier Soler")
    assert again.model_json_schema()["properties"]["approved_by"]["default"] == "Javier Soler"


def test_header_says_what_the_drafts_are_and_whom_they_introduce(acme):
    employee, actions = drafts_of(acme, "1001")
    header = approval.form_header(employee, actions, 72, "relevo approve 1001", "http://ui/artifacts/key/k")
    assert header.startswith("## Client notices for Laura")
    assert "[Read the full text of every draft](http://ui/artifacts/key/k)" in header.replace("\\", "")
    assert "no successor" not in header
    restricted, handovers = drafts_of(acme, "1012")  # may not contact clients: hand-over notes to the manager
    assert approval.form_header(restricted, handovers, 72, "x", "u").startswith("## Internal hand-over notes")
    orphan, interim = drafts_of(acme, "1004")  # HR names no successor: the manager is introduced
    manager = orphan["manager"]["name"]
    assert f"HR names no successor: the drafts introduce the manager, **{manager}**" in approval.form_header(
        orphan, interim, 72, "x", "u"
    ).replace("\\", "")


def test_full_text_has_every_draft(acme):
    employee, actions = drafts_of(acme, "1001")
    text = approval.full_text(employee, actions)
    for action in actions:
        if action.draft is not None:
            assert action.draft.text.splitlines()[0] in text


def test_the_approver_field_says_what_the_drafts_are_and_links_their_text(acme):
    orphan, interim = drafts_of(acme, "1004")
    intro = approval.form_intro(orphan, interim, "http://ui/artifacts/key/offboarding-1004-drafts")
    described = approval.form_model(interim, intro).model_json_schema()["properties"]["approved_by"][
        "description"
    ]
    assert "HR names no successor: the manager" in described.replace("\\", "")
    assert "(http://ui/artifacts/key/offboarding-1004-drafts)" in described
