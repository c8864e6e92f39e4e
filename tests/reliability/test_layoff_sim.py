"""A layoff against the vendor simulator: access first, then notices; CRM calls shared by the batch."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.reliability.conftest import simulated
from tests.sim.company import still_has_access

SOCIAL = {"meta", "hootsuite", "tiktok"}
LEAVERS = 6


@pytest.fixture
def layoff_company(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with simulated(tmp_path, monkeypatch, leavers=LEAVERS, stayers=3) as company:
        yield company.sim, company.world, company.registry


def test_layoff_drafts_only_after_access_is_gone_and_shares_crm_calls(prefect_api_url, layoff_company):
    from relevo.layoff import offboard_batch

    sim, world, registry = layoff_company
    admins = {
        m
        for members in sim.vendors["hootsuite"].orgs.values()
        for m, row in members.items()
        if "ORG_MANAGE_MEMBER" in row["permissions"]
    }
    summary = offboard_batch([p.id for p in world.leavers], str(registry))
    assert summary["problems"] == [] and "failed" not in summary["counts"]
    assert not any(any(still_has_access(sim, world, p.id).values()) for p in world.leavers)

    # Access first: each leaver's first draft starts after the last call that removed their access.
    for person in world.leavers:
        removals = [
            c.ended
            for c in sim.log()
            if c.vendor in SOCIAL
            and c.method in {"DELETE", "POST", "PATCH"}
            and any(m in c.path + json.dumps(c.query) + c.body.decode() for m in person.ids.values())
        ]
        drafts = [c.started for c in sim.log("graph", "POST") if f'"{person.id}:notice:' in c.body.decode()]
        assert removals and drafts
        assert min(drafts) >= max(removals), person.id
    # Hootsuite reads members one by one (2 calls each): a leaver who is not an admin is removed as soon as read,
    # an admin only once an admin who stays has been read (the presence keeps an admin).
    reads = [c for c in sim.log("hootsuite", "GET") if "/members/" in c.path]
    staying = {p.ids["hootsuite"] for p in world.stayers} & admins
    first_staying_admin = min(
        c.ended for c in reads if c.path.endswith("/permissions") and c.path.split("/")[-2] in staying
    )
    removals = {c.path.rsplit("/", 1)[1]: c for c in sim.log("hootsuite", "DELETE")}
    for person in world.leavers:
        member_id = person.ids["hootsuite"]
        removal = removals[member_id]
        if member_id in admins:
            assert removal.started >= first_staying_admin, person.id
        else:
            read_after = [c for c in reads if c.started >= removal.ended]
            own = [c for c in reads if member_id in c.path]
            assert read_after or own[-1] is reads[-1], person.id
    assert len(removals) == LEAVERS

    # Each draft placed with one call: a first attempt does not look for an earlier one.
    assert not sim.log("graph", "GET")

    # One CRM read and one hand-over for the whole batch, each leaver's companies to their successor.
    hubspot = sim.vendors["hubspot"]
    owned = {cid: owner for cid, owner in world.companies.items() if world.person(owner).leaver}
    successor = world.stayers[1]  # set_successors: everyone's successor
    assert {hubspot.objects["companies"][cid]["properties"]["hubspot_owner_id"] for cid in owned} == {
        successor.owner_id
    }
    assert len(sim.log("hubspot", "POST", r"/search$")) == 2  # companies, then contacts, for all six
    assert len(sim.log("hubspot", "POST", r"batch/update$")) == 2  # companies and contacts, all six together
    assert len(sim.log("hubspot", "GET", r"/owners")) == math.ceil((LEAVERS + 3) / 100)

    # A rerun changes nothing anywhere.
    def writes() -> int:  # searches and BambooHR's custom report are reads sent as POST
        return len(
            [
                c
                for c in sim.log()
                if c.method in {"DELETE", "POST", "PATCH"}
                and not c.path.endswith(("/search", "/reports/custom"))
            ]
        )

    before = writes()
    again = offboard_batch([p.id for p in world.leavers], str(registry))
    assert set(again["counts"]) <= {"already_done", "manual", "not_touched"}
    assert writes() == before  # not even a second HR note
