"""The dispatcher follows every run it started to its end: a run that crashed (its worker was
killed) or never left Pending (the worker died while submitting it) is started again, and after
too many tries the event is marked stuck for a person, instead of reading "dispatched" forever."""

from __future__ import annotations

from datetime import UTC, datetime

from relevo.config.registry import load_registry
from relevo.receiver.dispatcher import Dispatcher, RunSeen, launch_deployment
from relevo.storage.inbox import Inbox, InboxEvent
from relevo.storage.ledger import Ledger

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


class FakePrefect:
    """Runs as a Prefect API would report them; `launch` makes a new run id per idempotency key."""

    def __init__(self) -> None:
        self.runs: dict[str, RunSeen] = {}
        self.keys: list[str] = []
        self.cancelled: list[str] = []

    def launch(self, event: InboxEvent, registry_path: str, relaunch: int = 0) -> str:
        key = event.event_key if not relaunch else f"{event.event_key}#relaunch-{relaunch}"
        self.keys.append(key)
        run_id = f"run-{len(self.keys)}"
        self.runs[run_id] = RunSeen("SCHEDULED", NOW)
        return run_id

    def read(self, run_ids: list[str]) -> dict[str, RunSeen]:
        return {i: self.runs[i] for i in run_ids if i in self.runs}

    def cancel(self, run_id: str, reason: str) -> None:
        self.cancelled.append(run_id)
        self.runs[run_id] = RunSeen("CANCELLED", NOW)


def dispatcher_for(acme, prefect: FakePrefect, clock: list[float]) -> Dispatcher:  # type: ignore[no-untyped-def]
    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    inbox.store(Inbox.event("bamboohr", "1001", "terminated", "2026-11-20", NOW))
    return Dispatcher(
        inbox,
        str(registry.path),
        launch=prefect.launch,
        clock=lambda: clock[0],
        read_runs=prefect.read,
        cancel=prefect.cancel,
    )


def only(dispatcher: Dispatcher) -> InboxEvent:
    (event,) = dispatcher.inbox.events()
    return event


def test_a_crashed_run_is_started_again_and_then_marked_stuck(acme) -> None:  # type: ignore[no-untyped-def]
    prefect, clock = FakePrefect(), [NOW.timestamp() + 1]
    dispatcher = dispatcher_for(acme, prefect, clock)
    assert dispatcher.dispatch_due() == 1
    first = only(dispatcher).flow_run_id
    prefect.runs[first] = RunSeen("CRASHED", NOW)  # the worker and its run process were killed
    assert dispatcher.follow() == 1
    event = only(dispatcher)
    assert event.state == "dispatched" and event.flow_run_id != first and event.relaunches == 1
    assert prefect.keys == [event.event_key, f"{event.event_key}#relaunch-1"]
    prefect.runs[event.flow_run_id] = RunSeen("CRASHED", NOW)
    assert dispatcher.follow() == 1
    prefect.runs[only(dispatcher).flow_run_id] = RunSeen("CRASHED", NOW)
    assert dispatcher.follow() == 0
    event = only(dispatcher)
    assert event.state == "stuck" and "crashed" in (event.last_error or "")
    assert dispatcher.inbox.counts()["stuck"] == 1
    assert dispatcher.follow() == 0 and len(prefect.keys) == 3  # a stuck event is left to a person


def test_a_run_left_pending_is_cancelled_and_replaced(acme) -> None:  # type: ignore[no-untyped-def]
    prefect, clock = FakePrefect(), [NOW.timestamp() + 1]
    dispatcher = dispatcher_for(acme, prefect, clock)
    dispatcher.dispatch_due()
    first = only(dispatcher).flow_run_id
    prefect.runs[first] = RunSeen("PENDING", NOW)
    clock[0] = NOW.timestamp() + 60
    assert dispatcher.follow() == 0  # a minute in Pending is a worker starting it
    clock[0] = NOW.timestamp() + Dispatcher.STUCK_SECONDS + 5
    assert dispatcher.follow() == 1
    assert prefect.cancelled == [first] and only(dispatcher).flow_run_id != first


