"""The sweep against a real SCIM service: access re-added after offboarding is found and removed again."""

from __future__ import annotations

import requests
from typer.testing import CliRunner

from relevo.config.registry import load_registry
from relevo.storage.ledger import Ledger
from tests.support.canaries import SCIM_TOKEN
from tests.support.scim import LAURA, server_user, summary_of


def reactivate(scim_url: str, user_name: str) -> None:
    """What an admin does in the vendor's console: give the leaver their account back."""
    user = server_user(scim_url, user_name)
    requests.patch(
        f"{scim_url}/Users/{user['id']}",
        headers={"Authorization": f"Bearer {SCIM_TOKEN}"},
        timeout=5,
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": True}],
        },
    ).raise_for_status()


def test_access_that_came_back_is_removed_again_and_recorded(
    prefect_api_url, scim_registry, scim_url
) -> None:
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
    assert not any(
        who in unmatched["detail"] for who in ("carmen.ruiz@", "diego.navarro@", "laura.martinez@")
    )

    reactivate(scim_url, LAURA)
    dry = sweep_access(str(scim_registry), days=30, dry_run=True)
    assert (
        dry["came_back"] == 1 and server_user(scim_url, LAURA)["active"] is True
    )  # a dry run changes nothing

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
        r["action_key"] for r in reminders
    )


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


def test_members_matching_no_current_employee(acme) -> None:  # type: ignore[no-untyped-def]
    """By employee id, the registry's identities or work e-mail (any case); never the break-glass admin, the
    company contact, a presence's known_members, a swept leaver or an inactive account."""
    from relevo.config.registry import load_registry
    from relevo.model import Grant
    from relevo.sweep import unmatched_members, unmatched_task

    text = (
        acme.read_text("utf-8")
        + "\nidentities:\n  - {employee: '1005', presence: hootsuite, member: 'hs-77'}\n"
    )
    acme.write_text(
        text.replace(
            "    platform: hootsuite\n",
            "    platform: hootsuite\n    settings: {known_members: [agencia@partner.example]}\n",
            1,
        ),
        "utf-8",
    )
    registry = load_registry(acme)
    roster = [
        {"id": "1005", "email": "nuria.castells@acme-comunicacion.example"},
        {"id": "1007", "email": "Carmen.Ruiz@acme-comunicacion.example"},
    ]
    laura = {
        "id": "1001",
        "name": "Laura Martínez Ferrer",
        "email": "laura.martinez@acme-comunicacion.example",
    }

    def grant(member: str, identity: str, **more) -> Grant:  # type: ignore[no-untyped-def]
        return Grant(
            presence_id="hootsuite",
            member_id=member,
            identity=identity,
            role="member",
            is_admin=False,
            **more,
        )

    listed = {
        "hootsuite": [
            grant("hs-77", "nuria.personal@correo.example"),  # mapped in identities
            grant("hs-1", "carmen.ruiz@acme-comunicacion.example"),  # work e-mail, other case
            grant("hs-2", "it-breakglass@acme-comunicacion.example"),
            grant("hs-3", "agencia@partner.example"),  # known_members
            grant(
                "hs-4", "laura.martinez@acme-comunicacion.example"
            ),  # a swept leaver: "came back", not a stranger
            grant("hs-5", "gone@acme-comunicacion.example", pre_state={"active": False}),
            grant("hs-6", "tomas.aguilar@acme-comunicacion.example", display_name="Tomás Aguilar"),
        ],
        "linkedin-page": "could not be read",
    }
    found = unmatched_members(registry, listed, roster, [laura])
    assert {p: [g.member_id for g in gs] for p, gs in found.items()} == {"hootsuite": ["hs-6"]}

    hootsuite = next(p for p in registry.presences if p.id == "hootsuite")
    many = [grant(f"id-{i}", f"urn:li:person:{i}") for i in range(60)]
    task = unmatched_task(hootsuite, many, "2026-11-03")
    assert task.key == "sweep:unmatched:hootsuite:2026-11-03" and task.outcome == "manual"
    assert "and 10 more" in task.steps[0] and "through the registry's identities" in task.steps[0]
    assert "urn:li:person:49" in task.steps[0] and "urn:li:person:50>" not in task.steps[0]


def test_a_roster_without_readable_emails_flags_nobody(acme):
    """A credential that may not read work e-mails (Bob leaves such fields out) lists employees without them:
    every member would then look like a stranger. The sweep says why it did not check instead."""
    from relevo.config.registry import load_registry
    from relevo.sweep import read_roster

    registry = load_registry(acme)

    class HR:
        def __init__(self, rows):
            self.rows = rows

        def roster(self):
            return self.rows

    for rows, says in [
        ([], "listed no current employees"),
        (
            [{"id": "1", "email": None}, {"id": "2", "email": None}, {"id": "3", "email": "c@x.example"}],
            "2 of 3 current employees have no work e-mail",
        ),
    ]:
        registry.hr = lambda rows=rows: HR(rows)  # type: ignore[method-assign]
        found = read_roster(registry)
        assert isinstance(found, str) and says in found
    registry.hr = lambda: HR([{"id": "1", "email": None}, {"id": "2", "email": "b@x.example"}])  # type: ignore[method-assign]
    assert isinstance(
        read_roster(registry), list
    )  # one without an e-mail among many is a person, not a permission
