"""The real offboarding flow against a real SCIM service (scim2-server on loopback).

The example company's SCIM registry (examples/acme/relevo-scim.yaml), seeded with
examples/acme/seed_scim.py, is offboarded by `offboard_employee`; every check of the
user's state goes through the SCIM server's own API.
"""

from __future__ import annotations

import requests

from relevo.config.registry import load_registry
from relevo.model import grant_from_pre_state
from relevo.storage.ledger import Ledger
from tests.support.canaries import SCIM_TOKEN
from tests.support.scim import LAURA, server_user, summary_of

CARMEN = "carmen.ruiz@acme-comunicacion.example"


def scim_rows(summary: dict) -> list[dict]:
    return [r for r in summary["rows"] if "social-suite" in r.get("action_key", "")]


def test_offboarding_deactivates_the_leaver_on_a_real_scim_service(
    prefect_api_url, scim_registry, scim_url
) -> None:
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


def test_the_only_admin_is_not_removed_before_another_admin_exists(
    prefect_api_url, scim_registry, scim_url
) -> None:
    from relevo.offboarding import offboard_employee

    for user_name, role in ((LAURA, "admin"), ("diego.navarro@acme-comunicacion.example", "viewer")):
        requests.post(
            f"{scim_url}/Users",
            headers={"Authorization": f"Bearer {SCIM_TOKEN}"},
            timeout=5,
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "active": True,
                "roles": [{"value": role}],
            },
        ).raise_for_status()

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