def test_a_finished_run_is_no_longer_followed(acme) -> None:  # type: ignore[no-untyped-def]
    prefect, clock = FakePrefect(), [NOW.timestamp() + 1]
    dispatcher = dispatcher_for(acme, prefect, clock)
    dispatcher.dispatch_due()
    prefect.runs[only(dispatcher).flow_run_id] = RunSeen("COMPLETED", NOW)
    dispatcher.follow()
    assert only(dispatcher).run_state == "COMPLETED"
    assert dispatcher.inbox.unfinished_runs() == []


def test_a_run_marked_crashed_keeps_its_claims_for_it_may_still_be_alive(acme) -> None:  # type: ignore[no-untyped-def]
    """Prefect marks a run Crashed when its heartbeats stop reaching the server, which a live process behind a
    blocked websocket also causes: the dispatcher starts a replacement but never frees the first run's claims
    (it did, and the replacement then called the vendor for the action the live run was making)."""
    from relevo.storage.ledger import process_holder

    prefect, clock = FakePrefect(), [NOW.timestamp() + 1]
    dispatcher = dispatcher_for(acme, prefect, clock)
    dispatcher.dispatch_due()
    first = only(dispatcher).flow_run_id
    ledger = Ledger(load_registry(acme).database_url)
    assert (
        ledger.claim("1001:revoke:page:1", "1001", "revoke_role", "page", process_holder(first)) == "claimed"
    )
    prefect.runs[first] = RunSeen("CRASHED", NOW)
    dispatcher.follow()
    replacement = only(dispatcher).flow_run_id
    assert replacement != first
    assert (
        ledger.claim("1001:revoke:page:1", "1001", "revoke_role", "page", process_holder(replacement))
        == "busy"
    )


def test_a_crashed_deployment_run_is_replaced_on_a_real_prefect_server(deployed, acme) -> None:  # type: ignore[no-untyped-def]
    """The same against the Prefect API: the state read, the new idempotency key, the same parameters."""
    from prefect import get_client
    from prefect.states import Crashed

    registry = load_registry(acme)
    inbox = Inbox(registry.database_url)
    inbox.store(Inbox.event("bamboohr", "1003", "terminated", "2026-11-20", datetime.now(UTC)))
    dispatcher = Dispatcher(inbox, str(registry.path), launch=launch_deployment)
    assert dispatcher.dispatch_due() == 1
    first = only(dispatcher).flow_run_id
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(first, Crashed(message="worker killed"), force=True)
    assert dispatcher.follow() == 1
    second = only(dispatcher).flow_run_id
    with get_client(sync_client=True) as client:
        replacement = client.read_flow_run(second)
        # a run nobody will execute in this test: cancel it so no worker of another test picks it up
        from prefect.states import Cancelled

        client.set_flow_run_state(second, Cancelled(), force=True)
    assert second != first
    assert replacement.parameters["employee_id"] == "1003"
    assert replacement.parameters["event_key"] == only(dispatcher).event_key
    assert replacement.idempotency_key == f"{only(dispatcher).event_key}#relaunch-1"
    dispatcher.follow()
    assert only(dispatcher).run_state == "CANCELLED"


def test_a_stuck_event_is_a_task_for_a_person(acme) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from relevo.cli.main import app

    prefect, clock = FakePrefect(), [NOW.timestamp() + 1]
    dispatcher = dispatcher_for(acme, prefect, clock)
    dispatcher.dispatch_due()
    for _ in range(3):
        prefect.runs[only(dispatcher).flow_run_id] = RunSeen("CRASHED", NOW)
        dispatcher.follow()
    result = CliRunner().invoke(app, ["tasks", "--registry", str(acme)])
    assert result.exit_code == 0, result.output
    assert "stuck" in result.output and "employee 1001" in result.output and "crashed" in result.output
    listing = CliRunner().invoke(app, ["inbox", "--registry", str(acme)])
    assert "stuck" in listing.output and "started 3 times" in listing.output
