"""SCIM connector against a real SCIM 2.0 service (scim2-server on loopback), plus `responses` for failures it cannot produce."""

from __future__ import annotations

import logging

import pytest
import requests
import responses

from relevo.connectors.errors import AuthenticationError, InvalidRequest, InvalidResponse, ServerError
from relevo.connectors.scim import PATCH_OP, ScimConnector
from relevo.model import Person, grant_from_pre_state
from relevo.rules.plan import plan_presences
from tests.support.canaries import SCIM_TOKEN
from tests.support.canaries import TOKEN as CANARY
from tests.support.connectors import leaver, presence

LAURA = "laura.martinez@acme-comunicacion.example"
CARMEN = "carmen.ruiz@acme-comunicacion.example"
SUITE = presence("scim", "scim")


def create(url: str, user_name: str, role: str = "editor", active: bool = True) -> dict:
    """Create a user through the server's own API."""
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": active,
        "displayName": user_name.split("@")[0],
        "roles": [{"value": role}],
        "emails": [{"value": user_name, "primary": True}],
    }
    response = requests.post(
        f"{url}/Users", json=body, headers={"Authorization": f"Bearer {SCIM_TOKEN}"}, timeout=5
    )
    assert response.status_code == 201, response.text
    return response.json()


def server_user(url: str, user_id: str) -> requests.Response:
    return requests.get(
        f"{url}/Users/{user_id}", headers={"Authorization": f"Bearer {SCIM_TOKEN}"}, timeout=5
    )


def by_identity(grants: list, identity: str):
    return next(g for g in grants if g.identity == identity)


def test_members_lists_every_user_with_role_and_admin_flag(scim_url: str) -> None:
    create(scim_url, CARMEN, "admin")
    create(scim_url, LAURA, "editor")
    create(scim_url, "old@acme-comunicacion.example", "admin", active=False)
    grants = ScimConnector(scim_url, SCIM_TOKEN, page_size=2).members(SUITE)
    assert sorted(g.identity for g in grants) == sorted([CARMEN, LAURA, "old@acme-comunicacion.example"])
    assert by_identity(grants, CARMEN).is_admin and by_identity(grants, CARMEN).role == "admin"
    assert not by_identity(grants, LAURA).is_admin
    # An inactive admin cannot administer anything: it does not count against the never-orphan rule.
    assert not by_identity(grants, "old@acme-comunicacion.example").is_admin


def test_revoke_deactivates_the_user_on_the_server(scim_url: str) -> None:
    created = create(scim_url, LAURA, "admin")
    connector = ScimConnector(scim_url, SCIM_TOKEN)
    grant = by_identity(connector.members(SUITE), LAURA)
    outcome = connector.revoke(SUITE, grant)
    assert outcome.status == "done"
    assert server_user(scim_url, created["id"]).json()["active"] is False
    assert outcome.pre_state["role"] == "admin" and outcome.pre_state["member_id"] == created["id"]


def test_inactive_or_deleted_user_is_already_done(scim_url: str) -> None:
    create(scim_url, LAURA)
    gone = create(scim_url, CARMEN)
    connector = ScimConnector(scim_url, SCIM_TOKEN)
    connector.revoke(SUITE, by_identity(connector.members(SUITE), LAURA))
    grants = connector.members(SUITE)
    calls = connector.client.calls
    assert connector.revoke(SUITE, by_identity(grants, LAURA)).status == "already_done"
    assert connector.client.calls == calls  # known inactive: no call at all
    requests.delete(
        f"{scim_url}/Users/{gone['id']}", headers={"Authorization": f"Bearer {SCIM_TOKEN}"}, timeout=5
    )
    outcome = connector.revoke(SUITE, by_identity(grants, CARMEN))
    assert outcome.status == "already_done" and "no longer exists" in outcome.detail


def test_restore_from_recorded_pre_state_reactivates(scim_url: str) -> None:
    created = create(scim_url, LAURA, "admin")
    connector = ScimConnector(scim_url, SCIM_TOKEN)
    pre_state = connector.revoke(SUITE, by_identity(connector.members(SUITE), LAURA)).pre_state
    grant = grant_from_pre_state(SUITE.id, pre_state)  # what a rescind flow has: the ledger row only
    assert connector.restore(SUITE, grant, pre_state).status == "done"
    assert server_user(scim_url, created["id"]).json()["active"] is True
    assert connector.restore(SUITE, grant, pre_state).status == "already_done"


def test_delete_mode_deletes_and_restore_recreates_by_user_name(scim_url: str) -> None:
    created = create(scim_url, LAURA, "admin")
    connector = ScimConnector(scim_url, SCIM_TOKEN, delete=True)
    pre_state = connector.revoke(SUITE, by_identity(connector.members(SUITE), LAURA)).pre_state
    assert server_user(scim_url, created["id"]).status_code == 404
    assert connector.restore(SUITE, grant_from_pre_state(SUITE.id, pre_state), pre_state).status == "done"
    again = connector.find(LAURA)
    assert again is not None and again["active"] is True and again["roles"] == [{"value": "admin"}]


