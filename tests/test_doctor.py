"""`relevo doctor`: secrets, authenticated reads, API versions, webhook health; exit 0 / 3 / 2; reads only."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import responses
import yaml
from typer.testing import CliRunner

from relevo.cli.doctor import run, secret_references
from relevo.cli.main import app
from relevo.config.registry import load_registry
from relevo.connectors.versions import VERSIONS, ApiVersion, support
from tests.connectors.hubspot_fake import FakeHubSpot

FACTORIAL = "https://api.factorialhr.com/api/2026-07-01/resources"
GRAPH = "https://graph.microsoft.com/v1.0"
KEYS = {
    "RELEVO_BAMBOOHR_WEBHOOK_KEY": "bhr-key-canary",
    "RELEVO_FACTORIAL_CHALLENGE": "challenge-canary",
    "FACTORIAL_KEY": "fct-key-canary-71",
    "HUBSPOT_KEY": "pat-eu1-canary-99",
    "GRAPH_SECRET": "graph-canary-55",
}
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def api_registry(acme: Path, monkeypatch, **env: str | None) -> Path:  # type: ignore[no-untyped-def]
    # No Prefect server for these (an earlier test's may be in the environment): its check has a test of its own.
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    for name, value in {**KEYS, **env}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    data = yaml.safe_load(acme.read_text("utf-8"))
    data["hr"] = {"connector": "factorial", "api_key": {"env": "FACTORIAL_KEY"}}
    data["crm"] = {"connector": "hubspot", "token": {"env": "HUBSPOT_KEY"}}
    data["drafts"] = {
        "connector": "graph",
        "tenant_id": TENANT,
        "client_id": "6731de76-14a6-49ae-97bc-6eba6914391e",
        "client_secret": {"env": "GRAPH_SECRET"},
    }
    acme.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return acme


def vendors(mock: responses.RequestsMock, *, disabled: bool = False, graph_drafts: bool = True) -> None:
    """Factorial, HubSpot and (when the drafts go to Microsoft 365) Graph answering as their docs/SDK models show."""
    mock.get(
        f"{FACTORIAL}/api_public/credentials", json={"data": [{"id": 1, "company_id": 77, "employee_id": 0}]}
    )
    mock.get(
        f"{FACTORIAL}/api_public/webhook_subscriptions",
        json={
            "data": [
                {
                    "id": 41,
                    "target_url": "https://relevo.acme.example/webhooks/factorial",
                    "type": "employees/employee/terminate",
                    "company_id": 77,
                    "enabled": not disabled,
                    "api_version": "2026-07-01",
                },
                {
                    "id": 42,
                    "target_url": "https://relevo.acme.example/webhooks/factorial",
                    "type": "employees/employee/unterminate",
                    "company_id": 77,
                    "enabled": True,
                    "api_version": "2026-07-01",
                },
            ]
        },
    )
    FakeHubSpot(mock, {})
    if graph_drafts:
        graph(mock)


def graph(mock: responses.RequestsMock) -> None:
    from tests.support.mail_login import LOGIN, graph_token, openid_configuration

    openid_configuration(mock)
    mock.post(
        f"{LOGIN}/oauth2/v2.0/token",
        json={"token_type": "Bearer", "expires_in": 3599, "access_token": graph_token(1)},
    )
    mock.get(f"{GRAPH}/users/cuentas@acme-comunicacion.example/messages", json={"value": []})


def test_all_fine_is_exit_0_and_lists_every_check(acme, monkeypatch):
    path = api_registry(acme, monkeypatch)
    with responses.RequestsMock() as mock:
        vendors(mock)
        result = CliRunner().invoke(app, ["doctor", "--registry", str(path), "--json"])
        methods = {c.request.method for c in mock.calls}
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report
    subjects = {f["subject"] for f in report["findings"]}
    assert {"secrets", "hr", "crm", "drafts", "webhooks"} <= subjects
    assert "the token carries the application permission Mail.ReadWrite" in [
        f["text"] for f in report["findings"]
    ]
    assert all(f["level"] == "ok" for f in report["findings"])
    assert methods <= {"GET", "POST"}  # POST only for HubSpot's search, a read
    assert not any(v in result.stdout for v in KEYS.values())  # no secret in the report


def test_a_subscription_factorial_disabled_needs_a_person_exit_3(acme, monkeypatch):
    path = api_registry(acme, monkeypatch)
    with responses.RequestsMock() as mock:
        vendors(mock, disabled=True)
        result = CliRunner().invoke(app, ["doctor", "--registry", str(path)])
        assert not [c for c in mock.calls if c.request.method == "PUT"]  # reported, not changed
    assert result.exit_code == 3
    assert "DISABLED" in result.stdout and "needs a person" in result.stdout


def test_reenable_webhooks_is_the_one_change_and_only_when_asked(acme, monkeypatch):
    path = api_registry(acme, monkeypatch)
    with responses.RequestsMock() as mock:
        vendors(mock, disabled=True)
        put = mock.put(f"{FACTORIAL}/api_public/webhook_subscriptions/41", json={})
        result = CliRunner().invoke(app, ["doctor", "--registry", str(path), "--reenable-webhooks"])
    assert put.call_count == 1 and json.loads(put.calls[0].request.body) == {"id": "41", "enabled": True}
    assert result.exit_code == 3 and "re-enabled" in result.stdout


def test_a_missing_secret_is_exit_2_naming_the_variable(acme, monkeypatch):
    path = api_registry(acme, monkeypatch, HUBSPOT_KEY=None)
    with responses.RequestsMock() as mock:
        vendors(mock)
        result = CliRunner().invoke(app, ["doctor", "--registry", str(path), "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 2
    assert any(f["level"] == "error" and "HUBSPOT_KEY" in f["text"] for f in report["findings"])


def test_a_refused_credential_is_exit_3(acme, monkeypatch):
    path = api_registry(acme, monkeypatch)
    with responses.RequestsMock() as mock:
        mock.get(f"{FACTORIAL}/api_public/credentials", status=401, json={"error": "Unauthorized"})
        FakeHubSpot(mock, {})
        graph(mock)
        findings, code = run(load_registry(path), date(2026, 11, 27))
    assert code == 3
    assert [f.subject for f in findings if f.level == "error"] == ["hr"]


def test_versions_warn_60_days_before_their_end(monkeypatch):
    monkeypatch.setitem(
        VERSIONS,
        "x",
        ApiVersion(
            vendor="X",
            version="2026-01",
            sent_as="path",
            setting="version",
            end_of_support=date(2027, 1, 20),
            source="test",
        ),
    )
    assert support("x", "2026-01", date(2026, 11, 20), "crm").level == "ok"  # 61 days left
    assert support("x", "2026-01", date(2026, 11, 21), "crm").level == "warning"  # 60 days left
    assert support("x", "2026-01", date(2027, 1, 21), "crm").level == "error"
    assert (
        support("x", "2025-09", date(2026, 11, 21), "crm").level == "warning"
    )  # a version relevo does not know


def test_versions_in_use_follow_the_registry_settings(acme, monkeypatch):
    from relevo.cli.doctor import api_versions

    path = api_registry(acme, monkeypatch)
    data = yaml.safe_load(path.read_text("utf-8"))
    data["crm"]["version"] = "2026-03"
    data["presences"].append(
        {
            "id": "li-1",
            "platform": "linkedin_page",
            "account": "Acme",
            "owner": "company",
            "connector": "linkedin",
            "settings": {"organization_id": "1", "token": {"env": "X"}, "version": "202511"},
        }
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    used = api_versions(load_registry(path))
    assert ("hr", "factorial", "2026-07-01") in used and ("crm", "hubspot", "2026-03") in used
    assert ("drafts", "graph", "v1.0") in used and ("presence li-1", "linkedin", "202511") in used
    assert support("hubspot", "2026-03", date(2026, 11, 27), "crm").level == "warning"  # not the checked one


def test_every_secret_reference_is_found():
    data = {
        "hr": {"api_key": {"env": "A"}},
        "drafts": {"certificate": {"private_key": {"block": "b"}}},
        "presences": [{"settings": {"token": {"env": "C"}}}],
    }
    assert list(secret_references(data)) == [
        ("hr.api_key", {"env": "A"}),
        ("drafts.certificate.private_key", {"block": "b"}),
        ("presences[0].settings.token", {"env": "C"}),
    ]


def test_a_presence_without_its_own_check_gets_a_members_read(acme, monkeypatch):
    """The generic check for presences: the members read every run starts with (RFC 7644 ListResponse)."""
    path = api_registry(acme, monkeypatch, SCIM_TOKEN="scim-canary-1")
    data = yaml.safe_load(path.read_text("utf-8"))
    data["presences"].append(
        {
            "id": "scim-1",
            "platform": "scim",
            "account": "Acme SCIM",
            "owner": "company",
            "connector": "scim",
            "settings": {"base_url": "https://scim.acme.example/v2", "token": {"env": "SCIM_TOKEN"}},
        }
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with responses.RequestsMock() as mock:
        vendors(mock)
        mock.get(
            "https://scim.acme.example/v2/Users",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": 1,
                "startIndex": 1,
                "itemsPerPage": 1,
                "Resources": [
                    {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "id": "u1",
                        "userName": "ana@acme-comunicacion.example",
                        "active": True,
                    }
                ],
            },
        )
        findings, code = run(load_registry(path), date(2026, 11, 27))
    scim = [f for f in findings if f.subject == "presence scim-1"]
    assert code == 0 and scim and scim[0].level == "ok" and "1 listed" in scim[0].text


def test_a_graph_token_without_mail_readwrite_is_an_error(acme, monkeypatch):
    """App-only tokens list application permissions in `roles`: doctor names the one drafts need."""
    import base64

    path = api_registry(acme, monkeypatch)
    claims = base64.urlsafe_b64encode(json.dumps({"roles": ["User.Read.All"]}).encode()).decode().rstrip("=")
    with responses.RequestsMock() as mock:
        vendors(mock)
        from tests.support.mail_login import LOGIN

        mock.replace(
            responses.POST,
            f"{LOGIN}/oauth2/v2.0/token",
            json={"token_type": "Bearer", "expires_in": 3599, "access_token": f"e30.{claims}.sig"},
        )
        findings, code = run(load_registry(path), date(2026, 11, 27))
    errors = [f.text for f in findings if f.level == "error"]
    assert code == 3 and any("Mail.ReadWrite" in e for e in errors)


def test_gmail_delegation_is_tried_for_the_company_contacts_mailbox(acme, monkeypatch):
    from tests.support.mail_login import google_token_endpoint, service_account_key

    path = api_registry(acme, monkeypatch, GMAIL_KEY=service_account_key())
    data = yaml.safe_load(path.read_text("utf-8"))
    data["drafts"] = {"connector": "gmail", "service_account": {"env": "GMAIL_KEY"}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    issued: list[str] = []
    with responses.RequestsMock() as mock:
        vendors(mock, graph_drafts=False)  # the drafts go to Gmail: Graph is never called
        google_token_endpoint(mock, issued)
        listing = mock.get(
            "https://gmail.googleapis.com/gmail/v1/users/cuentas@acme-comunicacion.example/drafts",
            json={"resultSizeEstimate": 0},
        )
        findings, code = run(load_registry(path), date(2026, 11, 27))
    assert code == 0 and issued == ["cuentas@acme-comunicacion.example"] and listing.call_count == 1
    assert any("delegated gmail.compose token" in f.text for f in findings)


def test_doctor_says_whether_silent_runs_are_marked_crashed(prefect_api_url):
    """With a Prefect server, doctor warns until the automation relevo ships exists, then says it is there."""
    import yaml
    from prefect import get_client
    from prefect.events.schemas.automations import AutomationCore

    from relevo.cli.doctor import AUTOMATION_FILE, unresponsive_runs_automation
    from tests.support.paths import ROOT

    with get_client(sync_client=True) as client:
        for automation in client.read_automations():  # the session's server may hold one from another test
            client.delete_automation(automation.id)
        missing = unresponsive_runs_automation()
        assert missing.level == "warning" and AUTOMATION_FILE in missing.text
        shipped = AutomationCore.model_validate(yaml.safe_load((ROOT / AUTOMATION_FILE).read_text("utf-8")))
        created = client.create_automation(shipped)
        try:
            found = unresponsive_runs_automation()
        finally:
            client.delete_automation(created)
    assert found.level == "ok" and "relevo · crash unresponsive runs" in found.text
