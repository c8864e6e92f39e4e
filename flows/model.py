"""relevo's domain model: the words every part of relevo shares, in one place.

Types (a person, a presence and its grants, what one call did, a client, a draft), the outcome
vocabulary and the sets derived from it, how action keys are built and read, operator text for
platforms without an API, and the root of relevo's errors. Plain data and pure functions only:
no Prefect, no I/O, so connectors, rules, storage and flows can all import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RelevoError(Exception):
    """Root of every error relevo raises on purpose (catch it to tell relevo's own failures from bugs)."""


class ConfigurationError(RelevoError):
    """The registry, a data file or a secret reference is wrong; the message names it."""


# ---------------------------------------------------------------- outcome vocabulary


class Status(StrEnum):
    """Every outcome an action can have: relevo.schemas' outcome.schema.json `outcome` enum, in order.

    A StrEnum: members compare equal to their text, so ledger rows (plain strings) and members mix.
    """

    DONE = "done"
    ALREADY_DONE = "already_done"
    MANUAL = "manual"
    FAILED = "failed"
    PLANNED = "planned"
    SCHEDULED = "scheduled"
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    NOT_TOUCHED = "not_touched"
    CANCELLED = "cancelled"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"


# The ledger's in-flight marker: written before an outside call, replaced by the call's outcome. Never an
# outcome itself (the audit log holds none), so it is not a Status.
STARTED = "started"

# Finished: a rerun does not repeat the action.
FINISHED = frozenset(
    {Status.DONE, Status.ALREADY_DONE, Status.REJECTED, Status.NOT_TOUCHED, Status.CANCELLED}
)
# What one connector call can end with (Outcome.status).
CALL_OUTCOMES = frozenset({Status.DONE, Status.ALREADY_DONE, Status.MANUAL, Status.FAILED})
# A person must do or fix something: a manual step, or a failure to look at.
TASKS = frozenset({Status.MANUAL, Status.FAILED})
# Waits for a person: the tasks, and client notices awaiting approval (`relevo tasks`, the "open" count).
NEEDS_PERSON = TASKS | {Status.AWAITING_APPROVAL}
# The outcomes whose row holds a version of what was approved or shown (relevo.engine.approval.fingerprint).
VERSIONED = frozenset({Status.AWAITING_APPROVAL, Status.DONE, Status.REJECTED})


def texts(statuses: frozenset[Status]) -> list[str]:
    """The statuses as plain sorted text, for SQL `IN` lists (drivers bind plain strings)."""
    return sorted(str(status.value) for status in statuses)


# ---------------------------------------------------------------- action keys


@dataclass(frozen=True)
class ActionKey:
    """An action's key in the ledger: `employee:kind:subject:rest`, one action per key, ever.

    `subject` is what the action is about (presence id, client id, ...); `rest` may itself hold ':'
    (a SCIM member id, an e-mail), so a key is split at its first three colons only.
    """

    employee_id: str
    kind: str
    subject: str = ""
    rest: str = ""

    @classmethod
    def parse(cls, key: str) -> ActionKey:
        """The parts of a key; missing parts are empty (`e1:check:successor` has no `rest`)."""
        parts = key.split(":", 3) + ["", "", ""]
        return cls(parts[0], parts[1], parts[2], parts[3])


def action_key(employee_id: str, kind: str, *parts: str) -> str:
    """The key of one action: the only place keys are joined (ActionKey.parse reads them)."""
    return ":".join((employee_id, kind, *parts))


def revoke_key(employee_id: str, presence_id: str, member_id: str) -> str:
    """The key of removing one grant; rescind finds the presence and member again with ActionKey.parse."""
    return action_key(employee_id, "revoke", presence_id, member_id)


# ---------------------------------------------------------------- people, presences, grants, outcomes


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
    """What one call did. `pre_state` is what restore needs; `steps` are an operator's task.

    `status` is one of CALL_OUTCOMES; a connector may pass its text ("manual"): it is checked and
    turned into the Status here, so a misspelt outcome fails where it is made, not in the ledger.
    """

    status: Status | str  # text is accepted and turned into the Status in __post_init__
    detail: str
    pre_state: dict[str, Any] | None = None
    steps: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        status = Status(self.status)
        if status not in CALL_OUTCOMES:
            raise ValueError(f"a call's outcome is one of {sorted(CALL_OUTCOMES)}, not {status.value!r}")
        self.status = status

    def summary(self) -> str:
        """The detail, then numbered steps: how a task reads as one line (artifacts, the HR note)."""
        return with_steps(self.detail, self.steps)


def with_steps(detail: str, steps: list[str]) -> str:
    """A detail followed by its numbered steps, on one line."""
    if not steps:
        return detail
    return detail + " | steps: " + " ".join(f"{i}. {s}" for i, s in enumerate(steps, 1))


def snapshot(grant: Grant, **vendor: Any) -> dict[str, Any]:
    """The pre-state to record for a grant: enough to rebuild it and to restore it later."""
    return {
        "member_id": grant.member_id,
        "identity": grant.identity,
        "role": grant.role,
        "is_admin": grant.is_admin,
        "display_name": grant.display_name,
        **vendor,
    }


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


# ---------------------------------------------------------------- clients


# The language to write in when all we know is a country: only countries with one main language.
# Countries with several (CH, BE, CA, LU, ...) are absent on purpose: a Geneva client reads French,
# a Zurich one German, and the country alone cannot tell. The Nordic countries and the Netherlands
# get English, the business language their clients of a Spanish agency expect when nothing else is known.
COUNTRY_LANGUAGE = {
    "ES": "es",
    "MX": "es",
    "AR": "es",
    "CL": "es",
    "CO": "es",
    "PE": "es",
    "UY": "es",
    "GB": "en",
    "IE": "en",
    "US": "en",
    "AU": "en",
    "NZ": "en",
    "NL": "en",
    "SE": "en",
    "DK": "en",
    "NO": "en",
    "FI": "en",
    "PT": "pt",
    "BR": "pt",
    "FR": "fr",
    "MC": "fr",
    "DE": "de",
    "AT": "de",
    "AD": "ca",
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
    """A client company a leaver looked after, as every CRM connector returns it."""

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


# ---------------------------------------------------------------- drafts


@dataclass(frozen=True)
class Draft:
    """A client notice as placed in a mailbox's Drafts folder: never sent by relevo."""

    key: str  # the ledger's action key: one draft per key, ever; never written into the message
    mailbox: (
        str  # whose Drafts folder (successor or manager); addresses here passed relevo.connectors.addresses
    )
    sender_name: str
    to_name: str
    to_email: str
    subject: str
    text: str
    html: str
    language: str
    cc: tuple[str, ...] = ()
    group: str = ""  # the client id: drafts to one client company are kept together


# ---------------------------------------------------------------- operator text


# Where a person changes roles on each platform, for tasks on platforms (or calls) without an API.
WHERE = {
    "x": "x.com → Settings and privacy → Your account / Delegate (for team access)",
    "youtube": "studio.youtube.com → Settings → Permissions (brand account: myaccount.google.com/brandaccounts → Manage permissions)",
    "sprout_social": "Sprout Social → Settings → Users & Permissions",
    "buffer": "Buffer → Settings → Team (Organization)",
    "facebook_page": "business.facebook.com → Settings → Pages → the Page → People",
    "instagram": "business.facebook.com → Settings → Instagram accounts → the account → People",
    "meta_business": "business.facebook.com → Settings → Users → People",
    "linkedin_page": "linkedin.com → the Page → Admin tools → Manage admins",
    "tiktok": "business.tiktok.com → Business Center → Users",
    "hootsuite": "hootsuite.com → Organization → Members",
}


def rotation_steps(presence: Presence) -> list[str]:
    """A shared login outlives the person who knew it: change everything they could reuse."""
    steps = [
        f"Change the password of “{presence.account}” and store it in the company password manager.",
        "Check the phone number and recovery e-mail on file: both must be the company's, not the leaver's.",
        "Review two-factor authentication: remove the leaver's authenticator app or phone, add the company's.",
        "Sign out all other sessions.",
    ]
    if presence.platform == "x":
        steps.append("On X also review Settings → Security → Apps and sessions, and delegated accounts.")
    return steps
