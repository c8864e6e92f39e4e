"""Personio (API v2): the leaver's person and employment, the outcome report filed back, webhook payloads.

Vendor facts relied on, with their sources (Personio Developer Hub, developer.personio.de, and
Personio's OpenAPI files `credentials-service-api-v2`, `persons-service-api-v2` and
`employment-contract-v2` as stored in Hochfrequenz/personio_client.py `openapi/v2/`; those files
carry no licence, so they are not vendored: the shapes relevo relies on are transcribed in
tests/connectors/personio_contract.py, which names each source):

Auth (credentials-service-api-v2; /v2.0/reference/authentication):
  POST /v2/auth/token, form-encoded grant_type=client_credentials, client_id, client_secret (scope
  optional: without it the token gets every scope of the credentials). 200: access_token (`papi-`
  prefix), token_type Bearer, expires_in (seconds, default 86400 = 1 day). 400 problem+json with an
  OAuth2 `error` code for bad credentials. The token is stable for its lifetime and may be used for
  any number of calls, in parallel, on every Personnel Data endpoint (v1 included). The token
  endpoint allows 150 requests a minute, then 1 a second for 60 s. relevo caches the token and
  renews it RENEW_BEFORE seconds before it expires, or at once after a 401 (connectors.http.BearerTokens).
  Personio asks callers to send X-Personio-App-ID (UPPER_SNAKE_CASE) so its support can find them.
Reading (persons-service-api-v2, employment-contract-v2):
  GET /v2/persons/{id}                          Person: id, email, first_name, last_name, preferred_name,
                                                status, created_at, updated_at, custom_attributes[{id,
                                                global_id, label, type, value}], employments[{id}]
  GET /v2/persons?limit&cursor&email&updated_at.gt   lists of {_data, _meta.links.next.href}; limit 1-50
  GET /v2/persons/{person_id}/employments?limit&cursor&updated_at.gt
                                                Employment: id, status (ACTIVE, INACTIVE, ONBOARDING, LEAVE,
                                                UNSPECIFIED), position.title, supervisor.id, updated_at,
                                                employment_end_date, termination {termination_date,
                                                last_working_day, terminated_at, type, reason}; the most
                                                recent employment first. The spec's example writes
                                                `last_working_date` where its schema says `last_working_day`:
                                                both are read.
  The person id is the v1 employee id (the v2 person example links its picture as
  /v1/company/employees/{the same id}/profile-picture): relevo's employee id is the person id.
  Termination types (enum): EMPLOYEE, QUIT, RETIREMENT -> voluntary; FIRED, IRREVOCABLE_SUSPENSION ->
  involuntary; the others (AGREEMENT, SETTLEMENT_AGREEMENT, CONTRACT_EXPIRED, ...) are "unknown" unless
  the registry's policy.termination_types names them (their meaning depends on the company).
  Language, successor and exit-agreement restrictions are custom attributes named in the registry
  (matched by the attribute's id, e.g. dynamic_305, its global_id or its label). Personio hides
  attributes that are not whitelisted for the credentials: a missing attribute reads as empty.
Writing the outcome report (v2 has no upload: its document management API lists, updates and deletes
  documents only; personio/api-docs personio-personnel-data-api-oa3.yaml, /company/documents):
  POST /v1/company/documents, multipart title, employee_id, category_id, comment, file; 201 with
  data.id; 404 for an unknown employee or category; 60 requests a minute. Sent with the v2 token.
Webhooks (/v2.0/reference/webhooks, /reference/post_v2-webhooks, /docs/event-driven-data-from-personio):
  Webhooks are created with POST /v2/webhooks (url, description, status defaulting to DISABLED,
  auth_type, token, enabled_events; scope personio:webhooks:write; GET /v2/webhooks needs
  personio:webhooks:read). Event names appear as Person.updated and as person.updated in Personio's
  pages: compared in lower case.
  dataless notifications {company_id, event_name, occurred_at, payload, meta}; events Person.created/
  updated/deleted, Employment.created/updated/deleted, and employment.started/employment.terminated
  on the effective date (changelog "Effective Date Notification Webhooks"). Personio does NOT sign the
  body: the subscription's auth_type TOKEN sends the configured token verbatim in the Authorization
  header (CUSTOM: up to 3 headers; NONE: nothing); relevo.receiver.verify.PersonioVerifier checks it.
  2xx within 3 s, else (and on 5xx except 501) retried for up to 3 days, at most 14 requests; redirects
  are not followed; HTTPS only.
  UNCONFIRMED: which fields the `payload` of an employment event carries. relevo looks for the
  person's id in payload.person_id, payload.person.id or payload.employee_id, and refuses (400,
  naming it) a notification that has none; reconciliation then finds the change.
Rate limits: none published for the v2 persons and employments endpoints (UNCONFIRMED; forum threads
  report 429s); 429 and 5xx are retried by connectors.http honouring Retry-After, and the registry's
  `rate_limit` can pace the calls.

Kept as one module: one vendor's client, with the documented facts it relies on beside the calls.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from relevo import schemas
from relevo.connectors.errors import AuthenticationError, InvalidResponse, NotFound
from relevo.connectors.health import Finding
from relevo.connectors.hr_records import (
    DEFAULT_TERMINATION_TYPES,
    EMPLOYEE_ID,
    RESTRICTIONS,
    check_restriction_fields,
    clean,
    flag,
    iso_date,
    language_or,
    read_each,
    status_on,
    termination_kind,
    termination_table,
    work_email,
)
from relevo.connectors.http import (
    BearerTokens,
    CursorPaginator,
    ErrorBody,
    HttpClient,
    at,
    error_body,
    json_body,
    paginate,
)
from relevo.model import ConfigurationError

VENDOR = "personio"
BASE_URL = "https://api.personio.de/"  # the specs' server; paths /v2/... and the v1 upload /v1/company/...
TOKEN_PATH = "v2/auth/token"
DEFAULT_LIFETIME = 86400.0  # expires_in's documented default (1 day)
RENEW_BEFORE = 300.0  # renew this long before the token expires: a run never starts with a dying token
APP_ID = "RELEVO"
PAGE = 50  # the largest `limit` the list endpoints take
MAX_PAGES = 2000  # 100,000 persons: beyond it the cursor is taken to loop
CURSOR_OVERLAP = timedelta(
    seconds=1
)  # updated_at.gt is strict: re-read the last second (reconciliation dedupes)
POLL_MODES = ("employments", "persons")
NUMERIC_ID = re.compile(r"^[1-9][0-9]{0,18}$")  # /v1/company/documents takes employee_id as an integer
PERSONIO_TYPES = {
    "employee": "voluntary",
    "quit": "voluntary",
    "retirement": "voluntary",
    "fired": "involuntary",
    "irrevocable_suspension": "involuntary",
}
TERMINATED_STATUS = "inactive"
# Webhook events that may report a termination or its withdrawal (compared in lower case: the docs
# write both Employment.updated and employment.terminated). Person.* events concern the profile
# (names, custom attributes), Employment.created a new employment, and *.deleted a record that can
# no longer be read: none of them is taken as a termination.
WATCHED_EVENTS = {"employment.updated", "employment.terminated"}


def personio_error(response: requests.Response) -> ErrorBody:
    """Personio's problem+json ({personio_trace_id, errors: [{title, detail}]}) or an OAuth2 error body."""
    error = error_body(response, request_id=[("personio_trace_id",), ("trace_id",)])
    body = json_body(response)
    first = at(body, ("errors", 0))
    if isinstance(first, dict):
        parts = [first[k] for k in ("title", "detail") if isinstance(first.get(k), str)]
    elif isinstance(at(body, ("error",)), str):
        parts = [body["error"], *[body["error_description"]] * isinstance(body.get("error_description"), str)]
    else:
        return error
    return replace(error, message=": ".join(parts) or error.message)


