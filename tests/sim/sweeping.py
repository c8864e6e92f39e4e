"""A simulated company as relevo leaves it after offboarding its leavers, for the sweep's tests and benchmark.

Every leaver has no role left on the simulated presences and a `revoke_role` row in the ledger (what
`recent_leavers` reads), except where an admin gave access back (`back`). What "back" means follows
each vendor: a Page or Instagram role or a Hootsuite member added again; on Meta Business and TikTok
an invitation (a Business Role Request naming who sent it; a PENDING Business Center member).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.sim.seed import BUSINESS_ID, HOOTSUITE_ORG, IG_ID, PAGE_ID, TIKTOK_BC, World
from tests.sim.server import Simulator

ADMIN_WHO_READDED = {"id": "1009998887776", "name": "Marta Admin"}


def as_offboarded(
    sim: Simulator, world: World, registry: Path, back: Mapping[str, Iterable[str]] | None = None
) -> None:
    """Remove every leaver's grants from the simulator and record their removal; then give `back` (employee id ->
    presence ids) as an admin would."""
    from relevo.config.registry import load_registry
    from relevo.storage.ledger import Ledger

    meta, hoot, tiktok = sim.vendors["meta"], sim.vendors["hootsuite"], sim.vendors["tiktok"]
    ledger = Ledger(load_registry(registry).database_url)
    back = back or {}
    for person in world.leavers:
        page_tasks = meta.assets[PAGE_ID]["users"].pop(person.ids["facebook-page"], None)
        ig_tasks = meta.assets[IG_ID]["users"].pop(person.ids["instagram"], None)
        business = meta.businesses[BUSINESS_ID].pop(person.ids["meta-business"], None)
        member = hoot.orgs[HOOTSUITE_ORG].pop(person.ids["hootsuite"], None)
        bc_member = tiktok.centers[TIKTOK_BC].pop(person.ids["tiktok"], None)
        for presence, member_id in person.ids.items():
            ledger.finish(
                key=f"{person.id}:revoke:{presence}:{member_id}",
                employee_id=person.id,
                action="revoke_role",
                target=presence,
                outcome="done",
                detail="removed (simulated)",
            )
        for presence in back.get(person.id, ()):
            if presence == "facebook-page" and page_tasks:
                meta.assets[PAGE_ID]["users"][person.ids[presence]] = page_tasks
            elif presence == "instagram" and ig_tasks:
                meta.assets[IG_ID]["users"][person.ids[presence]] = ig_tasks
            elif presence == "meta-business" and business:
                meta.invite_pending(BUSINESS_ID, person.email, "EMPLOYEE", created_by=ADMIN_WHO_READDED)
            elif presence == "hootsuite" and member:
                hoot.orgs[HOOTSUITE_ORG][person.ids[presence]] = member
            elif presence == "tiktok" and bc_member:
                tiktok.centers[TIKTOK_BC][f"invite:{person.email}"] = {
                    "user_name": "",
                    "user_email": person.email,
                    "user_role": "STANDARD",
                    "relation_status": "PENDING",
                }
            else:
                raise ValueError(f"cannot give back {presence} to {person.id}")


def add_stranger(sim: Simulator, email: str, name: str) -> None:
    """A Hootsuite member HR has never heard of (someone who left before relevo, an old freelancer)."""
    members = sim.vendors["hootsuite"].orgs[HOOTSUITE_ORG]
    member_id = str(19_000_000 + len(members))
    members[member_id] = {
        "id": member_id,
        "fullName": name,
        "email": email,
        "companyName": "Acme Sim",
        "bio": None,
        "timezone": "Europe/Madrid",
        "language": "es",
        "permissions": [],
        "permissionPreset": "DEFAULT",
    }
