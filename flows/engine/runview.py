"""What an operator sees of a run in the Prefect UI: its name, tags, step states and summary line.

Pure helpers plus two thin Prefect calls, kept apart from the flows so the rules are tested
without a server. HR and registry data are untrusted: every label made from them is one line,
without control or bidi-override characters, and short.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

from relevo.model import TASKS

KIND = {"involuntary": "dismissal", "voluntary": "resignation"}
NEEDS_A_PERSON = "Needs a person"
# Rows about who can still get into a company presence; a presence's access is removed only when
# every one of them is done (a shared login is not closed until its password is rotated).
ACCESS_ACTIONS = {"revoke_role", "add_admin", "rotate_credentials", "manual_task"}
REMOVED = {"done", "already_done"}


def label(text: Any, limit: int = 60) -> str:
    """One printable line of at most `limit` characters: control, format (bidi) and separator
    characters become spaces, runs of spaces one space, and a long text ends in an ellipsis."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in str(text or ""))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def run_name(employee_id: str, employee: dict[str, Any] | None = None, verb: str = "offboard") -> str:
    """`offboard 1001 · Laura Martínez · dismissal` (only the id until the HR record is read)."""
    parts = [f"{verb} {label(employee_id, 64)}"]
    if employee:
        parts.append(label(employee.get("name"), 60))
        kind = ((employee.get("termination") or {}).get("type")) or ""
        if kind:
            parts.append(KIND.get(kind, label(kind, 20)))
    return " · ".join(p for p in parts if p)


def employee_tag(employee_id: str) -> str:
    """The tag that finds every run of one employee (`employee:1001`)."""
    return f"employee:{label(employee_id, 64).replace(' ', '_')}"


def task_name(verb: str, target: str) -> str:
    """`revoke · Acme Comunicación (Facebook Page)`: a step named after what it acts on."""
    return f"{verb} · {label(target, 80)}"


TAGGED_AT_MOST = 200  # a batch with more people carries no employee tags (the UI shows every tag)


def name_current_run(name: str, tag: str, *more: str) -> None:
    """Rename the running flow run and add the employee tag (a deployment run started from the UI
    or a webhook is created before the HR record is read); a batch adds its employees' tags (`more`),
    so searching the runs page for an id finds the batch too. Best effort: a label never fails a run."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    if not flow_run.id:
        return
    try:
        with get_client(sync_client=True) as client:
            tags = sorted(set(flow_run.tags or []) | {tag} | set(more))
            client.update_flow_run(flow_run.id, name=name, tags=tags)
    except Exception as exc:  # the Prefect API: the run goes on under its first name
        from prefect import get_run_logger

        get_run_logger().warning("Could not rename the run (%s)", type(exc).__name__)


def access(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """(presences whose access is removed, presences where the leaver had access), from outcome rows.

    A dry run's rows count what relevo would remove itself ("planned").
    """
    by_presence: dict[str, set[str]] = {}
    for row in rows:
        if row["action"] in ACCESS_ACTIONS:
            by_presence.setdefault(row["target"], set()).add(row["outcome"])
    removed = sum(1 for outcomes in by_presence.values() if outcomes <= REMOVED | {"planned"})
    return removed, len(by_presence)


def headline(rows: list[dict[str, Any]], dry_run: bool = False) -> str:
    """ "Access removed on N of M presences; K tasks for a person", then notices, in one line."""
    removed, total = access(rows)
    people = sum(1 for r in rows if r["outcome"] in TASKS)
    scheduled = {r["target"] for r in rows if r["action"] in ACCESS_ACTIONS and r["outcome"] == "scheduled"}
    waiting = sum(1 for r in rows if r["outcome"] == "awaiting_approval")
    drafted = sum(1 for r in rows if r["action"] == "draft_notice" and r["outcome"] in REMOVED | {"planned"})
    verb = "Dry run: relevo would remove access on" if dry_run else "Access removed on"
    parts = [
        f"{verb} {removed} of {total} presence{'s' if total != 1 else ''}",
        f"{people} task{'s' if people != 1 else ''} for a person",
    ]
    if scheduled:
        parts.append(f"{len(scheduled)} presence(s) scheduled for the last working day")
    if waiting:
        parts.append(f"{waiting} notice(s) await approval")
    elif drafted:
        parts.append(f"{drafted} notice(s) {'to draft' if dry_run else 'drafted'}")
    return "; ".join(parts)


def final_state(summary: dict[str, Any]) -> Any:
    """The flow run's final state: Completed, named "Needs a person" when something waits for a person,
    with the headline as its message (the run's header in the UI shows it)."""
    from prefect.states import Completed

    message = headline(summary["rows"], summary["dry_run"])
    name = "Dry run" if summary["dry_run"] else NEEDS_A_PERSON if summary["open"] else "Completed"
    return Completed(name=name, message=message, data=summary)


def step_state(value: Any, needs_person: bool, message: str = "") -> Any:
    """A task's return value, as a grey Cancelled-type state named "Needs a person" when the step is
    left to a person (see `attempt` for why this state type), else the plain value (green Completed)."""
    if not needs_person:
        return value
    from prefect.states import Cancelled

    demote_needs_a_person()
    return Cancelled(name=NEEDS_A_PERSON, message=label(message, 300), data=value)


class NeedsAPersonIsAWarning(logging.Filter):
    """Prefect logs every task that does not end Completed at ERROR ("Finished in state Needs a person"):
    a step left to a person is expected work, not an error, so that line is logged as a WARNING
    (the run's log in the UI and any automation on ERROR logs then see real errors only)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and f"Finished in state {NEEDS_A_PERSON}(" in record.getMessage():
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def demote_needs_a_person() -> None:
    """Install `NeedsAPersonIsAWarning` on Prefect's task-run logger, once per process."""
    logger = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, NeedsAPersonIsAWarning) for f in logger.filters):
        logger.addFilter(NeedsAPersonIsAWarning())


