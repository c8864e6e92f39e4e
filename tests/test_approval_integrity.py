"""Issue 11, items 6 and 7: an approval places the version of the drafts that was shown, for data that
is still true, about a successor the HR system knows, and the audit says who approved.

The flows run in-process against the session's real Prefect server; the pause/resume form is
answered through that server's API as the UI does. HubSpot and Microsoft Graph are behind
`responses` (Prefect's own traffic goes over httpx to the real server).
"""

from __future__ import annotations

import email
import json
import sqlite3
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
import responses

from relevo import schemas
from relevo.config.registry import load_registry
from relevo.connectors.directory import DirectoryHR
from relevo.engine import approval
from relevo.storage.ledger import Ledger
from tests.connectors.hubspot_fake import FakeHubSpot
from tests.support.approval import (
    LEAVER,
    OTHER,
    SUCCESSOR,
    form_description,
    paused_run,
    seed,
    start,
    use_hubspot,
)
from tests.support.cli import relevo

NURIA = "nuria.castells@acme-comunicacion.example"  # 1005, active
PABLO = "pablo.ferrando@acme-comunicacion.example"  # 1006, active
JAVIER = "javier.soler@acme-comunicacion.example"  # 1010, manager of 1004: the interim contact
GRAPH = "https://graph.microsoft.com/v1.0"


def edit_hr(registry: Path, employee_id: str, **fields: Any) -> None:
    """Change an employee's row in the example's HR export (None removes the field)."""
    path = registry.parent / "hr.json"
    data = json.loads(path.read_text("utf-8"))
    row = next(e for e in data["employees"] if e["id"] == employee_id)
    for name, value in fields.items():
        if value is None:
            row.pop(name, None)
        else:
            row[name] = value
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")


def messages(registry: Path, employee_id: str) -> list[email.message.EmailMessage]:
    folder = registry.parent / "out" / "drafts" / employee_id
    return [email.message_from_bytes(p.read_bytes(), policy=default) for p in sorted(folder.rglob("*.eml"))]


def senders(registry: Path, employee_id: str) -> set[str]:
    return {m["From"].addresses[0].addr_spec for m in messages(registry, employee_id)}


def bodies(registry: Path, employee_id: str) -> list[str]:
    return [m.get_body(("plain",)).get_content() for m in messages(registry, employee_id)]


def statuses(registry: Path, employee_id: str) -> dict[str, str]:
    states = Ledger(load_registry(registry).database_url).states(employee_id)
    return {k: s.status for k, s in states.items() if ":notice:" in k or ":reassign_crm:" in k}


# --- item 6: drafts match the data they are approved on -------------------------------------------------


def test_rerun_after_a_successor_is_set_renders_the_review_copies_again_and_approve_places_them(
    prefect_api_url, acme
):
    from relevo.offboarding import approve_notices, offboard_employee

    offboard_employee("1004", registry_path=str(acme), wait_for_approval=False)
    assert senders(acme, "1004") == {JAVIER}  # no successor in HR: the manager, as interim contact
    edit_hr(acme, "1004", successor_id="1005")
    offboard_employee("1004", registry_path=str(acme), wait_for_approval=False)  # "as the task says"
    assert senders(acme, "1004") == {NURIA}  # the review copies now say what will be placed
    summary = approve_notices(
        "1004", registry_path=str(acme), approved_by="Elena Sanchis", actor="OS user test"
    )
    assert not summary.get("changed") and not summary.get("refused")
    assert senders(acme, "1004") == {NURIA} and len(messages(acme, "1004")) == 3
    assert all("Nuria Castells" in b and "Javier Soler" not in b for b in bodies(acme, "1004"))
    assert set(statuses(acme, "1004").values()) == {"done"}
    assert f"{NURIA}" in (acme.parent / "out" / "crm-reassignments.csv").read_text("utf-8")


