"""Clients a leaver looked after, as every CRM connector returns them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from connectors.grants import Person

COUNTRY_LANGUAGE = {
    "ES": "es", "MX": "es", "AR": "es", "CL": "es", "CO": "es", "PE": "es", "UY": "es",
    "GB": "en", "IE": "en", "US": "en", "CA": "en", "AU": "en", "NZ": "en", "NL": "en",
    "SE": "en", "DK": "en", "NO": "en", "FI": "en",
    "PT": "pt", "BR": "pt", "FR": "fr", "BE": "fr", "LU": "fr", "MC": "fr",
    "DE": "de", "AT": "de", "CH": "de", "AD": "ca",
}


@dataclass(frozen=True)
class Contact:
    name: str
    email: str  # one plain address, checked by the connector that read it (connectors.addresses)
    language: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class Client:
    id: str
    company: str
    owner_id: str
    contacts: tuple[Contact, ...] = ()
    language: str | None = None
    country: str | None = None
    crm_ids: dict[str, list[str]] = field(default_factory=dict, hash=False, compare=False)
    # Set when the CRM record cannot be used as it is (a contact e-mail that is not one plain address):
    # one line naming the record and the field. Such a client gets no notice and no hand-over, and one
    # failed action saying what to fix; the leaver's other clients go on.
    problem: str | None = None


def notice_language(contact: Contact, client: Client, default: str) -> str:
    """The contact's language, else the client's, else its country's, else the company default."""
    for candidate in (contact.language, client.language):
        if candidate:
            return candidate.split("-")[0].lower()
    if client.country and client.country.upper() in COUNTRY_LANGUAGE:
        return COUNTRY_LANGUAGE[client.country.upper()]
    return default


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
