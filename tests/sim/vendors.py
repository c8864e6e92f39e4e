"""The vendors' documented request and answer shapes, over in-memory state.

Sources (see ../shared/design/vendors-*.md and ../shared/vendor-specs/bamboohr-public.yaml):
BambooHR employees/tables/files, Meta Graph assigned_users/business_users, Hootsuite
organization members, TikTok Business Center members, HubSpot owners/search/batch and
associations, Microsoft Graph messages (drafts), Personio API v2 token/persons/employments and the
v1 document upload (tests/connectors/personio_contract.py). Only what relevo uses is modelled; an
unmodelled path answers 404 in the vendor's own error shape, so a wrong URL fails loudly.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import requests

from tests.sim.server import Request, Response, SlidingWindow, Vendor, retry_value

_ids = itertools.count(900_000_000_000)


def new_id() -> str:
    return str(next(_ids))


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    return value[7:] if value.lower().startswith("bearer ") else None


# ---------------------------------------------------------------- BambooHR


class BambooHR(Vendor):
    """`/api/v1/...` on the company's own host (the official spec's server), HTTP Basic with the API key.

    The old gateway form `/api/gateway.php/{company}/v1/...` is still served for registries that set it as base_url.
    """

    name = "bamboohr"
    PREFIX = r"^/api/(?:gateway\.php/[^/]+/)?v1"

    def __init__(self) -> None:
        super().__init__()
        self.employees: dict[str, dict[str, Any]] = {}  # id → field values
        self.tables: dict[str, dict[str, list[dict[str, Any]]]] = {}  # id → table → rows
        self.lists: list[dict[str, Any]] = []  # meta/lists (termination types ...)
        self.files: list[dict[str, Any]] = []
        p = self.PREFIX
        self.route("GET", p + r"/employees/([^/]+)", self.get_employee)
        self.route("GET", p + r"/employees/([^/]+)/tables/([A-Za-z]+)", self.get_table)
        self.route("POST", p + r"/employees/([^/]+)/files", self.upload_file)
        self.route("GET", p + r"/meta/lists", self.meta_lists)
        self.route("POST", p + r"/reports/custom", self.custom_report)

    def authenticate(self, request: Request) -> Response | None:
        value = request.headers.get("authorization", "")
        if value.lower().startswith("basic "):
            user = base64.b64decode(value[6:]).decode("utf-8", "replace").partition(":")[0]
            if self.token is None or user == self.token:
                return None
        return Response(401, None, {"X-BambooHR-Error-Message": "Invalid API key"})

    def not_found(self, request: Request) -> Response:
        return Response(404, None, {"X-BambooHR-Error-Message": "Not found"})

    def refuse(self, detail: str) -> Response:
        return Response(403, None, {"X-BambooHR-Error-Message": detail})

    def get_employee(self, request: Request, employee_id: str) -> Response:
        row = self.employees.get(employee_id)
        if row is None:
            return self.not_found(request)
        fields = [f for f in request.query.get("fields", "firstName,lastName").split(",") if f]
        if len(fields) > 400:
            return Response(400, None, {"X-BambooHR-Error-Message": "Too many fields"})
        return Response(200, {"id": employee_id, **{f: row.get(f) for f in fields}})

    def get_table(self, request: Request, employee_id: str, table: str) -> Response:
        """One employee's rows, or with the id "all" every employee's rows (each row names its employeeId)."""
        known = ("employmentStatus", "jobInfo", "compensation")
        if employee_id == "all":
            if table not in known and not any(table in t for t in self.tables.values()):
                return self.not_found(request)
            return Response(
                200,
                [
                    dict(r, employeeId=owner)
                    for owner in self.employees
                    for r in self.tables.get(owner, {}).get(table) or []
                ],
            )
        if employee_id not in self.employees:
            return self.not_found(request)
        rows = self.tables.get(employee_id, {}).get(table)
        if rows is None and table not in known:
            return self.not_found(request)
        return Response(200, [dict(r, employeeId=employee_id) for r in rows or []])

    def custom_report(self, request: Request) -> Response:
        """POST reports/custom (request-custom-report): JSON only when Content-Type is exactly application/json."""
        output = request.query.get("format", "").lower() or request.headers.get("accept", "")
        if output not in ("json", "application/json"):  # relevo asks only for JSON
            return Response(404, None, {"X-BambooHR-Error-Message": "Report format not found"})
        if request.headers.get("content-type", "") != "application/json":
            return Response(400, None, {"X-BambooHR-Error-Message": "Malformed XML"})
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Response(400, None, {"X-BambooHR-Error-Message": "Malformed JSON"})
        fields = [str(f) for f in body.get("fields") or []]
        if len(fields) > 400:
            return Response(400, None, {"X-BambooHR-Error-Message": "Too many fields"})
        wanted = (body.get("filters") or {}).get("employeeIds")
        ids = [i for i in self.employees if wanted is None or (i.isdigit() and int(i) in wanted)]
        # Report values are strings (the spec's additionalProperties: string): an empty field reads as "".
        rows = [
            {
                "id": i,
                **{f: "" if self.employees[i].get(f) is None else str(self.employees[i][f]) for f in fields},
            }
            for i in ids
        ]
        return Response(
            200,
            {
                "title": body.get("title") or "Report",
                "fields": [{"id": f, "type": "text", "name": f} for f in fields],
                "employees": rows,
            },
        )

    def upload_file(self, request: Request, employee_id: str) -> Response:
        if employee_id not in self.employees:
            return self.not_found(request)
        parts = multipart(request)
        if not parts.get("fileName") or not parts.get("file") or not parts.get("category"):
            return Response(
                400, None, {"X-BambooHR-Error-Message": "fileName, category and file are required"}
            )
        file_id = str(len(self.files) + 1)
        self.files.append(
            {
                "id": file_id,
                "employee_id": employee_id,
                "name": parts["fileName"].decode(),
                "category": parts["category"].decode(),
                "share": parts.get("share", b"no").decode(),
                "content": parts["file"],
            }
        )
        return Response(201, None, {"Location": f"/api/v1/employees/{employee_id}/files/{file_id}"})

    def meta_lists(self, request: Request) -> Response:
        return Response(200, self.lists)


def multipart(request: Request) -> dict[str, bytes]:
    """The fields of a multipart/form-data body, by name."""
    content_type = request.headers.get("content-type", "")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
    )
    if not message.is_multipart():
        return {}
    out = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            out[name] = part.get_payload(decode=True) or b""
    return out


# ---------------------------------------------------------------- HiBob


class HiBob(Vendor):
    """`/v1/people/search` and `/v1/docs/people/{id}/folders/{folderId}/upload`, HTTP Basic (id:token).

    Records are stored nested by category as the search answers them (connectors/hibob.py's docstring
    has the sources); search honours `showInactive` (false: active only, as documented), filters on
    `root.id` and leaves out fields it was not asked for, as Bob leaves out fields the service user
    may not see. `folders` lists the custom folder ids that exist.
    """

    name = "hibob"
    PREFIX = r"^/v1"

    def __init__(self) -> None:
        super().__init__()
        self.employees: dict[str, dict[str, Any]] = {}  # id -> nested record (with humanReadable)
        self.folders: set[str] = set()
        self.documents: list[dict[str, Any]] = []
        self.route("POST", self.PREFIX + r"/people/search", self.search)
        self.route("POST", self.PREFIX + r"/docs/people/([^/]+)/folders/([^/]+)/upload", self.upload)

    def authenticate(self, request: Request) -> Response | None:
        value = request.headers.get("authorization", "")
        if value.lower().startswith("basic "):
            token = base64.b64decode(value[6:]).decode("utf-8", "replace").partition(":")[2]
            if self.token is None or token == self.token:
                return None
        return Response(401, {"error": "Unauthorized"})

    def search(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("fields", []), list):
            return Response(400, {"error": "Invalid request body"})
        rows = [
            r
            for r in self.employees.values()
            if body.get("showInactive") or r.get("internal", {}).get("status") == "Active"
        ]
        for item in body.get("filters") or []:
            if item.get("fieldPath") != "root.id" or item.get("operator") != "equals":
                return Response(400, {"error": "unsupported filter"})
            rows = [r for r in rows if r["id"] in item.get("values", [])]
        return Response(200, {"employees": [self.only(r, body.get("fields") or []) for r in rows]})

    @staticmethod
    def only(record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        """The record reduced to the fields asked for (and their humanReadable copies)."""
        out: dict[str, Any] = {"id": record["id"]}
        for path in fields:
            parts = path.split(".")[1:] if path.startswith("root.") else path.split(".")
            for source, target in ((record, out), (record.get("humanReadable") or {}, None)):
                node: Any = source
                for part in parts:
                    node = node.get(part) if isinstance(node, dict) else None
                if node is None:
                    continue
                target = out if target is not None else out.setdefault("humanReadable", {})
                for part in parts[:-1]:
                    target = target.setdefault(part, {})
                target[parts[-1]] = node
        return out

    def upload(self, request: Request, employee_id: str, folder: str) -> Response:
        if employee_id not in self.employees or folder not in self.folders:
            return Response(404, {"error": "Not found"})
        parts = multipart(request)
        if not parts.get("file"):
            return Response(400, {"error": "file is required"})
        self.documents.append(
            {
                "id": len(self.documents) + 1,
                "employee_id": employee_id,
                "folder": folder,
                "content": parts["file"],
            }
        )
        return Response(200, {"id": len(self.documents)})


# ---------------------------------------------------------------- Meta Graph API


@dataclass
class MetaUsage:
    """Business Use Case usage: % of a window's call budget per business id (X-Business-Use-Case-Usage)."""

    calls_per_window: int = 0  # 0: no limit
    window: float = 60.0
    throttle_status: int = 400  # Graph answers throttling as an OAuthException with code 80001
    regain_minutes: int | None = None  # estimated_time_to_regain_access once blocked; None: from the window
    windows: dict[str, SlidingWindow] = field(default_factory=dict)


