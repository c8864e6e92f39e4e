"""Hootsuite connector with `responses`, using the REST API v1 payload and error shapes of Hootsuite's Swagger.

Shapes (https://apidocs.hootsuite.com/docs/api/swagger.yaml): the member list is `{"data": [{"id"}]}`;
a member is `{"data": Member}`; organization permissions are
`{"data": {"permissions": [...], "permissionPreset": "..."}}`; DELETE answers 200 `{"data": {}}`;
errors are `{"errors": [{"code", "message", "id", "resource": {"type", "id"}}]}` with the Swagger's codes.
"""

from __future__ import annotations

import logging

import pytest
import responses
from responses import matchers

from relevo.connectors.errors import AuthenticationError, InvalidRequest, InvalidResponse, PermissionDenied
from relevo.connectors.hootsuite import HootsuiteConnector
from relevo.model import Person, grant_from_pre_state
from relevo.rules.plan import plan_presences
from tests.support.canaries import TOKEN as CANARY
from tests.support.connectors import leaver, presence

BASE = "https://platform.hootsuite.com"
ORG = "815121"
SUITE = presence("hootsuite", "hootsuite")
MEMBERS = {  # id → (fullName, email, permissions, permissionPreset)
    "11111": (
        "Laura Martínez Ferrer",
        "laura.martinez@acme-comunicacion.example",
        ["ORG_MANAGE_MEMBER", "ORG_MANAGE_TEAM", "ORG_MANAGE_SOCIAL_PROFILE"],
        "SUPER_ADMIN",
    ),
    "22222": (
        "Carmen Ruiz Serrano",
        "carmen.ruiz@acme-comunicacion.example",
        ["ORG_MANAGE_MEMBER"],
        "CUSTOM",
    ),
    "33333": (
        "Diego Navarro Puig",
        "diego.navarro@acme-comunicacion.example",
        ["ORG_MANAGE_SOCIAL_PROFILE"],
        "CUSTOM",
    ),
}


def hootsuite_error(code: int, message: str, member_id: str = "11111") -> dict:
    return {
        "errors": [
            {
                "code": code,
                "message": message,
                "id": "f7d32670-4e6a-48c0-a2a7-87803536a712",
                "resource": {"type": "member", "id": member_id},
            }
        ]
    }


def member_body(member_id: str, name: str, email: str) -> dict:
    return {
        "data": {
            "id": member_id,
            "email": email,
            "isActive": True,
            "createdDate": "2019-03-04T09:12:40Z",
            "modifiedDate": "2024-11-20T16:02:11Z",
            "fullName": name,
            "companyName": "Acme",
            "bio": None,
            "timezone": "Europe/Madrid",
            "language": "es",
        }
    }


def stub_members(members: dict) -> None:
    responses.get(
        f"{BASE}/v1/organizations/{ORG}/members",
        match=[matchers.header_matcher({"Authorization": f"Bearer {CANARY}"})],
        json={"data": [{"id": member_id} for member_id in members]},
    )
    for member_id, (name, email, permissions, preset) in members.items():
        responses.get(f"{BASE}/v1/members/{member_id}", json=member_body(member_id, name, email))
        responses.get(
            f"{BASE}/v1/organizations/{ORG}/members/{member_id}/permissions",
            json={"data": {"permissions": permissions, "permissionPreset": preset}},
        )


def connector(clock, **kwargs) -> HootsuiteConnector:
    return HootsuiteConnector(BASE, CANARY, ORG, sleep=clock.sleep, **kwargs)


@responses.activate(assert_all_requests_are_fired=True)
def test_members_read_email_and_admin_from_permissions_and_preset(clock) -> None:
    stub_members(MEMBERS)
    grants = connector(clock).members(SUITE)
    assert [(g.identity, g.is_admin, g.display_name) for g in grants] == [
        ("laura.martinez@acme-comunicacion.example", True, "Laura Martínez Ferrer"),
        ("carmen.ruiz@acme-comunicacion.example", True, "Carmen Ruiz Serrano"),
        ("diego.navarro@acme-comunicacion.example", False, "Diego Navarro Puig"),
    ]
    assert grants[0].pre_state["permissions"] == [
        "ORG_MANAGE_MEMBER",
        "ORG_MANAGE_TEAM",
        "ORG_MANAGE_SOCIAL_PROFILE",
    ]
    assert grants[0].pre_state["permissionPreset"] == "SUPER_ADMIN"
    assert len(responses.calls) == 1 + 2 * len(MEMBERS)


