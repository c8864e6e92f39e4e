"""A database made by an earlier relevo keeps working: missing columns are added, rows are kept."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from relevo.storage.ledger import Ledger


def test_a_ledger_from_before_claims_gains_the_claim_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # relevo_actions as relevo 0.1 created it
        conn.execute("CREATE TABLE relevo_actions (key VARCHAR(400) PRIMARY KEY, employee_id VARCHAR(64) NOT NULL, "
                     "action VARCHAR(40) NOT NULL, target VARCHAR(400) NOT NULL, status VARCHAR(40) NOT NULL, "
                     "detail TEXT NOT NULL, pre_state TEXT, attempts INTEGER NOT NULL, updated_at VARCHAR(40) NOT NULL)")
        conn.execute("INSERT INTO relevo_actions VALUES ('1001:revoke:page:7', '1001', 'revoke_role', 'page', 'done', "
                     "'removed', NULL, 1, '2026-11-01T00:00:00.000+00:00')")
    ledger = Ledger(f"sqlite:///{path}")
    assert ledger.state("1001:revoke:page:7").status == "done"  # type: ignore[union-attr]
    assert ledger.claim("1001:revoke:page:7", "1001", "revoke_role", "page", "run-a") == "finished"
    assert ledger.claim("1001:revoke:page:8", "1001", "revoke_role", "page", "run-a") == "claimed"
    assert ledger.claim("1001:revoke:page:8", "1001", "revoke_role", "page", "run-b") == "busy"
    ledger.release("1001:revoke:page:8", "run-a")
    assert ledger.claim("1001:revoke:page:8", "1001", "revoke_role", "page", "run-b") == "claimed"
