"""TikTok Business Center members (API for Business v1.3, `Access-Token` header).

TikTok answers HTTP 200 with `{"code", "message", "request_id", "data"}` and reports
errors by `code` != 0. `tiktok_error` reads such answers as the HTTP status they mean
(throttle → 429, token → 401, permission → 403, system → 500, other → 400; the client is
told `errors_in_body`), so the shared transport's one retry policy and typed errors apply,
while the error keeps the status TikTok sent ("(TikTok code 40100: rate limit) (HTTP 200)").

Member rows (`relation_status`): BOUND members hold access; PENDING rows are invitations
not yet accepted (they may carry no `user_id`: they are revoked by `user_email`, which
`/bc/member/delete/` accepts instead of `user_id`); UNBOUND and REJECTED rows hold nothing.

Requests follow TikTok's official SDK definitions (tiktok/tiktok-business-api-sdk,
yml_files/bc_member_get.yml, bc_member_delete.yml, bc_member_invite.yml, MIT), vendored
under tests/specs/tiktok/ and checked in the tests. Docs:
https://business-api.tiktok.com/portal/docs?id=1739939404802049 (BC Member Get) and the
BC Members pages beside it (/bc/member/delete/, /bc/member/invite/).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import requests

from relevo.connectors.errors import InvalidRequest
from relevo.connectors.http import (
    ApiKeyHeader,
    ErrorBody,
    HttpClient,
    PageNumberPaginator,
    at,
    dig,
    error_body,
    json_body,
    paginate,
)
from relevo.model import Grant, Outcome, Person, Presence, snapshot

log = logging.getLogger("relevo.connectors.tiktok")

BASE_URL = "https://business-api.tiktok.com/open_api/v1.3"
PAGE_SIZE = 50
# TikTok return codes → the HTTP status they mean. 40100 (request frequency over the
# limit) is documented; the token and permission codes are UNCONFIRMED beyond their range.
THROTTLE_CODES = {40100, 40133}
TOKEN_CODES = {40102, 40104, 40105, 40106}
PERMISSION_CODES = {40001}


def meaning_of(code: int) -> tuple[int, str | None]:
    """The HTTP status a TikTok return code stands for, and its words (TikTok answers HTTP 200 with them)."""
    if code in THROTTLE_CODES:
        return 429, "rate limit"
    if code in TOKEN_CODES:
        return 401, "invalid or expired token"
    if code in PERMISSION_CODES:
        return 403, "missing permission"
    if code >= 50000:
        return 500, "server error"
    return 400, None  # a refusal: the code and TikTok's message say which


def tiktok_error(response: requests.Response) -> ErrorBody:
    """`{code, message, request_id, data}`: an answer whose `code` is not 0 is an error whatever its HTTP
    status (TikTok sends 200); the status is kept as sent and the class follows the code."""
    error = error_body(
        response,
        message=[("message",)],
        code=[("code",)],
        label="TikTok code",
        request_id=[("request_id",)],
        headers=["X-Tt-Logid"],
    )
    code = at(json_body(response), ("code",))
    if not 200 <= response.status_code < 300 or type(code) is not int or not code:
        return error  # no code, or an HTTP error status that already says what it is
    means, meaning = meaning_of(code)
    return replace(error, means=means, meaning=meaning)


LIVE = {"BOUND", "PENDING"}  # rows that hold access now or will once accepted; UNBOUND/REJECTED hold nothing
BY_EMAIL = "email:"  # member id prefix of a pending invitation listed without a user_id


class TikTokConnector:
    """Members of one Business Center; settings: bc_id, token, base_url."""

    platform = "tiktok"
    removal_needs = (
        "the token must belong to a Business Center admin of this Business Center (BC member "
        "management); or remove the person in Business Center > Users"
    )
    by_hand = frozenset({"add_admin"})  # an invitation the person must accept

    def __init__(
        self, base_url: str, token: str, bc_id: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.bc_id = str(bc_id)
        self.client = HttpClient(
            "tiktok",
            base_url,
            auth=ApiKeyHeader("Access-Token", token),
            error_parser=tiktok_error,
            sleep=sleep,
            errors_in_body=True,
        )

    def members(self, presence: Presence) -> list[Grant]:
        """Bound members and pending invitations (a pending invitation is revoked too); only bound ADMINs are admins."""
        grants = []
        for row in self._list():
            status = str(row.get("relation_status") or "BOUND")
            member_id = member_id_of(row)
            if status not in LIVE or member_id is None:
                continue
            role = str(row.get("user_role") or "STANDARD")
            email = str(row.get("user_email") or "")
            grant = Grant(
                presence_id=presence.id,
                member_id=member_id,
                identity=email or member_id,
                role=role,
                is_admin=role == "ADMIN" and status == "BOUND",
                display_name=str(row.get("user_name") or ""),
            )
            grants.append(
                replace(
                    grant,
                    pre_state=snapshot(
                        grant,
                        relation_status=status,
                        user_email=email,
                        ext_user_role=row.get("ext_user_role"),
                    ),
                )
            )
        return grants

    def holders(self, presence: Presence) -> set[str]:
        """Member ids of bound members and pending invitations, from one fresh read."""
        return {g.member_id for g in self.members(presence)}

    def revoke(self, presence: Presence, grant: Grant) -> Outcome:
        """`POST /bc/member/delete/` by `user_id`, or by `user_email` for an invitation listed without one.

        A refusal is checked against the live list: a member no longer listed is already gone (the flow
        then confirms every removal with a fresh read).
        """
        if grant.member_id.startswith(BY_EMAIL):
            body = {"bc_id": self.bc_id, "user_email": grant.member_id[len(BY_EMAIL) :]}
        else:
            body = {"bc_id": self.bc_id, "user_id": grant.member_id}
        try:
            self.client.json("POST", "bc/member/delete/", json=body)
        except InvalidRequest:
            # The "not a member" code is UNCONFIRMED: read the live list instead of guessing from the code.
            rows = self._list(keyword=grant.identity)
            if not any(
                member_id_of(row) == grant.member_id and str(row.get("relation_status") or "BOUND") in LIVE
                for row in rows
            ):
                return Outcome(
                    "already_done", f"{grant.identity} is no longer a member of the Business Center"
                )
            raise
        pending = grant.pre_state.get("relation_status") == "PENDING"
        log.info(
            "removed Business Center %s %s on %s",
            "invitation" if pending else "member",
            grant.member_id,
            presence.id,
        )
        what = "withdrew the pending invitation of" if pending else "removed"
        return Outcome(
            "done",
            f"{what} {grant.identity} ({grant.role}) from the Business Center",
            pre_state=dict(grant.pre_state),
        )

    def restore(self, presence: Presence, grant: Grant, pre_state: dict[str, Any]) -> Outcome:
        """Invite the person again with the recorded role (`POST /bc/member/invite/`)."""
        role = str(pre_state.get("role") or grant.role)
        self._invite(str(pre_state.get("user_email") or grant.identity), role)
        return Outcome("done", f"invited {grant.identity} back as {role}; they get access when they accept")

    def add_admin(self, presence: Presence, person: Person) -> Outcome:
        """Invite the successor as ADMIN; the leaver stays until the invitation is accepted."""
        self._invite(person.email, "ADMIN")
        return Outcome(
            "manual",
            f"invited {person.name} as Business Center admin; waiting for them to accept",
            steps=[
                f"{person.name} <{person.email}> accepts TikTok's invitation e-mail.",
                "Run relevo again: the leaver is removed once another admin exists.",
            ],
        )

    def _invite(self, email: str, role: str) -> None:
        # Body per the BC Member Invite docs: {bc_id, emails, user_role}.
        self.client.json(
            "POST", "bc/member/invite/", json={"bc_id": self.bc_id, "emails": [email], "user_role": role}
        )

    def _list(self, keyword: str | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {"bc_id": self.bc_id, "page": 1, "page_size": PAGE_SIZE}
        if keyword:
            params["filtering"] = json.dumps({"keyword": keyword})
        pages = PageNumberPaginator(lambda body: int(dig(body, "data", "page_info", "total_page") or 1))
        for body in paginate(self.client, "GET", "bc/member/get/", pages, params=params):
            rows += dig(body, "data", "list") or []
        return rows


def member_id_of(row: dict[str, Any]) -> str | None:
    """A row's member id: its `user_id`, or for an invitation without one `email:<address>`; None if neither."""
    if row.get("user_id"):
        return str(row["user_id"])
    if row.get("user_email"):
        return BY_EMAIL + str(row["user_email"])
    return None
