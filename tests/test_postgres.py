"""The inbox, the ledger and the dispatcher on a real PostgreSQL server, as several workers use them.

Each test gets a new database on the session's server (`postgres_url`). The same behaviour is
tested on SQLite elsewhere; these are the places where PostgreSQL differs: what a driver reports
for `ON CONFLICT DO NOTHING`, schema creation racing on a fresh database, and concurrent writers.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from relevo.receiver.dispatcher import Dispatcher
from relevo.storage.inbox import Inbox, InboxEvent
from relevo.storage.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 11, 20, 9, 12, tzinfo=UTC)


def doc(employee_id: str) -> dict:
    return Inbox.event("bamboohr", employee_id, "terminated", "2026-11-20", AT)


def test_a_new_event_is_new_and_a_redelivery_is_not(postgres_url: str) -> None:
    inbox = Inbox(postgres_url)
    assert (
        inbox.store(doc("1001")) is True
    )  # psycopg reports rowcount -1 here: read as "already stored" before
    assert inbox.store(doc("1001")) is False
    assert [e.event_key for e in inbox.events()] == [doc("1001")["event_key"]]


def test_concurrent_redeliveries_store_each_event_once(postgres_url: str) -> None:
    inbox = Inbox(postgres_url)
    ids = [str(2000 + n % 40) for n in range(160)]
    with ThreadPoolExecutor(16) as pool:
        new = list(pool.map(lambda employee_id: inbox.store(doc(employee_id)), ids))
    assert sum(new) == 40
    assert len(inbox.events()) == 40


def test_processes_starting_together_on_a_fresh_database_all_succeed(postgres_url: str) -> None:
    script = (
        "import sys; from relevo.storage.inbox import Inbox; from relevo.storage.ledger import Ledger; "
        "Inbox(sys.argv[1]); Ledger(sys.argv[1]); print('ok')"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, postgres_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    results = [p.communicate(timeout=120) for p in processes]
    failures = [
        err.strip().splitlines()[-1] for (out, err), p in zip(results, processes, strict=True) if p.returncode
    ]
    assert failures == []


def test_two_runs_finishing_one_action_together_leave_one_row(postgres_url: str) -> None:
    ledger = Ledger(postgres_url)
    barrier = threading.Barrier(8)

    def run(n: int) -> int:
        barrier.wait(10)
        attempt = ledger.start(f"1001:revoke:page:{n % 2}", "1001", "revoke_role", "page")
        ledger.finish(
            key=f"1001:revoke:page:{n % 2}",
            employee_id="1001",
            action="revoke_role",
            target="page",
            outcome="done",
            detail="removed",
        )
        return attempt

    with ThreadPoolExecutor(8) as pool:
        attempts = list(pool.map(run, range(8)))
    assert sorted(attempts) == [1, 1, 2, 2, 3, 3, 4, 4]  # every start counted, none lost to a duplicate key
    states = ledger.states("1001")
    assert {k: s.status for k, s in states.items()} == {
        "1001:revoke:page:0": "done",
        "1001:revoke:page:1": "done",
    }
    assert len(ledger.audit("1001")) == 8


def test_two_dispatchers_on_one_inbox_launch_each_event_once(postgres_url: str) -> None:
    inbox = Inbox(postgres_url)
    for n in range(30):
        inbox.store(doc(str(3000 + n)))
    launched: list[str] = []
    lock = threading.Lock()

    def launch(event: InboxEvent, registry_path: str) -> str:
        with lock:
            launched.append(event.event_key)
        return f"run-{event.event_key}"

    clock = lambda: AT.timestamp() + 1  # noqa: E731  (every event is due)
    first = Dispatcher(Inbox(postgres_url), "relevo.yaml", launch=launch, clock=clock)
    second = Dispatcher(Inbox(postgres_url), "relevo.yaml", launch=launch, clock=clock)
    with ThreadPoolExecutor(2) as pool:
        accepted = list(pool.map(lambda d: d.dispatch_due(), [first, second]))
    assert sum(accepted) == 30
    assert sorted(launched) == sorted(set(launched)) and len(launched) == 30
    assert {e.state for e in inbox.events()} == {"dispatched"}


class CountingConnector:
    """A vendor whose removal takes a while: two runs that both called it would both be counted."""

    removal_needs = "a permission"

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def holders(self, presence):  # type: ignore[no-untyped-def]
        return set()  # every removal went through: the confirming read lists nobody

    def revoke(self, presence, grant):  # type: ignore[no-untyped-def]
        import time

        from relevo.model import Outcome

        with self._lock:
            self.calls += 1
        time.sleep(0.3)
        return Outcome("done", f"removed {grant.identity}", pre_state={"role": grant.role})


class OneDatabase:
    """The part of a Registry that `execute` uses: the ledger's database, the output folder, a connector."""

    def __init__(self, url: str, output: Path, connector: CountingConnector) -> None:
        self.database_url, self.output_dir, self.connector = url, output, connector

    def social(self, presence):  # type: ignore[no-untyped-def]
        return self.connector

    def owned_database_url(self) -> str:
        return self.database_url


