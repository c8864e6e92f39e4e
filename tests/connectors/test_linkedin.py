"""LinkedIn Page roles with `responses`: listed by API (organizationAcls), removed by a person."""

from __future__ import annotations

import logging

import pytest
import responses
from responses import matchers

from relevo.connectors.errors import AuthenticationError, InvalidResponse
from relevo.connectors.linkedin import VERSION, LinkedInConnector
from relevo.model import ConfigurationError, Person, grant_from_pre_state
from relevo.rules.plan import plan_presences
from tests.support.canaries import TOKEN as CANARY
from tests.support.connectors import leaver, presence

BASE = "https://api.linkedin.com/rest"
ORG = "2414183"
PAGE = presence("linkedin", "linkedin_page")
LAURA_URN, ELENA_URN = "urn:li:person:Lm7aQ3xT", "urn:li:person:El9bR2yU"


def acl(person: str, role: str, state: str = "APPROVED") -> dict:
    return {
        "role": role,
        "organization": f"urn:li:organization:{ORG}",
        "roleAssignee": person,
        "state": state,
        "lastModified": {"actor": "urn:li:person:admin", "time": 1764150000000},
    }


def acls(rows: list[dict], start: int = 0, total: int | None = None) -> dict:
    return {
        "paging": {"count": 100, "start": start, "total": len(rows) if total is None else total, "links": []},
        "elements": rows,
    }


def connector(clock) -> LinkedInConnector:
    return LinkedInConnector(BASE, CANARY, ORG, sleep=clock.sleep)


QUERY = {
    "q": "organization",
    "organization": f"urn:li:organization:{ORG}",
    "state": "APPROVED",
    "count": "100",
}


@responses.activate(assert_all_requests_are_fired=True)
def test_members_list_page_roles_with_versioned_headers(clock) -> None:
    responses.get(
        f"{BASE}/organizationAcls",
        match=[
            matchers.query_param_matcher({**QUERY, "start": "0"}),
            matchers.header_matcher(
                {
                    "Authorization": f"Bearer {CANARY}",
                    "LinkedIn-Version": "202603",
                    "X-Restli-Protocol-Version": "2.0.0",
                }
            ),
        ],
        json=acls([acl(LAURA_URN, "ADMINISTRATOR"), acl(LAURA_URN, "ANALYST")], total=3),
    )
    responses.get(
        f"{BASE}/organizationAcls",
        match=[matchers.query_param_matcher({**QUERY, "start": "2"})],
        json=acls([acl(ELENA_URN, "ADMINISTRATOR")], start=2, total=3),
    )
    grants = connector(clock).members(PAGE)
    assert [(g.identity, g.role, g.is_admin) for g in grants] == [
        (LAURA_URN, "ADMINISTRATOR", True),
        (LAURA_URN, "ANALYST", False),
        (ELENA_URN, "ADMINISTRATOR", True),
    ]
    assert len({g.member_id for g in grants}) == 3  # one action key per (person, role)
    # who last changed the assignment, for the sweep's "re-added by" (UNCONFIRMED field: read only when present)
    assert grants[0].pre_state["added_by"] == "urn:li:person:admin (LinkedIn's lastModified.actor)"


def test_revoke_restore_and_add_admin_are_manual_until_linkedin_documents_removal(clock) -> None:
    linkedin = connector(clock)
    pre_state = {
        "member_id": f"{LAURA_URN}:ADMINISTRATOR",
        "identity": LAURA_URN,
        "role": "ADMINISTRATOR",
        "is_admin": True,
    }
    grant = grant_from_pre_state(PAGE.id, pre_state)
    revoked = linkedin.revoke(PAGE, grant)
    assert (
        revoked.status == "manual"
        and "LinkedIn documents no API call that removes a Page role" in revoked.detail
    )
    assert revoked.pre_state == pre_state
    assert linkedin.restore(PAGE, grant, pre_state).status == "manual"
    assert (
        linkedin.add_admin(PAGE, Person("Nuria", "nuria.castells@acme-comunicacion.example")).status
        == "manual"
    )
    assert linkedin.client.calls == 0


@responses.activate(registry=responses.registries.OrderedRegistry, assert_all_requests_are_fired=True)
def test_throttled_then_success(clock) -> None:
    responses.get(
        f"{BASE}/organizationAcls",
        status=429,
        headers={"Retry-After": "5"},
        json={
            "status": 429,
            "serviceErrorCode": 101,
            "code": "TOO_MANY_REQUESTS",
            "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
        },
    )
    responses.get(f"{BASE}/organizationAcls", json=acls([acl(LAURA_URN, "ADMINISTRATOR")]))
    assert len(connector(clock).members(PAGE)) == 1 and clock.sleeps == [5.0]


