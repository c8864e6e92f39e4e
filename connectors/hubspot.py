"""HubSpot CRM: the clients leavers own, and handing them to their successors.

API version: HubSpot's date-versioned CRM API (VERSION, `/crm/objects/{VERSION}/...`,
`/crm/owners/{VERSION}`); numbered paths (`/crm/v3/`) are unsupported from September 2027
(developers.hubspot.com/changelog/legacy-apis-and-legacy-apps-whats-going-unsupported-and-when)
and each date version is supported at least 18 months (connectors/versions.py has the dates).
Spec: HubSpot's OpenAPI files (github.com/HubSpot/HubSpot-public-api-spec-collection,
CRM/Objects and CRM/Crm Owners, 2026-09) were read for every path, parameter and answer used
here, but their licence ("proprietary to HubSpot and not licensed for external use") forbids
vendoring them: the tests check requests and answers against the field names and types
transcribed in tests/connectors/hubspot_contract.py instead.

Calls for N leavers owning C companies and K contacts, fewest first (one leaver costs
1 + ceil(C/200) + about ceil(K/200) reads; a layoff of 1,000 about 10 + ceil(C/200) + ceil(K/200)):
- owner ids from e-mails: `GET /crm/owners/{VERSION}?email=` for a few people; for many, the
  whole owner list, 100 a page (the owner `id`, not `userId`);
- owned companies: `POST /crm/objects/{VERSION}/companies/search` on `hubspot_owner_id IN` (100
  owners per filter group, 5 groups per search), 200 a page, sorted by `hs_object_id` and paged
  with `hs_object_id GT <last id>` instead of `after`: HubSpot answers 400 to any page past the
  first 10,000 results of one search;
- contacts: searches for contacts a leaver owns OR whose primary company (`associatedcompanyid`)
  is one of those companies, so each client arrives with all its people without a call per
  company (the v4 associations batch read would need one more call per 1,000 companies plus one
  batch read per 100 contacts);
- reassignment: `POST /crm/objects/{VERSION}/{companies,contacts}/batch/update`, 100 records a
  call, records of several leavers (each to their own successor) in the same call; a 207 answer
  with `errors` is a partial failure naming the records that were not updated.
Docs: https://developers.hubspot.com/docs/api-reference/crm-owners-v3,
https://developers.hubspot.com/docs/api/crm/search, .../crm/companies (batch update).

Kept as one module: one vendor's client, with the documented facts it relies on beside the calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from relevo.connectors.addresses import parse_email
from relevo.connectors.errors import BadRecord, ConnectorError, InvalidResponse, NotFound
from relevo.connectors.health import Finding
from relevo.connectors.http import (
    BearerToken,
    CursorPaginator,
    ErrorBody,
    HttpClient,
    Paginator,
    dig,
    error_body,
    paginate,
)
from relevo.model import Client, Contact, Person, country_language

BASE_URL = "https://api.hubapi.com"
VERSION = "2026-09"  # the latest date version (released 2026-09-08); see connectors/versions.py
SEARCH_CAP = 10_000  # results one search pages through before HubSpot answers 400 (search docs)
ID_ORDER = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]  # search docs' `sorts` form
PAGE = 200  # search page size: HubSpot's maximum
BATCH = 100  # batch/update inputs per call
IN_VALUES = 100  # values per IN filter (UNCONFIRMED: kept at 100 to be safe)
MAX_GROUPS = 5  # filterGroups per search (HubSpot changelog, August 2024)
OWNER_PAGE = 100  # owners per page of GET /crm/owners/{VERSION} (the spec's default `limit`)
LOOKUPS = 3  # up to this many e-mails are looked up one by one; more, and the owner list is read once
COMPANY_PROPERTIES = ["name", "country", "hubspot_owner_id"]
# salutation: HubSpot's default contact property for the title ("Mr", "Ms", "Dr"); it feeds the greeting.
CONTACT_PROPERTIES = [
    "firstname",
    "lastname",
    "salutation",
    "email",
    "hs_language",
    "country",
    "company",
    "associatedcompanyid",
    "hubspot_owner_id",
]
# HubSpot's `country` is free text: ISO codes plus the names people usually type.
COUNTRY_NAMES = {
    "spain": "ES",
    "españa": "ES",
    "mexico": "MX",
    "méxico": "MX",
    "argentina": "AR",
    "chile": "CL",
    "colombia": "CO",
    "peru": "PE",
    "perú": "PE",
    "united kingdom": "GB",
    "uk": "GB",
    "ireland": "IE",
    "united states": "US",
    "usa": "US",
    "canada": "CA",
    "australia": "AU",
    "portugal": "PT",
    "brazil": "BR",
    "brasil": "BR",
    "france": "FR",
    "belgium": "BE",
    "belgique": "BE",
    "luxembourg": "LU",
    "germany": "DE",
    "deutschland": "DE",
    "austria": "AT",
    "österreich": "AT",
    "switzerland": "CH",
    "schweiz": "CH",
    "andorra": "AD",
}


WINDOW_SECONDS = 10.0


def country_code(value: str | None) -> str | None:
    """An ISO 3166 alpha-2 code from HubSpot's free-text country, when recognisable."""
    text = (value or "").strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return COUNTRY_NAMES.get(text.casefold())


