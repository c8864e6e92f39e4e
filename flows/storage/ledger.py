"""The action ledger (idempotency) and the append-only audit log.

`actions` holds one row per action key: the current state of that action and the
pre-state needed to undo it. `audit` only ever grows: one row per outcome, which
is what `relevo audit` prints and what proves later what was done. Every outcome
is also appended to `audit.jsonl` in the output directory, for people and tools
that read files.

Kept as one module: the action table, its claims and the audit log change together in single
transactions; read apart, the exactly-once rules would not be visible.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from relevo.model import FINISHED, NEEDS_PERSON, texts, with_steps
from relevo.storage.db import engine_for, metadata

actions = Table(
    "relevo_actions",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("employee_id", String(64), nullable=False, index=True),
    Column("action", String(40), nullable=False),
    Column("target", String(400), nullable=False),
    Column("status", String(40), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("pre_state", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("updated_at", String(40), nullable=False),
    # Which run is making this action's outside call, and until when (see `Ledger.claim`).
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", String(40), nullable=True),
    # What a draft or CRM hand-over awaiting approval says (relevo.engine.approval.fingerprint): when the data it
    # is rendered from changes, the fingerprint does, and the version a person reviewed is stale.
    Column("fingerprint", String(64), nullable=True),
    # A task's steps for a person, as a JSON list of strings (NULL: none, or a row from before relevo stored
    # them apart, whose steps are still in `detail`: see `task_steps`).
    Column("steps", Text, nullable=True),
    # When a scheduled action is due (ISO 8601 with offset), for the CLI and the rerun; NULL when not scheduled.
    Column("due_at", String(40), nullable=True),
)

audit = Table(
    "relevo_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("employee_id", String(64), nullable=False, index=True),
    Column("action_key", String(400), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(400), nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("run_id", String(64), nullable=True),
    Column("event_key", String(200), nullable=True),
    Column("steps", Text, nullable=True),  # as in relevo_actions; `detail` holds them too, as one line
    Column("due_at", String(40), nullable=True),
)

# How rows written before `steps` had their own column hold them: after the detail, numbered, on one line.
LEGACY_STEPS = " | steps: "


def task_steps(row: dict[str, Any]) -> tuple[str, list[str]]:
    """(detail, steps) of an action row: from the `steps` column, or parsed out of the detail of a row written
    before relevo stored steps apart (`LEGACY_STEPS`; a step that itself reads " 2. " splits there)."""
    if row.get("steps"):
        return row["detail"], list(json.loads(row["steps"]))
    detail, _, steps = row["detail"].partition(LEGACY_STEPS)
    return detail, [re.sub(r"^\d+\. ", "", step) for step in re.split(r" (?=\d+\. )", steps)] if steps else []


def decoded(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row as relevo.schemas' outcome schema has it: `steps` a list (or null), not JSON text."""
    return {**row, "steps": json.loads(row["steps"]) if row.get("steps") else None}


