"""Reconciliation: terminations no webhook reported are found by polling HR, and a termination heard
both ways starts one run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import responses
from typer.testing import CliRunner

from relevo.config.registry import load_registry
from relevo.receiver.dispatcher import Dispatcher
from relevo.reconcile import reconcile_once
from relevo.storage.inbox import Inbox, InboxEvent
from relevo.storage.ledger import Ledger
from tests.support.bamboohr_spec import validate_against_spec
from tests.support.canaries import BAMBOOHR_KEY
from tests.support.example_hr import TERMINATED

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Launches:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, event: InboxEvent, registry_path: str, relaunch: int = 0) -> str:
        self.keys.append(event.event_key)
        return f"run-{len(self.keys)}"


def test_a_lost_webhook_is_found_and_a_late_one_starts_nothing(acme: Path) -> None:
    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    first = reconcile_once(registry, now=NOW)
    assert {key.split(":")[1] for key in first["stored"]} == TERMINATED
    assert reconcile_once(registry, now=NOW)["stored"] == []  # polled again: nothing new
    launches = Launches()
    dispatcher = Dispatcher(inbox, str(registry.path), launch=launches, clock=lambda: NOW.timestamp() + 1)
    assert dispatcher.dispatch_due() == len(TERMINATED)
    # the webhook for 1001 finally arrives (receiver back up): stored, but it starts no second run
    late = Inbox.event("directory", "1001", "terminated", "f-late", datetime(2026, 11, 27, 9, 5, tzinfo=UTC))
    assert inbox.store(late)
    dispatcher.clock = lambda: NOW.timestamp() + 600
    assert dispatcher.dispatch_due() == 0
    assert len(launches.keys) == len(TERMINATED)
    states = {e.event_key: e.state for e in inbox.events()}
    assert states[late["event_key"]] == "duplicate"


def test_a_webhook_first_then_reconciliation_starts_one_run(acme: Path) -> None:
    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    inbox.store(
        Inbox.event("directory", "1001", "terminated", "f1", datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    )
    launches = Launches()
    dispatcher = Dispatcher(inbox, str(registry.path), launch=launches, clock=lambda: NOW.timestamp() + 1)
    dispatcher.dispatch_due()
    reconcile_once(registry, now=NOW)
    dispatcher.dispatch_due()
    assert sum(1 for k in launches.keys if k.split(":")[1] == "1001") == 1


def test_terminate_withdraw_terminate_again_is_news(acme: Path) -> None:
    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    at = [datetime(2026, 11, 27, h, 0, tzinfo=UTC) for h in (6, 7, 8)]
    inbox.store(Inbox.event("directory", "1001", "terminated", "a", at[0], source="reconciliation"))
    inbox.store(Inbox.event("directory", "1001", "rescinded", "b", at[1]))
    again = Inbox.event("directory", "1001", "terminated", "c", at[2])
    inbox.store(again)
    launches = Launches()
    Dispatcher(inbox, str(registry.path), launch=launches, clock=lambda: NOW.timestamp()).dispatch_due()
    assert again["event_key"] in launches.keys


def test_a_withdrawal_found_by_polling_is_a_rescind_event(acme: Path) -> None:
    registry = load_registry(acme)
    ledger = Ledger(registry.database_url)
    ledger.finish(
        key="1001:revoke:page:1",
        employee_id="1001",
        action="revoke_role",
        target="page",
        outcome="done",
        detail="removed",
    )
    hr = acme.parent / "hr.json"
    data = json.loads(hr.read_text("utf-8"))
    for row in data["employees"]:
        if row["id"] == "1001":
            del row["termination"]
    hr.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    result = reconcile_once(load_registry(acme), now=NOW)
    assert "directory:1001:rescinded:polled:none" in result["stored"]
    assert not any(k.startswith("directory:1001:terminated") for k in result["stored"])


@responses.activate(assert_all_requests_are_fired=True)
def test_bamboohr_changes_are_read_with_the_cursor(spec) -> None:  # type: ignore[no-untyped-def]
    from relevo.connectors.bamboohr import BambooHR

    hr = BambooHR("acme", BAMBOOHR_KEY, default_language="es")
    body = {
        "latest": "2026-11-27T08:55:00+00:00",
        "employees": {
            "1001": {"id": "1001", "action": "Updated", "lastChanged": "2026-11-27T08:55:00+00:00"},
            "1099": {"id": "1099", "action": "Deleted", "lastChanged": "2026-11-27T08:50:00+00:00"},
        },
    }
    responses.get(hr.http.url("employees/changed"), json=body)
    ids, cursor = hr.changed_since("2026-11-20T00:00:00+00:00")
    assert ids == ["1001"] and cursor == "2026-11-27T08:55:00+00:00"
    (call,) = responses.calls
    assert "since=2026-11-20T00%3A00%3A00%2B00%3A00" in call.request.url
    validate_against_spec(spec, call.request)


def test_relevo_reconcile_command(acme: Path) -> None:
    from relevo.cli.main import app

    result = CliRunner().invoke(app, ["reconcile", "--registry", str(acme)])
    assert result.exit_code == 3, result.output
    assert (
        f"{len(TERMINATED)} new event(s) queued" in result.output
        and "no webhook reported it" in result.output
    )
    bad = CliRunner().invoke(app, ["reconcile", "--registry", str(acme), "--since", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_the_flow_queues_dispatches_and_raises_an_event(prefect_api_url, acme: Path) -> None:  # type: ignore[no-untyped-def]
    from prefect.events.clients import AssertingEventsClient  # noqa: F401  (present in Prefect 3)

    from relevo.reconcile import reconcile_hr

    result = reconcile_hr(str(acme), dispatch=False)
    assert len(result["stored"]) == len(TERMINATED)
    assert reconcile_hr(str(acme), dispatch=False)["stored"] == []
