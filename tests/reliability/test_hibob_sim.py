"""HiBob as the HR platform of the simulated company: the same connector and flow code as production,
against the loopback simulator's Bob (people search, document folders) and the social vendors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from relevo.config.registry import load_registry
from relevo.connectors.errors import NotFound
from relevo.connectors.hibob import HiBob
from relevo.reconcile import reconcile_once
from tests.reliability.conftest import Company
from tests.sim import Simulator, all_vendors
from tests.sim.company import SECRETS, arm, set_successors, still_has_access, write
from tests.sim.seed import generate, populate


@pytest.fixture
def bob_company(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Company]:
    """Two leavers, three stayers; relevo.yaml names HiBob as the HR platform."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with Simulator(all_vendors()) as sim:
        arm(sim)
        world = populate(generate(n_leavers=2, n_stayers=3), sim.vendors)
        set_successors(sim, world)
        yield Company(sim, world, write(tmp_path / "company", sim, world, hr="hibob"))


def test_the_connector_reads_a_leaver_and_files_the_report(bob_company: Company, tmp_path: Path) -> None:
    sim, world = bob_company.sim, bob_company.world
    leaver = world.leavers[0]
    hr = HiBob(
        "SERVICE-SIM",
        SECRETS["SIM_HIBOB_TOKEN"],
        default_language="es",
        base_url=sim.url("hibob") + "/v1/",
        successor_field="custom.offboarding.successor",
        document_folder="77",
        sleep=lambda _s: None,
    )

    employee = hr.employee(leaver.id)

    assert employee["email"] == leaver.email and employee["status"] == "terminated"
    assert employee["termination"]["type"] == leaver.termination_type.lower()
    assert employee["manager"]["id"] == world.stayers[0].id
    assert employee["successor"]["id"] == world.stayers[1].id
    assert "HiBob document" in hr.write_note(leaver.id, "relevo offboarding report", "- done: x", tmp_path)
    assert sim.vendors["hibob"].documents[0]["content"].startswith(b"relevo offboarding report")
    with pytest.raises(NotFound):
        hr.employee("999999")
    wrong = HiBob("SERVICE-SIM", "not-the-token", default_language="es", base_url=sim.url("hibob") + "/v1/")
    with pytest.raises(Exception, match="401"):
        wrong.employee(leaver.id)


def test_reconciliation_finds_the_simulated_leavers(bob_company: Company) -> None:
    from datetime import datetime

    registry = load_registry(bob_company.registry)
    result = reconcile_once(registry, now=datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    assert sorted(k.split(":")[1] for k in result["stored"]) == sorted(
        p.id for p in bob_company.world.leavers
    )


def test_a_hibob_leaver_is_offboarded_end_to_end(prefect_api_url: str, bob_company: Company) -> None:
    from relevo.offboarding import offboard_employee

    sim, world = bob_company.sim, bob_company.world
    leaver = world.leavers[0]

    result = offboard_employee(leaver.id, str(bob_company.registry))
    summary = result if isinstance(result, dict) else result.result()

    assert not any(still_has_access(sim, world, leaver.id).values())
    [report] = [d for d in sim.vendors["hibob"].documents if d["employee_id"] == leaver.id]
    assert report["folder"] == "77" and leaver.name.encode() in report["content"]
    notes = [r for r in summary["rows"] if r["action"] == "hr_note"]
    assert notes and notes[-1]["outcome"] == "done"


def test_doctor_reads_bob_with_the_service_user_and_checks_the_webhook_secret(bob_company: Company) -> None:
    from datetime import date

    from relevo.cli.doctor import run

    findings, _ = run(load_registry(bob_company.registry), date(2026, 11, 27))

    hr = [f for f in findings if f.subject == "hr"]
    assert all(f.level == "ok" for f in hr) and "reads 5 employees" in hr[0].text, hr
    assert any("webhooks.hibob.secret" in f.text and f.level == "ok" for f in findings)
    assert any("HiBob Public API" in f.text for f in findings)
    assert SECRETS["SIM_HIBOB_TOKEN"] not in repr(findings)
