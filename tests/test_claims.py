"""Claims on actions outlive a long call of a live run but not a run that was killed (see ClaimKeeper)."""

from __future__ import annotations

import time
from pathlib import Path

from relevo.storage import ledger as ledger_module
from relevo.storage.ledger import Ledger


def test_a_live_runs_claim_is_renewed_and_a_dead_runs_claim_lapses(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    assert ledger.claim("1001:revoke:page:1", "1001", "revoke_role", "page", "live", seconds=0.3) == "claimed"
    assert ledger.claim("1001:revoke:page:2", "1001", "revoke_role", "page", "dead", seconds=0.3) == "claimed"
    keeper = ledger_module.claim_keeper
    with keeper.lock:  # "dead"'s process is gone: nothing renews its claims any more
        keeper.holders[str(ledger.engine.url)][1].discard("dead")
    keeper.renew()  # what the keeper's thread does every RENEW_SECONDS
    time.sleep(0.5)
    assert ledger.claim("1001:revoke:page:1", "1001", "revoke_role", "page", "next") == "busy"
    assert ledger.claim("1001:revoke:page:2", "1001", "revoke_role", "page", "next") == "claimed"


def test_claims_lapse_within_five_minutes_unless_renewed() -> None:
    """A run killed on another machine delays its employee's next run by at most 5 minutes (it was 15); a
    live run survives missing several renewals (a database away, a paused VM, clocks minutes apart)."""
    assert (
        ledger_module.CLAIM_SECONDS <= 300 and ledger_module.RENEW_SECONDS * 5 <= ledger_module.CLAIM_SECONDS
    )


def test_a_claim_of_a_killed_process_on_this_machine_is_taken_at_once(tmp_path: Path) -> None:
    """A CLI run killed with SIGKILL held claims; the operator's rerun on the same machine takes them at once
    (the holder names host and pid) instead of waiting CLAIM_SECONDS for them to lapse."""
    import subprocess
    import sys

    from relevo.storage.ledger import holder_is_dead, process_holder

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    killed = process_holder("run-a").rsplit("/", 1)[0] + "/" + gone.stdout.strip()
    assert holder_is_dead(killed) and not holder_is_dead(process_holder("run-b"))  # this process lives
    assert not holder_is_dead("run-c/another-host/1")  # another machine's process: unknown, so alive
    assert ledger.claim("1001:revoke:page:1", "1001", "revoke_role", "page", killed) == "claimed"
    assert (
        ledger.claim("1001:revoke:page:1", "1001", "revoke_role", "page", process_holder("run-b"))
        == "claimed"
    )
    assert (
        ledger.claim("1001:revoke:page:1", "1001", "revoke_role", "page", process_holder("run-c")) == "busy"
    )


def test_recording_the_outcome_ends_the_claim_in_the_same_write(tmp_path: Path) -> None:
    """A run released its claim and then recorded the outcome: a waiting run polling in between claimed an
    action still "started" and called the vendor again."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    assert ledger.claim("1001:revoke:page:1", "1001", "revoke_role", "page", "a/h/1") == "claimed"
    ledger.start("1001:revoke:page:1", "1001", "revoke_role", "page")
    ledger.finish(
        key="1001:revoke:page:1",
        employee_id="1001",
        action="revoke_role",
        target="page",
        outcome="done",
        detail="removed (confirmed by a fresh read)",
    )
    assert ledger.claim("1001:revoke:page:1", "1001", "revoke_role", "page", "b/h/2") == "finished"
    with ledger.engine.connect() as conn:
        from relevo.storage.ledger import actions

        held = conn.execute(actions.select().where(actions.c.key == "1001:revoke:page:1")).mappings().one()
    assert held["claimed_by"] is None and held["claimed_until"] is None


def test_a_claim_left_by_a_killed_run_for_an_action_no_longer_planned_is_forgotten(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """CI (crash test, mid_revoke): a run killed after claiming its Instagram removal but before the call left
    the row "claimed"; the rerun's plan no longer had it (the coupled Meta removal took the role), so the row
    said "claimed" for ever. Claims of dead holders outside the plan are now forgotten; live ones are not."""
    import subprocess
    import sys

    from relevo.storage.ledger import Ledger, process_holder

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = process_holder("run-killed").rsplit("/", 1)[0] + f"/{dead.pid}"
    alive = process_holder("run-alive")
    assert ledger.claim("5001:revoke:instagram:1", "5001", "revoke_role", "Instagram", gone) == "claimed"
    assert ledger.claim("5001:revoke:page:1", "5001", "revoke_role", "Page", gone) == "claimed"
    assert ledger.claim("5001:revoke:tiktok:1", "5001", "revoke_role", "TikTok", alive) == "claimed"
    assert ledger.drop_dead_claims("5001", keep={"5001:revoke:page:1"}) == ["5001:revoke:instagram:1"]
    assert ledger.state("5001:revoke:instagram:1") is None
    assert ledger.state("5001:revoke:page:1").status == "claimed"  # type: ignore[union-attr]  # planned again
    assert ledger.state("5001:revoke:tiktok:1").status == "claimed"  # type: ignore[union-attr]  # a live run's