class Meta(Vendor):
    """Graph API: `/{version}/{page-or-ig-id}/assigned_users`, `/{business-id}/business_users|pending_users`,
    `GET /{page-id}?fields=access_token`, `DELETE /{id}`.

    As Meta documents: the Page edges answer only to a Page access token (derived from the system
    user's token with `GET /{page-id}?fields=access_token`; code 210 otherwise); a DELETE of what is
    not there is error 100/33. Pending invitations (Business Role Requests) are their own objects.
    """

    name = "meta"
    V = r"^(?:/v\d+\.\d+)?"

    def __init__(self) -> None:
        super().__init__()
        self.assets: dict[
            str, dict[str, Any]
        ] = {}  # page / IG asset id → {"business": id, "users": {bsuid: tasks}}
        self.businesses: dict[str, dict[str, dict[str, Any]]] = {}  # business id → bsuid → user
        self.pending: dict[str, dict[str, dict[str, Any]]] = {}  # business id → role request id → invitation
        self.page_tokens: dict[str, str] = {}  # issued Page access token → asset id
        self.usage = MetaUsage()
        v = self.V
        self.route("GET", v + r"/(\d+)/assigned_users", self.list_assigned)
        self.route("GET", v + r"/(\d+)/pending_users", self.list_pending)
        self.route("GET", v + r"/(\d+)", self.get_object)
        self.route("POST", v + r"/(\d+)/assigned_users", self.assign)
        self.route("DELETE", v + r"/(\d+)/assigned_users", self.unassign)
        self.route("GET", v + r"/(\d+)/business_users", self.list_business_users)
        self.route("POST", v + r"/(\d+)/business_users", self.add_business_user)
        self.route("DELETE", v + r"/(\d+)", self.delete_object)

    def token_of(self, request: Request) -> str | None:
        return request.query.get("access_token") or bearer(request) or request.form().get("access_token")

    def authenticate(self, request: Request) -> Response | None:
        token = self.token_of(request)
        if token and (self.token is None or token == self.token or token in self.page_tokens):
            return None
        return self.error(
            401, "Invalid OAuth access token - Cannot parse access token", "OAuthException", 190
        )

    def page_token_refused(self, request: Request, asset_id: str) -> Response | None:
        """Page edges need that Page's access token, not the system user's."""
        if self.page_tokens.get(self.token_of(request) or "") == asset_id:
            return None
        return self.error(
            400, "(#210) A page access token is required to request this resource.", "OAuthException", 210
        )

    def get_object(self, request: Request, object_id: str) -> Response:
        """`GET /{page-id}?fields=access_token`: the Page token of a system user assigned to the Page."""
        if object_id not in self.assets or request.query.get("fields") != "access_token":
            return self.error(
                400,
                f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation",
                "GraphMethodException",
                100,
                33,
            )
        issued = "EAAP" + uuid.uuid4().hex
        self.page_tokens[issued] = object_id
        return Response(200, {"access_token": issued, "id": object_id})

    @staticmethod
    def error(status: int, message: str, kind: str, code: int, subcode: int | None = None) -> Response:
        body: dict[str, Any] = {
            "message": message,
            "type": kind,
            "code": code,
            "fbtrace_id": uuid.uuid4().hex[:11],
        }
        if subcode is not None:
            body["error_subcode"] = subcode
        return Response(status, {"error": body})

    def not_found(self, request: Request) -> Response:
        return self.error(400, "Unknown path components", "OAuthException", 2500)

    def refuse(self, detail: str) -> Response:
        return self.error(
            403, f"(#200) Requires business_management permission: {detail}", "OAuthException", 200
        )

    def fault_response(self, kind: str, retry_after: float) -> Response:
        # Graph's own throttling is code 4/17/32/80001 (see `throttle`); an injected 429/503 is the
        # edge's answer: no Graph code, a Retry-After. A 500 is Graph's "unexpected error" (code 2).
        if kind == "500":
            return self.error(
                500, "An unexpected error has occurred. Please retry your request later.", "OAuthException", 2
            )
        return Response(
            int(kind),
            {
                "error": {
                    "message": "Please reduce the amount of data you're asking for, then retry your request"
                    if kind == "429"
                    else "Service unavailable"
                }
            },
            {"Retry-After": retry_value(retry_after)},
        )

    def business_of(self, request: Request) -> str:
        parts = [p for p in request.path.split("/") if p and not re.fullmatch(r"v\d+\.\d+", p)]
        first = parts[0] if parts else ""
        if first in self.businesses:
            return first
        if first in self.assets:
            return self.assets[first]["business"]
        for business, users in self.businesses.items():
            if first in users:
                return business
        return next(iter(self.businesses), "0")

    def throttle(self, request: Request, now: float) -> Response | None:
        if not self.usage.calls_per_window:
            return None
        business = self.business_of(request)
        window = self.usage.windows.setdefault(
            business, SlidingWindow(self.usage.calls_per_window, self.usage.window)
        )
        allowed, _, wait = window.take(now)
        if allowed:
            return None
        response = self.error(
            self.usage.throttle_status,
            "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
            "OAuthException",
            80001,
        )
        regain = (
            self.usage.regain_minutes
            if self.usage.regain_minutes is not None
            else max(1, int(wait // 60) + 1)
        )
        response.headers["X-Business-Use-Case-Usage"] = self.usage_header(business, now, regain)
        return response

    def usage_header(self, business: str, now: float, regain_minutes: int = 0) -> str:
        window = self.usage.windows.get(business)
        pct = 0 if window is None else min(100, round(100 * window.used(now) / window.limit))
        return json.dumps(
            {
                business: [
                    {
                        "type": "pages",
                        "call_count": pct,
                        "total_cputime": max(1, pct // 2),
                        "total_time": max(1, pct // 2),
                        "estimated_time_to_regain_access": regain_minutes,
                    }
                ]
            }
        )

    def decorate(self, request: Request, response: Response, now: float) -> None:
        if self.usage.calls_per_window:
            response.headers.setdefault(
                "X-Business-Use-Case-Usage", self.usage_header(self.business_of(request), now)
            )
        response.headers.setdefault("x-fb-trace-id", uuid.uuid4().hex[:11])

    def list_assigned(self, request: Request, asset_id: str) -> Response:
        asset = self.assets.get(asset_id)
        if asset is not None and (refused := self.page_token_refused(request, asset_id)):
            return refused
        if asset is None:
            return self.error(
                400,
                f"Unsupported get request. Object with ID '{asset_id}' does not exist",
                "GraphMethodException",
                100,
                33,
            )
        if request.query.get("business") not in (None, asset["business"]):
            return self.error(
                400, "(#100) Param business must be the business that owns the asset", "OAuthException", 100
            )
        users = self.businesses.get(asset["business"], {})
        rows = [
            {"id": uid, "name": users.get(uid, {}).get("name", ""), "tasks": list(tasks)}
            for uid, tasks in asset["users"].items()
        ]
        return page(request, rows)

    def assign(self, request: Request, asset_id: str) -> Response:
        asset = self.assets.get(asset_id)
        if asset is not None and (refused := self.page_token_refused(request, asset_id)):
            return refused
        args = {**request.form(), **request.query}
        user, tasks = args.get("user"), args.get("tasks", '["MANAGE"]')
        if asset is None or not user:
            return self.error(400, "(#100) Invalid parameter", "OAuthException", 100)
        asset["users"][user] = tuple(json.loads(tasks) if tasks.startswith("[") else tasks.split(","))
        return Response(200, {"success": True})

    def unassign(self, request: Request, asset_id: str) -> Response:
        asset = self.assets.get(asset_id)
        if asset is not None and (refused := self.page_token_refused(request, asset_id)):
            return refused
        user = {**request.form(), **request.query}.get("user")
        if asset is None or not user:
            return self.error(400, "(#100) Invalid parameter", "OAuthException", 100)
        asset["users"].pop(user, None)  # removing an absent user succeeds: the end state is the same
        return Response(200, {"success": True})

    def list_business_users(self, request: Request, business_id: str) -> Response:
        users = self.businesses.get(business_id)
        if users is None:
            return self.error(
                400,
                f"Unsupported get request. Object with ID '{business_id}' does not exist",
                "GraphMethodException",
                100,
                33,
            )
        wanted = request.query.get("fields", "id,name,email,role,marked_for_removal").split(",")
        rows = [{k: u[k] for k in wanted if k in u} for u in users.values()]
        return page(request, rows)

    def list_pending(self, request: Request, business_id: str) -> Response:
        """`GET /{business-id}/pending_users`: Business Role Requests {id, email, role, status, created_by}."""
        if business_id not in self.businesses:
            return self.error(
                400,
                f"Unsupported get request. Object with ID '{business_id}' does not exist",
                "GraphMethodException",
                100,
                33,
            )
        wanted = request.query.get("fields", "id,email,role,status").split(",")
        return page(
            request, [{k: r[k] for k in wanted if k in r} for r in self.pending.get(business_id, {}).values()]
        )

    def invite_pending(
        self, business_id: str, email: str, role: str = "EMPLOYEE", created_by: dict[str, str] | None = None
    ) -> str:
        """Seed an open invitation (what the Business Suite's "Add people" leaves until accepted); `created_by`
        is who sent it (a Business Role Request's field, {id, name})."""
        rid = new_id()
        self.pending.setdefault(business_id, {})[rid] = {
            "id": rid,
            "email": email,
            "role": role,
            "status": "PENDING",
            **({"created_by": created_by} if created_by else {}),
        }
        return rid

    def add_business_user(self, request: Request, business_id: str) -> Response:
        args = {**request.form(), **request.query}
        if business_id not in self.businesses or not args.get("email"):
            return self.error(400, "(#100) Invalid parameter", "OAuthException", 100)
        uid = new_id()
        self.businesses[business_id][uid] = {
            "id": uid,
            "name": args["email"].split("@")[0],
            "email": args["email"],
            "role": args.get("role", "EMPLOYEE"),
            "marked_for_removal": False,
        }
        return Response(200, {"id": uid})

    def delete_object(self, request: Request, object_id: str) -> Response:
        for invitations in self.pending.values():
            if invitations.pop(object_id, None) is not None:
                return Response(200, {"success": True})
        for users in self.businesses.values():
            if users.pop(object_id, None) is not None:
                for asset in self.assets.values():
                    asset["users"].pop(object_id, None)
                return Response(200, {"success": True})
        return self.error(
            400,
            f"Unsupported delete request. Object with ID '{object_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation",
            "GraphMethodException",
            100,
            33,
        )


def page(request: Request, rows: list[dict[str, Any]]) -> Response:
    """Graph cursor paging: `limit` and `after`, `paging.next` while more rows remain."""
    limit = max(1, min(int(request.query.get("limit", 25)), 100))
    start = int(base64.b64decode(request.query["after"]).decode()) if request.query.get("after") else 0
    chunk = rows[start : start + limit]
    body: dict[str, Any] = {"data": chunk}
    if rows:
        cursors = {
            "before": base64.b64encode(str(start).encode()).decode(),
            "after": base64.b64encode(str(start + len(chunk)).encode()).decode(),
        }
        body["paging"] = {"cursors": cursors}
        if start + len(chunk) < len(rows):
            body["paging"]["next"] = f"{request.path}?limit={limit}&after={cursors['after']}"
    return Response(200, body)


# ---------------------------------------------------------------- Hootsuite


class Hootsuite(Vendor):
    """Hootsuite REST API v1 organization members, as its Swagger documents them (Bearer token).

    GET /v1/organizations/{o}/members → {"data": [{"id"}]} (ids only; the Swagger documents no paging);
    GET /v1/members/{m} → {"data": Member}; GET /v1/organizations/{o}/members/{m}/permissions →
    {"data": {"permissions": [...], "permissionPreset": ...}}; DELETE /v1/organizations/{o}/members/{m}
    → 200 {"data": {}}; POST /v1/members (CreateMemberRequest) → {"data": Member}. Errors are
    {"errors": [{"code", "message", "id", "resource"}]} with the Swagger's error codes. The status of
    "member not in organization" is not in the Swagger: 404 here (its HTTP table: resource does not exist).
    """

    name = "hootsuite"
    MEMBER_FIELDS = (
        "id",
        "email",
        "isActive",
        "createdDate",
        "modifiedDate",
        "fullName",
        "companyName",
        "bio",
        "timezone",
        "language",
    )

    def __init__(self) -> None:
        super().__init__()
        # org id → member id → member (Member fields, plus "permissions" and optional "permissionPreset")
        self.orgs: dict[str, dict[str, dict[str, Any]]] = {}
        self.route("GET", r"^/v1/organizations/([^/]+)/members", self.list_members)
        self.route("GET", r"^/v1/organizations/([^/]+)/members/([^/]+)/permissions", self.permissions)
        self.route("DELETE", r"^/v1/organizations/([^/]+)/members/([^/]+)", self.remove)
        self.route("GET", r"^/v1/members/([^/]+)", self.get_member)
        self.route("POST", r"^/v1/members", self.create_member)

    def authenticate(self, request: Request) -> Response | None:
        token = bearer(request)
        if token and (self.token is None or token == self.token):
            return None
        return self.error(401, 1001, "Invalid access token")

    @staticmethod
    def error(status: int, code: int, message: str, resource: tuple[str, str] | None = None) -> Response:
        error: dict[str, Any] = {"code": code, "message": message, "id": str(uuid.uuid4())}
        if resource:
            error["resource"] = {"type": resource[0], "id": resource[1]}
        return Response(status, {"errors": [error]})

    def not_found(self, request: Request) -> Response:
        return self.error(404, 4001, "Not found")

    def refuse(self, detail: str) -> Response:
        return self.error(403, 4009, f"Insufficient organization permissions: {detail}")

    def fault_response(self, kind: str, retry_after: float) -> Response:
        response = self.error(
            int(kind),
            1043 if kind == "429" else 5000,
            "Too many requests" if kind == "429" else f"simulated {kind}",
        )
        if kind in ("429", "503"):
            response.headers["Retry-After"] = retry_value(retry_after)
        return response

    def member_body(self, member: dict[str, Any]) -> dict[str, Any]:
        member = {"isActive": True, **member}
        return {k: member[k] for k in self.MEMBER_FIELDS if k in member}

    def list_members(self, request: Request, org: str) -> Response:
        members = self.orgs.get(org)
        if members is None:
            return self.error(404, 3003, "Unable to find an organization with that ID", ("organization", org))
        return Response(200, {"data": [{"id": member_id} for member_id in members]})

    def get_member(self, request: Request, member_id: str) -> Response:
        for members in self.orgs.values():
            if member_id in members:
                return Response(200, {"data": self.member_body(members[member_id])})
        return self.error(404, 4001, "Resource not found", ("member", member_id))

    def permissions(self, request: Request, org: str, member_id: str) -> Response:
        member = self.orgs.get(org, {}).get(member_id)
        if member is None:
            return self.error(404, 4303, "Member does not exist in organization", ("member", member_id))
        return Response(
            200,
            {
                "data": {
                    "permissions": list(member.get("permissions", [])),
                    "permissionPreset": member.get("permissionPreset", "CUSTOM"),
                }
            },
        )

    def create_member(self, request: Request) -> Response:
        body = request.json() or {}
        if not body.get("email"):
            return self.error(400, 2006, "Missing member email")
        if not body.get("fullName"):
            return self.error(400, 2005, "Missing member name")
        orgs = [str(o) for o in body.get("organizationIds") or []]
        if not orgs or any(o not in self.orgs for o in orgs):
            return self.error(400, 3003, "Unable to find an organization with that ID")
        mid = new_id()
        member = {
            "id": mid,
            "email": body["email"],
            "fullName": body["fullName"],
            "permissions": [],
            "permissionPreset": "DEFAULT",
        }
        member.update({k: body[k] for k in ("companyName", "bio", "timezone", "language") if k in body})
        for org in orgs:
            self.orgs[org][mid] = dict(member)
        return Response(200, {"data": self.member_body(member)})

    def remove(self, request: Request, org: str, member_id: str) -> Response:
        if self.orgs.get(org, {}).pop(member_id, None) is None:
            return self.error(404, 4303, "Member does not exist in organization", ("member", member_id))
        return Response(200, {"data": {}})


# ---------------------------------------------------------------- TikTok Business Center


class TikTok(Vendor):
    """`/open_api/v1.3/bc/member/get|delete|invite/` with header `Access-Token`; envelope {code,message,request_id,data}."""

    name = "tiktok"

    def __init__(self) -> None:
        super().__init__()
        self.centers: dict[str, dict[str, dict[str, Any]]] = {}  # bc id → user id → member
        self.route("GET", r"^/open_api/v1\.3/bc/member/get", self.get_members)
        self.route("POST", r"^/open_api/v1\.3/bc/member/delete", self.delete_member)
        self.route("POST", r"^/open_api/v1\.3/bc/member/invite", self.invite)

    @staticmethod
    def envelope(data: Any, code: int = 0, message: str = "OK", status: int = 200) -> Response:
        return Response(
            status, {"code": code, "message": message, "request_id": uuid.uuid4().hex, "data": data}
        )

    def authenticate(self, request: Request) -> Response | None:
        token = request.headers.get("access-token")
        if token and (self.token is None or token == self.token):
            return None
        return self.envelope({}, 40105, "The access token is invalid or has been revoked.", 401)

    def not_found(self, request: Request) -> Response:
        return self.envelope({}, 40002, "Not found", 404)

    def refuse(self, detail: str) -> Response:
        return self.envelope({}, 40001, f"No permission to operate: {detail}")

    def fault_response(self, kind: str, retry_after: float) -> Response:
        code = {"429": 40100, "500": 50000, "503": 50002}[kind]
        response = self.envelope({}, code, f"simulated {kind}", int(kind))
        if kind in ("429", "503"):
            response.headers["Retry-After"] = retry_value(retry_after)
        return response

    def get_members(self, request: Request) -> Response:
        members = self.centers.get(request.query.get("bc_id", ""))
        if members is None:
            return self.envelope({}, 40002, "bc_id: Business Center does not exist", 200)
        page_no = max(1, int(request.query.get("page", 1)))
        size = max(1, min(int(request.query.get("page_size", 10)), 50))
        rows = list(members.values())
        keyword = json.loads(request.query.get("filtering") or "{}").get("keyword")
        if keyword:
            rows = [
                m for m in rows if keyword.casefold() in (m["user_email"] + " " + m["user_name"]).casefold()
            ]
        chunk = rows[(page_no - 1) * size : page_no * size]
        total_page = max(1, -(-len(rows) // size))
        return self.envelope(
            {
                "list": chunk,
                "page_info": {
                    "page": page_no,
                    "page_size": size,
                    "total_number": len(rows),
                    "total_page": total_page,
                },
            }
        )

    def delete_member(self, request: Request) -> Response:
        body = request.json() or {}
        members = self.centers.get(str(body.get("bc_id", "")))
        if members is None:
            return self.envelope({}, 40002, "bc_id: Business Center does not exist")
        target = str(body.get("user_id") or "")
        if not target and body.get("user_email"):
            target = next((u for u, m in members.items() if m["user_email"] == body["user_email"]), "")
        if members.pop(target, None) is None:
            return self.envelope({}, 40002, "user is not a member of this Business Center")
        return self.envelope({})

    def invite(self, request: Request) -> Response:
        body = request.json() or {}
        members = self.centers.get(str(body.get("bc_id", "")))
        if members is None or not body.get("emails"):
            return self.envelope({}, 40002, "bc_id and emails are required")
        for email in body["emails"]:  # an invitation has no user_id until it is accepted
            members[f"invite:{email}"] = {
                "user_name": "",
                "user_email": email,
                "user_role": body.get("user_role", "STANDARD"),
                "relation_status": "PENDING",
            }
        return self.envelope({})


# ---------------------------------------------------------------- HubSpot CRM


@dataclass
class HubSpotLimits:
    per_window: int = 100  # Free/Starter: 100 requests per 10 s per app
    window: float = 10.0
    daily: int = 250_000
    retry_after: bool = False  # HubSpot documents the X-HubSpot-RateLimit-* headers, not Retry-After
    enabled: bool = False


class HubSpot(Vendor):
    """CRM v3 owners, objects search/batch read/batch update, v4 associations; Bearer private-app token.

    The one model of HubSpot in the tests: the loopback simulator serves it over HTTP, and
    tests/connectors/hubspot_fake.py serves it behind `responses`. Answers follow HubSpot's 2026-09
    contract (tests/connectors/hubspot_contract.py checks every exchange of the `responses` fake).
    """

    name = "hubspot"
    MAX_BATCH = 100
    MAX_SEARCH_PAGE = 200
    MAX_GROUPS = 5

    def __init__(self) -> None:
        super().__init__()
        self.owners: dict[str, dict[str, Any]] = {}  # owner id → owner
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"companies": {}, "contacts": {}}
        self.associations: dict[tuple[str, str], set[str]] = {}  # (company id, "contacts") → contact ids
        self.failing: set[str] = set()  # record ids a batch/update leaves unchanged (a 207 names them)
        self.limits = HubSpotLimits()
        self.window = SlidingWindow(self.limits.per_window, self.limits.window)
        self.daily_used = 0
        # the numbered form (/crm/v3/...) and the date versions (/crm/objects/2026-09/..., /crm/owners/2026-09)
        self.route("GET", r"^/crm/(?:v3/owners|owners/\d{4}-\d{2})$", self.list_owners)
        self.route("GET", r"^/crm/(?:v3/owners|owners/\d{4}-\d{2})/([^/]+)", self.get_owner)
        self.route(
            "POST", r"^/crm/(?:v3/objects|objects/\d{4}-\d{2})/(companies|contacts)/search", self.search
        )
        self.route(
            "POST",
            r"^/crm/(?:v3/objects|objects/\d{4}-\d{2})/(companies|contacts)/batch/read",
            self.batch_read,
        )
        self.route(
            "POST",
            r"^/crm/(?:v3/objects|objects/\d{4}-\d{2})/(companies|contacts)/batch/update",
            self.batch_update,
        )
        self.route("GET", r"^/crm/v4/objects/companies/([^/]+)/associations/contacts", self.company_contacts)
        self.route("POST", r"^/crm/v4/associations/companies/contacts/batch/read", self.batch_associations)

    def add_owner(self, owner_id: str, email: str) -> None:
        """An owner (a HubSpot user) in PublicOwner's shape; its user id is derived from the owner id."""
        user_id = 9_000_000 + int(owner_id[-3:])
        self.owners[owner_id] = {
            "id": owner_id,
            "email": email,
            "type": "PERSON",
            "firstName": "",
            "lastName": "",
            "userId": user_id,
            "userIdIncludingInactive": user_id,
            "createdAt": "2024-01-04T10:00:00.000Z",
            "updatedAt": "2025-05-02T09:00:00.000Z",
            "archived": False,
        }

    def add_object(self, kind: str, object_id: str, properties: dict[str, Any]) -> None:
        self.objects[kind][object_id] = {
            "id": object_id,
            "createdAt": "2024-02-01T08:00:00.000Z",
            "updatedAt": "2025-10-01T08:00:00.000Z",
            "properties": {**properties, "hs_object_id": object_id},
        }

    def add_company(self, cid: str, name: str, owner: str, country: str | None = None) -> None:
        self.add_object("companies", cid, {"name": name, "country": country, "hubspot_owner_id": owner})

    def add_contact(
        self,
        cid: str,
        first: str,
        last: str,
        email: str | None,
        owner: str,
        company: str | None,
        language: str | None = None,
        country: str | None = None,
        company_name: str | None = None,
        salutation: str | None = None,
    ) -> None:
        """A contact, associated with `company` (associatedcompanyid and the v4 association) when given."""
        self.add_object(
            "contacts",
            cid,
            {
                "firstname": first,
                "lastname": last,
                "email": email,
                "hubspot_owner_id": owner,
                "associatedcompanyid": company,
                "hs_language": language,
                "country": country,
                "company": company_name,
                "salutation": salutation,
            },
        )
        if company is not None:
            self.associations.setdefault((company, "contacts"), set()).add(cid)

    def set_limits(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self.limits, key, value)
        self.window = SlidingWindow(self.limits.per_window, self.limits.window)

    def authenticate(self, request: Request) -> Response | None:
        token = bearer(request)
        if token and (self.token is None or token == self.token):
            return None
        return self.error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")

    @staticmethod
    def error(status: int, message: str, category: str, **extra: Any) -> Response:
        return Response(
            status,
            {
                "status": "error",
                "message": message,
                "correlationId": str(uuid.uuid4()),
                "category": category,
                **extra,
            },
        )

    def not_found(self, request: Request) -> Response:
        return self.error(404, "resource not found", "OBJECT_NOT_FOUND")

    def refuse(self, detail: str) -> Response:
        return self.error(
            403, f"This app hasn't been granted all required scopes: {detail}", "MISSING_SCOPES"
        )

    def fault_response(self, kind: str, retry_after: float) -> Response:
        if kind == "429":
            response = self.error(
                429,
                "You have reached your ten_secondly_rolling limit.",
                "RATE_LIMITS",
                errorType="RATE_LIMIT",
                policyName="TEN_SECONDLY_ROLLING",
            )
            response.headers["Retry-After"] = retry_value(retry_after)
            return response
        response = self.error(int(kind), "internal error", "INTERNAL_ERROR")
        if kind == "503":
            response.headers["Retry-After"] = retry_value(retry_after)
        return response

    def throttle(self, request: Request, now: float) -> Response | None:
        if not self.limits.enabled:
            return None
        allowed, _, wait = self.window.take(now)
        if allowed:
            self.daily_used += 1
            return None
        response = self.error(
            429,
            "You have reached your ten_secondly_rolling limit.",
            "RATE_LIMITS",
            errorType="RATE_LIMIT",
            policyName="TEN_SECONDLY_ROLLING",
        )
        if self.limits.retry_after:
            response.headers["Retry-After"] = str(max(1, round(wait + 0.5)))
        return response

    def decorate(self, request: Request, response: Response, now: float) -> None:
        if not self.limits.enabled:
            return
        remaining = max(0, self.limits.per_window - self.window.used(now))
        response.headers.update(
            {
                "X-HubSpot-RateLimit-Max": str(self.limits.per_window),
                "X-HubSpot-RateLimit-Remaining": str(remaining),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.limits.window * 1000)),
                "X-HubSpot-RateLimit-Daily": str(self.limits.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.limits.daily - self.daily_used)),
            }
        )

    def list_owners(self, request: Request) -> Response:
        rows = list(self.owners.values())
        if request.query.get("email"):
            rows = [o for o in rows if o["email"].casefold() == request.query["email"].casefold()]
        limit = max(1, min(int(request.query.get("limit", 100)), 500))
        start = int(request.query.get("after") or 0)
        return Response(200, {"results": rows[start : start + limit], **paging(start, limit, len(rows))})

    def get_owner(self, request: Request, owner_id: str) -> Response:
        owner = self.owners.get(owner_id)
        return Response(200, owner) if owner else self.not_found(request)

    def record(self, kind: str, obj: dict[str, Any], properties: list[str] | None) -> dict[str, Any]:
        props = obj["properties"]
        shown = {k: props.get(k) for k in (properties or [])} if properties else dict(props)
        shown.setdefault("hs_object_id", obj["id"])
        return {
            "id": obj["id"],
            "properties": shown,
            "createdAt": obj["createdAt"],
            "updatedAt": obj["updatedAt"],
            "archived": False,
        }

    def search(self, request: Request, kind: str) -> Response:
        body = request.json() or {}
        limit = int(body.get("limit", 10))
        if limit > self.MAX_SEARCH_PAGE:
            return self.error(400, f"limit must be at most {self.MAX_SEARCH_PAGE}", "VALIDATION_ERROR")
        groups = body.get("filterGroups") or []
        if len(groups) > self.MAX_GROUPS:
            return self.error(400, f"at most {self.MAX_GROUPS} filterGroups are allowed", "VALIDATION_ERROR")
        rows = [o for o in self.objects[kind].values() if not groups or any(matches(o, g) for g in groups)]
        rows.sort(key=lambda o: int(o["id"]))
        start = int(body.get("after") or 0)
        if start + limit > 10_000:  # HubSpot pages one search through 10,000 results at most
            return self.error(400, "There was a problem with the request.", "VALIDATION_ERROR")
        chunk = rows[start : start + limit]
        answer: dict[str, Any] = {
            "total": len(rows),
            "results": [self.record(kind, o, body.get("properties")) for o in chunk],
        }
        return Response(200, {**answer, **paging(start, limit, len(rows))})

    def batch_read(self, request: Request, kind: str) -> Response:
        body = request.json() or {}
        inputs = body.get("inputs") or []
        if len(inputs) > self.MAX_BATCH:
            return self.error(400, f"batch size must be at most {self.MAX_BATCH}", "VALIDATION_ERROR")
        found = [self.objects[kind][i["id"]] for i in inputs if i.get("id") in self.objects[kind]]
        return Response(
            200,
            {
                "status": "COMPLETE",
                "results": [self.record(kind, o, body.get("properties")) for o in found],
                "startedAt": now_iso(),
                "completedAt": now_iso(),
            },
        )

    def batch_update(self, request: Request, kind: str) -> Response:
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > self.MAX_BATCH:
            return self.error(400, f"batch size must be at most {self.MAX_BATCH}", "VALIDATION_ERROR")
        missing = [i.get("id") for i in inputs if i.get("id") not in self.objects[kind]]
        if missing:
            return self.error(400, f"Object ids not found: {missing}", "OBJECT_NOT_FOUND")
        results = []
        for item in inputs:
            if item["id"] in self.failing:
                continue
            obj = self.objects[kind][item["id"]]
            obj["properties"].update(item.get("properties") or {})
            obj["updatedAt"] = now_iso()
            results.append(self.record(kind, obj, None))
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now_iso(),
            "completedAt": now_iso(),
        }
        refused = [i["id"] for i in inputs if i["id"] in self.failing]
        if not refused:
            return Response(200, body)
        # BatchResponseSimplePublicObjectWithErrors: one StandardError naming the records in context.ids
        body.update(
            numErrors=1,
            errors=[
                {
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": "Property values were not valid",
                    "context": {"ids": refused},
                    "errors": [],
                    "links": {},
                }
            ],
        )
        return Response(207, body)

    def company_contacts(self, request: Request, company_id: str) -> Response:
        if company_id not in self.objects["companies"]:
            return self.not_found(request)
        return Response(
            200, {"results": [assoc(c) for c in sorted(self.associations.get((company_id, "contacts"), ()))]}
        )

    def batch_associations(self, request: Request) -> Response:
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > 1000:
            return self.error(400, "batch size must be at most 1000", "VALIDATION_ERROR")
        results = [
            {
                "from": {"id": i["id"]},
                "to": [assoc(c) for c in sorted(self.associations.get((i["id"], "contacts"), ()))],
            }
            for i in inputs
            if i.get("id") in self.objects["companies"]
        ]
        return Response(
            200, {"status": "COMPLETE", "results": results, "startedAt": now_iso(), "completedAt": now_iso()}
        )


def paging(start: int, limit: int, total: int) -> dict[str, Any]:
    """HubSpot's `paging.next` (an `after` cursor and its link) when rows remain after this page."""
    if start + limit >= total:
        return {}
    return {"paging": {"next": {"after": str(start + limit), "link": f"?after={start + limit}"}}}


def assoc(contact_id: str) -> dict[str, Any]:
    return {
        "toObjectId": int(contact_id),
        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 280, "label": None}],
    }


