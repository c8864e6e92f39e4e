"""Load and check a company's relevo.yaml; the Registry hands out the connectors it names.

The registry is the one place a company describes itself; everything is validated
on load (schema plus the cross-references a schema cannot express), so a run
never starts half-configured.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from relevo import schemas
from relevo.config.company import Company, Policy, Storage
from relevo.connectors.protocols import ClientSource, DraftStore, HRSource, SocialConnector
from relevo.model import ConfigurationError, Person, Presence


class Registry:
    """The loaded relevo.yaml, with the connectors built from it (one of each per process).

    A plain class, not a dataclass, on purpose: Prefect walks a dataclass task parameter field by
    field, which raced with tasks adding connectors to the cache ("dictionary changed size").
    """

    def __init__(self, path: Path, data: dict[str, Any], given: str | None = None) -> None:
        self.path = path
        self.data = data
        # The path as the caller named it; None when found through RELEVO_REGISTRY or the working directory.
        # Runs this run starts are given the same, so each worker resolves it on its own machine.
        self.given = given
        self._social: dict[str, SocialConnector] = {}

    def __repr__(self) -> str:
        return f"Registry({str(self.path)!r})"

    @property
    def base(self) -> Path:
        return self.path.parent

    # The settings as typed data, defaults applied (relevo.config.company); built once per registry.
    @cached_property
    def company(self) -> Company:
        return Company.from_data(self.data["company"])

    @cached_property
    def policy(self) -> Policy:
        return Policy.from_data(self.data.get("policy"))

    @cached_property
    def storage(self) -> Storage:
        return Storage.from_data(self.data.get("storage"))

    @property
    def company_slug(self) -> str:
        """The company's name as a key prefix (`Acme Iberia S.L.` → `acme-iberia-s-l`): two companies on one
        Prefect server never share an idempotency key."""
        ascii_name = unicodedata.normalize("NFKD", self.company.name).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or "company"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.company.timezone)

    @property
    def default_language(self) -> str:
        return self.company.default_language

    @property
    def contact(self) -> Person:
        return self.company.contact

    @property
    def break_glass(self) -> Person:
        return self.company.break_glass_admin

    @property
    def output_dir(self) -> Path:
        return (self.base / self.storage.output).resolve()

    @cached_property
    def database_url(self) -> str:
        """The database as an SQLAlchemy URL: `storage.database` (a path, a URL, or a secret reference
        holding one, since a server URL carries a password). Print it with `relevo.storage.db.masked`."""
        from relevo.storage.db import (
            database_url,  # SQLAlchemy (0.15 s to import) only for commands that open the database
        )

        value = self.storage.database
        if isinstance(value, dict):
            from relevo.config.secrets import resolve

            value = resolve(value, f"{self.path}: storage.database")
        try:
            return database_url(value, self.base)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{self.path}: {exc}") from None

    def owned_database_url(self) -> str:
        """`database_url` once the database is known to be this company's (`relevo.storage.db.check_company`):
        what writes to the ledger or the inbox uses this."""
        from relevo.storage.db import check_company

        url = self.database_url
        try:
            check_company(url, self.company_slug, self.company.name)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{self.path}: {exc}") from None
        return url

    @property
    def inbox_retention_days(self) -> float:
        """How long finished webhook events stay in the inbox (the schema keeps it at 3 days or more)."""
        return self.storage.inbox_retention_days

    def resolve_path(self, value: str) -> Path:
        return (self.base / value).resolve()

    @cached_property
    def presences(self) -> list[Presence]:
        return [
            Presence(
                id=p["id"],
                platform=p["platform"],
                account=p["account"],
                connector=p["connector"],
                owner=p["owner"],
                shared_login=p.get("shared_login", False),
                url=p.get("url"),
                settings=p.get("settings", {}),
                declared=tuple(p.get("grants", [])),
            )
            for p in self.data["presences"]
        ]

    def identity(self, employee_id: str, presence_id: str) -> str | None:
        return self._identities.get((employee_id, presence_id))

    @cached_property
    def _identities(self) -> dict[tuple[str, str], str]:
        """(employee, presence) -> member, the first row winning: a sweep of 1,000 leavers asks for every
        grant of every presence, and a scan of the list each time cost seconds."""
        index: dict[tuple[str, str], str] = {}
        for row in self.data.get("identities", []):
            index.setdefault((row["employee"], row["presence"]), row["member"])
        return index

    def personal_identities(self, employee_id: str) -> list[dict[str, str]]:
        return [r for r in self.data.get("personal_identities", []) if r["employee"] == employee_id]

    # One connector of each kind per loaded registry (so per run): what a connector learns once
    # (BambooHR's list fields, HubSpot owner ids, a manager shared by a layoff's leavers) is reused.
    @cached_property
    def _hr(self) -> HRSource:
        from relevo.config.wiring import HR_CONNECTORS, build

        return build(HR_CONNECTORS, "hr", self)

    @cached_property
    def _crm(self) -> ClientSource:
        from relevo.config.wiring import CRM_CONNECTORS, build

        return build(CRM_CONNECTORS, "crm", self)

    @cached_property
    def _drafts(self) -> DraftStore:
        from relevo.config.wiring import DRAFT_CONNECTORS, build

        return build(DRAFT_CONNECTORS, "drafts", self)

    def hr(self) -> HRSource:
        return self._hr

    def crm(self) -> ClientSource:
        return self._crm

    def drafts(self) -> DraftStore:
        return self._drafts

    def social(self, presence: Presence) -> SocialConnector:
        if presence.id not in self._social:
            from relevo.config.wiring import SOCIAL_CONNECTORS, rate_limited

            builder = SOCIAL_CONNECTORS.get(presence.connector)
            if builder is None:
                raise ConfigurationError(
                    f"{self.path}: presence '{presence.id}' uses unknown connector '{presence.connector}'"
                    f" (known: {', '.join(sorted(SOCIAL_CONNECTORS))})"
                )
            self._social[presence.id] = rate_limited(
                builder(self, presence),
                presence.settings,
                f"{self.path}: presence '{presence.id}'",
                self,
                f"presence:{presence.id}",
            )
        return self._social[presence.id]


REGISTRY_ENV = "RELEVO_REGISTRY"
DEFAULT_REGISTRY = "relevo.yaml"


def registry_location(path: str | Path | None) -> Path:
    """Where the registry is: the path given, else `$RELEVO_REGISTRY`, else relevo.yaml in the working directory.

    A flow started without a path (the deployments' default) finds the registry on the worker that runs
    it, so no machine's absolute path travels with a run (README, "Running it for real").
    """
    if path is None or not str(path).strip():
        path = os.environ.get(REGISTRY_ENV, "").strip() or DEFAULT_REGISTRY
    return Path(path).expanduser().resolve()


def load_registry(path: str | Path | None = None) -> Registry:
    """Read, validate and cross-check a registry file; ConfigurationError names what is wrong.

    `path` None: `$RELEVO_REGISTRY`, else relevo.yaml in the working directory (`registry_location`).
    """
    given = None if path is None or not str(path).strip() else str(path)
    path = registry_location(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: registry file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read registry ({type(exc).__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigurationError(f"{path}: not valid YAML{where}") from None
    try:
        schemas.check("registry", data, str(path))
    except schemas.SchemaError as exc:
        raise ConfigurationError(str(exc)) from None
    _cross_check(path, data)
    registry = Registry(path=path, data=data, given=given)
    database = data.get("storage", {}).get("database")
    if (isinstance(database, dict) and "env" in database) or (
        isinstance(database, str) and "://" in database
    ):
        registry.database_url  # noqa: B018  a missing variable or driver is reported on load, in one line
    return registry


def _cross_check(path: Path, data: dict[str, Any]) -> None:
    try:
        ZoneInfo(data["company"]["timezone"])
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        raise ConfigurationError(
            f"{path}: company.timezone '{data['company']['timezone']}' is not an IANA time zone"
        ) from None
    from relevo.connectors.addresses import parse_email
    from relevo.connectors.errors import BadRecord

    for field in ("contact", "break_glass_admin"):
        try:
            parse_email(data["company"][field]["email"], f"{path}: company.{field}.email")
        except BadRecord as exc:
            raise ConfigurationError(str(exc)) from None
    ids = [p["id"] for p in data["presences"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigurationError(f"{path}: presences: duplicate id {', '.join(duplicates)}")
    for index, row in enumerate(data.get("identities", [])):
        if row["presence"] not in ids:
            raise ConfigurationError(
                f"{path}: identities[{index}].presence '{row['presence']}' is not a presence id"
            )
    _check_templates(path, data.get("notices") or {})


# A company template is named like relevo's: <kind>.<language>.txt.j2 (or the shared notice.html.j2).
TEMPLATE_NAME = r"^(client_notice|handover_note|hr_note)\.[a-z]{2}(-[A-Z]{2})?\.txt\.j2$|^notice\.html\.j2$"


def _check_templates(path: Path, section: dict[str, Any]) -> None:
    """The company's template folder exists and every template in it parses: a typo is found on load,
    not when the first notice of a layoff is rendered."""
    import re

    folder = section.get("templates")
    if not folder:
        return
    where = (path.parent / folder).resolve()
    if not where.is_dir():
        raise ConfigurationError(f"{path}: notices.templates '{folder}' is not a folder")
    from jinja2 import Environment, TemplateSyntaxError

    env = Environment()
    for file in sorted(where.iterdir()):
        if not file.name.endswith(".j2"):
            continue
        if not re.match(TEMPLATE_NAME, file.name):
            raise ConfigurationError(
                f"{path}: notices.templates: {file.name} is not a template relevo uses "
                "(<client_notice|handover_note|hr_note>.<language>.txt.j2 or notice.html.j2)"
            )
        try:
            env.parse(file.read_text("utf-8"))
        except (TemplateSyntaxError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            raise ConfigurationError(
                f"{path}: notices.templates: {file.name}"
                f"{f' line {line}' if line else ''} does not parse ({exc})"
            ) from None
