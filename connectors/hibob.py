"""HiBob ("Bob"): the leaver's HR record, the outcome report filed back on it, lifecycle webhooks.

Vendor facts relied on, with where each comes from (HiBob's own documentation unless said otherwise):
- API base `https://api.hibob.com/v1` (sandbox `https://api.sandbox.hibob.com/v1`): `servers` of the
  OpenAPI definitions embedded in apidocs.hibob.com reference pages (e.g.
  reference/post_webhook_employee-joined).
  Those definitions are marked "Proprietary" (apidocs.hibob.com/docs/api-terms-of-use), so they are not
  vendored in tests/specs; the facts the tests rely on are transcribed in tests/connectors/hibob_contract.py.
- Auth: a service user, HTTP Basic with the service user's ID as user name and its token as password
  (apidocs.hibob.com/docs/api-service-users; corroborated by third-party integration notes).
- Read: `POST /people/search` ("Search for employees", reference/post_people-search; contract in
  docs/people-read-api-contract): body `fields` (field paths such as `root.id`, `internal.terminationDate`),
  optional `filters`, `showInactive` (default false: active employees only, so a leaver is invisible
  without it), `humanReadable`. No pagination: one answer `{"employees": [...]}` holds every match.
  Fields the service user may not see are silently left out of the answer (same page), which is why
  `relevo doctor` names the fields it could not read. Field values come back nested by category
  (`{"internal": {"terminationDate": ...}}`).
  Filter by ids: `{"fieldPath": "root.id", "operator": "equals", "values": [...]}`, one filter per
  search (the page's "batched reads by ID" example; corroborated by the unofficial SDK
  kurtismassey/pybob, models/People.py: FilterModel, operator "equals" only, "only one filter is
  supported"). How many values one filter takes is UNCONFIRMED: relevo sends SEARCH_CHUNK at a time.
  `humanReadable: "APPEND"` adds a `humanReadable` object of display values beside the machine ones
  (list item names for list fields such as the termination type): the shape of that object is
  UNCONFIRMED, so each display value falls back to the machine value.
- Field paths: `internal.terminationDate`, `internal.terminationReason`, `internal.terminationType`,
  `internal.status`, `internal.lifecycleStatus`, `employee.lastDayOfWork`, `work.reportsTo`,
  `work.title`, `work.department`, `root.email`, `root.displayName`, `root.firstName`, `root.surname`
  (HiBob's people fields glossary as used by several public integrations; the terminate endpoint's body
  names terminationDate, lastDayOfWork, terminationReason and reasonType: speakeasy-sdks/hibob
  docs/models/shared/employeetermination.md). UNCONFIRMED from HiBob's own page: code reads each one
  defensively and treats an absent value as unknown, never as "not terminated" when another says so.
- Write-back: `POST /docs/people/{id}/folders/{folderId}/upload` ("Upload File to a Custom Folder",
  reference/post_docs-people-id-folders-folderid-upload), multipart with the file in form field `file`
  (the page's definition was not readable here; the field name is from kurtismassey/pybob
  v1/documents.py, which cites that page: UNCONFIRMED from HiBob itself). The service user needs permission on
  that folder. HiBob has no notes endpoint for employees; a document in a folder the registry names
  (`hr.document_folder`) is the report's home, like BambooHR's file section.
- Webhooks v2 (reference/getting-started-webhooks, reference/post_webhook_employee-left and siblings):
  JSON `{"companyId": <number>, "type", "triggeredBy", "triggeredAt", "version": "v2", "data": {...}}`;
  `data` carries the id of the entity (`employeeId`) and no values (the table-entry changelog of
  2026-03 shows `{"employeeId", "tableId", "effectiveDate"}`; that lifecycle events carry
  `data.employeeId` is UNCONFIRMED beyond the general v2 rule). Lifecycle events fire at midnight
  (site time zone) of the lifecycle entry's effective date: `employee.left` (terminated or garden
  leave, whichever first), `employee.inactivated` (on leave or terminated: not stored, see EVENTS),
  `employee.activated` (access enabled again: a rehire or a return from leave). A lifecycle entry
  created for a future date sends `table.entry.created`
  with `tableId: "lifecycle"` at once; deleting an entry sends nothing.
- Signature: header `Bob-Signature` = base64(HMAC-SHA512(secret, raw body)) (docs/working-with-webhooks,
  "Step 3: Authenticate your events"; each webhook reference page: "Base64-encoded signature"). No
  timestamp is signed: replays are stopped by the inbox's event key. Checked by
  relevo.receiver.verify.HiBobVerifier.
- On creation Bob sends a test POST, "Ping test" as a string or `{"text": "Ping test"}`, and the
  connection is not established unless it gets a 2xx (docs/working-with-webhooks, Step 2). Whether the
  ping is signed is UNCONFIRMED: the receiver acknowledges it without storing anything.
- No "changed since" read for people was found in the documentation (UNCONFIRMED that none exists):
  reconciliation reads everyone once (`showInactive: true`) and picks the terminations dated inside
  a window around the cursor (`changed_since`).
- Rate limits and retry behaviour of Bob's webhooks: UNCONFIRMED (v2 "better handling of retries",
  with e-mail notifications on delivery problems: docs/migrate-to-webhooks-v2).

Kept as one module: one vendor's client, with the documented facts it relies on beside the calls.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import requests

from relevo.connectors.errors import ConnectorError, InvalidResponse, NotFound
from relevo.connectors.health import Finding
from relevo.connectors.hr_records import (
    EMPLOYEE_ID,
    RESTRICTIONS,
    check_restriction_fields,
    clean,
    flag,
    iso_date,
    language_or,
    status_on,
    termination_kind,
    termination_table,
    work_email,
)
from relevo.connectors.http import HttpClient
from relevo.model import ConfigurationError

VENDOR = "hibob"
BASE_URL = "https://api.hibob.com/v1/"
PERSON_FIELDS = ("root.id", "root.displayName", "root.firstName", "root.surname", "root.email", "work.title")
EMPLOYEE_FIELDS = PERSON_FIELDS + (
    "work.department",
    "work.reportsTo",
    "internal.status",
    "internal.lifecycleStatus",
    "internal.terminationDate",
    "internal.terminationReason",
    "internal.terminationType",
    "employee.lastDayOfWork",
)
SEARCH_CHUNK = 100  # employee ids per filtered search
# Lifecycle statuses that mean the person is leaving or gone (lower case; HiBob's list, UNCONFIRMED spelling).
LEAVING = {"terminated", "garden leave"}
# Terminations dated this many days before the cursor are still picked up by reconciliation: HR often
# enters a termination after its date (a backdated entry would otherwise never be seen).
BACKDATED_DAYS = 30
# Webhook event types -> the kind of change relevo stores. employee.inactivated is acknowledged and not
# stored: Bob sends it for a termination together with employee.left (and alone only for a leave), so
# storing both would start two runs per termination; a company subscribed to it alone is still covered
# by reconciliation.
EVENTS = {"employee.left": "terminated", "employee.activated": "rescinded"}
TABLE_EVENTS = {"table.entry.created", "table.entry.updated"}
PING = {"Ping test", '{"text":"Ping test"}'}


class HiBob:
    """One company's Bob account, read and written by a service user."""

    # `changed_since` returns terminations, not changes: reconciliation adds the people it offboarded, to
    # find a withdrawn termination (flows/reconcile.py).
    reports_terminations_only = True

    def __init__(
        self,
        service_user_id: str,
        token: str,
        *,
        default_language: str,
        base_url: str | None = None,
        termination_types: Mapping[str, str] | None = None,
        successor_field: str | None = None,
        language_field: str | None = None,
        restriction_fields: Mapping[str, str] | None = None,
        document_folder: str | None = None,
        today: Callable[[], date] = date.today,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        check_restriction_fields("HiBob", restriction_fields, RESTRICTIONS)
        self.http = HttpClient(
            VENDOR,
            base_url or BASE_URL,
            auth=requests.auth.HTTPBasicAuth(service_user_id, token),
            secrets=[token],
            sleep=sleep,
            session=session,
        )
        self.default_language = default_language
        self.types = termination_table(termination_types)
        self.successor_field = clean(successor_field)
        self.language_field = clean(language_field)
        self.restriction_fields = {k: str(v) for k, v in (restriction_fields or {}).items() if v is not None}
        self.document_folder = clean(document_folder)
        self.today = today
        self.now = now
        # managers and successors read this run (raw records, None: unknown); never used to decide
        # a termination
        self._people: dict[str, dict[str, Any] | None] = {}
        self._polled: dict[
            str, dict[str, Any]
        ] = {}  # the last reconciliation search, for the read that follows

    # --- reading ---

    def employee(self, employee_id: str) -> dict[str, Any]:
        """The normalized employee object (schemas/employee.schema.json); missing facts are explicit nulls."""
        result = self.employees([employee_id])[str(employee_id)]
        if isinstance(result, Exception):
            raise result
        return result

    def employees(self, employee_ids: list[str]) -> dict[str, dict[str, Any] | Exception]:
        """Each requested id -> its employee object or its ConnectorError: one search per SEARCH_CHUNK
        leavers (inactive included), one more for their managers and successors not read yet.

        The leavers are read afresh on every call (a run reads HR again before acting on a withdrawal);
        only the records of the reconciliation poll just made are used once instead of a second read.
        """
        wanted = [str(i).strip() for i in employee_ids]
        readable = [i for i in dict.fromkeys(wanted) if EMPLOYEE_ID.match(i)]
        polled, self._polled = self._polled, {}
        records = {i: polled[i] for i in readable if i in polled}
        # _read types its values `dict | None` (records: dict of dict); whether a None can reach _people is
        # for the HiBob work to settle.
        unread = [i for i in readable if i not in polled]
        records.update(self._read(unread, self._employee_fields()))  # type: ignore[arg-type]
        self._people.update(records)
        related = [r for rec in records.values() if rec for r in self._related(rec)]
        self._people.update({r: polled[r] for r in related if r in polled})
        self._people.update(
            self._read([r for r in dict.fromkeys(related) if r not in self._people], PERSON_FIELDS)
        )
        out: dict[str, dict[str, Any] | Exception] = {}
        for employee_id in wanted:
            record = records.get(employee_id)
            if record is None:
                out[employee_id] = NotFound(
                    f"employee '{employee_id[:70]}' not found in HiBob (or not visible to the service user)",
                    vendor=VENDOR,
                    status=404,
                )
                continue
            try:
                out[employee_id] = self._normalized(employee_id, record)
            except ConnectorError as exc:  # a bad date or e-mail (BadRecord) is this id's problem only
                out[employee_id] = exc
        return out

    def changed_since(self, since: str | None) -> tuple[list[str], str]:
        """Employees whose termination reconciliation should look at, and the new cursor.

        No change feed for people is documented, so one search reads everyone (inactive included)
        and returns those with a termination dated on or after the cursor's day minus
        BACKDATED_DAYS: a termination entered today for next month is seen today, one entered late
        for last week too. The records are kept for the `employees` call that follows. The new
        cursor is this poll's start time.
        """
        started = self.now().isoformat(timespec="seconds")
        try:
            floor = (datetime.fromisoformat(since).date() if since else self.today()) - timedelta(
                days=BACKDATED_DAYS
            )
        except ValueError:
            raise ConfigurationError(
                f"HiBob reconciliation: since '{str(since)[:40]}' is not an ISO 8601 time"
            ) from None
        self._polled = self._search(self._employee_fields(), ids=None)
        changed = []
        for employee_id, record in self._polled.items():
            last_day, _ = self._dates(record)
            if last_day is not None and date.fromisoformat(last_day) >= floor:
                changed.append(employee_id)
        return changed, started

    def person(self, employee_id: str | None) -> dict[str, Any] | None:
        """Name and contact of a related employee (manager, successor); None when absent or unknown."""
        if not employee_id or not EMPLOYEE_ID.match(employee_id):
            return None
        if employee_id not in self._people:
            self._people.update(self._read([employee_id], PERSON_FIELDS))
        record = self._people.get(employee_id)
        return None if record is None else _person(employee_id, record)

    def _read(self, employee_ids: list[str], fields: tuple[str, ...]) -> dict[str, dict[str, Any] | None]:
        """Search these ids (SEARCH_CHUNK per call): id -> raw record, None for an id not in the answer."""
        out: dict[str, dict[str, Any] | None] = {}
        for start in range(0, len(employee_ids), SEARCH_CHUNK):
            chunk = employee_ids[start : start + SEARCH_CHUNK]
            found = self._search(fields, ids=chunk)
            out.update({employee_id: found.get(employee_id) for employee_id in chunk})
        return out

    def roster(self) -> list[dict[str, str | None]]:
        """Everyone still employed: id and work e-mail (the sweep flags presence members matching none of them).

        One POST people/search without showInactive: Bob then answers its active employees only, all in one
        answer ("no pagination", People read API contract). A resignation not yet effective is still active,
        so that person is on the roster until their last day.
        """
        rows = self._search(("root.id", "root.email"), ids=None, inactive=False)
        return [
            {"id": employee_id, "email": clean(value(row, "root.email"))} for employee_id, row in rows.items()
        ]

    def _search(
        self, fields: tuple[str, ...], ids: list[str] | None, inactive: bool = True
    ) -> dict[str, dict[str, Any]]:
        """POST people/search, leavers too unless `inactive` is False (they are inactive): id -> raw record."""
        body: dict[str, Any] = {"fields": list(fields), "showInactive": inactive, "humanReadable": "APPEND"}
        if ids is not None:
            body["filters"] = [{"fieldPath": "root.id", "operator": "equals", "values": ids}]
        response = self.http.request(
            "POST", "people/search", json=body, idempotent=True
        )  # a read: safe to retry
        answer = self.http.decode(response, "POST", "people/search")
        rows = answer.get("employees") if isinstance(answer, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InvalidResponse(
                "POST people/search did not return {employees: [...]}",
                vendor=VENDOR,
                status=response.status_code,
            )
        out: dict[str, dict[str, Any]] = {}
        for row in rows:
            employee_id = clean(row.get("id"))
            if employee_id is None or not EMPLOYEE_ID.match(employee_id):
                raise InvalidResponse(
                    "POST people/search returned an employee without a usable id",
                    vendor=VENDOR,
                    status=response.status_code,
                )
            out.setdefault(employee_id, row)
        return out

    def _employee_fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(EMPLOYEE_FIELDS + self._custom_fields()))

    def _custom_fields(self) -> tuple[str, ...]:
        names = [self.successor_field, self.language_field, *self.restriction_fields.values()]
        return tuple(n for n in names if n)

    def _related(self, record: dict[str, Any]) -> list[str]:
        ids = [_reference(value(record, "work.reportsTo"))]
        if self.successor_field:
            ids.append(_reference(value(record, self.successor_field)))
        return [i for i in ids if i and EMPLOYEE_ID.match(i)]

    def _normalized(self, employee_id: str, record: dict[str, Any]) -> dict[str, Any]:
        termination = self._termination(record)
        successor = _reference(value(record, self.successor_field)) if self.successor_field else None
        return {
            "id": employee_id,
            "name": _name(record, employee_id),
            "email": work_email(value(record, "root.email"), f"HiBob employee {employee_id}"),
            "phone": None,
            # the field's own value when it is a code (es, en-GB), else its display value, else the company's
            "language": language_or(
                value(record, self.language_field),
                language_or(display(record, self.language_field), self.default_language),
            )
            if self.language_field
            else self.default_language,
            "department": _text(display(record, "work.department")),
            "job_title": _text(display(record, "work.title")),
            "status": "active" if termination is None else status_on(termination["date"], self.today()),
            "termination": termination,
            "manager": self.person(_reference(value(record, "work.reportsTo"))),
            "successor": self.person(successor),
            "restrictions": self._restrictions(record),
        }

    def _dates(self, record: dict[str, Any]) -> tuple[str | None, str | None]:
        """(last working day, termination date): the last day falls back to the termination date."""
        termination = _date(value(record, "internal.terminationDate"), "internal.terminationDate")
        last_day = _date(value(record, "employee.lastDayOfWork"), "employee.lastDayOfWork")
        return last_day or termination, termination

    def _termination(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """A termination when a termination date is set or the lifecycle status says the person is leaving."""
        last_day, termination_date = self._dates(record)
        lifecycle = str(display(record, "internal.lifecycleStatus") or "").strip().lower()
        if termination_date is None and last_day is None and lifecycle not in LEAVING:
            return None
        vendor_type = _text(display(record, "internal.terminationType"))
        return {
            "type": termination_kind(vendor_type, self.types),
            "date": last_day,
            "reason": _text(display(record, "internal.terminationReason")),
            "vendor_type": vendor_type,
        }

    def _restrictions(self, record: dict[str, Any]) -> dict[str, Any]:
        contact = self.restriction_fields.get("no_client_contact")
        until = self.restriction_fields.get("non_solicitation_until")
        return {
            "no_client_contact": flag(value(record, contact)) if contact else False,
            "non_solicitation_until": _date(value(record, until), until) if until else None,
        }

    # --- `relevo doctor` ---

    def check(self) -> list[Finding]:
        """The service user can search people, and sees the fields relevo reads (HiBob silently leaves
        out fields the service user may not see, which would read as "no termination")."""
        records = self._search(self._employee_fields(), ids=None)
        findings = [
            Finding("ok", "hr", f"the HiBob service user reads {len(records)} employees (inactive included)")
        ]
        if not records:
            return findings
        needed = ("internal.terminationDate", "work.reportsTo", *self._custom_fields())
        missing = [f for f in needed if not any(_has(r, f) for r in records.values())]
        if missing:
            findings.append(
                Finding(
                    "warning",
                    "hr",
                    f"HiBob fields never returned for any employee: {', '.join(missing)} "
                    "(empty for everyone, misspelt, or hidden from the service user's permission group)",
                )
            )
        return findings

    # --- writing ---

    def write_note(self, employee_id: str, title: str, text: str, out_dir: Path) -> str:
        """The outcome report as a text document in the employee's folder `document_folder`.

        POST docs/people/{id}/folders/{folderId}/upload (multipart `file`). `out_dir` is unused: the
        report lives in HiBob, not on disk.
        """
        employee_id = str(employee_id).strip()
        if not EMPLOYEE_ID.match(employee_id):
            raise NotFound(
                f"employee '{employee_id[:70]}' not found in HiBob (not an employee id)", vendor=VENDOR
            )
        if self.document_folder is None:
            raise ConfigurationError(
                "HiBob: document_folder (the folder id that receives relevo's report) is not set"
            )
        name = f"{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-') or 'report'}-{employee_id}.txt"
        path = f"docs/people/{employee_id}/folders/{self.document_folder}/upload"
        response = self.http.request(
            "POST", path, allow=(404,), files={"file": (name, f"{title}\n\n{text}\n".encode(), "text/plain")}
        )
        if response.status_code == 404:
            raise NotFound(
                f"employee {employee_id} or document folder {self.document_folder} not found in HiBob",
                vendor=VENDOR,
                status=404,
            )
        return f"HiBob document '{name}' in folder {self.document_folder} of employee {employee_id}"


# --- webhooks ---


class WebhookChange(NamedTuple):
    """One lifecycle change a Bob webhook reports."""

    employee_id: str
    kind: str  # "terminated" | "status_changed" | "rescinded"
    change_fingerprint: str


def is_ping(body: bytes) -> bool:
    """Bob's connection test: "Ping test" as a string, or {"text": "Ping test"}.

    Looked at before the signature (whether Bob signs the ping is UNCONFIRMED), so only a few bytes are
    ever parsed here: anything longer is not a ping, and a hostile body never reaches json.loads.
    """
    if len(body) > 64:
        return False
    text = body.strip().decode("utf-8", "replace")
    if text.strip('"') in PING:
        return True
    try:
        return bool(json.loads(text) == {"text": "Ping test"})
    except ValueError:
        return False


def parse_webhook(payload: Any) -> list[WebhookChange]:
    """The termination-related change in one Bob v2 webhook (already JSON-decoded); [] for other events.

    employee.left -> "terminated"; employee.activated -> "rescinded" (rescind re-reads HR before
    giving anything back: a return from leave gives nothing back); a lifecycle table entry created
    or updated (a termination entered for a future date is one) -> "status_changed" (the run reads
    the record and does nothing unless it shows a termination). employee.inactivated and every
    other event -> [] (see EVENTS). Raises ValueError naming the field for a payload of the wrong shape.
    """
    if not isinstance(payload, dict):
        raise ValueError("HiBob webhook: the payload is not a JSON object")
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise ValueError("HiBob webhook: type is missing")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ValueError("HiBob webhook: data is not an object")
    if kind in TABLE_EVENTS:
        if data.get("tableId") != "lifecycle":
            return []
        change = "status_changed"
    elif kind in EVENTS:
        change = EVENTS[kind]
    else:
        return []
    raw_id = data.get("employeeId")
    if raw_id is None or isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise ValueError("HiBob webhook: data.employeeId is missing")
    employee_id = str(raw_id).strip()
    if not EMPLOYEE_ID.match(employee_id):
        raise ValueError("HiBob webhook: data.employeeId is not an employee id")
    triggered = payload.get("triggeredAt")
    if triggered is not None and not isinstance(triggered, str):
        raise ValueError("HiBob webhook: triggeredAt is not a string")
    # No effective date is taken from the payload: triggeredAt is midnight in the site's time zone
    # without an offset, and a lifecycle entry's date may be a join's. The run reads the record's.
    canonical = json.dumps(
        [employee_id, kind, triggered, data], sort_keys=True, separators=(",", ":"), default=str
    )
    return [WebhookChange(employee_id, change, hashlib.sha256(canonical.encode()).hexdigest()[:32])]


# --- helpers: reading the nested answer ---


def value(record: dict[str, Any], path: str | None) -> Any:
    """A field's machine value by its path (`internal.terminationDate`; `root.x` is top level)."""
    if not path:
        return None
    parts = path.split(".")
    if parts[0] == "root":
        parts = parts[1:]
    node: Any = record
    for part in parts:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def display(record: dict[str, Any], path: str | None) -> Any:
    """A field's display value (the humanReadable copy, e.g. a list item's name), else its machine value."""
    readable = record.get("humanReadable")
    shown = value(readable, path) if isinstance(readable, dict) else None
    return shown if shown not in (None, "") and not isinstance(shown, (dict, list)) else value(record, path)


def _has(record: dict[str, Any], path: str) -> bool:
    return value(record, path) not in (None, "")


def _reference(raw: Any) -> str | None:
    """An employee reference: an id, or an object with `id` (work.reportsTo is one)."""
    if isinstance(raw, dict):
        raw = raw.get("id")
    return _text(raw)


def _date(raw: Any, field: str | None) -> str | None:
    """A date field as YYYY-MM-DD or None; anything else is InvalidResponse naming the field."""
    try:
        if isinstance(raw, (dict, list, bool)):
            raise ValueError("not a date (YYYY-MM-DD)")
        return iso_date(raw)
    except ValueError as exc:
        raise InvalidResponse(f"HiBob field {field}: {exc}", vendor=VENDOR) from None


def _text(raw: Any) -> str | None:
    """A scalar field as trimmed text; objects, lists and booleans are not text."""
    return None if isinstance(raw, (dict, list, bool)) else clean(raw)


def _name(record: dict[str, Any], fallback: str) -> str:
    parts = " ".join(
        p for p in (_text(value(record, "root.firstName")), _text(value(record, "root.surname"))) if p
    )
    return _text(value(record, "root.displayName")) or parts or fallback


def _person(employee_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": employee_id,
        "name": _name(record, employee_id),
        "email": work_email(value(record, "root.email"), f"HiBob employee {employee_id}"),
        "phone": None,
        "job_title": _text(display(record, "work.title")),
    }