def test_approve_without_a_rerun_shows_changed_drafts_again_then_places_the_current_version(
    prefect_api_url, acme
):
    from relevo.offboarding import approve_notices, offboard_employee

    offboard_employee("1004", registry_path=str(acme), wait_for_approval=False)
    edit_hr(acme, "1004", successor_id="1005")
    first = approve_notices(
        "1004", registry_path=str(acme), approved_by="Elena Sanchis", actor="OS user test"
    )
    assert first["changed"] == 4  # three drafts say something else, and the CRM hand-over to Nuria is new
    assert set(statuses(acme, "1004").values()) == {
        "awaiting_approval"
    }  # nothing placed, nothing handed over
    assert not (acme.parent / "out" / "crm-reassignments.csv").exists()
    assert senders(acme, "1004") == {NURIA}  # the copies to review are the new version
    second = approve_notices(
        "1004", registry_path=str(acme), approved_by="Elena Sanchis", actor="OS user test"
    )
    assert not second.get("changed")
    assert set(statuses(acme, "1004").values()) == {"done"} and senders(acme, "1004") == {NURIA}


def test_a_changed_recipient_supersedes_the_old_draft_and_its_review_copy(prefect_api_url, acme):
    from relevo.offboarding import approve_notices, offboard_employee

    offboard_employee("1004", registry_path=str(acme), wait_for_approval=False)
    path = acme.parent / "clients.json"
    path.write_text(
        path.read_text("utf-8").replace("rafa@mueblesalfafar.example", "compras@mueblesalfafar.example")
    )
    offboard_employee("1004", registry_path=str(acme), wait_for_approval=False)
    states = statuses(acme, "1004")
    assert states["1004:notice:C013:rafa@mueblesalfafar.example"] == "superseded"
    assert states["1004:notice:C013:compras@mueblesalfafar.example"] == "awaiting_approval"
    to = {m["To"].addresses[0].addr_spec for m in messages(acme, "1004")}
    assert "rafa@mueblesalfafar.example" not in to and "compras@mueblesalfafar.example" in to
    approve_notices("1004", registry_path=str(acme), approved_by="Elena Sanchis", actor="OS user test")
    assert statuses(acme, "1004")["1004:notice:C013:rafa@mueblesalfafar.example"] == "superseded"
    for row in Ledger(load_registry(acme).database_url).audit("1004"):
        schemas.check("outcome", row, "audit row")


def test_graph_drafts_are_posted_only_in_the_version_shown(prefect_api_url, acme, monkeypatch):
    """Microsoft 365: nothing is placed before approval; a version that changed since is listed again first."""
    from relevo.offboarding import approve_notices, offboard_employee

    acme.write_text(
        acme.read_text().replace(
            "drafts: {connector: eml, path: out/drafts}",
            "drafts: {connector: graph, token: {env: GRAPH_TOKEN}}",
        )
    )
    monkeypatch.setenv("GRAPH_TOKEN", "graph-canary-token")
    with responses.RequestsMock() as mock:
        create = mock.post(
            f"{GRAPH}/users/{NURIA}/messages", status=201, json={"id": "AAMkAGI2TG93AAA=", "isDraft": True}
        )
        offboard_employee("1004", registry_path=str(acme), wait_for_approval=False)
        edit_hr(acme, "1004", successor_id="1005")
        first = approve_notices(
            "1004", registry_path=str(acme), approved_by="Elena Sanchis", actor="OS user test"
        )
        assert first["changed"] == 4 and not create.calls  # RequestsMock refuses a POST to any other mailbox
        tasks = Ledger(load_registry(acme).database_url).open_actions("1004")
        assert all("Nuria Castells" in r["detail"] for r in tasks if r["action"] == "draft_notice")
        approve_notices("1004", registry_path=str(acme), approved_by="Elena Sanchis", actor="OS user test")
    assert len(create.calls) == 3
    assert all("Nuria Castells" in json.loads(c.request.body)["body"]["content"] for c in create.calls)
    assert set(statuses(acme, "1004").values()) == {"done"}


def test_relevo_approve_places_nothing_once_hr_shows_no_termination(prefect_api_url, acme):
    from relevo.offboarding import approve_notices, offboard_employee

    offboard_employee("1004", registry_path=str(acme), wait_for_approval=False)
    edit_hr(acme, "1004", termination=None)  # the termination was withdrawn in HR
    result = relevo("approve", "1004", "--registry", str(acme), api_url=prefect_api_url)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "no termination" in result.stderr
    summary = approve_notices(
        "1004", registry_path=str(acme), approved_by="x", actor="OS user test"
    )  # a race
    assert "no termination" in summary["refused"] and not summary.get("rows")
    assert set(statuses(acme, "1004").values()) == {"awaiting_approval"}
    assert not (acme.parent / "out" / "crm-reassignments.csv").exists()


