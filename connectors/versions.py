"""The vendor API versions relevo sends, with the date each stops being served: the one place to read them.

Vendors retire versions on a calendar (Meta's Graph API about two years after release,
LinkedIn's Marketing API versions at least one year after); a retired version fails every
call (LinkedIn answers HTTP 426). The connectors take their default version from here, a
presence's settings may name another one, and the README's version table and
`relevo doctor` read this dict to warn before an end date. When a vendor publishes a new
version: check its changelog for what changed in the calls relevo makes, then update the
entry (version, end date, source) and the mocks in tests/.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from relevo.connectors.health import Finding

WARN_DAYS = 60  # `relevo doctor` warns this many days before an end of support


@dataclass(frozen=True)
class ApiVersion:
    """One vendor API version: what relevo sends, until when the vendor serves it, and where that is written."""

    vendor: str
    version: str
    sent_as: str  # where the version goes in a request
    setting: str | None  # the presence setting that overrides it (registry `settings.<name>`), if any
    end_of_support: date | None  # None: the vendor has published no end date
    source: str  # the vendor's page that gives the end date
    note: str = ""
    also_known: tuple[str, ...] = ()  # other versions relevo has checked and may be set, same end date rule


VERSIONS: dict[str, ApiVersion] = {
    # v25.0 is the version of Meta's own Business SDK (facebook-python-business-sdk v25.0.x,
    # apiconfig.py) that the Meta connectors are checked against; Meta's version table gives
    # it until July 29, 2028 (v26.0, released 2026-07-29, has no end date yet).
    "meta": ApiVersion(
        vendor="Meta Graph API",
        version="v25.0",
        sent_as="URL path https://graph.facebook.com/{version}/",
        setting="graph_version",
        end_of_support=date(2028, 7, 29),
        source="https://developers.facebook.com/docs/graph-api/changelog/versions/",
    ),
    # LinkedIn's migrations table lists 202603 (March 2026) as active with sunset March 16, 2027;
    # after a sunset every call answers HTTP 426.
    "linkedin": ApiVersion(
        vendor="LinkedIn Marketing API (Community Management)",
        version="202603",
        sent_as="header LinkedIn-Version",
        setting="version",
        end_of_support=date(2027, 3, 16),
        source="https://learn.microsoft.com/linkedin/marketing/integrations/migrations",
    ),
    # TikTok's API for Business puts the version in the path; TikTok publishes no end date for v1.3.
    "tiktok": ApiVersion(
        vendor="TikTok API for Business",
        version="v1.3",
        sent_as="URL path /open_api/{version}/",
        setting=None,
        end_of_support=None,
        source="https://business-api.tiktok.com/portal/docs",
    ),
    # Hootsuite's REST API is /v1 with no published end date.
    "hootsuite": ApiVersion(
        vendor="Hootsuite REST API",
        version="v1",
        sent_as="URL path /v1/",
        setting=None,
        end_of_support=None,
        source="https://apidocs.hootsuite.com/docs/api/index.html",
    ),
    # BambooHR's spec and SDK use https://{companyDomain}.bamboohr.com/api/v1/; no end date published.
    "bamboohr": ApiVersion(
        vendor="BambooHR API",
        version="v1",
        sent_as="base URL https://{domain}.bamboohr.com/api/v1/",
        setting=None,
        end_of_support=None,
        source="https://documentation.bamboohr.com/docs/api-details",
        note="reports/custom (a layoff's batch read) is deprecated in the spec without a sunset date",
    ),
    # Factorial dates its versions in the path; the SDK (factorialco/factorial-api-sdks) has 2025-10-01 to
    # 2027-01-01. Factorial publishes no end-of-support dates (UNCONFIRMED).
    "factorial": ApiVersion(
        vendor="Factorial API",
        version="2026-07-01",
        sent_as="URL path /api/{version}/resources/",
        setting="version",
        end_of_support=None,
        source="https://apidoc.factorialhr.com/docs",
        also_known=("2026-10-01", "2027-01-01"),
    ),
    # Personio: API v2 in the path (reads, token), and the v1 document upload (v2 has none); no end date
    # published for either.
    "personio": ApiVersion(
        vendor="Personio API",
        version="v2",
        sent_as="URL path /v2/ (report upload: /v1/company/documents)",
        setting=None,
        end_of_support=None,
        source="https://developer.personio.de/reference/authentication",
    ),
    # HiBob's Public API is /v1 with no published end date; webhooks v1 can no longer be created since
    # 2025-04-17, relevo reads the v2 format (apidocs.hibob.com/docs/migrate-to-webhooks-v2).
    "hibob": ApiVersion(
        vendor="HiBob Public API",
        version="v1",
        sent_as="base URL https://api.hibob.com/v1/",
        setting=None,
        end_of_support=None,
        source="https://apidocs.hibob.com/reference/post_people-search",
        note="webhooks: version 2 payloads",
    ),
    # HubSpot's date versions are supported at least 18 months after release (2026-09 shipped 2026-09-08):
    # 2028-03-07 is that minimum (exact day UNCONFIRMED). Numbered paths (/crm/v3) go unsupported in
    # September 2027 (changelog "Legacy APIs and Apps: What's Going Unsupported and When").
    "hubspot": ApiVersion(
        vendor="HubSpot CRM API",
        version="2026-09",
        sent_as="URL path /crm/objects/{version}/, /crm/owners/{version}",
        setting="version",
        end_of_support=date(2028, 3, 7),
        source="https://developers.hubspot.com/docs/api-reference/legacy/migration-guide",
    ),
    "graph": ApiVersion(
        vendor="Microsoft Graph",
        version="v1.0",
        sent_as="URL path https://graph.microsoft.com/v1.0/",
        setting=None,
        end_of_support=None,
        source="https://learn.microsoft.com/graph/versioning-and-support",
    ),
    "gmail": ApiVersion(
        vendor="Gmail API",
        version="v1",
        sent_as="URL path /gmail/v1/",
        setting=None,
        end_of_support=None,
        source="https://developers.google.com/gmail/api/reference/rest",
    ),
}
# Registry connector names that share one vendor entry.
ENTRY_OF = {"meta_page": "meta", "meta_business": "meta"}


def entry_for(connector: str) -> str | None:
    """The VERSIONS key for a registry connector name, or None when relevo sends no API version to it."""
    key = ENTRY_OF.get(connector, connector)
    return key if key in VERSIONS else None


def version_of(vendor: str, settings: dict[str, object] | None = None) -> str:
    """The version to send: the presence's own setting if it names one, else relevo's default."""
    entry = VERSIONS[vendor]
    value = (settings or {}).get(entry.setting) if entry.setting else None
    return str(value) if value else entry.version


def days_left(vendor: str, today: date) -> int | None:
    """Days until the default version of `vendor` stops being served (negative once past), None without an end date."""
    end = VERSIONS[vendor].end_of_support
    return None if end is None else (end - today).days


def support(vendor: str, version: str, today: date, subject: str) -> Finding:
    """`relevo doctor`: whether `version` of `vendor` is served today (a warning WARN_DAYS before its end)."""
    entry = VERSIONS[vendor]
    if version != entry.version and version not in entry.also_known:
        return Finding(
            "warning",
            subject,
            f"{entry.vendor} {version}: relevo does not know when this version's "
            f"support ends (it checks {entry.version}; connectors/versions.py)",
        )
    end = entry.end_of_support
    if end is None:
        return Finding("ok", subject, f"{entry.vendor} {version}: no end of support announced")
    left = (end - today).days
    if left < 0:
        return Finding("error", subject, f"{entry.vendor} {version}: unsupported since {end.isoformat()}")
    if left <= WARN_DAYS:
        return Finding(
            "warning",
            subject,
            f"{entry.vendor} {version}: support ends {end.isoformat()} ({left} days): "
            "move to a newer version",
        )
    return Finding("ok", subject, f"{entry.vendor} {version}: supported until {end.isoformat()}")
