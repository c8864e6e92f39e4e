"""The `relevo` command: its commands, each one function with its options.

The commands stay together in this one module so that it reads as `relevo --help` does; what
they print is in relevo.cli.output, how they run a flow and check input in relevo.cli.running.

Prefect is imported only by commands that run a flow, so `--help`, `audit` and
`inbox` start instantly. Every expected problem (bad registry, unknown employee,
missing secret) ends in one line naming it and exit code 2, never a traceback.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from relevo.cli.output import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_OPEN,
    SERVERLESS,
    console,
    esc,
    exit_code,
    fail,
    mark,
    print_batch,
    print_summary,
    row_printer,
)
from relevo.cli.running import (
    check_approval,
    check_employee,
    check_no_form_holds,
    check_rejections,
    clean_id,
    load,
    os_user,
    quiet_prefect,
    resume_gc,
    run_showing,
)
from relevo.cli.uiruns import ui_approvals
from relevo.model import TASKS, Status


class Relevo(typer.Typer):
    """The `relevo` command, with Python's cycle collector paused while a command starts.

    Start-up builds ~100,000 objects that live until exit (typer's pydantic, SQLAlchemy, jsonschema) and
    frees almost none: the collector's ~150 passes over them were 35 ms of a 0.47 s `relevo audit`. A short
    command ends before garbage cycles matter; one that keeps running calls `resume_gc()` after its imports.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        gc.disable()
        try:
            return super().__call__(*args, **kwargs)
        finally:
            resume_gc()


app = Relevo(
    name="relevo",
    help="Offboarding automation: revoke company social access, draft client notices, prove what was done.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

RegistryOption = Annotated[
    Path, typer.Option("--registry", "-r", envvar="RELEVO_REGISTRY", help="The company's relevo.yaml.")
]
# The options `offboard` and `layoff` share, said the same way in both.
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")]
NowOption = Annotated[
    bool, typer.Option("--now", help="Revoke at once even where a last working day is ahead.")
]
ForcedByOption = Annotated[
    str | None, typer.Option("--by", help="Who asks (recorded with --force); default: your login name.")
]


@app.command()
def offboard(
    employee_id: Annotated[str, typer.Argument(help="The HR platform's employee id.")],
    registry: RegistryOption = Path("relevo.yaml"),
    dry_run: DryRunOption = False,
    now: NowOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Offboard even though the HR record shows no termination "
            "(status active, no termination date); recorded in the audit with who asked.",
        ),
    ] = False,
    by: ForcedByOption = None,
) -> None:
    """Offboard one employee now (or show the plan with --dry-run).

    Refused (exit 2, nothing done) when the HR record shows no termination, unless --force.
    """
    employee_id = clean_id(employee_id)
    reg = load(registry)
    employee = check_employee(reg, employee_id)
    from relevo.engine.gate import refusal

    if (refused := refusal(employee)) is not None and not force:
        fail(refused)
    out = console()
    out.print(
        f"[bold]relevo[/] offboarding employee [bold]{esc(employee_id)}[/] of {esc(reg.company.name)}"
        + (" [cyan](dry run: nothing will change)[/]" if dry_run else "")
    )
    quiet_prefect()
    if not os.environ.get("PREFECT_API_URL"):
        out.print(SERVERLESS)
    from relevo import offboarding

    result = run_showing(
        row_printer(out),
        offboarding.offboard_employee,
        employee_id,
        registry_path=str(reg.path),
        dry_run=dry_run,
        revoke_now=now,
        wait_for_approval=False,  # no one answers a UI form from a terminal: `relevo approve` does
        force=force,
        requested_by=(by or os_user()) if force else None,
    )
    print_summary(out, result, reg.timezone)
    if any(r["outcome"] == "awaiting_approval" for r in result["rows"]):
        out.print(
            f"[yellow]Client notices await approval[/] (nothing sent, CRM unchanged). Review them with "
            f"`relevo tasks -e {esc(employee_id)}`, then: relevo approve {esc(employee_id)} --registry "
            f"{esc(reg.path)} {esc('[--reject KEY_OR_EMAIL ...]')}",
            markup=True,
        )
    raise typer.Exit(EXIT_OK if dry_run else exit_code(result))


