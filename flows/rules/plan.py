"""Decide what an offboarding does, without doing any of it.

Pure functions over plain data (employee, registry, live member lists, clients):
this is where relevo's rules live, so they are tested without Prefect or a network.
A dry run prints exactly this plan; a real run executes exactly this plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, TypeVar

from relevo.config.registry import Registry
from relevo.model import Client, Draft, Grant, Person, Presence, action_key, revoke_key, rotation_steps

REVOKE, NOTICE, CRM = "revoke", "notice", "crm"
T = TypeVar("T")


@dataclass
class Action:
    key: str  # stable across runs: employee, action, target
    action: str  # outcome.schema.json "action"
    target: str
    phase: str  # revoke | notice | crm | record
    description: str
    presence: Presence | None = None
    grant: Grant | None = None
    person: Person | None = None  # add_admin: who becomes admin
    draft: Draft | None = None
    clients: list[Client] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    outcome: str | None = None  # set for actions whose outcome is known at planning time
    due_at: datetime | None = None  # when a scheduled action is due (relevo.storage.ledger keeps it)
    after: str | None = None  # key of an action that must be done first (same presence)

    # What an action of its kind always carries (a revocation its presence and grant, a notice its draft):
    # read through these, a plan that broke that rule fails here by name instead of as an AttributeError
    # on None deep inside an outside call.
    @property
    def the_presence(self) -> Presence:
        return carried(self.presence, "presence", self.key)

    @property
    def the_grant(self) -> Grant:
        return carried(self.grant, "grant", self.key)

    @property
    def the_person(self) -> Person:
        return carried(self.person, "person", self.key)

    @property
    def the_draft(self) -> Draft:
        return carried(self.draft, "draft", self.key)


def carried(value: T | None, what: str, key: str) -> T:
    if value is None:
        raise ValueError(f"action {key} was planned without its {what}")
    return value


@dataclass
class Plan:
    employee: dict[str, Any]
    revoke_at: datetime | None  # None: now
    actions: list[Action]

    def phase(self, name: str) -> list[Action]:
        return [a for a in self.actions if a.phase == name]


def revoke_time(
    employee: dict[str, Any], registry: Registry, now: datetime, revoke_now: bool = False
) -> datetime | None:
    """When access goes: at once after a dismissal, at the end of the last working day otherwise.

    Returns None for "now". A last day already past, or no date at all, also means now:
    relevo errs towards removing access.
    """
    termination = employee.get("termination") or {}
    if revoke_now or termination.get("type") == "involuntary" or not termination.get("date"):
        return None
    hour, minute = (int(x) for x in registry.company.end_of_day.split(":"))
    end = datetime.combine(date.fromisoformat(termination["date"]), time(hour, minute), registry.timezone)
    return end if end > now else None


def is_leavers(grant: Grant, employee: dict[str, Any], registry: Registry) -> bool:
    """A grant belongs to the leaver by registry mapping, employee id or work e-mail: never by name."""
    if grant.employee_id is not None:
        return bool(grant.employee_id == employee["id"])
    mapped = registry.identity(employee["id"], grant.presence_id)
    if mapped is not None and mapped in (grant.identity, grant.member_id):
        return True
    email = str(employee.get("email") or "").casefold()
    return bool(email) and grant.identity.casefold() == email


def named(grant: Grant, employee: dict[str, Any]) -> Grant:
    """The leaver's grant with a name a person recognises in a task ("Laura Martínez <laura@...>")."""
    if grant.display_name:
        return grant
    email = employee.get("email")
    return replace(grant, display_name=f"{employee['name']} <{email}>" if email else employee["name"])


def admin_for_orphan(employee: dict[str, Any], registry: Registry) -> Person:
    """Who becomes admin when the leaver is the last one: the successor, else break-glass."""
    successor = employee.get("successor")
    if successor and successor.get("email"):
        return Person(name=successor["name"], email=successor["email"], id=successor.get("id"))
    return registry.break_glass


