"""Meta: Facebook Page roles (`assigned_users`) and Meta Business users (`business_users`, `pending_users`).

Graph API answers errors with a JSON body whose `code` says what happened, often
under HTTP 400: `graph_error` reads throttles (codes 4, 17, 32, 613 and the
business-use-case codes 80000-80014), expired tokens (190), missing permissions
(10, 200-299) and error 100/33 as the HTTP status they mean (`ErrorBody.means`), so the
shared transport's one retry policy applies, while the error keeps the status Meta sent
and the code beside it ("(Graph code 4: rate limit) (HTTP 400)"). Meta asks callers to stop
once throttled ("more calls extend the block"), and publishes how close an app is:
`UsagePacer` reads X-App-Usage / X-Business-Use-Case-Usage and holds calls back instead
of hammering.

Error 100/33 means "does not exist, OR cannot be loaded due to missing permissions, OR
does not support this operation", and a Page DELETE may answer `success: false`: neither
says the role is gone. Both are reported as "already gone" only as a claim; the flow
confirms every removal against a fresh member list (`holders`) before recording it done.

No machine-readable spec: the requests follow Meta's own Business SDK
(facebook/facebook-python-business-sdk v25.0.x: adobjects/page.py `get_assigned_users`
{business}, `delete_assigned_users` {user} only, `create_assigned_user` {user, tasks};
adobjects/business.py `get_business_users`, `create_business_user` {email, role},
`get_pending_users` {email}; adobjects/businessrolerequest.py `api_delete`;
adobjects/page.py Field `access_token`) and these pages:
https://developers.facebook.com/docs/graph-api/reference/page/assigned_users/
https://developers.facebook.com/docs/marketing-api/reference/business/business_users
https://developers.facebook.com/docs/marketing-api/reference/business/pending_users/
https://developers.facebook.com/docs/pages-api/getting-started (Page access tokens)
https://developers.facebook.com/docs/graph-api/overview/rate-limiting
https://developers.facebook.com/docs/graph-api/guides/error-handling

Kept as one module: one vendor's client (Pages, Instagram, Business Manager share Graph, its errors and
its usage pacer), with the documented facts it relies on beside the calls.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import requests

from relevo.connectors.errors import PermissionDenied, RateLimited
from relevo.connectors.http import (
    MAX_WAIT,
    BearerToken,
    CursorPaginator,
    ErrorBody,
    HttpClient,
    at,
    dig,
    error_body,
    json_body,
    paginate,
)
from relevo.connectors.versions import VERSIONS
from relevo.model import WHERE, Grant, Outcome, Person, Presence, snapshot

log = logging.getLogger("relevo.connectors.meta")

GRAPH_HOST = "https://graph.facebook.com"
GRAPH = f"{GRAPH_HOST}/{VERSIONS['meta'].version}"  # the default base URL: host and Graph version
# 4 app, 17 user, 32 Pages (user token), 613 custom; 80000-80014 business use case limits
# (80001 Pages, 80002 Instagram, 80004 ads management, 80014 catalog batch, ...).
THROTTLE_CODES = {4, 17, 32, 613} | set(range(80000, 80015))
PERMISSION_CODES = {10} | set(range(200, 300))
TOKEN_CODE = 190
# Page tasks; MANAGE is the Page's full control (admin).
ADMIN_TASK = "MANAGE"


# Meta measures usage over a rolling window: one hour for app and most business use case limits
# (UNCONFIRMED for every use case type; `usage_window_seconds` in a presence's settings changes it).
USAGE_WINDOW = 3600.0


SHARE_MARGIN = 3.0  # percent of the budget a pacer leaves unused


class UsagePacer:
    """Holds Graph calls back when Meta's usage headers say the app is near or at its limit.

    One pacer is shared by every connector using the same token (Meta counts per app and
    per business), so parallel revocations slow down together. Meta publishes no fixed limit,
    so the budget (calls per window) is estimated from how much our calls moved the usage.
    Once known, our calls in the window are kept under our share of it (the budget less what
    others had used, less a margin): a burst that would fill the window waits for its first
    calls to leave it instead of reaching 100 % and being blocked for Meta's estimate (whole
    minutes). Near the limit, calls are also spaced at the rate the budget comes back.
    """

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        near: float = 90.0,
        near_pause: float = 2.0,
        blocked_pause: float = 300.0,
        max_wait: float = MAX_WAIT,
        window: float = USAGE_WINDOW,
    ) -> None:
        self.sleep = sleep
        self.clock = clock
        self.near = near  # percent of any quota at which calls are spaced out
        self.near_pause = near_pause  # seconds between calls while near
        self.blocked_pause = blocked_pause  # at 100% with no estimate from Meta
        self.max_wait = (
            max_wait  # the transport's longest wait before a call; longer is refused without calling
        )
        self.window = window  # seconds over which Meta counts usage
        self.usage = 0.0
        self.budget: float | None = (
            None  # calls per window, estimated from our calls and the usage they caused
        )
        self._calls = 0
        self._started: float | None = None
        self._usage_before = 0.0  # usage at our first answer: what others (or earlier runs) had used
        self.spacing = 0.0  # near the limit: seconds between two calls through this pacer
        self._ours: collections.deque[float] = (
            collections.deque()
        )  # when our calls in the window were answered
        self.steady = False  # our share of the window has been full: calls go at the budget's pace
        self._until = 0.0
        self._lock = threading.Lock()

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read the usage headers of any Graph answer and set the next allowed call time."""
        usage, regain_minutes = read_usage(headers)
        with self._lock:
            self.usage = usage
            now = self.clock()
            if self._started is None:
                self._started, self._usage_before = now, usage
            self._calls += 1
            self._ours.append(now)
            moved = usage - self._usage_before
            if (
                moved >= 10 and now - self._started < self.window / 2
            ):  # our calls, surely all still in the window
                self.budget = self._calls * 100.0 / moved
            self.spacing = 0.0
            if regain_minutes > 0:
                pause = regain_minutes * 60.0
            elif (
                usage >= 100 and not self.budget
            ):  # full, and no idea how fast it empties: Meta's default block
                pause = self.blocked_pause
            elif usage >= self.near:  # (100 % with no throttle error yet too)
                pause = self.spacing = self.near_spacing()
            else:
                return
            self._until = max(self._until, now + pause)

    def near_spacing(self) -> float:
        """Seconds between calls near the limit: the budget's own pace, or without an estimate the cautious pause."""
        return min(self.near_pause, self.window / self.budget) if self.budget else self.near_pause

    def window_wait(self, now: float) -> float:
        """Seconds until our oldest call leaves the window, once our calls in it fill our share (else 0).

        The margin covers calls in flight from parallel threads and the usage's rounding to whole percent.
        Once the share has been full, calls go on at the budget's pace until ours have all left the
        window: the window then frees a slot at a time instead of a burst's worth at once.
        """
        while self._ours and self._ours[0] <= now - self.window:
            self._ours.popleft()
        if not self._ours:  # a new batch: what others use, and so our share, is measured again
            self.steady = False
            self._started, self._calls = None, 0
        if (
            not self.budget
            or len(self._ours) < self.budget * (100.0 - self._usage_before - SHARE_MARGIN) / 100.0
        ):
            return 0.0
        self.steady = True
        return self._ours[0] + self.window - now

    def throttled(self, headers: Mapping[str, str]) -> float:
        """A throttle error arrived: block for Meta's estimate (or the default) and return the seconds."""
        usage, regain_minutes = read_usage(headers)
        pause = regain_minutes * 60.0 if regain_minutes > 0 else self.blocked_pause
        with self._lock:
            self.usage = max(usage, 100.0)
            self._until = max(self._until, self.clock() + pause)
            return self._until - self.clock()

    def wait(self) -> None:
        """Before a call: sleep out a short pause; refuse (without calling Meta) a long one.

        Near the limit each caller takes the next free slot, so parallel revocations sharing
        this pacer are spaced out together rather than all passing at once.
        """
        with self._lock:
            now = self.clock()
            start = max(now, self._until, now + self.window_wait(now))  # when this call may go
            remaining = start - now
            if remaining > self.max_wait:
                raise RateLimited(
                    f"paused: Meta usage at {self.usage:.0f}%, calls resume in {remaining:.0f} s",
                    vendor="meta",
                    retry_after=remaining,
                )
            spacing = self.spacing or (self.window / self.budget if self.steady and self.budget else 0.0)
            if spacing:
                self._until = start + spacing
        if remaining > 0:
            self.sleep(remaining)


