"""Any SCIM 2.0 service (RFC 7643/7644): Hootsuite's SCIM, or an identity provider in front of social tools.

Removing access is deactivation (`active` false): reversible, and the service keeps the
user's history. How is chosen from the service's own `/ServiceProviderConfig` (RFC 7643
§5), read once per connector: `PATCH /Users/{id}` with the RFC 7644 §3.5.2 PatchOp where
`patch.supported` is true, else the user read and replaced with `PUT` (RFC 7644 §3.5.1,
which every service supports). A user is found by `filter` only where `filter.supported`;
otherwise by reading the list. Requests use the media type the service answers with
(`application/scim+json`, or `application/json` for services such as Hootsuite's that list
only that). With `settings.delete: true` the user is deleted instead (restore then
re-creates it from the recorded pre-state); the RFC's configuration does not advertise
DELETE (Hootsuite's SCIM has none), so a 404 to a DELETE is never taken as "gone": the
flow's fresh read of the users decides. SCIM has no standard way to make someone an
administrator of the service behind it, so `add_admin` is a task for a person.

Specs: RFC 7643 (schemas, ServiceProviderConfig) and RFC 7644 (protocol); Hootsuite's SCIM
per its REST swagger (GET/PUT/PATCH on /scim/v2/Users/{id}, no DELETE; application/json).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import requests

from relevo.connectors.http import (
    BearerToken,
    ErrorBody,
    HttpClient,
    OffsetPaginator,
    dig,
    error_body,
    json_body,
    paginate,
)
from relevo.model import Grant, Outcome, Person, Presence, snapshot

log = logging.getLogger("relevo.connectors.scim")

SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
ADMIN_ROLES = ("admin", "administrator", "owner", "super admin", "superadmin")
# What a deleted user needs to be created again (RFC 7643 §4.1 attributes; no id, no meta).
RECREATE_KEYS = (
    "schemas",
    "userName",
    "name",
    "displayName",
    "emails",
    "roles",
    "externalId",
    "title",
    "preferredLanguage",
    "locale",
    "timezone",
    "userType",
)


def scim_error(response: requests.Response) -> ErrorBody:
    """The message of an RFC 7644 §3.12 error body: `scimType: detail` (falls back to common shapes)."""
    error = error_body(response)
    body = json_body(response)
    if not isinstance(body, dict) or ERROR_SCHEMA not in (body.get("schemas") or []):
        return error
    detail = str(body.get("detail") or response.reason or "error")
    scim_type = body.get("scimType")
    return replace(error, message=f"{scim_type}: {detail}" if scim_type else detail)


def active_patch(active: bool) -> dict[str, Any]:
    """The RFC form of "set active"; servers also accept identity providers' variants, relevo sends this."""
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": active}]}


