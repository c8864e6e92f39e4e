"""A dry run shows, action for action, what the real run then records (every leaver of examples/acme)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.paths import EXAMPLE

LEAVERS = [
    e["id"] for e in json.loads((EXAMPLE / "hr.json").read_text("utf-8"))["employees"] if e.get("termination")
]
# What a dry run's outcome becomes in the real run (from the command line: notices await `relevo approve`).
BECOMES = {
    "planned": {"done", "already_done", "awaiting_approval"},
    "manual": {"manual"},
    "scheduled": {"scheduled"},
    "not_touched": {"not_touched"},
}


def test_every_example_leaver_is_covered():
    assert LEAVERS == ["1001", "1002", "1003", "1004", "1012", "1014"]


def outcomes(employee_id: str, registry: Path, dry_run: bool) -> dict[str, str]:
    """Action key -> outcome of one run of the flow's function (no server: as the CLI runs it)."""
    from relevo.offboarding import offboard_employee

    state = offboard_employee.fn(
        employee_id, registry_path=str(registry), dry_run=dry_run, wait_for_approval=False
    )
    return {r["action_key"]: r["outcome"] for r in state.data["rows"] if r["action"] != "hr_note"}


@pytest.mark.parametrize("employee_id", LEAVERS)
def test_dry_run_and_real_run_agree(acme: Path, employee_id: str):
    planned = outcomes(employee_id, acme, dry_run=True)
    recorded = outcomes(employee_id, acme, dry_run=False)
    assert set(planned) == set(recorded)
    assert {k: o for k, o in recorded.items() if o not in BECOMES[planned[k]]} == {}
    if employee_id == "1001":  # every presence of the example is by hand: the dry run says so
        assert planned["1001:revoke:facebook-page:employee-1001"] == "manual"
        assert planned["1001:add_admin:youtube-channel:nuria.castells@acme-comunicacion.example"] == "manual"
