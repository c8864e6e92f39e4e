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
- members of an API-backed presence that match no current employee in HR (a departed person's
  account nobody offboarded, someone HR never had) become one task per presence per sweep window
  listing them, when the HR connector can list its employees (`roster`);
- who re-added a leaver is named where the vendor's answer says it (`added_by` in the grant's
  pre-state: Meta Business invitations carry `created_by`, LinkedIn assignments a created/lastModified
  actor when present; Page roles, business users, Hootsuite, TikTok and SCIM do not say);
- pending invitations are grants where the vendor lists them (Meta Business `pending_users`,
  TikTok PENDING members), so an open invitation to a leaver is withdrawn like a role;
- "access came back" is an alert (flows/alerts.py): a Prefect event and a line through the
  registry's notification block;
- the HR record is read again first: an employee whose termination was withdrawn is not touched.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow

from relevo import alerts, schemas
from relevo.config.registry import Registry, load_registry
from relevo.connectors.errors import ConnectorError
from relevo.engine.execute import Run, Unconfirmed, execute
from relevo.engine.steps import log
from relevo.model import ConfigurationError, Grant, Presence
from relevo.rules.plan import REVOKE, Action, Owners, plan_presences, revoke_time
from relevo.storage.ledger import Ledger

SWEEP_EVENT = alerts.CAME_BACK
UNMATCHED_SHOWN = 50  # members named in one task; a presence nobody mapped could list hundreds


def recent_leavers(ledger: Ledger, since: datetime) -> list[str]:
    """Employees with a real (not dry-run) offboarding outcome since `since`, oldest first."""
    seen: dict[str, None] = {}
    for row in ledger.audit():
        if (
            not row["dry_run"]
            and row["employee_id"] != "sweep"
            and row["at"] >= since.isoformat(timespec="milliseconds")
            and row["action"] in {"revoke_role", "schedule_revocation", "manual_task", "rotate_credentials"}
        ):
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
    return (datetime.fromtimestamp((epoch_days - epoch_days % days) * 86400, UTC)).date().isoformat()


def came_back_actions(
    employee: dict[str, Any], registry: Registry, listed: dict[str, list[Grant] | str], today: str
) -> list[Action]:
    """Removals to make again, with keys of their own (the first removal's key is finished in the ledger)."""
    readable = {
        pid: [g for g in grants if live(g)] for pid, grants in listed.items() if isinstance(grants, list)
    }
    actions = [
        a for a in plan_presences(employee, registry, readable) if a.phase == REVOKE and a.outcome is None
    ]
    suffix = f":again:{today}"
    return [
        replace(
            a,
            key=a.key + suffix,
            after=a.after + suffix if a.after else None,
            description=f"access came back: {a.description}",
        )
        for a in actions
    ]


def who_added(grant: Grant | None) -> str:
    """ "; re-added by X" where the vendor's answer names who added the grant, else ""."""
    by = grant.pre_state.get("added_by") if grant is not None else None
    return f"; re-added by {by} (as the vendor reports it)" if isinstance(by, str) and by.strip() else ""


def unmatched_members(
    registry: Registry,
    listed: dict[str, list[Grant] | str],
    roster: list[dict[str, Any]],
    leavers: list[dict[str, Any]],
) -> dict[str, list[Grant]]:
    """Per presence, live members that match no current employee (by employee id, the registry's
    identities or work e-mail, never by name), are not a swept leaver (those are "came back"), and are
    neither the break-glass admin, the company contact nor a presence's `settings.known_members`."""
    ids = {str(row["id"]) for row in roster}
    emails = {str(row["email"]).casefold() for row in roster if row.get("email")}
    mapped = {
        (row["presence"], row["member"])
        for row in registry.data.get("identities", [])
        if row["employee"] in ids
    }
    company = {registry.break_glass.email.casefold(), registry.contact.email.casefold()}
    owners = Owners(leavers, registry)
    out: dict[str, list[Grant]] = {}
    for presence in registry.presences:
        grants = listed.get(presence.id)
        if not isinstance(grants, list):
            continue
        known = company | {str(m).casefold() for m in presence.settings.get("known_members") or []}
        for grant in grants:
            if not live(grant) or owners.of(presence.id, grant) is not None:
                continue
            if (
                grant.employee_id in ids
                or (presence.id, grant.identity) in mapped
                or (presence.id, grant.member_id) in mapped
            ):
                continue
            if (
                grant.identity.casefold() in emails
                or {grant.identity.casefold(), grant.member_id.casefold()} & known
            ):
                continue
            out.setdefault(presence.id, []).append(grant)
    return out


