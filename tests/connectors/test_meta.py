"""Meta connectors with `responses`, using Graph API's documented payloads, error bodies and usage headers."""

from __future__ import annotations

import json
import logging

import pytest
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from relevo.connectors.errors import AuthenticationError, PermissionDenied, RateLimited
from relevo.connectors.meta import (
    GRAPH,
    MetaBusinessConnector,
    MetaPageConnector,
    UsagePacer,
    graph_base_url,
    read_usage,
)
from relevo.model import Person, grant_from_pre_state
from relevo.rules.plan import plan_presences
from tests.support.canaries import TOKEN as CANARY
from tests.support.connectors import leaver, presence

PAGE_TOKEN = "page-token-EAAG-canary-do-not-log"  # what GET /{page-id}?fields=access_token answers
PAGE_ID, BUSINESS_ID = "104857600123", "556677889900"
PAGE = presence("meta_page", "facebook_page")
BUSINESS = presence("meta_business", "meta_business")
LAURA = "laura.martinez@acme-comunicacion.example"
ALL_TASKS = ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]


def graph_error(code: int, message: str, subcode: int | None = None) -> dict:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AxYz123"}
    if subcode:
        error["error_subcode"] = subcode
    return {"error": error}


def assigned_users(rows: list[dict], after: str | None = None) -> dict:
    paging = {"cursors": {"before": "QVFIUmJ", "after": after or "QVFIUzZ"}}
    if after:
        paging["next"] = f"{GRAPH}/{PAGE_ID}/assigned_users?after={after}"
    return {"data": rows, "paging": paging}