NOTICE_ACTIONS = {"draft_notice", "reassign_crm"}
SHOWN = {
    "done": "done",
    "already_done": "already done",
    "manual": "NEEDS A PERSON",
    "failed": "FAILED",
    "awaiting_approval": "awaiting approval",
    "planned": "relevo will do it",
    "scheduled": "scheduled",
    "not_touched": "not touched",
    "rejected": "rejected",
}


def artifact_key(employee_id: str, dry_run: bool) -> str:
    """`offboarding-1001`, and `offboarding-1001-dry-run` for a dry run: the latest real outcome is never a plan."""
    safe = "".join(c if c.isascii() and c.isalnum() else "-" for c in employee_id.lower())[:64]
    return f"offboarding-{safe}" + ("-dry-run" if dry_run else "")


def artifact_markdown(summary: dict[str, Any], stage: str = "") -> str:
    """The run's report: the access headline first, then access per presence, notices, records."""
    from relevo.engine.approval import md

    rows = summary["rows"]
    title = "Dry run (nothing changed)" if summary["dry_run"] else "Offboarding"
    lines = [f"# {title}: {md(summary['employee_name'])} ({md(summary['employee_id'])})", ""]
    if stage:
        lines += [f"_{stage}_", ""]
    lines += [f"**{headline(rows, summary['dry_run'])}.**", ""]

    def table(heading: str, chosen: list[dict[str, Any]]) -> None:
        if not chosen:
            return
        lines.extend([f"## {heading}", "", "| where | step | outcome | detail |", "|---|---|---|---|"])
        for r in chosen:
            detail = md(r["detail"][:400] + ("…" if len(r["detail"]) > 400 else ""))
            lines.append(
                f"| {md(r['target'])} | {r['action'].replace('_', ' ')} | "
                f"{SHOWN.get(r['outcome'], r['outcome'])} | {detail} |"
            )
        lines.append("")

    table("Access", sorted((r for r in rows if r["action"] in ACCESS_ACTIONS), key=lambda r: r["target"]))
    table("Client notices and hand-overs", [r for r in rows if r["action"] in NOTICE_ACTIONS])
    table("Records", [r for r in rows if r["action"] not in ACCESS_ACTIONS | NOTICE_ACTIONS])
    lines += [
        f"Drafts: `{summary['drafts']}`  ",
        f"Audit log: `{summary['audit']}`",
        "",
        "Personal accounts of the employee are never touched by relevo.",
    ]
    return "\n".join(lines)


