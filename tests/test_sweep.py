"""The sweep against a real SCIM service: access re-added after offboarding is found and removed again."""
from __future__ import annotations

import requests
from typer.testing import CliRunner

from relevo.storage.ledger import Ledger
from relevo.config.registry import load_registry
from tests.conftest import SCIM_TOKEN
from tests.test_offboard_scim import LAURA, scim_registry, server_user, summary_of  # noqa: F401  (fixture)


def reactivate(scim_url: str, user_name: str) -> None:
    """What an admin does in the vendor's console: give the leaver their account back."""
    user = server_user(scim_url, user_name)
    requests.patch(f"{scim_url}/Users/{user['id']}", headers={"Authorization": f"Bearer {SCIM_TOKEN}"}, timeout=5,
                   json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                         "Operations": [{"op": "replace", "path": "active", "value": True}]}).raise_for_status()


def test_access_that_came_back_is_removed_again_and_recorded(prefect_api_url, scim_registry, scim_url) -> None:
    from examples.acme.seed_scim import seed
    from relevo.offboarding import offboard_employee
    from relevo.sweep import sweep_access

    seed(scim_url, SCIM_TOKEN)
    summary_of(offboard_employee("1001", str(scim_registry)))
    assert server_user(scim_url, LAURA)["active"] is False

    quiet = sweep_access(str(scim_registry), days=30)
    assert quiet["came_back"] == 0 and quiet["leavers"] == 1
    # manual presences: one reminder per presence per window, recorded by the first sweep in it
    reminders = [r for r in quiet["rows"] if r["action_key"].startswith("sweep:check:")]
    assert reminders and all(r["outcome"] == "manual" for r in reminders)
    # a member no current employee matches: Tomás left on 2026-11-06 (hr.json) and nobody offboarded him
    (unmatched,) = [r for r in quiet["rows"] if r["action_key"].startswith("sweep:unmatched:")]
    assert unmatched["outcome"] == "manual" and quiet["unmatched_tasks"] == 1
    assert "tomas.aguilar@" in unmatched["detail"]
    assert not any(who in unmatched["detail"] for who in ("carmen.ruiz@", "diego.navarro@", "laura.martinez@"))

    reactivate(scim_url, LAURA)
    dry = sweep_access(str(scim_registry), days=30, dry_run=True)
    assert dry["came_back"] == 1 and server_user(scim_url, LAURA)["active"] is True  # a dry run changes nothing

    swept = sweep_access(str(scim_registry), days=30)
    (row,) = [r for r in swept["rows"] if r["action"] == "revoke_role"]
    assert row["outcome"] == "done" and ":again:" in row["action_key"]
    assert server_user(scim_url, LAURA)["active"] is False
    audit = Ledger(load_registry(scim_registry).database_url).audit("1001")
    assert any("access came back" in r["detail"] or ":again:" in r["action_key"] for r in audit)

    # later sweeps in the same window record no reminder again (not even a "still open" row a day)
    assert not [r for r in swept["rows"] if r["action_key"].startswith("sweep:check:")]
    again = sweep_access(str(scim_registry), days=30)
    assert again["came_back"] == 0 and not [r for r in again["rows"] if r["action_key"].startswith("sweep:")]
    tasks = [r for r in Ledger(load_registry(scim_registry).database_url).open_actions("sweep")]
    assert sorted(t["key"] for t in tasks if t["key"].startswith("sweep:check:")) == sorted(
        r["action_key"] for r in reminders)


def test_a_withdrawn_termination_is_not_swept(prefect_api_url, scim_registry, scim_url) -> None:
    import json

    from examples.acme.seed_scim import seed
    from relevo.offboarding import offboard_employee
    from relevo.sweep import sweep_access

    seed(scim_url, SCIM_TOKEN)
    summary_of(offboard_employee("1001", str(scim_registry)))
    hr = scim_registry.parent / "hr.json"
    data = json.loads(hr.read_text("utf-8"))
    rows = data if isinstance(data, list) else data.get("employees", data)
    for row in rows:
        if str(row.get("id")) == "1001":
            row.pop("termination", None)
    hr.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    reactivate(scim_url, LAURA)  # HR withdrew the termination and IT gave the account back
    assert sweep_access(str(scim_registry), days=30)["leavers"] == 0
    assert server_user(scim_url, LAURA)["active"] is True


def test_relevo_sweep_command(prefect_api_url, scim_registry, scim_url) -> None:
    from examples.acme.seed_scim import seed
    from relevo.cli.main import app
    from relevo.offboarding import offboard_employee

    seed(scim_url, SCIM_TOKEN)
    summary_of(offboard_employee("1001", str(scim_registry)))
    reactivate(scim_url, LAURA)
    result = CliRunner().invoke(app, ["sweep", "--registry", str(scim_registry), "--dry-run"])
    assert result.exit_code == 3, result.output
    assert "access came back" in result.output and server_user(scim_url, LAURA)["active"] is True
