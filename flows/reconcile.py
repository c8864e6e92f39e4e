"""Reconciliation: the HR platform is polled as well as heard.

A webhook can be lost: the receiver down longer than the vendor retries (BambooHR about 2.5 h, and
never after a 4xx), a subscription Factorial disabled, a misconfigured key. So a scheduled
deployment (every 15 minutes, `prefect.yaml`) and `relevo reconcile` ask the HR connector which
employees changed since the last cursor, read them, and put each termination or withdrawal they
find into the same inbox a webhook would, as source "reconciliation":

- a termination nobody has handled yet becomes a `terminated` event (its key names the employee
  and the termination date, so polling it again stores nothing new);
- an employee relevo offboarded whose HR record no longer shows a termination becomes a
  `rescinded` event (rescind re-reads HR itself before giving anything back);
- the dispatcher then starts the runs; an event heard from both the webhook and reconciliation
  starts one run (`Inbox.superseded_by`).

The cursor is kept in the database. A first poll without one looks back `lookback_days` (7).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from prefect import flow, get_run_logger

from relevo.connectors.errors import ConfigurationError
from relevo.storage.inbox import Inbox
from relevo.storage.ledger import Ledger
from relevo.config.registry import Registry, load_registry

LOOKBACK_DAYS = 7
MISSED_EVENT = "relevo.webhook.missed"  # a termination found by polling that no webhook reported


def handled(ledger: Ledger, employee_id: str) -> bool:
    """relevo has offboarded this employee, and no withdrawal gave the access back since."""
    state = False
    for row in ledger.audit(employee_id):
        if row["dry_run"]:
            continue
        if row["action"] in {"revoke_role", "schedule_revocation", "draft_notice", "manual_task", "hr_note"}:
            state = True
        elif row["action"] == "restore_role":
            state = False
    return state


def terminated(employee: dict[str, Any]) -> bool:
    """The HR record shows a termination (entered, even if its date is still ahead)."""
    return bool(employee.get("termination")) and employee.get("status") != "active"


def reconcile_once(registry: Registry, since: str | None = None, lookback_days: int = LOOKBACK_DAYS,
                   now: datetime | None = None) -> dict[str, Any]:
    """One poll: store the terminations and withdrawals found; returns what was found and stored."""
    now = now or datetime.now(timezone.utc)
    inbox = Inbox(registry.database_url)
    ledger = Ledger(registry.database_url)
    hr = registry.hr()
    vendor = registry.data["hr"]["connector"]
    if not hasattr(hr, "changed_since"):
        raise ConfigurationError(f"{registry.path}: hr.connector '{vendor}' cannot be polled for changes yet: "
                                 "relevo hears of its terminations by webhook only")
    cursor_name = f"hr:{vendor}"
    start = since or inbox.cursor(cursor_name) or (now - timedelta(days=lookback_days)).isoformat(timespec="seconds")
    changed, cursor = hr.changed_since(start)
    found = hr.employees(changed) if changed else {}
    stored, seen = [], []
    for employee_id in changed:
        employee = found.get(employee_id)
        if not isinstance(employee, dict):
            continue
        termination = employee.get("termination") or {}
        if terminated(employee) and not handled(ledger, employee_id):
            kind, date = "terminated", termination.get("date")
        elif not terminated(employee) and handled(ledger, employee_id):
            kind, date = "rescinded", None
        else:
            continue
        doc = Inbox.event(vendor if vendor in {"bamboohr", "factorial"} else "directory", employee_id, kind,
                          f"polled:{date or 'none'}", now, effective_date=date, source="reconciliation")
        new = inbox.store(doc)  # completes the key (flows/storage/inbox.py: events after a withdrawal)
        seen.append(doc["event_key"])
        if new:
            stored.append(doc["event_key"])
    if cursor is not None:
        inbox.set_cursor(cursor_name, cursor, now)
    return {"since": start, "changed": len(changed), "found": seen, "stored": stored, "cursor": cursor}


@flow(name="reconcile-hr", log_prints=False)
def reconcile_hr(registry_path: str | None = None, since: str | None = None, dispatch: bool = True) -> dict[str, Any]:
    """Poll the HR platform for terminations and withdrawals no webhook reported, and start their runs.

    Args:
        registry_path: the company's relevo.yaml; None: the worker's RELEVO_REGISTRY, else relevo.yaml in its
            working directory.
        since: an ISO 8601 time to look back to, instead of the stored cursor.
        dispatch: start the runs of new events here (the receiver's dispatcher does it too, once).
    """
    logger = get_run_logger()
    registry = load_registry(registry_path)
    result = reconcile_once(registry, since)
    from prefect.events import emit_event

    for key in result["stored"]:
        logger.warning("found by reconciliation, no webhook came: %s", key)
        employee_id = key.split(":")[1]
        # for an automation to tell a person: the webhook path is broken somewhere (receiver, key, subscription)
        emit_event(event=MISSED_EVENT, resource={"prefect.resource.id": f"relevo.employee.{employee_id}",
                                                 "prefect.resource.name": f"employee {employee_id}"},
                   payload={"event_key": key})
    if dispatch and result["stored"]:
        from relevo.receiver.webhook import Dispatcher, company_launcher

        result["dispatched"] = Dispatcher(Inbox(registry.database_url), registry.given,
                                          launch=company_launcher(registry)).dispatch_due()
    logger.info("HR changes since %s: %d employee(s), %d new event(s)", result["since"], result["changed"],
                len(result["stored"]))
    return result
