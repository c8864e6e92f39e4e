"""A layoff in one run: each presence listed once, leaving admins never orphan a presence."""

from __future__ import annotations

from collections import Counter
from datetime import UTC
from pathlib import Path

from relevo.config.registry import load_registry
from relevo.connectors.manual import ManualConnector
from relevo.model import Grant
from relevo.rules.plan import plan_presences, split_members
from relevo.storage.ledger import Ledger

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "acme" / "relevo.yaml"


def person(employee_id: str, email: str) -> dict:
    return {"id": employee_id, "name": f"Person {employee_id}", "email": email, "successor": None}


def test_two_sole_admins_leaving_together_each_get_an_admin_step_first():
    registry = load_registry(EXAMPLE)
    a, b = person("1", "a@acme.example"), person("2", "b@acme.example")
    listed = {
        "hootsuite": [
            Grant("hootsuite", "m1", "a@acme.example", "owner", True),
            Grant("hootsuite", "m2", "B@acme.example", "owner", True),
            Grant("hootsuite", "m3", "c@acme.example", "member", False),
        ]
    }
    views = split_members(listed, [a, b], registry)
    assert [g.member_id for g in views["1"]["hootsuite"]] == ["m1"]
    assert [g.member_id for g in views["2"]["hootsuite"]] == ["m2"]
    only = [p for p in registry.presences if p.id == "hootsuite"]
    registry.__dict__["presences"] = only
    for employee in (a, b):
        actions = plan_presences(employee, registry, views[employee["id"]])
        assert [x.action for x in actions][:2] == ["add_admin", "revoke_role"]
    # Counted per person instead, each would see the other as the remaining admin: the bug this prevents.
    assert [x.action for x in plan_presences(a, registry, listed)][:1] == ["revoke_role"]


def test_an_admin_who_stays_is_visible_to_every_leaver():
    registry = load_registry(EXAMPLE)
    a = person("1", "a@acme.example")
    listed = {
        "p": [
            Grant("p", "m1", "a@acme.example", "admin", True),
            Grant("p", "m9", "boss@acme.example", "admin", True),
        ],
        "broken": "p: GET /members: expired token (HTTP 401)",
    }
    views = split_members(listed, [a], registry)
    assert [g.member_id for g in views["1"]["p"]] == ["m1", "m9"]
    assert views["1"]["broken"] == listed["broken"]


def test_layoff_lists_each_presence_once_and_reruns_do_nothing_twice(prefect_api_url, acme, monkeypatch):
    from relevo.layoff import offboard_batch

    calls: Counter[str] = Counter()
    original = ManualConnector.members

    def counting(self, presence):
        calls[presence.id] += 1
        return original(self, presence)

    monkeypatch.setattr(ManualConnector, "members", counting)
    leavers = ["1001", "1002", "1012", "1003", "1004"]
    summary = offboard_batch(leavers + ["9999"], registry_path=str(acme))
    registry = load_registry(acme)
    assert calls == Counter({p.id: 1 for p in registry.presences})  # not once per leaver
    assert summary["employees"] == 5
    assert [p["employee_id"] for p in summary["problems"]] == ["9999"]
    ledger = Ledger(registry.database_url)
    first = ledger.audit()
    revoked = {(r["employee_id"], r["target"]) for r in first if r["action"] == "revoke_role"}
    assert ("1001", "Acme Comunicación TV (YouTube brand channel)") in revoked
    assert ("1012", "@acme_comunica (X)") in revoked
    assert {r["outcome"] for r in first if r["employee_id"] == "1002" and r["action"] == "revoke_role"} == {
        "scheduled"
    }
    drafts = sorted((acme.parent / "out" / "drafts").rglob("*.eml"))
    assert len(drafts) == 8 + 4 + 2 + 3  # 1001, 1002, 1012 (hand-over notes), 1004

    offboard_batch(leavers, registry_path=str(acme))
    again = ledger.audit()[len(first) :]
    assert {r["outcome"] for r in again if r["action"] == "draft_notice"} <= {
        "awaiting_approval",
        "already_done",
    }
    assert sorted((acme.parent / "out" / "drafts").rglob("*.eml")) == drafts
    assert not [r for r in again if r["outcome"] == "done"]  # not even a second HR note


