"""Generated companies for the simulator: N leavers and some stayers, with grants and clients.

Deterministic for a seed, so a test and a benchmark see the same world. Each leaver
has a role on every presence (two of them admin roles, with other admins present so
the never-orphan rule does not stop the run), owns `clients_per_leaver` HubSpot
companies with contacts, and is terminated in BambooHR (involuntary by default).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tests.sim.vendors import BambooHR, Graph, HiBob, Hootsuite, HubSpot, Meta, TikTok

BUSINESS_ID = "1000000000000001"
PAGE_ID = "2000000000000001"
IG_ID = "3000000000000001"
HOOTSUITE_ORG = "814523"
TIKTOK_BC = "7100000000000000001"
DOMAIN = "acme-sim.example"
TERMINATION_TYPES = {"1": "Voluntary", "2": "Involuntary", "3": "Death"}

FIRST = [
    "Laura",
    "Diego",
    "Marta",
    "Sergio",
    "Lucía",
    "Pablo",
    "Carmen",
    "Javier",
    "Elena",
    "Andrés",
    "Nuria",
    "Óscar",
    "Rosa",
    "Iván",
    "Alba",
    "Hugo",
    "Irene",
    "Tomás",
    "Sara",
    "Víctor",
]
LAST = [
    "Martínez",
    "Navarro",
    "Ibáñez",
    "Ferrer",
    "Puig",
    "Cano",
    "Soler",
    "Gil",
    "Vidal",
    "Roca",
    "Llopis",
    "Mora",
    "Sanz",
    "Pérez",
    "Gómez",
    "Ruiz",
    "Serra",
    "Vila",
    "Costa",
    "Bonet",
]
COUNTRIES = [("Spain", "es"), ("United Kingdom", "en"), ("Ireland", "en"), ("Spain", "es")]


@dataclass
class Person:
    id: str
    first: str
    last: str
    email: str
    leaver: bool
    termination_type: str | None = None  # "Voluntary" / "Involuntary"
    owner_id: str = ""  # HubSpot owner id
    ids: dict[str, str] = field(default_factory=dict)  # presence → member id on that platform

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class World:
    people: list[Person]
    companies: dict[str, str] = field(default_factory=dict)  # HubSpot company id → owner employee id
    contacts: dict[str, str] = field(default_factory=dict)  # HubSpot contact id → company id

    @property
    def leavers(self) -> list[Person]:
        return [p for p in self.people if p.leaver]

    @property
    def stayers(self) -> list[Person]:
        return [p for p in self.people if not p.leaver]

    def person(self, employee_id: str) -> Person:
        return next(p for p in self.people if p.id == employee_id)

    def grants_of(self, employee_id: str) -> int:
        """How many presence roles the employee holds (what a full offboarding removes)."""
        return len(self.person(employee_id).ids)


def generate(n_leavers: int, n_stayers: int = 4, seed: int = 0, voluntary_every: int = 0) -> World:
    """People only; `populate` writes them into the vendors."""
    rng = random.Random(seed)
    people = []
    for index in range(n_leavers + n_stayers):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        employee_id = str(5001 + index)
        leaver = index < n_leavers
        kind = None
        if leaver:
            kind = "Voluntary" if voluntary_every and index % voluntary_every == 0 else "Involuntary"
        people.append(
            Person(
                id=employee_id,
                first=first,
                last=last,
                email=ascii_email(first, last, employee_id),
                leaver=leaver,
                termination_type=kind,
                owner_id=str(70_000_000 + index),
            )
        )
    return World(people=people)


def ascii_email(first: str, last: str, employee_id: str) -> str:
    table = str.maketrans("áéíóúñÁÉÍÓÚÑü", "aeiounAEIOUNu")
    return f"{first.translate(table).lower()}.{last.translate(table).lower()}.{employee_id}@{DOMAIN}"


def populate(
    world: World,
    vendors: dict[str, Any],
    clients_per_leaver: int = 2,
    termination_date: str = "2026-11-20",
    seed: int = 0,
) -> World:
    """Write the world into the simulator's vendors (BambooHR, Meta, Hootsuite, TikTok, HubSpot, Graph)."""
    rng = random.Random(seed)
    bamboo: BambooHR = vendors["bamboohr"]
    meta: Meta = vendors["meta"]
    hoot: Hootsuite = vendors["hootsuite"]
    tiktok: TikTok = vendors["tiktok"]
    hubspot: HubSpot = vendors["hubspot"]
    graph: Graph = vendors["graph"]
    bamboo.lists = [
        {
            "fieldId": 1610,
            "alias": "terminationTypeId",
            "manageable": "yes",
            "multiple": "no",
            "name": "Termination Type",
            "options": [{"id": int(k), "archived": "no", "name": v} for k, v in TERMINATION_TYPES.items()],
        },
        {
            "fieldId": 1611,
            "alias": "terminationReasonId",
            "manageable": "yes",
            "multiple": "no",
            "name": "Termination Reason",
            "options": [{"id": 14, "archived": "no", "name": "Performance"}],
        },
    ]
    meta.businesses.setdefault(BUSINESS_ID, {})
    meta.assets.setdefault(PAGE_ID, {"business": BUSINESS_ID, "users": {}})
    meta.assets.setdefault(IG_ID, {"business": BUSINESS_ID, "users": {}})
    hoot.orgs.setdefault(HOOTSUITE_ORG, {})
    tiktok.centers.setdefault(TIKTOK_BC, {})
    manager = world.stayers[0] if world.stayers else None
    for index, person in enumerate(world.people):
        admin = not person.leaver or index % 3 == 0
        write_bamboohr(bamboo, person, manager, termination_date)
        if "hibob" in vendors:
            write_hibob(vendors["hibob"], person, manager, termination_date)
        bsuid = str(int(BUSINESS_ID) + 1000 + index)
        meta.businesses[BUSINESS_ID][bsuid] = {
            "id": bsuid,
            "name": person.name,
            "email": person.email,
            "role": "ADMIN" if admin else "EMPLOYEE",
            "marked_for_removal": False,
        }
        meta.assets[PAGE_ID]["users"][bsuid] = (
            ("MANAGE", "CREATE_CONTENT", "MODERATE", "ADVERTISE", "ANALYZE")
            if admin
            else ("CREATE_CONTENT", "MODERATE", "ANALYZE")
        )
        meta.assets[IG_ID]["users"][bsuid] = ("MANAGE", "CREATE_CONTENT") if admin else ("CREATE_CONTENT",)
        member_id = str(11_000_000 + index)
        hoot.orgs[HOOTSUITE_ORG][member_id] = {
            "id": member_id,
            "fullName": person.name,
            "email": person.email,
            "companyName": "Acme Sim",
            "bio": None,
            "timezone": "Europe/Madrid",
            "language": "es",
            "permissions": ["ORG_MANAGE_MEMBER"] if admin else [],
            "permissionPreset": "SUPER_ADMIN" if admin else "DEFAULT",
        }
        user_id = str(7_200_000_000_000_000_000 + index)
        tiktok.centers[TIKTOK_BC][user_id] = {
            "user_id": user_id,
            "user_name": person.name,
            "user_email": person.email,
            "user_role": "ADMIN" if admin else "STANDARD",
            "relation_status": "BOUND",
            "ext_user_role": {"finance_role": "NONE"},
        }
        person.ids.update(
            {
                "meta-business": bsuid,
                "facebook-page": bsuid,
                "instagram": bsuid,
                "hootsuite": member_id,
                "tiktok": user_id,
            }
        )
        hubspot.owners[person.owner_id] = {
            "id": person.owner_id,
            "email": person.email,
            "type": "PERSON",
            "firstName": person.first,
            "lastName": person.last,
            "userId": 9_000_000 + index,
            "userIdIncludingInactive": 9_000_000 + index,
            "createdAt": "2024-01-10T09:00:00.000Z",
            "updatedAt": "2026-01-10T09:00:00.000Z",
            "archived": False,
            "teams": [],
        }
        graph.mailboxes.setdefault(person.email.casefold(), [])
        if person.leaver:
            for n in range(clients_per_leaver):
                add_client(world, hubspot, person, n, rng)
    return world


