"""Approval of client notices through a real Prefect server: pause, resume with an answer, or time out.

The CRM is HubSpot behind `responses` (in-process, so the flow's calls reach the fake
while Prefect's own API traffic, over httpx, goes to the real loopback server).
"""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path

import responses

from relevo.config.registry import load_registry
from relevo.storage.ledger import Ledger
from tests.connectors.hubspot_fake import FakeHubSpot
from tests.support.approval import LEAVER, OTHER, SUCCESSOR, paused_run, seed, start, use_hubspot


def reason_of_1001(registry: Path) -> str:
    hr = json.loads((registry.parent / "hr.json").read_text("utf-8"))
    return next(e for e in hr["employees"] if e["id"] == "1001")["termination"]["reason"]


def everything_written(registry: Path) -> list[str]:
    """Every draft, note, audit line and the ledger file, as text."""
    out = registry.parent / "out"
    return [p.read_bytes().decode("utf-8", "replace") for p in out.rglob("*") if p.is_file()]


def test_pause_then_resume_places_approved_drafts_and_reassigns(prefect_api_url, acme, monkeypatch):
    from prefect import get_client
    from prefect.flow_runs import resume_flow_run

    use_hubspot(acme, 0.05, monkeypatch)
    with responses.RequestsMock() as mock:
        fake = FakeHubSpot(mock, {LEAVER: "41629001", SUCCESSOR: "41629005", OTHER: "41629006"})
        seed(fake)
        thread, out = start(acme)
        run = paused_run(acme, out)
        keyset = run.state.state_details.run_input_keyset
        with get_client(sync_client=True) as client:
            description = json.loads(client.read_flow_run_input(run.id, keyset["description"]))
        assert "rosa.beltran@miradoraltea" in description.replace("\\", "")
        assert "relevo approve 1001" in description
        assert not list((acme.parent / "out" / "drafts").rglob("*.eml"))  # nothing placed before the answer
        assert fake.updates == []

        resume_flow_run(
            run.id,
            run_input={
                "approve": True,
                "reject": ["j.oconnor@seaviewhotels.example"],
                "approved_by": "Javier Soler\nRoig",
                "successor_id": "",
            },
        )
        thread.join(90)
        assert not thread.is_alive() and "error" not in out

    placed = sorted(p.name for p in (acme.parent / "out" / "drafts").rglob("*.eml"))
    assert placed == [
        "notice_7001_rosa.beltran_miradoraltea.example.eml",
        "notice_7002_olivia.hartley_seaviewhotels.example.eml",
    ]
    assert [(objects, sorted(i["id"] for i in batch)) for objects, batch in fake.updates] == [
        ("companies", ["7001", "7002"]),
        ("contacts", ["8001", "8002"]),
    ]  # 8003 belongs to someone else
    assert {i["properties"]["hubspot_owner_id"] for _, b in fake.updates for i in b} == {"41629005"}
    registry = load_registry(acme)
    states = Ledger(registry.database_url).states("1001")
    assert states["1001:notice:7002:j.oconnor@seaviewhotels.example"].status == "rejected"
    assert states[f"1001:reassign_crm:{SUCCESSOR}"].status == "done"
    assert (
        "approved in the Prefect UI by Javier Soler Roig"
        in states["1001:notice:7001:rosa.beltran@miradoraltea.example"].detail
    )
    assert (
        "rejected in the Prefect UI by Javier Soler Roig"
        in states["1001:notice:7002:j.oconnor@seaviewhotels.example"].detail
    )

    reason = reason_of_1001(acme)
    assert all(reason not in text for text in everything_written(acme))
    assert reason not in description
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(limit=200)
    assert artifacts and all(reason not in json.dumps(a.data, ensure_ascii=False) for a in artifacts)


