"""A presence that could not be read leaves a "check by hand" task; a later run that reads it closes the
task once the leaver holds no role there (removed now, or already gone), in a single run and in a layoff."""

from __future__ import annotations

from pathlib import Path

import pytest

from relevo.config.registry import load_registry
from relevo.storage.ledger import Ledger
from tests.reliability.conftest import simulated
from tests.sim.company import still_has_access
from tests.sim.seed import TIKTOK_BC

LIST = r"^/open_api/v1\.3/bc/member/get"


def summary_of(result):  # type: ignore[no-untyped-def]
    return result if isinstance(result, dict) else result.result()


def offboard(how: str, employee_ids: list[str], registry: Path) -> None:
    from relevo.layoff import offboard_batch
    from relevo.offboarding import offboard_employee

    if how == "batch":
        summary_of(offboard_batch(employee_ids, str(registry)))
    else:
        for employee_id in employee_ids:
            summary_of(offboard_employee(employee_id, str(registry)))


def open_checks(registry: Path, employee_id: str) -> list[str]:
    return [
        r["key"]
        for r in Ledger(load_registry(registry).database_url).open_actions(employee_id)
        if ":check:" in r["key"]
    ]


@pytest.mark.parametrize("how", ["single", "batch"])
@pytest.mark.parametrize("meanwhile", ["nothing", "removed by a person"])
def test_a_check_by_hand_task_is_closed_when_a_later_run_reads_the_presence(
    prefect_api_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, meanwhile: str
) -> None:
    with simulated(tmp_path, monkeypatch, leavers=2, stayers=3) as company:
        sim, world, registry = company.sim, company.world, company.registry
        ids = [p.id for p in world.leavers]
        tiktok = sim.vendors["tiktok"]
        tiktok.forbid("GET", LIST)  # the member list cannot be read: a task for a person per leaver
        offboard(how, ids, registry)
        for person in world.leavers:
            assert open_checks(registry, person.id) == [f"{person.id}:check:tiktok"]
            assert still_has_access(sim, world, person.id)["tiktok"]

        tiktok.forbidden.clear()
        if meanwhile == "removed by a person":
            for person in world.leavers:
                del tiktok.centers[TIKTOK_BC][person.ids["tiktok"]]
        offboard(how, ids, registry)
        ledger = Ledger(load_registry(registry).database_url)
        for person in world.leavers:
            assert not any(still_has_access(sim, world, person.id).values())
            assert open_checks(registry, person.id) == [], person.id
            closed = ledger.state(f"{person.id}:check:tiktok")
            assert closed is not None and closed.status == "done"
            assert closed.detail.startswith("closed: ") and "was read again" in closed.detail


def test_a_check_stays_open_while_the_leaver_still_holds_a_role(
    prefect_api_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The removal fails on the rerun (the credential may list but not remove): the task stays open."""
    with simulated(tmp_path, monkeypatch, leavers=1, stayers=3) as company:
        sim, world, registry = company.sim, company.world, company.registry
        (person,) = world.leavers
        tiktok = sim.vendors["tiktok"]
        tiktok.forbid("GET", LIST)
        offboard("single", [person.id], registry)
        tiktok.forbidden.clear()
        tiktok.forbid("POST", r"^/open_api/v1\.3/bc/member/delete")
        offboard("single", [person.id], registry)
        assert still_has_access(sim, world, person.id)["tiktok"]
        assert f"{person.id}:check:tiktok" in open_checks(registry, person.id)
