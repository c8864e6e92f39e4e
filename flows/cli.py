"""The `relevo` command.

Prefect is imported only by commands that run a flow, so `--help`, `audit` and
`inbox` start instantly. Every expected problem (bad registry, unknown employee,
missing secret) ends in one line naming it and exit code 2, never a traceback.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_OPEN = 0, 1, 2, 3

app = typer.Typer(
    name="relevo",
    help="Offboarding automation: revoke company social access, draft client notices, prove what was done.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

RegistryOption = Annotated[
    Path,
    typer.Option("--registry", "-r", envvar="RELEVO_REGISTRY", help="The company's relevo.yaml."),
]

STYLES = {
    "done": "green", "already_done": "green", "manual": "yellow", "failed": "bold red", "planned": "cyan",
    "scheduled": "cyan", "awaiting_approval": "yellow", "not_touched": "dim", "rejected": "dim",
    "skipped": "dim", "cancelled": "dim",
}


def mark(outcome: str, width: int = 0) -> str:
    """An outcome in its colour, padded on the plain text so columns line up."""
    text = outcome.replace("_", " ").ljust(width)
    return f"[{STYLES.get(outcome, 'default')}]{text}[/]"


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One clean line on stderr, then exit."""
    print(f"relevo: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def load(registry: Path) -> Any:
    from connectors.errors import ConfigurationError
    from flows.registry import load_registry

    try:
        return load_registry(registry)
    except ConfigurationError as exc:
        fail(str(exc))


def quiet_prefect() -> None:
    """Keep Prefect's own console output (and its tracebacks) out of relevo's; the UI still gets every log.

    relevo prints each outcome and any failure itself, in one line.
    """
    for name in ("CONSOLE", "CONSOLE_FLOW_RUNS", "CONSOLE_TASK_RUNS"):
        os.environ.setdefault(f"PREFECT_LOGGING_HANDLERS_{name}_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def exit_code(summary: dict[str, Any]) -> int:
    return EXIT_OPEN if summary["open"] else EXIT_OK


@app.command()
def offboard(
    employee_id: Annotated[str, typer.Argument(help="The HR platform's employee id.")],
    registry: RegistryOption = Path("relevo.yaml"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")] = False,
    now: Annotated[bool, typer.Option("--now", help="Revoke at once even if the last working day is ahead.")] = False,
) -> None:
    """Offboard one employee now (or show the plan with --dry-run)."""
    reg = load(registry)
    check_employee(reg, employee_id)
    out = console()
    out.print(f"[bold]relevo[/] offboarding employee [bold]{employee_id}[/] of {reg.company['name']}"
              + (" [cyan](dry run: nothing will change)[/]" if dry_run else ""))
    quiet_prefect()
    if not os.environ.get("PREFECT_API_URL"):
        out.print("[dim]No PREFECT_API_URL set: starting a temporary local Prefect server (10–20 s)…[/]")
    from flows import offboarding

    def show(row: dict[str, Any]) -> None:
        out.print(f"  {mark(row['outcome'], 18)} {row['action']:<21} {row['target']}", markup=True)

    offboarding.listeners.append(show)
    try:
        state = offboarding.offboard_employee(
            employee_id, registry_path=str(reg.path), dry_run=dry_run, revoke_now=now, return_state=True
        )
    finally:
        offboarding.listeners.remove(show)
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        handle_failure(result)
    print_summary(out, result)
    raise typer.Exit(EXIT_OK if dry_run else exit_code(result))


def check_employee(reg: Any, employee_id: str) -> None:
    """Read the HR record before Prefect starts: a typo costs a second, not a server start."""
    from connectors.errors import ConfigurationError, ConnectorError, NotFound
    from schemas import SchemaError, check

    try:
        check("employee", reg.hr().employee(employee_id), f"HR record of employee {employee_id}")
    except (NotFound, ConfigurationError, SchemaError) as exc:
        fail(str(exc))
    except ConnectorError as exc:
        fail(f"cannot read the HR record: {exc}", EXIT_FAILURE)


def handle_failure(error: BaseException) -> NoReturn:
    from connectors.errors import ConfigurationError, ConnectorError, NotFound
    from schemas import SchemaError

    if isinstance(error, NotFound):
        fail(str(error))
    if isinstance(error, (ConfigurationError, SchemaError)):
        fail(str(error))
    if isinstance(error, ConnectorError):
        fail(f"{error} (nothing after this step ran; rerun when it is fixed)", EXIT_FAILURE)
    fail(f"unexpected {type(error).__name__}: {error}", EXIT_FAILURE)


def print_summary(out: Any, summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"{'Plan' if summary['dry_run'] else 'Outcomes'} for {summary['employee_name']} "
                  f"({summary['employee_id']})", show_lines=False)
    table.add_column("target")
    table.add_column("action")
    table.add_column("outcome")
    for row in summary["rows"]:
        table.add_row(row["target"], row["action"], mark(row["outcome"]))
    out.print(table)
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(summary["counts"].items()))
    out.print(f"Outcomes: {counts}.")
    if summary["open"]:
        out.print(f"[yellow]{summary['open']} action(s) need a person[/]: see `relevo audit` or the Prefect artifact.")
    out.print(f"Drafts: {summary['drafts']}\nAudit log: {summary['audit']}")
    if summary["dry_run"]:
        out.print("[cyan]Dry run: nothing was changed and nothing was recorded.[/]")


@app.command()
def audit(
    registry: RegistryOption = Path("relevo.yaml"),
    employee: Annotated[str | None, typer.Option("--employee", "-e", help="Only this employee.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line (schemas/outcome.schema.json).")] = False,
) -> None:
    """Print the audit log: every outcome relevo recorded, newest last."""
    from flows.ledger import Ledger

    reg = load(registry)
    rows = Ledger(reg.database_url).audit(employee)
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    out = console()
    if not rows:
        out.print("No outcomes recorded yet.")
        return
    for row in rows:
        out.print(f"{row['at'][:19]}  {row['employee_id']:<8} {mark(row['outcome'], 18)} "
                  f"{row['action']:<20} {row['target']}\n    {row['detail']}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