class ScimConnector:
    """Users of one SCIM service as grants; revoke = deactivate (or delete), restore = reactivate."""

    platform = "scim"
    removal_needs = (
        "the SCIM token must be allowed to update users (and, with delete: true, to delete them; "
        "a service without SCIM DELETE needs delete: false)"
    )
    by_hand = frozenset({"add_admin"})  # outcomes that are always a task for a person

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        delete: bool = False,
        admin_roles: Iterable[str] = ADMIN_ROLES,
        page_size: int = 100,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.delete = delete
        self.admin_roles = {r.casefold() for r in admin_roles}
        self.page_size = page_size
        self.client = HttpClient(
            "scim", base_url, auth=BearerToken(token), error_parser=scim_error, sleep=sleep
        )
        self._config: dict[str, Any] | None = None

    def config(self) -> dict[str, Any]:
        """What the service supports, from `/ServiceProviderConfig` (read once): patch, filter, media type.

        A service that does not serve it (it is REQUIRED by RFC 7644 §4, but not everywhere) gets the
        choices every SCIM service must support: PUT, no filter, application/scim+json.
        """
        if self._config is None:
            response = self.client.request("GET", "ServiceProviderConfig", allow=(404, 501))
            body = response.json() if response.ok and response.content else {}
            body = body if isinstance(body, dict) else {}
            media = (
                response.headers.get("Content-Type", "").split(";")[0].strip().lower() if response.ok else ""
            )
            self._config = {
                "patch": (body.get("patch") or {}).get("supported") is True,
                "filter": (body.get("filter") or {}).get("supported") is True,
                "media_type": "application/json" if media == "application/json" else SCIM_JSON,
            }
        return self._config

    def members(self, presence: Presence) -> list[Grant]:
        """Every user, active or not (an inactive one is reported as already done), page by page."""
        return [self.grant(presence, user) for user in self._users()]

    def _users(self) -> Iterator[Any]:
        """Every user resource, page by page: `startIndex` (1-based) and `count` in the query, until a page
        is empty or `totalResults` is reached (RFC 7644 §3.4.2.4); the answer's `startIndex` must be the
        one asked for."""
        pages = OffsetPaginator(
            lambda body: dig(body, "Resources") or [],
            lambda body: int(dig(body, "totalResults") or 0),
            param="startIndex",
            first=1,
            echoed_of=lambda body: dig(body, "startIndex"),
        )
        params = {"startIndex": 1, "count": self.page_size}
        for body in paginate(self.client, "GET", "Users", pages, params=params):
            yield from dig(body, "Resources") or []

    def holders(self, presence: Presence) -> set[str]:
        """Ids of the users that are active now (an inactive or deleted user holds nothing), from one fresh read."""
        return {g.member_id for g in self.members(presence) if g.pre_state.get("active") is not False}

    def find(self, user_name: str) -> dict[str, Any] | None:
        """The user whose userName is exactly `user_name`: by filter (RFC 7644 §3.4.2.2) where supported, else listed."""
        if self.config()["filter"]:
            page = (
                self.client.json("GET", "Users", params={"filter": f"userName eq {json.dumps(user_name)}"})
                or {}
            )
            users = page.get("Resources") or []
            return users[0] if users else None
        return next(
            (user for user in self._users() if isinstance(user, dict) and user.get("userName") == user_name),
            None,
        )

    def grant(self, presence: Presence, user: dict[str, Any]) -> Grant:
        roles = [str(r["value"]) for r in user.get("roles") or [] if isinstance(r, dict) and r.get("value")]
        active = user.get("active", True) is not False
        name = user.get("name") or {}
        grant = Grant(
            presence_id=presence.id,
            member_id=str(user["id"]),
            identity=str(user.get("userName", "")),
            role=", ".join(roles) or "user",
            is_admin=active and any(r.casefold() in self.admin_roles for r in roles),
            display_name=str(user.get("displayName") or name.get("formatted") or ""),
        )
        extra: dict[str, Any] = {"active": active, "roles": roles}
        if self.delete:
            extra["resource"] = {k: user[k] for k in RECREATE_KEYS if k in user}
        return replace(grant, pre_state=snapshot(grant, **extra))

    def revoke(self, presence: Presence, grant: Grant) -> Outcome:
        """Deactivate (or delete) the user; inactive or gone already counts as done."""
        if grant.pre_state.get("active") is False:
            return Outcome("already_done", f"{grant.identity} is already inactive in {presence.account}")
        path = f"Users/{quote(grant.member_id, safe='')}"
        if self.delete:
            response = self.client.request("DELETE", path, allow=(404,))
            if response.status_code == 404:  # gone, or no DELETE here: the flow's fresh read decides
                return Outcome(
                    "already_done",
                    f"{grant.identity} no longer exists in {presence.account} (DELETE answered 404)",
                )
            log.info("deleted SCIM user %s on %s", grant.identity, presence.id)
            return Outcome(
                "done", f"deleted {grant.identity} from {presence.account}", pre_state=dict(grant.pre_state)
            )
        response = self._set_active(path, active=False)
        if response.status_code == 404:
            return Outcome("already_done", f"{grant.identity} no longer exists in {presence.account}")
        log.info("deactivated SCIM user %s on %s", grant.identity, presence.id)
        how = "PATCH" if self.config()["patch"] else "PUT"
        return Outcome(
            "done",
            f"deactivated {grant.identity} in {presence.account} (SCIM active=false by {how})",
            pre_state=dict(grant.pre_state),
        )

    def restore(self, presence: Presence, grant: Grant, pre_state: dict[str, Any]) -> Outcome:
        """Reactivate the user (found by id, else by userName); re-create it if it was deleted."""
        user = self._get(grant.member_id) or (self.find(grant.identity) if grant.identity else None)
        if user is not None:
            if user.get("active", True) is not False:
                return Outcome("already_done", f"{grant.identity} is already active in {presence.account}")
            self._set_active(f"Users/{quote(str(user['id']), safe='')}", active=True)
            log.info("reactivated SCIM user %s on %s", grant.identity, presence.id)
            return Outcome("done", f"reactivated {grant.identity} in {presence.account}")
        resource = pre_state.get("resource")
        if not resource:
            return Outcome(
                "manual",
                f"{grant.identity} no longer exists in {presence.account}: add them again by hand",
                steps=[
                    f"Create {grant.identity} in {presence.account} with role {pre_state.get('role', grant.role)}."
                ],
            )
        body = {"schemas": [USER_SCHEMA], **resource, "active": True}
        self.client.json("POST", "Users", json=body, headers={"Content-Type": self.config()["media_type"]})
        log.info("re-created SCIM user %s on %s", grant.identity, presence.id)
        return Outcome("done", f"re-created {grant.identity} in {presence.account}")

    def add_admin(self, presence: Presence, person: Person) -> Outcome:
        """SCIM provisions users, not administrators of the service: a person does this."""
        return Outcome(
            "manual",
            f"SCIM cannot make {person.name} an administrator of {presence.account}: do it by hand",
            steps=[
                f"In {presence.account}, give {person.name} <{person.email}> the administrator role.",
                "Run relevo again: the leaver is deactivated once another administrator exists.",
            ],
        )

    def _get(self, member_id: str) -> dict[str, Any] | None:
        if not member_id:
            return None
        response = self.client.request("GET", f"Users/{quote(member_id, safe='')}", allow=(404,))
        return None if response.status_code == 404 else response.json()

    def _set_active(self, path: str, *, active: bool) -> requests.Response:
        """PATCH `active` where the service supports PATCH, else GET the user and PUT it back with `active` set.

        Setting `active` is idempotent, so a 5xx or timeout may be retried safely.
        """
        headers = {"Content-Type": self.config()["media_type"]}
        if self.config()["patch"]:
            return self.client.request(
                "PATCH", path, json=active_patch(active), headers=headers, allow=(404,), idempotent=True
            )
        current = self.client.request("GET", path, allow=(404,))
        if current.status_code == 404:
            return current
        user = {
            k: v for k, v in (current.json() or {}).items() if k != "meta"
        }  # meta is read-only (RFC 7643 §3.1)
        return self.client.request(
            "PUT", path, json={**user, "active": active}, headers=headers, allow=(404,), idempotent=True
        )