def upsert(conn: Connection, row: dict[str, Any], changes: dict[str, Any]) -> Any:
    """INSERT the action's row, or apply `changes` to the existing one, as one statement.

    An UPDATE-then-INSERT pair lets two runs of one employee both find no row and both insert:
    the second failed on the primary key (seen on PostgreSQL with two workers). Both SQLite and
    PostgreSQL take `INSERT ... ON CONFLICT DO UPDATE` atomically.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(actions)
        .values(**row)
        .on_conflict_do_update(index_elements=[actions.c.key], set_=changes)
    )


# A claim lasts this long unless its process renews it (`ClaimKeeper`, every RENEW_SECONDS while the process
# lives). A claim held by a process of this machine that is gone is taken at once (`holder_is_dead`); one held
# on another machine that died lapses after CLAIM_SECONDS. Long enough that a live run's claim survives a
# stalled renewal (a database away for minutes, a paused VM, clocks some minutes apart between machines).
CLAIM_SECONDS = 300.0
RENEW_SECONDS = 30.0


def process_holder(run: str) -> str:
    """Who claims: the run (its Prefect flow run id, or a random id) and this process (`host/pid`).

    Per process, not per run: a flow run retried from the UI while its first process still lives gets
    claims of its own, and a rerun on this machine can tell that the process holding a claim is gone.
    """
    return f"{run[:36]}/{socket.gethostname()[:16]}/{os.getpid()}"


def db_time(dialect: str, seconds: float = 0) -> ColumnElement[str]:
    """The database's clock `seconds` from now, as the ISO text claims are stored in ("...T17:40:12.345+00:00").

    Claims are taken and compared in the database's clock, not each process's: a worker whose clock runs
    minutes ahead would otherwise see a live claim as lapsed and call the vendor a second time, and one
    running behind would hold its claims longer. SQLite is one machine: its clock is that machine's.
    """
    if dialect == "postgresql":
        moment = func.now() + func.make_interval(0, 0, 0, 0, 0, 0, literal(float(seconds), Float))
        return func.to_char(
            func.timezone("UTC", moment), literal_column('\'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"\'')
        )
    return func.strftime("%Y-%m-%dT%H:%M:%f+00:00", "now", f"{float(seconds):+.3f} seconds")


def holder_is_dead(holder: str) -> bool:
    """Whether `holder` is a process of this machine that no longer exists (False when unsure)."""
    run, _, rest = holder.partition("/")
    host, _, pid = rest.partition("/")
    if not run or host != socket.gethostname()[:16] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process, or not ours to ask: alive as far as we know
        return False
    return False


class ClaimKeeper:
    """One daemon thread per process that extends the claims of this process's live runs.

    Claims used to last 15 minutes so that no live call could outlast one; a run killed with SIGKILL
    (a lost worker, a CLI process killed mid-run) then kept its employee's next run waiting that
    long. Now a claim lasts CLAIM_SECONDS and is renewed while its process lives, so only a dead
    run's claims lapse. A holder whose run ended has released its claims; renewing it touches no row.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders: dict[str, tuple[Any, set[str]]] = {}  # database URL -> (engine, holders)
        self.thread: threading.Thread | None = None

    def keep(self, engine: Any, holder: str) -> None:
        """Renew `holder`'s claims in `engine`'s ledger from now on, for as long as this process lives."""
        with self.lock:
            self.holders.setdefault(str(engine.url), (engine, set()))[1].add(holder)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.loop, name="relevo-claims", daemon=True)
                self.thread.start()

    def renew(self) -> None:
        """Extend every kept holder's claims to CLAIM_SECONDS from now (one UPDATE per database)."""
        with self.lock:
            kept = [(engine, sorted(holders)) for engine, holders in self.holders.values()]
        for engine, holders in kept:
            try:
                with engine.begin() as conn:
                    until = db_time(conn.dialect.name, CLAIM_SECONDS)
                    conn.execute(
                        update(actions).where(actions.c.claimed_by.in_(holders)).values(claimed_until=until)
                    )
            except Exception:  # noqa: BLE001 - the database is away: the claims lapse, the next renewal tries again
                continue

    def loop(self) -> None:
        while True:
            time.sleep(RENEW_SECONDS)
            self.renew()


claim_keeper = ClaimKeeper()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ActionState:
    key: str
    status: str
    detail: str
    pre_state: dict[str, Any] | None
    attempts: int
    fingerprint: str | None = None