def test_find_uses_a_user_name_filter(scim_url: str) -> None:
    create(scim_url, LAURA)
    create(scim_url, 'odd"name@acme-comunicacion.example')
    connector = ScimConnector(scim_url, SCIM_TOKEN)
    assert connector.find(LAURA)["userName"] == LAURA
    assert (
        connector.find('odd"name@acme-comunicacion.example')["userName"]
        == 'odd"name@acme-comunicacion.example'
    )
    assert connector.find("nobody@acme-comunicacion.example") is None


def test_wrong_token_is_an_authentication_error_without_the_token(scim_url: str, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError, match="Authorization failure") as info:
        ScimConnector(scim_url, CANARY).members(SUITE)
    assert CANARY not in str(info.value) and CANARY not in caplog.text


def test_add_admin_is_a_manual_task() -> None:
    outcome = ScimConnector("http://127.0.0.1:9/v2", CANARY).add_admin(
        SUITE, Person("Nuria Castells Vidal", "nuria.castells@acme-comunicacion.example")
    )
    assert outcome.status == "manual" and "nuria.castells@acme-comunicacion.example" in " ".join(
        outcome.steps
    )


def test_never_orphan_plans_the_successor_first_when_the_leaver_is_the_only_admin(
    scim_url, registry_with
) -> None:
    create(scim_url, LAURA, "admin")
    create(scim_url, "diego.navarro@acme-comunicacion.example", "viewer")
    registry = registry_with(
        [
            {
                "id": "suite",
                "platform": "scim",
                "account": "Suite",
                "owner": "company",
                "connector": "scim",
                "settings": {"base_url": scim_url, "token": {"env": "RELEVO_TEST_TOKEN"}},
            }
        ]
    )
    members = {"suite": ScimConnector(scim_url, SCIM_TOKEN).members(registry.presences[0])}
    actions = plan_presences(leaver(), registry, members)
    assert [a.action for a in actions] == ["add_admin", "revoke_role"]
    assert actions[0].person.email == "nuria.castells@acme-comunicacion.example"
    assert actions[1].after == actions[0].key


# --- failures a real server does not produce on demand: `responses` with RFC 7644 bodies ---

BASE = "https://scim.example.test/v2"
USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "2819c223",
    "userName": LAURA,
    "active": True,
    "roles": [{"value": "editor"}],
}


def service_provider_config(
    patch: bool = True, filter_: bool = True, media_type: str = "application/scim+json"
) -> None:
    """`GET /ServiceProviderConfig` as RFC 7643 §5 defines it (the §8.5 example's shape)."""
    responses.get(
        f"{BASE}/ServiceProviderConfig",
        headers={"Content-Type": media_type},
        body=__import__("json").dumps(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "patch": {"supported": patch},
                "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
                "filter": {"supported": filter_, "maxResults": 100},
                "changePassword": {"supported": False},
                "sort": {"supported": False},
                "etag": {"supported": False},
                "authenticationSchemes": [
                    {
                        "type": "oauthbearertoken",
                        "name": "OAuth Bearer Token",
                        "description": "Authentication scheme using the OAuth Bearer Token Standard",
                    }
                ],
            }
        ),
    )


def rfc_error(status: int, detail: str, scim_type: str | None = None) -> dict:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
        "detail": detail,
    }
    if scim_type:
        body["scimType"] = scim_type
    return body


