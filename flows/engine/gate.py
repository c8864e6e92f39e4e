"""The two checks a run makes before it acts: has this person left, and was it withdrawn since.

1. Nobody is offboarded who has not left. Every run (CLI, Prefect UI, webhook, layoff, approval)
   reads the HR record first; when it shows no termination (status active, no termination date)
   the run does nothing and says so in one line. Only an explicit `force` overrides it, and the
   override is an audit row naming who asked.
2. A withdrawn termination stops everything it started. `rescind-termination` writes a
   `withdraw_termination` row in the ledger (only after the HR record confirms the withdrawal)
   before it cancels runs. A run created before that row (a paused run that resumes or times out,
   a scheduled or pending run that starts anyway, a retried run) finds it and writes nothing more.
   Runs created after it (a new termination) are not affected.
"""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime
from typing import Any

from relevo.rules.plan import Action
from relevo.storage.ledger import Ledger

WITHDRAW = "withdraw_termination"  # the ledger action a confirmed withdrawal records


def refusal(employee: dict[str, Any], how_to_force: str | None = "--force") -> str | None:
    """One line saying why this person must not be offboarded, or None when the HR record shows a termination.

    A termination without a date still counts (BambooHR "Inactive", Factorial `active: false`):
    the HR platform says the person is leaving or gone, only the day is unknown.
    """
    termination = employee.get("termination")
    if termination is not None and employee.get("status") != "active":
        return None
    return (
        f"employee {employee.get('id')} ({employee.get('name')}) has not left: the HR record shows status "
        f"{employee.get('status')} and no termination; nothing was done"
        + (f" ({how_to_force} overrides this)" if how_to_force else "")
    )


def not_left(lines: list[str]) -> str:
    """One line for the employees of a layoff whose HR record shows no termination (the first ten named)."""
    if len(lines) == 1:
        return lines[0]
    ids = [line.split(" ", 2)[1] for line in lines]
    named = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    return (
        f"employees {named} have not left: their HR records show no termination; nobody was offboarded "
        "(remove them from the list; the force parameter, or relevo layoff --force, overrides this)"
    )


def requester(requested_by: str | None = None) -> str:
    """Who asked for a run, as far as anyone knows: the name given, the OS user and host, Prefect's record.

    The name given is recorded as given (anyone can type a name); the OS user is the account the
    run executes as (for a deployment run, the worker's); Prefect adds who created the run when
    the server knows it (Prefect Cloud users, automations).
    """
    try:
        os_user = getpass.getuser()
    except Exception:  # no login name (some containers)
        os_user = "unknown"
    parts = [
        f"requested by {requested_by.strip()[:200]!r}"
        if requested_by and requested_by.strip()
        else "requester not named",
        f"run as OS user {os_user} on {socket.gethostname()}",
    ]
    if (created_by := prefect_creator()) is not None:
        parts.append(f"Prefect run created by {created_by}")
    return "; ".join(parts)


def prefect_creator() -> str | None:
    """Prefect's `created_by` of the current flow run (None outside a run or when the server does not know)."""
    run = current_flow_run()
    who = getattr(run, "created_by", None) if run is not None else None
    if who is None:
        return None
    return f"{getattr(who, 'type', None) or 'unknown'} {getattr(who, 'display_value', None) or getattr(who, 'id', '')}".strip()


def current_flow_run() -> Any:
    """The current flow run as the Prefect API has it, or None (not in a run, or the API unreachable)."""
    from prefect.runtime import flow_run

    if not flow_run.id:
        return None
    from prefect import get_client

    try:
        with get_client(sync_client=True) as client:
            return client.read_flow_run(flow_run.id)
    except Exception:  # the API: the run goes on, and `run_created_at` falls back to now
        return None


def run_created_at() -> str:
    """When this run was created (ISO, UTC): stable across a pause, a resume and Prefect's retries.

    A withdrawal recorded after this moment concerns this run. Outside Prefect (or if the API
    cannot say), now: a withdrawal recorded later still stops the run.
    """
    run = current_flow_run()
    created = getattr(run, "created", None) if run is not None else None
    moment = created if isinstance(created, datetime) else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def withdrawn_since(ledger: Ledger, employee_id: str, since: str) -> str | None:
    """One line when a withdrawal of this employee's termination was recorded after `since`, else None."""
    latest = ledger.latest_withdrawal(employee_id)
    if latest is None or latest[0] <= since:
        return None
    return (
        f"the termination of employee {employee_id} was withdrawn at {latest[0][:19]} UTC "
        f"({latest[1][:200]}): this run stops and writes nothing more"
    )


def forced_action(employee_id: str, refused: str) -> Action:
    """The audit row of an offboarding forced past the HR record's "has not left" (one per run)."""
    from prefect.runtime import flow_run as current

    why = refused.split(": ", 1)[-1].split("; nothing was done")[0]
    return Action(
        key=f"{employee_id}:force_offboard:{current.id or datetime.now(UTC).isoformat()}",
        action="force_offboard",
        target=f"HR record {employee_id}",
        phase="record",
        description=f"offboarded although {why}, because force was asked",
    )
