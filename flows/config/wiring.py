"""Wiring: the only place a connector name in relevo.yaml becomes a connector object.

One factory per connector name (HR, CRM, draft store, social), each reading its section of the
registry and the typed settings (relevo.config.company) and resolving its secrets; plus the
shared call windows (`rate_limit`). relevo.config.registry's Registry calls these once per
connector and keeps what they build. Factories import their connector module lazily, so a command
pays only for the vendors its registry names.

Kept as one module: one factory per connector the registry can name, side by side, so adding a vendor
means adding one function here and nothing elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relevo.connectors.protocols import SocialConnector
from relevo.model import ConfigurationError, Presence

if TYPE_CHECKING:
    from relevo.config.registry import Registry


def build(
    table: dict[str, Callable[[Registry, dict[str, Any]], Any]], section: str, registry: Registry
) -> Any:
    config = registry.data[section]
    builder = table.get(config["connector"])
    if builder is None:
        raise ConfigurationError(
            f"{registry.path}: {section}.connector '{config['connector']}' is unknown"
            f" (known: {', '.join(sorted(table))})"
        )
    return rate_limited(builder(registry, config), config, f"{registry.path}: {section}", registry, section)


def rate_limited(
    connector: Any, settings: dict[str, Any], where: str, registry: Registry, bucket: str
) -> Any:
    """Apply `rate_limit: {calls: N, seconds: S}` (the vendor's published limit) to the connector's transport.

    With a PostgreSQL database the window is shared by every process using it (flows/storage/shared_limits.py),
    per company and connector; with SQLite it is this process's.
    """
    limit = settings.get("rate_limit")
    if limit is None:
        return connector
    from relevo.connectors.http import CallWindow, HttpClient

    calls, seconds = (limit.get("calls"), limit.get("seconds")) if isinstance(limit, dict) else (None, None)
    if not (
        isinstance(calls, int)
        and not isinstance(calls, bool)
        and calls > 0
        and isinstance(seconds, (int, float))
        and not isinstance(seconds, bool)
        and seconds > 0
    ):
        raise ConfigurationError(
            f"{where}: rate_limit must be {{calls: a positive integer, seconds: a positive number}}"
        )
    transports = [
        t
        for t in (getattr(connector, "client", None), getattr(connector, "http", None))
        if isinstance(t, HttpClient)
    ]
    if not transports:
        raise ConfigurationError(f"{where}: rate_limit is set but this connector makes no HTTP calls")
    shared = registry.database_url.startswith("postgresql")
    for transport in transports:
        if shared:
            from relevo.storage.db import engine_for
            from relevo.storage.shared_limits import SharedCallWindow

            transport.window = SharedCallWindow(  # type: ignore[assignment]  # same take() as CallWindow
                engine_for(registry.database_url), f"{registry.company.name}:{bucket}", calls, float(seconds)
            )
        else:
            transport.window = CallWindow(calls, float(seconds))
    return connector


def _require(config: dict[str, Any], key: str, section: str, registry: Registry) -> Any:
    if key not in config:
        raise ConfigurationError(
            f"{registry.path}: {section}.{key} is required for connector '{config['connector']}'"
        )
    return config[key]


# --- connector factories: the only place a connector name becomes an object ---


def _directory_hr(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.connectors.directory import DirectoryHR

    return DirectoryHR(
        registry.resolve_path(_require(config, "path", "hr", registry)), registry.default_language
    )


def _company_today(registry: Registry) -> Callable[[], Any]:
    """Today in the company's time zone: whether a last day is still ahead is a company-local question."""
    from datetime import datetime

    return lambda: datetime.now(registry.timezone).date()


def _bamboohr_hr(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.config.secrets import resolve
    from relevo.connectors.bamboohr import BambooHR
    from relevo.connectors.hr_records import RESTRICTIONS

    domain = _require(config, "company_domain", "hr", registry)
    category = config.get("note_category")
    if registry.policy.write_hr_note and category is None:
        raise ConfigurationError(
            f"{registry.path}: hr.note_category (the BambooHR file section id that receives "
            "relevo's report) is required while policy.write_hr_note is on"
        )
    if category is not None and (isinstance(category, bool) or not isinstance(category, int)):
        raise ConfigurationError(
            f"{registry.path}: hr.note_category must be a number (a BambooHR file section id)"
        )
    restrictions = config.get("restriction_fields", {})
    if not isinstance(restrictions, dict) or set(restrictions) - set(RESTRICTIONS):
        raise ConfigurationError(
            f"{registry.path}: hr.restriction_fields maps {' and/or '.join(RESTRICTIONS)} "
            "to BambooHR field names"
        )
    api_key = resolve(_require(config, "api_key", "hr", registry), f"{registry.path}: hr.api_key (BambooHR)")
    return BambooHR(
        str(domain),
        api_key,
        default_language=registry.default_language,
        base_url=config.get("base_url"),
        termination_types=registry.policy.termination_types,
        successor_field=config.get("successor_field"),
        language_field=config.get("language_field"),
        restriction_fields=restrictions,
        note_category=category,
        today=_company_today(registry),
    )


def _factorial_hr(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.config.secrets import resolve
    from relevo.connectors.factorial import DEFAULT_VERSION, Factorial

    api_key = resolve(_require(config, "api_key", "hr", registry), f"{registry.path}: hr.api_key (Factorial)")
    return Factorial(
        api_key,
        default_language=registry.default_language,
        version=str(config.get("version", DEFAULT_VERSION)),
        base_url=config.get("base_url"),
        termination_types=registry.policy.termination_types,
        today=_company_today(registry),
    )


def _hibob_hr(registry: Registry, config: dict[str, Any]) -> Any:
    """A HiBob service user (its ID and token, both secret references) and the folder for the report."""
    from relevo.config.secrets import resolve
    from relevo.connectors.hibob import HiBob
    from relevo.connectors.hr_records import RESTRICTIONS

    folder = config.get("document_folder")
    if registry.policy.write_hr_note and folder is None:
        raise ConfigurationError(
            f"{registry.path}: hr.document_folder (the HiBob document folder id that "
            "receives relevo's report) is required while policy.write_hr_note is on"
        )
    restrictions = config.get("restriction_fields", {})
    if not isinstance(restrictions, dict) or set(restrictions) - set(RESTRICTIONS):
        keys = " and/or ".join(RESTRICTIONS)
        raise ConfigurationError(f"{registry.path}: hr.restriction_fields maps {keys} to HiBob field paths")
    user = _require(config, "service_user_id", "hr", registry)  # an id, not a secret: text or a reference
    if isinstance(user, dict):
        user = resolve(user, f"{registry.path}: hr.service_user_id (HiBob)")
    token = resolve(_require(config, "token", "hr", registry), f"{registry.path}: hr.token (HiBob)")
    return HiBob(
        str(user),
        token,
        default_language=registry.default_language,
        base_url=config.get("base_url"),
        termination_types=registry.policy.termination_types,
        successor_field=config.get("successor_field"),
        language_field=config.get("language_field"),
        restriction_fields=restrictions,
        document_folder=None if folder is None else str(folder),
        today=_company_today(registry),
    )


def _personio_hr(registry: Registry, config: dict[str, Any]) -> Any:
    """API v2 client credentials (a token renewed before it expires); the report goes to a document
    category."""
    from relevo.config.secrets import resolve
    from relevo.connectors.hr_records import RESTRICTIONS
    from relevo.connectors.personio import APP_ID, Personio

    where = f"{registry.path}: hr"
    category = config.get("document_category")
    if registry.policy.write_hr_note and category is None:
        raise ConfigurationError(
            f"{where}.document_category (the Personio document category id that "
            "receives relevo's report) is required while policy.write_hr_note is on"
        )
    if category is not None and (isinstance(category, bool) or not isinstance(category, int)):
        raise ConfigurationError(
            f"{where}.document_category must be a number (a Personio document category id)"
        )
    restrictions = config.get("restriction_fields", {})
    if not isinstance(restrictions, dict) or set(restrictions) - set(RESTRICTIONS):
        raise ConfigurationError(
            f"{where}.restriction_fields maps {' and/or '.join(RESTRICTIONS)} to Personio custom attributes"
        )
    client_id = resolve(_require(config, "client_id", "hr", registry), f"{where}.client_id (Personio)")
    secret = resolve(_require(config, "client_secret", "hr", registry), f"{where}.client_secret (Personio)")
    return Personio(
        client_id,
        secret,
        default_language=registry.default_language,
        base_url=config.get("base_url"),
        app_id=str(config.get("app_id", APP_ID)),
        termination_types=registry.policy.termination_types,
        successor_field=config.get("successor_field"),
        language_field=config.get("language_field"),
        restriction_fields=restrictions,
        document_category=category,
        poll=str(config.get("poll", "employments")),
        today=_company_today(registry),
    )


def _directory_crm(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.connectors.directory import DirectoryCRM

    return DirectoryCRM(registry.resolve_path(_require(config, "path", "crm", registry)), registry.output_dir)


def _eml_drafts(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.connectors.drafts import EmlDrafts

    return EmlDrafts(registry.resolve_path(config.get("path", "out/drafts")))


def _hubspot_crm(registry: Registry, config: dict[str, Any]) -> Any:
    from relevo.config.secrets import resolve
    from relevo.connectors.hubspot import BASE_URL, VERSION, HubSpotCRM

    token = resolve(
        _require(config, "token", "crm", registry), f"{registry.path}: crm.token (HubSpot service key)"
    )
    version = str(config.get("version", VERSION))
    if not re.fullmatch(r"\d{4}-(03|09)", version):
        raise ConfigurationError(
            f"{registry.path}: crm.version '{version}' is not a HubSpot date version like {VERSION}"
        )
    return HubSpotCRM(token, config.get("base_url", BASE_URL), version=version)


def _graph_drafts(registry: Registry, config: dict[str, Any]) -> Any:
    """Client credentials of an app registration (MSAL renews the 60-90 minute tokens); `token` is for simulators."""
    from relevo.config.secrets import resolve
    from relevo.connectors.graph_drafts import BASE_URL, LOGIN_URL, ClientCredentials, GraphDrafts

    where = f"{registry.path}: drafts"
    if "token" in config and "client_id" not in config:  # a fixed token expires within 90 minutes: tests only
        return GraphDrafts(
            resolve(config["token"], f"{where}.token (Microsoft Graph)"), config.get("base_url", BASE_URL)
        )
    tenant = str(_require(config, "tenant_id", "drafts", registry))
    client = str(_require(config, "client_id", "drafts", registry))
    if ("client_secret" in config) == ("certificate" in config):
        raise ConfigurationError(
            f"{where}: give client_secret or certificate (one of the two) for Microsoft Graph"
        )
    if "client_secret" in config:
        tokens = ClientCredentials(
            tenant,
            client,
            secret=resolve(config["client_secret"], f"{where}.client_secret"),
            login_url=config.get("login_url", LOGIN_URL),
        )
    else:
        certificate = config["certificate"]
        key = resolve(certificate.get("private_key"), f"{where}.certificate.private_key")
        tokens = ClientCredentials(
            tenant,
            client,
            certificate=(key, str(certificate["thumbprint"])),
            login_url=config.get("login_url", LOGIN_URL),
        )
    return GraphDrafts(tokens, config.get("base_url", BASE_URL))


def _gmail_drafts(registry: Registry, config: dict[str, Any]) -> Any:
    """A service account key with domain-wide delegation: google-auth mints a token per mailbox."""
    from relevo.config.secrets import resolve
    from relevo.connectors.gmail_drafts import BASE_URL, GmailDrafts, ServiceAccount

    key = resolve(
        _require(config, "service_account", "drafts", registry),
        f"{registry.path}: drafts.service_account (Gmail service account JSON key)",
    )
    return GmailDrafts(
        ServiceAccount(key), config.get("base_url", BASE_URL), id_secret=draft_id_secret(registry.output_dir)
    )


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
        raise ConfigurationError(
            f"{path}: unreadable (relevo's draft id secret): remove it to make a new one"
        ) from None


def _manual(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.manual import ManualConnector

    return ManualConnector()


HR_CONNECTORS: dict[str, Callable[[Registry, dict[str, Any]], Any]] = {
    "directory": _directory_hr,
    "bamboohr": _bamboohr_hr,
    "factorial": _factorial_hr,
    "personio": _personio_hr,
    "hibob": _hibob_hr,
}
CRM_CONNECTORS: dict[str, Callable[[Registry, dict[str, Any]], Any]] = {
    "directory": _directory_crm,
    "hubspot": _hubspot_crm,
}
DRAFT_CONNECTORS: dict[str, Callable[[Registry, dict[str, Any]], Any]] = {
    "eml": _eml_drafts,
    "graph": _graph_drafts,
    "gmail": _gmail_drafts,
}


def _settings(registry: Registry, presence: Presence, *required: str) -> tuple[dict[str, Any], str]:
    """An API presence's settings with its required keys checked, and its token resolved."""
    where = f"{registry.path}: presence '{presence.id}'"
    settings = presence.settings
    missing = [key for key in required if not settings.get(key)]
    if missing:
        raise ConfigurationError(
            f"{where}: settings.{', settings.'.join(missing)} is required for connector "
            f"'{presence.connector}'"
        )
    from relevo.config.secrets import resolve

    return settings, resolve(settings.get("token"), f"{where} settings.token")


def _scim(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.scim import ADMIN_ROLES, ScimConnector

    settings, token = _settings(registry, presence, "base_url")
    return ScimConnector(
        settings["base_url"],
        token,
        delete=bool(settings.get("delete", False)),
        admin_roles=settings.get("admin_roles", ADMIN_ROLES),
    )


def _meta_page(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.meta import MetaPageConnector, graph_base_url, shared_pacer

    settings, token = _settings(registry, presence, "page_id", "business_id")
    base_url = graph_base_url(settings)  # base_url (host) and graph_version
    return MetaPageConnector(
        base_url,
        token,
        str(settings["page_id"]),
        str(settings["business_id"]),
        pacer=shared_pacer(base_url, token, window=_usage_window(settings)),
    )


def _meta_business(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.meta import MetaBusinessConnector, graph_base_url, shared_pacer

    settings, token = _settings(registry, presence, "business_id")
    base_url = graph_base_url(settings)  # base_url (host) and graph_version
    return MetaBusinessConnector(
        base_url,
        token,
        str(settings["business_id"]),
        pacer=shared_pacer(base_url, token, window=_usage_window(settings)),
    )


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
    return HootsuiteConnector(
        settings.get("base_url", BASE_URL),
        token,
        str(settings["organization_id"]),
        admin_permissions=settings.get("admin_permissions", ADMIN_PERMISSIONS),
    )


def _tiktok(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.tiktok import BASE_URL, TikTokConnector

    settings, token = _settings(registry, presence, "bc_id")
    return TikTokConnector(settings.get("base_url", BASE_URL), token, str(settings["bc_id"]))


def _linkedin(registry: Registry, presence: Presence) -> SocialConnector:
    from relevo.connectors.linkedin import BASE_URL, LinkedInConnector
    from relevo.connectors.versions import version_of

    settings, token = _settings(registry, presence, "organization_id")
    return LinkedInConnector(
        settings.get("base_url", BASE_URL),
        token,
        str(settings["organization_id"]),
        version=version_of("linkedin", settings),
    )


SOCIAL_CONNECTORS: dict[str, Callable[[Registry, Presence], SocialConnector]] = {
    "manual": _manual,
    "scim": _scim,
    "meta_page": _meta_page,
    "meta_business": _meta_business,
    "hootsuite": _hootsuite,
    "tiktok": _tiktok,
    "linkedin": _linkedin,
}
