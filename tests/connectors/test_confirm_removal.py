"""Issue 11 item 5: a removal counts as done only when a fresh read of the vendor's members agrees.

Meta's error 100/33 ("does not exist, OR cannot be loaded due to missing permissions, OR does
not support this operation") and a Page DELETE answering `success: false` were recorded as
"already done" while the leaver kept the Page. These tests run the flow's own `execute` and the
layoff's per-presence task against Graph payloads (`responses`) and fakes with a live state.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses
from responses import matchers

from relevo.connectors.errors import ServerError
from relevo.connectors.meta import GRAPH
from relevo.engine.execute import Run, execute
from relevo.model import Grant, Outcome
from relevo.rules.plan import Action
from relevo.storage.ledger import Ledger
from tests.support.canaries import TOKEN as CANARY

PAGE_ID, BUSINESS_ID = "104857600123", "556677889900"
PAGE_TOKEN = "page-token-EAAG-canary-do-not-log"
LAURA = {"id": "1001", "name": "Laura Martínez Ferrer", "email": "laura.martinez@acme-comunicacion.example"}


def page_registry(registry_with):
    return registry_with(
        [
            {
                "id": "page",
                "platform": "facebook_page",
                "account": "Acme Page",
                "owner": "company",
                "connector": "meta_page",
                "settings": {
                    "page_id": PAGE_ID,
                    "business_id": BUSINESS_ID,
                    "token": {"env": "RELEVO_TEST_TOKEN"},
                },
            }
        ],
        identities=[{"employee": "1001", "presence": "page", "member": "9001"}],
    )


def graph_page(still_assigned: bool) -> None:
    """The Page token, and the live assigned_users list the confirmation reads."""
    responses.get(
        f"{GRAPH}/{PAGE_ID}",
        match=[
            matchers.query_param_matcher({"fields": "access_token"}),
            matchers.header_matcher({"Authorization": f"Bearer {CANARY}"}),
        ],
        json={"access_token": PAGE_TOKEN, "id": PAGE_ID},
    )
    rows = [{"id": "9007", "name": "Carmen Ruiz Serrano", "tasks": ["MANAGE"]}]
    if still_assigned:
        rows.append({"id": "9001", "name": "Laura Martínez Ferrer", "tasks": ["MANAGE", "CREATE_CONTENT"]})
    responses.get(
        f"{GRAPH}/{PAGE_ID}/assigned_users", json={"data": rows, "paging": {"cursors": {"after": "x"}}}
    )


def revoke_action(registry, member_id: str = "9001") -> Action:
    presence = registry.presences[0]
    grant = Grant(
        presence.id,
        member_id,
        "Laura Martínez Ferrer",
        "MANAGE, CREATE_CONTENT",
        True,
        display_name="Laura Martínez Ferrer",
        employee_id="1001",
    )
    return Action(
        key=f"1001:revoke:{presence.id}:{member_id}",
        action="revoke_role",
        target=presence.account,
        phase="revoke",
        description="",
        presence=presence,
        grant=grant,
    )


@pytest.mark.parametrize(
    "answer",
    [
        {
            "status": 400,
            "json": {
                "error": {
                    "message": "(#100) Object with ID '9001' does not exist, cannot be loaded due "
                    "to missing permissions, or does not support this operation",
                    "type": "GraphMethodException",
                    "code": 100,
                    "error_subcode": 33,
                    "fbtrace_id": "AxYz123",
                }
            },
        },
        {"status": 200, "json": {"success": False}},
    ],
    ids=["error-100-33", "success-false"],
)
@responses.activate(assert_all_requests_are_fired=True)
def test_an_already_gone_answer_with_the_leaver_still_listed_is_failed_with_the_missing_permission(
    registry_with, answer
) -> None:
    registry = page_registry(registry_with)
    graph_page(still_assigned=True)
    responses.delete(f"{GRAPH}/{PAGE_ID}/assigned_users", **answer)
    action = revoke_action(registry)
    row = execute(Run(registry, LAURA, None, direct=True), action)
    assert row["outcome"] == "failed"
    assert "still lists Laura Martínez Ferrer" in row["detail"] and "pages_manage_metadata" in row["detail"]
    assert Ledger(registry.database_url).state(action.key).status == "failed"  # a rerun tries again
    assert PAGE_TOKEN not in row["detail"] and CANARY not in row["detail"]


@responses.activate(assert_all_requests_are_fired=True)
def test_a_removal_the_fresh_read_confirms_is_done(registry_with) -> None:
    registry = page_registry(registry_with)
    graph_page(still_assigned=False)
    responses.delete(
        f"{GRAPH}/{PAGE_ID}/assigned_users",
        match=[matchers.query_param_matcher({"user": "9001"})],
        json={"success": True},
    )
    row = execute(Run(registry, LAURA, None, direct=True), revoke_action(registry))
    assert row["outcome"] == "done" and "confirmed by a fresh read" in row["detail"]
    assert [c.request.method for c in responses.calls].count("GET") == 2  # the Page token, one members read


class LiveVendor:
    """A vendor with a live member list: removes what it is asked to, except `stuck` ones (no permission)."""

    platform = "hootsuite"
    removal_needs = "the token's user needs ORG_MANAGE_MEMBER"

    def __init__(self, members: list[str], stuck: set[str] = frozenset(), unreadable: bool = False) -> None:
        self.live = set(members)
        self.stuck = set(stuck)
        self.unreadable = unreadable
        self.reads = 0

    def members(self, presence):
        return [
            Grant(presence.id, m, f"{m}@acme-comunicacion.example", "member", False)
            for m in sorted(self.live)
        ]

    def holders(self, presence):
        self.reads += 1
        if self.unreadable:
            raise ServerError(
                "hootsuite: GET v1/organizations/o/members: unavailable (HTTP 503)",
                vendor="hootsuite",
                status=503,
            )
        return set(self.live)

    def revoke(self, presence, grant):
        if grant.member_id not in self.stuck:
            self.live.discard(grant.member_id)
        return Outcome("done", f"removed {grant.identity}")

    def add_admin(self, presence, person):
        return Outcome("manual", "add an admin")


def batch(acme_registry, vendor: LiveVendor, count: int):
    from relevo.layoff import Cleared, revoke_on_presence

    registry = acme_registry
    presence = next(p for p in registry.presences if p.id == "hootsuite")
    registry._social[presence.id] = vendor
    employees = [
        {
            "id": str(2000 + i),
            "name": f"Leaver {i}",
            "email": f"m{i}@acme-comunicacion.example",
            "termination": {"type": "involuntary", "date": "2026-11-27"},
        }
        for i in range(count)
    ]
    runs = {e["id"]: Run(registry, e, None, direct=True) for e in employees}
    cleared: list[str] = []
    rows = revoke_on_presence.fn(
        presence, employees, runs, datetime.now(UTC), False, False, Cleared(list(runs), 1, cleared.append)
    )
    return rows, cleared


def test_a_layoff_confirms_its_leavers_on_a_presence_with_one_read(acme) -> None:
    from relevo.config.registry import load_registry

    vendor = LiveVendor([f"m{i}" for i in range(12)] + ["boss"], stuck={"m3"})
    vendor.members = lambda presence: [
        Grant(presence.id, m, f"{m}@acme-comunicacion.example", "member", m == "boss")
        for m in sorted(vendor.live)
    ]
    rows, cleared = batch(load_registry(acme), vendor, 12)
    revokes = {r["employee_id"]: r for r in rows if r["action"] == "revoke_role"}
    assert vendor.reads == 1  # one fresh read for the twelve removals
    assert revokes["2003"]["outcome"] == "failed" and "ORG_MANAGE_MEMBER" in revokes["2003"]["detail"]
    assert {k for k, r in revokes.items() if r["outcome"] == "done"} == {str(2000 + i) for i in range(12)} - {
        "2003"
    }
    assert sorted(cleared) == sorted(
        str(2000 + i) for i in range(12)
    )  # notices wait for the read, then go on


def test_an_unreadable_confirmation_is_failed_and_rerun_checks_again(acme) -> None:
    from relevo.config.registry import load_registry

    registry = load_registry(acme)
    vendor = LiveVendor(["m0", "boss"], unreadable=True)
    vendor.members = lambda presence: [
        Grant(presence.id, m, f"{m}@acme-comunicacion.example", "member", m == "boss")
        for m in sorted(vendor.live)
    ]
    rows, _ = batch(registry, vendor, 1)
    (row,) = [r for r in rows if r["action"] == "revoke_role"]
    assert (
        row["outcome"] == "failed"
        and "could not be read again" in row["detail"]
        and "HTTP 503" in row["detail"]
    )


def test_a_connector_that_cannot_read_its_members_again_never_records_done(acme) -> None:
    from relevo.config.registry import load_registry
    from relevo.engine.execute import confirm_removals

    class Blind:
        platform = "x"

    registry = load_registry(acme)
    presence = next(p for p in registry.presences if p.id == "hootsuite")
    registry._social[presence.id] = Blind()
    action = Action(
        key="1001:revoke:hootsuite:m1",
        action="revoke_role",
        target=presence.account,
        phase="revoke",
        description="",
        presence=presence,
        grant=Grant(presence.id, "m1", "a@b.example", "member", False),
    )
    (row,) = confirm_removals([(Run(registry, LAURA, None, direct=True), action, Outcome("done", "removed"))])
    assert row["outcome"] == "failed" and "cannot read its members again" in row["detail"]
