"""Hootsuite organization members (REST API v1, OAuth bearer token).

Lists the organization's members and removes one with
`DELETE /v1/organizations/{organizationId}/members/{memberId}`. Putting a member back
(with their teams and social-profile permissions) and granting admin rights are left to
a person: relevo records the permissions it saw so the task says exactly what to give back.
Organizations on Hootsuite Enterprise can use the `scim` connector instead.

No official machine-readable spec is published by Hootsuite; this follows its REST API docs
https://apidocs.hootsuite.com/docs/api/index.html (Organization, Member) and a copy of its
swagger (api-evangelist/hootsuite, openapi/_original/hootsuite-rest-api-swagger.yaml).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import requests

from relevo.connectors.errors import InvalidResponse
from relevo.connectors.http import (
    MESSAGE_PATHS,
    BearerToken,
    CursorPaginator,
    ErrorBody,
    HttpClient,
    dig,
    error_body,
    paginate,
)
from relevo.model import WHERE, Grant, Outcome, Person, Presence, snapshot

log = logging.getLogger("relevo.connectors.hootsuite")

BASE_URL = "https://platform.hootsuite.com"
# Who counts as an organization admin for the never-orphan rule: anyone who can still add and manage
# members (and so put a leaver back). Each entry is matched against both the member's organization
# `permissions` and their `permissionPreset` (GET /v1/organizations/{o}/members/{m}/permissions).
# Hootsuite's help centre: the organization roles are paying super admin, super admin, admin, default and
# custom; paying super admins, super admins and admins "add and manage members" and grant permissions.
ADMIN_PERMISSIONS = (
    # Confirmed name (Swagger example; POST /v1/members "requires organization manage members permission").
    # UNCONFIRMED: that a custom role holding it may also grant admin permissions to someone else.
    "ORG_MANAGE_MEMBER",
    # UNCONFIRMED spellings of the super admin and admin presets: the Swagger shows only "CUSTOM".
    "SUPER_ADMIN",
    "ADMIN",
)
# Error code for "Member does not exist in organization" (Swagger error table).
MEMBER_NOT_IN_ORGANIZATION = 4303


def hootsuite_error(response: requests.Response) -> ErrorBody:
    """Message, code and id of the first of `{"errors": [{"code", "message", "id", "resource"}]}`."""
    return error_body(
        response,
        message=[("errors", 0, "message"), *MESSAGE_PATHS],
        code=[("errors", 0, "code")],
        request_id=[("errors", 0, "id")],
    )


class HootsuiteConnector:
    """Members of one Hootsuite organization; settings: organization_id, token, base_url, admin_permissions.

    `admin_permissions` lists organization permission names and/or permission presets that mark an admin.
    """

    platform = "hootsuite"
    removal_needs = (
        "the token's user needs the organization permission to manage members (ORG_MANAGE_MEMBER); "
        "or remove the person in Hootsuite > Organization > Members"
    )
    by_hand = frozenset({"add_admin"})  # outcomes that are always a task for a person

    def __init__(
        self,
        base_url: str,
        token: str,
        organization_id: str,
        *,
        admin_permissions: Iterable[str] = ADMIN_PERMISSIONS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.org = quote(str(organization_id), safe="")
        self.admin_permissions = {str(p).upper() for p in admin_permissions}
        self.client = HttpClient(
            "hootsuite", base_url, auth=BearerToken(token), error_parser=hootsuite_error, sleep=sleep
        )

    def members(self, presence: Presence) -> list[Grant]:
        return list(self.each_member(presence))

    def each_member(self, presence: Presence) -> Iterator[Grant]:
        """Member ids of the organization, then each member's e-mail and organization permissions.

        The list gives ids only (Swagger: `{"data": [{"id"}]}`), so this costs 1 + 2 calls per member:
        each member is yielded once read. A member is one Hootsuite user, one e-mail: a person appears once.
        The pre-state keeps both `permissions` and `permissionPreset`: a rescind's task names what to give back.
        """
        for member_id in self._member_ids():
            read = self.client.request("GET", f"v1/members/{quote(member_id, safe='')}", allow=(404,))
            if (
                read.status_code == 404
            ):  # removed while the list was read (another run, a person): gone, not an error
                log.info("hootsuite member %s left the organization while it was listed", member_id)
                continue
            member = (self.client.decode(read, "GET", f"v1/members/{member_id}") or {}).get("data") or {}
            held = self._permissions(member_id)
            if held is None:  # 4303: no longer a member of this organization
                log.info("hootsuite member %s left the organization while it was listed", member_id)
                continue
            permissions, preset = held
            admin = self.is_admin(permissions, preset)
            grant = Grant(
                presence_id=presence.id,
                member_id=member_id,
                identity=str(member.get("email") or member_id),
                role="admin" if admin else "member",
                is_admin=admin,
                display_name=str(member.get("fullName") or ""),
            )
            yield replace(grant, pre_state=snapshot(grant, permissions=permissions, permissionPreset=preset))

    def holders(self, presence: Presence) -> set[str]:
        """The organization's member ids now: one list read (pages), without the per-member calls."""
        return set(self._member_ids())

    def is_admin(self, permissions: list[str], preset: str | None) -> bool:
        """True when a permission name or the preset is one of `admin_permissions` (case-insensitive)."""
        held = {p.upper() for p in permissions} | ({preset.upper()} if preset else set())
        return bool(self.admin_permissions & held)

    def revoke(self, presence: Presence, grant: Grant) -> Outcome:
        """Remove the member from the organization; a member already gone is done.

        "Gone" is a 404, or a 400 with error code 4303 (the Swagger lists only 200 and 400 for this call;
        UNCONFIRMED which status Hootsuite uses for a member no longer in the organization).
        """
        path = f"v1/organizations/{self.org}/members/{quote(grant.member_id, safe='')}"
        response = self.client.request("DELETE", path, allow=(400, 404))
        if response.status_code == 400 and _error_code(response) != MEMBER_NOT_IN_ORGANIZATION:
            raise self.client.error_from("DELETE", path, response)
        if response.status_code in (400, 404):
            return Outcome("already_done", f"{grant.identity} is no longer a member of {presence.account}")
        log.info("removed Hootsuite member %s on %s", grant.member_id, presence.id)
        return Outcome(
            "done", f"removed {grant.identity} from {presence.account}", pre_state=dict(grant.pre_state)
        )

    def restore(self, presence: Presence, grant: Grant, pre_state: dict[str, Any]) -> Outcome:
        """Re-adding a member with their permissions is done by a person, from the recorded list."""
        permissions = ", ".join(pre_state.get("permissions") or []) or "(none recorded)"
        preset = pre_state.get("permissionPreset") or "(not recorded)"
        return Outcome(
            "manual",
            f"add {grant.identity} back to {presence.account} by hand",
            steps=[
                f"Open {WHERE['hootsuite']} for “{presence.account}”.",
                f"Invite {grant.display_name or grant.identity} <{grant.identity}> again.",
                f"Give back the organization permission level {preset} with these permissions: "
                f"{permissions}; and their teams and social profiles.",
            ],
        )

    def add_admin(self, presence: Presence, person: Person) -> Outcome:
        return Outcome(
            "manual",
            f"make {person.name} an organization admin before removing the leaver",
            steps=[
                f"Open {WHERE['hootsuite']} for “{presence.account}”.",
                f"Give {person.name} <{person.email}> the organization admin (super admin) permission.",
                "Run relevo again: the leaver is removed once another admin exists.",
            ],
        )

    def _member_ids(self) -> list[str]:
        """Every member id. The Swagger documents no paging for this list; a collection may carry
        `metadata.cursor.next` (as Retrieve outbound messages does), so one is followed if present,
        sent back as `cursor` (UNCONFIRMED for this endpoint). A repeated cursor stops with an error
        rather than loop or return a partial list (which could hide another admin or the leaver).
        """
        ids: list[str] = []
        pages = CursorPaginator(lambda body: dig(body, "metadata", "cursor", "next"), "cursor")
        for body in paginate(self.client, "GET", f"v1/organizations/{self.org}/members", pages):
            rows = body.get("data") if isinstance(body, dict) else None
            ids += [str(row["id"]) for row in rows or [] if isinstance(row, dict) and row.get("id")]
        return ids

    def _permissions(self, member_id: str) -> tuple[list[str], str | None] | None:
        """(permission names, permission preset) of one member in this organization; None once they left it.

        GET /v1/organizations/{organizationId}/members/{memberId}/permissions →
        {"data": {"permissions": ["ORG_MANAGE_MEMBER", ...], "permissionPreset": "CUSTOM"}}. A member
        removed meanwhile answers 404, or 400 with code 4303 (member not in the organization).
        """
        response = self.client.request(
            "GET",
            f"v1/organizations/{self.org}/members/{quote(member_id, safe='')}/permissions",
            allow=(400, 404),
        )
        if response.status_code == 404 or (
            response.status_code == 400 and _error_code(response) == MEMBER_NOT_IN_ORGANIZATION
        ):
            return None
        if response.status_code == 400:
            raise self.client.error_from(
                "GET", f"v1/organizations/{self.org}/members/{member_id}/permissions", response
            )
        body = (
            self.client.decode(
                response, "GET", f"v1/organizations/{self.org}/members/{member_id}/permissions"
            )
            or {}
        )
        data = body.get("data")
        if not isinstance(data, dict):  # an unexpected shape must not quietly make everyone a non-admin
            raise InvalidResponse(
                f"GET v1/organizations/{self.org}/members/{member_id}/permissions: "
                "no permissions object in data",
                vendor="hootsuite",
            )
        preset = data.get("permissionPreset")
        return [str(p) for p in data.get("permissions") or []], (str(preset) if preset else None)


def _error_code(response: requests.Response) -> int | None:
    """The first error's `code` of a Hootsuite error body, or None."""
    code = hootsuite_error(response).code
    return int(code) if code is not None and code.isdigit() else None
