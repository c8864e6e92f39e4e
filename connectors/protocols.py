"""What each kind of connector speaks: HR sources, client sources (CRMs), draft stores, social connectors.

The flows and the registry's wiring know connectors only through these protocols, so a new vendor is one
class that satisfies one of them. The data they exchange is relevo.model's. Optional abilities (a change
feed, an HR note, confirming removals, members one by one) are their own small runtime-checkable protocols:
the flow asks `isinstance(connector, ConfirmsRemoval)` rather than guessing from attribute names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from relevo.model import Client, Draft, Grant, Outcome, Person, Presence


class HRSource(Protocol):
    """An HR system (BambooHR, Factorial, the company's file, ...): employee records as relevo.schemas'
    employee.schema.json describes them, read fresh on every call (termination state changes)."""

    def employee(self, employee_id: str) -> dict[str, Any]:
        """One employee's record; relevo.connectors.errors.NotFound when there is none."""

    def employees(self, employee_ids: list[str]) -> dict[str, dict[str, Any] | Exception]:
        """Several records in as few calls as the vendor allows; a failed one is its error, not a raise."""

    def person(self, employee_id: str | None) -> dict[str, Any] | None:
        """Name and e-mail of a colleague (successor, manager), or None when there is no such employee."""


@runtime_checkable
class ChangeFeed(Protocol):
    """An HR source that can list who changed since a cursor (what `relevo reconcile` reads)."""

    def changed_since(self, since: str | None) -> tuple[list[str], str | None]:
        """The employee ids changed since the cursor, and the cursor to pass next time."""


@runtime_checkable
class WritesNotes(Protocol):
    """An HR source that keeps relevo's outcome report on the employee's record."""

    def write_note(self, employee_id: str, title: str, text: str, out_dir: Path) -> str:
        """Store the report; returns where a person finds it."""


class ClientSource(Protocol):
    """A CRM. The `_many` forms are the work; a layoff uses them so its calls are shared.

    The single forms are the same calls for one person.
    """

    def clients_of_many(self, owners: list[tuple[str | None, str]]) -> dict[str, list[Client]]:
        """For each (work e-mail, employee id): every client they own, with all their contacts."""

    def clients_of(self, owner_email: str | None, owner_id: str) -> list[Client]:
        """`clients_of_many` for one person."""

    def reassign_many(self, handovers: list[tuple[list[Client], Person]]) -> list[str]:
        """Make each successor the owner of their clients; one line per hand-over saying what changed."""

    def reassign(self, clients: list[Client], owner_email: str | None, successor: Person) -> str:
        """`reassign_many` for one hand-over."""


class DraftStore(Protocol):
    """Where approved notices land: always drafts in a person's mailbox or folder, never sent.

    Every implementation is idempotent on the draft key.
    """

    location: str  # where a person finds the drafts, for summaries
    reaches_mailbox: bool  # True when placing a draft puts it in someone's mailbox (needs approval first)

    def place(self, draft: Draft, *, first_attempt: bool = False) -> tuple[bool, str]:
        """Store the draft; returns (created, where). created is False when it was already there.

        first_attempt: the ledger has never started this draft, so no earlier call can have
        placed it and a store may skip looking for it (one call instead of two per draft).
        """

    def discard(self, draft: Draft) -> bool:
        """Remove the review copy of a rejected or outdated draft; True when there was one.

        Only a store that does not reach a mailbox keeps review copies (it places them before approval);
        a mailbox store places approved drafts only, so it never holds a copy to discard.
        """


class SocialConnector(Protocol):
    """A social platform: one protocol for all (`members`, `revoke`, `restore`, `add_admin`), so the flow
    never branches on the platform; a platform without an API answers with a manual task, not a call."""

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