def test_two_runs_of_one_employee_call_the_vendor_once_per_action(postgres_url: str, tmp_path: Path) -> None:
    from relevo.engine.execute import Run, execute
    from relevo.model import Grant, Presence
    from relevo.rules.plan import Action

    connector = CountingConnector()
    registry = OneDatabase(postgres_url, tmp_path, connector)
    presence = Presence(id="page", platform="facebook", account="Acme", connector="meta_page")
    actions = [
        Action(
            key=f"1001:revoke:page:{n}",
            action="revoke_role",
            target="Acme",
            phase="revoke",
            description="",
            presence=presence,
            grant=Grant("page", str(n), f"person{n}@acme.example", "MANAGE", False),
        )
        for n in range(3)
    ]
    barrier = threading.Barrier(2)

    def one_run(_: int) -> list[str]:
        run = Run(registry, {"id": "1001"}, None, direct=True)  # type: ignore[arg-type]
        barrier.wait(10)
        return [execute(run, action)["outcome"] for action in actions]

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(one_run, range(2)))
    assert connector.calls == 3  # each removal made once, by whichever run claimed it
    assert sorted(outcomes[0] + outcomes[1]) == ["already_done"] * 3 + ["done"] * 3


def test_a_worker_whose_clock_runs_ahead_cannot_take_a_live_claim(postgres_url: str) -> None:
    """Claims are compared in the database's clock (hostile review): a worker whose clock was 10 min ahead
    saw another worker's live 5-min claim as lapsed, took it and called the vendor a second time. On the
    old code the second claim below answered "claimed"."""
    import datetime as real

    from relevo.storage import ledger as ledger_module

    ledger = Ledger(postgres_url)
    key = "1001:revoke:page:7"
    assert ledger.claim(key, "1001", "revoke_role", "page", "run-a/elsewhere/1") == "claimed"

    class Ahead(real.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return real.datetime.now(tz) + real.timedelta(minutes=10)

    original = ledger_module.datetime
    ledger_module.datetime = Ahead  # type: ignore[misc]
    try:
        assert ledger.claim(key, "1001", "revoke_role", "page", "run-b/other-host/2") == "busy"
    finally:
        ledger_module.datetime = original  # type: ignore[misc]
    assert ledger.claimed_by_others("1001", "run-b/other-host/2") == [key]
    assert ledger.claim(key, "1001", "revoke_role", "page", "run-b/other-host/2", seconds=1) == "busy"
    with ledger.engine.begin() as conn:  # the claim as the database sees it: five minutes from its now
        left = conn.execute(
            __import__("sqlalchemy").text(
                "SELECT EXTRACT(EPOCH FROM (claimed_until::timestamptz - now())) FROM relevo_actions WHERE key = :k"
            ),
            {"k": key},
        ).scalar()
    assert 290 < float(left) <= 300
