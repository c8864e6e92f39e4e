"""HubSpot's CRM behind `responses`: the simulator's HubSpot model (tests/sim/vendors.py) answers each call.

There is one model of HubSpot's state and answers (documented payload shapes, real filtering and paging,
207 partial batches): `tests.sim.vendors.HubSpot`. The loopback simulator serves it over HTTP; this
module serves the same object as `responses` callbacks, for the connector tests, the approval tests and
tests/bench/bench_notices.py (to count calls), and records what relevo asked of it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import responses

from tests.sim.server import Request
from tests.sim.vendors import HubSpot

BASE = "https://api.hubapi.com"
VERSION = "2026-09"


class FakeHubSpot:
    """HubSpot's CRM surface that relevo uses, as routes on a `responses` mock that checks every stub was used.

    The fake's routes are a server, not expectations: a test that only reads owners never searches, so
    the routes a test did not reach are dropped just before the mock's own check (`_drop_unused_routes`),
    while every other stub on the same mock must still be used. What a test expects of HubSpot is asserted
    on `requests`, `searches`, `updates` and `answers`, and on the model's state (`companies`, `contacts`).
    """

    def __init__(self, mock: responses.RequestsMock, owners: dict[str, str]) -> None:
        self.model = HubSpot()
        self.add_company, self.add_contact = self.model.add_company, self.model.add_contact
        for email, owner_id in owners.items():  # email -> owner id
            self.model.add_owner(owner_id, email)
        self.updates: list[tuple[str, list[dict[str, Any]]]] = []
        self.searches: list[dict[str, Any]] = []
        self.headers: dict[str, str] = {}  # extra response headers (rate-limit tests)
        self.requests: list[Any] = []  # every request, for the contract check
        self.answers: list[tuple[str, int, Any]] = []  # (operation, status, body) of every answer
        self.routes = [
            mock.add_callback(
                responses.GET, f"{BASE}/crm/owners/{VERSION}", callback=lambda r: self.serve(r, "owners")
            )
        ]
        for objects in ("companies", "contacts"):
            self.routes.append(
                mock.add_callback(
                    responses.POST,
                    f"{BASE}/crm/objects/{VERSION}/{objects}/search",
                    callback=lambda r, o=objects: self.serve(r, "search", o),
                )
            )
            self.routes.append(
                mock.add_callback(
                    responses.POST,
                    f"{BASE}/crm/objects/{VERSION}/{objects}/batch/update",
                    callback=lambda r, o=objects: self.serve(r, "batch/update", o),
                )
            )
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

    # --- the model's state, as the tests set and read it ---

    @property
    def companies(self) -> dict[str, dict[str, Any]]:
        """Company id -> its properties, as HubSpot holds them now."""
        return {cid: obj["properties"] for cid, obj in self.model.objects["companies"].items()}

    @property
    def contacts(self) -> dict[str, dict[str, Any]]:
        return {cid: obj["properties"] for cid, obj in self.model.objects["contacts"].items()}

    @property
    def failing(self) -> set[str]:
        """Record ids a batch/update leaves unchanged (HubSpot then answers 207 naming them)."""
        return self.model.failing

    @failing.setter
    def failing(self, ids: set[str]) -> None:
        self.model.failing = set(ids)

    # --- one call ---

    def serve(self, request: Any, operation: str, objects: str = "") -> tuple[int, dict[str, str], bytes]:
        """Record the call, let the model answer it, record the answer."""
        self.requests.append(request)
        url = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        call = Request(
            request.method,
            url.path,
            dict(parse_qsl(url.query)),
            {name.lower(): value for name, value in request.headers.items()},
            body,
        )
        if operation == "search":
            self.searches.append(call.json())
        elif operation == "batch/update":
            self.updates.append((objects, call.json()["inputs"]))
        answer = self.model.handle(call)
        self.answers.append((operation, answer.status, answer.body))
        content, headers = answer.encode()
        return answer.status, {**headers, **self.headers}, content