@pytest.mark.parametrize(
    ("permissions", "preset", "admin"),
    [
        ([], "SUPER_ADMIN", True),
        ([], "ADMIN", True),
        (["ORG_MANAGE_MEMBER"], "CUSTOM", True),
        (["ORG_MANAGE_SOCIAL_PROFILE", "ORG_MANAGE_TEAM"], "CUSTOM", False),
        ([], "DEFAULT", False),
        ([], None, False),
    ],
)
def test_is_admin_from_permission_names_or_preset(clock, permissions, preset, admin) -> None:
    assert connector(clock).is_admin(permissions, preset) is admin


@responses.activate(assert_all_requests_are_fired=True)
def test_admin_permissions_setting_replaces_the_defaults(clock) -> None:
    stub_members(MEMBERS)
    grants = connector(clock, admin_permissions=["org_manage_social_profile"]).members(SUITE)
    assert [g.is_admin for g in grants] == [True, False, True]


@responses.activate(registry=responses.registries.OrderedRegistry, assert_all_requests_are_fired=True)
def test_members_follow_a_metadata_cursor_and_stop_on_a_repeated_one(clock) -> None:
    url = f"{BASE}/v1/organizations/{ORG}/members"
    responses.get(
        url, json={"data": [{"id": "11111"}], "metadata": {"cursor": {"next": "c2", "previous": None}}}
    )
    responses.get(
        url,
        match=[matchers.query_param_matcher({"cursor": "c2"})],
        json={"data": [{"id": "33333"}], "metadata": {"cursor": {"next": None, "previous": "c1"}}},
    )
    assert connector(clock)._member_ids() == ["11111", "33333"]
    responses.get(url, json={"data": [{"id": "11111"}], "metadata": {"cursor": {"next": "c2"}}})
    responses.get(url, json={"data": [{"id": "33333"}], "metadata": {"cursor": {"next": "c2"}}})
    with pytest.raises(InvalidResponse, match="repeated cursor"):
        connector(clock)._member_ids()


@responses.activate(assert_all_requests_are_fired=True)
def test_revoke_removes_the_member_and_a_gone_member_is_already_done(clock) -> None:
    responses.delete(f"{BASE}/v1/organizations/{ORG}/members/11111", json={"data": {}})
    responses.delete(
        f"{BASE}/v1/organizations/{ORG}/members/33333",
        status=404,
        json=hootsuite_error(4303, "Member does not exist in organization", "33333"),
    )
    responses.delete(
        f"{BASE}/v1/organizations/{ORG}/members/44444",
        status=400,
        json=hootsuite_error(4303, "Member does not exist in organization", "44444"),
    )
    hoot = connector(clock)
    laura = grant_from_pre_state(
        SUITE.id,
        {
            "member_id": "11111",
            "identity": "laura.martinez@acme-comunicacion.example",
            "role": "admin",
            "is_admin": True,
            "permissions": ["ORG_MANAGE_MEMBER"],
            "permissionPreset": "SUPER_ADMIN",
        },
    )
    outcome = hoot.revoke(SUITE, laura)
    assert outcome.status == "done" and outcome.pre_state["permissionPreset"] == "SUPER_ADMIN"
    assert outcome.pre_state["permissions"] == ["ORG_MANAGE_MEMBER"]
    for member_id in ("33333", "44444"):
        gone = grant_from_pre_state(
            SUITE.id, {"member_id": member_id, "identity": f"{member_id}@acme.example"}
        )
        assert hoot.revoke(SUITE, gone).status == "already_done"


