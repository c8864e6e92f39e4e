"""What a run reports: the dry-run view of a plan, the counts, the artifact while it runs, the HR note."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from relevo.config.registry import Registry
from relevo.connectors.errors import ConnectorError
from relevo.connectors.protocols import WritesNotes
from relevo.engine import runview
from relevo.engine.execute import Run, suggested_fix
from relevo.engine.steps import in_flow_run, log, tell
from relevo.model import FINISHED, NEEDS_PERSON, ConfigurationError
from relevo.rules import notices
from relevo.rules.plan import Action, Plan


def expected_outcome(registry: Registry | None, action: Action, by_hand: set[str]) -> tuple[str, str]:
    """(outcome, detail) a real run would record, as far as it is known without calling anyone.

    A step the presence's connector can only leave to a person (`by_hand`), and a removal that waits
    for such an add-admin step, are "manual" in the dry run too; a call relevo would make is "planned".
    """
    if action.outcome:
        return action.outcome, action.description
    presence = action.presence
    if registry is not None and presence is not None:
        try:
            manual = action.action in getattr(registry.social(presence), "by_hand", frozenset())
        except (ConfigurationError, ConnectorError):
            manual = False  # the real run fails the same way, on the call
        if manual:
            return "manual", f"by hand: {action.description}"
    if action.after and action.after in by_hand:
        return "manual", f"waits for the add-admin step by hand: {action.description}"
    return "planned", action.description


def progress(run: Run, stage: str, waiting: list[Action] | None = None) -> None:
    """Publish the run's report while it runs: recorded outcomes, then the plan for the steps still ahead
    (`waiting`: notices that are in this run's approval form now)."""
    if run.direct or not run.plan_rows or not in_flow_run():
        return
    latest = {r["action_key"]: r for r in run.rows}
    asked = {a.key for a in waiting or []}
    rows = []
    for planned in run.plan_rows:
        row = latest.pop(planned["action_key"], None)
        if row is None and planned["action_key"] in asked:
            row = {**planned, "outcome": "awaiting_approval", "detail": "in this run's approval form"}
        rows.append(row or planned)
    rows += [r for r in latest.values()]
    rows += [
        {**planned_row(a), "outcome": "awaiting_approval", "detail": "in this run's approval form"}
        for a in waiting or []
        if a.key not in {r["action_key"] for r in rows}
    ]
    try:
        publish(summarize(run.employee, rows, False, run.registry), stage)
    except Exception as exc:  # the Prefect API: the run's work goes on; the final report follows
        log().warning("Could not publish the progress report (%s)", type(exc).__name__)


def planned_row(action: Action) -> dict[str, Any]:
    return {
        "action_key": action.key,
        "action": action.action,
        "target": action.target,
        "outcome": "planned",
        "detail": action.description,
    }


def plan_only(the_plan: Plan, registry: Registry | None = None, quiet: bool = False) -> list[dict[str, Any]]:
    """Dry run rows: what a real run would do, written nowhere but the artifact and the screen."""
    rows = []
    by_hand: set[str] = set()
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
    for action in the_plan.actions:
        outcome, detail = expected_outcome(registry, action, by_hand)
        if outcome == "manual":
            by_hand.add(action.key)
        row = {
            "at": stamp,
            "employee_id": the_plan.employee["id"],
            "action_key": action.key,
            "action": action.action,
            "target": action.target,
            "outcome": outcome,
            "detail": detail,
            "dry_run": True,
            "run_id": None,
            "event_key": None,
        }
        if not quiet:
            tell(row)
        rows.append(row)
    return rows


def write_hr_note(run: Run) -> dict[str, Any] | None:
    """Step 6c: the outcome report back in the HR record, from the ledger, once per distinct report.

    Written from the ledger rather than from this run's rows, so the report is whole and
    stable: a rerun that finds everything done (and the clients already handed over) writes
    nothing new, and an approval or a finished manual task gives a new report.
    """
    if not run.registry.policy.write_hr_note or run.withdrawn():
        return None
    title, text = notices.hr_note(
        run.employee,
        run.ledger.outcomes(run.employee["id"]),
        run.registry,
        markdown=getattr(run.registry.hr(), "writes_markdown", False),
    )
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    action = Action(
        key=f"{run.employee['id']}:hr_note:{digest}",
        action="hr_note",
        target=f"HR record {run.employee['id']}",
        phase="record",
        description="outcome report",
    )
    if (state := run.ledger.state(action.key)) is not None and state.status in FINISHED:
        return None
    hr = run.registry.hr()
    if not isinstance(hr, WritesNotes):  # Factorial: relevo has no documented place to write it there
        if run.ledger.state(action.key) is None:
            return run.record(
                action,
                "skipped",
                f"not written to the HR record: the {type(hr).__name__} "
                "connector has no place for relevo's report; the audit log and this run's report "
                "hold it (set policy.write_hr_note: false to stop this line)",
            )
        return None
    try:
        where = hr.write_note(run.employee["id"], title, text, run.registry.output_dir)
    except ConnectorError as exc:
        return run.record(action, "failed", f"{exc} | fix: {suggested_fix(exc)}")
    return run.record(action, "done", f"report written to {where}")


def tally(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Outcome -> how many rows have it."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    return counts


def summarize(
    employee: dict[str, Any], rows: list[dict[str, Any]], dry_run: bool, registry: Registry
) -> dict[str, Any]:
    counts = tally(rows)
    open_items = sum(counts.get(k, 0) for k in NEEDS_PERSON)
    return {
        "employee_id": employee["id"],
        "employee_name": employee["name"],
        "dry_run": dry_run,
        "counts": counts,
        "open": open_items,
        "failed": counts.get("failed", 0),
        "rows": rows,
        "drafts": registry.drafts().location,
        "audit": str(registry.output_dir / "audit.jsonl"),
    }


def publish(summary: dict[str, Any], stage: str = "") -> None:
    """Step 6b: the run's report as Prefect artifacts (see `runview.publish`)."""
    runview.publish(summary, stage)