@app.command()
def layoff(
    employee_ids: Annotated[list[str] | None, typer.Argument(help="Employee ids (or use --file).")] = None,
    registry: RegistryOption = Path("relevo.yaml"),
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A file with one employee id per line.")
    ] = None,
    dry_run: DryRunOption = False,
    now: NowOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Offboard even those whose HR record shows no termination; "
            "each recorded in the audit with who asked.",
        ),
    ] = False,
    by: ForcedByOption = None,
) -> None:
    """Offboard many employees in one run: each presence is listed once, vendors set the pace.

    Refused as a whole (exit 2, nothing done) when an HR record in the list shows no termination, unless --force.
    """
    from relevo.rules.inputs import BadInput
    from relevo.rules.inputs import employee_ids as parse_ids

    given = list(employee_ids or [])
    if file is not None:
        try:
            given.append(file.read_text("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{file}: cannot read the list of employees ({type(exc).__name__})")
    try:
        ids = parse_ids(given)
    except BadInput as exc:
        fail(f"{exc} (as arguments or with --file)")
    reg = load(registry)
    out = console()
    out.print(
        f"[bold]relevo[/] layoff of {len(ids)} employee(s) of {esc(reg.company.name)}"
        + (" [cyan](dry run: nothing will change)[/]" if dry_run else "")
    )
    quiet_prefect()
    if not os.environ.get("PREFECT_API_URL"):
        out.print(SERVERLESS)
    from relevo import layoff as batch

    def show(row: dict[str, Any]) -> None:
        if row["outcome"] in TASKS:
            out.print(
                f"  {mark(row['outcome'], 10)} {esc(row['employee_id']):<8} {esc(row['action']):<20} "
                f"{esc(row['target'])}"
            )

    result = run_showing(
        show,
        batch.offboard_batch,
        ids,
        registry_path=str(reg.path),
        dry_run=dry_run,
        revoke_now=now,
        force=force,
        requested_by=(by or os_user()) if force else None,
    )
    print_batch(out, result)
    for problem in result["problems"]:
        print(
            f"relevo: error: employee {problem['employee_id']} not offboarded: {problem['problem']}",
            file=sys.stderr,
        )
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(result["counts"].items()))
    out.print(f"{result['employees']} employee(s) processed. Outcomes: {counts or 'none'}.")
    if result["open"] and not dry_run:
        out.print(
            f"[yellow]{result['open']} item(s) need a person[/]: relevo tasks --registry {esc(reg.path)}"
        )
    if result["problems"]:  # the others went on; an id that could not be offboarded is bad input
        raise typer.Exit(EXIT_BAD_INPUT)
    raise typer.Exit(EXIT_OK if dry_run else exit_code(result))


@app.command()
def audit(
    registry: RegistryOption = Path("relevo.yaml"),
    employee: Annotated[str | None, typer.Option("--employee", "-e", help="Only this employee.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line (schemas/outcome.schema.json).")
    ] = False,
) -> None:
    """Print the audit log: every outcome relevo recorded, newest last."""
    reg = load(registry)
    from relevo.storage.ledger import (
        Ledger,  # after the registry: a wrong one is reported without importing SQLAlchemy
    )

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
        out.print(
            f"{row['at'][:19]}  {esc(row['employee_id']):<8} {mark(row['outcome'], 18)} "
            f"{esc(row['action']):<20} {esc(row['target'])}\n    {esc(row['detail'])}"
        )


webhook_app = typer.Typer(help="The HR webhook receiver.", no_args_is_help=True)
app.add_typer(webhook_app, name="webhook")