def test_a_shared_login_is_rotated_once_per_batch_and_moment(prefect_api_url, acme):
    from relevo.layoff import offboard_batch

    offboard_batch(["1001", "1012", "1002"], registry_path=str(acme))
    rotations = [
        r
        for r in Ledger(load_registry(acme).database_url).audit()
        if r["action"] == "rotate_credentials" and r["target"] == "@acme_comunica (X)"
    ]
    now = [r for r in rotations if r["outcome"] == "manual"]
    assert len(now) == 1 and "2 leavers" in now[0]["detail"]  # 1001 and 1012, dismissed: one task now
    assert {r["employee_id"] for r in rotations if r["outcome"] == "scheduled"} <= {"1002"}  # her own moment


class Throttled:
    """A connector whose vendor answers with the given errors first, then removes the member."""

    removal_needs = "a permission"

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    def holders(self, presence):
        return set()  # the member is gone once removed: the flow's fresh read confirms it

    def revoke(self, presence, grant):
        from relevo.model import Outcome

        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return Outcome("done", f"removed {grant.identity}")


def revocation_in_a_batch(acme, connector: Throttled) -> dict:
    from relevo.engine.execute import Run, execute
    from relevo.rules.plan import Action

    registry = load_registry(acme)
    presence = registry.presences[0]
    registry._social[presence.id] = connector
    grant = Grant(presence.id, "m1", "laura@acme.example", "member", False)
    run = Run(registry, {"id": "1001", "name": "Laura"}, None, direct=True)  # as a layoff runs actions
    return execute(
        run,
        Action(
            key=f"1001:revoke:{presence.id}:m1",
            action="revoke_role",
            target=presence.account,
            phase="revoke",
            description="",
            presence=presence,
            grant=grant,
        ),
    )


def test_a_batch_waits_out_a_throttled_vendor_instead_of_failing(acme):
    from relevo.connectors.errors import RateLimited

    vendor = Throttled([RateLimited("paused: usage at 100%", vendor="meta", retry_after=0.01)] * 2)
    assert revocation_in_a_batch(acme, vendor)["outcome"] == "done" and vendor.calls == 3


def test_a_batch_does_not_retry_a_refusal(acme):
    from relevo.connectors.errors import PermissionDenied

    vendor = Throttled([PermissionDenied("missing permission", vendor="meta", status=403)])
    row = revocation_in_a_batch(acme, vendor)
    assert row["outcome"] == "failed" and "permission" in row["detail"] and vendor.calls == 1


class OneByOne:
    """A Hootsuite-like connector that reads members one at a time and breaks before `breaks_at`."""

    platform = "hootsuite"
    removal_needs = "the permission to manage members"

    def __init__(self, grants: list[Grant], breaks_at: int | None = None) -> None:
        self.grants, self.breaks_at = grants, breaks_at
        self.read: list[str] = []
        self.removed: dict[str, int] = {}  # member id -> members read when it was removed

    def each_member(self, presence):
        from relevo.connectors.errors import ServerError

        for index, grant in enumerate(self.grants):
            if index == self.breaks_at:
                raise ServerError(
                    "hootsuite: GET v1/members/m9: unavailable (HTTP 503)", vendor="hootsuite", status=503
                )
            self.read.append(grant.member_id)
            yield grant

    def members(self, presence):
        return list(self.each_member(presence))

    def holders(self, presence):
        """The vendor's live state: everyone not removed (one read)."""
        return {g.member_id for g in self.grants} - set(self.removed)

    def revoke(self, presence, grant):
        from relevo.model import Outcome

        self.removed[grant.member_id] = len(self.read)
        return Outcome("done", f"removed {grant.identity}")

    def add_admin(self, presence, person):
        from relevo.model import Outcome

        return Outcome("manual", f"make {person.name} an organization admin before removing the leaver")


def revoke_one_by_one(acme, connector: OneByOne, employees: list[dict]) -> tuple[list[dict], list[str]]:
    from datetime import datetime

    from relevo.engine.execute import Run
    from relevo.layoff import Cleared, revoke_on_presence

    registry = load_registry(acme)
    presence = next(p for p in registry.presences if p.id == "hootsuite")
    registry._social[presence.id] = connector
    runs = {e["id"]: Run(registry, e, None, direct=True) for e in employees}
    cleared_order: list[str] = []
    cleared = Cleared(list(runs), 1, lambda employee_id: cleared_order.append(employee_id))
    rows = revoke_on_presence.fn(presence, employees, runs, datetime.now(UTC), False, False, cleared)
    return rows, cleared_order


