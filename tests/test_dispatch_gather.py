"""Terminations that arrive together become one batch run (issue 17 item 1): every presence is listed
once for all of them, as `relevo layoff` does, instead of once per leaver. A lone dismissal is not held
for the whole window, a withdrawal keeps its order after its termination, and a batch run that dies
is started again together once, then one run per event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from relevo.config.registry import load_registry
from relevo.receiver.dispatcher import Dispatcher, RunSeen
from relevo.storage.inbox import Inbox, InboxEvent

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


class FakePrefect:
    """A Prefect API as the dispatcher sees it: single runs and batch runs, each a new id per key."""

    def __init__(self) -> None:
        self.runs: dict[str, RunSeen] = {}
        self.singles: list[str] = []  # event keys, one per single run
        self.batches: list[list[str]] = []  # employee ids per batch run, in order
        self.digests: list[str] = []  # their idempotency keys (without the company)

    def new_run(self) -> str:
        run_id = f"run-{len(self.runs) + 1}"
        self.runs[run_id] = RunSeen("SCHEDULED", NOW)
        return run_id

    def launch(self, event: InboxEvent, registry_path: str | None, relaunch: int = 0) -> str:
        self.singles.append(event.event_key + (f"#relaunch-{relaunch}" if relaunch else ""))
        return self.new_run()

    def launch_batch(self, events: list[InboxEvent], registry_path: str | None, relaunch: int = 0) -> str:
        from relevo.receiver.dispatcher import batch_digest

        self.batches.append([e.employee_id for e in events])
        self.digests.append(batch_digest(events) + (f"#relaunch-{relaunch}" if relaunch else ""))
        return self.new_run()

    def read(self, run_ids: list[str]) -> dict[str, RunSeen]:
        assert len(run_ids) == len(set(run_ids)), "a batch run is read once, not once per event"
        return {i: self.runs[i] for i in run_ids if i in self.runs}


def setup(acme, clock: list[float]) -> tuple[Inbox, FakePrefect, Dispatcher]:  # type: ignore[no-untyped-def]
    registry = load_registry(acme)
    inbox, prefect = Inbox(registry.database_url), FakePrefect()
    dispatcher = Dispatcher(
        inbox,
        None,
        launch=prefect.launch,
        launch_batch=prefect.launch_batch,
        clock=lambda: clock[0],
        read_runs=prefect.read,
        cancel=lambda run_id, reason: None,
        quiet=2.0,
        window=30.0,
    )
    return inbox, prefect, dispatcher


def store(inbox: Inbox, employee_id: str, at: datetime, kind: str = "terminated") -> None:
    inbox.store(Inbox.event("bamboohr", employee_id, kind, f"change-of-{employee_id}-{kind}", at))


def one_batch(acme, first_id: int):  # type: ignore[no-untyped-def]
    """Three terminations dispatched as one batch run; (clock, inbox, prefect, dispatcher, cancelled, run id)."""
    clock = [NOW.timestamp()]
    inbox, prefect, dispatcher = setup(acme, clock)
    cancelled: list[str] = []
    dispatcher.cancel = lambda run_id, reason: cancelled.append(run_id)
    for n in range(3):
        store(inbox, str(first_id + n), NOW)
    clock[0] += 3
    dispatcher.dispatch_due()
    (run_id,) = {e.flow_run_id for e in inbox.events()}
    return clock, inbox, prefect, dispatcher, cancelled, run_id


def test_terminations_arriving_together_become_one_batch_run(acme) -> None:  # type: ignore[no-untyped-def]
    clock = [NOW.timestamp()]
    inbox, prefect, dispatcher = setup(acme, clock)
    for n in range(40):  # 40 webhooks over 4 s, a gap of 0.1 s each
        store(inbox, str(2000 + n), NOW + timedelta(seconds=n / 10))
        clock[0] = (NOW + timedelta(seconds=n / 10)).timestamp()
        assert dispatcher.dispatch_due() == 0  # still arriving: gathered, nothing started
    clock[0] += 2.5  # quiet for 2.5 s
    assert dispatcher.dispatch_due() == 40
    assert prefect.batches == [[str(2000 + n) for n in range(40)]] and prefect.singles == []
    run_ids = {e.flow_run_id for e in inbox.events()}
    assert len(run_ids) == 1 and {e.state for e in inbox.events()} == {"dispatched"}


def test_a_lone_dismissal_waits_only_the_quiet_time(acme) -> None:  # type: ignore[no-untyped-def]
    clock = [NOW.timestamp()]
    inbox, prefect, dispatcher = setup(acme, clock)
    store(inbox, "1001", NOW)
    assert dispatcher.dispatch_due() == 0 and dispatcher._hold_until == NOW.timestamp() + 2.0
    clock[0] += 2.0
    assert dispatcher.dispatch_due() == 1
    assert prefect.singles and prefect.batches == []  # one event: its own run, as before


def test_a_steady_stream_is_cut_at_the_window(acme) -> None:  # type: ignore[no-untyped-def]
    clock = [NOW.timestamp()]
    inbox, prefect, dispatcher = setup(acme, clock)
    for n in range(61):  # one every second for a minute: never 2 s quiet
        at = NOW + timedelta(seconds=n)
        store(inbox, str(3000 + n), at)
        clock[0] = at.timestamp()
        dispatcher.dispatch_due()
    assert [len(b) for b in prefect.batches] == [31]  # cut 30 s after the first
    clock[0] += 2
    dispatcher.dispatch_due()
    assert [len(b) for b in prefect.batches] == [31, 30] and prefect.singles == []


def test_a_withdrawal_keeps_its_order_and_a_second_event_runs_apart(acme) -> None:  # type: ignore[no-untyped-def]
    clock = [NOW.timestamp()]
    inbox, prefect, dispatcher = setup(acme, clock)
    for n in range(5):
        store(inbox, str(4000 + n), NOW)
    store(inbox, "4000", NOW + timedelta(milliseconds=5), kind="rescinded")  # withdrawn at once
    store(inbox, "4001", NOW + timedelta(milliseconds=6), kind="status_changed")  # a second event
    clock[0] += 0.01
    assert dispatcher.dispatch_due() == 2  # the withdrawn one's two events go at once, in order
    assert [k.split(":")[1:3] for k in prefect.singles] == [["4000", "terminated"], ["4000", "rescinded"]]
    clock[0] += 3
    assert dispatcher.dispatch_due() == 5
    assert prefect.batches == [["4001", "4002", "4003", "4004"]]  # one event per employee in a batch
    assert prefect.singles[-1].split(":")[1:3] == ["4001", "status_changed"]


def test_a_crashed_batch_is_started_again_together_then_one_by_one(acme) -> None:  # type: ignore[no-untyped-def]
    clock, inbox, prefect, dispatcher, _, first = one_batch(acme, 5000)
    assert prefect.batches == [["5000", "5001", "5002"]]
    prefect.runs[first] = RunSeen("CRASHED", NOW)
    assert dispatcher.follow() == 3
    assert len(prefect.batches) == 2 and prefect.singles == []  # together again, once
    (second,) = {e.flow_run_id for e in inbox.events()}
    assert second != first and {e.relaunches for e in inbox.events()} == {1}
    prefect.runs[second] = RunSeen("CRASHED", NOW)
    assert dispatcher.follow() == 3
    assert len(prefect.batches) == 2 and len(prefect.singles) == 3  # died again: one run each
    assert len({e.flow_run_id for e in inbox.events()}) == 3


def test_another_dispatcher_holding_some_events_leaves_the_rest_batched(acme) -> None:  # type: ignore[no-untyped-def]
    clock = [NOW.timestamp()]
    inbox, prefect, dispatcher = setup(acme, clock)
    for n in range(4):
        store(inbox, str(6000 + n), NOW)
    clock[0] += 3
    now = datetime.fromtimestamp(clock[0], UTC)
    taken = inbox.claim_many(
        ["bamboohr:6000:terminated:change-of-6000-terminated"], now, now + timedelta(minutes=2)
    )
    assert len(taken) == 1
    assert dispatcher.dispatch_due() == 3
    assert prefect.batches == [["6001", "6002", "6003"]]


def test_a_batch_prefect_refused_comes_due_again_together(acme) -> None:  # type: ignore[no-untyped-def]
    """Prefect down while a batch is started: its events are retried at one moment, so they go to one run
    again (each with its own random backoff, they came due one by one, as many small batches)."""
    clock = [NOW.timestamp()]
    inbox, prefect, dispatcher = setup(acme, clock)
    for n in range(20):
        store(inbox, str(7000 + n), NOW)
    calls = []

    def down_once(events, registry_path, relaunch=0):  # type: ignore[no-untyped-def]
        calls.append(len(events))
        if len(calls) == 1:
            raise ConnectionError("Prefect is down")
        return prefect.launch_batch(events, registry_path)

    dispatcher.launch_batch = down_once
    clock[0] += 3
    assert dispatcher.dispatch_due() == 0
    assert {e.state for e in inbox.events()} == {"pending"}
    assert len({e.next_attempt_at for e in inbox.events()}) == 1  # one moment for all
    clock[0] = datetime.fromisoformat(inbox.events()[0].next_attempt_at).timestamp() + 0.001
    assert dispatcher.dispatch_due() == 20
    assert calls == [20, 20] and len(prefect.batches) == 1


def test_a_hung_batch_is_cancelled_only_once_replaced(acme) -> None:  # type: ignore[no-untyped-def]
    """Review: the hung run was cancelled first; when its replacement could not be started, the run was
    Cancelled (final) and its events were followed no more: the leavers kept their access."""
    clock, inbox, prefect, dispatcher, cancelled, first = one_batch(acme, 8000)
    prefect.runs[first] = RunSeen("PENDING", NOW)
    clock[0] += Dispatcher.STUCK_SECONDS + 1
    real = dispatcher.launch_batch
    dispatcher.launch_batch = lambda *a: (_ for _ in ()).throw(ConnectionError("Prefect is down"))
    assert dispatcher.follow() == 0 and cancelled == []  # not replaced: left as it is
    dispatcher.launch_batch = real
    assert dispatcher.follow() == 3 and cancelled == [first]  # replaced, then cancelled
    assert {e.relaunches for e in inbox.events()} == {1}


def test_one_employees_events_stay_in_the_order_they_came_due(acme) -> None:  # type: ignore[no-untyped-def]
    """Review: with one candidate left, a second event of the same employee was dispatched before the first."""
    clock = [NOW.timestamp()]
    inbox, prefect, dispatcher = setup(acme, clock)
    inbox.store(Inbox.event("bamboohr", "9001", "terminated", "first", NOW))
    inbox.store(Inbox.event("bamboohr", "9001", "status_changed", "second", NOW + timedelta(milliseconds=1)))
    clock[0] += 3
    assert dispatcher.dispatch_due() == 2
    assert [k.split(":")[2] for k in prefect.singles] == ["terminated", "status_changed"]


def test_a_batch_whose_start_was_not_recorded_goes_out_again_as_the_same_group(acme) -> None:  # type: ignore[no-untyped-def]
    """Review: the dispatcher died after Prefect created the batch run but before the inbox said so. Once the
    lease lapsed, the events were gathered with newcomers under a new key: a second run for the same people.
    Now the group is written on its events before the run is created and goes out again as itself, under
    the same key (Prefect hands back the run it made)."""
    from relevo.receiver.dispatcher import batch_digest

    clock = [NOW.timestamp()]
    inbox, prefect, dispatcher = setup(acme, clock)
    for n in range(3):
        store(inbox, str(9100 + n), NOW)
    clock[0] += 3
    now = datetime.fromtimestamp(clock[0], UTC)
    first = inbox.events()
    inbox.claim_many([e.event_key for e in first], now, now + timedelta(seconds=120))
    inbox.mark_batch([e.event_key for e in first], batch_digest(first), now)  # then the process died
    for n in range(3, 6):  # newcomers while the lease runs
        store(inbox, str(9100 + n), now + timedelta(seconds=60))
    clock[0] += 125  # the lease lapsed, the newcomers are quiet
    assert dispatcher.dispatch_due() == 6
    assert prefect.batches == [["9100", "9101", "9102"], ["9103", "9104", "9105"]]
    assert prefect.digests[0] == batch_digest(first)  # the key of the run created before the crash


def test_batches_are_capped(acme) -> None:  # type: ignore[no-untyped-def]
    clock = [NOW.timestamp()]
    inbox, prefect, dispatcher = setup(acme, clock)
    dispatcher.MAX_BATCH = 4
    for n in range(10):
        store(inbox, str(9200 + n), NOW)
    clock[0] += 3
    assert dispatcher.dispatch_due() == 10
    assert [len(b) for b in prefect.batches] == [4, 4, 2] and prefect.singles == []


def test_a_hung_run_is_not_cancelled_while_one_of_its_events_has_no_replacement(acme) -> None:  # type: ignore[no-untyped-def]
    """Second review: a batch relaunched once hung again; one run per event was started, one of them failed,
    and the hung run was cancelled anyway: that event still pointed at a Cancelled (final) run and was
    followed no more. Now the run is cancelled once every event is replaced or stuck."""
    clock, inbox, prefect, dispatcher, cancelled, first = one_batch(acme, 8100)
    prefect.runs[first] = RunSeen("CRASHED", NOW)
    dispatcher.follow()  # started again together
    (second,) = {e.flow_run_id for e in inbox.events()}
    prefect.runs[second] = RunSeen("PENDING", NOW)
    clock[0] += Dispatcher.STUCK_SECONDS + 1
    real, tries = prefect.launch, []

    def third_fails_once(event, registry_path, relaunch=0):  # type: ignore[no-untyped-def]
        tries.append(event.employee_id)
        if event.employee_id == "8102" and tries.count("8102") == 1:
            raise ConnectionError("Prefect is down")
        return real(event, registry_path, relaunch)

    dispatcher.launch = third_fails_once
    assert dispatcher.follow() == 2 and cancelled == []  # 8102 has no replacement: the run stays
    assert dispatcher.follow() == 1 and cancelled == [second]  # now every event is replaced
    assert len({e.flow_run_id for e in inbox.events()}) == 3