@webhook_app.command("serve")
def webhook_serve(
    registry: RegistryOption = Path("relevo.yaml"),
    host: Annotated[str, typer.Option(help="Address to listen on (put a TLS proxy in front).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8088,
    worker_registry: Annotated[
        str | None,
        typer.Option(
            "--worker-registry",
            help="The registry's path on the workers, sent with every run. Default: none is "
            "sent; each worker uses its RELEVO_REGISTRY, else relevo.yaml in its working directory.",
        ),
    ] = None,
    gather: Annotated[
        float,
        typer.Option(
            "--gather",
            min=0,
            max=600,
            help="Terminations arriving together become one batch run (every presence listed once "
            "for all): wait until none came for this many seconds, at most --gather-window after the first. "
            "0: one run per termination.",
        ),
    ] = 2.0,
    gather_window: Annotated[
        float,
        typer.Option("--gather-window", min=0, max=3600, help="The longest a termination waits for others."),
    ] = 30.0,
) -> None:
    """Receive the HR platforms' webhooks, store them, and start the Prefect deployments.

    Refuses to start (exit 2) without PREFECT_API_URL or without a configured webhook's secret.
    """
    from relevo.model import ConfigurationError

    reg = load(registry)
    quiet_prefect()
    from relevo.receiver import webhook
    from relevo.storage.db import masked

    try:
        webhook.preflight(reg)
        url = reg.owned_database_url()
    except ConfigurationError as exc:
        fail(str(exc))
    resume_gc()
    print(
        f"relevo: receiving webhooks for {reg.company.name} on http://{host}:{port}/webhooks/... "
        f"(inbox in {masked(url)})",
        file=sys.stderr,
    )
    webhook.serve(reg.path, host, port, worker_registry, gather, gather_window)


@app.command()
def inbox(
    registry: RegistryOption = Path("relevo.yaml"),
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="First delete dispatched events whose run was seen final "
            "and that are older than storage.inbox_retention_days.",
        ),
    ] = False,
) -> None:
    """List the webhook events received, with their state, and the counts per state."""
    from collections import Counter

    from relevo.model import ConfigurationError
    from relevo.storage.inbox import Inbox

    reg = load(registry)
    try:
        box = Inbox(reg.database_url)
    except ConfigurationError as exc:
        fail(str(exc))
    out = console()
    if prune:
        prune_inbox(reg, box, out)
    events = box.events()
    if not events:
        out.print("No termination events received yet.")
    together = Counter(e.flow_run_id for e in events if e.flow_run_id)  # terminations gathered in one run
    for event in events:
        run = f" run {event.flow_run_id}" if event.flow_run_id else ""
        run += f" ({event.run_state.lower()})" if event.run_state else ""
        shared = together[event.flow_run_id] if event.flow_run_id else 0
        run += f", a batch of {shared}" if shared > 1 else ""
        error = (
            f"\n    last error (attempt {event.attempts}): {event.last_error}"
            if event.last_error and event.state == "pending"
            else f"\n    {event.last_error}"
            if event.last_error
            else ""
        )
        out.print(
            f"{event.received_at[:19]}  {event.state:<10} {event.vendor:<9} {event.kind:<10} "
            f"employee {event.employee_id}{run}\n    {event.event_key}{error}",
            markup=False,
        )
    totals = box.counts()
    out.print(", ".join(f"{v} {k}" for k, v in totals.items()) + ".", markup=False)
    for row in box.reasons():
        out.print(
            f"  {row['outcome']:<8} {row['vendor']:<9} {row['reason']:<28} {row['count']}", markup=False
        )


def prune_inbox(reg: Any, box: Any, out: Any) -> None:
    """`relevo inbox --prune`: what the receiver's dispatcher does hourly, by hand."""
    from datetime import timedelta

    cutoff = datetime.now(UTC) - timedelta(days=reg.inbox_retention_days)
    removed = box.prune(cutoff)
    out.print(
        f"Pruned {removed} finished event(s) older than {reg.inbox_retention_days:g} days.", markup=False
    )


