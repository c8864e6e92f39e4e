"""TikTok Business Center connector with `responses`: HTTP 200 answers whose `code` carries the error.

Every request and every mocked answer is checked against TikTok's own definitions
(tests/specs/tiktok/, from tiktok/tiktok-business-api-sdk) by a response hook on the connector.
"""

from __future__ import annotations

import json
import logging

import pytest
import responses
from responses import matchers

from relevo.connectors.errors import AuthenticationError, InvalidRequest, PermissionDenied, RateLimited
from relevo.connectors.tiktok import TikTokConnector
from relevo.model import Person, grant_from_pre_state
from relevo.rules.plan import plan_presences
from tests.connectors.tiktok_spec import check_answer, check_request, spec_path
from tests.support.canaries import TOKEN as CANARY
from tests.support.connectors import leaver, presence

BASE = "https://business-api.tiktok.com/open_api/v1.3"
BC_ID = "7012345678901234567"
BC = presence("tiktok", "tiktok")
LAURA = "laura.martinez@acme-comunicacion.example"


def answer(data: dict | None = None, code: int = 0, message: str = "OK") -> dict:
    return {"code": code, "message": message, "request_id": "202611261510000102", "data": data or {}}


def member(user_id: str, email: str, role: str, status: str = "BOUND") -> dict:
    return {
        "user_id": user_id,
        "user_name": email.split("@")[0],
        "user_email": email,
        "user_role": role,
        "relation_status": status,
        "ext_user_role": {"finance_role": "ANALYST"},
    }


def page(rows: list[dict], number: int, total_pages: int) -> dict:
    return answer(
        {
            "list": rows,
            "page_info": {"page": number, "page_size": 50, "total_number": 3, "total_page": total_pages},
        }
    )


checked: list[str] = []


def against_spec(response, *args, **kwargs):
    """A response hook: the request and the answer as TikTok's definitions say."""
    check_request(response.request)
    check_answer(spec_path(response.request.url), response.json())
    checked.append(response.request.url)
    return response


def connector(clock) -> TikTokConnector:
    tiktok = TikTokConnector(BASE, CANARY, BC_ID, sleep=clock.sleep)
    tiktok.client.session.hooks["response"].insert(0, against_spec)
    return tiktok


LAURA_GRANT = {"member_id": "68001", "identity": LAURA, "role": "ADMIN", "is_admin": True}


@responses.activate(assert_all_requests_are_fired=True)
def test_members_page_through_and_skip_rejected_invitations(clock) -> None:
    url = f"{BASE}/bc/member/get/"
    responses.get(
        url,
        match=[
            matchers.query_param_matcher({"bc_id": BC_ID, "page": "1", "page_size": "50"}),
            matchers.header_matcher({"Access-Token": CANARY}),
        ],
        json=page(
            [
                member("68001", LAURA, "ADMIN"),
                member("68007", "carmen.ruiz@acme-comunicacion.example", "ADMIN"),
            ],
            1,
            2,
        ),
    )
    responses.get(
        url,
        match=[matchers.query_param_matcher({"bc_id": BC_ID, "page": "2", "page_size": "50"})],
        json=page(
            [
                member("68012", "tomas.aguilar@acme-comunicacion.example", "STANDARD", "PENDING"),
                member("68013", "old@acme-comunicacion.example", "ADMIN", "REJECTED"),
            ],
            2,
            2,
        ),
    )
    grants = connector(clock).members(BC)
    assert [(g.member_id, g.is_admin) for g in grants] == [("68001", True), ("68007", True), ("68012", False)]
    assert grants[2].pre_state["relation_status"] == "PENDING"
    assert len(checked) >= 2


@responses.activate(assert_all_requests_are_fired=True)
def test_revoke_deletes_the_member(clock) -> None:
    responses.post(
        f"{BASE}/bc/member/delete/",
        match=[matchers.json_params_matcher({"bc_id": BC_ID, "user_id": "68001"})],
        json=answer(),
    )
    outcome = connector(clock).revoke(BC, grant_from_pre_state(BC.id, LAURA_GRANT))
    assert outcome.status == "done" and outcome.pre_state["role"] == "ADMIN"


