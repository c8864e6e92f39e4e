"""Two real process workers on one PostgreSQL-backed inbox and ledger; one worker is SIGKILLed while it
runs dismissals. Every event must still end with exactly one completed run or a task for a person: no
run left Crashed or Pending while the inbox says "dispatched", and no leaver left with access.

Slow (a Prefect server on PostgreSQL, two workers, ~1-3 min): `.ci/run` runs it with `pytest -m slow tests/scale`.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from relevo.config.registry import load_registry
from relevo.receiver.dispatcher import Dispatcher, launch_batch
from relevo.storage.inbox import Inbox
from tests.pgcluster import create_database
from tests.scale.stack import Workers, children, descendants, final_runs, prefect_server
from tests.sim import Simulator, all_vendors
from tests.sim.company import arm, set_successors, still_has_access, write
from tests.sim.seed import generate, populate

LEAVERS = 8
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}


@pytest.mark.slow
@pytest.mark.parametrize("gathered", [False, True], ids=["one-run-each", "gathered-in-a-batch"])
def test_a_worker_killed_mid_burst_loses_no_dismissal(
    postgres_server: str, tmp_path: Path, gathered: bool
) -> None:
    """`gathered`: the receiver's default, the burst is one `offboard-batch` run (a batch that dies is started
    again together); otherwise one `offboard-employee` run per dismissal."""
    relevo_db = create_database(postgres_server)
    sim = Simulator(all_vendors()).start()
    try:
        arm(sim)
        world = populate(generate(n_leavers=LEAVERS, n_stayers=3), sim.vendors)
        set_successors(sim, world)
        sim.configure("*", latency=0.05)  # runs long enough to be caught mid-way
        path = write(tmp_path / "company", sim, world, database=relevo_db)
        registry = load_registry(path)
        inbox = Inbox(registry.database_url)
        with prefect_server(create_database(postgres_server)) as env:
            workers = Workers(env, 2)
            try:
                time.sleep(3)  # both workers register and poll
                dispatcher = Dispatcher(
                    inbox, str(registry.path), launch_batch=launch_batch if gathered else None, quiet=0.5
                )
                # Seconds instead of minutes, so that the test sees the replacements. Not much shorter: on 2
                # busy cores a live worker took over 45 s to start a run, which was then replaced while
                # it started, and both ran (the ledger kept the actions single).
                dispatcher.FOLLOW_SECONDS, dispatcher.STUCK_SECONDS = 2.0, 120.0
                now = datetime.now(UTC)
                for person in world.leavers:
                    inbox.store(Inbox.event("bamboohr", person.id, "terminated", "2026-11-20", now))
                dispatcher.start()
                try:
                    deadline = time.monotonic() + 120
                    while not any(busy := [len(descendants(p.pid, children())) for p in workers.processes]):
                        assert time.monotonic() < deadline, "no worker started a run"
                        time.sleep(0.05)
                    time.sleep(1.0)  # the worker is submitting the next runs meanwhile
                    workers.kill(busy.index(max(busy)))  # kill -9 of the worker that runs flows
                    # Done when Prefect shows each leaver one completed run (or the event is a task for a
                    # person) and nothing still running or pending, and the inbox has seen it.
                    deadline = time.monotonic() + 480
                    while True:
                        events = {e.employee_id: e for e in inbox.events()}
                        runs = final_runs(set(events), str(registry.path))
                        open_ = {
                            i: f"{e.state}/{e.run_state}, runs "
                            + ",".join(r.state.type.value for r in runs[i] if r.state)
                            for i, e in events.items()
                            if e.state != "stuck"
                            and (
                                e.run_state != "COMPLETED"
                                or not all(r.state and r.state.type.value in FINAL for r in runs[i])
                            )
                        }
                        if not open_:
                            break
                        if time.monotonic() > deadline:
                            pytest.fail(f"not finished after 480 s: {open_}")
                        time.sleep(1.0)
                finally:
                    dispatcher.stop()
                runs = final_runs({p.id for p in world.leavers}, str(registry.path))
            finally:
                workers.stop()
    finally:
        sim.stop()
    events = {e.employee_id: e for e in inbox.events()}
    assert sorted(events) == sorted(p.id for p in world.leavers)
    for person in world.leavers:
        states = Counter(r.state.type.value for r in runs[person.id] if r.state)
        if events[person.id].state == "stuck":  # a task for a person, and `relevo tasks` says so
            assert states["COMPLETED"] == 0, (person.id, states)
            continue
        assert states["COMPLETED"] == 1, (person.id, states)
        assert not set(states) - FINAL, (person.id, states)  # nothing left running or pending behind it
        assert not any(still_has_access(sim, world, person.id).values()), person.id
    removals = Counter(
        (c.vendor, c.path, tuple(sorted(c.query.items())))
        for c in sim.log()
        if c.method == "DELETE" and c.status is not None and c.status < 300
    )
    assert all(n == 1 for n in removals.values()), [k for k, n in removals.items() if n > 1]
