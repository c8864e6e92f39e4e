"""BambooHR: the leaver's HR record, the outcome report filed back on it, webhook payloads.

Endpoints, as the official OpenAPI spec names them (tests/specs/bamboohr-public.yaml, MIT): its
server is `https://{companyDomain}.bamboohr.com` with paths `/api/v1/...`, the base URL relevo
uses (also the official SDK's, BambooHR/bhr-api-python `bamboohr_sdk/configuration.py`, and
https://documentation.bamboohr.com/docs/api-details). The old gateway form
`api.bamboohr.com/api/gateway.php/{companyDomain}/v1/` is not in the spec, and relevo refuses redirects:
  GET  employees/{id}?fields=...       operationId get-employee
  GET  employees/{id}/tables/{table}   operationId get-employee-table-data (employmentStatus, jobInfo)
  GET  meta/lists                      operationId list-list-fields (termination type/reason id -> name)
  POST employees/{id}/files            operationId upload-employee-file (multipart, 201 + Location)
Many leavers at once (`employees`, a layoff), a fixed number of calls however many people:
  POST reports/custom?format=json      operationId request-custom-report (the same fields, employeeIds filter)
  GET  employees/all/tables/{table}    operationId get-employee-table-data, id "all" (every employee's rows)
Auth: HTTP Basic with the API key as user name and "x" as password: the key travels only in
the Authorization header, never in a URL, and HttpClient redacts it from any error text.

Kept as one module: one vendor's client, with the documented facts it relies on beside the calls.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
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
from relevo.connectors.http import BasicAuth, ErrorBody, HttpClient, error_body
from relevo.model import ConfigurationError

VENDOR = "bamboohr"
logger = logging.getLogger("relevo.bamboohr")
BASE_URL = "https://{domain}.bamboohr.com/api/v1/"  # the spec's `servers` entry plus its `/api/v1` paths
DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$")

PERSON_FIELDS = ("firstName", "lastName", "displayName", "workEmail", "workPhone", "mobilePhone", "jobTitle")
EMPLOYEE_FIELDS = PERSON_FIELDS + (
    "department",
    "supervisorEId",
    "status",
    "employmentHistoryStatus",
    "terminationDate",
)
# "Terminated" is one of the two permanent employment status values (BambooHR tables docs).
TERMINATED = "terminated"
# Table columns that are list fields, and the list field's display name in GET meta/lists.
LIST_FIELDS = {"terminationTypeId": "Termination Type", "terminationReasonId": "Termination Reason"}
# The custom report filters employees by integer id (RequestCustomReport.filters.employeeIds).
NUMERIC_ID = re.compile(r"^[1-9][0-9]{0,18}$")
# Ids per custom report. The spec sets no limit on employeeIds (UNCONFIRMED): 100 keeps each report small.
REPORT_CHUNK = 100


def bamboo_error(response: requests.Response) -> ErrorBody:
    """BambooHR explains errors in the X-BambooHR-Error-Message header, not always in the body."""
    error = error_body(response)
    return replace(error, message=response.headers.get("X-BambooHR-Error-Message") or error.message)


class BambooHR:
    """One company's BambooHR account, read through the REST API with an API key."""

    def __init__(
        self,
        company_domain: str,
        api_key: str,
        *,
        default_language: str,
        base_url: str | None = None,
        termination_types: Mapping[str, str] | None = None,
        successor_field: str | None = None,
        language_field: str | None = None,
        restriction_fields: Mapping[str, str] | None = None,
        note_category: int | None = None,
        today: Callable[[], date] = date.today,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        if not DOMAIN.match(company_domain or ""):
            raise ConfigurationError(
                f"BambooHR company domain '{company_domain}' is not a subdomain name (e.g. acme)"
            )
        check_restriction_fields("BambooHR", restriction_fields, RESTRICTIONS)
        self.http = HttpClient(
            VENDOR,
            base_url or BASE_URL.format(domain=company_domain),
            auth=BasicAuth(api_key, "x"),
            error_parser=bamboo_error,
            sleep=sleep,
            session=session,
        )
        self.default_language = default_language
        self.types = termination_table(termination_types)
        # Field names or numeric field ids (YAML may read `4321` as a number): always text in a query.
        self.successor_field = str(successor_field) if successor_field is not None else None
        self.language_field = str(language_field) if language_field is not None else None
        self.restriction_fields = {k: str(v) for k, v in (restriction_fields or {}).items() if v is not None}
        self.note_category = note_category
        self.today = today
        self._lists: dict[str, dict[str, str]] | None = None
        # managers and successors, read once each: their raw fields, checked when used (a bad e-mail is
        # the problem of the employee it is used for, not of a whole layoff batch)
        self._people: dict[str, dict[str, Any] | None] = {}

    # --- reading ---

    def employee(self, employee_id: str) -> dict[str, Any]:
        """The normalized employee object (schemas/employee.schema.json); missing facts are explicit nulls.

        Three calls about this one person (get-employee, and get-employee-table-data for
        employmentStatus and jobInfo): the batch's `all` tables would download everyone's rows.
        """
        employee_id = _checked_id(employee_id)
        fields = self._get_fields(employee_id, self._employee_fields())
        if fields is None:
            raise NotFound(f"employee {employee_id} not found in BambooHR", vendor=VENDOR, status=404)
        return self._normalized(
            employee_id,
            fields,
            self._table(employee_id, "employmentStatus"),
            self._table(employee_id, "jobInfo"),
        )

    def changed_since(self, since: str | None) -> tuple[list[str], str | None]:
        """Employees changed since the ISO 8601 `since` (get-changed-employee-ids), and the new cursor.

        BambooHR returns an employee for a change in any field or in the employmentStatus or
        jobInfo tables, so a termination entered today with a date next month is seen today. The
        cursor is the answer's `latest` (the newest change among those returned), so nothing
        changed between two polls is skipped; an empty answer keeps the old cursor.
        """
        body = self.http.json("GET", "employees/changed", params={"since": since, "type": "all"}) or {}
        employees = body.get("employees") if isinstance(body, dict) else None
        if not isinstance(employees, dict):
            raise InvalidResponse(
                "BambooHR employees/changed: the answer has no 'employees' object", vendor=VENDOR
            )
        ids = [
            str(row.get("id") or key)
            for key, row in employees.items()
            if isinstance(row, dict) and row.get("action") != "Deleted"
        ]
        latest = body.get("latest") if isinstance(body.get("latest"), str) else None
        return [i for i in ids if EMPLOYEE_ID.match(i)], latest or since

    def roster(self) -> list[dict[str, str | None]]:
        """Everyone still employed (status Active, which a resignation keeps until its date): id and work e-mail.

        One custom report of every employee (POST reports/custom, no id filter, fields status and
        workEmail): HTTP Basic with the API key, which the newer list-employees endpoint does not
        accept (OAuth only in the official spec), and every employee whatever the directory
        settings (get-employees-directory answers 403 when the directory is not shared).
        """
        body = {"title": "relevo roster", "fields": ["status", "workEmail"]}
        response = self.http.request(
            "POST", "reports/custom", params={"format": "json"}, json=body, idempotent=True
        )
        report = _decode(response, "reports/custom", "POST")
        rows = report.get("employees") if isinstance(report, dict) else None
        if not isinstance(rows, list):
            raise InvalidResponse(
                "POST reports/custom did not return a list of employees",
                vendor=VENDOR,
                status=response.status_code,
            )
        out: list[dict[str, str | None]] = []
        for row in rows:
            employee_id = str(clean(row.get("id")) or "") if isinstance(row, dict) else ""
            if EMPLOYEE_ID.match(employee_id) and str(row.get("status") or "").casefold() == "active":
                out.append({"id": employee_id, "email": clean(row.get("workEmail"))})
        return out

    def employees(self, employee_ids: list[str]) -> dict[str, dict[str, Any] | Exception]:
        """Many leavers (a layoff) in a few calls: each requested id -> its employee object or its ConnectorError.

        Calls: one custom report per REPORT_CHUNK ids (the fields `employee` reads, custom ones
        included), the employmentStatus and jobInfo tables of all employees once, meta/lists
        once if needed, and one report per REPORT_CHUNK managers/successors not in the batch.
        Why not the others the spec offers: GET /api/v1/employees (list-employees, filter[ids])
        returns only a fixed set of fields (no custom fields, no supervisorEId, no termination
        date); get-changed-employee-table-data returns rows by change time, not by id; the
        datasets API names fields per dataset, not by the field names/ids the registry sets.
        An id the report leaves out is NotFound; a failed call is the error of every id it
        was for, so one unreadable chunk does not stop the rest of the layoff.
        """
        wanted: dict[str, str | NotFound] = {}
        for requested in employee_ids:
            try:
                wanted[str(requested)] = _numeric_id(requested)
            except NotFound as exc:
                wanted[str(requested)] = exc
        read = self._read_many(list(dict.fromkeys(v for v in wanted.values() if isinstance(v, str))))
        return {key: value if isinstance(value, NotFound) else read[value] for key, value in wanted.items()}

    def _read_many(self, employee_ids: list[str]) -> dict[str, dict[str, Any] | Exception]:
        out: dict[str, dict[str, Any] | Exception] = {}
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(employee_ids, REPORT_CHUNK):
            try:
                found.update(self._report(chunk, self._employee_fields()))
            except ConnectorError as exc:
                out.update({employee_id: exc for employee_id in chunk})
        for employee_id in employee_ids:
            if employee_id not in found and employee_id not in out:
                out[employee_id] = NotFound(f"employee {employee_id} not found in BambooHR", vendor=VENDOR)
        if not found:
            return out
        try:  # shared by the whole batch: a failure here is every found id's error
            status_rows = self._all_rows("employmentStatus")
            job_rows = self._all_rows("jobInfo")
            self._remember_people(found)
        except ConnectorError as exc:
            return {**out, **{employee_id: exc for employee_id in found}}
        for employee_id, fields in found.items():
            try:
                out[employee_id] = self._normalized(
                    employee_id, fields, status_rows.get(employee_id, []), job_rows.get(employee_id, [])
                )
            except ConnectorError as exc:
                out[employee_id] = exc
        return out

    def _normalized(
        self,
        employee_id: str,
        fields: dict[str, Any],
        status_rows: list[dict[str, Any]],
        job_rows: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """One employee's fields and table rows as schemas/employee.schema.json: the one normalization path."""
        job = _latest(job_rows, on_or_before=self.today())
        termination = self._termination(fields, status_rows)
        return {
            "id": employee_id,
            "name": _name(fields, employee_id),
            "email": work_email(fields.get("workEmail"), f"BambooHR employee {employee_id}"),
            "phone": clean(fields.get("workPhone")) or clean(fields.get("mobilePhone")),
            "language": language_or(
                fields.get(self.language_field) if self.language_field else None, self.default_language
            ),
            "department": clean(fields.get("department")) or clean((job or {}).get("department")),
            "job_title": clean(fields.get("jobTitle")) or clean((job or {}).get("jobTitle")),
            "status": "active" if termination is None else status_on(termination["date"], self.today()),
            "termination": termination,
            "manager": self.person(clean(fields.get("supervisorEId"))),
            "successor": self.person(self._successor_id(fields)),
            "restrictions": self._restrictions(fields),
        }

    def person(self, employee_id: str | None) -> dict[str, Any] | None:
        """Name and contact of a related employee (manager, successor); None when absent or unknown."""
        if not employee_id or not EMPLOYEE_ID.match(employee_id):
            return None
        if employee_id not in self._people:
            self._people[employee_id] = self._get_fields(employee_id, PERSON_FIELDS)
        fields = self._people[employee_id]
        return None if fields is None else _person(employee_id, fields)

    def _remember_people(self, found: dict[str, dict[str, Any]]) -> None:
        """Fill the person cache: the leavers themselves, then their managers/successors in one report per chunk."""
        for employee_id, fields in found.items():
            self._people[employee_id] = fields
        related = (
            clean(f.get(name))
            for f in found.values()
            for name in ("supervisorEId", self.successor_field)
            if name
        )
        missing = [r for r in dict.fromkeys(related) if r and NUMERIC_ID.match(r) and r not in self._people]
        for chunk in _chunks(missing, REPORT_CHUNK):
            people = self._report(chunk, PERSON_FIELDS)
            for employee_id in chunk:  # left out of the report: no such person, as a 404 reads in `person`
                self._people[employee_id] = people.get(employee_id)

    def _custom_fields(self) -> tuple[str, ...]:
        names = [self.successor_field, self.language_field, *self.restriction_fields.values()]
        return tuple(n for n in names if n)

    def _employee_fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(EMPLOYEE_FIELDS + self._custom_fields()))

    def _successor_id(self, fields: dict[str, Any]) -> str | None:
        return clean(fields.get(self.successor_field)) if self.successor_field else None

    def _get_fields(self, employee_id: str, fields: tuple[str, ...]) -> dict[str, Any] | None:
        """GET employees/{id}?fields=... (spec: get-employee); None on 404."""
        path = f"employees/{employee_id}"
        response = self.http.request("GET", path, params={"fields": ",".join(fields)}, allow=(404,))
        if response.status_code == 404:
            return None
        body = _decode(response, path)
        if not isinstance(body, dict):
            raise InvalidResponse(
                f"GET {path} returned {type(body).__name__}, expected an object",
                vendor=VENDOR,
                status=response.status_code,
            )
        return body

    def _table(self, employee_id: str, table: str) -> list[dict[str, Any]]:
        """GET employees/{id}/tables/{table} (spec: get-employee-table-data); a missing table reads as empty."""
        path = f"employees/{employee_id}/tables/{table}"
        response = self.http.request("GET", path, allow=(404,))
        if response.status_code == 404:
            return []
        rows = _decode(response, path)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InvalidResponse(
                f"GET {path} did not return a list of rows", vendor=VENDOR, status=response.status_code
            )
        return rows

    def _report(self, employee_ids: list[str], fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        """POST reports/custom?format=json (spec: request-custom-report): id -> field values, for the ids given.

        The body names the same field names/ids get-employee takes and filters on the ids;
        the answer is {title, fields: [...], employees: [{id, <field>: value}]}, every employee
        regardless of status. The spec marks this call deprecated in favour of datasets
        (see `employees` for why not those). Keys of numeric custom field ids are the ids as
        sent, as in get-employee (UNCONFIRMED). POST only reads here: retried like a GET.
        """
        body = {
            "title": "relevo leavers",
            "fields": list(fields),
            "filters": {"employeeIds": [int(employee_id) for employee_id in employee_ids]},
        }
        response = self.http.request(
            "POST", "reports/custom", params={"format": "json"}, json=body, idempotent=True
        )
        report = _decode(response, "reports/custom", "POST")
        rows = report.get("employees") if isinstance(report, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, dict) and clean(r.get("id")) for r in rows):
            raise InvalidResponse(
                "POST reports/custom did not return a list of employees with ids",
                vendor=VENDOR,
                status=response.status_code,
            )
        asked = set(employee_ids)
        # Duplicate rows are filtered by default (filterDuplicates); should one remain, the first wins.
        out: dict[str, dict[str, Any]] = {}
        for row in rows:
            out.setdefault(str(clean(row.get("id"))), row)
        return {employee_id: row for employee_id, row in out.items() if employee_id in asked}

    def _all_rows(self, table: str) -> dict[str, list[dict[str, Any]]]:
        """GET employees/all/tables/{table} (spec: get-employee-table-data, id "all"): rows by their employeeId."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in self._table("all", table):
            owner = clean(row.get("employeeId"))
            if owner is None:
                raise InvalidResponse(
                    f"GET employees/all/tables/{table} returned a row without employeeId", vendor=VENDOR
                )
            grouped.setdefault(owner, []).append(row)
        return grouped

    def _termination(self, fields: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        """From the latest employmentStatus row (future-dated included); the fields are the fallback without rows."""
        if rows:
            row = _latest(rows) or {}
            if str(row.get("employmentStatus") or "").strip().lower() != TERMINATED:
                return None
            vendor_type = self._list_value("terminationTypeId", row.get("terminationTypeId"))
            return {
                "type": termination_kind(vendor_type, self.types),
                "date": _date(row.get("date"), "employmentStatus.date"),
                "reason": self._list_value("terminationReasonId", row.get("terminationReasonId")),
                "vendor_type": vendor_type,
            }
        last_day = _date(fields.get("terminationDate"), "terminationDate")
        terminated = (
            str(fields.get("employmentHistoryStatus") or "").strip().lower() == TERMINATED
            or str(fields.get("status") or "").strip().lower() == "inactive"
        )
        if last_day is None and not terminated:
            return None
        return {"type": "unknown", "date": last_day, "reason": None, "vendor_type": None}

    def _list_value(self, column: str, value: Any) -> str | None:
        """A list field's option name. Table rows may carry the option id or its name: an id is looked up."""
        text = clean(value)
        if text is None or not text.isdigit():
            return text
        return self._list_options(column).get(text)

    def _list_options(self, column: str) -> dict[str, str]:
        """Option id -> name for one list field, read once.

        GET meta/lists (spec path /api/v1/meta/lists, operationId list-list-fields): a list of
        ListFieldDetail {fieldId, name, alias, options: [ListFieldOption {id, name, archived}]}.
        Archived options are kept: old rows still point at them.
        """
        if self._lists is None:
            response = self.http.request("GET", "meta/lists")
            lists = _decode(response, "meta/lists")
            if not isinstance(lists, list):
                raise InvalidResponse(
                    "GET meta/lists did not return a list", vendor=VENDOR, status=response.status_code
                )
            self._lists = {}
            for item in lists:
                if not isinstance(item, dict):
                    continue
                options = {
                    str(o.get("id")): str(o.get("name"))
                    for o in item.get("options") or []
                    if isinstance(o, dict) and o.get("name") is not None
                }
                for key in (item.get("alias"), item.get("name"), item.get("fieldId")):
                    if key is not None:
                        self._lists[str(key).lower()] = options
        return self._lists.get(column.lower()) or self._lists.get(LIST_FIELDS[column].lower()) or {}

    def _restrictions(self, fields: dict[str, Any]) -> dict[str, Any]:
        contact = self.restriction_fields.get("no_client_contact")
        until = self.restriction_fields.get("non_solicitation_until")
        return {
            "no_client_contact": flag(fields.get(contact)) if contact else False,
            "non_solicitation_until": _date(fields.get(until), until) if until else None,
        }

    # --- `relevo doctor` ---

    def check(self) -> list[Finding]:
        """The API key reads the account's field list (GET meta/fields, spec: list-fields), and the registry's
        own fields (successor, language, restrictions) are in it, by id, name or alias. Standard fields
        are not looked for: some (displayName, supervisorEId) are computed and may be absent from the list
        (UNCONFIRMED), and a false alarm would teach people to ignore doctor."""
        path = "meta/fields"
        response = self.http.request("GET", path)
        fields = _decode(response, path)
        if not isinstance(fields, list):
            raise InvalidResponse(
                f"GET {path} did not return a list", vendor=VENDOR, status=response.status_code
            )
        visible = {
            str(f.get(k)).casefold()
            for f in fields
            if isinstance(f, dict)
            for k in ("id", "name", "alias")
            if f.get(k) is not None
        }
        findings = [Finding("ok", "hr", f"the BambooHR API key reads the field list ({len(fields)} fields)")]
        missing = [name for name in self._custom_fields() if name.casefold() not in visible]
        if missing:
            findings.append(
                Finding(
                    "error",
                    "hr",
                    f"BambooHR fields named in the registry but not visible to the API "
                    f"key's user: {', '.join(missing)} (misspelt, or the user lacks access to them)",
                )
            )
        elif self._custom_fields():
            findings.append(
                Finding("ok", "hr", "the registry's BambooHR fields are visible to the API key's user")
            )
        return findings

    # --- writing ---

    def write_note(self, employee_id: str, title: str, text: str, out_dir: Path) -> str:
        """The outcome report as a text file in the employee's Files (BambooHR has no notes endpoint).

        POST employees/{id}/files (spec: upload-employee-file): multipart fileName, category (the
        file section id), share=no, file; 201 with the new file's URL in Location. `out_dir` is
        unused: the report lives in BambooHR, not on disk.
        """
        employee_id = _checked_id(employee_id)
        if self.note_category is None:
            raise ConfigurationError(
                "BambooHR: note_category (the file section id for relevo's report) is not set"
            )
        name = f"{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-') or 'report'}-{employee_id}.txt"
        path = f"employees/{employee_id}/files"
        response = self.http.request(
            "POST",
            path,
            allow=(404,),
            data={"fileName": name, "category": str(self.note_category), "share": "no"},
            files={"file": (name, f"{title}\n\n{text}\n".encode(), "text/plain")},
        )
        if response.status_code == 404:
            raise NotFound(
                f"employee {employee_id} or file section {self.note_category} not found in BambooHR",
                vendor=VENDOR,
                status=404,
            )
        if response.status_code != 201:
            raise InvalidResponse(
                f"POST {path} answered {response.status_code}, expected 201",
                vendor=VENDOR,
                status=response.status_code,
            )
        location = response.headers.get("Location") or "no Location returned"
        return (
            f"BambooHR file '{name}' in section {self.note_category} of employee {employee_id} ({location})"
        )


# --- webhooks ---


class WebhookChange(NamedTuple):
    """One employee change a BambooHR webhook reports: who, what, and a key stable across redeliveries."""

    employee_id: str
    kind: str  # "terminated" | "rescinded" | "status_changed" (maybe a termination: the run confirms it)
    change_fingerprint: str


# Field names as they appear in payloads, normalized (lower case, letters and digits only):
# field-based webhooks use display names ("Employment Status") unless renamed, event-based use aliases.
STATUS_NAMES = {"employmentstatus", "employmenthistorystatus"}
DATE_NAMES = {"terminationdate"}
WATCHED_ALIASES = {"employmenthistorystatus", "status", "terminationdate"}


def parse_webhook(payload: Any) -> list[WebhookChange]:
    """The terminations (and withdrawn terminations) in one BambooHR webhook body, already JSON-decoded.

    What signals a termination (BambooHR's spec and field docs): the employment status
    (`employmentHistoryStatus`, shown as "Employment Status") becoming "Terminated", or a
    termination date being set. A status change to anything else (full-time -> part-time) is not
    one, nor is `status` (Active/Inactive: whether the employee can log in) on its own.

    Field-based (`{"employees": [...]}`, several employees per POST, values in `fields` when the
    webhook posts them): "terminated" when the new employment status is "Terminated" or the
    termination date is set, "rescinded" when the termination date is cleared. A status or date
    change whose value was not posted is "status_changed". Event-based (`{"type": ..., "data": ...}`,
    spec: EmployeeUpdatedWebhookPayload) carries only the aliases of the changed fields, never
    values: an `employee.updated` whose changedFields include employmentHistoryStatus, status or
    terminationDate is "status_changed". A "status_changed" event is never taken as a termination:
    the run it starts reads the HR record and does nothing unless that shows a termination.
    Anything else yields nothing. Raises ValueError naming the field when the payload has neither shape.
    """
    if not isinstance(payload, dict):
        raise ValueError("BambooHR webhook: the payload is not a JSON object")
    if "employees" in payload:
        return _field_based(payload["employees"])
    if "type" in payload:
        return _event_based(payload)
    raise ValueError(
        "BambooHR webhook: neither 'employees' (field-based) nor 'type' (event-based) is present"
    )


def _field_based(entries: Any) -> list[WebhookChange]:
    """The terminations in a field-based POST; one odd entry never costs the others theirs.

    BambooHR never retries a 4xx, so rejecting the POST for one entry would lose every other
    employee in it. PHP encodes an empty map as `[]`, so `"fields": []` (and `"changedFields": {}`)
    read as empty. An entry that cannot be read is skipped and logged (its index and the problem,
    never its values). Only when no entry could be read and one of them looked like a termination
    is the POST refused (ValueError naming the field): the sender's webhook log then shows it.
    """
    if not isinstance(entries, list):
        raise ValueError("BambooHR webhook: employees is not a list")
    out = []
    unreadable_termination: str | None = None
    for index, entry in enumerate(entries):
        where = f"employees[{index}]"
        try:
            out.extend(_field_entry(entry, where))
        except ValueError as exc:
            looks_like = _looks_like_termination(entry)
            logger.log(
                logging.ERROR if looks_like else logging.WARNING,
                "%s; entry skipped%s",
                exc,
                " (it may be a termination: check it in BambooHR)" if looks_like else "",
            )
            if looks_like and unreadable_termination is None:
                unreadable_termination = str(exc)
    if not out and unreadable_termination is not None:
        raise ValueError(unreadable_termination)
    return out


def _field_entry(entry: Any, where: str) -> list[WebhookChange]:
    """One field-based entry: its change, none, or ValueError naming the field that cannot be read."""
    if not isinstance(entry, dict):
        raise ValueError(f"BambooHR webhook: {where} is not an object")
    employee_id = _payload_id(entry.get("id"), f"{where}.id")
    changed = _empty_as(entry.get("changedFields"), list)
    values = _empty_as(entry.get("fields"), dict)
    if not isinstance(changed, list):
        raise ValueError(f"BambooHR webhook: {where}.changedFields is not a list")
    if not isinstance(values, dict):
        raise ValueError(f"BambooHR webhook: {where}.fields is not an object")
    kind = _field_kind({_norm(c) for c in changed}, {_norm(k): v for k, v in values.items()})
    return [WebhookChange(employee_id, kind, _fingerprint(employee_id, kind, entry))] if kind else []


def _empty_as(value: Any, kind: type) -> Any:
    """None, `[]` or `{}` as an empty `kind` (PHP writes an empty map as `[]`); anything else as it is."""
    return kind() if value is None or (isinstance(value, (list, dict)) and not value) else value


def _looks_like_termination(entry: Any) -> bool:
    """Whether an unreadable entry names the employment status or termination date among its changes."""
    if not isinstance(entry, dict):
        return False
    changed = entry.get("changedFields")
    names = changed if isinstance(changed, list) else [changed]
    return bool(
        {_norm(n) for n in names if isinstance(n, str)} & (STATUS_NAMES | DATE_NAMES | WATCHED_ALIASES)
    )


def _field_kind(changed: set[str], values: dict[str, Any]) -> str | None:
    status_changed = bool(changed & STATUS_NAMES)
    date_changed = bool(changed & DATE_NAMES)
    statuses = [str(values[n] or "").strip().lower() for n in STATUS_NAMES if n in values]
    dates = [str(values[n] or "").strip() for n in DATE_NAMES if n in values]
    if status_changed and TERMINATED in statuses:
        return "terminated"
    if date_changed and any(d not in ("", "0000-00-00") for d in dates):
        return "terminated"
    if date_changed and dates and all(d in ("", "0000-00-00") for d in dates):
        return "rescinded"
    if (status_changed and not statuses) or (date_changed and not dates):
        return "status_changed"  # the value was not posted: the run confirms it from the HR record
    return None


def _event_based(payload: dict[str, Any]) -> list[WebhookChange]:
    kind = payload["type"]
    if not isinstance(kind, str):
        raise ValueError("BambooHR webhook: type is not a string")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ValueError("BambooHR webhook: data is not an object")
    employee_id = _payload_id(data.get("employeeId"), "data.employeeId")
    changed = data.get("changedFields", [])
    if not isinstance(changed, list):
        raise ValueError("BambooHR webhook: data.changedFields is not a list")
    if kind != "employee.updated" or not {_norm(c) for c in changed} & WATCHED_ALIASES:
        return []
    # No values in an event-based payload: which way the status went is for the HR record to say.
    return [
        WebhookChange(employee_id, "status_changed", _fingerprint(employee_id, "status_changed", payload))
    ]


def _payload_id(value: Any, where: str) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"BambooHR webhook: {where} is missing")
    text = str(value).strip()
    if not EMPLOYEE_ID.match(text):
        raise ValueError(f"BambooHR webhook: {where} is not an employee id")
    return text


