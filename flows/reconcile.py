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

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger

from relevo import alerts
from relevo.config.registry import Registry, load_registry
from relevo.connectors.errors import ConnectorError
from relevo.model import ConfigurationError
from relevo.storage.inbox import Inbox
from relevo.storage.ledger import Ledger

LOOKBACK_DAYS = 7
MISSED_EVENT = alerts.MISSED  # a termination found by polling that no webhook reported


HANDLED = {"revoke_role", "schedule_revocation", "draft_notice", "manual_task", "hr_note"}


def handled(ledger: Ledger, employee_id: str) -> bool:
    """relevo has offboarded this employee, and no withdrawal gave the access back since."""
    state = False
    for row in ledger.audit(employee_id):
        if row["dry_run"]:
            continue
        if row["action"] in HANDLED:
            state = True
        elif row["action"] == "restore_role":
            state = False
    return state


def offboarded(ledger: Ledger) -> list[str]:
    """Everyone `handled` is true for, in one pass over the audit."""
    state: dict[str, bool] = {}
    for row in ledger.audit():
        if not row["dry_run"] and row["action"] in HANDLED | {"restore_role"}:
            state[row["employee_id"]] = row["action"] != "restore_role"
    return [employee_id for employee_id, offboarded in state.items() if offboarded]


def terminated(employee: dict[str, Any]) -> bool:
    """The HR record shows a termination (entered, even if its date is still ahead)."""
    return bool(employee.get("termination")) and employee.get("status") != "active"


def reconcile_once(
    registry: Registry,
    since: str | None = None,
    lookback_days: int = LOOKBACK_DAYS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One poll: store the terminations and withdrawals found; returns what was found and stored."""
    now = now or datetime.now(UTC)
    inbox = Inbox(registry.owned_database_url())
    ledger = Ledger(registry.owned_database_url())
    hr = registry.hr()
    vendor = registry.data["hr"]["connector"]
    if not hasattr(hr, "changed_since"):
        raise ConfigurationError(
            f"{registry.path}: hr.connector '{vendor}' cannot be polled for changes yet: "
            "relevo hears of its terminations by webhook only"
        )
    cursor_name = f"hr:{vendor}"
    start = (
        since
        or inbox.cursor(cursor_name)
        or (now - timedelta(days=lookback_days)).isoformat(timespec="seconds")
    )
    changed, cursor = hr.changed_since(start)
    if getattr(hr, "reports_terminations_only", False):
        # No change feed (HiBob): a withdrawn termination (its date deleted) is not among the changes, so
        # everyone relevo offboarded is looked at again (read from the same answer, no call per person).
        changed = list(dict.fromkeys([*changed, *offboarded(ledger)]))
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
        sender = vendor if vendor in {"bamboohr", "factorial", "personio", "hibob"} else "directory"
        doc = Inbox.event(
            sender,
            employee_id,
            kind,
            f"polled:{date or 'none'}",
            now,
            effective_date=date,
            source="reconciliation",
        )
        new = inbox.store(doc)  # completes the key (flows/storage/inbox.py: events after a withdrawal)
        seen.append(doc["event_key"])
        if new:
            stored.append(doc["event_key"])
    if cursor is not None:
        inbox.set_cursor(cursor_name, cursor, now)
    return {"since": start, "changed": len(changed), "found": seen, "stored": stored, "cursor": cursor}


def disabled_webhooks(registry: Registry, inbox: Inbox, now: datetime) -> list[dict[str, Any]]:
    """Webhook subscriptions the HR platform disabled, each reported once a day (not every 15 minutes).

    Only where the platform's API says so: Factorial's subscriptions carry `enabled` (it disables
    one after 48 h of failed deliveries). BambooHR's webhooks API has no disabled state (its
    `/webhooks/{id}/log` lists deliveries), so a broken BambooHR webhook shows up as terminations
    found here that no webhook reported (`relevo.webhook.missed`).
    """
    hr = registry.hr()
    if not hasattr(hr, "disabled_subscriptions"):
        return []
    vendor = registry.data["hr"]["connector"]
    due = []
    for row in hr.disabled_subscriptions():
        name = f"alert:webhook-disabled:{vendor}:{str(row.get('id'))[:40]}"
        if inbox.cursor(name) != now.date().isoformat():
            inbox.set_cursor(name, now.date().isoformat(), now)
            due.append(row)
    return due


@flow(name="reconcile-hr", log_prints=False)
def reconcile_hr(
    registry_path: str | None = None, since: str | None = None, dispatch: bool = True
) -> dict[str, Any]:
    """Poll the HR platform for terminations and withdrawals no webhook reported, and start their runs.

    Each termination found only here, and each webhook subscription the platform disabled, is an
    alert (flows/alerts.py): a Prefect event, and a line through the registry's notification block.

    Args:
        registry_path: the company's relevo.yaml; None: the worker's RELEVO_REGISTRY, else relevo.yaml in its
            working directory.
        since: an ISO 8601 time to look back to, instead of the stored cursor.
        dispatch: start the runs of new events here (the receiver's dispatcher does it too, once).
    """
    logger = get_run_logger()
    registry = load_registry(registry_path)
    now = datetime.now(UTC)
    result = reconcile_once(registry, since, now=now)
    missed = []
    for key in result["stored"]:
        logger.warning("found by reconciliation, no webhook came: %s", key)
        employee_id = key.split(":")[1]
        # the webhook path is broken somewhere (receiver, key, subscription): a person must look
        alerts.emit(
            MISSED_EVENT, f"relevo.employee.{employee_id}", f"employee {employee_id}", {"event_key": key}
        )
        what = "termination" if key.split(":")[2] == "terminated" else "withdrawn termination"
        missed.append(
            alerts.line(
                f"{what} of employee {employee_id} found by polling HR: no webhook reported it "
                "(check the receiver and the HR platform's webhook)"
            )
        )
    alerts.notify(registry, "termination found only by polling", missed)
    try:
        disabled = disabled_webhooks(registry, Inbox(registry.owned_database_url()), now)
    except ConnectorError as exc:  # the poll itself succeeded: this check is reported, not fatal
        logger.warning("could not read the HR platform's webhook subscriptions: %s", exc)
        disabled = []
    lines = []
    for row in disabled:
        what = f"{row.get('type', row.get('subscription_type'))} subscription {row.get('id')}"
        logger.warning("HR webhook %s is DISABLED", what)
        alerts.emit(
            alerts.DISABLED,
            f"relevo.webhook.{registry.data['hr']['connector']}.{row.get('id')}",
            what,
            {"subscription": what},
        )
        lines.append(
            alerts.line(
                f"the HR platform disabled its webhook {what}: terminations reach relevo only "
                "by polling until it is re-enabled (relevo doctor --reenable-webhooks)"
            )
        )
    alerts.notify(registry, "webhook subscription disabled", lines)
    result["disabled_webhooks"] = len(disabled)
    if dispatch and result["stored"]:
        from relevo.receiver.dispatcher import Dispatcher, company_batch_launcher, company_launcher

        # What one poll found is dispatched at once; several terminations go to one batch run.
        result["dispatched"] = Dispatcher(
            Inbox(registry.owned_database_url()),
            registry.given,
            launch=company_launcher(registry),
            launch_batch=company_batch_launcher(registry),
            quiet=0,
            window=0,
        ).dispatch_due()
    logger.info(
        "HR changes since %s: %d employee(s), %d new event(s)",
        result["since"],
        result["changed"],
        len(result["stored"]),
    )
    return result