def unmatched_task(presence: Presence, grants: list[Grant], window: str) -> Action:
    """One task for a person per presence per window, listing the members no employee matches."""
    names = "; ".join(
        f"{g.display_name + ' ' if g.display_name else ''}<{g.identity}> ({g.role}){who_added(g)}"
        for g in grants[:UNMATCHED_SHOWN]
    )
    if len(grants) > UNMATCHED_SHOWN:
        names += f"; and {len(grants) - UNMATCHED_SHOWN} more (the presence's member list shows them)"
    if not any("@" in g.identity for g in grants):  # Page roles, LinkedIn: member ids, no e-mail to match
        names += (
            ". This platform names members by id, not e-mail: employees match only through the "
            "registry's identities"
        )
    return Action(
        key=f"sweep:unmatched:{presence.id}:{window}",
        action="manual_task",
        target=presence.account,
        phase="record",
        outcome="manual",
        presence=presence,
        description=f"sweep: {len(grants)} member(s) of {presence.account} match no current employee in HR "
        "(a departed person's account nobody offboarded?)",
        steps=[
            f"Check each member of {presence.account}: {names}.",
            "Remove anyone who no longer works for the company; for a known outsider add them to the "
            "presence's settings.known_members, for an employee under another identity to identities.",
            "Then: relevo done KEY --by 'your name'.",
        ],
    )