def dismissed(employee_id: str, email: str) -> dict:
    return {**person(employee_id, email), "termination": {"type": "involuntary", "date": "2026-11-27"}}


def test_a_leaver_read_early_is_removed_before_the_rest_is_read_an_admin_once_another_stays(acme):
    grants = [
        Grant("hootsuite", "m1", "a@acme.example", "member", False),
        Grant("hootsuite", "m2", "b@acme.example", "admin", True),
        Grant("hootsuite", "m3", "boss@acme.example", "admin", True),
        Grant("hootsuite", "m4", "c@acme.example", "member", False),
    ]
    resigning = {**person("3", "c@acme.example"), "termination": {"type": "voluntary", "date": "2099-12-31"}}
    vendor = OneByOne(grants)
    rows, cleared = revoke_one_by_one(
        acme, vendor, [dismissed("1", "a@acme.example"), dismissed("2", "b@acme.example"), resigning]
    )
    assert vendor.removed == {
        "m1": 1,
        "m2": 3,
    }  # the member at once; the admin once an admin who stays is read
    assert cleared == ["1", "2", "3"]
    by_person = {(r["employee_id"], r["action"]): r["outcome"] for r in rows}
    assert by_person == {
        ("1", "revoke_role"): "done",
        ("2", "revoke_role"): "done",
        ("3", "revoke_role"): "scheduled",
    }


def test_a_list_that_breaks_midway_keeps_the_early_removals_and_asks_a_person_for_the_rest(acme):
    grants = [
        Grant("hootsuite", "m1", "a@acme.example", "member", False),
        Grant("hootsuite", "m2", "b@acme.example", "member", False),
    ]
    vendor = OneByOne(grants, breaks_at=1)
    rows, cleared = revoke_one_by_one(
        acme, vendor, [dismissed("1", "a@acme.example"), dismissed("2", "b@acme.example")]
    )
    assert vendor.removed == {"m1": 1}
    assert sorted(cleared) == ["1", "2"]
    assert [(r["employee_id"], r["action"], r["outcome"]) for r in rows] == [
        ("1", "revoke_role", "done"),
        ("2", "manual_task", "manual"),
    ]
    assert "HTTP 503" in rows[1]["detail"]


def test_leaving_admins_with_no_admin_who_stays_wait_for_the_whole_list_and_an_admin_step(acme):
    grants = [
        Grant("hootsuite", "m1", "a@acme.example", "admin", True),
        Grant("hootsuite", "m2", "c@acme.example", "member", False),
        Grant("hootsuite", "m3", "b@acme.example", "admin", True),
    ]
    vendor = OneByOne(grants)
    rows, cleared = revoke_one_by_one(
        acme, vendor, [dismissed("1", "a@acme.example"), dismissed("2", "b@acme.example")]
    )
    assert (
        vendor.removed == {}
    )  # the manual connector's add-admin task comes first: nobody can be removed yet
    assert cleared == ["1", "2"]
    assert [(r["employee_id"], r["action"], r["outcome"]) for r in rows] == [
        ("1", "add_admin", "manual"),
        ("1", "revoke_role", "manual"),
        ("2", "add_admin", "manual"),
        ("2", "revoke_role", "manual"),
    ]