@responses.activate(assert_all_requests_are_fired=True)
def test_member_already_gone_is_already_done_after_checking_the_live_list(clock) -> None:
    responses.post(
        f"{BASE}/bc/member/delete/", json=answer(code=40002, message="user_id is not a member of the BC")
    )
    responses.get(
        f"{BASE}/bc/member/get/",
        match=[
            matchers.query_param_matcher(
                {"bc_id": BC_ID, "page": "1", "page_size": "50", "filtering": json.dumps({"keyword": LAURA})}
            )
        ],
        json=page([], 1, 1),
    )
    assert connector(clock).revoke(BC, grant_from_pre_state(BC.id, LAURA_GRANT)).status == "already_done"


@responses.activate(assert_all_requests_are_fired=True)
def test_a_refused_delete_of_a_listed_member_stays_an_error(clock) -> None:
    responses.post(f"{BASE}/bc/member/delete/", json=answer(code=40002, message="Cannot delete the BC owner"))
    responses.get(f"{BASE}/bc/member/get/", json=page([member("68001", LAURA, "ADMIN")], 1, 1))
    with pytest.raises(InvalidRequest, match=r"Cannot delete the BC owner \(TikTok code 40002\)"):
        connector(clock).revoke(BC, grant_from_pre_state(BC.id, LAURA_GRANT))


@responses.activate(registry=responses.registries.OrderedRegistry, assert_all_requests_are_fired=True)
def test_throttled_then_success(clock) -> None:
    url = f"{BASE}/bc/member/delete/"
    responses.post(
        url, json=answer(code=40100, message="Requests made too frequently. Please try again later.")
    )
    responses.post(url, json=answer())
    assert connector(clock).revoke(BC, grant_from_pre_state(BC.id, LAURA_GRANT)).status == "done"
    assert len(clock.sleeps) == 1 and len(responses.calls) == 2


@responses.activate(assert_all_requests_are_fired=True)
def test_a_rate_limit_code_in_a_200_is_retried_and_reported_with_the_real_status(clock) -> None:
    """TikTok's 40100 in an HTTP 200 is a throttle: retried, then reported as HTTP 200 with the code (the
    answer's status used to be rewritten to 429)."""
    responses.post(
        f"{BASE}/bc/member/delete/",
        json=answer(code=40100, message="Requests made too frequently. Please try again later."),
    )
    tiktok = connector(clock)
    with pytest.raises(RateLimited) as info:
        tiktok.revoke(BC, grant_from_pre_state(BC.id, LAURA_GRANT))
    assert len(responses.calls) == 3 and len(clock.sleeps) == 2 and info.value.exhausted
    assert info.value.status == 200 and info.value.vendor_code == "40100"
    assert "try again later. (TikTok code 40100: rate limit) (HTTP 200)" in str(info.value)