def write_hibob(bob: HiBob, person: Person, manager: Person | None, termination_date: str) -> None:
    """The same person as Bob's people search returns them (machine values, display copies)."""
    boss = manager if manager and manager is not person else None
    bob.folders.add("77")
    bob.employees[person.id] = {
        "id": person.id,
        "displayName": person.name,
        "firstName": person.first,
        "surname": person.last,
        "email": person.email,
        "work": {
            "title": "Ejecutivo/a de cuentas",
            "department": "Cuentas",
            "reportsTo": {"id": boss.id, "displayName": boss.name, "email": boss.email} if boss else None,
        },
        "internal": {
            "status": "Inactive" if person.leaver else "Active",
            "lifecycleStatus": "terminated" if person.leaver else "employed",
            "terminationDate": termination_date if person.leaver else None,
            "terminationType": "2317" if person.leaver else None,
            "terminationReason": "2451" if person.leaver else None,
        },
        "employee": {"lastDayOfWork": termination_date if person.leaver else None},
        "humanReadable": {
            "internal": {"terminationType": person.termination_type, "terminationReason": "Performance"}
        }
        if person.leaver
        else {},
    }


def write_bamboohr(bamboo: BambooHR, person: Person, manager: Person | None, termination_date: str) -> None:
    fields = {
        "firstName": person.first,
        "lastName": person.last,
        "displayName": person.name,
        "workEmail": person.email,
        "department": "Cuentas",
        "division": "Valencia",
        "jobTitle": "Ejecutivo/a de cuentas",
        "location": "Valencia",
        "status": "Inactive" if person.leaver else "Active",
        "employmentHistoryStatus": "Terminated" if person.leaver else "Full-Time",
        "terminationDate": termination_date if person.leaver else "0000-00-00",
        "supervisorEId": manager.id if manager and manager is not person else None,
        "supervisorEmail": manager.email if manager and manager is not person else None,
        "supervisor": f"{manager.last}, {manager.first}" if manager and manager is not person else None,
        "preferredLanguage": "Spanish",
    }
    bamboo.employees[person.id] = fields
    rows = [
        {
            "id": f"{person.id}1",
            "date": "2021-03-01",
            "employmentStatus": "Full-Time",
            "terminationTypeId": None,
            "terminationReasonId": None,
            "terminationRehireId": None,
            "comment": None,
        }
    ]
    if person.leaver:
        type_id = next(k for k, v in TERMINATION_TYPES.items() if v == person.termination_type)
        rows.append(
            {
                "id": f"{person.id}2",
                "date": termination_date,
                "employmentStatus": "Terminated",
                "terminationTypeId": type_id,
                "terminationReasonId": "14",
                "terminationRehireId": "2",
                "comment": "Internal: reason kept in HR only",
            }
        )
    bamboo.tables[person.id] = {
        "employmentStatus": rows,
        "jobInfo": [
            {
                "id": f"{person.id}9",
                "date": "2021-03-01",
                "location": "Valencia",
                "division": "Valencia",
                "department": "Cuentas",
                "jobTitle": "Ejecutivo/a de cuentas",
                "reportsTo": f"{manager.first} {manager.last}" if manager and manager is not person else None,
            }
        ],
    }


