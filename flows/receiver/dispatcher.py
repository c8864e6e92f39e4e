"""The dispatcher: a thread in the receiver's process that hands pending inbox events to Prefect.

The receiver (relevo/receiver/webhook.py) only stores and acknowledges; this thread turns each pending
event into a run of its Prefect deployment, with the event key as the idempotency key, retries with
full-jitter backoff while Prefect is unreachable, follows the runs it started (a crashed or never-started
run is started again, then marked stuck for a person) and prunes finished events. `relevo reconcile`
uses it too, to dispatch what polling found.

Terminations that arrive together (a layoff entered in the HR platform, a bulk import) become one
`offboard-batch` run, as `relevo layoff` would make: every presence is listed once for all of them and
the vendors' limits are shared by one run, where one run per leaver would list every presence once
per leaver (issue 17: 50 webhook-started dismissals made ~20× the Hootsuite calls of one batch). The
dispatcher waits until terminations stop arriving for `quiet` seconds (2 by default), never more than
`window` seconds after the first (30): a lone dismissal starts ~2 s after its webhook, not a window later.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from relevo import deployments
from relevo.config.registry import Registry
from relevo.log import clean
from relevo.receiver.verify import Clock
from relevo.storage.inbox import RETENTION_DAYS, Inbox, InboxEvent

logger = logging.getLogger("relevo.webhook")

DEPLOYMENTS = {
    "terminated": deployments.OFFBOARD_EMPLOYEE,
    # A status change whose direction the payload does not tell: the run reads the HR record and
    # does nothing unless it shows a termination (flows/engine/gate.py).
    "status_changed": deployments.OFFBOARD_EMPLOYEE,
    "rescinded": deployments.RESCIND_TERMINATION,
}
# The kinds a batch run can take: it reads each HR record and skips whoever shows no termination.
BATCHED_KINDS = {"terminated", "status_changed"}


def launch_deployment(
    event: InboxEvent, registry_path: str | None, relaunch: int = 0, company: str = ""
) -> str:
    """Start the event's deployment; the server returns the existing run for a repeated key.

    A relaunch (the first run crashed or hung) needs a key of its own, or Prefect would hand back
    the dead run; its parameters, the event key in the audit among them, stay the same.
    `registry_path` None sends none: the worker finds its own (RELEVO_REGISTRY, else relevo.yaml in its
    working directory). `company` (the registry's company slug) prefixes the Prefect idempotency key, so
    two companies on one Prefect server never get each other's run for the same employee id and change.
    """
    from prefect.deployments import run_deployment

    parameters: dict[str, Any] = {"employee_id": event.employee_id, "event_key": event.event_key}
    if registry_path is not None:
        parameters["registry_path"] = registry_path
    key = event.event_key if not relaunch else f"{event.event_key}#relaunch-{relaunch}"
    run = run_deployment(
        DEPLOYMENTS[event.kind],
        parameters=parameters,
        idempotency_key=f"{company}:{key}" if company else key,
        timeout=0,
        as_subflow=False,
    )
    return str(run.id)  # type: ignore[union-attr]  # sync caller: Prefect's dual API returns the FlowRun


def launch_batch(
    events: list[InboxEvent], registry_path: str | None, relaunch: int = 0, company: str = ""
) -> str:
    """Start one `offboard-batch` run for terminations that arrived together; the same events give the same run.

    The run gets each employee's event key (for the audit, as a single run gets its own) and is told it
    comes from HR events: whoever's record shows no termination is skipped, not the whole list refused.
    """
    from prefect.deployments import run_deployment

    digest = batch_digest(events) + (f"#relaunch-{relaunch}" if relaunch else "")
    parameters: dict[str, Any] = {
        "employee_ids": ", ".join(e.employee_id for e in events),  # the form's one text field (its schema)
        "event_keys": {e.employee_id: e.event_key for e in events},
        "dry_run": False,  # the deployment's UI default is a dry run; HR events act
        "revoke_now": False,
    }
    if registry_path is not None:
        parameters["registry_path"] = registry_path
    run = run_deployment(
        deployments.OFFBOARD_BATCH,
        parameters=parameters,
        idempotency_key=f"{company}:batch:{digest}" if company else f"batch:{digest}",
        timeout=0,
        as_subflow=False,
    )
    return str(run.id)  # type: ignore[union-attr]  # sync caller: Prefect's dual API returns the FlowRun


def batch_digest(events: list[InboxEvent]) -> str:
    """The same events give the same digest (the batch run's idempotency key, and the inbox's `batch`)."""
    return hashlib.sha256("\n".join(sorted(e.event_key for e in events)).encode()).hexdigest()[:32]


def company_launcher(registry: Registry) -> Callable[..., str]:
    """`launch_deployment` with this registry's company in every idempotency key."""
    return functools.partial(launch_deployment, company=registry.company_slug)


def company_batch_launcher(registry: Registry) -> Callable[[list[InboxEvent], str | None], str]:
    """`launch_batch` with this registry's company in every idempotency key."""
    return functools.partial(launch_batch, company=registry.company_slug)


@dataclass(frozen=True)
class RunSeen:
    """A dispatched flow run as the Prefect API last showed it."""

    state: str  # the Prefect state type: PENDING, RUNNING, CRASHED, COMPLETED, ...
    since: datetime  # when it entered that state


def read_runs(run_ids: list[str]) -> dict[str, RunSeen]:
    """The current state of these flow runs, in one request to the Prefect API."""
    from uuid import UUID

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        wanted = FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in run_ids]))
        runs = client.read_flow_runs(flow_run_filter=wanted, limit=len(run_ids))
    return {str(r.id): RunSeen(r.state.type.value, r.state.timestamp) for r in runs if r.state is not None}