def business_users(rows: list[dict]) -> dict:
    return {"data": rows, "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}


def pending_users(rows: list[dict] | None = None) -> None:
    """`GET /{business-id}/pending_users`: Business Role Requests (SDK businessrolerequest.py fields)."""
    responses.get(
        f"{GRAPH}/{BUSINESS_ID}/pending_users",
        match=[matchers.query_param_matcher({"fields": "id,email,role,status,created_by", "limit": "100"})],
        json=business_users(rows or []),
    )


def page_token() -> None:
    """The Page access token derived from the system-user token (Pages API: GET /{page-id}?fields=access_token)."""
    responses.get(
        f"{GRAPH}/{PAGE_ID}",
        match=[
            matchers.query_param_matcher({"fields": "access_token"}),
            matchers.header_matcher({"Authorization": f"Bearer {CANARY}"}),
        ],
        json={"access_token": PAGE_TOKEN, "id": PAGE_ID},
    )


def page_connector(clock, pacer: UsagePacer | None = None) -> MetaPageConnector:
    pacer = pacer or UsagePacer(sleep=clock.sleep, clock=clock)
    return MetaPageConnector(GRAPH, CANARY, PAGE_ID, BUSINESS_ID, pacer=pacer, sleep=clock.sleep)


def business_connector(clock, pacer: UsagePacer | None = None) -> MetaBusinessConnector:
    pacer = pacer or UsagePacer(sleep=clock.sleep, clock=clock)
    return MetaBusinessConnector(GRAPH, CANARY, BUSINESS_ID, pacer=pacer, sleep=clock.sleep)


BUSINESS_ROWS = [
    {"id": "1001987", "name": "Laura Martínez Ferrer", "email": LAURA, "role": "ADMIN"},
    {
        "id": "1007987",
        "name": "Carmen Ruiz Serrano",
        "email": "carmen.ruiz@acme-comunicacion.example",
        "role": "ADMIN",
    },
    {
        "id": "1012987",
        "name": "Tomás Aguilar Peña",
        "email": "tomas.aguilar@acme-comunicacion.example",
        "role": "EMPLOYEE",
        "marked_for_removal": True,
    },
]


@responses.activate(assert_all_requests_are_fired=True)
def test_page_members_follow_cursors_and_read_tasks(clock) -> None:
    page_token()
    url = f"{GRAPH}/{PAGE_ID}/assigned_users"
    responses.get(
        url,
        match=[
            matchers.query_param_matcher(
                {"business": BUSINESS_ID, "fields": "id,name,tasks,user_type", "limit": "100"}
            ),
            matchers.header_matcher({"Authorization": f"Bearer {PAGE_TOKEN}"}),
        ],
        json=assigned_users(
            [{"id": "9001", "name": "Laura Martínez Ferrer", "tasks": ALL_TASKS}], after="QVFIUzZ"
        ),
    )
    responses.get(
        url,
        match=[
            matchers.query_param_matcher(
                {
                    "business": BUSINESS_ID,
                    "fields": "id,name,tasks,user_type",
                    "limit": "100",
                    "after": "QVFIUzZ",
                }
            )
        ],
        json=assigned_users(
            [{"id": "9002", "name": "Tomás Aguilar Peña", "tasks": ["CREATE_CONTENT", "MODERATE"]}]
        ),
    )
    grants = page_connector(clock).members(PAGE)
    assert [(g.member_id, g.is_admin) for g in grants] == [("9001", True), ("9002", False)]
    assert grants[1].pre_state["tasks"] == ["CREATE_CONTENT", "MODERATE"]
    assert len(responses.calls) == 3  # the Page token once, then both pages


@responses.activate(assert_all_requests_are_fired=True)
def test_page_edges_use_a_page_token_derived_once_per_run(clock) -> None:
    """Issue 12 row 5: `/{page}/assigned_users` needs a Page access token, not the system user's."""
    page_token()
    url = f"{GRAPH}/{PAGE_ID}/assigned_users"
    responses.get(
        url,
        match=[matchers.header_matcher({"Authorization": f"Bearer {PAGE_TOKEN}"})],
        json=assigned_users([{"id": "9002", "name": "Tomás", "tasks": ["MODERATE"]}]),
    )
    responses.delete(
        url,
        match=[matchers.header_matcher({"Authorization": f"Bearer {PAGE_TOKEN}"})],
        json={"success": True},
    )
    connector = page_connector(clock)
    grant = connector.members(PAGE)[0]
    connector.revoke(PAGE, grant)
    assert connector.holders(PAGE) == {"9002"}
    assert [c.request.url.split("?")[0].rsplit("/", 1)[-1] for c in responses.calls].count(
        PAGE_ID
    ) == 1  # cached


@responses.activate(assert_all_requests_are_fired=True)
def test_page_token_refused_names_the_missing_page_role(clock, caplog) -> None:
    responses.get(
        f"{GRAPH}/{PAGE_ID}", json={"id": PAGE_ID}
    )  # no access_token: the system user has no Page task
    with pytest.raises(PermissionDenied, match="MANAGE task and grant pages_manage_metadata"):
        page_connector(clock).members(PAGE)


@responses.activate(assert_all_requests_are_fired=True)
def test_page_token_never_appears_in_an_error(clock) -> None:
    page_token()
    responses.get(
        f"{GRAPH}/{PAGE_ID}/assigned_users",
        status=400,
        json=graph_error(100, f"Invalid parameter near {PAGE_TOKEN}"),
    )
    with pytest.raises(Exception) as raised:
        page_connector(clock).members(PAGE)
    assert PAGE_TOKEN not in str(raised.value) and CANARY not in str(raised.value)


@responses.activate(assert_all_requests_are_fired=True)
def test_page_revoke_and_restore_with_recorded_tasks(clock) -> None:
    """The SDK's `delete_assigned_users` takes `user` only and `create_assigned_user` {user, tasks}: no `business=`."""
    page_token()
    url = f"{GRAPH}/{PAGE_ID}/assigned_users"
    responses.get(
        url, json=assigned_users([{"id": "9002", "name": "Tomás", "tasks": ["CREATE_CONTENT", "MODERATE"]}])
    )
    responses.delete(url, match=[matchers.query_param_matcher({"user": "9002"})], json={"success": True})
    responses.post(
        url,
        match=[
            matchers.urlencoded_params_matcher({"user": "9002", "tasks": '["CREATE_CONTENT", "MODERATE"]'})
        ],
        json={"success": True},
    )
    connector = page_connector(clock)
    outcome = connector.revoke(PAGE, connector.members(PAGE)[0])
    assert outcome.status == "done"
    restored = connector.restore(PAGE, grant_from_pre_state(PAGE.id, outcome.pre_state), outcome.pre_state)
    assert restored.status == "done" and "CREATE_CONTENT" in restored.detail


@responses.activate(assert_all_requests_are_fired=True)
def test_page_user_already_removed_is_only_a_claim_to_confirm(clock) -> None:
    """100/33 and `success: false` say "already gone" with Meta's words; the flow's fresh read decides."""
    page_token()
    responses.delete(
        f"{GRAPH}/{PAGE_ID}/assigned_users",
        status=400,
        json=graph_error(100, "Object with ID '9002' does not exist", subcode=33),
    )
    responses.delete(f"{GRAPH}/{PAGE_ID}/assigned_users", json={"success": False})
    connector = page_connector(clock)
    grant = grant_from_pre_state(PAGE.id, {"member_id": "9002", "identity": "Tomás", "role": "MODERATE"})
    first, second = connector.revoke(PAGE, grant), connector.revoke(PAGE, grant)
    assert first.status == second.status == "already_done"
    assert "100/33" in first.detail and "success: false" in second.detail
    assert connector.client.calls == 3  # the Page token once, two deletes


@responses.activate(assert_all_requests_are_fired=True)
def test_business_members_revoke_and_already_absent(clock) -> None:
    responses.get(
        f"{GRAPH}/{BUSINESS_ID}/business_users",
        match=[
            matchers.query_param_matcher({"fields": "id,name,email,role,marked_for_removal", "limit": "100"})
        ],
        json=business_users(BUSINESS_ROWS),
    )
    pending_users()
    responses.delete(f"{GRAPH}/1001987", json={"success": True})
    responses.delete(
        f"{GRAPH}/1007987", status=400, json=graph_error(100, "Unsupported delete request.", subcode=33)
    )
    connector = business_connector(clock)
    grants = connector.members(BUSINESS)
    assert [(g.identity, g.is_admin) for g in grants] == [
        (LAURA, True),
        ("carmen.ruiz@acme-comunicacion.example", True),
    ]
    outcome = connector.revoke(BUSINESS, grants[0])
    assert (
        outcome.status == "done"
        and outcome.pre_state["role"] == "ADMIN"
        and outcome.pre_state["email"] == LAURA
    )
    assert connector.revoke(BUSINESS, grants[1]).status == "already_done"


@responses.activate(assert_all_requests_are_fired=True)
def test_business_add_admin_invites_as_admin_and_waits_for_acceptance(clock) -> None:
    responses.post(
        f"{GRAPH}/{BUSINESS_ID}/business_users",
        match=[
            matchers.urlencoded_params_matcher(
                {"email": "nuria.castells@acme-comunicacion.example", "role": "ADMIN"}
            )
        ],
        json={"id": "777"},
    )
    outcome = business_connector(clock).add_admin(
        BUSINESS, Person("Nuria Castells Vidal", "nuria.castells@acme-comunicacion.example")
    )
    assert outcome.status == "manual" and "accept" in " ".join(outcome.steps)
    assert len(responses.calls) == 1


def test_page_add_admin_is_manual(clock) -> None:
    outcome = page_connector(clock).add_admin(
        PAGE, Person("Nuria", "nuria.castells@acme-comunicacion.example")
    )
    assert outcome.status == "manual" and "MANAGE" in " ".join(outcome.steps)


@responses.activate(assert_all_requests_are_fired=True)
def test_throttle_code_with_regain_estimate_waits_then_succeeds(clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    buc = {
        BUSINESS_ID: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 12,
                "total_time": 30,
                "estimated_time_to_regain_access": 1,
            }
        ]
    }
    responses.delete(
        f"{GRAPH}/1001987",
        status=400,
        headers={"X-Business-Use-Case-Usage": json.dumps(buc)},
        json=graph_error(80001, "There have been too many calls to this Page account."),
    )
    responses.delete(f"{GRAPH}/1001987", json={"success": True})
    connector = business_connector(clock)
    grant = grant_from_pre_state(BUSINESS.id, {"member_id": "1001987", "identity": LAURA, "role": "ADMIN"})
    assert connector.revoke(BUSINESS, grant).status == "done"
    assert clock.sleeps == [60.0]  # Meta's estimate (1 minute), not a hammering backoff
    assert connector.client.throttled == 1
    assert CANARY not in caplog.text


