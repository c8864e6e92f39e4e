"""The README's main job end to end: `relevo offboard` / `relevo audit` on the example company,
against a real Prefect server on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from relevo import schemas
from tests.support.cli import audit_rows, relevo


def drafts(registry: Path) -> list[Path]:
    return sorted((registry.parent / "out" / "drafts").rglob("*.eml"))


def test_dismissal_run_then_rerun_does_nothing_twice(prefect_api_url, acme):
    first = relevo("offboard", "1001", "--registry", str(acme), api_url=prefect_api_url)
    assert first.returncode == 3, first.stdout + first.stderr  # manual platforms leave operator tasks
    assert "Traceback" not in first.stdout + first.stderr
    assert "revoke_role" in first.stdout and "draft_notice" in first.stdout
    # From a terminal nobody answers the UI form: notices and the CRM change await `relevo approve`.
    # The .eml drafts reach nobody, so their review copies are written now, grouped per client.
    made = drafts(acme)
    assert len(made) == 8
    assert len({p.parent for p in made}) == 6
    contents = {p: p.read_bytes() for p in made}
    waiting = audit_rows(acme, "--employee", "1001")
    assert {r["outcome"] for r in waiting if r["action"] in {"draft_notice", "reassign_crm"}} == {
        "awaiting_approval"
    }
    assert "relevo approve 1001" in first.stdout
    assert not (acme.parent / "out" / "crm-reassignments.csv").exists()
    approved = relevo(
        "approve", "1001", "--registry", str(acme), "--by", "Javier Soler", api_url=prefect_api_url
    )
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert drafts(acme) == made and all(p.read_bytes() == contents[p] for p in made)

    rows = audit_rows(acme, "--employee", "1001")
    for row in rows:
        schemas.check("outcome", row, "audit row")
    after = rows[len(waiting) :]
    assert {r["outcome"] for r in after if r["action"] in {"draft_notice", "reassign_crm"}} == {"done"}
    assert len([r for r in after if r["action"] == "draft_notice"]) == 8
    assert (acme.parent / "out" / "crm-reassignments.csv").read_text("utf-8").count("nuria.castells") == 6
    assert {r["outcome"] for r in rows if r["action"] == "revoke_role"} == {"manual"}
    youtube = [r for r in rows if "YouTube" in r["target"]]
    assert [r["action"] for r in youtube] == ["add_admin", "revoke_role"]
    assert "without an admin" in youtube[1]["detail"]
    assert any(r["action"] == "personal_not_touched" and r["outcome"] == "not_touched" for r in rows)
    reason = "incumplimientos reiterados"
    assert all(reason not in r["detail"] for r in rows)

    second = relevo("offboard", "1001", "--registry", str(acme), api_url=prefect_api_url)
    assert second.returncode == 3
    assert drafts(acme) == made and all(p.read_bytes() == contents[p] for p in made)  # no second draft
    rerun = audit_rows(acme, "--employee", "1001")[len(rows) :]
    assert {r["outcome"] for r in rerun if r["action"] == "draft_notice"} == {"already_done"}
    assert "already done" in second.stdout


def test_dry_run_shows_the_plan_and_changes_nothing(prefect_api_url, acme):
    result = relevo("offboard", "1001", "--registry", str(acme), "--dry-run", api_url=prefect_api_url)
    assert result.returncode == 0, result.stderr
    assert "planned" in result.stdout and "nothing was changed" in result.stdout
    assert drafts(acme) == []
    assert not (acme.parent / "out" / "audit.jsonl").exists()
    assert audit_rows(acme) == []


def test_unknown_employee_is_one_clear_line_and_exit_2(prefect_api_url, acme):
    result = relevo("offboard", "9999", "--registry", str(acme), api_url=prefect_api_url)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("relevo: error: directory: employee 9999 is not in hr.json")
    )
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "content,expected",
    [
        ("company: [unclosed", "not valid YAML"),
        ("company: {name: x}\n", "(top level): 'hr' is a required property (and 7 more problems)"),
    ],
)
def test_invalid_registry_exits_2_before_anything_starts(tmp_path, content, expected):
    bad = tmp_path / "relevo.yaml"
    bad.write_text(content, "utf-8")
    result = relevo("offboard", "1001", "--registry", str(bad), timeout=30)
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_audit_of_an_empty_ledger(acme):
    assert audit_rows(acme) == []


def test_without_a_server_the_cli_runs_the_flow_itself(acme):
    """No PREFECT_API_URL: no temporary Prefect server (10-20 s), the same outcomes in the ledger."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] = "false"  # a server start would fail the command
    result = subprocess.run(
        [sys.executable, "-m", "relevo.cli", "offboard", "1001", "--registry", str(acme)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "running without a Prefect server" in result.stdout
    assert (
        "Access removed on 0 of 6 presences; 8 tasks for a person; 9 notice(s) await approval."
        in result.stdout
    )
    rows = audit_rows(acme, "--employee", "1001")
    assert {r["outcome"] for r in rows if r["action"] == "revoke_role"} == {"manual"}
    assert {r["run_id"] for r in rows} == {None}


def test_a_layoff_without_a_server_runs_the_flow_itself(acme):
    """`relevo layoff` without PREFECT_API_URL started a temporary Prefect server (issue 13); now it runs the
    batch itself like `relevo offboard`: a server start would fail the command here."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] = "false"
    result = subprocess.run(
        [sys.executable, "-m", "relevo.cli", "layoff", "1001", "1002", "--registry", str(acme)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "running without a Prefect server" in result.stdout
    assert "2 employee(s); access removed everywhere for 0; 8 task(s) for a person" in result.stdout
    rows = audit_rows(acme)
    assert {r["employee_id"] for r in rows if r["action"] == "revoke_role"} == {"1001", "1002"}
    assert {r["run_id"] for r in rows} == {None}


def test_an_hr_platform_without_a_place_for_the_report_gets_a_skipped_row_not_a_crash(acme, monkeypatch):
    """Factorial's connector has no `write_note`: the run ended in AttributeError at the HR note (found by the
    type checker); now the report is recorded as not written, once, and the run goes on."""
    from relevo.config.registry import load_registry
    from relevo.engine.execute import Run
    from relevo.engine.report import write_hr_note

    registry = load_registry(acme)
    employee = registry.hr().employee("1001")

    class NoNotes:  # what Factorial offers relevo: records, no place for a report
        def employee(self, employee_id: str) -> dict:
            return employee

    monkeypatch.setattr(registry, "hr", lambda: NoNotes())
    run = Run(registry, employee, None)
    row = write_hr_note(run)
    assert (
        row is not None and row["outcome"] == "skipped" and "NoNotes connector has no place" in row["detail"]
    )
    assert write_hr_note(Run(registry, employee, None)) is None  # said once, not on every rerun