def _norm(name: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _fingerprint(employee_id: str, kind: str, content: dict[str, Any]) -> str:
    """sha256 of the change itself: a redelivered POST (same body) gives the same key."""
    canonical = json.dumps([employee_id, kind, content], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


# --- helpers ---


def _numeric_id(employee_id: Any) -> str:
    """The id as the custom report filters it (integers): anything else cannot be a BambooHR employee."""
    text = _checked_id(employee_id)
    if not NUMERIC_ID.match(text):
        raise NotFound(f"employee '{text}' not found in BambooHR (not a numeric employee id)", vendor=VENDOR)
    return text


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _person(employee_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A related employee (manager, successor) from any answer carrying PERSON_FIELDS."""
    return {
        "id": employee_id,
        "name": _name(fields, employee_id),
        "email": work_email(fields.get("workEmail"), f"BambooHR employee {employee_id}"),
        "phone": clean(fields.get("workPhone")) or clean(fields.get("mobilePhone")),
        "job_title": clean(fields.get("jobTitle")),
    }


def _checked_id(employee_id: Any) -> str:
    """The id as it goes into a URL path: anything else cannot be a BambooHR employee."""
    text = str(employee_id).strip()
    if not EMPLOYEE_ID.match(text):
        raise NotFound(f"employee '{text[:70]}' not found in BambooHR (not an employee id)", vendor=VENDOR)
    return text


def _decode(response: requests.Response, path: str, method: str = "GET") -> Any:
    try:
        return response.json()
    except ValueError:
        raise InvalidResponse(
            f"{method} {path} returned a body that is not JSON", vendor=VENDOR, status=response.status_code
        ) from None


def _date(value: Any, field: str) -> str | None:
    try:
        return iso_date(value)
    except ValueError as exc:
        raise InvalidResponse(f"BambooHR field {field}: {exc}", vendor=VENDOR) from None


def _latest(rows: list[dict[str, Any]], on_or_before: date | None = None) -> dict[str, Any] | None:
    """The row with the latest date (ties: the higher row id); optionally not after a day."""

    def key(row: dict[str, Any]) -> tuple[str, int]:
        row_id = str(row.get("id") or "")
        return (str(row.get("date") or ""), int(row_id) if row_id.isdigit() else 0)

    dated = [r for r in rows if on_or_before is None or str(r.get("date") or "") <= on_or_before.isoformat()]
    return max(dated, key=key) if dated else None


def _name(fields: dict[str, Any], fallback: str) -> str:
    name = " ".join(p for p in (clean(fields.get("firstName")), clean(fields.get("lastName"))) if p)
    return clean(fields.get("displayName")) or name or fallback
