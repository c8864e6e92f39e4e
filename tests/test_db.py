"""A database made by an earlier relevo keeps working: missing columns are added, rows are kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from relevo import schemas
from relevo.storage.ledger import Ledger, task_steps


def test_a_ledger_from_before_claims_gains_the_claim_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # relevo_actions as relevo 0.1 created it
        conn.execute(
            "CREATE TABLE relevo_actions (key VARCHAR(400) PRIMARY KEY, employee_id VARCHAR(64) NOT NULL, "
            "action VARCHAR(40) NOT NULL, target VARCHAR(400) NOT NULL, status VARCHAR(40) NOT NULL, "
            "detail TEXT NOT NULL, pre_state TEXT, attempts INTEGER NOT NULL, updated_at VARCHAR(40) NOT NULL)"
        )
        conn.execute(
            "INSERT INTO relevo_actions VALUES ('1001:revoke:page:7', '1001', 'revoke_role', 'page', 'done', "
            "'removed', NULL, 1, '2026-11-01T00:00:00.000+00:00')"
        )
    ledger = Ledger(f"sqlite:///{path}")
    assert ledger.state("1001:revoke:page:7").status == "done"  # type: ignore[union-attr]
    assert ledger.claim("1001:revoke:page:7", "1001", "revoke_role", "page", "run-a") == "finished"
    assert ledger.claim("1001:revoke:page:8", "1001", "revoke_role", "page", "run-a") == "claimed"
    assert ledger.claim("1001:revoke:page:8", "1001", "revoke_role", "page", "run-b") == "busy"
    ledger.release("1001:revoke:page:8", "run-a")
    assert ledger.claim("1001:revoke:page:8", "1001", "revoke_role", "page", "run-b") == "claimed"


# relevo_actions and relevo_audit as relevo created them before steps and due times had their own columns.
OLD_TABLES = [
    "CREATE TABLE relevo_actions (key VARCHAR(400) PRIMARY KEY, employee_id VARCHAR(64) NOT NULL, "
    "action VARCHAR(40) NOT NULL, target VARCHAR(400) NOT NULL, status VARCHAR(40) NOT NULL, detail TEXT NOT NULL, "
    "pre_state TEXT, attempts INTEGER NOT NULL, updated_at VARCHAR(40) NOT NULL, claimed_by VARCHAR(64), "
    "claimed_until VARCHAR(40), fingerprint VARCHAR(64))",
    "CREATE TABLE relevo_audit (seq INTEGER PRIMARY KEY, at VARCHAR(40) NOT NULL, employee_id VARCHAR(64) NOT NULL, "
    "action_key VARCHAR(400) NOT NULL, action VARCHAR(40) NOT NULL, target VARCHAR(400) NOT NULL, "
    "outcome VARCHAR(40) NOT NULL, detail TEXT NOT NULL, dry_run BOOLEAN NOT NULL, run_id VARCHAR(64), "
    "event_key VARCHAR(200))",
    "INSERT INTO relevo_actions VALUES ('1001:rotate:x', '1001', 'rotate_credentials', 'x', 'manual', "
    "'shared login: rotate | steps: 1. Change the password. 2. Sign out all other sessions.', NULL, 0, "
    "'2026-11-01T00:00:00.000+00:00', NULL, NULL, NULL)",
]


def steps_survive_the_migration(url: str) -> None:
    """An old row still lists its steps (parsed from its detail); a new row stores them apart, read back as is."""
    ledger = Ledger(url)
    [old] = ledger.open_actions("1001")
    assert task_steps(old) == (
        "shared login: rotate",
        ["Change the password.", "Sign out all other sessions."],
    )
    steps = ["Open x.com.", "Remove Ana (role: 2. admin)."]  # a step with "2. " inside is not split
    row = ledger.finish(
        key="1002:rotate:x",
        employee_id="1002",
        action="rotate_credentials",
        target="x",
        outcome="manual",
        detail="shared login: rotate",
        steps=steps,
        due_at=None,
    )
    assert (
        row["steps"] == steps
        and row["detail"] == "shared login: rotate | steps: 1. Open x.com. 2. Remove Ana (role: 2. admin)."
    )
    [new] = ledger.open_actions("1002")
    assert task_steps(new) == ("shared login: rotate", steps)
    ledger.finish(
        key="1002:revoke:x:7",
        employee_id="1002",
        action="revoke_role",
        target="x",
        outcome="scheduled",
        detail="remove admin role (at 2026-11-30 23:59 CET)",
        due_at="2026-11-30T23:59:00+01:00",
    )
    audit = ledger.audit("1002")
    assert [r["due_at"] for r in audit] == [None, "2026-11-30T23:59:00+01:00"]
    assert audit[0]["steps"] == steps
    for r in audit:
        schemas.check("outcome", {k: v for k, v in r.items() if k != "seq"}, "audit row")


def test_a_ledger_from_before_structured_steps_gains_the_columns_and_keeps_its_tasks(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for statement in OLD_TABLES:
            conn.execute(statement)
    steps_survive_the_migration(f"sqlite:///{path}")


def test_a_postgres_ledger_from_before_structured_steps_gains_the_columns(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    old = create_engine(postgres_url)
    with old.begin() as conn:
        for statement in OLD_TABLES:
            conn.execute(text(statement.replace("seq INTEGER PRIMARY KEY", "seq SERIAL PRIMARY KEY")))
    old.dispose()
    steps_survive_the_migration(postgres_url)


def test_a_second_company_on_the_same_database_is_refused_in_one_line(acme: Path) -> None:
    """Action and event keys name employees by their HR id, which two companies may share: on one database,
    company B's run for its employee 1001 found company A's 1001 done and skipped it (nothing revoked). On
    the old code the second company's offboarding exited 0 with every action "already done"."""
    from relevo.config.registry import load_registry
    from tests.support.cli import relevo

    load_registry(acme).owned_database_url()  # Acme's first run takes the database
    other = acme.parent / "other.yaml"
    other.write_text(
        acme.read_text()
        .replace("name: Acme", "name: Otra Empresa", 1)
        .replace("database: out/relevo.db", f"database: {acme.parent / 'out' / 'relevo.db'}")
    )
    assert "Otra Empresa" in other.read_text()
    second = relevo("offboard", "1001", "--registry", str(other))
    assert second.returncode == 2, second.stdout + second.stderr
    line = second.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "Acme" in line and "Otra Empresa" in line and "database of its own" in line
    assert "already" not in second.stdout
