"""What the `relevo` commands print: outcomes in colour, tables of a run or a layoff, one-line errors.

Everything that comes from HR, the CRM or the registry is printed through `esc` (a name with `[/]` in it
is text, not Rich markup), and every error through `fail` (one line on stderr, then the exit code).
"""

from __future__ import annotations

import sys
from datetime import datetime, tzinfo
from typing import Any, NoReturn

import typer

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_OPEN = 0, 1, 2, 3


STYLES = {
    "done": "green",
    "already_done": "green",
    "manual": "yellow",
    "failed": "bold red",
    "planned": "cyan",
    "scheduled": "cyan",
    "awaiting_approval": "yellow",
    "not_touched": "dim",
    "rejected": "dim",
    "skipped": "dim",
    "cancelled": "dim",
    "withdrawn": "dim",
    "superseded": "dim",
}


def mark(outcome: str, width: int = 0) -> str:
    """An outcome in its colour, padded on the plain text so columns line up."""
    text = outcome.replace("_", " ").ljust(width)
    return f"[{STYLES.get(outcome, 'default')}]{text}[/]"


def esc(value: Any) -> str:
    """Data (names, targets, details, paths) printed as literal text: `[/]` in a client's name is not markup."""
    from rich.markup import escape

    return escape(str(value))


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def row_printer(out: Any) -> Any:
    """One line per outcome as it is recorded: outcome, action, target."""

    def show(row: dict[str, Any]) -> None:
        out.print(f"  {mark(row['outcome'], 18)} {esc(row['action']):<21} {esc(row['target'])}", markup=True)

    return show


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One clean line on stderr, then exit."""
    print(f"relevo: error: {' '.join(message.splitlines())}", file=sys.stderr)  # one line, whatever the data
    raise typer.Exit(code)


SERVERLESS = (
    "[dim]No PREFECT_API_URL set: running without a Prefect server (set it to see the run in the UI).[/]"
)


def exit_code(summary: dict[str, Any]) -> int:
    return EXIT_OPEN if summary["open"] else EXIT_OK


def print_batch(out: Any, summary: dict[str, Any]) -> None:
    """One line per employee: plan or outcome, access removed N/M, tasks for a person, notices awaiting."""
    from rich.table import Table

    from relevo.engine.runview import batch_headline

    table = Table(title="Plan of the layoff (dry run)" if summary["dry_run"] else "Layoff")
    for column in ("employee", "name", "plan or outcome", "access", "tasks for a person", "notices awaiting"):
        table.add_column(column)
    for p in summary["people"]:
        status = f"[red]{p['status']}: {esc(p['problem'])}[/]" if p["problem"] else p["status"]
        table.add_row(
            esc(p["employee_id"]),
            esc(p["name"]),
            status,
            p["access"],
            str(p["for_a_person"]),
            str(p["notices_awaiting"]),
        )
    out.print(table)
    out.print(batch_headline(summary) + ".")


def due_text(row: dict[str, Any], zone: tzinfo | None) -> str | None:
    """When a scheduled row is due, in the company's time zone: from its `due_at`, never from its text."""
    if not row.get("due_at"):
        return None
    when = datetime.fromisoformat(row["due_at"])
    return f"{when.astimezone(zone) if zone else when:%Y-%m-%d %H:%M %Z}"


def print_summary(out: Any, summary: dict[str, Any], zone: tzinfo | None = None) -> None:
    from rich.table import Table

    table = Table(
        title=f"{'Plan' if summary['dry_run'] else 'Outcomes'} for {esc(summary['employee_name'])} "
        f"({esc(summary['employee_id'])})",
        show_lines=False,
    )
    table.add_column("target")
    table.add_column("action")
    table.add_column("outcome")
    for row in summary["rows"]:
        table.add_row(esc(row["target"]), esc(row["action"]), mark(row["outcome"]))
    out.print(table)
    from relevo.engine.runview import headline

    out.print(headline(summary["rows"], summary["dry_run"]) + ".")
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(summary["counts"].items()))
    out.print(f"Outcomes: {counts or 'none'}.")
    if summary["open"]:
        out.print(
            f"[yellow]{summary['open']} action(s) need a person[/]: see `relevo audit` or the Prefect artifact."
        )
    later = [r for r in summary["rows"] if r["action"] == "revoke_role" and r["outcome"] == "scheduled"]
    if later and not summary["dry_run"]:
        when = due_text(later[0], zone) or "the end of the last working day"
        out.print(
            f"[cyan]{len(later)} revocation(s) wait until {esc(when)}[/]: run `relevo offboard "
            f"{esc(summary['employee_id'])}` again then, or now with --now (the offboard-employee deployment "
            "schedules that run itself)."
        )
    out.print(f"Drafts: {esc(summary['drafts'])}\nAudit log: {esc(summary['audit'])}")
    if summary["dry_run"]:
        out.print("[cyan]Dry run: nothing was changed and nothing was recorded.[/]")