def test_an_older_ledger_gains_the_fingerprint_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # relevo_actions as releases before the fingerprint made it
        conn.execute(
            "CREATE TABLE relevo_actions (key VARCHAR(400) PRIMARY KEY, employee_id VARCHAR(64) NOT NULL, "
            "action VARCHAR(40) NOT NULL, target VARCHAR(400) NOT NULL, status VARCHAR(40) NOT NULL, "
            "detail TEXT NOT NULL, pre_state TEXT, attempts INTEGER NOT NULL, updated_at VARCHAR(40) NOT NULL)"
        )
        conn.execute(
            "INSERT INTO relevo_actions VALUES ('1004:notice:C011:a@b.example', '1004', 'draft_notice', "
            "'t', 'awaiting_approval', 'd', NULL, 0, '2026-01-01')"
        )
    ledger = Ledger(f"sqlite:///{path}")
    state = ledger.state("1004:notice:C011:a@b.example")
    assert state is not None and state.status == "awaiting_approval" and state.fingerprint is None
    ledger.finish(
        key=state.key,
        employee_id="1004",
        action="draft_notice",
        target="t",
        outcome="awaiting_approval",
        detail="d",
        fingerprint="f" * 32,
    )
    assert ledger.state(state.key).fingerprint == "f" * 32


# --- item 7: approvals are made by someone, about someone real --------------------------------------------


def test_resolve_successor_accepts_only_an_active_employee_known_to_hr(acme):
    hr = DirectoryHR(acme.parent / "hr.json", "es")
    leaver = hr.employee("1004")
    assert approval.resolve_successor(hr, leaver, " 1005 ")["email"] == NURIA
    for wanted, problem in [
        ("9999", "no such employee"),
        ("1004", "is the employee who leaves"),
        ("1001", "not an active employee"),
        ("1002", "not an active employee"),
    ]:
        with pytest.raises(approval.SuccessorProblem, match=problem):
            approval.resolve_successor(hr, leaver, wanted)


def test_relevo_approve_successor_must_be_an_active_employee_and_is_audited(prefect_api_url, acme):
    """The command line refuses an unknown successor before anything runs; `approve_notices` is what it runs."""
    from relevo.offboarding import approve_notices, offboard_employee

    offboard_employee("1004", registry_path=str(acme), wait_for_approval=False)
    refused = relevo(
        "approve", "1004", "--registry", str(acme), "--successor", "9999", api_url=prefect_api_url
    )
    assert refused.returncode == 2 and "successor 9999: no such employee" in refused.stderr, refused.stderr
    assert refused.stderr.strip().count("\n") == 0 and "Traceback" not in refused.stderr
    inside = approve_notices(
        "1004",
        registry_path=str(acme),
        approved_by="Elena Sanchis",
        actor="OS user elena",
        successor_id="1001",
    )  # checked again when the flow runs: HR may change in between
    assert "successor 1001 is not an active employee" in inside["refused"] and inside["rows"] == []
    assert set(statuses(acme, "1004").values()) == {"awaiting_approval"}
    approve_notices(
        "1004",
        registry_path=str(acme),
        approved_by="Elena Sanchis",
        actor="OS user elena",
        successor_id="1006",
    )
    assert senders(acme, "1004") == {PABLO}
    assert "pablo.ferrando" in (acme.parent / "out" / "crm-reassignments.csv").read_text("utf-8")
    open_keys = {r["key"] for r in Ledger(load_registry(acme).database_url).open_actions("1004")}
    assert "1004:check:successor" not in open_keys  # naming the successor answers the "no successor" task
    rows = Ledger(load_registry(acme).database_url).audit("1004")
    change = [r for r in rows if r["action"] == "change_successor"]
    assert (
        len(change) == 1
        and "Pablo Ferrando" in change[0]["target"]
        and "Elena Sanchis" in change[0]["detail"]
    )
    placed = [r for r in rows if r["action"] == "draft_notice" and r["outcome"] == "done"]
    assert len(placed) == 3 and all(
        "by Elena Sanchis (as given; OS user elena)" in r["detail"] for r in placed
    )
    for row in rows:
        schemas.check("outcome", row, "audit row")


def next_pause(registry: Path, out: dict[str, Any], after: Any = None) -> tuple[Any, str]:
    """The run once it is paused (again, when `after` is the previous pause's key), and its form's description."""
    run = paused_run(registry, out, after=after)
    return run, form_description(run)


