"""LinkedIn Page roles: read by API, removed by a person.

relevo lists who holds which Page role through `organizationAcls` (scope
`rw_organization_admin`), so the plan and the never-orphan count use the live list.
LinkedIn's documentation of `organizationAcls` (checked 2026-11) documents FINDER reads
only (q=roleAssignee, q=organization), and its recommended successor
`/organizationAuthorizations` is GET/BATCH_GET/BATCH_FIND: no documented call removes a
role or sets state REVOKED. So `revoke`, `restore` and `add_admin` stay tasks for a
person until LinkedIn documents one. Rows name people by member URN
(`urn:li:person:...`), not e-mail: map leavers in the registry's `identities`.

Every call carries `LinkedIn-Version` (connectors/versions.py; a presence may set
`settings.version`). LinkedIn answers HTTP 426 once a version is sunset: that is a
configuration error naming the setting, not a vendor outage.

No machine-readable spec is published; this follows:
https://learn.microsoft.com/linkedin/marketing/community-management/organizations/organization-access-control-by-role
https://learn.microsoft.com/linkedin/marketing/versioning
https://learn.microsoft.com/linkedin/marketing/integrations/migrations
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import requests

from relevo.connectors.http import (
    REQUEST_ID_HEADERS,
    BearerToken,
    ErrorBody,
    HttpClient,
    OffsetPaginator,
    dig,
    error_body,
    paginate,
)
from relevo.connectors.versions import VERSIONS
from relevo.model import WHERE, ConfigurationError, Grant, Outcome, Person, Presence, snapshot

BASE_URL = "https://api.linkedin.com/rest"
VERSION = VERSIONS["linkedin"].version
UPGRADE_REQUIRED = 426  # LinkedIn's answer to a sunset LinkedIn-Version
ADMIN_ROLE = "ADMINISTRATOR"
NOT_VERIFIED = (
    "relevo reads LinkedIn Page roles by API but removes them by hand: LinkedIn documents no API "
    "call that removes a Page role"
)


def linkedin_error(response: requests.Response) -> ErrorBody:
    """Message and serviceErrorCode of `{status, serviceErrorCode, code, message}`; the x-li-uuid header."""
    return error_body(
        response,
        code=[("serviceErrorCode",)],
        label="serviceErrorCode",
        headers=["x-li-uuid", *REQUEST_ID_HEADERS],
    )


def added_by(row: dict[str, Any]) -> dict[str, str]:
    """Who created (else last changed) this role assignment, as the member URN LinkedIn gives, for the sweep.

    UNCONFIRMED: `created`/`lastModified` audit stamps ({actor, time}) appear in third-party copies of
    the organizationAcls schema, not in LinkedIn's own page; read only when present.
    """
    for stamp in ("created", "lastModified"):
        actor = (row.get(stamp) or {}).get("actor") if isinstance(row.get(stamp), dict) else None
        if (
            isinstance(actor, str)
            and actor.startswith("urn:li:")
            and len(actor) <= 200
            and actor.isprintable()
        ):
            return {"added_by": f"{actor} (LinkedIn's {stamp}.actor)"}
    return {}


class LinkedInConnector:
    """Page roles of one organization; settings: organization_id, token, base_url, version."""

    platform = "linkedin_page"
    by_hand = frozenset({"revoke_role", "add_admin"})  # outcomes that are always a task for a person

    def __init__(
        self,
        base_url: str,
        token: str,
        organization_id: str,
        *,
        version: str = VERSION,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.organization = f"urn:li:organization:{organization_id}"
        self.version = version
        self.client = HttpClient(
            "linkedin",
            base_url,
            auth=BearerToken(token),
            error_parser=linkedin_error,
            sleep=sleep,
            headers={"LinkedIn-Version": version, "X-Restli-Protocol-Version": "2.0.0"},
        )

    def members(self, presence: Presence) -> list[Grant]:
        """Approved role assignments; one grant per (person, role).

        Paged with `start` (0-based) and `count` (LinkedIn's Rest.li paging); the answer's `paging`
        gives `start` (checked) and `total` when LinkedIn knows it, else an empty page ends the list.
        """
        grants = []
        pages = OffsetPaginator(
            lambda body: dig(body, "elements") or [],
            lambda body: _int(dig(body, "paging", "total")),
            param="start",
            echoed_of=lambda body: dig(body, "paging", "start"),
        )
        params = {
            "q": "organization",
            "organization": self.organization,
            "state": "APPROVED",
            "start": 0,
            "count": 100,
        }
        for body in paginate(
            self.client,
            "GET",
            "organizationAcls",
            pages,
            params=params,
            call=lambda *args, **kwargs: self._read(presence, *args, **kwargs),
        ):
            for row in dig(body, "elements") or []:
                if row.get("state", "APPROVED") != "APPROVED":
                    continue
                person, role = str(row["roleAssignee"]), str(row["role"])
                grant = Grant(
                    presence_id=presence.id,
                    member_id=f"{person}:{role}",
                    identity=person,
                    role=role,
                    is_admin=role == ADMIN_ROLE,
                )
                grants.append(
                    replace(grant, pre_state=snapshot(grant, organization=self.organization, **added_by(row)))
                )
        return grants

    def _read(self, presence: Presence, method: str, path: str, **kwargs: Any) -> Any:
        """One page; HTTP 426 (a sunset LinkedIn-Version) is a configuration error naming the setting."""
        response = self.client.request(method, path, allow=(UPGRADE_REQUIRED,), **kwargs)
        if response.status_code == UPGRADE_REQUIRED:
            raise ConfigurationError(
                f"presence '{presence.id}': LinkedIn no longer serves API version {self.version} (HTTP 426): "
                f"set settings.version to a current one (relevo's default is {VERSION}; see "
                f"{VERSIONS['linkedin'].source})"
            )
        return response.json() if response.content else {}

    def revoke(self, presence: Presence, grant: Grant) -> Outcome:
        name = grant.display_name or grant.identity
        return Outcome(
            "manual",
            f"remove the {grant.role} role of {name} by hand ({NOT_VERIFIED})",
            pre_state=dict(grant.pre_state),
            steps=[
                f"Open {WHERE['linkedin_page']} for “{presence.account}”.",
                f"Remove {name} (role: {grant.role}).",
                "Check the admin list again: the person no longer appears.",
            ],
        )

    def restore(self, presence: Presence, grant: Grant, pre_state: dict[str, Any]) -> Outcome:
        role = pre_state.get("role", grant.role)
        return Outcome(
            "manual",
            f"give back the {role} role by hand ({NOT_VERIFIED})",
            steps=[
                f"Open {WHERE['linkedin_page']} for “{presence.account}”.",
                f"Add {grant.display_name or grant.identity} again with role {role}.",
            ],
        )

    def add_admin(self, presence: Presence, person: Person) -> Outcome:
        return Outcome(
            "manual",
            f"make {person.name} a Page super admin before removing the leaver",
            steps=[
                f"Open {WHERE['linkedin_page']} for “{presence.account}”.",
                f"Add {person.name} <{person.email}> as super admin.",
                "Run relevo again: the leaver's role is then listed for removal.",
            ],
        )


def _int(value: Any) -> int | None:
    """`paging.total` as a number, None when LinkedIn left it out."""
    return None if value is None else int(value)