class Ledger:
    def __init__(self, url: str, jsonl: Path | None = None) -> None:
        self.engine = engine_for(url)
        self.jsonl = jsonl
        self._file_lock = threading.Lock()

    def state(self, key: str) -> ActionState | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(actions).where(actions.c.key == key)).mappings().first()
        if row is None:
            return None
        return ActionState(
            key=row["key"],
            status=row["status"],
            detail=row["detail"],
            pre_state=json.loads(row["pre_state"]) if row["pre_state"] else None,
            attempts=row["attempts"],
            fingerprint=row["fingerprint"],
        )

    def states(self, employee_id: str) -> dict[str, ActionState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(actions).where(actions.c.employee_id == employee_id)).mappings()
            return {
                r["key"]: ActionState(
                    r["key"],
                    r["status"],
                    r["detail"],
                    json.loads(r["pre_state"]) if r["pre_state"] else None,
                    r["attempts"],
                    r["fingerprint"],
                )
                for r in rows
            }

    def start(
        self, key: str, employee_id: str, action: str, target: str, pre_state: dict[str, Any] | None = None
    ) -> int:
        """Record that the call is about to be made, with the pre-state it would destroy.

        A crash after this leaves the action "started": the next run checks it live
        (`started`), and the pre-state is already here for a later restore. Returns which
        attempt this is: on the first, no earlier call can have created anything.
        """
        stamp = now_iso()
        values: dict[str, Any] = {"status": "started", "updated_at": stamp}
        if pre_state is not None:
            values["pre_state"] = json.dumps(pre_state, ensure_ascii=False, sort_keys=True)
        new = {
            "key": key,
            "employee_id": employee_id,
            "action": action,
            "target": target,
            "detail": "",
            "attempts": 1,
            **values,
        }
        with self.engine.begin() as conn:
            statement = upsert(conn, new, {**values, "attempts": actions.c.attempts + 1})
            return int(conn.execute(statement.returning(actions.c.attempts)).scalar_one())

    def claim(
        self,
        key: str,
        employee_id: str,
        action: str,
        target: str,
        holder: str,
        seconds: float = CLAIM_SECONDS,
    ) -> str:
        """Take the action for one run before its outside call: "claimed", "finished" or "busy".

        Two runs of one employee (two HR events close together, on two workers) plan the same
        actions. Whichever claims an action first makes the call; the other finds it finished, or
        busy while the first is still at it, and waits for its outcome instead of calling again.
        A claim lapses after `seconds` unless this process renews it (`ClaimKeeper`), so a run that died
        holding one delays the next by at most that much. The claim is one conditional upsert, atomic on
        SQLite and PostgreSQL.
        """
        claim_keeper.keep(self.engine, holder)
        until = db_time(self.engine.dialect.name, seconds)
        free = actions.c.status.not_in(texts(FINISHED)) & (
            (actions.c.claimed_by.is_(None))
            | (actions.c.claimed_by == holder)
            | (actions.c.claimed_until < db_time(self.engine.dialect.name))
        )
        row = {
            "key": key,
            "employee_id": employee_id,
            "action": action,
            "target": target,
            "status": "claimed",
            "detail": "",
            "attempts": 0,
            "updated_at": now_iso(),
            "claimed_by": holder,
            "claimed_until": until,
        }
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(actions)
            .values(**row)
            .on_conflict_do_update(
                index_elements=[actions.c.key],
                where=free,
                set_={"claimed_by": holder, "claimed_until": until},
            )
            .returning(actions.c.key)
        )
        with self.engine.begin() as conn:
            if conn.execute(statement).first() is not None:
                return "claimed"
            status, held_by = conn.execute(
                select(actions.c.status, actions.c.claimed_by).where(actions.c.key == key)
            ).one()
            if status in FINISHED:
                return "finished"
            if held_by and holder_is_dead(held_by):  # killed on this machine: no need to wait for the lapse
                taken = conn.execute(
                    update(actions)
                    .where((actions.c.key == key) & (actions.c.claimed_by == held_by))
                    .values(claimed_by=holder, claimed_until=until)
                ).rowcount
                if taken == 1:
                    return "claimed"
        return "busy"

    def release(self, key: str, holder: str) -> None:
        """Give up a claim (the call is over, whatever its outcome)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(actions)
                .where((actions.c.key == key) & (actions.c.claimed_by == holder))
                .values(claimed_by=None, claimed_until=None)
            )

    def outcomes(self, employee_id: str) -> list[dict[str, str]]:
        """Each of the employee's actions with its latest outcome (what the HR note reports), HR notes aside."""
        query = select(actions.c.action, actions.c.target, actions.c.status.label("outcome")).where(
            actions.c.employee_id == employee_id, actions.c.action != "hr_note"
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def started(self, employee_id: str) -> list[dict[str, Any]]:
        """Actions whose call began but whose outcome was never recorded: the process died in between, or
        another run is at it now (its claim is live); the caller claims each before settling it."""
        query = select(actions).where(actions.c.employee_id == employee_id, actions.c.status == "started")
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def drop_dead_claims(self, employee_id: str, keep: set[str]) -> list[str]:
        """Forget the employee's claims that never became a call, held by no live run, outside `keep`.

        A run killed between claiming an action and starting its call leaves a row saying only "claimed".
        When the rerun's plan no longer has that action (the role went meanwhile, say with a coupled Meta
        presence), nothing would ever settle the row: it is removed (no call was made, nothing to record).
        Returns the keys removed.
        """
        query = select(actions.c.key, actions.c.claimed_by, actions.c.claimed_until).where(
            (actions.c.employee_id == employee_id) & (actions.c.status == "claimed")
        )
        with self.engine.begin() as conn:
            now = conn.execute(select(db_time(conn.dialect.name))).scalar() or ""
            dead = [
                (key, held_by)
                for key, held_by, until in conn.execute(query)
                if key not in keep and (held_by is None or (until or "") < now or holder_is_dead(held_by))
            ]
            for key, held_by in dead:
                same = actions.c.claimed_by.is_(None) if held_by is None else actions.c.claimed_by == held_by
                conn.execute(
                    delete(actions).where((actions.c.key == key) & (actions.c.status == "claimed") & same)
                )
        return [key for key, _ in dead]

    def finish(
        self,
        *,
        key: str,
        employee_id: str,
        action: str,
        target: str,
        outcome: str,
        detail: str,
        pre_state: dict[str, Any] | None = None,
        run_id: str | None = None,
        event_key: str | None = None,
        fingerprint: str | None = None,
        steps: list[str] | None = None,
        due_at: str | None = None,
    ) -> dict[str, Any]:
        """Set the action's state and append the outcome to the audit log, in one transaction.

        fingerprint: what the action says in the version this outcome is about (kept until another is given).
        steps: a person's task, step by step: stored apart in the action's row (its detail is the detail
        alone), and in the audit row both apart and after the detail (the audit's one line stays complete).
        due_at: when a scheduled action is due (ISO 8601).
        """
        stamp = now_iso()
        stored_steps = json.dumps(steps, ensure_ascii=False) if steps else None
        row = {
            "at": stamp,
            "employee_id": employee_id,
            "action_key": key,
            "action": action,
            "target": target,
            "outcome": outcome,
            "detail": with_steps(detail, steps or []),
            "dry_run": False,
            "run_id": run_id,
            "event_key": event_key,
            "steps": stored_steps,
            "due_at": due_at,
        }
        with self.engine.begin() as conn:
            # The outcome ends the action's claim in the same write: released before it, a waiting run could
            # claim an action still "started" and call the vendor again.
            values: dict[str, Any] = {"updated_at": stamp, "claimed_by": None, "claimed_until": None}
            if outcome != "already_done" or not self._finished(conn, key):
                # a rerun's report keeps the original record
                values.update(status=outcome, detail=detail, steps=stored_steps, due_at=due_at)
            if pre_state is not None:
                values["pre_state"] = json.dumps(pre_state, ensure_ascii=False, sort_keys=True)
            if fingerprint is not None:
                values["fingerprint"] = fingerprint
            new = {
                "key": key,
                "employee_id": employee_id,
                "action": action,
                "target": target,
                "attempts": 0,
                "status": outcome,
                "detail": detail,
                **values,
            }
            conn.execute(upsert(conn, new, values))
            inserted = conn.execute(insert(audit).values(**row)).inserted_primary_key
            row["seq"] = inserted[0]  # type: ignore[index]  # None only for statements that insert no row
        row = decoded(row)
        self._append_file(row)
        return row

    def open_actions(self, employee_id: str | None = None) -> list[dict[str, Any]]:
        """Actions waiting for a person (manual, failed, awaiting approval), oldest first."""
        query = select(actions).where(actions.c.status.in_(texts(NEEDS_PERSON)))
        if employee_id is not None:
            query = query.where(actions.c.employee_id == employee_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(actions.c.updated_at)).mappings()]

    @staticmethod
    def _finished(conn: Any, key: str) -> bool:
        status = conn.execute(select(actions.c.status).where(actions.c.key == key)).scalar()
        return status in FINISHED

    def latest_withdrawal(self, employee_id: str) -> tuple[str, str] | None:
        """(when, detail) of the latest confirmed withdrawal of the employee's termination, or None."""
        query = (
            select(actions.c.updated_at, actions.c.detail)
            .where(
                actions.c.employee_id == employee_id,
                actions.c.action == "withdraw_termination",
                actions.c.status == "done",
            )
            .order_by(actions.c.updated_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row[0], row[1]) if row is not None else None

    def withdrawals(self, employee_id: str) -> int:
        """How many times the employee's termination was withdrawn (a new termination after one is a new one)."""
        query = select(actions.c.key).where(
            actions.c.employee_id == employee_id,
            actions.c.action == "withdraw_termination",
            actions.c.status == "done",
        )
        with self.engine.connect() as conn:
            return len(conn.execute(query).all())

    def claimed_by_others(self, employee_id: str, holder: str) -> list[str]:
        """The employee's action keys another live claim holds now (a run in the middle of a call)."""
        query = select(actions.c.key, actions.c.claimed_by).where(
            (actions.c.employee_id == employee_id)
            & actions.c.claimed_by.is_not(None)
            & (actions.c.claimed_by != holder)
            & (actions.c.claimed_until >= db_time(self.engine.dialect.name))
        )
        with self.engine.connect() as conn:
            return [key for key, held_by in conn.execute(query) if not holder_is_dead(held_by)]

    def withdraw_awaiting(
        self, employee_id: str, detail: str, run_id: str | None, event_key: str | None
    ) -> list[dict[str, Any]]:
        """Notices and hand-overs awaiting approval for a withdrawn termination: never to be approved.

        "withdrawn" is neither finished nor open: `relevo approve` no longer acts on them, and a
        later termination drafts them again.
        """
        query = select(actions).where(
            actions.c.employee_id == employee_id, actions.c.status == "awaiting_approval"
        )
        with self.engine.connect() as conn:
            waiting = [dict(r) for r in conn.execute(query).mappings()]
        return [
            self.finish(
                key=r["key"],
                employee_id=employee_id,
                action=r["action"],
                target=r["target"],
                outcome="withdrawn",
                detail=detail,
                run_id=run_id,
                event_key=event_key,
            )
            for r in waiting
        ]

    def audit(self, employee_id: str | None = None) -> list[dict[str, Any]]:
        """Outcomes, oldest first (newest last), optionally for one employee."""
        query = select(audit).order_by(audit.c.seq)
        if employee_id is not None:
            query = query.where(audit.c.employee_id == employee_id)
        with self.engine.connect() as conn:
            return [decoded(dict(r)) for r in conn.execute(query).mappings()]

    def _append_file(self, row: dict[str, Any]) -> None:
        if self.jsonl is None:
            return
        from relevo.connectors.safe_files import open_append

        with (
            self._file_lock,
            open_append(self.jsonl.parent, self.jsonl) as handle,
        ):  # never through a planted link
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
