"""What an operator sees of a run in the Prefect UI: its name, tags, step states and summary line.

Pure helpers plus two thin Prefect calls, kept apart from the flows so the rules are tested
without a server. HR and registry data are untrusted: every label made from them is one line,
without control or bidi-override characters, and short.
"""
from __future__ import annotations

import unicodedata
from typing import Any

KIND = {"involuntary": "dismissal", "voluntary": "resignation"}
NEEDS_A_PERSON = "Needs a person"
# Rows about who can still get into a company presence; a presence's access is removed only when
# every one of them is done (a shared login is not closed until its password is rotated).
ACCESS_ACTIONS = {"revoke_role", "add_admin", "rotate_credentials", "manual_task"}
REMOVED = {"done", "already_done"}
FOR_A_PERSON = {"manual", "failed"}


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


def name_current_run(name: str, tag: str) -> None:
    """Rename the running flow run and add the employee tag (a deployment run started from the UI
    or a webhook is created before the HR record is read). Best effort: a label never fails a run."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    if not flow_run.id:
        return
    try:
        with get_client(sync_client=True) as client:
            tags = sorted(set(flow_run.tags or []) | {tag})
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
    """"Access removed on N of M presences; K tasks for a person", then notices, in one line."""
    removed, total = access(rows)
    people = sum(1 for r in rows if r["outcome"] in FOR_A_PERSON)
    scheduled = {r["target"] for r in rows if r["action"] in ACCESS_ACTIONS and r["outcome"] == "scheduled"}
    waiting = sum(1 for r in rows if r["outcome"] == "awaiting_approval")
    drafted = sum(1 for r in rows if r["action"] == "draft_notice" and r["outcome"] in REMOVED | {"planned"})
    verb = "Dry run: relevo would remove access on" if dry_run else "Access removed on"
    parts = [f"{verb} {removed} of {total} presence{'s' if total != 1 else ''}",
             f"{people} task{'s' if people != 1 else ''} for a person"]
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

    return Cancelled(name=NEEDS_A_PERSON, message=label(message, 300), data=value)
