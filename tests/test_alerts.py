"""Alerts a person sees, through a real Prefect notification block posting to a loopback HTTP endpoint.

The block is Prefect's own CustomWebhookNotificationBlock, saved on the session's Prefect server
and named in the registry (`alerts: {block: custom-webhook/NAME}`), exactly as a company would
point a SlackWebhook or MicrosoftTeamsWebhook block at its channel. Nothing leaves the machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import responses

from tests.support.alerts import Channel, save_block, with_alerts
from tests.support.example_hr import TERMINATED

FACTORIAL = "https://api.factorialhr.com/api/2026-07-01/resources"


def test_a_termination_found_only_by_polling_is_one_line_with_the_run_link(
    prefect_api_url, acme: Path, channel: Channel
) -> None:
    from relevo.reconcile import reconcile_hr

    with_alerts(acme, save_block(channel.url))
    result = reconcile_hr(str(acme), dispatch=False)
    assert len(result["stored"]) == len(TERMINATED)
    texts = channel.texts()
    assert len(texts) == len(TERMINATED)
    assert all(t.startswith("relevo: termination found only by polling | relevo: ") for t in texts)
    assert all("\n" not in t for t in texts)
    assert {re.search(r"of employee (\d+)", t).group(1) for t in texts} == TERMINATED
    assert all(re.search(r"\| run: http://\S+/flow-runs/flow-run/[0-9a-f-]{36}$", t) for t in texts)
    reconcile_hr(str(acme), dispatch=False)  # nothing new: nothing said
    assert len(channel.texts()) == len(TERMINATED)


def test_a_disabled_factorial_subscription_is_said_once_a_day(
    prefect_api_url, acme: Path, channel: Channel, monkeypatch
) -> None:
    from relevo.reconcile import reconcile_hr

    monkeypatch.setenv("FACTORIAL_API_KEY", "fct-canary")
    acme.write_text(
        re.sub(
            r"(?m)^hr: .*$",
            "hr: {connector: factorial, api_key: {env: FACTORIAL_API_KEY}}",
            acme.read_text("utf-8"),
        ),
        "utf-8",
    )
    with_alerts(acme, save_block(channel.url))
    subscriptions = {
        "data": [
            {
                "id": 41,
                "type": "employees/employee/terminate",
                "target_url": "https://relevo.example/webhooks/factorial/t",
                "enabled": False,
                "api_version": "2026-07-01",
            },
            {
                "id": 42,
                "type": "employees/employee/unterminate",
                "target_url": "https://relevo.example/webhooks/factorial/u",
                "enabled": True,
                "api_version": "2026-07-01",
            },
        ]
    }
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.add_passthru("http://127.0.0.1")
        mock.get(
            f"{FACTORIAL}/employees/employees",
            json={
                "data": [],
                "meta": {"has_next_page": False, "has_previous_page": False, "limit": 100, "total": 0},
            },
        )
        mock.get(f"{FACTORIAL}/api_public/webhook_subscriptions", json=subscriptions)
        first = reconcile_hr(str(acme), dispatch=False)
        second = reconcile_hr(str(acme), dispatch=False)
    assert first["disabled_webhooks"] == 1 and second["disabled_webhooks"] == 0
    (text,) = channel.texts()
    assert "disabled its webhook employees/employee/terminate subscription 41" in text
    assert "run: http" in text and "relevo.example" not in text


def test_a_failing_block_never_fails_the_run_and_a_flood_is_cut(
    prefect_api_url, acme: Path, channel: Channel, caplog: pytest.LogCaptureFixture
) -> None:
    from relevo import alerts
    from relevo.config.registry import load_registry

    with_alerts(acme, save_block(channel.url))
    registry = load_registry(acme)
    lines = [alerts.line(f"access came back number {i}") for i in range(13)]
    assert alerts.notify(registry, "access came back", lines) == alerts.MAX_LINES + 1
    assert channel.texts()[-1].endswith("access came back: 3 more; the run lists them all")
    channel.status = 500
    assert alerts.notify(registry, "access came back", lines[:1]) == 0  # a warning in the log, no exception
    assert "HTTPStatusError (HTTP 500)" in caplog.text
    assert channel.url.split("//")[1] not in caplog.text  # a webhook URL is a secret: never logged
    unknown = acme.read_text("utf-8").replace("custom-webhook/relevo-alerts", "custom-webhook/nobody-")
    acme.write_text(unknown, "utf-8")
    assert alerts.notify(load_registry(acme), "access came back", lines[:1]) == 0


def test_a_registry_naming_a_block_badly_is_refused_in_one_line(acme: Path) -> None:
    from relevo.config.registry import load_registry
    from relevo.model import ConfigurationError

    with_alerts(acme, "https://hooks.slack.com/services/T000/B000/XXXX")
    with pytest.raises(ConfigurationError, match="alerts"):
        load_registry(acme)


def test_relevo_reconcile_says_a_disabled_factorial_subscription(acme: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from relevo.cli.main import app

    monkeypatch.setenv("FACTORIAL_API_KEY", "fct-canary")
    acme.write_text(
        re.sub(
            r"(?m)^hr: .*$",
            "hr: {connector: factorial, api_key: {env: FACTORIAL_API_KEY}}",
            acme.read_text("utf-8"),
        ),
        "utf-8",
    )
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(
            f"{FACTORIAL}/employees/employees",
            json={
                "data": [],
                "meta": {"has_next_page": False, "has_previous_page": False, "limit": 100, "total": 0},
            },
        )
        mock.get(
            f"{FACTORIAL}/api_public/webhook_subscriptions",
            json={
                "data": [
                    {
                        "id": 41,
                        "type": "employees/employee/terminate",
                        "target_url": "https://relevo.example/t",
                        "enabled": False,
                        "api_version": "2026-07-01",
                    }
                ]
            },
        )
        result = CliRunner().invoke(app, ["reconcile", "--registry", str(acme)])
    assert result.exit_code == 3, result.output
    assert "disabled webhook subscription 41 (employees/employee/terminate)" in " ".join(
        result.output.split()
    )
