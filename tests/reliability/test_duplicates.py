"""Duplicates and an unavailable Prefect: one set of vendor changes and drafts, nothing lost.

The receiver, its inbox and dispatcher run for real (FastAPI TestClient); the dispatcher's
launcher runs the offboarding flow in-process against the vendor simulator, as a worker
would. Prefect being down is played by a launcher that fails the way the Prefect client
does (httpx.ConnectError) until it is "back".
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from relevo.config.registry import load_registry
from relevo.connectors.graph_drafts import KEY_PROPERTY
from relevo.receiver.dispatcher import Dispatcher
from relevo.receiver.verify import bamboohr_signature
from relevo.receiver.webhook import create_app
from relevo.storage.inbox import Inbox
from tests.sim.company import SECRETS, still_has_access
from tests.support import waiting

KEY = SECRETS["SIM_WEBHOOK_KEY"]


def dismissal(employee_id: str) -> bytes:
    """BambooHR's field-based payload (vendors-hr.md)."""
    return json.dumps(
        {
            "employees": [
                {
                    "action": "Updated",
                    "changedFields": ["Employment Status"],
                    "id": employee_id,
                    "fields": {"Employment Status": "Terminated"},
                    "timestamp": "2026-11-20T09:12:00+0000",
                }
            ]
        }
    ).encode()


def event_style(employee_id: str) -> bytes:
    """The same dismissal as BambooHR's event-based payload: a different delivery, a different event key."""
    return json.dumps(
        {
            "type": "employee.updated",
            "timestamp": "2026-11-20T09:12:03+0000",
            "data": {
                "companyId": "1",
                "employeeId": employee_id,
                "changedFields": ["employmentHistoryStatus"],
            },
        }
    ).encode()


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "content-type": "application/json",
        "x-bamboohr-timestamp": stamp,
        "x-bamboohr-signature": bamboohr_signature(KEY, body, stamp),
    }


wait_for = functools.partial(waiting.wait_for, timeout=60.0, interval=0.05)


def vendor_changes(sim) -> Counter:
    return Counter(
        (c.vendor, c.method, c.path, c.body)
        for c in sim.log()
        if c.method in ("DELETE", "POST", "PATCH")
        and c.status is not None
        and c.status < 300
        and not any(r in c.path for r in ("/search", "/batch/read", "/files"))
    )  # reads; HR report


class FlowLauncher:
    """Stands in for `launch_deployment`: runs the flow here, once per call; refuses while Prefect is "down"."""

    def __init__(self) -> None:
        self.up = threading.Event()
        self.up.set()
        self.calls: list[str] = []
        self.refused = 0

    def __call__(self, event, registry_path: str) -> str:  # type: ignore[no-untyped-def]
        from relevo.offboarding import offboard_employee

        if not self.up.is_set():
            self.refused += 1
            raise httpx.ConnectError("All connection attempts failed")
        self.calls.append(event.event_key)
        state = offboard_employee(
            event.employee_id, registry_path, event_key=event.event_key, return_state=True
        )
        return str(state.state_details.flow_run_id)


@pytest.mark.slow  # a worker, the receiver and five deliveries: ~25 s on 2 cores (in CI's slow step)
def test_five_deliveries_and_a_restart_give_one_set_of_changes(
    prefect_api_url, company, fast_prefect_retries
):
    sim, world = company.sim, company.world
    leaver = world.leavers[0]
    inbox = Inbox(load_registry(company.registry).database_url)
    launch = FlowLauncher()
    body = dismissal(leaver.id)

    with TestClient(
        create_app(company.registry, dispatcher=Dispatcher(inbox, str(company.registry), launch=launch))
    ) as client:
        with ThreadPoolExecutor(3) as pool:  # three deliveries at the same moment
            answers = list(
                pool.map(
                    lambda _: client.post("/webhooks/bamboohr", content=body, headers=signed(body)), range(3)
                )
            )
        assert [a.status_code for a in answers] == [202, 202, 202]
        stored = [k for a in answers for k in a.json()["stored"]]
        assert len(stored) == 1
        wait_for(lambda: [e for e in inbox.events() if e.state == "dispatched"])
    first_changes = vendor_changes(sim)
    assert first_changes and max(first_changes.values()) == 1

    # The receiver restarts; BambooHR redelivers twice more, and the event-style webhook arrives too.
    with TestClient(
        create_app(company.registry, dispatcher=Dispatcher(inbox, str(company.registry), launch=launch))
    ) as client:
        for _ in range(2):
            again = client.post("/webhooks/bamboohr", content=body, headers=signed(body))
            assert again.status_code == 202 and again.json()["already_stored"] == stored
        other = event_style(leaver.id)
        assert client.post("/webhooks/bamboohr", content=other, headers=signed(other)).status_code == 202
        wait_for(lambda: len([e for e in inbox.events() if e.state == "dispatched"]) == 2)

    assert (
        launch.calls[0] == stored[0] and len(launch.calls) == 2
    )  # one run per distinct event, none per redelivery
    assert vendor_changes(sim) == first_changes  # the second event's run changed nothing at any vendor
    assert not any(still_has_access(sim, world, leaver.id).values())
    keys = [
        p["value"]
        for msgs in sim.vendors["graph"].mailboxes.values()
        for m in msgs
        for p in m.get("singleValueExtendedProperties", [])
        if p["id"] == KEY_PROPERTY
    ]
    assert keys and len(keys) == len(set(keys))


def test_webhooks_while_prefect_is_down_are_kept_and_dispatched_when_it_returns(
    prefect_api_url, company, fast_prefect_retries
):
    sim, world = company.sim, company.world
    inbox = Inbox(load_registry(company.registry).database_url)
    launch = FlowLauncher()
    launch.up.clear()
    dispatcher = Dispatcher(inbox, str(company.registry), launch=launch, base=0.05, cap=0.2)
    with TestClient(create_app(company.registry, dispatcher=dispatcher)) as client:
        bodies = [dismissal(p.id) for p in world.leavers]
        for body in bodies:
            assert client.post("/webhooks/bamboohr", content=body, headers=signed(body)).status_code == 202
        wait_for(lambda: launch.refused >= 4)  # the dispatcher keeps trying with backoff
        assert [e.state for e in inbox.events()] == ["pending"] * len(bodies)
        assert all(e.last_error and "ConnectError" in e.last_error for e in inbox.events())
        assert not sim.log(method="DELETE")  # nothing ran while Prefect was away
        launch.up.set()
        wait_for(lambda: all(e.state == "dispatched" for e in inbox.events()))
    assert sorted(launch.calls) == sorted(e.event_key for e in inbox.events())
    for person in world.leavers:
        assert not any(still_has_access(sim, world, person.id).values())
