"""Platforms without a member-management API (X, YouTube, Sprout Social, Buffer, ...).

relevo cannot remove anyone there, so it writes the operator's task with exact
steps instead, and reads who holds which role from the registry. A task is an
honest outcome: the run ends "with manual actions" until a person closes it.
"""

from __future__ import annotations

from typing import Any

from relevo.model import WHERE, Grant, Outcome, Person, Presence

ADMIN_ROLES = {"admin", "administrator", "owner", "manage", "super admin", "superadmin"}


def declared_grants(presence: Presence) -> list[Grant]:
    """Grants as the registry declares them (identity = employee id until matched)."""
    grants = []
    for row in presence.declared:
        role = str(row["role"])
        employee = row.get("employee")
        identity = row.get("identity") or f"employee:{employee}"
        grants.append(
            Grant(
                presence_id=presence.id,
                member_id=f"employee-{employee}" if employee else identity,  # stable when the list is edited
                identity=identity,
                role=role,
                is_admin=bool(row.get("admin", role.lower() in ADMIN_ROLES)),
                employee_id=str(employee) if employee else None,
                pre_state={"role": role, "source": "registry"},
            )
        )
    return grants


class ManualConnector:
    """Turns each action into an operator task; the registry is its member list."""

    platform = "manual"
    by_hand = frozenset(
        {"revoke_role", "add_admin"}
    )  # every outcome is a task for a person (dry runs say so)

    def members(self, presence: Presence) -> list[Grant]:
        return declared_grants(presence)

    def revoke(self, presence: Presence, grant: Grant) -> Outcome:
        where = WHERE.get(presence.platform, f"{presence.platform} account settings")
        steps = [
            f"Open {where} for “{presence.account}”.",
            f"Remove {grant.display_name or grant.identity} (role: {grant.role}).",
            "Check the list again: the person no longer appears.",
            "Update relevo.yaml: delete this grant from the presence.",
        ]
        if presence.platform in {"buffer", "hootsuite", "sprout_social"}:
            steps.append(
                "If they connected social profiles to this tool, reconnect those profiles with a "
                "company login. Do not delete them: deleting wipes the queued posts."
            )
        return Outcome(
            "manual",
            f"remove {grant.role} role by hand ({presence.platform} has no API for this)",
            pre_state=dict(grant.pre_state),
            steps=steps,
        )

    def restore(self, presence: Presence, grant: Grant, pre_state: dict[str, Any]) -> Outcome:
        where = WHERE.get(presence.platform, f"{presence.platform} account settings")
        return Outcome(
            "manual",
            f"give back the {pre_state.get('role', grant.role)} role by hand",
            steps=[
                f"Open {where} for “{presence.account}”.",
                f"Add {grant.display_name or grant.identity} again with role {pre_state.get('role', grant.role)}.",
            ],
        )

    def add_admin(self, presence: Presence, person: Person) -> Outcome:
        where = WHERE.get(presence.platform, f"{presence.platform} account settings")
        return Outcome(
            "manual",
            f"add {person.name} as admin before removing the leaver",
            steps=[
                f"Open {where} for “{presence.account}”.",
                f"Add {person.name} <{person.email}> with the admin role and confirm they accepted.",
                "Only then remove the leaver (next task).",
            ],
        )
