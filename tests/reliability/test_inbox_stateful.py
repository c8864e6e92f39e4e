"""A stateful model of webhook delivery: deliver, redeliver, restart, Prefect down, time passing.

Hypothesis drives the real receiver (FastAPI app over a fresh SQLite inbox) and the real
Dispatcher, with a fake clock and a launcher that counts runs and can be "down". Invariant:
every acknowledged event is in the inbox, and no event is ever launched twice; at the end,
with Prefect back and time passed, every stored event has been launched exactly once.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from relevo.config.registry import load_registry
from relevo.receiver.dispatcher import Dispatcher
from relevo.receiver.verify import bamboohr_signature
from relevo.receiver.webhook import create_app
from relevo.storage.inbox import Inbox
from tests.support.canaries import WEBHOOK_KEY as KEY

ROOT = Path(__file__).resolve().parents[2]
EMPLOYEES = st.sampled_from(["1001", "1002", "1003", "2001"])


def payload(employee_id: str, style: str) -> bytes:
    if style == "field":
        return json.dumps(
            {
                "employees": [
                    {
                        "action": "Updated",
                        "changedFields": ["Employment Status"],
                        "id": employee_id,
                        "fields": {"Employment Status": "Terminated"},
                    }
                ]
            }
        ).encode()
    return json.dumps(
        {
            "type": "employee.updated",
            "data": {"employeeId": employee_id, "changedFields": ["employmentHistoryStatus"]},
        }
    ).encode()


class Delivery(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp())
        shutil.copytree(ROOT / "examples" / "acme", self.tmp / "acme", ignore=shutil.ignore_patterns("out"))
        self.registry = self.tmp / "acme" / "relevo.yaml"
        self.now = time.time()
        self.inbox = Inbox(load_registry(self.registry).database_url)
        self.prefect_up = True
        self.launched: Counter = Counter()
        self.acked: set[str] = set()
        self.sent: list[bytes] = []
        self.dispatcher = Dispatcher(
            self.inbox, str(self.registry), launch=self.launch, clock=lambda: self.now, base=1.0, cap=60.0
        )
        self.client = self.start_receiver()

    def start_receiver(self) -> TestClient:
        return TestClient(create_app(self.registry, clock=lambda: self.now))

    def launch(self, event, registry_path: str) -> str:  # type: ignore[no-untyped-def]
        if not self.prefect_up:
            raise ConnectionError("Prefect API unreachable")
        self.launched[event.event_key] += 1
        return f"run-{event.event_key}"

    def post(self, body: bytes) -> None:
        stamp = str(int(self.now))
        answer = self.client.post(
            "/webhooks/bamboohr",
            content=body,
            headers={
                "content-type": "application/json",
                "x-bamboohr-timestamp": stamp,
                "x-bamboohr-signature": bamboohr_signature(KEY, body, stamp),
            },
        )
        assert answer.status_code == 202, answer.text
        result = answer.json()
        self.acked.update(result["stored"] + result["already_stored"])

    @rule(employee=EMPLOYEES, style=st.sampled_from(["field", "event"]))
    def deliver(self, employee: str, style: str) -> None:
        body = payload(employee, style)
        self.sent.append(body)
        self.post(body)

    @precondition(lambda self: self.sent)
    @rule(index=st.integers(min_value=0, max_value=50))
    def redeliver(self, index: int) -> None:
        self.post(self.sent[index % len(self.sent)])

    @rule()
    def restart_receiver(self) -> None:
        self.client.close()
        self.client = self.start_receiver()
        self.dispatcher = Dispatcher(
            self.inbox, str(self.registry), launch=self.launch, clock=lambda: self.now, base=1.0, cap=60.0
        )

    @rule(up=st.booleans())
    def prefect(self, up: bool) -> None:
        self.prefect_up = up

    @rule()
    def dispatch(self) -> None:
        self.dispatcher.dispatch_due()

    @rule(seconds=st.sampled_from([1.0, 30.0, 120.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds

    @invariant()
    def nothing_acknowledged_is_lost_nothing_runs_twice(self) -> None:
        stored = {e.event_key for e in self.inbox.events()}
        assert self.acked <= stored
        assert set(self.launched) <= stored
        assert all(count == 1 for count in self.launched.values()), self.launched

    def teardown(self) -> None:
        self.prefect_up = True
        for _ in range(3):
            self.now += 120.0
            self.dispatcher.dispatch_due()
        stored = {e.event_key for e in self.inbox.events()}
        assert set(self.launched) == stored and all(c == 1 for c in self.launched.values())
        self.client.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def test_delivery_model(monkeypatch) -> None:
    monkeypatch.setenv("RELEVO_BAMBOOHR_WEBHOOK_KEY", KEY)
    Delivery.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=20,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    Delivery.TestCase().runTest()
