"""The sweep against the vendor simulator: roles and invitations re-added to leavers are removed again, who
re-added them is named where the vendor says, strangers are one task, a person hears of it through a block."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.conftest import simulated
from tests.sim.company import still_has_access
from tests.sim.seed import BUSINESS_ID, TIKTOK_BC
from tests.sim.sweeping import ADMIN_WHO_READDED, add_stranger, as_offboarded
from tests.support.alerts import Channel, save_block, with_alerts


@pytest.fixture
def swept_company(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with simulated(tmp_path, monkeypatch, leavers=2, stayers=3) as company:
        yield company


def test_roles_and_invitations_that_came_back_are_removed_and_said(
    prefect_api_url, swept_company, channel: Channel
) -> None:
    from relevo.config.registry import load_registry
    from relevo.storage.ledger import Ledger
    from relevo.sweep import sweep_access

    sim, world, registry = swept_company.sim, swept_company.world, swept_company.registry
    first, second = world.leavers
    as_offboarded(
        sim, world, registry, back={first.id: ("meta-business", "tiktok"), second.id: ("hootsuite",)}
    )
    add_stranger(sim, "old.freelancer@agency.example", "Old Freelancer")
    with_alerts(registry, save_block(channel.url))
    assert (
        sim.vendors["meta"].pending[BUSINESS_ID]
        and f"invite:{first.email}" in sim.vendors["tiktok"].centers[TIKTOK_BC]
    )

    swept = sweep_access(str(registry), days=30)

    assert swept["leavers"] == 2 and swept["came_back"] == 3
    again = {r["target"]: r for r in swept["rows"] if r["action"] == "revoke_role"}
    assert all(r["outcome"] == "done" for r in again.values()), again
    assert not sim.vendors["meta"].pending[BUSINESS_ID]  # the invitation to a leaver is withdrawn
    assert not any(any(still_has_access(sim, world, p.id).values()) for p in world.leavers)
    assert f"invite:{first.email}" not in sim.vendors["tiktok"].centers[TIKTOK_BC]
    # the audit says what was found, and who re-added it where the vendor's answer says
    found = {r["target"]: r["detail"] for r in swept["rows"] if r["action_key"].endswith(":found")}
    assert len(found) == 3 and all(d.startswith("access came back on ") for d in found.values())
    meta_found = next(d for t, d in found.items() if "Meta Business" in t)
    assert f"re-added by {ADMIN_WHO_READDED['name']}" in meta_found
    hoot_found = next(d for t, d in found.items() if "Hootsuite" in t)
    assert "re-added by" not in hoot_found  # Hootsuite's API does not say who added a member

    (stranger,) = [r for r in swept["rows"] if r["action_key"].startswith("sweep:unmatched:")]
    assert "old.freelancer@agency.example" in stranger["detail"] and "Hootsuite" in stranger["target"]
    assert not any(
        p.email in stranger["detail"] for p in world.people
    )  # stayers and leavers are not strangers

    texts = channel.texts()
    assert len(texts) == 3 and all(t.startswith("relevo: access came back | relevo: ") for t in texts)
    assert all("run: http" in t for t in texts)

    quiet = sweep_access(str(registry), days=30)  # the same day: nothing came back, the task is not repeated
    assert quiet["came_back"] == 0 and not [r for r in quiet["rows"] if r["action_key"].startswith("sweep:")]
    assert len(channel.texts()) == 3
    audit = Ledger(load_registry(registry).database_url).audit(first.id)
    assert (
        sum(
            1
            for r in audit
            if r["action"] == "revoke_role" and ":again:" in r["action_key"] and r["outcome"] == "done"
        )
        == 2
    )