def cancel_run(run_id: str, reason: str) -> None:
    """Cancel a run that never started, so that it cannot start after its replacement."""
    from prefect import get_client
    from prefect.states import Cancelled

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, Cancelled(message=reason), force=True)


class Dispatcher:
    """Hands pending events to Prefect, retrying with full-jitter backoff while Prefect is unreachable.

    It runs as a thread in the receiver process and starts by dispatching whatever is
    pending in the inbox, so events stored before a crash are picked up on restart. Once an
    hour it prunes finished events older than the retention age (flows/storage/inbox.py).
    """

    LEASE_SECONDS = 120.0  # a claimed event is due again after this if its dispatcher died
    FOLLOW_SECONDS = 30.0  # how often the dispatched runs are looked at
    STUCK_SECONDS = 300.0  # a run still Pending after this never reached a worker (killed mid-submit)
    MAX_RELAUNCHES = 2  # then the event is "stuck" and waits for a person
    MAX_BATCH = 1000  # employees per batch run: its parameters (ids and event keys) stay ~150 KB at most
    PRUNE_EVERY = 3600.0

    def __init__(
        self,
        inbox: Inbox,
        registry_path: str | None,
        launch: Callable[[InboxEvent, str | None], str] = launch_deployment,
        clock: Clock = time.time,
        base: float = 1.0,
        cap: float = 300.0,
        jitter: Callable[[], float] = random.random,
        parallel: int = 1,
        read_runs: Callable[[list[str]], dict[str, RunSeen]] = read_runs,
        cancel: Callable[[str, str], None] = cancel_run,
        retention_days: float = RETENTION_DAYS,
        launch_batch: Callable[[list[InboxEvent], str | None], str] | None = None,
        quiet: float = 2.0,
        window: float = 30.0,
    ) -> None:
        """`launch_batch` None: every event gets a run of its own (`relevo reconcile`, tests of one event).
        `quiet`/`window`: how terminations are gathered into one batch (the module's docstring)."""
        self.inbox = inbox
        self.launch_batch = launch_batch
        self.quiet, self.window = quiet, window
        self._hold_until: float | None = None  # terminations gathered, not dispatched before this
        self.parallel = parallel
        self.read_runs, self.cancel = read_runs, cancel
        self._next_follow = 0.0
        self.retention_days = retention_days
        self._next_prune = 0.0
        self.registry_path = registry_path
        self.launch = launch
        self.clock = clock
        self.base, self.cap, self.jitter = base, cap, jitter
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def delay(self, attempts: int) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**n)), at least 0.1 s."""
        return max(0.1, self.jitter() * min(self.cap, self.base * 2 ** min(attempts, 30)))

    def dispatch_due(self) -> int:
        """One pass over the due events; returns how many Prefect accepted.

        `parallel` runs are created at a time. One by default: measured on 2 cores with the Prefect
        server beside the receiver (bench_webhook_burst, 1,000 deliveries), 8 at a time made the
        acknowledgements slower (p99 136 ms against 64 ms) and the dispatch too (182 s against 101 s):
        the Prefect server, not the round trip, is the limit there. A larger machine may raise it.
        With a batch launcher, terminations that arrived together go to one run (`gather`).
        """
        due = self.inbox.due(self.now())
        self._hold_until = None
        if not due:
            return 0
        alone, groups = self.gather(due)
        accepted = sum(self.dispatch_batch(group) for group in groups)
        if not alone:
            return accepted
        workers = min(self.parallel, len(alone))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="relevo-launch") as pool:
            return accepted + sum(pool.map(self.dispatch_one, alone))

    def gather(self, due: list[InboxEvent]) -> tuple[list[InboxEvent], list[list[InboxEvent]]]:
        """(events dispatched one by one now, in the order they came due; groups of terminations, one batch
        run each, now); the rest waits.

        A batch takes one termination per employee; an employee with a withdrawal among the due events
        keeps every event in order, one run each (the withdrawal must come after its termination's run).
        Terminations wait while others keep arriving: until none came for `quiet` seconds, at most
        `window` seconds after the oldest. Events already handed to a batch that was not recorded as
        started (Prefect refused it, its answer was lost, or the dispatcher died in between: their
        `batch` is set) go out again as that same group, at once: Prefect then hands back the run it may
        have created. A group holds at most MAX_BATCH employees (the run's parameters stay small). A
        single termination left at the end runs alone.
        """
        if self.launch_batch is None:
            return due, []
        ordered = {e.employee_id for e in due if e.kind not in BATCHED_KINDS}
        alone, candidates, seen = [], [], set()
        for event in due:
            if event.employee_id in ordered or event.employee_id in seen:
                alone.append(event)  # a second event of one employee: its run finds the first one's work done
            else:
                candidates.append(event)
                seen.add(event.employee_id)
        if not candidates:
            return alone, []
        again: dict[str, list[InboxEvent]] = {}
        for event in candidates:
            if event.batch:
                again.setdefault(event.batch, []).append(event)
        groups = list(again.values())
        fresh = [e for e in candidates if not e.batch]
        if fresh:
            received = [datetime.fromisoformat(e.received_at).timestamp() for e in fresh]
            ready_at = min(max(received) + self.quiet, min(received) + self.window)
            if self.clock() < ready_at:
                self._hold_until = ready_at
                alone = [e for e in alone if e.employee_id in ordered]
            else:
                groups += [fresh[i : i + self.MAX_BATCH] for i in range(0, len(fresh), self.MAX_BATCH)]
        singles = {e.event_key for g in groups if len(g) == 1 for e in g}
        keep = {e.event_key for e in alone} | singles
        return [e for e in due if e.event_key in keep], [g for g in groups if len(g) > 1]

    def dispatch_batch(self, events: list[InboxEvent]) -> int:
        """Claim the events, start one batch run for those this dispatcher got; how many Prefect accepted."""
        assert self.launch_batch is not None
        lease = datetime.fromtimestamp(self.clock() + self.LEASE_SECONDS, UTC)
        claimed = set(self.inbox.claim_many([e.event_key for e in events], self.now(), lease))
        batch = []
        for event in events:
            if event.event_key not in claimed:
                continue  # another dispatcher on the same inbox has it
            if (earlier := self.inbox.superseded_by(event)) is not None:
                self.inbox.duplicate(event.event_key, earlier, self.now())
                logger.info("event %s is %s heard again: nothing started", event.event_key, earlier)
                continue
            batch.append(event)
        if len(batch) < 2:  # the others were taken or are duplicates: one event needs no batch
            return sum(self.launch_and_record(e) for e in batch)
        self.inbox.mark_batch([e.event_key for e in batch], batch_digest(batch), self.now())
        try:
            run_id = self.launch_batch(batch, self.registry_path)
        except (
            Exception
        ) as exc:  # Prefect down, deployment missing, ...: all stay pending, due again together
            wait = self.delay(max(e.attempts for e in batch))
            for event in batch:
                self.retry(event, exc, wait)
            return 0
        self.inbox.dispatched_many([e.event_key for e in batch], run_id, self.now())
        logger.info("%d termination event(s) dispatched together as flow run %s", len(batch), run_id)
        return len(batch)

    def retry(self, event: InboxEvent, exc: Exception, wait: float | None = None) -> None:
        """Keep an event Prefect did not accept pending, due again after the backoff (`wait`: given, so a
        batch's events come due together and go to one run again, not to many small ones)."""
        wait = self.delay(event.attempts) if wait is None else wait
        error = clean(f"{type(exc).__name__}: {exc}", 300)
        due_at = datetime.fromtimestamp(self.clock() + wait, UTC)
        self.inbox.retry_later(event.event_key, error, due_at, self.now())
        logger.warning("event %s not dispatched (%s); retry in %.1f s", event.event_key, error, wait)

    def dispatch_one(self, event: InboxEvent) -> bool:
        """Claim the event, create its run; True when Prefect accepted it."""
        lease = datetime.fromtimestamp(self.clock() + self.LEASE_SECONDS, UTC)
        if not self.inbox.claim(event.event_key, self.now(), lease):
            return False  # another dispatcher on the same inbox has it
        if (earlier := self.inbox.superseded_by(event)) is not None:
            self.inbox.duplicate(event.event_key, earlier, self.now())
            logger.info("event %s is %s heard again: nothing started", event.event_key, earlier)
            return False
        return self.launch_and_record(event)

    def launch_and_record(self, event: InboxEvent) -> bool:
        """Create the run of one claimed event; True when Prefect accepted it."""
        try:
            run_id = self.launch(event, self.registry_path)
        except Exception as exc:  # Prefect down, deployment missing, ...: keep it pending
            self.retry(event, exc)
            return False
        self.inbox.dispatched(event.event_key, run_id, self.now())
        logger.info("event %s dispatched as flow run %s", event.event_key, run_id)
        return True

    def follow(self) -> int:
        """Look at every dispatched run that has not finished; start again the ones that died.

        Prefect accepting a run is not the run happening: a worker killed with its run leaves it
        Crashed, and a worker killed while submitting leaves it Pending for good. Either way the
        leaver would keep their access while the inbox said "dispatched". A crashed run, or one
        Pending for more than STUCK_SECONDS, is started again (the flow is idempotent: the ledger
        skips what the dead run finished; a claim it held lapses, since nothing renews it: a run marked
        Crashed may still be alive, so its claims are never released from here); after
        MAX_RELAUNCHES the event is marked stuck, for a person. Returns how many were restarted.
        """
        watched = [e for e in self.inbox.unfinished_runs() if e.flow_run_id]
        if not watched:
            return 0
        seen = self.read_runs(list(dict.fromkeys(e.flow_run_id for e in watched if e.flow_run_id)))
        now, restarted = self.now(), 0
        dead: dict[str, list[InboxEvent]] = {}  # run id -> its events, for runs that crashed or hung
        changed: list[tuple[str, str]] = []
        for event in watched:
            run = seen.get(event.flow_run_id or "")
            if run is None:
                continue
            hung = run.state == "PENDING" and (now - run.since).total_seconds() > self.STUCK_SECONDS
            if run.state != "CRASHED" and not hung:
                if run.state != event.run_state:
                    changed.append((event.event_key, run.state))
                continue
            dead.setdefault(event.flow_run_id or "", []).append(event)
        if changed:
            self.inbox.runs_seen(changed, now)
        for run_id, events in dead.items():
            run = seen[run_id]
            pending = int((now - run.since).total_seconds())
            why = (
                f"run {run_id} crashed"
                if run.state == "CRASHED"
                else f"run {run_id} pending for {pending} s: no worker ran it"
            )
            if len(events) > 1 and self.launch_batch is not None and not any(e.relaunches for e in events):
                started = self.relaunch_batch(events, why)
                settled = started == len(events)
            else:  # a single event, or a batch that died again: one run each, so one bad record cannot stop the rest
                outcomes = [self.relaunch_one(event, why) for event in events]
                started, settled = outcomes.count("started"), "failed" not in outcomes
            restarted += started
            if run.state == "PENDING" and started and settled:
                # Cancelled only once every event is replaced (or stuck): a cancelled run is final, and an
                # event whose replacement could not be started would be followed no more. Should the old
                # run start anyway, the ledger's claims keep the two runs from acting twice.
                try:
                    self.cancel(run_id, f"replaced by the dispatcher: {why}")
                except Exception as exc:  # Prefect unreachable: the replacement runs either way
                    logger.warning("could not cancel run %s: %s", run_id, type(exc).__name__)
        return restarted

    def relaunch_batch(self, events: list[InboxEvent], why: str) -> int:
        """The events of a batch run that died, started again together once; how many."""
        assert self.launch_batch is not None
        try:
            run_id = self.launch_batch(events, self.registry_path, 1)  # type: ignore[call-arg]
        except Exception as exc:  # Prefect unreachable: the next pass tries again
            logger.warning("could not restart a batch of %d event(s): %s", len(events), type(exc).__name__)
            return 0
        for event in events:
            self.inbox.relaunched(event.event_key, run_id, f"{why}; started again as {run_id}", self.now())
        logger.warning("%s; its %d event(s) started again as flow run %s", why, len(events), run_id)
        return len(events)

    def relaunch_one(self, event: InboxEvent, why: str) -> str:
        """One event's run started again ("started"), or after MAX_RELAUNCHES the event marked "stuck" for a
        person; "failed" when Prefect could not be asked (the next pass tries again)."""
        now = self.now()
        if (event.relaunches or 0) >= self.MAX_RELAUNCHES:
            started = 1 + (event.relaunches or 0)
            self.inbox.stuck(
                event.event_key,
                f"{why}; started {started} times: look at the run in "
                "Prefect, then `relevo offboard` the employee by hand",
                now,
            )
            logger.error("event %s is stuck: %s", event.event_key, why)
            return "stuck"
        try:
            relaunch = (event.relaunches or 0) + 1
            run_id = self.launch(event, self.registry_path, relaunch)  # type: ignore[call-arg]
        except Exception as exc:  # Prefect unreachable: the next pass tries again
            logger.warning("could not restart the run of %s: %s", event.event_key, type(exc).__name__)
            return "failed"
        self.inbox.relaunched(event.event_key, run_id, f"{why}; started again as {run_id}", now)
        logger.warning("event %s: %s; started again as flow run %s", event.event_key, why, run_id)
        return "started"

    def prune(self) -> int:
        """Delete finished events older than the retention age; returns how many."""
        cutoff = datetime.fromtimestamp(self.clock() - self.retention_days * 86400, UTC)
        removed = self.inbox.prune(cutoff)
        if removed:
            logger.info("pruned %d finished inbox event(s) older than %g days", removed, self.retention_days)
        return removed

    def prune_if_due(self) -> None:
        """`prune` at most once per PRUNE_EVERY seconds; a failure waits for the next turn."""
        if self.clock() < self._next_prune:
            return
        self._next_prune = self.clock() + self.PRUNE_EVERY
        try:
            self.prune()
        except Exception as exc:  # the database unreachable: nothing is lost by pruning later
            logger.warning("inbox pruning skipped: %s", type(exc).__name__)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="relevo-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.dispatch_due()
                if self.clock() >= self._next_follow:
                    self.follow()
                    self._next_follow = self.clock() + self.FOLLOW_SECONDS
                self.prune_if_due()
                upcoming = self.inbox.next_attempt()
            except Exception as exc:  # the database itself: try again shortly, never die
                logger.error("dispatcher pass failed: %s", type(exc).__name__)
                upcoming = None
                self._wake.wait(5.0)
                continue
            until_follow = max(0.0, self._next_follow - self.clock())
            wait = (
                min(60.0, until_follow)
                if upcoming is None
                else min(60.0, until_follow, max(0.0, upcoming.timestamp() - self.clock()))
            )
            if self._hold_until is not None:
                # Terminations are being gathered: new ones only move the moment on, so the
                # webhooks' wake-ups are not each a pass over the whole inbox.
                self._stop.wait(max(0.05, min(until_follow, self._hold_until - self.clock())))
                continue
            self._wake.wait(wait)