@responses.activate(assert_all_requests_are_fired=True)
def test_token_and_permission_codes_are_typed_and_not_retried(clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    responses.get(
        f"{BASE}/bc/member/get/",
        json=answer(code=40105, message="Access token is incorrect or has been revoked."),
    )
    responses.post(
        f"{BASE}/bc/member/delete/", json=answer(code=40001, message="No permission to operate BC members.")
    )
    tiktok = connector(clock)
    with pytest.raises(AuthenticationError, match="revoked") as refused:
        tiktok.members(BC)
    with pytest.raises(PermissionDenied, match="No permission") as denied:
        tiktok.revoke(BC, grant_from_pre_state(BC.id, LAURA_GRANT))
    assert len(responses.calls) == 2 and clock.sleeps == []
    assert CANARY not in str(refused.value) + str(denied.value) + caplog.text
    assert (refused.value.status, refused.value.vendor_code) == (200, "40105")  # the status TikTok sent
    assert (denied.value.status, denied.value.vendor_code) == (200, "40001")


@responses.activate(assert_all_requests_are_fired=True)
def test_add_admin_invites_the_successor_as_admin(clock) -> None:
    responses.post(
        f"{BASE}/bc/member/invite/",
        match=[
            matchers.json_params_matcher(
                {"bc_id": BC_ID, "emails": ["nuria.castells@acme-comunicacion.example"], "user_role": "ADMIN"}
            )
        ],
        json=answer(),
    )
    outcome = connector(clock).add_admin(
        BC, Person("Nuria Castells Vidal", "nuria.castells@acme-comunicacion.example")
    )
    assert outcome.status == "manual" and "accepts" in " ".join(outcome.steps)


@responses.activate(assert_all_requests_are_fired=True)
def test_restore_invites_with_the_recorded_role(clock) -> None:
    responses.post(
        f"{BASE}/bc/member/invite/",
        match=[matchers.json_params_matcher({"bc_id": BC_ID, "emails": [LAURA], "user_role": "ADMIN"})],
        json=answer(),
    )
    assert (
        connector(clock).restore(BC, grant_from_pre_state(BC.id, LAURA_GRANT), LAURA_GRANT).status == "done"
    )


@responses.activate(assert_all_requests_are_fired=True)
def test_never_orphan_with_tiktok(clock, registry_with) -> None:
    responses.get(
        f"{BASE}/bc/member/get/",
        json=page(
            [
                member("68001", LAURA, "ADMIN"),
                member("68009", "new.admin@acme-comunicacion.example", "ADMIN", "PENDING"),
            ],
            1,
            1,
        ),
    )
    registry = registry_with(
        [
            {
                "id": "tiktok",
                "platform": "tiktok",
                "account": "Acme BC",
                "owner": "company",
                "connector": "tiktok",
                "settings": {"bc_id": BC_ID, "token": {"env": "RELEVO_TEST_TOKEN"}},
            }
        ]
    )
    actions = plan_presences(leaver(), registry, {"tiktok": connector(clock).members(registry.presences[0])})
    # A pending admin invitation is not an admin yet: the successor is added first.
    assert [a.action for a in actions] == ["add_admin", "revoke_role"]


def invitation(email: str, role: str = "STANDARD") -> dict:
    """A pending invitation as BC Member Get may list it: no user_id until the person accepts."""
    return {"user_name": "", "user_email": email, "user_role": role, "relation_status": "PENDING"}


@responses.activate(assert_all_requests_are_fired=True)
def test_a_pending_invitation_without_user_id_is_listed_by_email_and_unbound_rows_hold_nothing(clock) -> None:
    """Issue 12 row 12: a row without user_id was a KeyError; UNBOUND rows were live grants."""
    responses.get(
        f"{BASE}/bc/member/get/",
        json=page(
            [
                member("68001", "carmen.ruiz@acme-comunicacion.example", "ADMIN"),
                invitation(LAURA, "ADMIN"),
                member("68013", "old@acme-comunicacion.example", "ADMIN", "UNBOUND"),
            ],
            1,
            1,
        ),
    )
    tiktok = connector(clock)
    grants = tiktok.members(BC)
    assert [(g.member_id, g.identity, g.is_admin) for g in grants] == [
        ("68001", "carmen.ruiz@acme-comunicacion.example", True),
        (f"email:{LAURA}", LAURA, False),
    ]
    assert tiktok.holders(BC) == {"68001", f"email:{LAURA}"}


@responses.activate(assert_all_requests_are_fired=True)
def test_a_pending_invitation_is_revoked_by_email(clock, registry_with) -> None:
    responses.get(
        f"{BASE}/bc/member/get/",
        json=page(
            [member("68007", "carmen.ruiz@acme-comunicacion.example", "ADMIN"), invitation(LAURA)], 1, 1
        ),
    )
    responses.post(
        f"{BASE}/bc/member/delete/",
        match=[matchers.json_params_matcher({"bc_id": BC_ID, "user_email": LAURA})],
        json=answer(),
    )
    registry = registry_with(
        [
            {
                "id": "tiktok",
                "platform": "tiktok",
                "account": "Acme BC",
                "owner": "company",
                "connector": "tiktok",
                "settings": {"bc_id": BC_ID, "token": {"env": "RELEVO_TEST_TOKEN"}},
            }
        ]
    )
    tiktok = connector(clock)
    actions = plan_presences(leaver(), registry, {"tiktok": tiktok.members(registry.presences[0])})
    assert [(a.action, a.grant.member_id) for a in actions] == [("revoke_role", f"email:{LAURA}")]
    outcome = tiktok.revoke(BC, actions[0].grant)
    assert outcome.status == "done" and "pending invitation" in outcome.detail


def test_the_spec_check_catches_a_request_tiktok_does_not_define() -> None:
    """The check is not a rubber stamp: an undeclared body key or a token in the URL fails it."""
    import requests as http

    bad = http.Request(
        "POST",
        f"{BASE}/bc/member/delete/",
        headers={"Access-Token": "t"},
        json={"bc_id": BC_ID, "member": "68001"},
    ).prepare()
    with pytest.raises(Exception, match="member"):
        check_request(bad)
    leaky = http.Request(
        "GET",
        f"{BASE}/bc/member/get/",
        params={"bc_id": BC_ID, "access_token": "t"},
        headers={"Access-Token": "t"},
    ).prepare()
    with pytest.raises(AssertionError):
        check_request(leaky)