def hubspot_error(response: requests.Response) -> ErrorBody:
    """HubSpot errors: `{"status":"error","message":...,"correlationId":...}`."""
    return error_body(
        response,
        message=[("message",)],
        request_id=[("correlationId",)],
        headers=["X-HubSpot-Correlation-Id"],
    )


class IdAfterPaginator(Paginator):
    """CRM search pages in the POST body: sorted by `hs_object_id`, each next page asks for ids greater
    than the last one seen (one more filter in every group) instead of sending `after`, so no search
    pages past SEARCH_CAP, where HubSpot answers 400. A page ends the list when it is empty or has no
    `paging.next`; the last id is the cursor (a search answering the same last id twice is refused).
    """

    def __init__(self, filter_groups: list[dict[str, Any]]) -> None:
        super().__init__()
        self.filter_groups = filter_groups
        self.last: str | None = None

    def update_state(self, body: Any) -> None:
        results = dig(body, "results") or []
        if not dig(body, "paging", "next") or not results:
            self.has_next_page = False
            return
        ids = [str(r.get("id", "")) for r in results]
        if not all(i.isdigit() for i in ids):
            raise InvalidResponse(f"{self.where}: a record without a numeric id", vendor=self.vendor)
        self.last = self.follow(max(ids, key=int))

    def update_request(self, request: dict[str, Any]) -> dict[str, Any]:
        after = {"propertyName": "hs_object_id", "operator": "GT", "value": self.last}
        groups = [{**group, "filters": [*group["filters"], after]} for group in self.filter_groups]
        return {**request, "json": {**request["json"], "filterGroups": groups}}


