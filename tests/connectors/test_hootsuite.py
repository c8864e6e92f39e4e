"""Hootsuite connector with `responses`, using the REST API v1 payload and error shapes."""
from __future__ import annotations

import logging

import pytest
import responses
from responses import matchers

from connectors.errors import AuthenticationError, PermissionDenied
from connectors.grants import Person, grant_from_pre_state
from connectors.hootsuite import HootsuiteConnector
from flows.plan import plan_presences
from tests.connectors.conftest import CANARY, leaver, presence

BASE = "https://platform.hootsuite.com"
ORG = "815121"
SUITE = presence("hootsuite", "hootsuite")
MEMBERS = {
    "11111": ("Laura Martínez Ferrer", "laura.martinez@acme-comunicacion.example", ["ORG_SUPER_ADMIN", "ORG_MANAGE_TEAMS"]),
    "22222": ("Carmen Ruiz Serrano", "carmen.ruiz@acme-comunicacion.example", ["ORG_SUPER_ADMIN"]),
    "33333": ("Diego Navarro Puig", "diego.navarro@acme-comunicacion.example", ["ORG_MANAGE_SOCIAL_PROFILE"]),
}


def hootsuite_error(code: int, message: str) -> dict:
    return {"errors": [{"code": code, "message": message, "id": "7e3c1c43-e52b", "resource": {"type": "member", "id": "11111"}}]}


def stub_members(members: dict) -> None:
    responses.get(f"{BASE}/v1/organizations/{ORG}/members",
                  match=[matchers.header_matcher({"Authorization": f"Bearer {CANARY}"})],
                  json={"data": [{"id": member_id} for member_id in members]})
    for member_id, (name, email, permissions) in members.items():
        responses.get(f"{BASE}/v1/members/{member_id}", json={"data": {
            "id": member_id, "fullName": name, "email": email, "companyName": "Acme", "bio": None,
            "timezone": "Europe/Madrid", "language": "es"}})
        responses.get(f"{BASE}/v1/members/{member_id}/organizations/{ORG}/permissions", json={"data": permissions})


def connector(clock) -> HootsuiteConnector:
    return HootsuiteConnector(BASE, CANARY, ORG, sleep=clock.sleep)


@responses.activate
def test_members_read_email_and_admin_permission(clock) -> None:
    stub_members(MEMBERS)
    grants = connector(clock).members(SUITE)
    assert [(g.identity, g.is_admin) for g in grants] == [
        ("laura.martinez@acme-comunicacion.example", True), ("carmen.ruiz@acme-comunicacion.example", True),
        ("diego.navarro@acme-comunicacion.example", False)]
    assert grants[0].pre_state["permissions"] == ["ORG_SUPER_ADMIN", "ORG_MANAGE_TEAMS"]


@responses.activate
def test_revoke_removes_the_member_and_a_gone_member_is_already_done(clock) -> None:
    responses.delete(f"{BASE}/v1/organizations/{ORG}/members/11111", status=204)
    responses.delete(f"{BASE}/v1/organizations/{ORG}/members/33333", status=404,
                     json=hootsuite_error(1000, "Member not found in organization"))
    hoot = connector(clock)
    laura = grant_from_pre_state(SUITE.id, {"member_id": "11111", "identity": "laura.martinez@acme-comunicacion.example",
                                            "role": "admin", "is_admin": True, "permissions": ["ORG_SUPER_ADMIN"]})
    outcome = hoot.revoke(SUITE, laura)
    assert outcome.status == "done" and outcome.pre_state["permissions"] == ["ORG_SUPER_ADMIN"]
    diego = grant_from_pre_state(SUITE.id, {"member_id": "33333", "identity": "diego.navarro@acme-comunicacion.example"})
    assert hoot.revoke(SUITE, diego).status == "already_done"


def test_restore_and_add_admin_are_tasks_naming_what_to_give_back(clock) -> None:
    hoot = connector(clock)
    pre_state = {"member_id": "11111", "identity": "laura.martinez@acme-comunicacion.example", "role": "admin",
                 "permissions": ["ORG_SUPER_ADMIN", "ORG_MANAGE_TEAMS"]}
    restored = hoot.restore(SUITE, grant_from_pre_state(SUITE.id, pre_state), pre_state)
    assert restored.status == "manual" and "ORG_SUPER_ADMIN, ORG_MANAGE_TEAMS" in " ".join(restored.steps)
    assert hoot.add_admin(SUITE, Person("Nuria", "nuria.castells@acme-comunicacion.example")).status == "manual"


@responses.activate(registry=responses.registries.OrderedRegistry)
def test_throttled_then_success(clock) -> None:
    url = f"{BASE}/v1/organizations/{ORG}/members/11111"
    responses.delete(url, status=429, headers={"Retry-After": "3"}, json=hootsuite_error(4290, "Rate limit exceeded"))
    responses.delete(url, status=204)
    grant = grant_from_pre_state(SUITE.id, {"member_id": "11111", "identity": "laura.martinez@acme-comunicacion.example"})
    assert connector(clock).revoke(SUITE, grant).status == "done"
    assert clock.sleeps == [3.0]


@responses.activate
def test_permanent_errors_are_typed_not_retried_and_never_carry_the_token(clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    responses.delete(f"{BASE}/v1/organizations/{ORG}/members/11111", status=403,
                     json=hootsuite_error(1003, "Cannot remove the owner of the organization"))
    responses.get(f"{BASE}/v1/organizations/{ORG}/members", status=401, json=hootsuite_error(1001, "Invalid access token"))
    hoot = connector(clock)
    grant = grant_from_pre_state(SUITE.id, {"member_id": "11111", "identity": "laura.martinez@acme-comunicacion.example"})
    with pytest.raises(PermissionDenied, match=r"owner of the organization \(code 1003\)") as denied:
        hoot.revoke(SUITE, grant)
    with pytest.raises(AuthenticationError, match="Invalid access token") as refused:
        hoot.members(SUITE)
    assert len(responses.calls) == 2 and clock.sleeps == []
    assert CANARY not in str(denied.value) + str(refused.value) + caplog.text


@responses.activate
def test_never_orphan_with_hootsuite(clock, registry_with) -> None:
    stub_members({k: v for k, v in MEMBERS.items() if k != "22222"})
    registry = registry_with([{"id": "hootsuite", "platform": "hootsuite", "account": "Acme Hootsuite",
                               "owner": "company", "connector": "hootsuite",
                               "settings": {"organization_id": ORG, "token": {"env": "RELEVO_TEST_TOKEN"}}}])
    actions = plan_presences(leaver(), registry, {"hootsuite": connector(clock).members(registry.presences[0])})
    assert [a.action for a in actions] == ["add_admin", "revoke_role"]
    assert actions[1].after == actions[0].key