@responses.activate(assert_all_requests_are_fired=True)
def test_revoke_refused_with_another_bad_request_code_is_an_error(clock) -> None:
    responses.delete(
        f"{BASE}/v1/organizations/{ORG}/members/11111",
        status=400,
        json=hootsuite_error(3301, "Payment member can’t be removed from the organization"),
    )
    grant = grant_from_pre_state(
        SUITE.id, {"member_id": "11111", "identity": "laura.martinez@acme-comunicacion.example"}
    )
    with pytest.raises(InvalidRequest, match=r"Payment member .* \(code 3301\)"):
        connector(clock).revoke(SUITE, grant)
    assert len(responses.calls) == 1


def test_restore_and_add_admin_are_tasks_naming_what_to_give_back(clock) -> None:
    hoot = connector(clock)
    pre_state = {
        "member_id": "11111",
        "identity": "laura.martinez@acme-comunicacion.example",
        "role": "admin",
        "permissions": ["ORG_MANAGE_MEMBER", "ORG_MANAGE_TEAM"],
        "permissionPreset": "SUPER_ADMIN",
    }
    restored = hoot.restore(SUITE, grant_from_pre_state(SUITE.id, pre_state), pre_state)
    steps = " ".join(restored.steps)
    assert (
        restored.status == "manual"
        and "ORG_MANAGE_MEMBER, ORG_MANAGE_TEAM" in steps
        and "SUPER_ADMIN" in steps
    )
    assert (
        hoot.add_admin(SUITE, Person("Nuria", "nuria.castells@acme-comunicacion.example")).status == "manual"
    )


@responses.activate(registry=responses.registries.OrderedRegistry, assert_all_requests_are_fired=True)
def test_throttled_then_success(clock) -> None:
    url = f"{BASE}/v1/organizations/{ORG}/members/11111"
    responses.delete(
        url, status=429, headers={"Retry-After": "3"}, json=hootsuite_error(1043, "Too many requests")
    )
    responses.delete(url, json={"data": {}})
    grant = grant_from_pre_state(
        SUITE.id, {"member_id": "11111", "identity": "laura.martinez@acme-comunicacion.example"}
    )
    assert connector(clock).revoke(SUITE, grant).status == "done"
    assert clock.sleeps == [3.0]