def matches(obj: dict[str, Any], group: dict[str, Any]) -> bool:
    """A filter group: all filters hold (EQ, NEQ, IN, HAS_PROPERTY are what relevo needs)."""
    for f in group.get("filters", []):
        name = f.get("propertyName")
        value = obj["id"] if name == "hs_object_id" else obj["properties"].get(name)
        op = f.get("operator")
        if op == "EQ" and str(value) != str(f.get("value")):
            return False
        if op == "NEQ" and str(value) == str(f.get("value")):
            return False
        if op == "IN" and str(value) not in [str(v) for v in f.get("values", [])]:
            return False
        if op == "HAS_PROPERTY" and value in (None, ""):
            return False
        if op == "GT" and not (value is not None and int(value) > int(f.get("value"))):
            return False
        if op not in ("EQ", "NEQ", "IN", "HAS_PROPERTY", "GT"):
            raise ValueError(f"operator {op} not modelled")
    return True


def now_iso() -> str:
    from datetime import datetime

    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- Microsoft Graph (drafts)


class Graph(Vendor):
    """`POST /v1.0/users/{id|upn}/messages` creates a draft (201, isDraft true); list with a few `$filter` forms."""

    name = "graph"

    def __init__(self) -> None:
        super().__init__()
        self.mailboxes: dict[str, list[dict[str, Any]]] = {}  # user → messages
        self.route("POST", r"^/v1\.0/users/([^/]+)/messages", self.create_draft)
        self.route("GET", r"^/v1\.0/users/([^/]+)/messages", self.list_messages)
        self.route("GET", r"^/v1\.0/users/([^/]+)/mailFolders/(?:drafts|Drafts)/messages", self.list_messages)

    def authenticate(self, request: Request) -> Response | None:
        token = bearer(request)
        if token and (self.token is None or token == self.token):
            return None
        return self.error(401, "InvalidAuthenticationToken", "Access token validation failure.")

    @staticmethod
    def error(status: int, code: str, message: str) -> Response:
        request_id = str(uuid.uuid4())
        return Response(
            status,
            {
                "error": {
                    "code": code,
                    "message": message,
                    "innerError": {"request-id": request_id, "date": now_iso()},
                }
            },
            {"request-id": request_id},
        )

    def not_found(self, request: Request) -> Response:
        return self.error(404, "ResourceNotFound", "Resource not found")

    def refuse(self, detail: str) -> Response:
        return self.error(
            403, "ErrorAccessDenied", f"Access is denied. Check credentials and try again. {detail}"
        )

    def fault_response(self, kind: str, retry_after: float) -> Response:
        code = {"429": "TooManyRequests", "500": "InternalServerError", "503": "ServiceUnavailable"}[kind]
        response = self.error(int(kind), code, f"simulated {kind}")
        if kind in ("429", "503"):
            response.headers["Retry-After"] = retry_value(retry_after)
        return response

    def create_draft(self, request: Request, user: str) -> Response:
        body = request.json() or {}
        if not isinstance(body.get("toRecipients", []), list) or "subject" not in body:
            return self.error(400, "ErrorInvalidRequest", "subject and toRecipients are required")
        message = {
            **body,
            "id": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
            "createdDateTime": now_iso(),
            "isDraft": True,
            "parentFolderId": "drafts",
            "webLink": f"https://outlook.office365.com/owa/?ItemID={uuid.uuid4().hex}",
        }
        self.mailboxes.setdefault(user.casefold(), []).append(message)
        return Response(201, message)

    def list_messages(self, request: Request, user: str) -> Response:
        rows = self.mailboxes.get(user.casefold(), [])
        flt = request.query.get("$filter", "")
        if flt:
            rows = [m for m in rows if graph_filter(m, flt)]
        top = int(request.query.get("$top", 10))
        return Response(200, {"value": rows[:top]})