@responses.activate(assert_all_requests_are_fired=True)
def test_throttle_without_estimate_stops_calling(clock) -> None:
    responses.delete(f"{GRAPH}/1001987", status=403, json=graph_error(4, "Application request limit reached"))
    connector = business_connector(clock)
    connector.pacer.max_wait = 60  # a pacer that waits at most a minute before a call
    grant = grant_from_pre_state(BUSINESS.id, {"member_id": "1001987", "identity": LAURA, "role": "ADMIN"})
    with pytest.raises(RateLimited, match="Application request limit reached") as info:
        connector.revoke(BUSINESS, grant)
    assert info.value.retry_after == 300 and len(responses.calls) == 1
    # the status Meta sent, the code beside it (this error used to say "HTTP 429")
    assert info.value.status == 403 and info.value.vendor_code == "4"
    assert "(Graph code 4: rate limit) (HTTP 403)" in str(info.value)
    with pytest.raises(RateLimited, match="paused"):  # the next call is refused before reaching Meta
        connector.revoke(BUSINESS, grant)
    assert len(responses.calls) == 1 and clock.sleeps == []


@responses.activate(registry=OrderedRegistry, assert_all_requests_are_fired=True)
def test_a_handed_back_throttle_is_waited_once_by_the_next_call(clock) -> None:
    """Meta's default 5-minute block is handed back by the call that earned it (a Prefect task retry follows);
    that retry's call waits the block out once (pacer and transport share it), then reaches Meta."""
    responses.delete(f"{GRAPH}/1001987", status=403, json=graph_error(4, "Application request limit reached"))
    responses.delete(f"{GRAPH}/1001987", json={"success": True})
    connector = business_connector(clock)
    grant = grant_from_pre_state(BUSINESS.id, {"member_id": "1001987", "identity": LAURA, "role": "ADMIN"})
    with pytest.raises(RateLimited) as info:
        connector.revoke(BUSINESS, grant)
    assert info.value.retry_after == 300 and not info.value.exhausted and clock.sleeps == []
    assert connector.revoke(BUSINESS, grant).status == "done"
    assert clock.sleeps == [300.0] and len(responses.calls) == 2


