"""A small stateful HubSpot CRM behind `responses`: documented payload shapes, real filtering and paging.

Used by the HubSpot tests and by tests/bench/bench_notices.py (to count calls).
"""
from __future__ import annotations

import json
from typing import Any

import responses

BASE = "https://api.hubapi.com"
VERSION = "2026-09"


class FakeHubSpot:
    """HubSpot's CRM surface that relevo uses, as routes on a `responses` mock that checks every stub was used.

    The fake's routes are a server, not expectations: a test that only reads owners never searches, so
    the routes a test did not reach are dropped just before the mock's own check (`_drop_unused_routes`),
    while every other stub on the same mock must still be used. What a test expects of HubSpot is asserted
    on `requests`, `searches`, `updates` and `answers`.
    """

    def __init__(self, mock: responses.RequestsMock, owners: dict[str, str]) -> None:
        self.owners = owners  # email -> owner id
        self.companies: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.updates: list[tuple[str, list[dict[str, Any]]]] = []
        self.searches: list[dict[str, Any]] = []
        self.headers: dict[str, str] = {}  # extra response headers (rate-limit tests)
        self.failing: set[str] = set()  # record ids a batch/update leaves unchanged (a 207 names them)
        self.requests: list[Any] = []  # every request, for the contract check
        self.answers: list[tuple[str, int, Any]] = []  # (operation, status, body) of every answer
        self.routes = [mock.add_callback(responses.GET, f"{BASE}/crm/owners/{VERSION}", callback=self.owner)]
        for objects in ("companies", "contacts"):
            self.routes.append(mock.add_callback(responses.POST, f"{BASE}/crm/objects/{VERSION}/{objects}/search",
                                                 callback=lambda r, o=objects: self.search(o, r)))
            self.routes.append(mock.add_callback(
                responses.POST, f"{BASE}/crm/objects/{VERSION}/{objects}/batch/update",
                callback=lambda r, o=objects: self.update(o, r)))
        self._drop_unused_routes(mock)

    def _drop_unused_routes(self, mock: responses.RequestsMock) -> None:
        """Have `mock.stop` remove this fake's unreached routes first (see the class docstring)."""
        stop = mock.stop

        def stop_without_unused_routes(allow_assert: bool = True) -> None:
            for route in self.routes:
                if not route.call_count and route in mock.registered():
                    mock.remove(route)
            stop(allow_assert)

        mock.stop = stop_without_unused_routes  # type: ignore[method-assign]

    def add_company(self, cid: str, name: str, owner: str, country: str | None = None) -> None:
        self.companies[cid] = {"hs_object_id": cid, "name": name, "country": country, "hubspot_owner_id": owner}

    def add_contact(self, cid: str, first: str, last: str, email: str | None, owner: str, company: str | None,
                    language: str | None = None, country: str | None = None, company_name: str | None = None,
                    salutation: str | None = None) -> None:
        self.contacts[cid] = {"hs_object_id": cid, "firstname": first, "lastname": last, "email": email,
                              "hubspot_owner_id": owner, "associatedcompanyid": company, "hs_language": language,
                              "country": country, "company": company_name, "salutation": salutation}

    def reply(self, status: int, body: Any, operation: str = "") -> tuple[int, dict[str, str], str]:
        self.answers.append((operation, status, body))
        return status, {"Content-Type": "application/json", **self.headers}, json.dumps(body)

    def owner(self, request: Any) -> tuple[int, dict[str, str], str]:
        """GET /crm/owners/{version}: filtered by `email`, else every owner, `limit` a page with an `after` cursor."""
        self.requests.append(request)
        email = request.params.get("email")
        results = [{"id": oid, "email": e, "type": "PERSON", "firstName": "", "lastName": "",
                    "userId": 9000000 + int(oid[-3:]), "userIdIncludingInactive": 9000000 + int(oid[-3:]),
                    "createdAt": "2024-01-04T10:00:00.000Z", "updatedAt": "2025-05-02T09:00:00.000Z",
                    "archived": False}
                   for e, oid in self.owners.items() if email is None or e.casefold() == email.casefold()]
        start, limit = int(request.params.get("after") or 0), int(request.params.get("limit") or 100)
        assert limit <= 500, "owners are listed at most 500 a page"
        body: dict[str, Any] = {"results": results[start:start + limit]}
        if start + limit < len(results):
            body["paging"] = {"next": {"after": str(start + limit), "link": f"?after={start + limit}"}}
        return self.reply(200, body, "owners")

    @staticmethod
    def matcher(groups: list[dict[str, Any]]) -> Any:
        """A test for one record, built once per search: OR of groups, AND of filters (EQ, IN, GT on hs_object_id)."""
        def one(f: dict[str, Any]) -> Any:
            name, op = f["propertyName"], f["operator"]
            if op == "EQ":
                return lambda props: props.get(name) == f["value"]
            if op == "IN":
                values = set(f["values"])
                return lambda props: props.get(name) in values
            if op == "GT" and name == "hs_object_id":
                floor = int(f["value"])
                return lambda props: int(props[name]) > floor
            raise AssertionError(f"operator {op} not faked")
        compiled = [[one(f) for f in g["filters"]] for g in groups]
        return lambda props: not compiled or any(all(t(props) for t in tests) for tests in compiled)

    def search(self, objects: str, request: Any) -> tuple[int, dict[str, str], str]:
        self.requests.append(request)
        body = json.loads(request.body)
        self.searches.append(body)
        assert len(body["filterGroups"]) <= 5, "HubSpot allows 5 filter groups"
        assert body["limit"] <= 200
        table = self.companies if objects == "companies" else self.contacts
        matches = self.matcher(body["filterGroups"])
        hits = [cid for cid, props in table.items() if matches(props)]
        if body.get("sorts") == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]:
            hits.sort(key=int)
        start = int(body.get("after") or 0)
        if start + body["limit"] > 10_000:  # search docs: paging past 10,000 results answers 400
            return self.reply(400, {"status": "error", "message": "There was a problem with the request.",
                                    "correlationId": "b4b5e5a6-8c1f-4d0b-9a0e-3c4d5e6f7a8b",
                                    "category": "VALIDATION_ERROR"}, "search")
        page = hits[start:start + body["limit"]]
        out: dict[str, Any] = {"total": len(hits), "results": [
            {"id": cid, "properties": {k: table[cid].get(k) for k in body["properties"]} | {"hs_object_id": cid},
             "createdAt": "2024-02-01T08:00:00.000Z", "updatedAt": "2025-10-01T08:00:00.000Z", "archived": False}
            for cid in page]}
        if start + body["limit"] < len(hits):
            nxt = str(start + body["limit"])
            out["paging"] = {"next": {"after": nxt, "link": f"?after={nxt}"}}
        return self.reply(200, out, "search")

    def update(self, objects: str, request: Any) -> tuple[int, dict[str, str], str]:
        self.requests.append(request)
        inputs = json.loads(request.body)["inputs"]
        assert len(inputs) <= 100, "batch update takes 100 inputs"
        self.updates.append((objects, inputs))
        table = self.companies if objects == "companies" else self.contacts
        done = [i for i in inputs if i["id"] not in self.failing]
        for item in done:
            table[item["id"]].update(item["properties"])
        body: dict[str, Any] = {"status": "COMPLETE", "startedAt": "2026-11-26T10:00:00.000Z",
                                "completedAt": "2026-11-26T10:00:01.000Z",
                                "results": [{"id": i["id"], "properties": i["properties"], "archived": False,
                                             "createdAt": "2024-02-01T08:00:00.000Z",
                                             "updatedAt": "2026-11-26T10:00:01.000Z"} for i in done]}
        refused = [i["id"] for i in inputs if i["id"] in self.failing]
        if not refused:
            return self.reply(200, body, "batch/update")
        # BatchResponseSimplePublicObjectWithErrors: one StandardError naming the records in context.ids
        body.update(numErrors=1, errors=[{
            "status": "error", "category": "VALIDATION_ERROR", "message": "Property values were not valid",
            "context": {"ids": refused}, "errors": [], "links": {}}])
        return self.reply(207, body, "batch/update")