def graph_filter(message: dict[str, Any], expression: str) -> bool:
    """`subject eq '...'`, `internetMessageHeaders` or extended-property equality: what an idempotency check uses."""
    if m := re.fullmatch(r"subject eq '(.*)'", expression):
        return message.get("subject") == m.group(1).replace("''", "'")
    if m := re.search(r"ep/id eq '([^']*)' and ep/value eq '([^']*)'", expression):
        props = message.get("singleValueExtendedProperties") or []
        return any(p.get("id") == m.group(1) and p.get("value") == m.group(2) for p in props)
    raise ValueError("$filter form not modelled")


# ---------------------------------------------------------------- Personio (API v2)


class Personio(Vendor):
    """Personio API v2 (tests/connectors/personio_contract.py): the client-credentials token, persons and
    their employments with the documented filters and cursor pages, and the v1 document upload.

    Tokens expire after `lifetime` seconds of the simulator's monotonic clock; an expired or unknown token
    gets Personio's 401 problem+json. `client_id`/`secret` None accept any credentials.
    """

    name = "personio"

    def __init__(self) -> None:
        super().__init__()
        self.client_id: str | None = None
        self.secret: str | None = None
        self.lifetime = 86400
        self.clock = time.monotonic
        self.issued: dict[str, float] = {}  # token -> expiry
        self.persons: dict[str, dict[str, Any]] = {}
        self.employments: dict[str, list[dict[str, Any]]] = {}  # person id -> most recent first
        self.categories: set[int] = {7}
        self.documents: list[dict[str, Any]] = []
        self.route("POST", r"^/v2/auth/token", self.token_endpoint)
        self.route("GET", r"^/v2/persons", self.list_persons)
        self.route("GET", r"^/v2/persons/([^/]+)", self.get_person)
        self.route("GET", r"^/v2/persons/([^/]+)/employments", self.list_employments)
        self.route("POST", r"^/v1/company/documents", self.upload_document)

    @staticmethod
    def problem(status: int, title: str, detail: str) -> Response:
        return Response(
            status,
            {
                "personio_trace_id": "sim-trace",
                "timestamp": "2026-11-27T09:00:00Z",
                "errors": [{"title": title, "detail": detail}],
            },
            {"Content-Type": "application/problem+json"},
        )

    def authenticate(self, request: Request) -> Response | None:
        if request.path.rstrip("/") == "/v2/auth/token":
            return None
        token = bearer(request)
        if token is None or self.issued.get(token, 0.0) <= self.clock():
            return self.problem(401, "Unauthorized", "The access token is missing, invalid or expired.")
        return None

    def not_found(self, request: Request) -> Response:
        return self.problem(404, "Resource not found", "There is no resource for the specified id.")

    def refuse(self, detail: str) -> Response:
        return self.problem(403, "Forbidden", detail)

    def token_endpoint(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Response(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "The content type of the "
                    'request must be "application/x-www-form-urlencoded".',
                },
            )
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return Response(400, {"error": "unsupported_grant_type"})
        if (self.client_id is not None and form.get("client_id") != self.client_id) or (
            self.secret is not None and form.get("client_secret") != self.secret
        ):
            return Response(
                400,
                {
                    "error": "unauthorized_client",
                    "error_description": "The credentials were "
                    "not correct. Make sure you are providing the right client_id and "
                    "client_secret.",
                },
            )
        token = f"papi-sim-{uuid.uuid4().hex}"
        self.issued[token] = self.clock() + self.lifetime
        return Response(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.lifetime,
                "scope": "personio:persons:read",
            },
        )

    def page(self, request: Request, rows: list[dict[str, Any]], path: str) -> Response:
        try:
            limit = int(request.query.get("limit", "10"))
            start = int(request.query.get("cursor", "cur_0").removeprefix("cur_"))
        except ValueError:
            return self.problem(400, "Bad request", "Provided request parameters are invalid.")
        if not 1 <= limit <= 50:
            return self.problem(400, "Bad request", "Provided request parameters are invalid.")
        after = request.query.get("updated_at.gt")
        if after is not None:
            rows = [r for r in rows if str(r.get("updated_at") or "") > after]
        links: dict[str, Any] = {"self": {"href": f"https://api.personio.de{path}"}}
        if start + limit < len(rows):
            links["next"] = {"href": f"https://api.personio.de{path}?cursor=cur_{start + limit}"}
        return Response(200, {"_data": rows[start : start + limit], "_meta": {"links": links}})

    def list_persons(self, request: Request) -> Response:
        rows = list(self.persons.values())
        if "email" in request.query:
            wanted = {e.strip().lower() for e in request.query["email"].split(",")}
            rows = [r for r in rows if str(r.get("email") or "").lower() in wanted]
        return self.page(request, rows, "/v2/persons")

    def get_person(self, request: Request, person_id: str) -> Response:
        row = self.persons.get(person_id)
        return Response(200, row) if row is not None else self.not_found(request)

    def list_employments(self, request: Request, person_id: str) -> Response:
        if person_id not in self.persons:
            return self.not_found(request)
        return self.page(request, self.employments.get(person_id, []), f"/v2/persons/{person_id}/employments")

    def upload_document(self, request: Request) -> Response:
        parts = multipart(request)
        missing = [k for k in ("title", "employee_id", "category_id", "file") if not parts.get(k)]
        if missing:
            error = {
                "message": "The given data was invalid.",
                "code": 0,
                "error_data": {k: ["required"] for k in missing},
            }
            return Response(422, {"success": False, "error": error})
        employee, category = parts["employee_id"].decode(), parts["category_id"].decode()
        if employee not in self.persons or not category.isdigit() or int(category) not in self.categories:
            return Response(
                404, {"success": False, "error": {"message": "No query results for model", "code": 0}}
            )
        doc_id = len(self.documents) + 1
        self.documents.append(
            {
                "id": doc_id,
                "employee_id": employee,
                "category_id": int(category),
                "title": parts["title"].decode(),
                "content": parts["file"],
            }
        )
        return Response(
            201,
            {
                "success": True,
                "data": {"id": doc_id, "type": "Document", "attributes": {"title": parts["title"].decode()}},
            },
        )

    def add(
        self,
        person_id: str,
        first: str,
        last: str,
        email: str,
        supervisor: str | None = None,
        updated_at: str = "2026-11-01T09:00:00Z",
    ) -> None:
        """A person with one active employment."""
        self.persons[person_id] = {
            "id": person_id,
            "email": email,
            "first_name": first,
            "last_name": last,
            "status": "ACTIVE",
            "custom_attributes": [],
            "updated_at": updated_at,
            "employments": [{"id": f"emp-{person_id}"}],
        }
        self.employments[person_id] = [
            {
                "id": f"emp-{person_id}",
                "status": "ACTIVE",
                "employment_start_date": "2022-01-10",
                "position": {"title": "Consultant"},
                "supervisor": {"id": supervisor} if supervisor else {},
                "person": {"id": person_id},
                "termination": {},
                "updated_at": updated_at,
            }
        ]

    def terminate(self, person_id: str, last_day: str, kind: str, updated_at: str) -> None:
        """HR enters a termination on the current employment (future-dated ones stay ACTIVE until the day)."""
        current = self.employments[person_id][0]
        current["termination"] = {"termination_date": last_day, "last_working_day": last_day, "type": kind}
        current["updated_at"] = updated_at


class Proxy(Vendor):
    """A real service (scim2-server) behind the simulator, so latency, limits and faults apply to it too."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__()
        self.name = name
        self.target = target.rstrip("/")
        self.session = requests.Session()

    def handle(self, request: Request) -> Response:
        headers = {
            k: v for k, v in request.headers.items() if k in ("authorization", "content-type", "accept")
        }
        answer = self.session.request(
            request.method,
            self.target + request.path,
            params=request.query,
            data=request.body,
            headers=headers,
            timeout=30,
        )
        return Response(
            answer.status_code,
            answer.content,
            {"Content-Type": answer.headers.get("content-type", "application/json")},
        )


def all_vendors() -> list[Vendor]:
    return [BambooHR(), Meta(), Hootsuite(), TikTok(), HubSpot(), Graph(), Personio(), HiBob()]