@responses.activate(assert_all_requests_are_fired=True)
def test_usage_near_the_limit_spaces_out_calls(clock) -> None:
    usage = {"X-App-Usage": json.dumps({"call_count": 95, "total_cputime": 20, "total_time": 40})}
    responses.get(
        f"{GRAPH}/{BUSINESS_ID}/business_users", json=business_users(BUSINESS_ROWS[:1]), headers=usage
    )
    responses.get(f"{GRAPH}/{BUSINESS_ID}/pending_users", json=business_users([]), headers=usage)
    responses.delete(f"{GRAPH}/1001987", json={"success": True})
    connector = business_connector(clock)
    grant = connector.members(BUSINESS)[0]
    assert clock.sleeps == [2.0]  # the invitations read waits its turn after the users read
    connector.revoke(BUSINESS, grant)
    assert clock.sleeps == [2.0, 2.0]


def test_read_usage_takes_the_highest_percent_and_longest_estimate() -> None:
    headers = {
        "X-App-Usage": '{"call_count": 28, "total_time": 25, "total_cputime": 25}',
        "X-Business-Use-Case-Usage": json.dumps(
            {
                "1": [
                    {
                        "type": "pages",
                        "call_count": 97,
                        "total_time": 5,
                        "total_cputime": 3,
                        "estimated_time_to_regain_access": 0,
                    }
                ],
                "2": [{"type": "ads_management", "call_count": 10, "estimated_time_to_regain_access": 4}],
            }
        ),
    }
    assert read_usage(headers) == (97.0, 4.0)
    assert read_usage({"X-App-Usage": "not json"}) == (0.0, 0.0)


