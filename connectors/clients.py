"""Clients a leaver looked after, as every CRM connector returns them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from relevo.connectors.grants import Person

# The language to write in when all we know is a country: only countries with one main language.
# Countries with several (CH, BE, CA, LU, ...) are absent on purpose: a Geneva client reads French,
# a Zurich one German, and the country alone cannot tell. The Nordic countries and the Netherlands
# get English, the business language their clients of a Spanish agency expect when nothing else is known.
COUNTRY_LANGUAGE = {
    "ES": "es", "MX": "es", "AR": "es", "CL": "es", "CO": "es", "PE": "es", "UY": "es",
    "GB": "en", "IE": "en", "US": "en", "AU": "en", "NZ": "en", "NL": "en",
    "SE": "en", "DK": "en", "NO": "en", "FI": "en",
    "PT": "pt", "BR": "pt", "FR": "fr", "MC": "fr",
    "DE": "de", "AT": "de", "AD": "ca",
}


@dataclass(frozen=True)
class Contact:
    """A person at a client. Only name and e-mail are required; the rest makes the greeting right.

    language: a BCP 47 tag as the CRM holds it ("fr", "pt-BR"); country: ISO 3166 alpha-2 of the
    contact (for the locale of dates and a single-language country); first_name / last_name when
    the CRM keeps them apart; salutation: the title the CRM holds ("Ms", "Sra.", "Herr", "Dr"),
    used for the formal greeting and the grammatical gender of "Dear"/"Estimada"/"Sehr geehrte".
    """

    name: str
    email: str  # one plain address, checked by the connector that read it (relevo.connectors.addresses)
    language: str | None = None
    id: str | None = None
    country: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    salutation: str | None = None


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


def country_language(country: str | None) -> str | None:
    """The one main language of a country, or None where it has several (or is unknown)."""
    return COUNTRY_LANGUAGE.get((country or "").strip().upper())


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
