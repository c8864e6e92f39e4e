"""A relevo.yaml whose every connector points at the simulator: the same code as production, on loopback.

BambooHR (HR), HubSpot (CRM), Microsoft Graph (drafts), and the presences Facebook Page,
Instagram, Meta Business, Hootsuite, TikTok Business Center, plus a SCIM service (the
real scim2-server) when its URL is given. Secrets are environment variables (`SECRETS`);
`secret_env()` gives their values, canaries by default so leak tests can look for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.sim.seed import BUSINESS_ID, HOOTSUITE_ORG, IG_ID, PAGE_ID, TIKTOK_BC, World
from tests.sim.server import Simulator
from tests.support.canaries import SIMULATED

# env var → the value tests use; every one is a canary that must never show up in output.
SECRETS = SIMULATED
VENDOR_SECRET = {
    "bamboohr": "SIM_BAMBOOHR_KEY",
    "hubspot": "SIM_HUBSPOT_TOKEN",
    "graph": "SIM_GRAPH_TOKEN",
    "meta": "SIM_META_TOKEN",
    "hootsuite": "SIM_HOOTSUITE_TOKEN",
    "tiktok": "SIM_TIKTOK_TOKEN",
    "hibob": "SIM_HIBOB_TOKEN",
}
SUCCESSOR_FIELD = "customSuccessorId"
HIBOB_SUCCESSOR_FIELD = "custom.offboarding.successor"  # a custom field path in Bob


def secret_env() -> dict[str, str]:
    return dict(SECRETS)


def arm(sim: Simulator) -> None:
    """Make every simulated vendor accept only its canary credential."""
    for vendor, env in VENDOR_SECRET.items():
        sim.vendors[vendor].token = SECRETS[env]


def set_successors(sim: Simulator, world: World) -> None:
    """Every leaver's successor (a BambooHR custom field) is the first stayer after the manager."""
    successor = world.stayers[1] if len(world.stayers) > 1 else world.stayers[0]
    for person in world.leavers:
        sim.vendors["bamboohr"].employees[person.id][SUCCESSOR_FIELD] = successor.id
        if "hibob" in sim.vendors and person.id in sim.vendors["hibob"].employees:
            sim.vendors["hibob"].employees[person.id]["custom"] = {"offboarding": {"successor": successor.id}}