def answer(run: Any, **fields: Any) -> None:
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(
        run.id,
        run_input={
            "approve": True,
            "reject": [],
            "approved_by": "Test approver",
            "successor_id": "",
            **fields,
        },
    )


def hubspot(mock: responses.RequestsMock) -> FakeHubSpot:
    fake = FakeHubSpot(mock, {LEAVER: "41629001", SUCCESSOR: "41629005", OTHER: "41629006"})
    seed(fake)
    return fake


def test_form_answer_after_hr_changed_shows_the_new_drafts_before_placing_them(
    prefect_api_url, acme, monkeypatch
):
    use_hubspot(acme, 0.02, monkeypatch)  # 72 s to answer each form; the run polls every 7 s
    with responses.RequestsMock() as mock:
        fake = hubspot(mock)
        thread, out = start(acme)
        first, _ = next_pause(acme, out)
        edit_hr(acme, "1001", successor_id="1006")  # HR names Pablo while the form is open
        answer(first, approved_by="Javier Soler")
        second, description = next_pause(acme, out, after=first.state.state_details.pause_key)
        assert "drafts changed while this form was open" in description and fake.updates == []
        answer(second, approved_by="Javier Soler")
        thread.join(90)
        assert not thread.is_alive() and "error" not in out
    assert senders(acme, "1001") == {OTHER} and len(messages(acme, "1001")) == 3
    assert {i["properties"]["hubspot_owner_id"] for _, b in fake.updates for i in b} == {"41629006"}


def test_form_answer_after_the_termination_was_withdrawn_places_nothing(prefect_api_url, acme, monkeypatch):
    use_hubspot(acme, 0.02, monkeypatch)
    with responses.RequestsMock() as mock:
        fake = hubspot(mock)
        thread, out = start(acme)
        run, _ = next_pause(acme, out)
        edit_hr(acme, "1001", termination=None)
        answer(run, approved_by="Javier Soler")
        thread.join(90)
        assert not thread.is_alive() and "error" not in out
    assert messages(acme, "1001") == [] and fake.updates == []
    rows = [
        r
        for r in Ledger(load_registry(acme).database_url).audit("1001")
        if r["action"] in {"draft_notice", "reassign_crm"}
    ]
    assert (
        rows
        and {r["outcome"] for r in rows} == {"skipped"}
        and all("no termination" in r["detail"] for r in rows)
    )


def test_form_successor_must_be_an_active_employee_and_the_approver_is_recorded_as_typed(
    prefect_api_url, acme, monkeypatch
):
    use_hubspot(acme, 0.02, monkeypatch)
    with responses.RequestsMock() as mock:
        fake = hubspot(mock)
        thread, out = start(acme)
        first, _ = next_pause(acme, out)
        with pytest.raises(RuntimeError, match="Cannot resume"):  # a free e-mail is not a field of the form
            answer(first, approved_by="Elena Soler (CEO)", successor_email="attacker@evil.example")
        answer(first, approved_by="Elena Soler (CEO)", successor_id="9999")
        second, description = next_pause(acme, out, after=first.state.state_details.pause_key)
        assert "not applied" in description and "9999: no such employee" in description
        answer(second, approved_by="Elena Soler (CEO)", successor_id="1006")
        third, description = next_pause(acme, out, after=second.state.state_details.pause_key)
        assert "now introduce Pablo Ferrando" in description
        answer(third, approved_by="Elena Soler (CEO)")
        thread.join(90)
        assert not thread.is_alive() and "error" not in out
    assert senders(acme, "1001") == {OTHER}
    assert {i["properties"]["hubspot_owner_id"] for _, b in fake.updates for i in b} == {"41629006"}
    rows = Ledger(load_registry(acme).database_url).audit("1001")
    change = [r for r in rows if r["action"] == "change_successor"]
    assert len(change) == 1 and "(HR 1006)" in change[0]["target"] and "Nuria Castells" in change[0]["detail"]
    placed = [r for r in rows if r["action"] == "draft_notice" and r["outcome"] == "done"]
    assert len(placed) == 3
    assert all(
        "by Elena Soler (CEO) (name as typed in the form; Prefect identity: none recorded)" in r["detail"]
        for r in placed
    ), [r["detail"] for r in placed]
    assert not any("attacker" in json.dumps(r) for r in rows)