def publish(summary: dict[str, Any], stage: str = "") -> None:
    """The markdown report (keyed per employee, dry runs apart) and the outcome table; each call
    is a new version of the same keys, so the UI's latest is always the run's current picture."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    key = artifact_key(summary["employee_id"], summary["dry_run"])
    create_markdown_artifact(
        markdown=artifact_markdown(summary, stage),
        key=key,
        description=label(headline(summary["rows"], summary["dry_run"]), 200),
    )
    table = [{k: r[k] for k in ("action", "target", "outcome", "detail")} for r in summary["rows"]]
    create_table_artifact(
        table=table, key=f"{key}-rows", description=f"Every step for employee {label(summary['employee_id'])}"
    )


def per_employee(
    employees: list[dict[str, Any]],
    problems: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    dry_run: bool,
    skipped: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """A batch, one line per employee: access removed N/M, tasks for a person, notices awaiting; an id
    that could not be offboarded is a line of its own with the reason, and so is one skipped because its
    HR record shows no termination (a batch of HR events)."""
    by_employee: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_employee.setdefault(row["employee_id"], []).append(row)
    people = []
    for employee in employees:
        mine = by_employee.get(employee["id"], [])
        removed, total = access(mine)
        people.append(
            {
                "employee_id": employee["id"],
                "name": label(employee["name"]),
                "status": "plan" if dry_run else "offboarded",
                "access": f"{removed}/{total}" + (" (would be removed)" if dry_run else " removed"),
                "for_a_person": sum(1 for r in mine if r["outcome"] in TASKS),
                "notices_awaiting": sum(1 for r in mine if r["outcome"] == "awaiting_approval"),
                "problem": "",
            }
        )
    for status, listed in (("NOT OFFBOARDED", problems), ("not offboarded (has not left)", skipped or [])):
        people += [
            {
                "employee_id": label(p["employee_id"]),
                "name": "",
                "status": status,
                "access": "",
                "for_a_person": 0,
                "notices_awaiting": 0,
                "problem": label(p["problem"], 300),
            }
            for p in listed
        ]
    return people


def batch_headline(summary: dict[str, Any]) -> str:
    people = [p for p in summary["people"] if not p["problem"]]
    whole = sum(1 for p in people if p["access"].split("/")[0] == p["access"].split("/")[1].split(" ")[0])
    parts = [
        f"{'Dry run: ' if summary['dry_run'] else ''}{len(people)} employee(s)",
        f"access {'would be ' if summary['dry_run'] else ''}removed everywhere for {whole}",
        f"{sum(p['for_a_person'] for p in people)} task(s) for a person",
        f"{sum(p['notices_awaiting'] for p in people)} notice(s) await approval",
    ]
    unknown = len(summary["problems"])
    if unknown:
        parts.append(f"{unknown} id(s) NOT offboarded (see the report)")
    if skipped := len(summary["people"]) - len(people) - unknown:
        parts.append(f"{skipped} skipped: no termination in HR")
    return "; ".join(parts)


TITLES = {"layoff": "Layoff", "terminations from HR": "Terminations the HR platform sent together"}


def batch_markdown(summary: dict[str, Any]) -> str:
    from relevo.engine.approval import md

    lines = [
        f"# {'Dry run of a layoff (nothing changed)' if summary['dry_run'] else TITLES.get(summary.get('what', ''), 'Layoff')}",
        "",
        f"**{batch_headline(summary)}.**",
        "",
        "| employee | name | plan or outcome | access | tasks for a person | notices awaiting | problem |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in summary["people"]:
        lines.append(
            f"| {md(p['employee_id'])} | {md(p['name'])} | {p['status']} | {p['access']} | "
            f"{p['for_a_person']} | {p['notices_awaiting']} | {md(p['problem'])} |"
        )
    lines += ["", "Personal accounts of the employees are never touched by relevo."]
    return "\n".join(lines)


def batch_state(summary: dict[str, Any]) -> Any:
    """Completed, named "Needs a person" when an id was not offboarded or something waits for a person."""
    from prefect.states import Completed

    name = (
        "Dry run"
        if summary["dry_run"] and not summary["problems"]
        else (NEEDS_A_PERSON if summary["open"] else "Completed")
    )
    return Completed(name=name, message=label(batch_headline(summary), 500), data=summary)