@app.command()
def tasks(
    registry: RegistryOption = Path("relevo.yaml"),
    employee: Annotated[str | None, typer.Option("--employee", "-e", help="Only this employee.")] = None,
) -> None:
    """List what waits for a person: manual steps, failures, drafts awaiting approval."""
    from relevo.storage.inbox import STUCK, Inbox
    from relevo.storage.ledger import Ledger, task_steps

    url = load(registry).database_url
    rows = Ledger(url).open_actions(employee)
    stuck = [e for e in Inbox(url).events() if e.state == STUCK and employee in (None, e.employee_id)]
    out = console()
    paused = ui_approvals(employee)
    for run in paused:
        out.print(
            f"{mark('awaiting_approval', 18)} [bold]approval form of run {esc(run.run_name)}[/] (employee "
            f"{esc(run.employee_id)}, {run.how} in the Prefect UI)\n    {esc(run.url)}\n    answer it there, or: "
            f"relevo approve {esc(run.employee_id)} --by 'your name' [--reject KEY_OR_EMAIL ...]",
            markup=True,
        )
    if not rows and not stuck and not paused:
        out.print("Nothing waits for a person.")
        return
    from rich.markup import escape

    for event in stuck:  # HR data: escaped, never read as Rich markup
        out.print(
            f"{mark('stuck', 18)} employee {escape(event.employee_id)}: its run never finished (relevo inbox)\n"
            f"    event: {escape(event.event_key)}\n    {escape(event.last_error or '')}"
        )
    for row in rows:
        detail, steps = task_steps(row)
        out.print(
            f"{mark(row['status'], 18)} [bold]{esc(row['target'])}[/] ({esc(row['action'])})\n"
            f"    key: {esc(row['key'])}\n    {esc(detail)}"
        )
        for number, step in enumerate(steps, 1):
            out.print(f"      {number}. {step}", markup=False)
    out.print(f"\nWhen a task is done: relevo done KEY --by 'your name' --registry {registry}", markup=False)


@app.command()
def done(
    key: Annotated[str, typer.Argument(help="The action key shown by `relevo tasks`.")],
    by: Annotated[str, typer.Option("--by", help="Who did it (recorded in the audit log).")],
    registry: RegistryOption = Path("relevo.yaml"),
    note: Annotated[str, typer.Option("--note", help="What was done, for the record.")] = "",
) -> None:
    """Record that a person finished a manual task; the next run treats it as done."""
    from relevo.storage.ledger import Ledger

    ledger = Ledger(load(registry).database_url)
    state = ledger.state(key)
    if state is None:
        fail(f"no action with key {key!r} (see `relevo tasks`)")
    rows = [r for r in ledger.open_actions() if r["key"] == key]
    if not rows:
        fail(f"action {key!r} is not open (it is {state.status})")
    row = rows[0]
    if row["status"] == "awaiting_approval":
        fail(
            f"action {key!r} awaits approval: use `relevo approve {row['employee_id']}` (it places the draft)"
        )
    detail = f"closed by {by}" + (f": {note}" if note else "")
    ledger.finish(
        key=key,
        employee_id=row["employee_id"],
        action=row["action"],
        target=row["target"],
        outcome="done",
        detail=detail,
    )
    console().print(f"{mark('done')} {esc(row['target'])} ({esc(row['action'])}): {esc(detail)}")