class ClientCredentials(BearerTokens):
    """Personio's access token for a client id and secret: fetched once, reused, renewed before it expires."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        base_url: str = BASE_URL,
        *,
        app_id: str = APP_ID,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self._secret = client_secret
        self.clock = clock
        self.http = HttpClient(
            VENDOR,
            base_url,
            headers={"X-Personio-App-ID": app_id},
            secrets=[client_id, client_secret],
            error_parser=personio_error,
            sleep=sleep,
            session=session,
        )
        self._token: str | None = None
        self._expires = 0.0
        self._fetching = threading.Lock()
        self.fetched = 0  # tokens obtained (tests and `relevo doctor` count them)

    def fetch(self, force: bool) -> str:
        with self._fetching:
            if not force and self._token is not None and self.clock() < self._expires - RENEW_BEFORE:
                return self._token
            self._token, lifetime = self._request()
            self._expires = self.clock() + lifetime
            self.fetched += 1
            return self._token

    def _request(self) -> tuple[str, float]:
        """POST /v2/auth/token; AuthenticationError (with Personio's OAuth2 error code) for refused
        credentials."""
        response = self.http.request(
            "POST",
            TOKEN_PATH,
            idempotent=True,
            allow=(400, 401, 403),
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._secret,
            },
        )
        if response.status_code in (400, 401, 403):
            error = personio_error(response)
            raise AuthenticationError(
                self.http.redact(f"POST {TOKEN_PATH}: the credentials were refused ({error.message})"[:300]),
                vendor=VENDOR,
                status=response.status_code,
                request_id=error.request_id,
            )
        body = self.http.decode(response, "POST", TOKEN_PATH)
        token = body.get("access_token") if isinstance(body, dict) else None
        if (
            not isinstance(token, str)
            or not token.strip()
            or len(token) > 4096
            or any(c.isspace() for c in token)
        ):
            raise InvalidResponse(
                f"POST {TOKEN_PATH} returned no access_token", vendor=VENDOR, status=response.status_code
            )
        lifetime = body.get("expires_in", DEFAULT_LIFETIME)
        if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or lifetime <= 0:
            raise InvalidResponse(
                f"POST {TOKEN_PATH} returned an expires_in that is not a positive number",
                vendor=VENDOR,
                status=response.status_code,
            )
        return token, float(lifetime)


class Personio:
    """One company's Personio account, read through API v2 with client credentials."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        default_language: str,
        base_url: str | None = None,
        app_id: str = APP_ID,
        termination_types: Mapping[str, str] | None = None,
        successor_field: str | None = None,
        language_field: str | None = None,
        restriction_fields: Mapping[str, str] | None = None,
        document_category: int | None = None,
        poll: str = "employments",
        today: Callable[[], date] = date.today,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        check_restriction_fields("Personio", restriction_fields, RESTRICTIONS)
        if poll not in POLL_MODES:
            raise ConfigurationError(f"Personio poll '{poll}' is not one of {', '.join(POLL_MODES)}")
        if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,63}", app_id or ""):
            raise ConfigurationError(f"Personio app_id '{str(app_id)[:70]}' is not UPPER_SNAKE_CASE")
        base = base_url or BASE_URL
        # The token client keeps a session of its own: HttpClient sets the session's auth, and a token
        # request sent with the token source as its auth would wait on itself.
        self.tokens = ClientCredentials(
            client_id, client_secret, base, app_id=app_id, clock=clock, sleep=sleep
        )
        self.http = HttpClient(
            VENDOR,
            base,
            auth=self.tokens,
            headers={"X-Personio-App-ID": app_id},
            secrets=[client_secret],
            error_parser=personio_error,
            sleep=sleep,
            session=session,
        )
        self.default_language = default_language
        self.types = termination_table(termination_types, {**DEFAULT_TERMINATION_TYPES, **PERSONIO_TYPES})
        self.successor_field = str(successor_field) if successor_field is not None else None
        self.language_field = str(language_field) if language_field is not None else None
        self.restriction_fields = {k: str(v) for k, v in (restriction_fields or {}).items() if v is not None}
        self.document_category = document_category
        self.poll = poll
        self.today = today
        self._people: dict[str, dict[str, Any] | None] = {}  # managers and successors, read once each

    # --- reading ---

    def employee(self, employee_id: str) -> dict[str, Any]:
        """The normalized employee object (schemas/employee.schema.json); missing facts are explicit nulls.

        Two calls about the leaver (the person, their employments), one per manager and successor.
        """
        person_id = _checked_id(employee_id)
        person = self._person(person_id)
        if person is None:
            raise NotFound(f"employee {person_id} not found in Personio", vendor=VENDOR, status=404)
        self._people[person_id] = person
        employment = self._current_employment(person_id)
        termination = self._termination(employment)
        first, last = clean(person.get("first_name")), clean(person.get("last_name"))
        out: dict[str, Any] = {
            "id": person_id,
            "name": _name(person, person_id),
            "email": work_email(person.get("email"), f"Personio person {person_id}"),
            "phone": None,  # not in the v2 Person
            "language": language_or(self._attribute(person, self.language_field), self.default_language),
            "department": None,  # the employment names org units by id only
            "job_title": clean(((employment or {}).get("position") or {}).get("title")),
            "status": "active" if termination is None else status_on(termination["date"], self.today()),
            "termination": termination,
            "manager": self.person(clean(((employment or {}).get("supervisor") or {}).get("id"))),
            "successor": self._successor(person),
            "restrictions": self._restrictions(person),
        }
        out.update({k: v[:200] for k, v in (("first_name", first), ("last_name", last)) if v})
        return out

    def employees(self, employee_ids: list[str]) -> dict[str, dict[str, Any] | Exception]:
        """Each requested id -> its employee object, or the ConnectorError for that id alone (a layoff).

        v2 lists employments per person only, so a batch costs what `employee` costs per leaver.
        """
        return read_each(employee_ids, self.employee)

    def person(self, person_id: str | None) -> dict[str, Any] | None:
        """Name and e-mail of a related person (manager, successor); None when absent or unknown."""
        if not person_id or not EMPLOYEE_ID.match(person_id):
            return None
        if person_id not in self._people:
            self._people[person_id] = self._person(person_id)
        record = self._people[person_id]
        if record is None:
            return None
        return {
            "id": person_id,
            "name": _name(record, person_id),
            "email": work_email(record.get("email"), f"Personio person {person_id}"),
            "phone": None,
            "job_title": None,
        }

    def changed_since(self, since: str | None) -> tuple[list[str], str | None]:
        """Persons whose employment (or, with poll: persons, whose person record) changed after `since`.

        Default (`employments`): every person is listed (one call per 50) and each person's employments
        are asked for `updated_at.gt=since` (one call per person): the documented filter on the record
        that holds the termination, so a termination entered today with a date next month is found
        today. `persons`: one filtered listing (`GET /v2/persons?updated_at.gt=`), a call per 50 changed
        persons; whether a change to an employment moves its person's updated_at is UNCONFIRMED, so it
        is offered only for companies that checked it. The cursor is the newest updated_at seen less
        one second (the filter is strict, and two changes can share a second): re-reading is harmless,
        reconciliation stores each termination once. No change keeps the old cursor.
        """
        start = _utc(since)
        changed: list[str] = []
        newest: datetime | None = None
        if self.poll == "persons":
            for person in self._pages("v2/persons", {"updated_at.gt": start}, "person"):
                changed.append(person["id"])
                newest = _later(newest, person.get("updated_at"))
        else:
            for person in self._pages("v2/persons", {}, "person"):
                rows = list(
                    self._pages(
                        f"v2/persons/{person['id']}/employments", {"updated_at.gt": start}, "employment"
                    )
                )
                if rows:
                    changed.append(person["id"])
                for row in rows:
                    newest = _later(newest, row.get("updated_at"))
        cursor = (newest - CURSOR_OVERLAP).strftime("%Y-%m-%dT%H:%M:%SZ") if newest is not None else since
        return list(dict.fromkeys(changed)), cursor

    def _person(self, person_id: str) -> dict[str, Any] | None:
        """GET /v2/persons/{id}, checked against schemas/personio_person.schema.json; None on 404."""
        path = f"v2/persons/{person_id}"
        response = self.http.request("GET", path, allow=(404,))
        if response.status_code == 404:
            return None
        record = _checked(self.http.decode(response, "GET", path), "person", f"GET {path}")
        if record["id"] != person_id:
            raise InvalidResponse(
                f"GET {path} returned another person", vendor=VENDOR, status=response.status_code
            )
        return record

    def _current_employment(self, person_id: str) -> dict[str, Any] | None:
        """The person's most recent employment (the latest start; the spec lists the most recent first)."""
        rows = list(self._pages(f"v2/persons/{person_id}/employments", {}, "employment", limit_pages=1))
        if not rows:
            return None
        latest: dict[str, Any] = max(
            rows, key=lambda r: str(r.get("employment_start_date") or "")
        )  # first of equals: the list's
        return latest

    def _pages(self, path: str, filters: dict[str, str], kind: str, limit_pages: int = MAX_PAGES) -> Any:
        """The items of a v2 list, page by page: `_data`, and the next page's cursor in
        `_meta.links.next.href`.

        The filters are sent again with each cursor (whether a cursor carries them is not documented).
        A cursor seen twice stops with InvalidResponse (a forum report of a next link pointing at its
        own page).
        """
        pages = CursorPaginator(_next_cursor, "cursor", max_pages=MAX_PAGES)
        listing = paginate(
            self.http,
            "GET",
            path,
            pages,
            params={**filters, "limit": PAGE},
            call=lambda *args, **kwargs: self._page(kind, *args, **kwargs),
        )
        for number, body in enumerate(listing, 1):
            rows = body["_data"] if body is not None else []
            for row in rows:
                yield _checked(row, kind, f"GET {_shape(path)}")
            if not rows or number >= limit_pages:
                return

    def _page(self, kind: str, method: str, path: str, **kwargs: Any) -> dict[str, Any] | None:
        """One page of a v2 list, None when an employments list answers 404 (no such person)."""
        response = self.http.request(method, path, allow=(404,) if kind == "employment" else (), **kwargs)
        if response.status_code == 404:
            return None
        body = self.http.decode(response, method, path)
        if not isinstance(body, dict) or not isinstance(body.get("_data"), list):
            raise InvalidResponse(
                f"GET {_shape(path)} did not return a _data list", vendor=VENDOR, status=response.status_code
            )
        return body

    def _termination(self, employment: dict[str, Any] | None) -> dict[str, Any] | None:
        """From the employment's termination (future-dated included); INACTIVE without one is a termination
        without a date. The last working day is the date relevo acts on; the termination date is the
        fallback."""
        if employment is None:
            return None
        term = employment.get("termination") or {}
        dates = {
            k: _date(term.get(k), f"termination.{k}")
            for k in ("last_working_day", "last_working_date", "termination_date", "terminated_at")
        }
        inactive = str(employment.get("status") or "").strip().lower() == TERMINATED_STATUS
        if not inactive and not any(dates.values()):
            return None
        vendor_type = clean(term.get("type"))
        if vendor_type and vendor_type.upper() == "UNSPECIFIED":
            vendor_type = None
        last_day = (
            dates["last_working_day"]
            or dates["last_working_date"]
            or dates["termination_date"]
            or _date(employment.get("employment_end_date"), "employment_end_date")
        )
        return {
            "type": termination_kind(vendor_type, self.types),
            "date": last_day,
            "reason": clean(term.get("reason")),
            "vendor_type": vendor_type,
        }

    def _attribute(self, person: dict[str, Any], name: str | None) -> Any:
        """A custom attribute's value by id, global_id or label (case-insensitive); None when absent."""
        if not name:
            return None
        wanted = name.strip().casefold()
        for item in person.get("custom_attributes") or []:
            if any(str(item.get(k) or "").strip().casefold() == wanted for k in ("id", "global_id", "label")):
                value = item.get("value")
                if isinstance(value, list):  # STRING_LIST: the first entry
                    value = value[0] if value else None
                return None if isinstance(value, (dict, list)) else value
        return None

    def _successor(self, person: dict[str, Any]) -> dict[str, Any] | None:
        """The successor custom attribute: a person id, or a work e-mail looked up with the persons email
        filter."""
        value = clean(self._attribute(person, self.successor_field))
        if value is None:
            return None
        if "@" not in value:
            return self.person(value)
        address = work_email(value, f"Personio person {person['id']}: successor")
        rows = list(self._pages("v2/persons", {"email": address or ""}, "person", limit_pages=1))
        match = [r for r in rows if str(r.get("email") or "").casefold() == (address or "").casefold()]
        if len(match) != 1:
            return None
        self._people.setdefault(match[0]["id"], match[0])
        return self.person(match[0]["id"])

    def _restrictions(self, person: dict[str, Any]) -> dict[str, Any]:
        contact = self.restriction_fields.get("no_client_contact")
        until = self.restriction_fields.get("non_solicitation_until")
        return {
            "no_client_contact": flag(self._attribute(person, contact)) if contact else False,
            "non_solicitation_until": _date(self._attribute(person, until), until) if until else None,
        }

    # --- `relevo doctor` ---

    def check(self) -> list[Finding]:
        """The credentials get a token and the token reads persons (GET /v2/persons?limit=1)."""
        self.http.json("GET", "v2/persons", params={"limit": 1})
        findings = [Finding("ok", "hr", "the Personio credentials get a token that reads persons")]
        if self.document_category is None:
            findings.append(
                Finding(
                    "warning",
                    "hr",
                    "Personio: hr.document_category is not set; relevo's report is not filed in Personio",
                )
            )
        return findings

    # --- writing ---

    def write_note(self, employee_id: str, title: str, text: str, out_dir: Path) -> str:
        """The outcome report as a text document in the employee's Documents (POST /v1/company/documents).

        API v2 has no document upload (its document management API lists, updates and deletes), and no
        note or comment on a person; the v1 upload takes the v2 token. `out_dir` is unused: the report
        lives in Personio. A POST is never repeated after a 5xx (it may have been filed).
        """
        person_id = _checked_id(employee_id)
        if self.document_category is None:
            raise ConfigurationError(
                "Personio: document_category (the document category id for relevo's report) is not set"
            )
        if not NUMERIC_ID.match(person_id):
            raise NotFound(
                f"employee '{person_id}' not found in Personio (not a numeric employee id)", vendor=VENDOR
            )
        name = f"{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-') or 'report'}-{person_id}.txt"
        path = "v1/company/documents"
        response = self.http.request(
            "POST",
            path,
            allow=(404,),
            data={"title": title[:255], "employee_id": person_id, "category_id": str(self.document_category)},
            files={"file": (name, f"{title}\n\n{text}\n".encode(), "text/plain")},
        )
        if response.status_code == 404:
            raise NotFound(
                f"employee {person_id} or document category {self.document_category} not found in Personio",
                vendor=VENDOR,
                status=404,
            )
        if response.status_code != 201:
            raise InvalidResponse(
                f"POST {path} answered {response.status_code}, expected 201",
                vendor=VENDOR,
                status=response.status_code,
            )
        body = self.http.decode(response, "POST", path)
        data = body.get("data") if isinstance(body, dict) else None
        doc_id = data.get("id") if isinstance(data, dict) else None
        return (
            f"Personio document '{name}' (id {clean(doc_id) or 'not returned'}) in category "
            f"{self.document_category} of employee {person_id}"
        )


