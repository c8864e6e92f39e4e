"""The inbox's group commit: writes queued together share one transaction, every caller hears back
only after its commit, redeliveries resolve to exactly one new row, and one failing write does
not take the others down with it."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from relevo.config.registry import load_registry
from relevo.storage.inbox import Inbox

AT = datetime(2026, 11, 20, 9, 12, tzinfo=UTC)


def doc(employee_id: str) -> dict:
    return Inbox.event("bamboohr", employee_id, "terminated", "f1", AT)


def committed_keys(inbox: Inbox) -> set[str]:
    """Read with a connection of its own: what is committed in the file, not what the writer sees."""
    with sqlite3.connect(inbox.engine.url.database) as conn:
        return {key for (key,) in conn.execute("SELECT event_key FROM relevo_inbox")}


def test_concurrent_stores_are_all_committed_once(acme):  # type: ignore[no-untyped-def]
    inbox = Inbox(load_registry(acme).database_url)
    ids = [str(2000 + n % 60) for n in range(240)]  # 60 employees, each delivered 4 times, interleaved
    with ThreadPoolExecutor(20) as pool:
        new = list(pool.map(lambda employee_id: inbox.store(doc(employee_id)), ids))
    assert sum(new) == 60
    assert {doc(i)["event_key"] for i, is_new in zip(ids, new, strict=True) if is_new} == {
        doc(i)["event_key"] for i in set(ids)
    }
    assert committed_keys(inbox) == {doc(i)["event_key"] for i in set(ids)}


def test_writes_queued_together_share_one_commit(acme):  # type: ignore[no-untyped-def]
    inbox = Inbox(load_registry(acme).database_url)
    commits: list[int] = []
    event.listen(
        inbox.engine, "commit", lambda conn: commits.append(1)
    )  # this test's own engine (its own file)
    busy, release = threading.Event(), threading.Event()
    first = inbox.writer.submit(lambda conn: busy.set() or release.wait(10))
    assert busy.wait(10)  # the writer is inside its first transaction: the next 50 queue up
    futures = [
        inbox.writer.submit(lambda conn, d=doc(str(3000 + n)): inbox.add(conn, d))  # noqa: B008  (bound now)
        for n in range(50)
    ]
    assert not any(f.done() for f in futures)
    release.set()
    assert first.result(10) and all(f.result(10) for f in futures)
    assert len(commits) == 2
    assert len(committed_keys(inbox)) == 50


def test_a_failing_write_does_not_fail_its_batch(acme):  # type: ignore[no-untyped-def]
    inbox = Inbox(load_registry(acme).database_url)
    busy, release = threading.Event(), threading.Event()
    inbox.writer.submit(lambda conn: busy.set() or release.wait(10))
    assert busy.wait(10)
    good = inbox.writer.submit(lambda conn: inbox.add(conn, doc("4001")))

    def half_then_fail(conn):  # type: ignore[no-untyped-def]
        inbox.add(conn, doc("4002"))
        raise RuntimeError("broken job")

    bad = inbox.writer.submit(half_then_fail)
    later = inbox.writer.submit(lambda conn: inbox.add(conn, doc("4003")))
    release.set()
    assert good.result(10) and later.result(10)
    with pytest.raises(RuntimeError, match="broken job"):
        bad.result(10)
    assert committed_keys(inbox) == {doc("4001")["event_key"], doc("4003")["event_key"]}  # 4002 rolled back


def test_a_write_cancelled_while_queued_is_skipped(acme):  # type: ignore[no-untyped-def]
    inbox = Inbox(load_registry(acme).database_url)
    busy, release = threading.Event(), threading.Event()
    inbox.writer.submit(lambda conn: busy.set() or release.wait(10))
    assert busy.wait(10)
    cancelled = inbox.writer.submit(lambda conn: inbox.add(conn, doc("5001")))
    assert cancelled.cancel()  # e.g. the request's task was cancelled: it was never acknowledged
    release.set()
    assert inbox.store(doc("5002"))  # the writer lives on
    assert committed_keys(inbox) == {doc("5002")["event_key"]}
