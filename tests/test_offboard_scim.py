"""The real offboarding flow against a real SCIM service (scim2-server on loopback).

The example company's SCIM registry (examples/acme/relevo-scim.yaml), seeded with
examples/acme/seed_scim.py, is offboarded by `offboard_employee`; every check of the
user's state goes through the SCIM server's own API.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from relevo.model import grant_from_pre_state
from relevo.storage.ledger import Ledger
from relevo.config.registry import load_registry
from tests.conftest import SCIM_TOKEN

LAURA = "laura.martinez@acme-comunicacion.example"
CARMEN = "carmen.ruiz@acme-comunicacion.example"


def server_user(scim_url: str, user_name: str) -> dict:
    """The user as the SCIM server itself reports it (filter by userName)."""
    response = requests.get(f"{scim_url}/Users", params={"filter": f'userName eq "{user_name}"'},
                            headers={"Authorization": f"Bearer {SCIM_TOKEN}"}, timeout=5)
    response.raise_for_status()
    (user,) = response.json()["Resources"]
    return user


def summary_of(result) -> dict:
    """The flow returns its summary, or a Completed state carrying it when manual actions remain."""
    return result if isinstance(result, dict) else result.result()


def scim_rows(summary: dict) -> list[dict]:
    return [r for r in summary["rows"] if "social-suite" in r.get("action_key", "")]


@pytest.fixture
def scim_registry(acme: Path, scim_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The SCIM example registry pointed at this test's SCIM tenant, token in the environment."""
    path = acme.parent / "relevo-scim.yaml"
    text = path.read_text("utf-8").replace("http://127.0.0.1:8099/v2", scim_url)
    # Notices are another issue's subject: approve them by policy so the run does not pause for a person.
    path.write_text(text.replace("auto_approve_notices: false", "auto_approve_notices: true"), "utf-8")
    monkeypatch.setenv("ACME_SCIM_TOKEN", SCIM_TOKEN)
    return path


def test_offboarding_deactivates_the_leaver_on_a_real_scim_service(prefect_api_url, scim_registry, scim_url) -> None:
    from examples.acme.seed_scim import seed
    from relevo.offboarding import offboard_employee

    assert set(seed(scim_url, SCIM_TOKEN).values()) == {"created"}

    dry = summary_of(offboard_employee("1001", str(scim_registry), dry_run=True))
    assert [r["outcome"] for r in scim_rows(dry)] == ["planned"]
    assert server_user(scim_url, LAURA)["active"] is True  # a dry run changes nothing

    first = summary_of(offboard_employee("1001", str(scim_registry)))
    (row,) = scim_rows(first)
    assert row["outcome"] == "done" and row["action"] == "revoke_role"
    assert server_user(scim_url, LAURA)["active"] is False
    assert server_user(scim_url, CARMEN)["active"] is True  # only the leaver

    again = summary_of(offboard_employee("1001", str(scim_registry)))
    assert [r["outcome"] for r in scim_rows(again)] == ["already_done"]

    # Rescinded termination: the ledger's pre-state alone is enough to give access back.
    registry = load_registry(scim_registry)
    recorded = Ledger(registry.database_url).state(row["action_key"]).pre_state
    assert recorded["identity"] == LAURA and recorded["role"] == "admin"
    suite = next(p for p in registry.presences if p.id == "social-suite")
    outcome = registry.social(suite).restore(suite, grant_from_pre_state(suite.id, recorded), recorded)
    assert outcome.status == "done"
    assert server_user(scim_url, LAURA)["active"] is True


def test_the_only_admin_is_not_removed_before_another_admin_exists(prefect_api_url, scim_registry, scim_url) -> None:
    from relevo.offboarding import offboard_employee

    for user_name, role in ((LAURA, "admin"), ("diego.navarro@acme-comunicacion.example", "viewer")):
        requests.post(f"{scim_url}/Users", headers={"Authorization": f"Bearer {SCIM_TOKEN}"}, timeout=5, json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name,
            "active": True, "roles": [{"value": role}]}).raise_for_status()

    summary = summary_of(offboard_employee("1001", str(scim_registry)))
    rows = {r["action"]: r for r in scim_rows(summary)}
    assert rows["add_admin"]["outcome"] == "manual" and "nuria.castells@" in rows["add_admin"]["detail"]
    assert rows["revoke_role"]["outcome"] == "manual" and "without an admin" in rows["revoke_role"]["detail"]
    assert server_user(scim_url, LAURA)["active"] is True


def test_a_missing_token_names_the_variable(prefect_api_url, scim_registry, monkeypatch) -> None:
    from relevo.offboarding import offboard_employee

    monkeypatch.delenv("ACME_SCIM_TOKEN")
    summary = summary_of(offboard_employee("1001", str(scim_registry), dry_run=True))
    (row,) = scim_rows(summary)
    assert row["outcome"] == "manual" and "ACME_SCIM_TOKEN is not set" in row["detail"]
