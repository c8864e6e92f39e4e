"""Reconciliation with HiBob as the HR platform: a lost employee.left is found by polling, the late
webhook starts nothing, and a future-dated termination is found the day it is entered."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses

from relevo.config.registry import load_registry
from relevo.connectors.hibob import parse_webhook
from relevo.receiver.dispatcher import Dispatcher
from relevo.reconcile import reconcile_once
from relevo.storage.inbox import Inbox, InboxEvent
from relevo.storage.ledger import Ledger
from tests.connectors.hibob_contract import lifecycle
from tests.support.hibob_fake import BASE, BOSS_RECORD, TOKEN, USER, Bob, record

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Launches:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, event: InboxEvent, registry_path: str, relaunch: int = 0) -> str:
        self.keys.append(event.event_key)
        return f"run-{len(self.keys)}"


@pytest.fixture
def hibob_registry(acme: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RELEVO_HIBOB_TOKEN", TOKEN)
    text = acme.read_text("utf-8").replace(
        "hr: {connector: directory, path: hr.json}",
        f"hr: {{connector: hibob, service_user_id: {USER}, token: {{env: RELEVO_HIBOB_TOKEN}}, "
        "document_folder: 77}",
    )
    acme.write_text(text, "utf-8")
    return acme


def employees() -> Bob:
    dismissed = record("6001", terminationDate="2026-11-25")
    dismissed["employee"] = {"lastDayOfWork": "2026-11-25"}
    resigning = record("6002", terminationDate="2027-01-15")  # entered today, effective in January
    resigning["employee"] = {"lastDayOfWork": "2027-01-15"}
    long_gone = record("6003", terminationDate="2024-03-31")
    long_gone["employee"] = {}
    return Bob(dismissed, resigning, long_gone, BOSS_RECORD)


@responses.activate(assert_all_requests_are_fired=True)
def test_a_lost_hibob_webhook_is_found_and_the_late_one_starts_nothing(hibob_registry: Path) -> None:
    bob = employees()
    responses.add_callback(responses.POST, f"{BASE}/people/search", callback=bob)
    registry = load_registry(hibob_registry)
    inbox = Inbox(registry.database_url)

    first = reconcile_once(registry, now=NOW)

    assert sorted(k.split(":")[1] for k in first["stored"]) == ["6001", "6002"]  # not the one gone since 2024
    assert all(k.startswith("hibob:") for k in first["stored"])
    assert reconcile_once(load_registry(hibob_registry), now=NOW)["stored"] == []  # polled again: nothing new
    launches = Launches()
    dispatcher = Dispatcher(inbox, str(registry.path), launch=launches, clock=lambda: NOW.timestamp() + 1)
    assert dispatcher.dispatch_due() == 2
    # Bob's employee.left for 6001 arrives after all (the receiver was down): stored, no second run
    [change] = parse_webhook(lifecycle("employee.left", "6001"))
    late = Inbox.event(
        "hibob",
        change.employee_id,
        change.kind,
        change.change_fingerprint,
        datetime(2026, 11, 27, 9, 5, tzinfo=UTC),
    )
    assert inbox.store(late)
    dispatcher.clock = lambda: NOW.timestamp() + 600
    assert dispatcher.dispatch_due() == 0 and len(launches.keys) == 2
    assert {e.event_key: e.state for e in inbox.events()}[late["event_key"]] == "duplicate"


@responses.activate(assert_all_requests_are_fired=True)
def test_a_termination_deleted_in_bob_is_found_as_a_withdrawal(hibob_registry: Path) -> None:
    """Bob sends no webhook when a lifecycle entry is deleted: the poll looks again at everyone offboarded."""
    bob = employees()
    withdrawn = record(
        "6001", terminationDate=None, lifecycleStatus="employed", status="Active", terminationType=None
    )
    withdrawn["employee"] = {}
    withdrawn["humanReadable"] = {}
    bob.records["6001"] = withdrawn
    responses.add_callback(responses.POST, f"{BASE}/people/search", callback=bob)
    registry = load_registry(hibob_registry)
    Ledger(registry.database_url).finish(
        key="6001:revoke:page:1",
        employee_id="6001",
        action="revoke_role",
        target="page",
        outcome="done",
        detail="removed",
    )

    result = reconcile_once(registry, now=NOW)

    assert "hibob:6001:rescinded:polled:none" in result["stored"]
    assert len(bob.bodies) == 1  # everyone, the withdrawn one included, came from the one search