@responses.activate(assert_all_requests_are_fired=True)
def test_expired_token_is_typed_and_secret_free(clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    responses.get(
        f"{BASE}/organizationAcls",
        status=401,
        json={
            "status": 401,
            "serviceErrorCode": 65601,
            "code": "REVOKED_ACCESS_TOKEN",
            "message": "The token used in the request has been revoked by the user",
        },
    )
    with pytest.raises(AuthenticationError, match=r"revoked by the user \(serviceErrorCode 65601\)") as info:
        connector(clock).members(PAGE)
    assert len(responses.calls) == 1 and CANARY not in str(info.value) + caplog.text


@responses.activate(assert_all_requests_are_fired=True)
def test_never_orphan_matches_by_identity_mapping(clock, registry_with) -> None:
    responses.get(
        f"{BASE}/organizationAcls", json=acls([acl(LAURA_URN, "ADMINISTRATOR"), acl(ELENA_URN, "ANALYST")])
    )
    registry = registry_with(
        [
            {
                "id": "linkedin",
                "platform": "linkedin_page",
                "account": "Acme LinkedIn Page",
                "owner": "company",
                "connector": "linkedin",
                "settings": {"organization_id": ORG, "token": {"env": "RELEVO_TEST_TOKEN"}},
            }
        ],
        identities=[{"employee": "1001", "presence": "linkedin", "member": LAURA_URN}],
    )
    actions = plan_presences(
        leaver(), registry, {"linkedin": connector(clock).members(registry.presences[0])}
    )
    assert [a.action for a in actions] == ["add_admin", "revoke_role"]
    assert actions[1].grant.identity == LAURA_URN


def test_the_default_version_is_one_linkedin_still_serves() -> None:
    """Issue 12 row 3: 202411 was sunset on 2025-11-17; the default comes from versions.py with its own end date."""
    from datetime import date

    from relevo.connectors.versions import VERSIONS

    assert VERSION == VERSIONS["linkedin"].version == "202603"
    assert VERSIONS["linkedin"].end_of_support == date(2027, 3, 16)


@responses.activate(assert_all_requests_are_fired=True)
def test_a_sunset_version_is_a_configuration_error_naming_the_setting(clock, registry_with) -> None:
    """LinkedIn answers 426 to a sunset LinkedIn-Version: one line naming the presence and settings.version."""
    responses.get(
        f"{BASE}/organizationAcls",
        status=426,
        match=[matchers.header_matcher({"LinkedIn-Version": "202411"})],
        json={
            "status": 426,
            "code": "VERSION_MISSING_OR_DEPRECATED",
            "message": "Requested version 20241101 is not active",
        },
    )
    registry = registry_with(
        [
            {
                "id": "li",
                "platform": "linkedin_page",
                "account": "Acme on LinkedIn",
                "owner": "company",
                "connector": "linkedin",
                "settings": {
                    "organization_id": ORG,
                    "version": "202411",
                    "base_url": BASE,
                    "token": {"env": "RELEVO_TEST_TOKEN"},
                },
            }
        ]
    )
    with pytest.raises(
        ConfigurationError, match=r"presence 'li'.*202411 \(HTTP 426\).*settings\.version"
    ) as raised:
        registry.social(registry.presences[0]).members(registry.presences[0])
    assert CANARY not in str(raised.value)
    assert len(responses.calls) == 1  # a configuration error is not retried


# --- paging: start/count in the query; the answer's paging.start and paging.total (Rest.li paging) ---


@responses.activate(assert_all_requests_are_fired=True)
def test_a_listing_over_many_pages_without_a_total_returns_every_role_exactly_once(clock) -> None:
    """Without `paging.total` the list ends at an empty page; every (person, role) arrives once."""
    people = [f"urn:li:person:p{i}" for i in range(5)]
    for start, chunk in ((0, people[:2]), (2, people[2:4]), (4, people[4:]), (5, [])):
        page = acls([acl(p, "ADMINISTRATOR") for p in chunk], start=start)
        del page["paging"]["total"]
        responses.get(
            f"{BASE}/organizationAcls",
            json=page,
            match=[matchers.query_param_matcher({**QUERY, "start": str(start)})],
        )
    grants = connector(clock).members(PAGE)
    assert [g.identity for g in grants] == people


@responses.activate(assert_all_requests_are_fired=True)
def test_an_answer_for_another_start_is_a_typed_error_not_an_endless_loop(clock) -> None:
    """LinkedIn answering `start: 0` to start=2 (no total) would have been read for ever; it is refused."""
    page = acls([acl(LAURA_URN, "ADMINISTRATOR"), acl(ELENA_URN, "ADMINISTRATOR")])
    del page["paging"]["total"]
    responses.get(f"{BASE}/organizationAcls", json=page)
    linkedin = connector(clock)
    with pytest.raises(InvalidResponse, match="answered start 0 when asked for 2"):
        linkedin.members(PAGE)
    assert linkedin.client.calls == 2