class PartialFailure(ConnectorError):
    """A batch answered 207: some records changed, the ones named here did not."""

    def __init__(self, message: str, failed: list[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.failed = failed


class HubSpotCRM:
    """ClientSource over HubSpot's CRM API (a service key or legacy private app token with the scopes
    crm.objects.companies.read/.write, crm.objects.contacts.read/.write and crm.objects.owners.read)."""

    def __init__(
        self,
        token: str,
        base_url: str = BASE_URL,
        *,
        version: str = VERSION,
        sleep: Callable[[float], None] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
        # HubSpot's 429 carries no Retry-After: wait out its 10-second window (documented rolling limit).
        self.http = HttpClient(
            "hubspot",
            base_url,
            auth=BearerToken(token),
            error_parser=hubspot_error,
            session=session,
            default_retry_after=WINDOW_SECONDS,
            **kwargs,
        )
        self._gate = threading.Lock()
        self._resume_at = 0.0  # monotonic time before which no thread calls (the window's budget is spent)
        self._owners: dict[str, str | None] = {}
        self.version = version
        self.owners_path = f"/crm/owners/{version}"

    # --- transport: every call goes through here so the rate-limit headers are always honoured ---

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        with self._gate:
            wait = self._resume_at - time.monotonic()
        if wait > 0:  # another thread saw the budget spent: every thread waits for the window to roll
            self.http.sleep(wait)
        response = self.http.request(method, path, **kwargs)
        self.respect_window(response)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise InvalidResponse(
                f"{method} {path}: expected a JSON object", vendor="hubspot", status=response.status_code
            )
        return body

    def respect_window(self, response: requests.Response) -> None:
        """When the window's budget is spent, wait for the window to roll over instead of earning a 429."""
        remaining = response.headers.get("X-HubSpot-RateLimit-Remaining")
        if remaining is None or remaining.strip() != "0":
            return
        try:
            interval = (
                float(response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")) / 1000
            )
        except ValueError:
            interval = WINDOW_SECONDS
        interval = min(interval, self.http.max_retry_after)
        with self._gate:
            self._resume_at = max(self._resume_at, time.monotonic() + interval)
        self.http.sleep(interval)

    # --- reads ---

    def owner_id(self, email: str) -> str | None:
        """The owner `id` for an e-mail (`userId` is a different number and is not what owns records).

        Remembered per e-mail: a layoff's leavers often share one successor.
        """
        key = email.casefold()
        if key not in self._owners:
            body = self.call(
                "GET", self.owners_path, params={"email": email, "archived": "false", "limit": 1}
            )
            self._owners[key] = next(
                (
                    str(o["id"])
                    for o in body.get("results") or []
                    if str(o.get("email", "")).casefold() == key and o.get("id")
                ),
                None,
            )
        return self._owners[key]

    def owner_ids(self, emails: list[str]) -> dict[str, str | None]:
        """Owner ids for many e-mails: a few are looked up one by one, many by reading the owner list once."""
        wanted = {e.casefold() for e in emails} - set(self._owners)
        if len(wanted) > LOOKUPS:
            listed: dict[str, str] = {}
            pages = CursorPaginator(lambda body: dig(body, "paging", "next", "after"), "after")
            for body in paginate(
                self.http,
                "GET",
                self.owners_path,
                pages,
                call=self.call,
                params={"archived": "false", "limit": OWNER_PAGE},
            ):
                for owner in body.get("results") or []:
                    if owner.get("email") and owner.get("id"):
                        listed.setdefault(str(owner["email"]).casefold(), str(owner["id"]))
            self._owners.update(listed)  # everyone listed: successors need no lookup later
            self._owners.update({email: None for email in wanted - set(listed)})
        return {email: self.owner_id(email) for email in emails}

    def objects_path(self, objects: str, action: str) -> str:
        return f"/crm/objects/{self.version}/{objects}/{action}"

    def search(
        self, objects: str, filter_groups: list[dict[str, Any]], properties: list[str]
    ) -> Iterator[dict[str, Any]]:
        """Every record matching a search, all pages, however many (search is a read: safe to retry).

        Sorted by `hs_object_id`; each next page asks for ids greater than the last one seen
        (one more filter in every group), so no search ever pages past SEARCH_CAP, where HubSpot
        answers 400. Same number of calls as paging with `after`.
        """
        pages = IdAfterPaginator(filter_groups)
        payload: dict[str, Any] = {
            "filterGroups": filter_groups,
            "properties": properties,
            "limit": PAGE,
            "sorts": ID_ORDER,
        }
        for body in paginate(
            self.http,
            "POST",
            self.objects_path(objects, "search"),
            pages,
            call=self.call,
            json=payload,
            idempotent=True,
        ):
            yield from body.get("results") or []

    def search_in(
        self, objects: str, groups: list[tuple[str, list[str]]], properties: list[str]
    ) -> list[dict[str, Any]]:
        """Records whose property is IN any of the value lists, each once, in as few searches as allowed.

        Each (property, values) pair becomes filter groups of at most IN_VALUES values; a search
        ORs up to MAX_GROUPS groups (each gets one more filter, `hs_object_id GT`, when paging).
        """
        filter_groups = [
            {"filters": [{"propertyName": name, "operator": "IN", "values": values[i : i + IN_VALUES]}]}
            for name, values in groups
            for i in range(0, len(values), IN_VALUES)
        ]
        seen: dict[str, dict[str, Any]] = {}
        for i in range(0, len(filter_groups), MAX_GROUPS):
            for record in self.search(objects, filter_groups[i : i + MAX_GROUPS], properties):
                seen.setdefault(str(record["id"]), record)
        return list(seen.values())

    def clients_of(self, owner_email: str | None, owner_id: str) -> list[Client]:
        """Every client one leaver owns (see `clients_of_many`)."""
        return self.clients_of_many([(owner_email, owner_id)])[owner_id]

    def clients_of_many(self, owners: list[tuple[str | None, str]]) -> dict[str, list[Client]]:
        """For each (e-mail, employee id): owned companies with all their contacts, plus owned contacts elsewhere.

        One read for all of them, so a layoff costs about what one person with all their clients would.
        """
        emails = [email for email, _ in owners if email]
        ids = self.owner_ids(emails) if emails else {}
        owner_of = {employee_id: ids.get(email) if email else None for email, employee_id in owners}
        hub_ids = sorted({o for o in owner_of.values() if o})
        companies: dict[str, dict[str, Any]] = {}
        contacts: list[dict[str, Any]] = []
        if hub_ids:
            companies = {
                str(c["id"]): c.get("properties") or {}
                for c in self.search_in("companies", [("hubspot_owner_id", hub_ids)], COMPANY_PROPERTIES)
            }
            contacts = self.search_in(
                "contacts",
                [("hubspot_owner_id", hub_ids), ("associatedcompanyid", list(companies))],
                CONTACT_PROPERTIES,
            )
        return {
            employee_id: self.owned_by(owner, companies, contacts) if owner else []
            for employee_id, owner in owner_of.items()
        }

    def owned_by(
        self, owner: str, companies: dict[str, dict[str, Any]], contacts: list[dict[str, Any]]
    ) -> list[Client]:
        """One owner's clients: their companies with every contact, and contacts they own at other companies."""
        mine = {
            cid: props
            for cid, props in companies.items()
            if str(props.get("hubspot_owner_id") or "") == owner
        }
        grouped: dict[str, list[dict[str, Any]]] = {cid: [] for cid in mine}
        names: dict[str, str] = {}
        for record in contacts:
            props = record.get("properties") or {}
            company = str(props.get("associatedcompanyid") or "")
            if company not in mine:
                if str(props.get("hubspot_owner_id") or "") != owner:
                    continue  # someone else's contact at someone else's company
                # An owned contact at a company someone else owns (or none): its own client group.
                company = company or f"contact-{record['id']}"
                names.setdefault(company, (props.get("company") or "").strip() or full_name(props))
            grouped.setdefault(company, []).append(record)
        return [
            self.client(cid, mine.get(cid), names.get(cid, ""), records, owner)
            for cid, records in grouped.items()
        ]

    @staticmethod
    def client(
        cid: str,
        company: dict[str, Any] | None,
        fallback_name: str,
        records: list[dict[str, Any]],
        owner: str,
    ) -> Client:
        contacts = []
        owned_contacts = []
        problem = None
        for record in sorted(records, key=lambda r: str(r["id"])):
            props = record.get("properties") or {}
            if str(props.get("hubspot_owner_id") or "") == owner:
                owned_contacts.append(str(record["id"]))
            if not props.get("email"):
                continue  # nobody to write to
            try:  # CRM data decides where a notice goes: exactly one plain address, or the client waits
                email = parse_email(props["email"], f"HubSpot contact {record['id']} (company {cid}): email")
            except BadRecord as exc:
                problem = problem or str(exc)
                continue
            country = country_code(props.get("country"))
            contacts.append(
                Contact(
                    name=full_name(props),
                    email=email,
                    language=props.get("hs_language") or country_language(country),
                    id=str(record["id"]),
                    country=country,
                    first_name=text_or_none(props.get("firstname")),
                    last_name=text_or_none(props.get("lastname")),
                    salutation=text_or_none(props.get("salutation")),
                )
            )
        return Client(
            id=cid,
            company=(company or {}).get("name") or fallback_name or cid,
            owner_id=owner,
            contacts=tuple(contacts),
            country=country_code((company or {}).get("country")),
            crm_ids={"companies": [cid] if company is not None else [], "contacts": owned_contacts},
            problem=problem,
        )

    # --- write ---

    def reassign(self, clients: list[Client], owner_email: str | None, successor: Person) -> str:
        """Give one leaver's companies and contacts to the successor (see `reassign_many`)."""
        return self.reassign_many([(clients, successor)])[0]

    def reassign_many(self, handovers: list[tuple[list[Client], Person]]) -> list[str]:
        """Give each leaver's companies and contacts to their successor's owner id, 100 records a call.

        Records of several hand-overs share calls (each input carries its own owner). Setting the
        same owner twice changes nothing, so the batch update is safe to retry. Returns one line
        per hand-over; a successor who is not a HubSpot owner stops the whole call, naming them.
        """
        new_owners: dict[str, str] = {}
        for email, found in self.owner_ids([successor.email for _, successor in handovers]).items():
            if found is None:
                raise NotFound(f"{email} is not a HubSpot owner: add them as a user first", vendor="hubspot")
            new_owners[email] = found
        lines = []
        updates: dict[str, dict[str, str]] = {"companies": {}, "contacts": {}}
        for clients, successor in handovers:
            owner = new_owners[successor.email]
            counts: dict[str, int] = {}
            for objects in updates:
                ids = {i for c in clients for i in c.crm_ids.get(objects, [])}
                updates[objects].update(dict.fromkeys(ids, owner))
                counts[objects] = len(ids)
            lines.append(
                f"{counts['companies']} compan{'y' if counts['companies'] == 1 else 'ies'} and "
                f"{counts['contacts']} contact(s) now owned by {successor.name} (HubSpot owner {owner})"
            )
        failed: list[str] = []
        reasons: set[str] = set()
        for objects, owners in updates.items():
            records = sorted(owners)
            for i in range(0, len(records), BATCH):
                inputs = [
                    {"id": r, "properties": {"hubspot_owner_id": owners[r]}} for r in records[i : i + BATCH]
                ]
                body = self.call(
                    "POST",
                    self.objects_path(objects, "batch/update"),
                    json={"inputs": inputs},
                    idempotent=True,
                )
                missed, why = batch_errors(body, [r for r in records[i : i + BATCH]])
                failed += [f"{objects} {r}" for r in missed]
                reasons |= why
        if failed:  # the others are done; a rerun sets the same owners again, which changes nothing
            shown = ", ".join(failed[:20]) + (f" and {len(failed) - 20} more" if len(failed) > 20 else "")
            raise PartialFailure(
                f"batch/update left {len(failed)} record(s) with their old owner: {shown}"
                f" ({'; '.join(sorted(reasons))[:300]})",
                failed,
                vendor="hubspot",
                status=207,
            )
        return lines

    def check(self) -> list[Finding]:
        """`relevo doctor`: the token reads owners, companies and contacts (one record each)."""
        self.call("GET", self.owners_path, params={"limit": 1, "archived": "false"})
        findings = [Finding("ok", "crm", "owners can be read (crm.objects.owners.read)")]
        for objects in ("companies", "contacts"):
            self.call(
                "POST",
                self.objects_path(objects, "search"),
                idempotent=True,
                json={"filterGroups": [], "properties": ["hubspot_owner_id"], "limit": 1, "sorts": ID_ORDER},
            )
            findings.append(Finding("ok", "crm", f"{objects} can be searched (crm.objects.{objects}.read)"))
        findings.append(
            Finding(
                "ok",
                "crm",
                "write scopes (crm.objects.companies.write, crm.objects.contacts.write) "
                "are only proven by the first hand-over: HubSpot documents no read-only "
                "check of a service key's scopes",
            )
        )
        return findings


def batch_errors(body: dict[str, Any], sent: list[str]) -> tuple[list[str], set[str]]:
    """The ids a batch answer says were not changed, and why (BatchResponseSimplePublicObjectWithErrors).

    Each error names its records in `context.ids` (StandardError). An error without ids, or
    `numErrors` larger than the errors listed, leaves unknown which ones failed: then every
    record sent that is not among the `results` counts as failed, never as done.
    """
    errors = body.get("errors") or []
    if not errors and not body.get("numErrors"):
        return [], set()
    failed: list[str] = []
    reasons: set[str] = set()
    named = True
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            named = False
            continue
        reasons.add(str(error.get("category") or error.get("message") or "error")[:80])
        ids = (
            (error.get("context") or {}).get("ids") if isinstance(error.get("context"), dict) else None
        ) or []
        failed += [str(i) for i in ids]
        named = named and bool(ids)
    if not named or (isinstance(body.get("numErrors"), int) and body["numErrors"] > len(errors)):
        done = {str(r.get("id")) for r in body.get("results") or [] if isinstance(r, dict)}
        failed += [r for r in sent if r not in done]
    return [r for r in dict.fromkeys(failed) if r in set(sent)] or [r for r in sent], reasons


def text_or_none(value: Any) -> str | None:
    text = str(value or "").strip()
    return text or None


def full_name(props: dict[str, Any]) -> str:
    name = " ".join(str(props.get(k) or "").strip() for k in ("firstname", "lastname")).strip()
    return name or str(props.get("email") or "")