@app.command()
def approve(
    employee_id: Annotated[str, typer.Argument(help="The employee whose client notices await approval.")],
    registry: RegistryOption = Path("relevo.yaml"),
    reject: Annotated[
        list[str] | None,
        typer.Option("--reject", help="A draft key or recipient e-mail to leave out (repeatable)."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Who approves (recorded in the audit log with your OS "
            "login name); default: your login name.",
        ),
    ] = None,
    successor: Annotated[
        str | None,
        typer.Option(
            "--successor",
            help="Introduce this employee instead (their HR "
            "id; must be an active employee): the drafts are rendered for "
            "them and placed.",
        ),
    ] = None,
) -> None:
    """Approve the client notices awaiting approval: place the drafts and reassign the CRM.

    Only the version a person could review is placed: drafts whose data changed since (HR record, CRM)
    are rendered again for review instead, and the command exits 3.
    """
    employee_id = clean_id(employee_id)
    reg = load(registry)
    check_employee(reg, employee_id)
    check_approval(reg, employee_id, successor)
    check_rejections(reg, employee_id, reject or [])
    user = os_user()
    out = console()
    quiet_prefect()
    if paused := ui_approvals(employee_id):  # the run waits in the UI: answer its form; it places the drafts
        from prefect.exceptions import FlowPauseTimeout, NotPausedError

        from relevo.cli.uiruns import answer

        if len(paused) > 1:
            fail(
                f"{len(paused)} runs of employee {employee_id} wait for approval "
                f"({', '.join(r.url for r in paused)}): answer each in the Prefect UI; nothing was approved"
            )
        for run in paused:
            try:
                answer(run, f"{by or user} (as given; OS user {user})", reject or [], successor or "")
            except (NotPausedError, FlowPauseTimeout):
                fail(
                    f"the approval form of run {run.url} was answered or timed out meanwhile: see "
                    f"`relevo tasks -e {employee_id}`; nothing was approved by this command"
                )
            if successor:
                out.print(
                    f"Answered the approval form of run {esc(run.run_name)} ({esc(run.url)}): successor "
                    f"{esc(successor)}; the run shows the drafts for them again in its form."
                )
            else:
                out.print(
                    f"Answered the approval form of run {esc(run.run_name)} ({esc(run.url)}): approved"
                    + (f" except {esc(', '.join(reject))}" if reject else "")
                    + ". The run places the drafts "
                    + (
                        "once a worker starts it again (or shows the form again if they changed meanwhile)."
                        if run.how == "suspended"
                        else "now."
                    )
                )
        raise typer.Exit(EXIT_OK)
    check_no_form_holds(reg, employee_id)
    from relevo import offboarding

    result = run_showing(
        row_printer(out),
        offboarding.approve_notices,
        employee_id,
        registry_path=str(reg.path),
        reject=reject or [],
        approved_by=by or user,
        actor=f"OS user {user}",
        successor_id=successor or "",
    )
    if result.get("changed"):
        from rich.markup import escape

        print_summary(out, result)
        out.print(
            f"[yellow]{result['changed']} draft(s) changed since they were shown for approval[/] (the HR "
            "record or the CRM changed): nothing was placed; they are rendered again. Review them "
            f"(`relevo tasks -e {escape(employee_id)}`), then run relevo approve again."
        )
        raise typer.Exit(EXIT_OPEN)
    if not result["rows"]:
        out.print(f"Nothing awaits approval for employee {employee_id}.", markup=False)
        raise typer.Exit(EXIT_OK)
    print_summary(out, result)
    raise typer.Exit(exit_code(result))


@app.command()
def sweep(
    registry: RegistryOption = Path("relevo.yaml"),
    days: Annotated[
        int, typer.Option("--days", min=1, max=3650, help="Check everyone offboarded in the last DAYS days.")
    ] = 30,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report access that came back; change nothing.")
    ] = False,
) -> None:
    """Check that access removed by relevo stays removed: list each presence once, remove what came back."""
    reg = load(registry)
    out = console()
    out.print(
        f"[bold]relevo[/] sweep of the last {days} day(s) of leavers of {esc(reg.company.name)}"
        + (" [cyan](dry run: nothing will change)[/]" if dry_run else "")
    )
    quiet_prefect()
    from relevo import sweep as sweeping

    result = run_showing(
        row_printer(out), sweeping.sweep_access, registry_path=str(reg.path), days=days, dry_run=dry_run
    )
    out.print(
        f"{result['leavers']} leaver(s) checked on {result['presences_listed']} listed presence(s); "
        f"access came back {result['came_back']} time(s); {result['unmatched_tasks']} presence(s) have members "
        "matching no employee in HR"
        + ("" if result["roster_checked"] else " (not checked: see the log)")
        + "."
    )
    if dry_run:
        for row in result["rows"]:
            out.print(f"  {esc(row['detail'])}")
    open_rows = [r for r in result["rows"] if r["outcome"] in TASKS | {Status.SCHEDULED, Status.PLANNED}]
    raise typer.Exit(EXIT_OPEN if result["came_back"] or open_rows else EXIT_OK)