@responses.activate(assert_all_requests_are_fired=True)
def test_permanent_errors_are_typed_not_retried_and_never_carry_the_token(clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    responses.delete(
        f"{BASE}/v1/organizations/{ORG}/members/11111",
        status=403,
        json=hootsuite_error(1201, "Not authorized to make changes to organization"),
    )
    responses.get(
        f"{BASE}/v1/organizations/{ORG}/members",
        status=401,
        json=hootsuite_error(1001, "Invalid access token"),
    )
    hoot = connector(clock)
    grant = grant_from_pre_state(
        SUITE.id, {"member_id": "11111", "identity": "laura.martinez@acme-comunicacion.example"}
    )
    with pytest.raises(PermissionDenied, match=r"changes to organization \(code 1201\)") as denied:
        hoot.revoke(SUITE, grant)
    with pytest.raises(AuthenticationError, match="Invalid access token") as refused:
        hoot.members(SUITE)
    assert len(responses.calls) == 2 and clock.sleeps == []
    assert CANARY not in str(denied.value) + str(refused.value) + caplog.text


@responses.activate(assert_all_requests_are_fired=True)
def test_never_orphan_with_hootsuite(clock, registry_with) -> None:
    stub_members({k: v for k, v in MEMBERS.items() if k != "22222"})
    registry = registry_with(
        [
            {
                "id": "hootsuite",
                "platform": "hootsuite",
                "account": "Acme Hootsuite",
                "owner": "company",
                "connector": "hootsuite",
                "settings": {"organization_id": ORG, "token": {"env": "RELEVO_TEST_TOKEN"}},
            }
        ]
    )
    actions = plan_presences(
        leaver(), registry, {"hootsuite": connector(clock).members(registry.presences[0])}
    )
    assert [a.action for a in actions] == ["add_admin", "revoke_role"]
    assert actions[1].after == actions[0].key


@responses.activate(assert_all_requests_are_fired=True)
def test_another_member_managing_members_is_an_admin_so_the_leaver_goes(clock, registry_with) -> None:
    stub_members(MEMBERS)
    registry = registry_with(
        [
            {
                "id": "hootsuite",
                "platform": "hootsuite",
                "account": "Acme Hootsuite",
                "owner": "company",
                "connector": "hootsuite",
                "settings": {"organization_id": ORG, "token": {"env": "RELEVO_TEST_TOKEN"}},
            }
        ]
    )
    actions = plan_presences(
        leaver(), registry, {"hootsuite": connector(clock).members(registry.presences[0])}
    )
    assert [a.action for a in actions] == ["revoke_role"]


@responses.activate(assert_all_requests_are_fired=True)
def test_permissions_in_another_shape_fail_rather_than_hide_an_admin(clock) -> None:
    responses.get(f"{BASE}/v1/organizations/{ORG}/members", json={"data": [{"id": "11111"}]})
    responses.get(
        f"{BASE}/v1/members/11111",
        json=member_body("11111", "Laura", "laura.martinez@acme-comunicacion.example"),
    )
    responses.get(
        f"{BASE}/v1/organizations/{ORG}/members/11111/permissions", json={"data": ["ORG_MANAGE_MEMBER"]}
    )
    with pytest.raises(InvalidResponse, match="no permissions object"):
        connector(clock).members(SUITE)


@responses.activate(assert_all_requests_are_fired=True)
def test_holders_read_only_the_member_list(clock) -> None:
    """The confirming read after removals: the ids list alone (no per-member calls), a 4303 member still there."""
    responses.delete(
        f"{BASE}/v1/organizations/{ORG}/members/33333",
        status=400,
        json=hootsuite_error(4303, "Member does not exist in organization", "33333"),
    )
    responses.get(f"{BASE}/v1/organizations/{ORG}/members", json={"data": [{"id": "22222"}, {"id": "33333"}]})
    hootsuite = connector(clock)
    grant = grant_from_pre_state(
        SUITE.id, {"member_id": "33333", "identity": "diego.navarro@acme-comunicacion.example"}
    )
    assert hootsuite.revoke(SUITE, grant).status == "already_done"  # the vendor's claim
    assert hootsuite.holders(SUITE) == {"22222", "33333"}  # the live state: the flow records a failure
    assert len(responses.calls) == 2


@responses.activate(assert_all_requests_are_fired=True)
def test_a_member_removed_while_the_list_is_read_is_gone_not_an_error(clock) -> None:
    """Another run (or a person) removes members while this one lists them one by one: the member read
    answers 404, or the permissions read 400 with code 4303. They are gone; the others are listed."""
    responses.get(f"{BASE}/v1/organizations/{ORG}/members", json={"data": [{"id": i} for i in MEMBERS]})
    responses.get(f"{BASE}/v1/members/11111", status=404, json=hootsuite_error(4001, "Member not found"))
    name, email, permissions, preset = MEMBERS["22222"]
    responses.get(f"{BASE}/v1/members/22222", json=member_body("22222", name, email))
    responses.get(
        f"{BASE}/v1/organizations/{ORG}/members/22222/permissions",
        status=400,
        json=hootsuite_error(4303, "Member is not in the organization", "22222"),
    )
    name, email, permissions, preset = MEMBERS["33333"]
    responses.get(f"{BASE}/v1/members/33333", json=member_body("33333", name, email))
    responses.get(
        f"{BASE}/v1/organizations/{ORG}/members/33333/permissions",
        json={"data": {"permissions": permissions, "permissionPreset": preset}},
    )
    grants = connector(clock).members(SUITE)
    assert [g.member_id for g in grants] == ["33333"]


@responses.activate(assert_all_requests_are_fired=True)
def test_another_bad_request_on_permissions_is_still_an_error(clock) -> None:
    responses.get(f"{BASE}/v1/organizations/{ORG}/members", json={"data": [{"id": "11111"}]})
    responses.get(
        f"{BASE}/v1/members/11111",
        json=member_body("11111", "Laura", "laura.martinez@acme-comunicacion.example"),
    )
    responses.get(
        f"{BASE}/v1/organizations/{ORG}/members/11111/permissions",
        status=400,
        json=hootsuite_error(4000, "Bad request"),
    )
    with pytest.raises(InvalidRequest):
        connector(clock).members(SUITE)