def test_changing_the_successor_renders_again_and_asks_again(prefect_api_url, acme, monkeypatch):
    from prefect import get_client
    from prefect.flow_runs import resume_flow_run

    use_hubspot(acme, 0.05, monkeypatch)
    with responses.RequestsMock() as mock:
        fake = FakeHubSpot(mock, {LEAVER: "41629001", SUCCESSOR: "41629005", OTHER: "41629006"})
        seed(fake)
        thread, out = start(acme)
        first = paused_run(acme, out)
        resume_flow_run(
            first.id,
            run_input={
                "approve": True,
                "reject": [],
                "successor_id": "1006",  # Pablo
                "approved_by": "Javier Soler",
            },
        )
        resumed = time.monotonic()
        deadline = time.monotonic() + 60
        while True:  # the same run pauses a second time, with drafts for Pablo
            second = paused_run(acme, out)
            if second.state.state_details.pause_key != first.state.state_details.pause_key:
                break
            assert time.monotonic() < deadline
            time.sleep(0.3)
        print(f"successor changed -> redrawn form paused again: {time.monotonic() - resumed:.2f} s")
        # The approver's name typed before the successor change comes back with the redrawn form.
        with get_client(sync_client=True) as client:
            redrawn = json.loads(
                client.read_flow_run_input(second.id, second.state.state_details.run_input_keyset["schema"])
            )
        assert redrawn["properties"]["approved_by"]["default"] == "Javier Soler"
        resume_flow_run(
            second.id,
            run_input={"approve": True, "reject": [], "successor_id": "", "approved_by": "Javier Soler"},
        )
        thread.join(90)
        assert not thread.is_alive() and "error" not in out
    texts = [p.read_text("utf-8") for p in (acme.parent / "out" / "drafts").rglob("*.eml")]
    assert len(texts) == 3 and all(OTHER in t and SUCCESSOR not in t for t in texts)
    assert {i["properties"]["hubspot_owner_id"] for _, b in fake.updates for i in b} == {"41629006"}


def test_no_answer_before_the_timeout_places_nothing_and_says_how_to_resume(
    prefect_api_url, acme, monkeypatch
):
    use_hubspot(acme, 0.001, monkeypatch)  # 3.6 s
    with responses.RequestsMock() as mock:
        fake = FakeHubSpot(mock, {LEAVER: "41629001", SUCCESSOR: "41629005"})
        seed(fake)
        thread, out = start(acme)
        thread.join(120)
        assert not thread.is_alive() and "error" not in out
    assert not [
        r
        for r in Ledger(load_registry(acme).database_url).audit("1001")
        if r["action"] == "draft_notice" and r["outcome"] == "done"
    ]
    assert fake.updates == []
    rows = Ledger(load_registry(acme).database_url).audit("1001")
    waiting = [r for r in rows if r["action"] in {"draft_notice", "reassign_crm"}]
    assert len(waiting) == 4 and {r["outcome"] for r in waiting} == {"awaiting_approval"}
    assert all(f"relevo approve 1001 --registry {acme}" in r["detail"] for r in waiting)
    # Prefect marks a run whose pause expired as Failed ("never resumed"); the ledger is what relevo resumes from.
    assert out["state"].is_final() and "never resumed" in (out["state"].message or "")
    assert (acme.parent / "out" / "hr-notes" / "1001.md").exists()  # the rest of the run still happened


def test_auto_approve_policy_places_and_reassigns_without_a_form(prefect_api_url, acme, monkeypatch):
    use_hubspot(acme, 0.001, monkeypatch)
    acme.write_text(acme.read_text().replace("auto_approve_notices: false", "auto_approve_notices: true"))
    with responses.RequestsMock() as mock:
        fake = FakeHubSpot(mock, {LEAVER: "41629001", SUCCESSOR: "41629005"})
        seed(fake)
        thread, out = start(acme)
        thread.join(120)
        assert not thread.is_alive() and "error" not in out
    assert len(list((acme.parent / "out" / "drafts").rglob("*.eml"))) == 3
    assert [objects for objects, _ in fake.updates] == ["companies", "contacts"]
    assert out["state"].is_completed()
    details = [
        r["detail"]
        for r in Ledger(load_registry(acme).database_url).audit("1001")
        if r["action"] == "draft_notice"
    ]
    assert len(details) == 3 and all(
        "placed" in d and "approved by policy.auto_approve_notices" in d for d in details
    )