def add_client(world: World, hubspot: HubSpot, owner: Person, n: int, rng: random.Random) -> None:
    company_id = str(18_000_000_000 + len(hubspot.objects["companies"]))
    country, language = rng.choice(COUNTRIES)
    hubspot.objects["companies"][company_id] = {
        "id": company_id,
        "createdAt": "2025-02-01T10:00:00.000Z",
        "updatedAt": "2026-02-01T10:00:00.000Z",
        "properties": {
            "name": f"Cliente {owner.id}-{n} S.L.",
            "domain": f"cliente{owner.id}{n}.example",
            "country": country,
            "hubspot_owner_id": owner.owner_id,
            "hs_object_id": company_id,
        },
    }
    world.companies[company_id] = owner.id
    contacts = set()
    for k in range(1 + (n % 2)):
        contact_id = str(30_000 + len(hubspot.objects["contacts"]))
        hubspot.objects["contacts"][contact_id] = {
            "id": contact_id,
            "createdAt": "2025-02-01T10:00:00.000Z",
            "updatedAt": "2026-02-01T10:00:00.000Z",
            "properties": {
                "firstname": rng.choice(FIRST),
                "lastname": rng.choice(LAST),
                "email": f"contacto{k}@cliente{owner.id}{n}.example",
                "hs_language": language,
                "company": f"Cliente {owner.id}-{n} S.L.",
                "associatedcompanyid": company_id,
                "hubspot_owner_id": owner.owner_id,
                "hs_object_id": contact_id,
            },
        }
        world.contacts[contact_id] = company_id
        contacts.add(contact_id)
    hubspot.associations[(company_id, "contacts")] = contacts