@responses.activate(assert_all_requests_are_fired=True)
def test_expired_token_is_an_authentication_error_without_the_token(clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    responses.get(
        f"{GRAPH}/{BUSINESS_ID}/business_users",
        status=400,
        json=graph_error(
            190, "Error validating access token: Session has expired on Thursday, 26-Nov-26 10:00:00 PST."
        ),
    )
    with pytest.raises(AuthenticationError, match="Session has expired") as info:
        business_connector(clock).members(BUSINESS)
    assert len(responses.calls) == 1  # never retried
    assert CANARY not in str(info.value) and CANARY not in caplog.text


@responses.activate(assert_all_requests_are_fired=True)
def test_missing_permission_is_permission_denied(clock) -> None:
    responses.delete(
        f"{GRAPH}/1001987",
        status=400,
        json=graph_error(200, "(#200) Requires business_management permission to manage the object"),
    )
    grant = grant_from_pre_state(BUSINESS.id, {"member_id": "1001987", "identity": LAURA, "role": "ADMIN"})
    with pytest.raises(PermissionDenied, match=r"business_management .*Graph code 200"):
        business_connector(clock).revoke(BUSINESS, grant)
    assert len(responses.calls) == 1


@responses.activate(assert_all_requests_are_fired=True)
def test_never_orphan_with_meta_business(clock, registry_with) -> None:
    responses.get(
        f"{GRAPH}/{BUSINESS_ID}/business_users",
        json=business_users(
            [
                BUSINESS_ROWS[0],
                {
                    "id": "1012987",
                    "name": "Tomás",
                    "email": "tomas.aguilar@acme-comunicacion.example",
                    "role": "EMPLOYEE",
                },
            ]
        ),
    )
    pending_users(
        [
            {
                "id": "8801",
                "email": "nuria.castells@acme-comunicacion.example",
                "role": "ADMIN",
                "status": "PENDING",
            }
        ]
    )  # an invitation is not an admin who stays
    registry = registry_with(
        [
            {
                "id": "meta",
                "platform": "meta_business",
                "account": "Acme business",
                "owner": "company",
                "connector": "meta_business",
                "settings": {"business_id": BUSINESS_ID, "token": {"env": "RELEVO_TEST_TOKEN"}},
            }
        ]
    )
    members = {"meta": business_connector(clock).members(registry.presences[0])}
    actions = plan_presences(leaver(), registry, members)
    assert [a.action for a in actions] == ["add_admin", "revoke_role"]
    assert actions[1].after == actions[0].key
    assert registry.social(registry.presences[0]).__class__ is MetaBusinessConnector


@responses.activate(assert_all_requests_are_fired=True)
def test_identity_mapping_matches_page_users_without_email(clock, registry_with) -> None:
    page_token()
    responses.get(
        f"{GRAPH}/{PAGE_ID}/assigned_users",
        json=assigned_users(
            [
                {"id": "9001", "name": "Laura M.", "tasks": ALL_TASKS},
                {"id": "9007", "name": "Carmen", "tasks": ALL_TASKS},
            ]
        ),
    )
    registry = registry_with(
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
    actions = plan_presences(
        leaver(), registry, {"page": page_connector(clock).members(registry.presences[0])}
    )
    assert [(a.action, a.grant.member_id) for a in actions] == [("revoke_role", "9001")]  # Carmen stays admin


def test_near_the_limit_calls_go_at_the_rate_the_budget_comes_back(clock) -> None:
    """Usage moved 90 points by 540 of our calls: the budget is 600 a window, so near the limit calls are spaced
    window / 600 apart (the vendor's own pace), not stopped until Meta blocks the app for minutes."""
    pacer = UsagePacer(sleep=clock.sleep, clock=clock, window=60.0)
    for call in range(1, 541):
        pacer.observe({"X-App-Usage": json.dumps({"call_count": round(call / 6, 2), "total_time": 1})})
    pacer.wait()
    assert clock.sleeps == [pytest.approx(0.1, rel=0.02)]
    assert pacer.budget == pytest.approx(600, rel=0.02)


def test_a_burst_that_fills_our_share_waits_for_its_first_call_to_leave_the_window(clock) -> None:
    """600 calls a minute, 10 % used by others: after 524 calls (87 % of the budget, 3 % kept spare) in one
    burst, the next call waits until the burst's first call is a window old, rather than reach 100 % and be
    blocked for Meta's estimate; then calls go on at the budget's pace, though the burst's calls leave the
    window as fast as they came (another burst would clear leavers in lumps and make the notices wait)."""
    pacer = UsagePacer(sleep=clock.sleep, clock=clock, window=60.0, max_wait=120.0)
    pacer.observe({"X-App-Usage": json.dumps({"call_count": 10})})
    first = clock.now
    for call in range(2, 525):
        clock.now += 0.01
        pacer.observe({"X-App-Usage": json.dumps({"call_count": round(10 + (call - 1) / 6, 2)})})
    assert pacer.budget == pytest.approx(600, rel=0.02)
    clock.sleeps.clear()
    pacer.wait()
    assert clock.now == pytest.approx(first + 60.0)  # one call left the window: one slot
    clock.sleeps.clear()
    pacer.observe({"X-App-Usage": json.dumps({"call_count": 97})})
    pacer.wait()
    assert clock.sleeps == [
        pytest.approx(0.1, rel=0.02)
    ]  # near the limit: the budget's pace (0.01 s frees a slot)
    clock.sleeps.clear()
    pacer.observe({"X-App-Usage": json.dumps({"call_count": 80})})  # the burst's calls are leaving the window
    clock.now += 1.0
    pacer.wait()
    pacer.wait()
    assert clock.sleeps == [pytest.approx(0.1, rel=0.02)]  # still the budget's pace: no second burst


def test_the_budget_is_estimated_only_while_all_our_calls_are_surely_in_the_window(clock) -> None:
    """Once our first calls may have left Meta's window, the usage no longer counts all of them: an estimate
    then would grow with every call (the throttle this prevents came at 601 calls in a 600-call window)."""
    pacer = UsagePacer(sleep=clock.sleep, clock=clock, window=60.0)
    for call in range(1, 583):
        clock.now += 0.05
        pacer.observe({"X-App-Usage": json.dumps({"call_count": round(call / 6)})})
    estimate = pacer.budget
    clock.now += 20.0  # past half the window, not yet a whole one after our first call
    for _ in range(40):  # the burst's first calls leave the window as these come in: the usage stays at 97 %
        clock.now += 0.1
        pacer.observe({"X-App-Usage": json.dumps({"call_count": 97})})
    assert estimate == pytest.approx(600, rel=0.02) and pacer.budget == estimate


def test_after_a_quiet_window_others_usage_is_measured_again(clock) -> None:
    """A worker that lives on: the next batch's share comes from the usage others cause now, not at the first call."""
    pacer = UsagePacer(sleep=clock.sleep, clock=clock, window=60.0)
    for call in range(1, 71):
        pacer.observe({"X-App-Usage": json.dumps({"call_count": round(call / 6, 2)})})
    clock.now += 61.0
    pacer.wait()  # our calls have all left the window
    pacer.observe({"X-App-Usage": json.dumps({"call_count": 60})})  # others now use 60 %
    assert pacer._usage_before == 60
    for call in range(2, 225):  # our share now: 100 - 60 - 3 = 37 % of the budget, about 222 calls
        pacer.observe({"X-App-Usage": json.dumps({"call_count": round(60 + (call - 1) / 6, 2)})})
    clock.sleeps.clear()
    pacer.wait()
    assert clock.sleeps and clock.sleeps[0] > 50  # waits for the window, instead of pushing usage past 100 %


def test_usage_others_caused_does_not_shrink_the_estimated_budget(clock) -> None:
    pacer = UsagePacer(sleep=clock.sleep, clock=clock, window=3600.0)
    pacer.observe({"X-App-Usage": json.dumps({"call_count": 95})})  # 95 % before our first call
    pacer.wait()
    assert pacer.budget is None and clock.sleeps == [2.0]  # the cautious pause, not 3,600 s


@responses.activate(assert_all_requests_are_fired=True)
def test_a_leavers_pending_invitation_is_listed_and_withdrawn(clock, registry_with) -> None:
    """Issue 12 row 6: an open invitation (`/{business_id}/pending_users`) is revoked with the rest."""
    responses.get(f"{GRAPH}/{BUSINESS_ID}/business_users", json=business_users([BUSINESS_ROWS[1]]))
    pending_users(
        [
            {
                "id": "8802",
                "email": LAURA,
                "role": "EMPLOYEE",
                "status": "PENDING",
                "created_time": "2026-11-20T10:00:00+0000",
                "created_by": {"id": "1001555", "name": "Marta Soler\nAdmin"},
            }
        ]
    )
    responses.delete(f"{GRAPH}/8802", json={"success": True})
    connector = business_connector(clock)
    registry = registry_with(
        [
            {
                "id": "meta",
                "platform": "meta_business",
                "account": "Acme business",
                "owner": "company",
                "connector": "meta_business",
                "settings": {"business_id": BUSINESS_ID, "token": {"env": "RELEVO_TEST_TOKEN"}},
            }
        ]
    )
    actions = plan_presences(leaver(), registry, {"meta": connector.members(registry.presences[0])})
    assert [(a.action, a.grant.member_id) for a in actions] == [("revoke_role", "8802")]
    outcome = connector.revoke(BUSINESS, actions[0].grant)
    assert outcome.status == "done" and "invitation" in outcome.detail
    assert outcome.pre_state["kind"] == "invitation" and outcome.pre_state["invited_role"] == "EMPLOYEE"
    # who sent it, for the sweep's "re-added by" (control characters from the vendor dropped)
    assert actions[0].grant.pre_state["added_by"] == "Marta Soler Admin (Meta id 1001555)"


@responses.activate(registry=OrderedRegistry, assert_all_requests_are_fired=True)
def test_a_graph_400_rate_limit_is_retried_and_reported_with_the_real_status(clock, caplog) -> None:
    """Graph code 4 in a 400 is a throttle: waited out (Meta's estimate) and retried, then, still refused,
    reported as HTTP 400 with the code, never as the 429 it was once rewritten to."""
    caplog.set_level(logging.DEBUG)
    estimate = {
        "X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 10, "total_time": 10}),
        "X-Business-Use-Case-Usage": json.dumps(
            {BUSINESS_ID: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 1}]}
        ),
    }
    for _ in range(3):
        responses.delete(
            f"{GRAPH}/1001987",
            status=400,
            headers=estimate,
            json=graph_error(4, "(#4) Application request limit reached"),
        )
    connector = business_connector(clock)
    grant = grant_from_pre_state(BUSINESS.id, {"member_id": "1001987", "identity": LAURA, "role": "ADMIN"})
    with pytest.raises(RateLimited) as info:
        connector.revoke(BUSINESS, grant)
    assert len(responses.calls) == 3 and clock.sleeps == [60.0, 60.0]  # each wait is Meta's estimate, once
    assert info.value.status == 400 and info.value.vendor_code == "4" and info.value.exhausted
    assert str(info.value).endswith(
        "Application request limit reached (Graph code 4: rate limit) (HTTP 400) [request id AxYz123]"
    )
    assert "HTTP 429" not in str(info.value) + caplog.text