def plan_presences(
    employee: dict[str, Any], registry: Registry, members: Mapping[str, list[Grant] | str]
) -> list[Action]:
    """Revocations, never-orphan admin grants, credential rotations and unreadable presences."""
    emp = employee["id"]
    actions: list[Action] = []
    for presence in registry.presences:
        target = presence.account
        if presence.owner != "company":
            actions.append(
                Action(
                    key=action_key(emp, "personal", presence.id),
                    action="personal_not_touched",
                    target=target,
                    phase="record",
                    description="not company-owned: relevo does not act on it",
                    outcome="not_touched",
                )
            )
            continue
        listed = members.get(presence.id, [])
        if isinstance(listed, str):  # the live list could not be read: a person must check
            actions.append(
                Action(
                    key=action_key(emp, "check", presence.id),
                    action="manual_task",
                    target=target,
                    phase=REVOKE,
                    presence=presence,
                    description=f"could not read who has access ({listed}); check by hand",
                    steps=[
                        f"Open {presence.account} and remove {employee['name']} if they still have a role."
                    ],
                    outcome="manual",
                )
            )
            continue
        leavers = [named(g, employee) for g in listed if is_leavers(g, employee, registry)]
        other_admins = [g for g in listed if g.is_admin and not is_leavers(g, employee, registry)]
        add_admin_key = None
        if any(g.is_admin for g in leavers) and not other_admins:
            person = admin_for_orphan(employee, registry)
            add_admin_key = action_key(emp, "add_admin", presence.id, person.email.casefold())
            actions.append(
                Action(
                    key=add_admin_key,
                    action="add_admin",
                    target=target,
                    phase=REVOKE,
                    presence=presence,
                    person=person,
                    description=f"{employee['name']} is the only admin: make {person.name} admin first",
                )
            )
        for grant in leavers:
            actions.append(
                Action(
                    key=revoke_key(emp, presence.id, grant.member_id),
                    action="revoke_role",
                    target=target,
                    phase=REVOKE,
                    presence=presence,
                    grant=grant,
                    after=add_admin_key if grant.is_admin else None,
                    description=f"remove {grant.role} role of {grant.identity}",
                )
            )
        if leavers and presence.shared_login:
            actions.append(
                Action(
                    key=action_key(emp, "rotate", presence.id),
                    action="rotate_credentials",
                    target=target,
                    phase=REVOKE,
                    presence=presence,
                    description="shared login: rotate password, check 2FA phone and recovery e-mail",
                    steps=rotation_steps(presence),
                    outcome="manual",
                )
            )
    for row in registry.personal_identities(emp):
        actions.append(
            Action(
                key=action_key(emp, "personal", row["platform"], row["handle"]),
                action="personal_not_touched",
                target=f"{row['platform']} {row['handle']}",
                phase="record",
                description="personal account of the employee: relevo never touches it",
                outcome="not_touched",
            )
        )
    return actions


def plan_record_checks(employee: dict[str, Any], clients: list[Client]) -> list[Action]:
    """Gaps in the HR record become tasks for a person, not guesses."""
    emp = employee["id"]
    actions = []
    if employee.get("successor") is None and clients:
        actions.append(
            Action(
                key=action_key(emp, "check", "successor"),
                action="check_record",
                target="HR record: successor",
                phase="record",
                outcome="manual",
                description=f"no successor in the HR record: {len(clients)} client(s) are introduced to an interim contact",
                steps=[
                    "Set the successor in the HR system.",
                    f"Run `relevo offboard {emp}` again: new drafts are made for the successor.",
                ],
            )
        )
    if employee.get("manager") is None:
        actions.append(
            Action(
                key=action_key(emp, "check", "manager"),
                action="check_record",
                target="HR record: manager",
                phase="record",
                outcome="manual",
                description="no manager in the HR record",
                steps=["Set the manager in the HR system."],
            )
        )
    return actions


def plan(
    employee: dict[str, Any],
    registry: Registry,
    members: dict[str, list[Grant] | str],
    clients: list[Client],
    drafts: list[Action],
    now: datetime,
    revoke_now: bool = False,
) -> Plan:
    """The whole plan; drafts come from relevo.rules.notices (rendering is not a rule)."""
    revoke_at = revoke_time(employee, registry, now, revoke_now)
    actions = plan_presences(employee, registry, members)
    if revoke_at is not None:
        for action in actions:
            if action.phase == REVOKE:
                action.outcome = "scheduled"
                action.due_at = revoke_at
                action.description += f" (at {revoke_at:%Y-%m-%d %H:%M %Z})"
    return Plan(
        employee=employee,
        revoke_at=revoke_at,
        actions=actions + plan_record_checks(employee, clients) + drafts,
    )


class Owners:
    """Which leaver of a batch a grant belongs to: employee id, registry mapping or work e-mail, never by name."""

    def __init__(self, employees: list[dict[str, Any]], registry: Registry) -> None:
        self.by_email = {e["email"].casefold(): e["id"] for e in employees if e.get("email")}
        self.ids = {e["id"] for e in employees}
        self.mapped = {
            (row["presence"], row["member"]): row["employee"]
            for row in registry.data.get("identities", [])
            if row["employee"] in self.ids
        }

    def of(self, presence_id: str, grant: Grant) -> str | None:
        if grant.employee_id is not None:
            return grant.employee_id if grant.employee_id in self.ids else None
        return (
            self.mapped.get((presence_id, grant.identity))
            or self.mapped.get((presence_id, grant.member_id))
            or self.by_email.get(grant.identity.casefold())
        )


def split_members(
    members: dict[str, list[Grant] | str], employees: list[dict[str, Any]], registry: Registry
) -> dict[str, dict[str, list[Grant] | str]]:
    """For a batch of leavers listed once: each leaver's view of every presence.

    A leaver sees their own grants plus the admins who stay. Admins leaving in the same
    batch are hidden from each other, so two sole admins leaving together each get an
    add-admin step instead of counting on the other (never orphan, batch edition).
    One pass over the grants: a layoff of 1,000 costs no more than listing them.
    """
    owners = Owners(employees, registry)
    views: dict[str, dict[str, list[Grant] | str]] = {e["id"]: {} for e in employees}
    for presence_id, listed in members.items():
        if isinstance(listed, str):
            for view in views.values():
                view[presence_id] = listed
            continue
        owned: dict[str, list[Grant]] = {}
        staying_admins: list[Grant] = []
        for grant in listed:
            owner = owners.of(presence_id, grant)
            if owner is not None:
                owned.setdefault(owner, []).append(grant)
            elif grant.is_admin:
                staying_admins.append(grant)
        for employee_id, view in views.items():
            view[presence_id] = owned.get(employee_id, []) + staying_admins
    return views