# --- webhooks ---


def parse_webhook(payload: Any) -> dict[str, Any] | None:
    """The change a Personio notification reports: {"employee_id", "event", "occurred_at", "fingerprint"},
    or None.

    Notifications are dataless: an employment event says which person changed, never how. So every
    watched event is a "status_changed" for the receiver: the run it starts reads the employment
    and does nothing unless it shows a termination (flows/engine/gate.py). The envelope follows Personio's
    published JSON schema (company_id, occurred_at, payload, event_name required). The fingerprint
    is a hash of the event's name, time and payload: a redelivery (same body) has the same one.
    Raises ValueError naming the field when the notification cannot be read.
    """
    if not isinstance(payload, dict):
        raise ValueError("Personio webhook: the payload is not a JSON object")
    for key in ("company_id", "event_name", "occurred_at"):
        if not isinstance(payload.get(key), (str, int)) or isinstance(payload.get(key), bool):
            raise ValueError(f"Personio webhook: {key} is missing")
    data = payload.get("payload")
    if not isinstance(data, dict):
        raise ValueError("Personio webhook: payload is not an object")
    event = str(payload["event_name"]).strip()
    if event.lower() not in WATCHED_EVENTS:
        return None
    person = data.get("person")
    candidates = [
        data.get("person_id"),
        person.get("id") if isinstance(person, dict) else None,
        data.get("employee_id"),
    ]
    raw = next((c for c in candidates if c is not None), None)
    if raw is None or isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ValueError(
            f"Personio webhook: {event[:40]} names no person (payload.person_id or payload.person.id)"
        )
    employee_id = str(raw).strip()
    if not EMPLOYEE_ID.match(employee_id):
        raise ValueError("Personio webhook: the person id is not an employee id")
    canonical = json.dumps(
        [event.lower(), str(payload["occurred_at"]), data], sort_keys=True, separators=(",", ":"), default=str
    )
    return {
        "employee_id": employee_id,
        "event": event[:60],
        "occurred_at": _instant(payload["occurred_at"]),
        "fingerprint": hashlib.sha256(canonical.encode()).hexdigest()[:32],
    }


