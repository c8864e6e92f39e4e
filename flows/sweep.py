"""The sweep: access that relevo removed stays removed.

An offboarding removes the leaver's roles once. Afterwards an admin can add them back, a pending
invitation can be accepted, a role can reappear on a presence nobody re-checked. The sweep (a
scheduled deployment, and `relevo sweep` by hand) re-reads the live member list of every
API-backed presence ONCE, and checks against it every employee offboarded in the last N days:

- a leaver found with a role again is an audit row ("access came back on X") and a Prefect event
  (`relevo.access.came-back`, for an automation to notify a person), and is removed again at once
  when their access is due to be gone (a dismissal, or a resignation past its last day), with the
  same never-orphan rule as the first time;
- presences without an API (manual) get one reminder task per presence per sweep window, listing
  the leavers a person should look for there (not one task a day);
- the HR record is read again first: an employee whose termination was withdrawn is not touched.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from prefect import flow

from relevo import schemas
from relevo.connectors.errors import ConfigurationError, ConnectorError
from relevo.connectors.grants import Grant
from relevo.storage.ledger import Ledger
from relevo.engine.execute import Run, execute
from relevo.engine.steps import in_flow_run, log
from relevo.rules.plan import REVOKE, Action, plan_presences, revoke_time
from relevo.config.registry import Registry, load_registry

SWEEP_EVENT = "relevo.access.came-back"


def recent_leavers(ledger: Ledger, since: datetime) -> list[str]:
    """Employees with a real (not dry-run) offboarding outcome since `since`, oldest first."""
    seen: dict[str, None] = {}
    for row in ledger.audit():
        if not row["dry_run"] and row["at"] >= since.isoformat(timespec="milliseconds") \
                and row["action"] in {"revoke_role", "schedule_revocation", "manual_task", "rotate_credentials"}:
            seen.setdefault(row["employee_id"], None)
    return list(seen)


def still_terminated(employee: dict[str, Any]) -> bool:
    """The HR record still shows a termination (a withdrawn one is not swept)."""
    return bool(employee.get("termination")) and employee.get("status") != "active"


def live(grant: Grant) -> bool:
    """A grant that gives access now (SCIM lists deactivated users as inactive grants)."""
    return grant.pre_state.get("active", True) is not False


def window_start(now: datetime, days: int) -> str:
    """The sweep window a reminder belongs to: one per `days` days, the same for every sweep in it."""
    epoch_days = int(now.timestamp() // 86400)
    return (datetime.fromtimestamp((epoch_days - epoch_days % days) * 86400, timezone.utc)).date().isoformat()


def came_back_actions(employee: dict[str, Any], registry: Registry, listed: dict[str, list[Grant] | str],
                      today: str) -> list[Action]:
    """Removals to make again, with keys of their own (the first removal's key is finished in the ledger)."""
    readable = {pid: [g for g in grants if live(g)] for pid, grants in listed.items() if isinstance(grants, list)}
    actions = [a for a in plan_presences(employee, registry, readable) if a.phase == REVOKE and a.outcome is None]
    suffix = f":again:{today}"
    return [replace(a, key=a.key + suffix, after=a.after + suffix if a.after else None,
                    description=f"access came back: {a.description}") for a in actions]


def emit_came_back(employee_id: str, presence_account: str, detail: str) -> None:
    """A Prefect event a person can be notified of (an automation on `relevo.access.came-back`).

    Outside a flow run (the CLI without a Prefect server) there is no server to tell: the audit row
    and the command's exit code say it instead.
    """
    if not in_flow_run():
        return
    from prefect.events import emit_event

    emit_event(event=SWEEP_EVENT, resource={"prefect.resource.id": f"relevo.employee.{employee_id}",
                                            "prefect.resource.name": f"employee {employee_id}"},
               payload={"presence": presence_account, "detail": detail})


@flow(name="sweep-access", log_prints=False)
def sweep_access(registry_path: str | None = None, days: int = 30, dry_run: bool = False) -> dict[str, Any]:
    """Re-check that everyone offboarded in the last `days` days has no role left on any company presence.

    Args:
        registry_path: the company's relevo.yaml; None: the worker's RELEVO_REGISTRY, else relevo.yaml in its
            working directory.
        days: how far back leavers are checked.
        dry_run: report what came back, change nothing.
    """
    logger = log()
    registry = load_registry(registry_path)
    ledger = Ledger(registry.database_url, registry.output_dir / "audit.jsonl")
    now = datetime.now(timezone.utc)
    leaver_ids = recent_leavers(ledger, now - timedelta(days=days))
    found = registry.hr().employees(leaver_ids) if leaver_ids else {}
    leavers = []
    for employee_id in leaver_ids:
        employee = found.get(employee_id)
        if isinstance(employee, dict) and still_terminated(employee):
            leavers.append(schemas.check("employee", employee, f"HR record of employee {employee_id}"))
        elif isinstance(employee, Exception):
            logger.warning("employee %s not swept: %s", employee_id, employee)
    company = [p for p in registry.presences if p.owner == "company"]
    listed: dict[str, list[Grant] | str] = {}
    for presence in company:
        if presence.connector == "manual":
            continue
        try:  # one listing per presence for every leaver
            listed[presence.id] = registry.social(presence).members(presence)
        except (ConnectorError, ConfigurationError) as exc:
            listed[presence.id] = str(exc)
    rows: list[dict[str, Any]] = []
    today = now.date().isoformat()
    for employee in leavers:
        due = revoke_time(employee, registry, now) is None
        actions = came_back_actions(employee, registry, listed, today)
        if not actions:
            continue
        run = Run(registry, employee, event_key=None)
        for action in actions:
            detail = f"access came back on {action.target}: {action.description}"
            if action.action == "revoke_role":
                logger.warning("employee %s: %s", employee["id"], detail)
                if not dry_run:
                    emit_came_back(employee["id"], action.target, detail)
            if dry_run:
                rows.append({"employee_id": employee["id"], "action_key": action.key, "action": action.action,
                             "target": action.target, "outcome": "planned", "detail": detail})
            elif due:
                rows.append(execute(run, action))
            else:  # a resignation before its last day: the scheduled revocation removes it
                rows.append({"employee_id": employee["id"], "action_key": action.key, "action": action.action,
                             "target": action.target, "outcome": "scheduled", "detail": detail})
    unreadable = {pid: why for pid, why in listed.items() if isinstance(why, str)}
    window = window_start(now, days)
    for presence in company:
        if not leavers or (presence.connector != "manual" and presence.id not in unreadable):
            continue
        names = ", ".join(f"{e['name']} <{e.get('email') or e['id']}>" for e in leavers)
        why = f"could not be read ({unreadable[presence.id]})" if presence.id in unreadable else "has no API"
        reminder = Action(key=f"sweep:check:{presence.id}:{window}", action="manual_task", target=presence.account,
                          phase="record", outcome="manual", presence=presence,
                          description=f"sweep: {presence.account} {why}; check by hand that these leavers have no role",
                          steps=[f"Open {presence.account} and look for: {names}.",
                                 "Remove any role you find, then: relevo done KEY --by 'your name'."])
        if not dry_run:
            rows.append(execute(Run(registry, {"id": "sweep", "name": "sweep"}, event_key=None), reminder))
    came_back = sum(1 for r in rows if r["action"] == "revoke_role")
    logger.info("Swept %d leaver(s) over %d presence(s): access came back %d time(s)", len(leavers),
                len(listed), came_back)
    return {"leavers": len(leavers), "presences_listed": len(listed), "came_back": came_back, "rows": rows}