def registry(
    sim: Simulator,
    world: World,
    *,
    scim_url: str | None = None,
    auto_approve: bool = True,
    output: str = "out",
    meta_usage_window: float | None = None,
    rate_limits: dict[str, tuple[int, float]] | None = None,
    hr: str = "bamboohr",
    database: str | None = None,
) -> dict[str, Any]:
    """The registry document (validated by `write`); `hr` is the HR platform: bamboohr or hibob;
    `database`: storage.database (a SQLite file by default)."""

    def env(name: str) -> dict[str, str]:
        return {"env": name}

    meta = sim.url("meta")  # the Graph version: relevo's default (connectors/versions.py)
    window = {"usage_window_seconds": meta_usage_window} if meta_usage_window else {}
    presences: list[dict[str, Any]] = [
        {
            "id": "facebook-page",
            "platform": "facebook_page",
            "account": "Acme Sim (Facebook Page)",
            "owner": "company",
            "connector": "meta_page",
            "settings": {
                "page_id": PAGE_ID,
                "business_id": BUSINESS_ID,
                "base_url": meta,
                "token": env("SIM_META_TOKEN"),
                **window,
            },
        },
        {
            "id": "instagram",
            "platform": "instagram",
            "account": "@acmesim (Instagram)",
            "owner": "company",
            "connector": "meta_page",
            "settings": {
                "page_id": IG_ID,
                "business_id": BUSINESS_ID,
                "base_url": meta,
                "token": env("SIM_META_TOKEN"),
                **window,
            },
        },
        {
            "id": "meta-business",
            "platform": "meta_business",
            "account": "Acme Sim (Meta Business)",
            "owner": "company",
            "connector": "meta_business",
            "settings": {
                "business_id": BUSINESS_ID,
                "base_url": meta,
                "token": env("SIM_META_TOKEN"),
                **window,
            },
        },
        {
            "id": "hootsuite",
            "platform": "hootsuite",
            "account": "Acme Sim (Hootsuite)",
            "owner": "company",
            "connector": "hootsuite",
            "settings": {
                "organization_id": HOOTSUITE_ORG,
                "base_url": sim.url("hootsuite"),
                "token": env("SIM_HOOTSUITE_TOKEN"),
            },
        },
        {
            "id": "tiktok",
            "platform": "tiktok",
            "account": "Acme Sim (TikTok Business Center)",
            "owner": "company",
            "connector": "tiktok",
            "settings": {
                "bc_id": TIKTOK_BC,
                "base_url": sim.url("tiktok") + "/open_api/v1.3",
                "token": env("SIM_TIKTOK_TOKEN"),
            },
        },
    ]
    if scim_url:
        presences.append(
            {
                "id": "scim",
                "platform": "scim",
                "account": "Acme Sim (SCIM social suite)",
                "owner": "company",
                "connector": "scim",
                "settings": {"base_url": scim_url, "token": env("SIM_SCIM_TOKEN")},
            }
        )
    # Page rows carry a business-scoped id and a name, not an e-mail: map leavers explicitly.
    identities = [
        {"employee": p.id, "presence": presence, "member": p.ids[presence]}
        for p in world.people
        for presence in ("facebook-page", "instagram")
    ]
    doc = {
        "company": {
            "name": "Acme Sim",
            "timezone": "Europe/Madrid",
            "default_language": "es",
            "contact": {"name": "Equipo de Cuentas", "email": "cuentas@acme-sim.example"},
            "break_glass_admin": {"name": "Emergencia IT", "email": "it-breakglass@acme-sim.example"},
        },
        "storage": {"database": database or f"{output}/relevo.db", "output": output},
        "hr": {
            "connector": "bamboohr",
            "company_domain": "acme",
            "api_key": env("SIM_BAMBOOHR_KEY"),
            "base_url": sim.url("bamboohr") + "/api/v1/",
            "note_category": 17,
            "successor_field": SUCCESSOR_FIELD,
        },
        "crm": {"connector": "hubspot", "token": env("SIM_HUBSPOT_TOKEN"), "base_url": sim.url("hubspot")},
        "drafts": {
            "connector": "graph",
            "token": env("SIM_GRAPH_TOKEN"),
            "base_url": sim.url("graph") + "/v1.0",
        },
        "webhooks": {
            "bamboohr": {"private_key": env("SIM_WEBHOOK_KEY")},
            "hibob": {"secret": env("SIM_HIBOB_WEBHOOK_SECRET")},
        },
        "presences": presences,
        "identities": identities,
        "policy": {"auto_approve_notices": auto_approve, "draft_notices": True, "write_hr_note": True},
    }
    if hr == "hibob":
        doc["hr"] = {
            "connector": "hibob",
            "service_user_id": "SERVICE-SIM",
            "token": env("SIM_HIBOB_TOKEN"),
            "base_url": sim.url("hibob") + "/v1/",
            "document_folder": "77",
            "successor_field": HIBOB_SUCCESSOR_FIELD,
        }
    # The vendors' published limits, kept on relevo's side: keys are presence ids or "drafts"/"crm"/"hr".
    for where, (calls, seconds) in (rate_limits or {}).items():
        section = next((p["settings"] for p in presences if p["id"] == where), None) or doc[where]
        section["rate_limit"] = {"calls": calls, "seconds": seconds}
    return doc


def write(directory: Path, sim: Simulator, world: World, **options: Any) -> Path:
    """Write relevo.yaml into `directory` and check it loads; returns its path."""
    from relevo.config.registry import load_registry

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "relevo.yaml"
    path.write_text(
        yaml.safe_dump(registry(sim, world, **options), allow_unicode=True, sort_keys=False), "utf-8"
    )
    load_registry(path)
    return path


def seed_scim(scim_url: str, world: World, token: str = SECRETS["SIM_SCIM_TOKEN"]) -> None:
    """Every person as a SCIM user (stayers get the admin role), through the server's own API."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    for person in world.people:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": person.email,
            "name": {"givenName": person.first, "familyName": person.last},
            "displayName": person.name,
            "emails": [{"value": person.email, "primary": True}],
            "active": True,
            "roles": [{"value": "admin" if not person.leaver else "editor"}],
        }
        response = requests.post(f"{scim_url}/Users", data=json.dumps(body), headers=headers, timeout=10)
        response.raise_for_status()
        person.ids["scim"] = response.json()["id"]


def scim_user(scim_url: str, user_id: str, token: str = SECRETS["SIM_SCIM_TOKEN"]) -> dict[str, Any]:
    response = requests.get(
        f"{scim_url}/Users/{user_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()


def still_has_access(
    sim: Simulator, world: World, employee_id: str, scim_url: str | None = None
) -> dict[str, bool]:
    """Per presence: does the leaver still hold a role, as the vendor's own state says."""
    person = world.person(employee_id)
    meta = sim.vendors["meta"]
    out = {
        "facebook-page": person.ids["facebook-page"] in meta.assets[PAGE_ID]["users"],
        "instagram": person.ids["instagram"] in meta.assets[IG_ID]["users"],
        "meta-business": person.ids["meta-business"] in meta.businesses[BUSINESS_ID],
        "hootsuite": person.ids["hootsuite"] in sim.vendors["hootsuite"].orgs[HOOTSUITE_ORG],
        "tiktok": person.ids["tiktok"] in sim.vendors["tiktok"].centers[TIKTOK_BC],
    }
    if scim_url and "scim" in person.ids:
        out["scim"] = scim_user(scim_url, person.ids["scim"]).get("active", True) is not False
    return out