def test_one_approval_form_for_the_whole_layoff(prefect_api_url, acme):
    """A batch run started as a deployment pauses once with one form for every leaver's drafts (issue 13):
    an unticked draft is rejected, the others are placed, each leaver's approval recorded with the approver."""
    import json
    import threading
    import time

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.flow_runs import resume_flow_run

    from relevo.layoff import offboard_batch

    out: dict = {}

    def target() -> None:
        try:
            out["state"] = offboard_batch(
                "1001, 1002", registry_path=str(acme), wait_for_approval=True, return_state=True
            )
        except BaseException as exc:  # surfaced below
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline, paused = time.monotonic() + 120, None
    with get_client(sync_client=True) as client:
        while paused is None and time.monotonic() < deadline:
            assert "error" not in out, out.get("error")
            waiting = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                ),
                limit=200,
            )  # not the deployments' schedule
            paused = next((r for r in waiting if r.parameters.get("registry_path") == str(acme)), None)
            time.sleep(0.3)
        assert paused is not None, "the layoff never paused for approval"
        keyset = paused.state.state_details.run_input_keyset
        schema = json.loads(client.read_flow_run_input(paused.id, keyset["schema"]))
        description = json.loads(client.read_flow_run_input(paused.id, keyset["description"]))
    drafts = {
        name: field["title"] for name, field in schema["properties"].items() if name.startswith("draft_")
    }
    assert len(drafts) == 12 and "successor_id" not in schema["properties"]
    assert "approved_by" in schema["required"]
    assert any("Laura Martínez" in title for title in drafts.values())
    assert any("Diego Navarro" in title for title in drafts.values())
    assert "12 draft(s) for 2 leaver(s)" in description
    ledger = Ledger(load_registry(acme).database_url)
    assert {s.status for i in ("1001", "1002") for k, s in ledger.states(i).items() if ":notice:" in k} == {
        "awaiting_approval"
    }

    resume_flow_run(paused.id, run_input={"approved_by": "Ana Ruiz", "draft_1": False})
    thread.join(120)
    assert not thread.is_alive() and "error" not in out, out.get("error")
    notices = {k: s for i in ("1001", "1002") for k, s in ledger.states(i).items() if ":notice:" in k}
    rejected = [k for k, s in notices.items() if s.status == "rejected"]
    assert len(rejected) == 1 and rejected[0].startswith("1001:")
    assert all(s.status == "done" for k, s in notices.items() if k not in rejected)
    assert all("the layoff's approval form by Ana Ruiz" in s.detail for s in notices.values())
    summary = out["state"].result(raise_on_failure=False)
    assert summary["counts"].get("awaiting_approval", 0) == 0 and summary["counts"]["rejected"] == 1


def test_a_batch_of_hr_events_skips_who_has_not_left_and_schedules_resignations(
    prefect_api_url, acme, monkeypatch
):
    """Terminations the dispatcher gathered (issue 17 item 1): the list is the HR platform's, not a person's.
    Someone whose record shows no termination (a status change that was not one) is skipped and reported,
    the others are offboarded with their own event keys in the audit; a resignation's revocations get
    their `offboard-employee` run at the end of the last day, as a single offboarding schedules it.
    On the old code the whole batch was refused and no revocation was ever scheduled from a batch."""
    from types import SimpleNamespace

    import prefect.deployments

    from relevo import deployments
    from relevo.engine import revocation
    from relevo.layoff import offboard_batch

    scheduled: list[dict] = []

    def run_deployment(name, **kwargs):  # type: ignore[no-untyped-def]
        scheduled.append({"name": name, **kwargs})
        return SimpleNamespace(id=f"scheduled-{len(scheduled)}")

    monkeypatch.setattr(prefect.deployments, "run_deployment", run_deployment)
    monkeypatch.setattr(revocation, "deployment", SimpleNamespace(id="the-batch-deployment"))
    keys = {i: f"bamboohr:{i}:terminated:change-{i}" for i in ("1001", "1002", "1005")}
    summary = offboard_batch(
        ["1001", "1002", "1005"], registry_path=str(acme), event_keys=keys, wait_for_approval=False
    )
    assert summary["employees"] == 2 and summary["problems"] == []
    skipped = [p for p in summary["people"] if p["status"].startswith("not offboarded")]
    assert [p["employee_id"] for p in skipped] == ["1005"] and "has not left" in skipped[0]["problem"]
    assert summary["open"] == 0 or all(
        p["employee_id"] != "1005" for p in summary["people"] if p["for_a_person"]
    )
    ledger = Ledger(load_registry(acme).database_url)
    assert ledger.audit("1005") == []  # nothing written for someone who has not left
    for employee_id in ("1001", "1002"):
        assert {r["event_key"] for r in ledger.audit(employee_id)} == {keys[employee_id]}
    assert [s["name"] for s in scheduled] == [deployments.OFFBOARD_EMPLOYEE]  # 1002 resigned; 1001 dismissed
    assert scheduled[0]["parameters"]["employee_id"] == "1002"
    (row,) = [r for r in ledger.audit("1002") if r["action"] == "schedule_revocation"]
    assert row["outcome"] == "scheduled" and "scheduled-1" in row["detail"]
