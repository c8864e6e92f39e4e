"""The durable webhook inbox: an event is stored here before the HR platform gets its 202.

One row per termination event, keyed by a UNIQUE event key derived from vendor,
employee and change, so a redelivered webhook finds its row and starts nothing new
(insert-or-ignore). Neither BambooHR nor Factorial sends a delivery id: the change stands for
the delivery (BambooHR: a hash of the entry, which carries the change's own timestamp;
Factorial: the termination date, the only fact that tells one termination from another), and
the key counts the opposite events stored before it. So terminate -> unterminate -> terminate
with the same date is three events (`...:terminated:<date>`, `...:rescinded:none:after-1`,
`...:terminated:<date>:after-1`), while a redelivery finds its row, unless an opposite event came
in between: then it is stored again and its run reads the HR record, which decides
(flows/engine/gate.py, flows/rescind.py). Without a delivery id from the vendor, such a late redelivery
can take the key of the next real event of its kind, which is then dropped: the HR record keeps
the outcome safe (nobody is offboarded or restored against it), a person may have to rerun. The dispatcher moves rows from `pending` to `dispatched` once
Prefect has accepted the run. Requests that start no work (ignored events, rejected
requests) are only counted, so an attacker cannot fill the table.

Every write goes through the inbox's one writer thread (group commit): writes that arrive
together share one transaction, hence one fsync, and each caller hears back only after
the commit that holds its rows.

Retention: a dispatched event whose flow run is final is deleted once it is older than
`storage.inbox_retention_days` (30 by default, at least 3: the key must outlive every
redelivery, BambooHR's ~2.6 h and Factorial's 48 h). The receiver's dispatcher prunes hourly;
`relevo inbox --prune` does it by hand. What was done stays in the ledger's audit, which is
never pruned; the counters are one row per vendor, outcome and reason, so they stay too.

Kept as one module: the table, its keys and every state change of an event (stored,
claimed, dispatched, followed, stuck, pruned) must be read together to see that none is lost or doubled.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from relevo import schemas
from relevo.storage.db import create_tables, engine_for, metadata

PENDING, DISPATCHED = "pending", "dispatched"
STUCK = "stuck"
DUPLICATE = "duplicate"  # the same termination (or withdrawal) was already heard from the other source  # its run crashed or hung every time it was started: a person must look
# Prefect state types after which a dispatched event needs nothing more from the dispatcher. CRASHED
# is not among them: the worker or its machine died, and the dispatcher starts the run again.
FINAL_RUN_STATES = {"COMPLETED", "FAILED", "CANCELLED"}
KEY_MAX = 200  # schemas/termination_event.schema.json event_key maxLength
RETENTION_DAYS = 30.0  # default of storage.inbox_retention_days
PRUNE_BATCH = 500  # rows deleted per transaction

events = Table(
    "relevo_inbox",
    metadata,
    Column("event_key", String(KEY_MAX), primary_key=True),
    Column("vendor", String(20), nullable=False),
    Column("employee_id", String(64), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("occurred_at", String(40), nullable=True),
    Column("effective_date", String(10), nullable=True),
    Column("state", String(20), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", String(40), nullable=False),
    Column("flow_run_id", String(64), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", String(40), nullable=False),
    # The dispatched run as last seen (Prefect state type) and how often it was started again.
    Column("run_state", String(20), nullable=True),
    # How relevo heard of it: "webhook" (or empty, from before reconciliation) or "reconciliation".
    Column("source", String(20), nullable=True),
    Column("relaunches", Integer, nullable=True),
    # The batch run this termination was handed to with others (its events' digest), written before the
    # run is created: if the answer is lost, the same events go out together again, to the same run.
    Column("batch", String(64), nullable=True),
)

# Where reconciliation left off, per HR connector: the vendor's own change cursor.
cursors = Table(
    "relevo_cursors",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", String(100), nullable=True),
    Column("updated_at", String(40), nullable=False),
)

# Requests that started nothing: (vendor, outcome "ignored"/"rejected", short fixed reason) -> count.
counts = Table(
    "relevo_inbox_counts",
    metadata,
    Column("vendor", String(20), primary_key=True),
    Column("outcome", String(20), primary_key=True),
    Column("reason", String(80), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_at", String(40), nullable=False),
)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def event_key(vendor: str, employee_id: str, kind: str, change: str | None, after: int = 0) -> str:
    """Stable across redeliveries: the same change to the same employee always gives the same key.

    `after`: how many events of the opposite direction (a termination, its withdrawal) the inbox
    held for this employee when the event came: a termination after a withdrawal is a new one.
    """
    suffix = f":after-{after}" if after else ""
    key = f"{vendor}:{employee_id}:{kind}:{change or 'none'}{suffix}"
    if len(key) <= KEY_MAX:
        return key
    return f"{vendor}:{employee_id}:{kind}:{hashlib.sha256((change or '').encode()).hexdigest()[:32]}{suffix}"


# A termination's opposite is its withdrawal, and the other way round.
OPPOSITE = {
    "terminated": ("rescinded",),
    "status_changed": ("rescinded",),
    "rescinded": ("terminated", "status_changed"),
}


T = TypeVar("T")
Job = Callable[[Connection], Any]


class Writer:
    """One thread that runs an engine's writes, committing everything queued in one transaction.

    With synchronous=FULL each commit is an fsync. Request threads that each commit alone
    queue on SQLite's single write lock, and its busy handler sleeps in growing steps (up
    to 100 ms a retry), which made 1 % of acknowledgements wait 0.4-2 s in a burst. One
    writer never waits on itself, and a batch costs one fsync however many requests it holds.
    A future resolves only after its batch's commit returned. The thread starts on first use
    and is a daemon: uvicorn lets in-flight requests finish before it exits, and an event
    whose commit was cut short was never acknowledged.
    """

    MAX_BATCH = 256

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.SimpleQueue[tuple[Job, Future[Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[Connection], T]) -> Future[T]:
        """Queue `job(connection)`; the future holds its result once committed, or its exception."""
        future: Future[T] = Future()
        self._queue.put((job, future))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="relevo-inbox-writer", daemon=True)
                self._thread.start()
        return future

    def run(self, job: Callable[[Connection], T]) -> T:
        """Submit and wait: for callers outside the event loop."""
        return self.submit(job).result()

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # a request cancelled while queued was never acknowledged: skip it (and never set its result)
            batch = [(job, future) for job, future in batch if future.set_running_or_notify_cancel()]
            if batch:
                self._commit(batch)

    def _commit(self, batch: list[tuple[Job, Future[Any]]]) -> None:
        try:
            with self.engine.begin() as conn:
                results = [job(conn) for job, _ in batch]
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
            else:  # one failing job (or a race with another process) must not fail the others
                for item in batch:
                    self._commit([item])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)


@dataclass(frozen=True)
class InboxEvent:
    event_key: str
    vendor: str
    employee_id: str
    kind: str
    received_at: str
    occurred_at: str | None
    effective_date: str | None
    state: str
    attempts: int
    next_attempt_at: str
    flow_run_id: str | None
    last_error: str | None
    run_state: str | None = None
    relaunches: int | None = None
    source: str | None = None
    batch: str | None = None


class Inbox:
    """The inbox table and the counters, in the ledger's database."""

    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)
        create_tables(self.engine)  # the engine may predate this module's import
        self.writer = Writer(self.engine)

    @staticmethod
    def event(
        vendor: str,
        employee_id: str,
        kind: str,
        change: str | None,
        received_at: datetime,
        occurred_at: str | None = None,
        effective_date: str | None = None,
        source: str = "webhook",
    ) -> dict[str, Any]:
        """A termination event document, checked against schemas/termination_event.schema.json."""
        doc = {
            "event_key": event_key(vendor, employee_id, kind, change),
            "vendor": vendor,
            "employee_id": employee_id,
            "kind": kind,
            "received_at": iso(received_at),
            "occurred_at": occurred_at,
            "effective_date": effective_date,
            "source": source,
        }
        schemas.check("termination_event", doc, f"{vendor} event")
        return {**doc, "change": change}  # kept for `add`, which completes the key; not stored

    def store(self, doc: dict[str, Any]) -> bool:
        """Insert a pending event made by `event()`; False when the key is already stored (a redelivery)."""
        return self.writer.run(lambda conn: self.add(conn, doc))

    def add(self, conn: Connection, doc: dict[str, Any]) -> bool:
        """Insert-or-ignore one event on the writer's connection; True when it is new.

        The key is completed here, on the one writer's connection (so events committed together
        are counted in order): `doc["event_key"]` then holds the key stored or found.
        """
        if "change" in doc:  # computed again if the writer retries this job alone
            after = conn.execute(
                select(func.count())
                .select_from(events)
                .where(
                    (events.c.vendor == doc["vendor"])
                    & (events.c.employee_id == doc["employee_id"])
                    & events.c.kind.in_(OPPOSITE.get(doc["kind"], ()))
                )
            ).scalar_one()
            doc["event_key"] = event_key(doc["vendor"], doc["employee_id"], doc["kind"], doc["change"], after)
        values = {
            **{k: v for k, v in doc.items() if k != "change"},
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": doc["received_at"],
            "updated_at": doc["received_at"],
        }
        dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(conn.dialect.name)
        if dialect is None:  # no ON CONFLICT DO NOTHING: a savepoint keeps the batch's other rows
            try:
                with conn.begin_nested():
                    conn.execute(insert(events).values(**values))
            except IntegrityError:
                return False
            return True
        # RETURNING, not rowcount: on PostgreSQL (psycopg 3) an INSERT ... ON CONFLICT DO NOTHING reports a
        # rowcount of -1, and every new event read as a redelivery (the dispatcher was never woken).
        statement = (
            dialect.insert(events).values(**values).on_conflict_do_nothing().returning(events.c.event_key)
        )
        return conn.execute(statement).first() is not None

    def count(self, vendor: str, outcome: str, reason: str, at: datetime) -> None:
        """Add one to a counter of requests that started nothing."""
        self.writer.run(lambda conn: self.tally(conn, vendor, outcome, reason, at))

    @staticmethod
    def tally(conn: Connection, vendor: str, outcome: str, reason: str, at: datetime) -> None:
        """Add one to a counter on the writer's connection (a concurrent first insert elsewhere: the
        batch fails, and the writer runs this again alone, when the update finds the row)."""
        where = (counts.c.vendor == vendor) & (counts.c.outcome == outcome) & (counts.c.reason == reason)
        if not conn.execute(
            update(counts).where(where).values(count=counts.c.count + 1, last_at=iso(at))
        ).rowcount:
            conn.execute(
                insert(counts).values(vendor=vendor, outcome=outcome, reason=reason, count=1, last_at=iso(at))
            )

    def due(self, now: datetime) -> list[InboxEvent]:
        """Pending events whose next attempt is due, oldest first."""
        query = (
            select(events)
            .where((events.c.state == PENDING) & (events.c.next_attempt_at <= iso(now)))
            .order_by(events.c.received_at, events.c.event_key)
        )
        return self._rows(query)

    def next_attempt(self) -> datetime | None:
        """When the earliest pending event is due (None: nothing pending)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(events.c.next_attempt_at)
                .where(events.c.state == PENDING)
                .order_by(events.c.next_attempt_at)
                .limit(1)
            ).scalar()
        return datetime.fromisoformat(value) if value else None

    def claim(self, key: str, now: datetime, lease_until: datetime) -> bool:
        """Take a due event for this dispatcher until `lease_until`; False when another took it first.

        Several receivers may share one inbox: each claims an event (a compare-and-set on
        `next_attempt_at`, atomic on SQLite and PostgreSQL alike) before creating its run, so one
        event makes one request to Prefect. A dispatcher that dies after its claim leaves the event
        pending; it is due again when the lease ends.
        """
        where = (
            (events.c.event_key == key) & (events.c.state == PENDING) & (events.c.next_attempt_at <= iso(now))
        )
        return self.writer.run(
            lambda conn: (
                conn.execute(
                    update(events).where(where).values(next_attempt_at=iso(lease_until), updated_at=iso(now))
                ).rowcount
                == 1
            )
        )

    def claim_many(self, keys: list[str], now: datetime, lease_until: datetime) -> list[str]:
        """`claim` for several events at once (one group commit): the keys this dispatcher got, in order."""
        where = (events.c.state == PENDING) & (events.c.next_attempt_at <= iso(now))

        def take(key: str) -> Callable[[Connection], bool]:
            return lambda conn: (
                conn.execute(
                    update(events)
                    .where(where & (events.c.event_key == key))
                    .values(next_attempt_at=iso(lease_until), updated_at=iso(now))
                ).rowcount
                == 1
            )

        futures = [(key, self.writer.submit(take(key))) for key in keys]
        return [key for key, future in futures if future.result()]

    def mark_batch(self, keys: list[str], batch: str, now: datetime) -> None:
        """These claimed events go to one batch run (`batch`: its digest), before the run is created."""

        def write(key: str) -> Callable[[Connection], Any]:
            return lambda conn: conn.execute(
                update(events).where(events.c.event_key == key).values(batch=batch, updated_at=iso(now))
            )

        for future in [self.writer.submit(write(key)) for key in keys]:
            future.result()

    def dispatched_many(self, keys: list[str], flow_run_id: str, now: datetime) -> None:
        """Several events handed to one run (a batch of terminations that arrived together)."""
        for future in [self.writer.submit(self._dispatch(key, flow_run_id, now)) for key in keys]:
            future.result()

    def dispatched(self, key: str, flow_run_id: str, now: datetime) -> None:
        self.writer.run(self._dispatch(key, flow_run_id, now))

    @staticmethod
    def _dispatch(key: str, flow_run_id: str, now: datetime) -> Callable[[Connection], Any]:
        return lambda conn: conn.execute(
            update(events)
            .where(events.c.event_key == key)
            .values(
                state=DISPATCHED,
                flow_run_id=flow_run_id,
                attempts=events.c.attempts + 1,
                last_error=None,
                updated_at=iso(now),
            )
        )

    def superseded_by(self, event: InboxEvent) -> str | None:
        """The earlier event from the other source that already stands for this one, if any.

        A termination is heard twice when a webhook and reconciliation both find it: the later
        one starts nothing. "Earlier" means received before it for the same employee and kind,
        by the other source, with no event of the opposite kind in between (so terminate ->
        withdraw -> terminate again still counts). Events from one source keep their own rule:
        the event key (a changed termination date is a new key, and a new run).
        """
        mine = event.source or "webhook"
        query = (
            select(events.c.event_key, events.c.kind, events.c.source, events.c.state, events.c.received_at)
            .where(
                (events.c.employee_id == event.employee_id)
                & (events.c.received_at <= event.received_at)
                & (events.c.event_key != event.event_key)
            )
            .order_by(events.c.received_at.desc(), events.c.event_key.desc())
        )
        with self.engine.connect() as conn:
            for key, kind, source, state, received_at in conn.execute(query):
                # A dataless "status_changed" (a Personio notification) whose change happened before a
                # termination from the other source was heard is that termination heard late: its run would
                # re-read HR and find what already ran. A change made after it (the date moved, a resignation
                # turned into a dismissal) is news, and so is one that does not say when it happened.
                late = (
                    event.kind == "status_changed"
                    and kind == "terminated"
                    and event.occurred_at is not None
                    and event.occurred_at <= received_at
                )
                if kind != event.kind and not late:
                    return None  # a withdrawal (or a termination) in between: this one is news
                if (source or "webhook") != mine and state != DUPLICATE:
                    return key
        return None

    def duplicate(self, key: str, of: str, now: datetime) -> None:
        """The event repeats one already heard from the other source: it starts nothing."""
        self.writer.run(
            lambda conn: conn.execute(
                update(events)
                .where(events.c.event_key == key)
                .values(state=DUPLICATE, last_error=f"already heard as {of}"[:500], updated_at=iso(now))
            )
        )

    def cursor(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(cursors.c.value).where(cursors.c.name == name)).scalar()

    def set_cursor(self, name: str, value: str | None, now: datetime) -> None:
        def write(conn: Connection) -> None:
            if not conn.execute(
                update(cursors).where(cursors.c.name == name).values(value=value, updated_at=iso(now))
            ).rowcount:
                conn.execute(insert(cursors).values(name=name, value=value, updated_at=iso(now)))

        self.writer.run(write)

    def unfinished_runs(self) -> list[InboxEvent]:
        """Dispatched events whose run has not been seen in a final state: the ones to follow."""
        query = (
            select(events)
            .where(
                (events.c.state == DISPATCHED)
                & (events.c.run_state.is_(None) | events.c.run_state.not_in(FINAL_RUN_STATES))
            )
            .order_by(events.c.received_at, events.c.event_key)
        )
        return self._rows(query)

    def run_seen(self, key: str, run_state: str, now: datetime) -> None:
        """Record the state the dispatched run was last seen in."""
        self.runs_seen([(key, run_state)], now)

    def runs_seen(self, seen: list[tuple[str, str]], now: datetime) -> None:
        """`run_seen` for many events in one group commit (a batch run's events change state together)."""

        def write(key: str, run_state: str) -> Callable[[Connection], Any]:
            return lambda conn: conn.execute(
                update(events)
                .where(events.c.event_key == key)
                .values(run_state=run_state, updated_at=iso(now))
            )

        for future in [self.writer.submit(write(key, state)) for key, state in seen]:
            future.result()

    def relaunched(self, key: str, flow_run_id: str, reason: str, now: datetime) -> None:
        """The event's run died and a new one was started in its place."""
        self.writer.run(
            lambda conn: conn.execute(
                update(events)
                .where(events.c.event_key == key)
                .values(
                    flow_run_id=flow_run_id,
                    run_state=None,
                    last_error=reason[:500],
                    updated_at=iso(now),
                    relaunches=func.coalesce(events.c.relaunches, 0) + 1,
                )
            )
        )

    def stuck(self, key: str, reason: str, now: datetime) -> None:
        """The event's run failed to finish too often: it waits for a person (`relevo inbox`, `relevo tasks`)."""
        self.writer.run(
            lambda conn: conn.execute(
                update(events)
                .where(events.c.event_key == key)
                .values(state=STUCK, last_error=reason[:500], updated_at=iso(now))
            )
        )

    def retry_later(self, key: str, error: str, next_at: datetime, now: datetime) -> None:
        self.writer.run(
            lambda conn: conn.execute(
                update(events)
                .where(events.c.event_key == key)
                .values(
                    attempts=events.c.attempts + 1,
                    last_error=error[:500],
                    next_attempt_at=iso(next_at),
                    updated_at=iso(now),
                )
            )
        )

    def events(self) -> list[InboxEvent]:
        return self._rows(select(events).order_by(events.c.received_at, events.c.event_key))

    def counts(self) -> dict[str, int]:
        """Totals per state: pending, dispatched, ignored, rejected (counted by the database, not in Python)."""
        totals = {PENDING: 0, DISPATCHED: 0, "ignored": 0, "rejected": 0}  # and "stuck", when any is
        with self.engine.connect() as conn:
            for state, number in conn.execute(select(events.c.state, func.count()).group_by(events.c.state)):
                totals[state] = totals.get(state, 0) + number
            for outcome, number in conn.execute(
                select(counts.c.outcome, func.sum(counts.c.count)).group_by(counts.c.outcome)
            ):
                totals[outcome] = totals.get(outcome, 0) + int(number)
        return totals

    def prune(self, older_than: datetime) -> int:
        """Delete dispatched events whose run was seen final and that were last updated before `older_than`.

        The dispatcher records each run's final state (`run_seen`); a pending or stuck event, or one
        whose run is still going, stays however old. Deleted in batches, each its own short
        transaction, so acknowledgements never wait long behind a prune. Returns how many rows went.
        """
        cutoff = iso(older_than)
        finished = (
            (events.c.state == DISPATCHED)
            & events.c.run_state.in_(FINAL_RUN_STATES)
            & (events.c.updated_at < cutoff)
        )
        removed = 0
        while True:
            with self.engine.connect() as conn:
                keys = (
                    conn.execute(select(events.c.event_key).where(finished).limit(PRUNE_BATCH))
                    .scalars()
                    .all()
                )
            if not keys:
                return removed
            batch = delete(events).where(events.c.event_key.in_(keys) & finished)  # the writer runs it now
            deleted = self.writer.run(lambda conn: conn.execute(batch).rowcount)  # noqa: B023
            if not deleted:
                return removed
            removed += deleted

    def reasons(self) -> list[dict[str, Any]]:
        """The counters in detail, for `relevo inbox`."""
        with self.engine.connect() as conn:
            return [
                dict(r)
                for r in conn.execute(
                    select(counts).order_by(counts.c.outcome, counts.c.vendor, counts.c.reason)
                ).mappings()
            ]

    def _rows(self, query: Any) -> list[InboxEvent]:
        with self.engine.connect() as conn:
            return [
                InboxEvent(**{k: r[k] for k in InboxEvent.__dataclass_fields__})
                for r in conn.execute(query).mappings()
            ]