def test_a_plain_flow_call_never_waits_for_a_form(prefect_api_url, acme, monkeypatch):
    """Not a deployment and not asked to wait (scripts, other tests): notices await `relevo approve`."""
    from relevo.offboarding import offboard_employee

    use_hubspot(acme, 72, monkeypatch)
    with responses.RequestsMock() as mock:
        fake = FakeHubSpot(mock, {LEAVER: "41629001", SUCCESSOR: "41629005"})
        seed(fake)
        started = time.monotonic()
        state = offboard_employee("1001", registry_path=str(acme), return_state=True)
    assert time.monotonic() - started < 60 and state.is_completed()
    assert fake.updates == []  # the CRM is not changed before approval
    assert (
        len(list((acme.parent / "out" / "drafts").rglob("*.eml"))) == 3
    )  # review copies (3 contacts) reach nobody
    statuses = {
        s.status
        for k, s in Ledger(load_registry(acme).database_url).states("1001").items()
        if ":notice:" in k or ":reassign_crm:" in k
    }
    assert statuses == {"awaiting_approval"}


def test_cli_approve_with_a_rejection_then_nothing_left(prefect_api_url, acme):
    from tests.support.cli import relevo

    first = relevo("offboard", "1001", "--registry", str(acme), api_url=prefect_api_url)
    assert first.returncode == 3 and f"relevo approve 1001 --registry {acme}" in first.stdout
    note = acme.parent / "out" / "hr-notes" / "1001.md"
    assert "- Pendiente de aprobación: aviso al cliente, " in note.read_text(
        "utf-8"
    )  # the company's language
    # A mistyped --reject matched nothing and every draft was placed, the one meant to be left out too.
    typo = relevo(
        "approve",
        "1001",
        "--registry",
        str(acme),
        "--reject",
        "josep@lobardor.example",
        "--by",
        "Elena Sanchis",
        api_url=prefect_api_url,
    )
    assert (
        typo.returncode == 2
        and "josep@lobardor.example" in typo.stderr
        and "nothing was approved" in typo.stderr
    )
    assert not [
        r
        for r in Ledger(load_registry(acme).database_url).audit("1001")
        if r["action"] == "draft_notice" and r["outcome"] == "done"
    ]
    approved = relevo(
        "approve",
        "1001",
        "--registry",
        str(acme),
        "--reject",
        "JOSEP@lobrador.example",
        "--by",
        "Elena Sanchis",
        api_url=prefect_api_url,
    )
    assert approved.returncode == 0, approved.stdout + approved.stderr
    placed = sorted(p.parent.name for p in (acme.parent / "out" / "drafts").rglob("*.eml"))
    assert placed == ["C001", "C001", "C002", "C004", "C005", "C005", "C006"]  # C003 (Josep) rejected
    handover = (acme.parent / "out" / "crm-reassignments.csv").read_text("utf-8")
    assert "C001" in handover and "C003" not in handover  # its only draft was rejected: owner unchanged
    rows = Ledger(load_registry(acme).database_url).audit("1001")
    assert any(r["outcome"] == "rejected" and "relevo approve by Elena Sanchis" in r["detail"] for r in rows)
    placed = [r for r in rows if r["action"] == "draft_notice" and r["outcome"] == "done"]
    assert placed and all(
        f"by Elena Sanchis (as given; OS user {getpass.getuser()})" in r["detail"] for r in placed
    )
    report = note.read_text("utf-8")  # the HR record now says what was decided
    assert "Pendiente de aprobación" not in report and "- Rechazado: aviso al cliente, " in report
    assert "- Hecho: reasignar clientes en el CRM, " in report
    again = relevo("approve", "1001", "--registry", str(acme), api_url=prefect_api_url)
    assert again.returncode == 0 and "Nothing awaits approval" in again.stdout