@app.command()
def reconcile(
    registry: RegistryOption = Path("relevo.yaml"),
    since: Annotated[
        str | None,
        typer.Option("--since", help="Look back to this ISO 8601 time instead of the stored cursor."),
    ] = None,
) -> None:
    """Poll the HR platform for terminations and withdrawals no webhook reported; queue them like a webhook."""

    if since is not None:
        try:
            datetime.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r} is not an ISO 8601 time (e.g. 2026-11-20T00:00:00+00:00)")
    reg = load(registry)
    quiet_prefect()
    from relevo.connectors.errors import ConnectorError
    from relevo.model import ConfigurationError
    from relevo.reconcile import reconcile_once

    try:
        result = reconcile_once(reg, since)
    except ConfigurationError as exc:
        fail(str(exc))
    except ConnectorError as exc:
        fail(f"the HR platform could not be polled: {exc}", EXIT_FAILURE)
    out = console()
    out.print(
        f"HR changes since {esc(result['since'])}: {result['changed']} employee(s); "
        f"{len(result['stored'])} new event(s) queued, {len(result['found']) - len(result['stored'])} already known."
    )
    for key in result["stored"]:
        out.print(f"  {esc(key)}: no webhook reported it")
    if result["stored"]:
        out.print(
            "The receiver's dispatcher (relevo webhook serve) starts their runs; `relevo inbox` shows them."
        )
    disabled = []
    if hasattr(reg.hr(), "disabled_subscriptions"):  # Factorial disables one after 48 h of failed deliveries
        try:
            disabled = reg.hr().disabled_subscriptions()
        except ConnectorError as exc:
            out.print(f"[yellow]Could not read the HR platform's webhook subscriptions: {esc(str(exc))}[/]")
    for row in disabled:
        out.print(
            f"[red]The HR platform disabled webhook subscription {esc(str(row.get('id')))} "
            f"({esc(str(row.get('type', row.get('subscription_type'))))})[/]: its events are no longer sent; "
            "fix the receiver, then `relevo doctor --reenable-webhooks`."
        )
    raise typer.Exit(EXIT_OPEN if result["stored"] or disabled else EXIT_OK)


@app.command()
def doctor(
    registry: RegistryOption = Path("relevo.yaml"),
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: exit_code and every finding.")
    ] = False,
    reenable_webhooks: Annotated[
        bool,
        typer.Option(
            "--reenable-webhooks",
            help="Re-enable termination webhook subscriptions the HR platform disabled "
            "(Factorial). The only change doctor ever makes, and only with this flag.",
        ),
    ] = False,
) -> None:
    """Check a registry against the live vendors: secrets, authenticated reads, API versions, webhooks.

    Exit 0: all fine. 3: something needs a person (a refused credential, a version near its end, a
    disabled subscription). 2: a secret or setting is missing. Reads only, unless --reenable-webhooks.
    """

    from relevo.cli import doctor as checks

    reg = load(registry)
    findings, code = checks.run(reg, datetime.now(UTC).date(), reenable_webhooks=reenable_webhooks)
    if as_json:
        sys.stdout.write(json.dumps(checks.as_json(findings, code), ensure_ascii=False) + "\n")
        raise typer.Exit(code)
    out = console()
    styles = {"ok": "green", "warning": "yellow", "error": "bold red"}
    for finding in findings:
        out.print(
            f"[{styles[finding.level]}]{finding.level:<8}[/] {esc(finding.subject):<22} {esc(finding.text)}"
        )
    verdict = {
        EXIT_OK: "ready",
        EXIT_OPEN: "needs a person (see the warnings and errors above)",
        EXIT_BAD_INPUT: "a secret or setting is missing",
    }[code]
    out.print(f"\nrelevo doctor: {verdict}")
    raise typer.Exit(code)
