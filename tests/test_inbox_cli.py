"""`relevo inbox` lists what the receiver stored and counted; the offboard summary says when
scheduled revocations happen and how to run them from the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from rich.console import Console
from typer.testing import CliRunner

from relevo.cli.main import app
from relevo.cli.output import print_summary
from relevo.config.registry import load_registry
from relevo.storage.inbox import Inbox

AT = datetime(2026, 11, 20, 9, 12, tzinfo=UTC)


def test_inbox_lists_events_states_and_counts(acme):  # type: ignore[no-untyped-def]
    inbox = Inbox(load_registry(acme).database_url)
    first = Inbox.event("bamboohr", "1001", "terminated", "f1", AT)
    second = Inbox.event("factorial", "1003", "rescinded", None, AT)
    assert inbox.store(first) and inbox.store(second) and not inbox.store(first)
    inbox.dispatched(first["event_key"], "run-abc", AT)
    inbox.retry_later(second["event_key"], "ConnectError: All connection attempts failed", AT, AT)
    inbox.count("bamboohr", "rejected", "401 bad signature", AT)
    inbox.count("bamboohr", "rejected", "401 bad signature", AT)
    inbox.count("bamboohr", "ignored", "not a termination", AT)

    result = CliRunner().invoke(app, ["inbox", "--registry", str(acme)])
    assert result.exit_code == 0, result.output
    assert "bamboohr:1001:terminated:f1" in result.output and "run run-abc" in result.output
    assert "factorial:1003:rescinded:none" in result.output
    assert "last error (attempt 1): ConnectError: All connection attempts failed" in result.output
    assert "1 pending, 1 dispatched, 1 ignored, 2 rejected." in result.output
    assert "401 bad signature" in result.output
    assert "a batch of" not in result.output


def test_inbox_says_which_events_went_to_one_batch_run(acme):  # type: ignore[no-untyped-def]
    inbox = Inbox(load_registry(acme).database_url)
    docs = [Inbox.event("bamboohr", i, "terminated", f"c{i}", AT) for i in ("1001", "1002", "1004")]
    for doc in docs:
        inbox.store(doc)
    inbox.dispatched_many([d["event_key"] for d in docs[:2]], "run-batch", AT)
    inbox.dispatched(docs[2]["event_key"], "run-single", AT)
    result = CliRunner().invoke(app, ["inbox", "--registry", str(acme)])
    assert result.exit_code == 0, result.output
    assert result.output.count("run run-batch, a batch of 2") == 2
    assert "run run-single\n" in result.output


def test_inbox_when_empty(acme):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["inbox", "--registry", str(acme)])
    assert result.exit_code == 0
    assert "No termination events received yet." in result.output
    assert "0 pending, 0 dispatched, 0 ignored, 0 rejected." in result.output


def test_summary_tells_when_scheduled_revocations_happen():
    rows = [
        {
            "target": "@acme (X)",
            "action": "revoke_role",
            "outcome": "scheduled",
            "detail": "remove shared login role of employee:1002 (at 2027-03-31 23:59 CEST)",
            "due_at": "2027-03-31T21:59:00+00:00",
        }
    ]  # read from the row's due_at, shown in the company's zone
    summary = {
        "employee_id": "1002",
        "employee_name": "Diego",
        "dry_run": False,
        "rows": rows,
        "counts": {"scheduled": 1},
        "open": 0,
        "drafts": "d",
        "audit": "a",
    }
    out = Console(record=True, width=200)
    print_summary(out, summary, ZoneInfo("Europe/Madrid"))
    text = out.export_text()
    assert "1 revocation(s) wait until 2027-03-31 23:59 CEST" in text
    assert "relevo offboard 1002` again then, or now with --now" in text
    out = Console(record=True, width=200)
    print_summary(out, {**summary, "dry_run": True})
    assert "wait until" not in out.export_text()
