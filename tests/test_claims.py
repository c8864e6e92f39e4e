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


def test_claims_last_a_minute_unless_renewed() -> None:
    """A killed run delays the next run of its employee by at most a minute (it was 15 minutes)."""
    assert ledger_module.CLAIM_SECONDS <= 60 and ledger_module.RENEW_SECONDS * 3 <= ledger_module.CLAIM_SECONDS
