"""Load and check a company's relevo.yaml, and build the connectors it names.

The registry is the one place a company describes itself; everything is validated
on load (schema plus the cross-references a schema cannot express), so a run
never starts half-configured.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from relevo import schemas
from relevo.connectors.errors import ConfigurationError
from relevo.connectors.grants import Person, Presence, SocialConnector


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

    @property
    def company(self) -> dict[str, Any]:
        return self.data["company"]

    @property
    def company_slug(self) -> str:
        """The company's name as a key prefix (`Acme Iberia S.L.` → `acme-iberia-s-l`): two companies on one
        Prefect server never share an idempotency key."""
        return re.sub(r"[^a-z0-9]+", "-", self.company["name"].lower()).strip("-") or "company"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.company["timezone"])

    @property
    def default_language(self) -> str:
        return self.company["default_language"]

    @property
    def contact(self) -> Person:
        return Person(name=self.company["contact"]["name"], email=self.company["contact"]["email"])

    @property
    def break_glass(self) -> Person:
        admin = self.company["break_glass_admin"]
        return Person(name=admin["name"], email=admin["email"])

    @property
    def policy(self) -> dict[str, Any]:
        return self.data.get("policy", {})

    @property
    def output_dir(self) -> Path:
        return (self.base / self.data.get("storage", {}).get("output", "out")).resolve()

    @cached_property
    def database_url(self) -> str:
        """The database as an SQLAlchemy URL: `storage.database` (a path, a URL, or a secret reference
        holding one, since a server URL carries a password). Print it with `relevo.storage.db.masked`."""
        from relevo.storage.db import database_url  # SQLAlchemy (0.15 s to import) only for commands that open the database

        storage = self.data.get("storage", {})
        value = storage.get("database", f"{storage.get('output', 'out')}/relevo.db")
        if isinstance(value, dict):
            from relevo.config.secrets import resolve

            value = resolve(value, f"{self.path}: storage.database")
        try:
            return database_url(value, self.base)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{self.path}: {exc}") from None

    @property
    def inbox_retention_days(self) -> float:
        """How long finished webhook events stay in the inbox (the schema keeps it at 3 days or more)."""
        return float(self.data.get("storage", {}).get("inbox_retention_days", 30))

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
        for row in self.data.get("identities", []):
            if row["employee"] == employee_id and row["presence"] == presence_id:
                return row["member"]
        return None

    def personal_identities(self, employee_id: str) -> list[dict[str, str]]:
        return [r for r in self.data.get("personal_identities", []) if r["employee"] == employee_id]

    # One connector of each kind per loaded registry (so per run): what a connector learns once
    # (BambooHR's list fields, HubSpot owner ids, a manager shared by a layoff's leavers) is reused.
    @cached_property
    def _hr(self) -> Any:
        return _build(HR_CONNECTORS, "hr", self)

    @cached_property
    def _crm(self) -> Any:
        return _build(CRM_CONNECTORS, "crm", self)

    @cached_property
    def _drafts(self) -> Any:
        return _build(DRAFT_CONNECTORS, "drafts", self)

    def hr(self) -> Any:
        return self._hr

    def crm(self) -> Any:
        return self._crm

    def drafts(self) -> Any:
        return self._drafts

    def social(self, presence: Presence) -> SocialConnector:
        if presence.id not in self._social:
            builder = SOCIAL_CONNECTORS.get(presence.connector)
            if builder is None:
                raise ConfigurationError(
                    f"{self.path}: presence '{presence.id}' uses unknown connector '{presence.connector}'"
                    f" (known: {', '.join(sorted(SOCIAL_CONNECTORS))})"
                )
            self._social[presence.id] = rate_limited(builder(self, presence), presence.settings,
                                                     f"{self.path}: presence '{presence.id}'", self,
                                                     f"presence:{presence.id}")
        return self._social[presence.id]


def _build(table: dict[str, Callable[[Registry, dict[str, Any]], Any]], section: str, registry: Registry) -> Any:
    config = registry.data[section]
    builder = table.get(config["connector"])
    if builder is None:
        raise ConfigurationError(
            f"{registry.path}: {section}.connector '{config['connector']}' is unknown"
            f" (known: {', '.join(sorted(table))})"
        )
    return rate_limited(builder(registry, config), config, f"{registry.path}: {section}", registry, section)


def rate_limited(connector: Any, settings: dict[str, Any], where: str, registry: Registry, bucket: str) -> Any:
    """Apply `rate_limit: {calls: N, seconds: S}` (the vendor's published limit) to the connector's transport.

    With a PostgreSQL database the window is shared by every process using it (flows/storage/shared_limits.py),
    per company and connector; with SQLite it is this process's.
    """
    limit = settings.get("rate_limit")
    if limit is None:
        return connector
    from relevo.connectors.http import CallWindow, HttpClient

    calls, seconds = (limit.get("calls"), limit.get("seconds")) if isinstance(limit, dict) else (None, None)
    if not (isinstance(calls, int) and not isinstance(calls, bool) and calls > 0
            and isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0):
        raise ConfigurationError(f"{where}: rate_limit must be {{calls: a positive integer, seconds: a positive number}}")
    transports = [t for t in (getattr(connector, "client", None), getattr(connector, "http", None))
                  if isinstance(t, HttpClient)]
    if not transports:
        raise ConfigurationError(f"{where}: rate_limit is set but this connector makes no HTTP calls")
    shared = registry.database_url.startswith("postgresql")
    for transport in transports:
        if shared:
            from relevo.storage.db import engine_for
            from relevo.storage.shared_limits import SharedCallWindow

            transport.window = SharedCallWindow(engine_for(registry.database_url),
                                                f"{registry.company['name']}:{bucket}", calls, float(seconds))
        else:
            transport.window = CallWindow(calls, float(seconds))
    return connector


def _require(config: dict[str, Any], key: str, section: str, registry: Registry) -> Any:
    if key not in config:
        raise ConfigurationError(f"{registry.path}: {section}.{key} is required for connector '{config['connector']}'")
    return config[key]


# --- connector factories: the only place a connector name becomes an object ---

def _directory_hr(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.connectors.directory import DirectoryHR

    return DirectoryHR(registry.resolve_path(_require(config, "path", "hr", registry)), registry.default_language)


def _company_today(registry: Registry) -> Callable[[], Any]:
    """Today in the company's time zone: whether a last day is still ahead is a company-local question."""
    from datetime import datetime

    return lambda: datetime.now(registry.timezone).date()


def _bamboohr_hr(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.connectors.bamboohr import RESTRICTIONS, BambooHR
    from relevo.config.secrets import resolve

    domain = _require(config, "company_domain", "hr", registry)
    category = config.get("note_category")
    if registry.policy.get("write_hr_note", True) and category is None:
        raise ConfigurationError(f"{registry.path}: hr.note_category (the BambooHR file section id that receives "
                                 "relevo's report) is required while policy.write_hr_note is on")
    if category is not None and (isinstance(category, bool) or not isinstance(category, int)):
        raise ConfigurationError(f"{registry.path}: hr.note_category must be a number (a BambooHR file section id)")
    restrictions = config.get("restriction_fields", {})
    if not isinstance(restrictions, dict) or set(restrictions) - set(RESTRICTIONS):
        raise ConfigurationError(f"{registry.path}: hr.restriction_fields maps {' and/or '.join(RESTRICTIONS)} "
                                 "to BambooHR field names")
    api_key = resolve(_require(config, "api_key", "hr", registry), f"{registry.path}: hr.api_key (BambooHR)")
    return BambooHR(str(domain), api_key, default_language=registry.default_language, base_url=config.get("base_url"),
                    termination_types=registry.policy.get("termination_types"),
                    successor_field=config.get("successor_field"), language_field=config.get("language_field"),
                    restriction_fields=restrictions, note_category=category, today=_company_today(registry))


def _factorial_hr(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.connectors.factorial import DEFAULT_VERSION, Factorial
    from relevo.config.secrets import resolve

    api_key = resolve(_require(config, "api_key", "hr", registry), f"{registry.path}: hr.api_key (Factorial)")
    return Factorial(api_key, default_language=registry.default_language,
                     version=str(config.get("version", DEFAULT_VERSION)), base_url=config.get("base_url"),
                     termination_types=registry.policy.get("termination_types"), today=_company_today(registry))


def _directory_crm(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.connectors.directory import DirectoryCRM

    return DirectoryCRM(registry.resolve_path(_require(config, "path", "crm", registry)), registry.output_dir)


def _eml_drafts(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.connectors.drafts import EmlDrafts

    return EmlDrafts(registry.resolve_path(config.get("path", "out/drafts")))


def _hubspot_crm(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.connectors.hubspot import BASE_URL, VERSION, HubSpotCRM
    from relevo.config.secrets import resolve

    token = resolve(_require(config, "token", "crm", registry), f"{registry.path}: crm.token (HubSpot service key)")
    version = str(config.get("version", VERSION))
    if not re.fullmatch(r"\d{4}-(03|09)", version):
        raise ConfigurationError(f"{registry.path}: crm.version '{version}' is not a HubSpot date version like {VERSION}")
    return HubSpotCRM(token, config.get("base_url", BASE_URL), version=version)


def _graph_drafts(registry: Registry, config: dict[str, Any]) -> Any:
    """Client credentials of an app registration (MSAL renews the 60-90 minute tokens); `token` is for simulators."""
    from relevo.connectors.graph_drafts import BASE_URL, LOGIN_URL, ClientCredentials, GraphDrafts
    from relevo.config.secrets import resolve

    where = f"{registry.path}: drafts"
    if "token" in config and "client_id" not in config:  # a fixed token expires within 90 minutes: tests only
        return GraphDrafts(resolve(config["token"], f"{where}.token (Microsoft Graph)"), config.get("base_url", BASE_URL))
    tenant = str(_require(config, "tenant_id", "drafts", registry))
    client = str(_require(config, "client_id", "drafts", registry))
    if ("client_secret" in config) == ("certificate" in config):
        raise ConfigurationError(f"{where}: give client_secret or certificate (one of the two) for Microsoft Graph")
    if "client_secret" in config:
        tokens = ClientCredentials(tenant, client, secret=resolve(config["client_secret"], f"{where}.client_secret"),
                                   login_url=config.get("login_url", LOGIN_URL))
    else:
        certificate = config["certificate"]
        key = resolve(certificate.get("private_key"), f"{where}.certificate.private_key")
        tokens = ClientCredentials(tenant, client, certificate=(key, str(certificate["thumbprint"])),
                                   login_url=config.get("login_url", LOGIN_URL))
    return GraphDrafts(tokens, config.get("base_url", BASE_URL))


def _gmail_drafts(registry: Registry, config: dict[str, Any]) -> Any:
    """A service account key with domain-wide delegation: google-auth mints a token per mailbox."""
    from relevo.connectors.gmail_drafts import BASE_URL, GmailDrafts, ServiceAccount
    from relevo.config.secrets import resolve

    key = resolve(_require(config, "service_account", "drafts", registry),
                  f"{registry.path}: drafts.service_account (Gmail service account JSON key)")
    return GmailDrafts(ServiceAccount(key), config.get("base_url", BASE_URL), id_secret=draft_id_secret(registry.output_dir))


def draft_id_secret(output_dir: Path) -> bytes:
    """This installation's secret for opaque draft Message-IDs (relevo.connectors.drafts.message_id), made once.

    Kept in the output folder next to the ledger: the same secret finds the same drafts on every run.
    """
    import os
    import secrets

    from relevo.connectors.safe_files import NOFOLLOW

    path = output_dir / "draft-id.secret"
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW)
        with os.fdopen(fd, encoding="ascii") as handle:
            text = handle.read().strip()
        return bytes.fromhex(text)
    except (OSError, ValueError):
        raise ConfigurationError(f"{path}: unreadable (relevo's draft id secret): remove it to make a new one") from None


def _manual(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.manual import ManualConnector

    return ManualConnector()


HR_CONNECTORS: dict[str, Callable[[Registry, dict[str, Any]], Any]] = {
    "directory": _directory_hr, "bamboohr": _bamboohr_hr, "factorial": _factorial_hr}
CRM_CONNECTORS: dict[str, Callable[[Registry, dict[str, Any]], Any]] = {"directory": _directory_crm, "hubspot": _hubspot_crm}
DRAFT_CONNECTORS: dict[str, Callable[[Registry, dict[str, Any]], Any]] = {
    "eml": _eml_drafts, "graph": _graph_drafts, "gmail": _gmail_drafts}


def _settings(registry: Registry, presence: Presence, *required: str) -> tuple[dict[str, Any], str]:
    """An API presence's settings with its required keys checked, and its token resolved."""
    where = f"{registry.path}: presence '{presence.id}'"
    settings = presence.settings
    missing = [key for key in required if not settings.get(key)]
    if missing:
        raise ConfigurationError(f"{where}: settings.{', settings.'.join(missing)} is required for connector "
                                 f"'{presence.connector}'")
    from relevo.config.secrets import resolve

    return settings, resolve(settings.get("token"), f"{where} settings.token")


def _scim(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.scim import ADMIN_ROLES, ScimConnector

    settings, token = _settings(registry, presence, "base_url")
    return ScimConnector(settings["base_url"], token, delete=bool(settings.get("delete", False)),
                         admin_roles=settings.get("admin_roles", ADMIN_ROLES))


def _meta_page(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.meta import MetaPageConnector, graph_base_url, shared_pacer

    settings, token = _settings(registry, presence, "page_id", "business_id")
    base_url = graph_base_url(settings)  # base_url (host) and graph_version
    return MetaPageConnector(base_url, token, str(settings["page_id"]), str(settings["business_id"]),
                             pacer=shared_pacer(base_url, token, window=_usage_window(settings)))


def _meta_business(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.meta import MetaBusinessConnector, graph_base_url, shared_pacer

    settings, token = _settings(registry, presence, "business_id")
    base_url = graph_base_url(settings)  # base_url (host) and graph_version
    return MetaBusinessConnector(base_url, token, str(settings["business_id"]),
                                 pacer=shared_pacer(base_url, token, window=_usage_window(settings)))


def _usage_window(settings: dict[str, Any]) -> float:
    """Seconds over which Meta counts usage (`usage_window_seconds`; Meta's rolling hour by default)."""
    from relevo.connectors.meta import USAGE_WINDOW

    value = settings.get("usage_window_seconds", USAGE_WINDOW)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigurationError(f"usage_window_seconds must be a positive number of seconds, not {value!r}")
    return float(value)


def _hootsuite(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.hootsuite import ADMIN_PERMISSIONS, BASE_URL, HootsuiteConnector

    settings, token = _settings(registry, presence, "organization_id")
    return HootsuiteConnector(settings.get("base_url", BASE_URL), token, str(settings["organization_id"]),
                              admin_permissions=settings.get("admin_permissions", ADMIN_PERMISSIONS))


def _tiktok(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.tiktok import BASE_URL, TikTokConnector

    settings, token = _settings(registry, presence, "bc_id")
    return TikTokConnector(settings.get("base_url", BASE_URL), token, str(settings["bc_id"]))


def _linkedin(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.linkedin import BASE_URL, LinkedInConnector
    from relevo.connectors.versions import version_of

    settings, token = _settings(registry, presence, "organization_id")
    return LinkedInConnector(settings.get("base_url", BASE_URL), token, str(settings["organization_id"]),
                             version=version_of("linkedin", settings))


SOCIAL_CONNECTORS: dict[str, Callable[[Registry, Presence], SocialConnector]] = {
    "manual": _manual,
    "scim": _scim,
    "meta_page": _meta_page,
    "meta_business": _meta_business,
    "hootsuite": _hootsuite,
    "tiktok": _tiktok,
    "linkedin": _linkedin,
}


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
    if (isinstance(database, dict) and "env" in database) or (isinstance(database, str) and "://" in database):
        registry.database_url  # noqa: B018  a missing variable or driver is reported on load, in one line
    return registry


def _cross_check(path: Path, data: dict[str, Any]) -> None:
    try:
        ZoneInfo(data["company"]["timezone"])
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        raise ConfigurationError(f"{path}: company.timezone '{data['company']['timezone']}' is not an IANA time zone") from None
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
            raise ConfigurationError(f"{path}: identities[{index}].presence '{row['presence']}' is not a presence id")
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
            raise ConfigurationError(f"{path}: notices.templates: {file.name} is not a template relevo uses "
                                     "(<client_notice|handover_note|hr_note>.<language>.txt.j2 or notice.html.j2)")
        try:
            env.parse(file.read_text("utf-8"))
        except (TemplateSyntaxError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            raise ConfigurationError(f"{path}: notices.templates: {file.name}"
                                     f"{f' line {line}' if line else ''} does not parse ({exc})") from None
