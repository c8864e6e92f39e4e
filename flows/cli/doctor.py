"""`relevo doctor`: is this registry ready for a real termination? Reads only; changes nothing.

For the registry it checks, in order: every secret reference resolves; each connector (HR, CRM,
drafts, every API presence) answers an authenticated read through its `check()` (or, for a
presence without one, a members read), with the permissions the vendor lets a read reveal; the
vendor API versions in use are supported (connectors/versions.py: a warning WARN_DAYS before an
end date); webhook subscriptions are healthy (Factorial disables one after 48 h of failures); with
PREFECT_API_URL set, the Prefect server marks runs that stopped sending heartbeats Crashed.
Nothing here imports Prefect, except a `{block: ...}` secret and that last check.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import date
from typing import Any

from relevo.connectors.errors import ConnectorError
from relevo.connectors.health import Finding
from relevo.connectors.versions import entry_for, support, version_of
from relevo.model import ConfigurationError

EXIT_OK, EXIT_BAD_INPUT, EXIT_OPEN = 0, 2, 3


def secret_references(data: Any, where: str = "") -> Iterator[tuple[str, dict[str, str]]]:
    """Every `{env: NAME}` / `{block: name}` in the registry, with where it is (e.g. `drafts.client_secret`)."""
    if isinstance(data, dict):
        if (
            len(data) == 1
            and next(iter(data)) in ("env", "block")
            and isinstance(next(iter(data.values())), str)
        ):
            yield where, data
            return
        for key, value in data.items():
            yield from secret_references(value, f"{where}.{key}" if where else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from secret_references(value, f"{where}[{index}]")


def api_versions(registry: Any) -> list[tuple[str, str, str]]:
    """(subject, VERSIONS key, version sent) for every connector in use that sends a vendor API version."""
    used = [
        (section, registry.data[section]["connector"], registry.data[section])
        for section in ("hr", "crm", "drafts")
    ]
    used += [(f"presence {p.id}", p.connector, p.settings) for p in registry.presences]
    return [
        (subject, key, version_of(key, settings))
        for subject, connector, settings in used
        if (key := entry_for(connector)) is not None
    ]


def run(registry: Any, today: date, *, reenable_webhooks: bool = False) -> tuple[list[Finding], int]:
    """All findings and the exit code: 0 all fine, 3 something needs a person, 2 a secret or setting is missing."""
    from relevo.config.secrets import resolve

    findings: list[Finding] = []
    bad_input = False
    for where, reference in secret_references(registry.data):
        name = f"{next(iter(reference))} {next(iter(reference.values()))}"
        try:
            resolve(reference, where)
            findings.append(Finding("ok", "secrets", f"{where} ({name}) resolves"))
        except ConfigurationError as exc:
            bad_input = True
            findings.append(Finding("error", "secrets", str(exc)))

    def probe(subject: str, build: Callable[[], Any], read: Callable[[Any], list[Finding]]) -> Any:
        nonlocal bad_input
        try:
            connector = build()
        except ConfigurationError as exc:
            bad_input = True
            findings.append(Finding("error", subject, str(exc)))
            return None
        try:
            findings.extend(read(connector))
        except ConnectorError as exc:
            findings.append(Finding("error", subject, f"{exc}"))
        except ConfigurationError as exc:
            bad_input = True
            findings.append(Finding("error", subject, str(exc)))
        return connector

    mailbox = registry.company.contact.email
    hr = probe("hr", registry.hr, lambda c: c.check() if hasattr(c, "check") else _no_api("hr", c))
    probe("crm", registry.crm, lambda c: c.check() if hasattr(c, "check") else _no_api("crm", c))
    probe(
        "drafts", registry.drafts, lambda c: c.check(mailbox) if hasattr(c, "check") else _no_api("drafts", c)
    )
    for presence in registry.presences:
        if presence.connector == "manual":
            continue
        subject = f"presence {presence.id}"
        probe(
            subject,
            lambda p=presence: registry.social(p),  # type: ignore[misc]  # defaults bind the loop
            lambda c, p=presence, s=subject: (
                c.check(p)
                if hasattr(c, "check")  # type: ignore[misc]
                else _members_read(c, p, s)
            ),
        )
    for subject, key, version in api_versions(registry):
        findings.append(support(key, version, today, subject))
    if reenable_webhooks and hr is not None and hasattr(hr, "reenable"):
        findings.extend(_reenable(hr))
    if os.environ.get("PREFECT_API_URL"):
        findings.append(unresponsive_runs_automation())
    if bad_input:
        return findings, EXIT_BAD_INPUT
    return findings, EXIT_OPEN if any(f.level != "ok" for f in findings) else EXIT_OK


def _no_api(subject: str, connector: Any) -> list[Finding]:
    return [Finding("ok", subject, f"{type(connector).__name__}: files on disk, no API to check")]


def _members_read(connector: Any, presence: Any, subject: str) -> list[Finding]:
    """A presence connector without its own check: listing its members is the read every run makes first."""
    grants = connector.members(presence)
    return [Finding("ok", subject, f"{presence.platform} members can be read ({len(grants)} listed)")]


def _reenable(hr: Any) -> list[Finding]:
    """The one change doctor makes, and only when asked: re-enable termination subscriptions Factorial disabled."""
    from relevo.connectors.factorial import SUBSCRIPTIONS

    out = []
    for row in hr.webhook_subscriptions():
        if row.get("type", row.get("subscription_type")) in SUBSCRIPTIONS and row.get("enabled") is False:
            try:
                hr.reenable(row["id"])
                out.append(
                    Finding(
                        "warning",
                        "webhooks",
                        f"Factorial subscription {row['id']} re-enabled: offboard "
                        "anyone terminated while it was disabled (`relevo offboard`)",
                    )
                )
            except ConnectorError as exc:
                out.append(
                    Finding("error", "webhooks", f"could not re-enable subscription {row['id']}: {exc}")
                )
    return out


def as_json(findings: list[Finding], code: int) -> dict[str, Any]:
    return {"exit_code": code, "findings": [asdict(f) for f in findings]}


AUTOMATION_FILE = "examples/prefect/crash-unresponsive-runs.yaml"


def unresponsive_runs_automation() -> Finding:
    """Whether the Prefect server marks silent runs Crashed (a lost machine's runs are otherwise Running for
    good and their leavers keep access): an enabled automation that expects flow-run heartbeats and changes
    the run's state to Crashed, as the one relevo ships."""
    from prefect import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger

    try:
        with get_client(sync_client=True) as client:
            automations = client.read_automations()
    except Exception as exc:  # noqa: BLE001 - the server unreachable is itself the finding
        return Finding(
            "warning", "prefect", f"could not read the Prefect server's automations ({type(exc).__name__})"
        )
    from prefect.events.schemas.automations import Posture
    from prefect.settings import get_current_settings

    beat = get_current_settings().flows.heartbeat_frequency or 0
    for automation in automations:
        trigger = automation.trigger
        if (
            automation.enabled
            and isinstance(trigger, EventTrigger)
            and trigger.posture == Posture.Proactive
            and "prefect.flow-run.heartbeat" in trigger.expect
            and any(
                isinstance(a, ChangeFlowRunState) and a.state == StateType.CRASHED for a in automation.actions
            )
        ):
            if (
                trigger.within.total_seconds() < 2 * beat
            ):  # a healthy run between two heartbeats would be crashed
                return Finding(
                    "warning",
                    "prefect",
                    f"automation '{automation.name}' crashes runs silent for "
                    f"{trigger.within.total_seconds():.0f} s, under two heartbeats ({beat} s apart)",
                )
            return Finding(
                "ok", "prefect", f"automation '{automation.name}' marks runs without heartbeats Crashed"
            )
    return Finding(
        "warning",
        "prefect",
        "no automation marks runs that stopped sending heartbeats Crashed: a lost "
        f"machine's runs would stay Running; create it: prefect automation create --from-file {AUTOMATION_FILE}",
    )