@pytest.mark.parametrize("code", [80000, 80004, 80014])
@responses.activate(assert_all_requests_are_fired=True)
def test_business_use_case_throttle_codes_are_throttles(clock, code) -> None:
    """Issue 12 row 6: every business-use-case code 80000-80014 is a throttle (429), not a refusal."""
    responses.delete(
        f"{GRAPH}/1001987",
        status=400,
        json=graph_error(code, "There have been too many calls from this ad-account."),
    )
    connector = business_connector(clock)
    connector.pacer.max_wait = 0  # a throttle is handed back as RateLimited instead of waited out
    grant = grant_from_pre_state(BUSINESS.id, {"member_id": "1001987", "identity": LAURA, "role": "ADMIN"})
    with pytest.raises(RateLimited):
        connector.revoke(BUSINESS, grant)


def test_graph_version_is_current_and_configurable() -> None:
    """Issue 12 row 4: the default version is one Meta still serves, with its end date in versions.py."""
    from datetime import date

    from relevo.connectors.versions import VERSIONS

    assert GRAPH == "https://graph.facebook.com/v25.0" and VERSIONS["meta"].end_of_support == date(
        2028, 7, 29
    )
    assert graph_base_url({}) == GRAPH
    assert graph_base_url({"graph_version": "v26.0"}) == "https://graph.facebook.com/v26.0"
    assert graph_base_url({"base_url": "http://127.0.0.1:9/v21.0"}) == "http://127.0.0.1:9/v21.0"
    assert (
        graph_base_url({"base_url": "http://127.0.0.1:9/v21.0", "graph_version": "v25.0"})
        == "http://127.0.0.1:9/v25.0"
    )
    assert graph_base_url({"base_url": "http://127.0.0.1:9/"}) == "http://127.0.0.1:9/v25.0"