@responses.activate(registry=responses.registries.OrderedRegistry, assert_all_requests_are_fired=True)
def test_throttled_then_success_honours_retry_after(clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    service_provider_config()
    responses.patch(
        f"{BASE}/Users/2819c223",
        status=429,
        headers={"Retry-After": "7"},
        json=rfc_error(429, "Too many requests"),
    )
    responses.patch(
        f"{BASE}/Users/2819c223",
        status=204,
        match=[
            responses.matchers.json_params_matcher(
                {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}
            ),
            responses.matchers.header_matcher(
                {"Authorization": f"Bearer {CANARY}", "Content-Type": "application/scim+json"}
            ),
        ],
    )
    connector = ScimConnector(BASE, CANARY, sleep=clock.sleep)
    grant = connector.grant(SUITE, USER)
    assert connector.revoke(SUITE, grant).status == "done"
    assert clock.sleeps == [7.0]
    assert CANARY not in caplog.text


@responses.activate(assert_all_requests_are_fired=True)
def test_permanent_error_is_typed_with_the_scim_detail_and_not_retried(clock) -> None:
    service_provider_config()
    responses.patch(
        f"{BASE}/Users/2819c223", status=400, json=rfc_error(400, "attribute is immutable", "mutability")
    )
    connector = ScimConnector(BASE, CANARY, sleep=clock.sleep)
    with pytest.raises(InvalidRequest, match="mutability: attribute is immutable") as info:
        connector.revoke(SUITE, connector.grant(SUITE, USER))
    assert connector.client.calls == 2 and clock.sleeps == []  # the configuration, then one PATCH
    assert CANARY not in str(info.value)


@responses.activate(assert_all_requests_are_fired=True)
def test_server_errors_are_retried_then_raised(clock) -> None:
    service_provider_config()
    responses.patch(f"{BASE}/Users/2819c223", status=503, json=rfc_error(503, "maintenance"))
    connector = ScimConnector(BASE, CANARY, sleep=clock.sleep)
    with pytest.raises(ServerError, match="maintenance"):
        connector.revoke(SUITE, connector.grant(SUITE, USER))
    assert connector.client.calls == 1 + 3  # PATCH active=false is idempotent: safe to repeat


@responses.activate(assert_all_requests_are_fired=True)
def test_without_patch_support_the_user_is_replaced_with_put_in_the_services_media_type(clock) -> None:
    """Issue 12 row 11: the configuration decides; a service speaking application/json (Hootsuite) gets it back."""
    service_provider_config(patch=False, filter_=False, media_type="application/json")
    stored = {**USER, "meta": {"resourceType": "User", "version": 'W/"1"'}}
    responses.get(f"{BASE}/Users/2819c223", json=stored)
    responses.put(
        f"{BASE}/Users/2819c223",
        match=[
            responses.matchers.json_params_matcher({k: v for k, v in {**USER, "active": False}.items()}),
            responses.matchers.header_matcher({"Content-Type": "application/json"}),
        ],
        json={**USER, "active": False},
    )
    connector = ScimConnector(BASE, CANARY, sleep=clock.sleep)
    outcome = connector.revoke(SUITE, connector.grant(SUITE, USER))
    assert outcome.status == "done" and "by PUT" in outcome.detail
    assert [c.request.method for c in responses.calls] == [
        "GET",
        "GET",
        "PUT",
    ]  # never a PATCH it does not support


@responses.activate(assert_all_requests_are_fired=True)
def test_without_filter_support_find_reads_the_list(clock) -> None:
    service_provider_config(filter_=False)
    responses.get(
        f"{BASE}/Users",
        match=[responses.matchers.query_param_matcher({"startIndex": "1", "count": "100"})],
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 1,
            "startIndex": 1,
            "itemsPerPage": 1,
            "Resources": [USER],
        },
    )
    assert ScimConnector(BASE, CANARY, sleep=clock.sleep).find(LAURA)["id"] == "2819c223"
    assert all("filter" not in c.request.url for c in responses.calls)


@responses.activate(assert_all_requests_are_fired=True)
def test_a_404_to_delete_is_only_a_claim_the_holders_read_settles(clock) -> None:
    """Hootsuite's SCIM has no DELETE: a 404 there must not read as "gone" while the user is still active."""
    responses.delete(f"{BASE}/Users/2819c223", status=404, json=rfc_error(404, "Resource not found"))
    responses.get(
        f"{BASE}/Users",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 1,
            "startIndex": 1,
            "itemsPerPage": 1,
            "Resources": [USER],
        },
    )
    connector = ScimConnector(BASE, CANARY, delete=True, sleep=clock.sleep)
    outcome = connector.revoke(SUITE, connector.grant(SUITE, USER))
    assert outcome.status == "already_done" and "DELETE answered 404" in outcome.detail
    assert connector.holders(SUITE) == {"2819c223"}  # still active: the flow records this removal as failed


# --- paging (RFC 7644 §3.4.2.4: 1-based startIndex, count; the answer's totalResults and startIndex) ---


def test_a_listing_over_many_pages_returns_every_user_exactly_once(scim_url: str) -> None:
    names = [f"user{i}@acme-comunicacion.example" for i in range(7)]
    for name in names:
        create(scim_url, name)
    connector = ScimConnector(scim_url, SCIM_TOKEN, page_size=3)
    grants = connector.members(SUITE)
    assert sorted(g.identity for g in grants) == sorted(names)  # each once: no page read twice, none skipped
    assert connector.client.calls == 3  # startIndex 1, 4, 7
    assert connector.find(names[-1])["userName"] == names[-1]  # find pages the same way without a filter


def list_response(users: list[dict], start: int, total: int) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(users),
        "Resources": users,
    }


@responses.activate(assert_all_requests_are_fired=True)
def test_a_service_that_ignores_start_index_is_a_typed_error_not_a_list_of_repeats(clock) -> None:
    """Asked for startIndex 2, the service answers page 1 again: refused (it used to be listed 10 times)."""
    responses.get(f"{BASE}/Users", json=list_response([USER], start=1, total=10))
    connector = ScimConnector(BASE, CANARY, page_size=1, sleep=clock.sleep)
    with pytest.raises(InvalidResponse, match="answered startIndex 1 when asked for 2"):
        connector.members(SUITE)
    assert connector.client.calls == 2


@responses.activate(assert_all_requests_are_fired=True)
def test_a_service_repeating_a_page_without_start_index_is_a_typed_error(clock) -> None:
    """The same page twice (no startIndex echoed to check) is refused too."""
    page = list_response([USER], start=1, total=10)
    del page["startIndex"]
    responses.get(f"{BASE}/Users", json=page)
    connector = ScimConnector(BASE, CANARY, page_size=1, sleep=clock.sleep)
    with pytest.raises(InvalidResponse, match="same page at startIndex 2"):
        connector.members(SUITE)
