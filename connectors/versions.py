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


@dataclass(frozen=True)
class ApiVersion:
    """One vendor API version: what relevo sends, until when the vendor serves it, and where that is written."""

    vendor: str
    version: str
    sent_as: str  # where the version goes in a request
    setting: str | None  # the presence setting that overrides it (registry `settings.<name>`), if any
    end_of_support: date | None  # None: the vendor has published no end date
    source: str  # the vendor's page that gives the end date


VERSIONS: dict[str, ApiVersion] = {
    # v25.0 is the version of Meta's own Business SDK (facebook-python-business-sdk v25.0.x,
    # apiconfig.py) that the Meta connectors are checked against; Meta's version table gives
    # it until July 29, 2028 (v26.0, released 2026-07-29, has no end date yet).
    "meta": ApiVersion(
        vendor="Meta Graph API", version="v25.0", sent_as="URL path https://graph.facebook.com/{version}/",
        setting="graph_version", end_of_support=date(2028, 7, 29),
        source="https://developers.facebook.com/docs/graph-api/changelog/versions/"),
    # LinkedIn's migrations table lists 202603 (March 2026) as active with sunset March 16, 2027;
    # after a sunset every call answers HTTP 426.
    "linkedin": ApiVersion(
        vendor="LinkedIn Marketing API (Community Management)", version="202603",
        sent_as="header LinkedIn-Version", setting="version", end_of_support=date(2027, 3, 16),
        source="https://learn.microsoft.com/linkedin/marketing/integrations/migrations"),
    # TikTok's API for Business puts the version in the path; TikTok publishes no end date for v1.3.
    "tiktok": ApiVersion(
        vendor="TikTok API for Business", version="v1.3", sent_as="URL path /open_api/{version}/",
        setting=None, end_of_support=None,
        source="https://business-api.tiktok.com/portal/docs"),
    # Hootsuite's REST API is /v1 with no published end date.
    "hootsuite": ApiVersion(
        vendor="Hootsuite REST API", version="v1", sent_as="URL path /v1/", setting=None,
        end_of_support=None, source="https://apidocs.hootsuite.com/docs/api/index.html"),
}


def version_of(vendor: str, settings: dict[str, object] | None = None) -> str:
    """The version to send: the presence's own setting if it names one, else relevo's default."""
    entry = VERSIONS[vendor]
    value = (settings or {}).get(entry.setting) if entry.setting else None
    return str(value) if value else entry.version


def days_left(vendor: str, today: date) -> int | None:
    """Days until the default version of `vendor` stops being served (negative once past), None without an end date."""
    end = VERSIONS[vendor].end_of_support
    return None if end is None else (end - today).days