def read_roster(registry: Registry) -> list[dict[str, Any]] | str:
    """Everyone still employed, from the HR connector; or why it could not be read."""
    hr = registry.hr()
    if not hasattr(hr, "roster"):
        return f"hr.connector '{registry.data['hr']['connector']}' cannot list its employees"
    try:
        roster = list(hr.roster())
    except (ConnectorError, ConfigurationError) as exc:
        return str(exc)
    # Members are matched to employees by id or work e-mail. An empty list, or one where most e-mails are
    # missing, is a credential that may not read them (HiBob leaves out fields the service user may not see),
    # not a company of strangers: nobody is flagged then, and the log says why.
    if not roster:
        return "the HR platform listed no current employees (check the credential's access to all employees)"
    unreadable = sum(1 for row in roster if not row.get("email"))
    if unreadable * 2 > len(roster):
        return (
            f"{unreadable} of {len(roster)} current employees have no work e-mail readable in HR (check the "
            "credential's permission to read work e-mails)"
        )
    return roster


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
    ledger = Ledger(registry.owned_database_url(), registry.output_dir / "audit.jsonl")
    now = datetime.now(UTC)
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
    lines: list[str] = []  # one alert line per access that came back
    # removals count once a fresh read of their presence confirms them: one read per presence for a batch
    unconfirmed = Unconfirmed()
    today = now.date().isoformat()
    for employee in leavers:
        due = revoke_time(employee, registry, now) is None
        actions = came_back_actions(employee, registry, listed, today)
        if not actions:
            continue
        run = Run(registry, employee, event_key=None)
        for action in actions:
            action.description += who_added(action.grant)
            detail = f"access came back on {action.target}: {action.description}"
            if action.action == "revoke_role":
                logger.warning("employee %s: %s", employee["id"], detail)
                if not dry_run:
                    # the audit says what was found (and by whom, where the vendor says) before what was done
                    found_again = Action(
                        key=f"{action.key}:found",
                        action="check_record",
                        target=action.target,
                        phase="record",
                        description=detail,
                    )
                    if ledger.state(found_again.key) is None:
                        rows.append(run.record(found_again, "done", detail[:2000]))
                    alerts.emit(
                        SWEEP_EVENT,
                        f"relevo.employee.{employee['id']}",
                        f"employee {employee['id']}",
                        {"presence": action.target, "detail": detail},
                    )
                    lines.append(alerts.line(f"{employee['name']} ({employee['id']}): {detail}"))
            if dry_run:
                rows.append(
                    {
                        "employee_id": employee["id"],
                        "action_key": action.key,
                        "action": action.action,
                        "target": action.target,
                        "outcome": "planned",
                        "detail": detail,
                    }
                )
            elif due:
                if (row := execute(run, action, unconfirmed)) is not None:
                    rows.append(row)
                if unconfirmed.due():
                    rows += unconfirmed.settle()
            else:  # a resignation before its last day: the scheduled revocation removes it
                rows.append(
                    {
                        "employee_id": employee["id"],
                        "action_key": action.key,
                        "action": action.action,
                        "target": action.target,
                        "outcome": "scheduled",
                        "detail": detail,
                    }
                )
    rows += unconfirmed.settle()
    unreadable = {pid: why for pid, why in listed.items() if isinstance(why, str)}
    window = window_start(now, days)
    tasks: list[Action] = []
    for presence in company:
        if not leavers or (presence.connector != "manual" and presence.id not in unreadable):
            continue
        names = ", ".join(f"{e['name']} <{e.get('email') or e['id']}>" for e in leavers)
        why = f"could not be read ({unreadable[presence.id]})" if presence.id in unreadable else "has no API"
        tasks.append(
            Action(
                key=f"sweep:check:{presence.id}:{window}",
                action="manual_task",
                target=presence.account,
                phase="record",
                outcome="manual",
                presence=presence,
                description=f"sweep: {presence.account} {why}; check by hand that these leavers have no role",
                steps=[
                    f"Open {presence.account} and look for: {names}.",
                    "Remove any role you find, then: relevo done KEY --by 'your name'.",
                ],
            )
        )
    roster = read_roster(registry) if any(isinstance(g, list) for g in listed.values()) else []
    if isinstance(roster, str):
        logger.warning("members not checked against HR: %s", roster)
    else:
        found_unmatched = unmatched_members(registry, listed, roster, leavers)
        tasks += [
            unmatched_task(p, found_unmatched[p.id], window) for p in company if p.id in found_unmatched
        ]
    for task in tasks:  # once per presence per window: a task already in the ledger is not recorded again
        if dry_run:
            rows.append(
                {
                    "employee_id": "sweep",
                    "action_key": task.key,
                    "action": task.action,
                    "target": task.target,
                    "outcome": "planned",
                    "detail": task.description,
                }
            )
        elif ledger.state(task.key) is None:
            rows.append(execute(Run(registry, {"id": "sweep", "name": "sweep"}, event_key=None), task))
    came_back = sum(1 for r in rows if r["action"] == "revoke_role")
    unmatched = sum(1 for r in rows if r["action_key"].startswith("sweep:unmatched:"))
    if not dry_run:
        alerts.notify(registry, "access came back", lines)
    logger.info(
        "Swept %d leaver(s) over %d presence(s): access came back %d time(s); %d presence(s) with members "
        "matching no employee",
        len(leavers),
        len(listed),
        came_back,
        unmatched,
    )
    return {
        "leavers": len(leavers),
        "presences_listed": len(listed),
        "came_back": came_back,
        "unmatched_tasks": unmatched,
        "roster_checked": not isinstance(roster, str),
        "rows": rows,
    }