def read_usage(headers: Mapping[str, str]) -> tuple[float, float]:
    """(highest usage percent, longest estimated_time_to_regain_access in minutes) from Graph headers."""
    usage, regain = 0.0, 0.0
    for name in ("X-App-Usage", "X-Page-Usage", "X-Ad-Account-Usage"):
        row = _json_header(headers.get(name))
        if isinstance(row, dict):
            usage = max([usage] + [float(v) for k, v in row.items() if k in _PERCENT_KEYS and _number(v)])
    buc = _json_header(headers.get("X-Business-Use-Case-Usage"))
    if isinstance(buc, dict):
        for rows in buc.values():
            for row in rows if isinstance(rows, list) else []:
                if not isinstance(row, dict):
                    continue
                usage = max([usage] + [float(v) for k, v in row.items() if k in _PERCENT_KEYS and _number(v)])
                if _number(row.get("estimated_time_to_regain_access")):
                    regain = max(regain, float(row["estimated_time_to_regain_access"]))
    return usage, regain


_PERCENT_KEYS = {"call_count", "total_cputime", "total_time", "acc_id_util_pct"}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_header(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def graph_meaning(error: ErrorBody) -> tuple[int | None, str | None]:
    """The HTTP status a Graph error code stands for, and its words; (None, None) when the status says it.

    Graph answers throttles, expired tokens and missing permissions as HTTP 400/403 with a code; relevo
    classifies by the code and keeps the status Meta sent.
    """
    code, _, sub = (error.code or "").partition("/")
    number = int(code) if code.isdigit() else None
    if number in THROTTLE_CODES:
        return 429, "rate limit"
    if number == TOKEN_CODE:
        return 401, "invalid or expired token"
    if number in PERMISSION_CODES:
        return 403, "missing permission"
    if number == 100 and sub == "33":  # does not exist, OR no permission to load it, OR unsupported: a claim
        return 404, "does not exist or cannot be loaded"
    return None, None


def graph_error(pacer: UsagePacer) -> Callable[[requests.Response], ErrorBody]:
    """The reader of Graph error bodies `{"error": {"message", "code", "error_subcode", "fbtrace_id"}}`.

    A throttle code blocks the pacer for Meta's estimate and hands that wait on as the error's
    Retry-After (Graph sends none), so the transport and the pacer wait it once, together.
    """

    def parse(response: requests.Response) -> ErrorBody:
        error = error_body(
            response,
            message=[("error", "message")],
            label="Graph code",
            code=[("error", "code"), ("error", "error_subcode")],
            request_id=[("error", "fbtrace_id")],
            headers=["x-fb-trace-id"],
        )
        means, meaning = graph_meaning(error)
        wait = pacer.throttled(response.headers) if means == 429 else None
        return replace(error, means=means, meaning=meaning, retry_after=wait)

    return parse


def graph_hook(pacer: UsagePacer) -> Callable[..., requests.Response]:
    """A requests response hook: each Graph answer's usage headers feed the pacer (answers stay as sent)."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        pacer.observe(response.headers)
        return response

    return hook


_PACERS: dict[str, UsagePacer] = {}
_PACERS_LOCK = threading.Lock()


def shared_pacer(
    base_url: str, token: str, sleep: Callable[[float], None] = time.sleep, window: float = USAGE_WINDOW
) -> UsagePacer:
    """One pacer per Meta endpoint and token (the app's quota is shared), keyed by a digest, never the token."""
    key = hashlib.sha256(f"{base_url}\n{token}".encode()).hexdigest()[:16]
    with _PACERS_LOCK:
        if key not in _PACERS:
            _PACERS[key] = UsagePacer(sleep=sleep, window=window)
        return _PACERS[key]


def graph_client(base_url: str, token: str, pacer: UsagePacer, sleep: Callable[[float], None]) -> HttpClient:
    """The transport on the pacer's clock: a block the pacer has waited out is not waited again."""
    session = requests.Session()
    session.hooks["response"].append(graph_hook(pacer))
    return HttpClient(
        "meta",
        base_url,
        auth=BearerToken(token),
        error_parser=graph_error(pacer),
        sleep=sleep,
        session=session,
        clock=pacer.clock,
    )


def graph_base_url(settings: Mapping[str, Any]) -> str:
    """The Graph base URL of a presence: `base_url` (host, default graph.facebook.com) and `graph_version`.

    A `base_url` that already ends in a version (`.../v25.0`, the older form) is used as it is,
    unless `graph_version` names another one: then the setting wins.
    """
    base = str(settings.get("base_url") or GRAPH_HOST).rstrip("/")
    version = str(settings.get("graph_version") or "")
    head, _, tail = base.rpartition("/")
    if tail[:1] == "v" and tail[1:].replace(".", "").isdigit():
        return f"{head}/{version}" if version else base
    return f"{base}/{version or VERSIONS['meta'].version}"


class _Graph:
    """What both Meta connectors share: a paced client and cursor pagination."""

    platform = "meta"
    by_hand = frozenset({"add_admin"})  # Page: by hand; business: an invitation the person must accept

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        pacer: UsagePacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.pacer = pacer or UsagePacer(sleep=sleep)
        self.client = graph_client(base_url, token, self.pacer, sleep)

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        self.pacer.wait()
        return self.client.request(method, path, **kwargs)

    def pages(self, path: str, params: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
        """All rows of a Graph edge, following `paging.cursors.after` (never a full `next` URL)."""
        rows: list[dict[str, Any]] = []
        # `after` counts only while Graph also gives `paging.next` (its sign of a further page)
        pages = CursorPaginator(
            lambda body: dig(body, "paging", "cursors", "after") if dig(body, "paging", "next") else None,
            "after",
        )
        for body in paginate(
            self.client,
            "GET",
            path,
            pages,
            params={**params, "limit": 100},
            call=lambda *args, **kw: self.call(*args, **kw).json(),
            **kwargs,
        ):
            rows += body.get("data") or []
        return rows

    def holders(self, presence: Presence) -> set[str]:
        """Member ids holding a grant now, from one fresh read: what confirms a removal."""
        return {grant.member_id for grant in self.members(presence)}  # type: ignore[attr-defined]


def _gone_or_refused(response: requests.Response) -> str | None:
    """Why a DELETE may have removed nothing: 100/33 (or a 404) or `success: false`; None if it removed."""
    body = json_body(response)
    code = (at(body, ("error", "code")), at(body, ("error", "error_subcode")))
    if response.status_code == 404 or code == (100, 33):
        return "Meta answered error 100/33 (does not exist, or no permission to load it)"
    if isinstance(body, dict) and body.get("success") is False:
        return "Meta answered success: false"
    return None


class MetaPageConnector(_Graph):
    """People with tasks on a Facebook Page (business and system users assigned to it).

    settings: page_id, business_id, token (a system user's), base_url, graph_version. The Page
    edges need a Page access token (the system user assigned to the Page with the MANAGE task,
    `pages_manage_metadata`): it is derived from the system-user token with
    `GET /{page-id}?fields=access_token` once per connector (one run) and sent on Page calls only.
    Rows carry a business-scoped user id and name, not an e-mail: map leavers in the registry's
    `identities` (member = that id).
    """

    removal_needs = (
        "the token must be a system user's assigned to the Page with full control (MANAGE task) "
        "and the app needs pages_manage_metadata; or remove the person in Meta Business Suite "
        "(Settings > Pages > People)"
    )

    def __init__(self, base_url: str, token: str, page_id: str, business_id: str, **kwargs: Any) -> None:
        super().__init__(base_url, token, **kwargs)
        self.page_id = page_id
        self.business_id = business_id
        self._page_token: BearerToken | None = None
        self._token_lock = threading.Lock()

    def page_auth(self) -> BearerToken:
        """The auth for Page edges: the Page token, derived once and cached (redacted like the system user's)."""
        with self._token_lock:
            if self._page_token is None:
                body = self.call("GET", self.page_id, params={"fields": "access_token"}).json() or {}
                token = body.get("access_token") if isinstance(body, dict) else None
                if not token:
                    raise PermissionDenied(
                        f"GET {self.page_id}?fields=access_token: no Page access token for this token: assign the "
                        "system user to the Page with the MANAGE task and grant pages_manage_metadata",
                        vendor="meta",
                        status=403,
                    )
                self._page_token = BearerToken(str(token))
            return self._page_token

    def members(self, presence: Presence) -> list[Grant]:
        rows = self.pages(
            f"{self.page_id}/assigned_users",
            {"business": self.business_id, "fields": "id,name,tasks,user_type"},
            auth=self.page_auth(),
        )
        grants = []
        for row in rows:
            tasks = [str(t) for t in row.get("tasks") or []]
            grant = Grant(
                presence_id=presence.id,
                member_id=str(row["id"]),
                identity=str(row.get("name") or row["id"]),
                role=", ".join(tasks) or "assigned",
                is_admin=ADMIN_TASK in tasks,
                display_name=str(row.get("name") or ""),
            )
            grants.append(
                replace(grant, pre_state=snapshot(grant, tasks=tasks, user_type=row.get("user_type")))
            )
        return grants

    def revoke(self, presence: Presence, grant: Grant) -> Outcome:
        """`DELETE /{page-id}/assigned_users` with `user` only (the SDK's `delete_assigned_users` takes no `business`).

        An answer that removed nothing (100/33, `success: false`) is reported as "already gone" with what
        Meta said; the flow's fresh read then decides whether it is done or failed.
        """
        response = self.call(
            "DELETE",
            f"{self.page_id}/assigned_users",
            params={"user": grant.member_id},
            auth=self.page_auth(),
            allow=(404,),
        )
        name = grant.display_name or grant.identity
        why = _gone_or_refused(response)
        if why:
            return Outcome("already_done", f"{name} has no task on the Page any more ({why})")
        log.info("removed Page tasks of %s on %s", grant.member_id, presence.id)
        return Outcome(
            "done", f"removed {grant.role} tasks of {name} on the Page", pre_state=dict(grant.pre_state)
        )

    def restore(self, presence: Presence, grant: Grant, pre_state: dict[str, Any]) -> Outcome:
        """`POST /{page-id}/assigned_users` {user, tasks} (the SDK's `create_assigned_user`)."""
        tasks = pre_state.get("tasks") or []
        self.call(
            "POST",
            f"{self.page_id}/assigned_users",
            data={"user": grant.member_id, "tasks": json.dumps(tasks)},
            auth=self.page_auth(),
        )
        return Outcome(
            "done",
            f"gave back tasks {', '.join(tasks)} on the Page to {grant.display_name or grant.identity}",
        )

    def add_admin(self, presence: Presence, person: Person) -> Outcome:
        """Page tasks need the person's business-scoped user id, which relevo does not know: a person does it."""
        return Outcome(
            "manual",
            f"make {person.name} a Page admin (full control) before removing the leaver",
            steps=[
                f"Open {WHERE['facebook_page']} for “{presence.account}”.",
                f"Assign {person.name} <{person.email}> with full control (MANAGE).",
                "Run relevo again: the leaver is removed once another admin exists.",
            ],
        )


INVITATION = "invitation"  # pre_state `kind` of a pending invitation (a Business Role Request)


def inviter(created_by: Any) -> dict[str, str]:
    """`added_by` from a Business Role Request's `created_by` (SDK businessrolerequest.py Field.created_by: who
    sent the invitation, typed only "Object": {id, name} like Graph's other user references is UNCONFIRMED, so a
    plain string is read too), for the sweep's "who re-added them"."""
    if isinstance(created_by, dict):
        name, ident = created_by.get("name"), created_by.get("id")
        text = f"{name} (Meta id {ident})" if name and ident else str(name or ident or "")
    else:
        text = str(created_by or "")
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())[:200]
    return {"added_by": text} if text else {}


class MetaBusinessConnector(_Graph):
    """People of a Meta Business portfolio (its Facebook and Instagram assets follow from the role).

    settings: business_id, token, base_url, graph_version. Business users carry `email` and `role`
    (ADMIN/EMPLOYEE, ...). Invitations not yet accepted (`/{business-id}/pending_users`, Business
    Role Requests) are grants too: a leaver's open invitation is withdrawn with the rest.
    """

    removal_needs = (
        "the token needs business_management and must be an admin system user of the business; "
        "or remove the person in Meta Business Suite (Settings > People)"
    )

    def __init__(self, base_url: str, token: str, business_id: str, **kwargs: Any) -> None:
        super().__init__(base_url, token, **kwargs)
        self.business_id = business_id

    def members(self, presence: Presence) -> list[Grant]:
        rows = self.pages(
            f"{self.business_id}/business_users", {"fields": "id,name,email,role,marked_for_removal"}
        )
        grants = []
        for row in rows:
            if row.get("marked_for_removal"):
                continue  # already on its way out: Meta removes it (UNCONFIRMED how long access lasts meanwhile)
            role = str(row.get("role") or "EMPLOYEE")
            grant = Grant(
                presence_id=presence.id,
                member_id=str(row["id"]),
                identity=str(row.get("email") or row.get("name") or row["id"]),
                role=role,
                is_admin=role.upper() == "ADMIN",
                display_name=str(row.get("name") or ""),
            )
            grants.append(replace(grant, pre_state=snapshot(grant, email=row.get("email"))))
        for row in self.pages(
            f"{self.business_id}/pending_users", {"fields": "id,email,role,status,created_by"}
        ):
            role = str(row.get("role") or "EMPLOYEE")
            email = str(row.get("email") or "")
            # An invitation gives no access until accepted: never counted as an admin who stays.
            grant = Grant(
                presence_id=presence.id,
                member_id=str(row["id"]),
                identity=email or str(row["id"]),
                role=f"invited as {role}",
                is_admin=False,
            )
            grants.append(
                replace(
                    grant,
                    pre_state=snapshot(
                        grant,
                        email=email,
                        kind=INVITATION,
                        invited_role=role,
                        **inviter(row.get("created_by")),
                    ),
                )
            )
        return grants

    def revoke(self, presence: Presence, grant: Grant) -> Outcome:
        """`DELETE /{business-user-id}`, or for an invitation `DELETE /{business-role-request-id}`.

        An answer that removed nothing (100/33, `success: false`) is reported as "already gone" with
        what Meta said; the flow's fresh read then decides whether it is done or failed.
        """
        response = self.call("DELETE", grant.member_id, allow=(404,))
        invitation = grant.pre_state.get("kind") == INVITATION
        why = _gone_or_refused(response)
        if why:
            what = "has no open invitation to" if invitation else "is no longer a user of"
            return Outcome("already_done", f"{grant.identity} {what} the business ({why})")
        log.info(
            "removed business %s %s on %s",
            "invitation" if invitation else "user",
            grant.member_id,
            presence.id,
        )
        if invitation:
            return Outcome(
                "done",
                f"withdrew the open invitation of {grant.identity} ({grant.role}) to the Meta business",
                pre_state=dict(grant.pre_state),
            )
        return Outcome(
            "done",
            f"removed {grant.identity} ({grant.role}) from the Meta business",
            pre_state=dict(grant.pre_state),
        )

    def restore(self, presence: Presence, grant: Grant, pre_state: dict[str, Any]) -> Outcome:
        """Invite the person again with the recorded role (`POST /{business-id}/business_users`)."""
        email = pre_state.get("email") or grant.identity
        role = str(pre_state.get("invited_role") or pre_state.get("role") or grant.role)
        self._invite(email, role)
        return Outcome(
            "done", f"invited {email} back as {role}; they get access when they accept Meta's e-mail"
        )

    def add_admin(self, presence: Presence, person: Person) -> Outcome:
        """Invite the successor as ADMIN; the leaver stays until they accept (a rerun then removes them)."""
        self._invite(person.email, "ADMIN")
        return Outcome(
            "manual",
            f"invited {person.name} as business admin; waiting for them to accept",
            steps=[
                f"{person.name} <{person.email}> accepts the invitation Meta e-mailed them.",
                "Run relevo again: the leaver is removed once another admin exists.",
            ],
        )

    def _invite(self, email: str, role: str) -> None:
        # POST /{business_id}/business_users {email, role} creates an invitation (Business Role Request).
        # UNCONFIRMED that an app token may invite with role ADMIN; Meta answers 403/code 200 if not.
        self.call("POST", f"{self.business_id}/business_users", data={"email": email, "role": role})
