"""Factorial (Spanish HR platform): the leaver's HR record and terminate/unterminate webhook payloads.

API: `https://api.factorialhr.com/api/{version}/resources/{namespace}/{resource}`, the version a
date (`2026-07-01`), auth header `x-api-key` (official SDK, factorialco/factorial-api-sdks):
  GET employees/employees/{id}   "Reads a single Employee": the bare employee object
  GET employees/employees        "Reads all Employees" ({data, meta}); reconciliation filters it with
                                 updated_at_gteq (a date: "only the date is considered") and pages with
                                 limit (at most 100) and after_id = meta.end_cursor while meta.has_next_page
                                 (https://apidoc.factorialhr.com/docs/pagination)
Fields used: full_name, login_email, email, phone_number, manager_id, is_terminating,
terminated_on, termination_reason_type, termination_reason, active.
  GET api_public/credentials                     "Reads all Credentials": `relevo doctor`'s authenticated read
  GET api_public/webhook_subscriptions           "Reads all Webhook subscriptions" ({data: [...]}; each
                                                 id, type, target_url, enabled, api_version)
  PUT api_public/webhook_subscriptions/{id}      "Updates a Webhook subscription" ({id, enabled: true}):
                                                 only on `relevo doctor --reenable-webhooks`
Factorial disables a subscription after 48 h of non-2xx answers (20 retries), and later terminations
are then missed silently: `webhook_health` says so. No official OpenAPI file is published; the
request and answer shapes follow the SDK's generated models (factorialco/factorial-api-sdks,
python/factorial_api_client/generated/models/api_public_webhook_subscription.py) and
https://apidoc.factorialhr.com/docs/manage-webhooks ("Enabling or disabling a subscription": a PUT
with the subscription's id). Factorial has no
successor field and no language field in this resource: successor is null (the flow makes
a manual task of it) and the language is the company default.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests

from relevo.connectors.errors import InvalidResponse, NotFound
from relevo.connectors.health import Finding
from relevo.connectors.hr_records import (
    DEFAULT_TERMINATION_TYPES,
    EMPLOYEE_ID,
    clean,
    iso_date,
    read_each,
    status_on,
    termination_kind,
    termination_table,
    work_email,
)
from relevo.connectors.http import ApiKeyHeader, CursorPaginator, HttpClient, dig, paginate
from relevo.model import ConfigurationError

VENDOR = "factorial"
BASE = "https://api.factorialhr.com/api/{version}/resources/"
DEFAULT_VERSION = "2026-07-01"
VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# termination_reason_type values: "employee" (the employee left) and "company" (the company ended it).
# Seen in Factorial's own analytics code, not in the reference: UNCONFIRMED, the registry can override.
FACTORIAL_TYPES = {"employee": "voluntary", "company": "involuntary"}
# Webhook subscription types (vendors-hr.md) and the kind of change each one reports.
SUBSCRIPTIONS = {"employees/employee/terminate": "terminated", "employees/employee/unterminate": "rescinded"}
PAGE = 100  # Factorial's maximum page size (apidoc.factorialhr.com/docs/pagination)
MAX_PAGES = 1000  # 100,000 employees changed in two days: beyond that the answer is not trusted


class Factorial:
    """One company's Factorial account, read with an API key."""

    def __init__(
        self,
        api_key: str,
        *,
        default_language: str,
        version: str = DEFAULT_VERSION,
        base_url: str | None = None,
        termination_types: Mapping[str, str] | None = None,
        today: Callable[[], date] = date.today,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        if not VERSION.match(version or ""):
            raise ConfigurationError(
                f"Factorial API version '{version}' is not a date like {DEFAULT_VERSION}"
            )
        self.http = HttpClient(
            VENDOR,
            base_url or BASE.format(version=version),
            auth=ApiKeyHeader("x-api-key", api_key),
            sleep=sleep,
            session=session,
        )
        self.default_language = default_language
        self.types = termination_table(termination_types, {**DEFAULT_TERMINATION_TYPES, **FACTORIAL_TYPES})
        self.today = today
        # employees (and managers) the last `changed_since` listing returned: that poll reads them from it
        # instead of one GET each (a connector lives for one run or one poll: registry.hr())
        self._listed: dict[str, dict[str, Any]] = {}

    def employee(self, employee_id: str) -> dict[str, Any]:
        """The normalized employee object (schemas/employee.schema.json); missing facts are explicit nulls."""
        employee_id = str(employee_id).strip()
        record = self._record(employee_id)
        if record is None:
            raise NotFound(f"employee {employee_id} not found in Factorial", vendor=VENDOR, status=404)
        termination = self._termination(record)
        return {
            "id": employee_id,
            "name": _name(record, employee_id),
            "email": _email(record, employee_id),
            "phone": clean(record.get("phone_number")),
            "language": self.default_language,
            "department": None,
            "job_title": None,
            "status": "active" if termination is None else status_on(termination["date"], self.today()),
            "termination": termination,
            "manager": self.person(record.get("manager_id")),
            "successor": None,
            "restrictions": {"no_client_contact": False, "non_solicitation_until": None},
        }

    def employees(self, employee_ids: list[str]) -> dict[str, dict[str, Any] | Exception]:
        """Each requested id -> its employee object, or the ConnectorError for that id alone (a layoff).

        A loop over `employee`: one GET per leaver and one per manager. Factorial's employee
        list may filter by ids, but relevo has no vendored spec to confirm the parameter
        (UNCONFIRMED), so the documented single read is used.
        """
        return read_each(employee_ids, self.employee)

    def changed_since(self, since: str | None) -> tuple[list[str], str | None]:
        """Employees changed since the ISO 8601 `since` (GET employees/employees?updated_at_gteq), and the new cursor.

        Factorial filters by date only, on the employee's latest `updated_at`, so the query starts
        the day BEFORE the cursor's date (a change late in the evening in the company's time zone,
        whatever zone Factorial compares in, UNCONFIRMED) and re-reads up to two days of changes:
        harmless, reconciliation stores only what it has not heard of. `only_active=false` so
        that terminated employees are listed too (UNCONFIRMED that an inactive employee is listed
        with it; the SDK marks the flag required). A termination entered with a future date
        changes the employee (`is_terminating`, `terminated_on`), so it is found the day it is
        entered (UNCONFIRMED that this bumps `updated_at`: Factorial documents no change feed).
        The rows are kept so that reading these employees next costs no call of its own. The
        cursor is the newest `updated_at` listed (the old cursor if nothing changed).
        """
        params: dict[str, Any] = {"only_active": "false", "only_managers": "false", "limit": PAGE}
        if since:
            params["updated_at_gteq"] = (_day(since) - timedelta(days=1)).isoformat()
        rows = self._list(params)
        self._listed = {str(row["id"]).strip(): row for row in rows}
        newest, newest_at = since, _instant(since) if since else None
        for row in rows:
            try:  # a row whose updated_at is not a time is still listed; it just cannot move the cursor
                changed_at = _instant(row["updated_at"]) if isinstance(row.get("updated_at"), str) else None
            except InvalidResponse:
                changed_at = None
            if changed_at is not None and (newest_at is None or changed_at > newest_at):
                newest, newest_at = row["updated_at"], changed_at
        return list(self._listed), newest

    def roster(self) -> list[dict[str, str | None]]:
        """Everyone still employed (GET employees/employees?only_active=true, paged): id and login e-mail.

        `active` is "true when active, false when terminated" (SDK model), so a resignation not yet
        effective is still on the roster. The sweep flags presence members that match none of them.
        """
        out: list[dict[str, str | None]] = []
        for row in self._list({"only_active": "true", "only_managers": "false", "limit": PAGE}):
            email = clean(row.get("login_email")) or clean(row.get("email"))
            out.append({"id": str(row["id"]).strip(), "email": email})
        return out

    def _list(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every row of GET employees/employees with these filters: limit/after_id = meta.end_cursor paging."""
        path = "employees/employees"
        out: list[dict[str, Any]] = []
        pages = CursorPaginator(
            lambda body: dig(body, "meta", "end_cursor"),
            "after_id",
            max_pages=MAX_PAGES,
            more_of=lambda body: dig(body, "meta", "has_next_page") is True,
        )
        for body in paginate(self.http, "GET", path, pages, params=params):
            rows = body.get("data") if isinstance(body, dict) else None
            meta = body.get("meta") if isinstance(body, dict) else None
            if not isinstance(rows, list) or not isinstance(meta, dict):
                raise InvalidResponse(f"GET {path} did not return {{data, meta}}", vendor=VENDOR)
            out.extend(
                row
                for row in rows
                if isinstance(row, dict)
                and not isinstance(row.get("id"), bool)
                and EMPLOYEE_ID.match(str(row.get("id")).strip())
            )
        return out

    def person(self, employee_id: Any) -> dict[str, Any] | None:
        """Name and e-mail of a related employee (the manager); None when absent or unknown."""
        text = clean(employee_id)
        if text is None or isinstance(employee_id, bool):
            return None
        record = self._record(text)
        if record is None:
            return None
        return {
            "id": text,
            "name": _name(record, text),
            "email": _email(record, text),
            "phone": clean(record.get("phone_number")),
            "job_title": None,
        }

    def _record(self, employee_id: str) -> dict[str, Any] | None:
        """GET employees/employees/{id}; None on 404 (and for ids that cannot be one)."""
        if not EMPLOYEE_ID.match(employee_id):
            return None
        listed = self._listed.get(employee_id)
        if listed is not None:
            return listed
        path = f"employees/employees/{employee_id}"
        response = self.http.request("GET", path, allow=(404,))
        if response.status_code == 404:
            return None
        try:
            body = response.json()
        except ValueError:
            raise InvalidResponse(
                f"GET {path} returned a body that is not JSON", vendor=VENDOR, status=response.status_code
            ) from None
        if not isinstance(body, dict) or "id" not in body:
            raise InvalidResponse(
                f"GET {path} did not return an employee object", vendor=VENDOR, status=response.status_code
            )
        return body

    # --- `relevo doctor` ---

    def webhook_subscriptions(self) -> list[dict[str, Any]]:
        """Every webhook subscription of the company (GET api_public/webhook_subscriptions, `data`)."""
        path = "api_public/webhook_subscriptions"
        body = self.http.json("GET", path)
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) and "id" in r for r in rows):
            raise InvalidResponse(f"GET {path} did not return a list of subscriptions", vendor=VENDOR)
        return rows

    def check(self) -> list[Finding]:
        """The API key reads (credentials), and the termination subscriptions are there and enabled."""
        self.http.json("GET", "api_public/credentials")
        return [Finding("ok", "hr", "the Factorial API key is accepted"), *self.webhook_health()]

    def webhook_health(self) -> list[Finding]:
        """One finding per termination subscription type: missing, disabled (by Factorial after 48 h of
        failed deliveries: terminations since then were never delivered) or enabled."""
        rows = self.webhook_subscriptions()
        findings = []
        for kind in SUBSCRIPTIONS:
            mine = [r for r in rows if r.get("type", r.get("subscription_type")) == kind]
            if not mine:
                findings.append(
                    Finding(
                        "warning",
                        "webhooks",
                        f"Factorial: no '{kind}' subscription; those events "
                        "reach relevo only through `relevo offboard`",
                    )
                )
            for row in mine:
                where = f"Factorial subscription {row['id']} ({kind} -> {row.get('target_url', '?')})"
                if row.get("enabled") is False:
                    findings.append(
                        Finding(
                            "warning",
                            "webhooks",
                            f"{where} is DISABLED (Factorial disables one after "
                            "48 h of failed deliveries): events since then were not delivered; fix "
                            "the receiver, run `relevo doctor --reenable-webhooks`, and offboard "
                            "anyone terminated meanwhile with `relevo offboard`",
                        )
                    )
                else:
                    findings.append(Finding("ok", "webhooks", f"{where} is enabled"))
        return findings

    def disabled_subscriptions(self) -> list[dict[str, Any]]:
        """The termination subscriptions (terminate/unterminate) Factorial has disabled (`enabled: false`).

        Factorial disables one after 48 h of failed deliveries; from then on those events are not
        sent at all. Reconciliation checks this on every poll and alerts a person.
        """
        return [
            row
            for row in self.webhook_subscriptions()
            if row.get("type", row.get("subscription_type")) in SUBSCRIPTIONS and row.get("enabled") is False
        ]

    def reenable(self, subscription_id: Any) -> None:
        """PUT api_public/webhook_subscriptions/{id} with enabled: true (the SDK's update body; `id` is required)."""
        text = str(subscription_id).strip()
        if not text.isdigit():
            raise InvalidResponse(f"Factorial subscription id '{text[:40]}' is not a number", vendor=VENDOR)
        self.http.json("PUT", f"api_public/webhook_subscriptions/{text}", json={"id": text, "enabled": True})

    def _termination(self, record: dict[str, Any]) -> dict[str, Any] | None:
        try:
            last_day = iso_date(record.get("terminated_on"))
        except ValueError as exc:
            raise InvalidResponse(f"Factorial field terminated_on: {exc}", vendor=VENDOR) from None
        if last_day is None and not record.get("is_terminating") and record.get("active") is not False:
            return None
        vendor_type = clean(record.get("termination_reason_type"))
        return {
            "type": termination_kind(vendor_type, self.types),
            "date": last_day,
            "reason": clean(record.get("termination_reason")),
            "vendor_type": vendor_type,
        }


def parse_webhook(payload: Any, subscription_type: str) -> dict[str, Any]:
    """The facts the receiver stores from a terminate/unterminate webhook (the bare employee object).

    Returns {"employee_id", "kind": "terminated" | "rescinded", "effective_date"}. The kind comes
    from `subscription_type` (one target URL per subscription): both subscriptions post the same
    employee object, so it cannot be told from the payload. Raises ValueError naming the field
    for a payload of the wrong shape or a subscription type relevo does not handle.
    """
    if subscription_type not in SUBSCRIPTIONS:
        raise ValueError(
            f"Factorial webhook: subscription type '{str(subscription_type)[:80]}' is not "
            f"{' or '.join(SUBSCRIPTIONS)}"
        )
    if not isinstance(payload, dict):
        raise ValueError("Factorial webhook: the payload is not a JSON object")
    raw_id = payload.get("id")
    if raw_id is None or isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)):
        raise ValueError("Factorial webhook: id is missing")
    employee_id = str(raw_id).strip()
    if not EMPLOYEE_ID.match(employee_id):
        raise ValueError("Factorial webhook: id is not an employee id")
    try:
        effective = iso_date(payload.get("terminated_on"))
    except ValueError:
        raise ValueError("Factorial webhook: terminated_on is not a date (YYYY-MM-DD)") from None
    terminating = payload.get("is_terminating")
    if terminating is not None and not isinstance(terminating, bool):
        raise ValueError("Factorial webhook: is_terminating is not a boolean")
    kind = SUBSCRIPTIONS[subscription_type]
    return {
        "employee_id": employee_id,
        "kind": kind,
        "effective_date": effective if kind == "terminated" else None,
    }


def _instant(text: str) -> datetime:
    """An ISO 8601 time (a date alone is its midnight, UTC); InvalidResponse if it is not one."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidResponse(f"Factorial time '{text[:40]}' is not ISO 8601", vendor=VENDOR) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(text: str) -> date:
    return _instant(text).date()


def _name(record: dict[str, Any], fallback: str) -> str:
    parts = " ".join(p for p in (clean(record.get("first_name")), clean(record.get("last_name"))) if p)
    return clean(record.get("full_name")) or parts or fallback


def _email(record: dict[str, Any], employee_id: str) -> str | None:
    """login_email is the account's (work) address; `email` is the fallback (the SDK calls it personal).

    Checked as one plain address (BadRecord naming the employee otherwise).
    """
    return work_email(
        clean(record.get("login_email")) or clean(record.get("email")), f"Factorial employee {employee_id}"
    )
