"""Hootsuite organization members (REST API v1, OAuth bearer token).

Lists the organization's members and removes one with
`DELETE /v1/organizations/{organizationId}/members/{memberId}`. Putting a member back
(with their teams and social-profile permissions) and granting admin rights are left to
a person: relevo records the permissions it saw so the task says exactly what to give back.
Organizations on Hootsuite Enterprise can use the `scim` connector instead.

Docs: https://apidocs.hootsuite.com/docs/api/index.html (Organization, Member)
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import requests

from connectors.grants import Grant, Outcome, Person, Presence, snapshot
from connectors.http import HttpClient, default_error_parser
from connectors.manual import WHERE

log = logging.getLogger("relevo.connectors.hootsuite")

BASE_URL = "https://platform.hootsuite.com"
# UNCONFIRMED: the permission name that marks an organization administrator.
ADMIN_PERMISSIONS = ("ORG_SUPER_ADMIN",)


def hootsuite_error(response: requests.Response) -> tuple[str, str | None]:
    """Message of `{"errors": [{"code", "message", "id", "resource"}]}`."""
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        code = f" (code {first['code']})" if first.get("code") is not None else ""
        return (str(first.get("message") or response.reason or "error") + code,
                str(first.get("id")) if first.get("id") else response.headers.get("X-Request-Id"))
    return default_error_parser(response)


class HootsuiteConnector:
    """Members of one Hootsuite organization; settings: organization_id, token, base_url."""

    platform = "hootsuite"

    def __init__(self, base_url: str, token: str, organization_id: str, *,
                 admin_permissions: Iterable[str] = ADMIN_PERMISSIONS,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.org = quote(str(organization_id), safe="")
        self.admin_permissions = set(admin_permissions)
        self.client = HttpClient("hootsuite", base_url, headers={"Authorization": f"Bearer {token}"},
                                 secrets=[token], error_parser=hootsuite_error, sleep=sleep)

    def members(self, presence: Presence) -> list[Grant]:
        """Member ids of the organization, then each member's e-mail and permissions.

        The list gives ids only, so this costs 1 + 2 calls per member (UNCONFIRMED whether
        the list can embed e-mail and permissions).
        """
        grants = []
        for member_id in self._member_ids():
            member = (self.client.json("GET", f"v1/members/{quote(member_id, safe='')}") or {}).get("data") or {}
            permissions = self._permissions(member_id)
            grant = Grant(presence_id=presence.id, member_id=member_id,
                          identity=str(member.get("email") or member_id),
                          role="admin" if self.admin_permissions & set(permissions) else "member",
                          is_admin=bool(self.admin_permissions & set(permissions)),
                          display_name=str(member.get("fullName") or ""))
            grants.append(replace(grant, pre_state=snapshot(grant, permissions=permissions)))
        return grants

    def revoke(self, presence: Presence, grant: Grant) -> Outcome:
        """Remove the member from the organization; a member already gone is done."""
        response = self.client.request(
            "DELETE", f"v1/organizations/{self.org}/members/{quote(grant.member_id, safe='')}", allow=(404,))
        if response.status_code == 404:
            return Outcome("already_done", f"{grant.identity} is no longer a member of {presence.account}")
        log.info("removed Hootsuite member %s on %s", grant.member_id, presence.id)
        return Outcome("done", f"removed {grant.identity} from {presence.account}", pre_state=dict(grant.pre_state))

    def restore(self, presence: Presence, grant: Grant, pre_state: dict[str, Any]) -> Outcome:
        """Re-adding a member with their permissions is done by a person, from the recorded list."""
        permissions = ", ".join(pre_state.get("permissions") or []) or "(none recorded)"
        return Outcome("manual", f"add {grant.identity} back to {presence.account} by hand",
                       steps=[f"Open {WHERE['hootsuite']} for “{presence.account}”.",
                              f"Invite {grant.display_name or grant.identity} <{grant.identity}> again.",
                              f"Give back these permissions: {permissions}; and their teams and social profiles."])

    def add_admin(self, presence: Presence, person: Person) -> Outcome:
        return Outcome("manual", f"make {person.name} an organization admin before removing the leaver",
                       steps=[f"Open {WHERE['hootsuite']} for “{presence.account}”.",
                              f"Give {person.name} <{person.email}> the organization admin (super admin) permission.",
                              "Run relevo again: the leaver is removed once another admin exists."])

    def _member_ids(self) -> list[str]:
        ids: list[str] = []
        params: dict[str, Any] = {}
        while True:
            body = self.client.json("GET", f"v1/organizations/{self.org}/members", params=params) or {}
            ids += [str(row["id"]) for row in body.get("data") or [] if isinstance(row, dict) and row.get("id")]
            cursor = body.get("cursor")  # UNCONFIRMED: cursor pagination, 50 per page
            if not cursor:
                return ids
            params = {"cursor": cursor}

    def _permissions(self, member_id: str) -> list[str]:
        # GET /v1/members/{memberId}/organizations/{organizationId}/permissions → {"data": ["PERMISSION", ...]}
        body = self.client.json(
            "GET", f"v1/members/{quote(member_id, safe='')}/organizations/{self.org}/permissions") or {}
        return [str(p) for p in body.get("data") or []]
