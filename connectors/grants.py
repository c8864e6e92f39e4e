"""What every social connector speaks: presences, grants and outcomes.

One protocol for all platforms (`members`, `revoke`, `restore`, `add_admin`) so the
flow never branches on the platform; a platform without an API answers with a
manual task instead of a call.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

OutcomeStatus = Literal["done", "already_done", "manual", "failed"]


@dataclass(frozen=True)
class Person:
    """Someone relevo may name in a task or grant a role to (successor, break-glass admin)."""

    name: str
    email: str
    id: str | None = None


@dataclass(frozen=True)
class Presence:
    """A company-owned account on one platform, as declared in the registry."""

    id: str
    platform: str
    account: str
    connector: str
    owner: str = "company"
    shared_login: bool = False
    url: str | None = None
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    declared: tuple[dict[str, Any], ...] = ()  # registry-declared grants (manual platforms)


@dataclass(frozen=True)
class Grant:
    """One person's role on one presence, as the platform (or the registry) reports it."""

    presence_id: str
    member_id: str  # the platform's id for this membership (business-user id, SCIM id, ...)
    identity: str  # e-mail or user name as the platform shows it
    role: str
    is_admin: bool
    display_name: str = ""
    employee_id: str | None = None  # set when the registry maps this member to an employee
    pre_state: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class Outcome:
    """What one call did. `pre_state` is what restore needs; `steps` are an operator's task."""

    status: OutcomeStatus
    detail: str
    pre_state: dict[str, Any] | None = None
    steps: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The detail, then numbered steps: the one text form `relevo tasks` reads back."""
        if not self.steps:
            return self.detail
        return self.detail + " | steps: " + " ".join(f"{i}. {s}" for i, s in enumerate(self.steps, 1))


class SocialConnector(Protocol):
    platform: str
    # Actions whose outcome is always a task for a person ("revoke_role", "add_admin"): a dry run shows
    # them as manual, as the real run records them.
    by_hand: frozenset[str]

    def members(self, presence: Presence) -> list[Grant]:
        """Everyone holding a role on the presence, read live where the platform allows."""

    def revoke(self, presence: Presence, grant: Grant) -> Outcome:
        """Remove the grant; an already-absent grant is `already_done`, never an error."""

    def restore(self, presence: Presence, grant: Grant, pre_state: dict[str, Any]) -> Outcome:
        """Put back a revoked grant from its recorded pre-state (rescinded termination)."""

    def add_admin(self, presence: Presence, person: Person) -> Outcome:
        """Give `person` an admin role so removing the leaver never orphans the presence."""


@runtime_checkable
class ConfirmsRemoval(Protocol):
    """An API connector whose removals are checked against the vendor's live state before they count.

    A vendor's "removed" (or "already gone") answer is a claim: Meta's 100/33 also means "no
    permission to see it", a 404 may be a wrong path. The flow records a removal `done` only once
    `holders`, one fresh read of the presence (one per batch, whatever the number of leavers),
    no longer lists the grant's `member_id`; otherwise the action is `failed` with `removal_needs`.
    """

    removal_needs: str  # what the credential needs to remove a role here (the fix a person reads)

    def holders(self, presence: Presence) -> set[str]:
        """The member ids that hold a live grant on the presence now, from one fresh read."""


def still_held(connector: ConfirmsRemoval, presence: Presence, grants: list[Grant]) -> set[str]:
    """The member ids among `grants` that the vendor still lists: one read for the whole list."""
    live = connector.holders(presence)
    return {g.member_id for g in grants if g.member_id in live}


@runtime_checkable
class MembersOneByOne(Protocol):
    """A connector whose vendor needs calls per member to list them (Hootsuite) also offers them one by one."""

    def each_member(self, presence: Presence) -> Iterator[Grant]:
        """Each member as soon as it is read; a person is at most one member, so a layoff can remove
        a leaver found early without waiting for the rest of the list."""


def snapshot(grant: Grant, **vendor: Any) -> dict[str, Any]:
    """The pre-state to record for a grant: enough to rebuild it and to restore it later."""
    return {"member_id": grant.member_id, "identity": grant.identity, "role": grant.role,
            "is_admin": grant.is_admin, "display_name": grant.display_name, **vendor}


def grant_from_pre_state(presence_id: str, pre_state: dict[str, Any]) -> Grant:
    """Rebuild a revoked grant from the ledger's pre-state alone (rescinded termination)."""
    return Grant(
        presence_id=presence_id,
        member_id=str(pre_state.get("member_id", "")),
        identity=str(pre_state.get("identity", "")),
        role=str(pre_state.get("role", "")),
        is_admin=bool(pre_state.get("is_admin", False)),
        display_name=str(pre_state.get("display_name", "")),
        pre_state=dict(pre_state),
    )