# --- helpers ---


def _checked(record: Any, kind: str, where: str) -> dict[str, Any]:
    try:
        checked: dict[str, Any] = schemas.check(f"personio_{kind}", record, f"Personio {where}")
        return checked
    except schemas.SchemaError as exc:
        raise InvalidResponse(str(exc)[:300], vendor=VENDOR) from None


def _checked_id(employee_id: Any) -> str:
    """The id as it goes into a URL path: anything else cannot be a Personio person."""
    text = str(employee_id).strip()
    if not EMPLOYEE_ID.match(text):
        raise NotFound(f"employee '{text[:70]}' not found in Personio (not an employee id)", vendor=VENDOR)
    return text


def _date(value: Any, field: str | None) -> str | None:
    try:
        return iso_date(value)
    except ValueError as exc:
        raise InvalidResponse(f"Personio field {field}: {exc}", vendor=VENDOR) from None


def _name(record: dict[str, Any], fallback: str) -> str:
    name = " ".join(p for p in (clean(record.get("first_name")), clean(record.get("last_name"))) if p)
    return (name or clean(record.get("preferred_name")) or fallback)[:200]


def _shape(path: str) -> str:
    """A path with person ids replaced, for error text."""
    return re.sub(r"persons/[^/]+", "persons/{id}", path)


def _next_cursor(body: dict[str, Any]) -> str | None:
    meta = body.get("_meta")
    links = meta.get("links") if isinstance(meta, dict) else None
    nxt = links.get("next") if isinstance(links, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else None
    if not isinstance(href, str):
        return None
    values = parse_qs(urlsplit(href).query).get("cursor")
    return values[0] if values else None


def _utc(since: str | None) -> str:
    """An ISO 8601 time as Personio's examples write it (2023-01-01T12:00:00Z)."""
    if not since:
        raise ConfigurationError("Personio: reconciliation needs a time to look back to")
    try:
        moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(f"Personio: '{since[:40]}' is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(value: Any) -> str | None:
    """An ISO 8601 time in UTC as the inbox writes times (milliseconds, +00:00), or None when unreadable."""
    moment = _later(None, value)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds") if moment is not None else None


def _later(current: datetime | None, value: Any) -> datetime | None:
    """The later of a running maximum and an updated_at value (unreadable values are skipped)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return current
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment if current is None or moment > current else current
