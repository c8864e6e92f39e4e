"""The golden notices: one per language and case, rendered by the real renderer from fixed data.

`python -m tests.golden_cases --write` rewrites tests/golden/ (review every changed line before committing);
tests/test_golden_notices.py checks the files match, and the README's examples come from here too.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relevo.config.registry import Registry, load_registry
from relevo.model import Client, Contact
from relevo.rules import notices

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # a Thursday, 11:00 in Valencia
REASON = "Despido disciplinario: incumplimientos reiterados (expediente RH-2026-031)"
VENDOR_TYPE = "Kündigung durch Arbeitgeber"

# One reader per language, as a CRM would hold them (title in `salutation`, names apart, the country).
READERS: dict[str, tuple[Client, Contact]] = {
    "es": (
        Client("C001", "Hotel Mirador de Altea", "1001", country="ES"),
        Contact(
            "Rosa Beltrán Soler",
            "rosa.beltran@miradoraltea.example",
            "es",
            country="ES",
            first_name="Rosa",
            last_name="Beltrán Soler",
            salutation="Sra.",
        ),
    ),
    "en": (
        Client("C005", "Seaview Hotels Ltd", "1001", country="GB"),
        Contact(
            "Olivia Hartley",
            "olivia.hartley@seaviewhotels.example",
            "en",
            country="GB",
            first_name="Olivia",
            last_name="Hartley",
            salutation="Ms",
        ),
    ),
    "ca": (
        Client("C021", "Hotel Arinsal Pirineu", "1001", language="ca", country="AD"),
        Contact(
            "Jordi Puigdemunt i Serra",
            "jordi@arinsalpirineu.example",
            country="AD",
            first_name="Jordi",
            last_name="Puigdemunt i Serra",
            salutation="Sr.",
        ),
    ),
    "pt": (
        Client("C022", "Quinta do Vale Azul", "1001", country="PT"),
        Contact(
            "Ana Rita Sousa Pereira",
            "ana.sousa@valeazul.example",
            "pt-PT",
            country="PT",
            first_name="Ana Rita",
            last_name="Sousa Pereira",
            salutation="Sra.",
        ),
    ),
    "pt-BR": (
        Client("C023", "Pousada Mar de Dentro", "1001", country="BR"),
        Contact(
            "Luiz Carvalho",
            "luiz@mardedentro.example",
            "pt-BR",
            country="BR",
            first_name="Luiz",
            last_name="Carvalho",
            salutation="Sr.",
        ),
    ),
    "fr": (
        Client("C024", "Hôtel du Léman SA", "1001", country="CH"),
        Contact(
            "Élodie Marchand",
            "elodie.marchand@hotelduleman.example",
            "fr",
            country="CH",
            first_name="Élodie",
            last_name="Marchand",
            salutation="Mme",
        ),
    ),
    "de": (
        Client("C025", "Alpenhof Weiß GmbH", "1001", country="AT"),
        Contact(
            "Jürgen Weiß",
            "j.weiss@alpenhof.example",
            "de",
            country="AT",
            first_name="Jürgen",
            last_name="Weiß",
            salutation="Herr",
        ),
    ),
}


def person(
    pid: str, first: str, last: str, email: str, phone: str | None, title: str | None
) -> dict[str, Any]:
    return {
        "id": pid,
        "name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "job_title": title,
    }


MANAGER = person(
    "1010",
    "Javier",
    "Soler Roig",
    "javier.soler@acme-comunicacion.example",
    "+34 961 23 45 10",
    "Director de cuentas",
)
SUCCESSOR = person(
    "1005",
    "Nuria",
    "Castells Vidal",
    "nuria.castells@acme-comunicacion.example",
    "+34 961 23 45 05",
    "Directora de cuentas adjunta",
)


def leaver(
    kind: str,
    last_day: str,
    *,
    successor: bool = True,
    manager: bool = True,
    no_contact: bool = False,
    non_solicitation: str | None = None,
) -> dict[str, Any]:
    return {
        "id": "1001",
        "name": "Laura Martínez Ferrer",
        "first_name": "Laura",
        "last_name": "Martínez Ferrer",
        "email": "laura.martinez@acme-comunicacion.example",
        "phone": "+34 961 23 45 01",
        "language": "es",
        "department": "Cuentas",
        "job_title": "Ejecutiva de cuentas sénior",
        "status": "terminated",
        "termination": {"type": kind, "date": last_day, "reason": REASON, "vendor_type": VENDOR_TYPE},
        "manager": copy.deepcopy(MANAGER) if manager else None,
        "successor": copy.deepcopy(SUCCESSOR) if successor else None,
        "restrictions": {"no_client_contact": no_contact, "non_solicitation_until": non_solicitation},
    }


CASES: dict[str, dict[str, Any]] = {
    # a dismissal: access already gone, the successor takes over now
    "dismissal_now": leaver("involuntary", "2026-11-26"),
    # a resignation with the last day ahead: the leaver looks after the client until then
    "resignation_ahead": leaver("voluntary", "2027-01-15"),
    # no successor yet: the manager is the interim contact (last day ahead, so from the day after)
    "interim": leaver("voluntary", "2027-01-15", successor=False),
    # the exit agreement forbids client contact: an internal hand-over note to the manager instead
    "no_contact": leaver("voluntary", "2027-01-15", no_contact=True, non_solicitation="2027-07-15"),
    # neither successor nor manager: the company's contact team writes, in the plural
    "fallback_signer": leaver("involuntary", "2026-11-26", successor=False, manager=False),
}


def example_registry(language: str = "es") -> Registry:
    registry = load_registry(ROOT / "examples" / "acme" / "relevo.yaml")
    data = copy.deepcopy(registry.data)
    data["company"]["default_language"] = language
    return Registry(path=registry.path, data=data)


def render(language: str, case: str) -> str:
    """The one draft of a case, as a reviewer reads it: subject, blank line, body."""
    client, contact = READERS[language]
    # The hand-over note is in the company's language: the company is set to speak this language.
    registry = example_registry(language if case == "no_contact" else "es")
    actions = notices.draft_actions(CASES[case], registry, [replace(client, contacts=(contact,))], NOW)
    (action,) = actions
    draft = action.draft
    return (
        f"To: {draft.to_name} <{draft.to_email}>\nFrom: {draft.sender_name} <{draft.mailbox}>\n"
        f"Subject: {draft.subject}\n\n{draft.text}"
    )


def path(language: str, case: str) -> Path:
    return GOLDEN / f"{case}.{language}.txt"


def main(argv: list[str]) -> int:
    """--write: rewrite every golden file; else print the cases named (a language and/or a case) or all."""
    wanted = [a for a in argv if not a.startswith("--")]
    for language in READERS:
        for case in CASES:
            if any(w not in (language, case) for w in wanted):
                continue
            text = render(language, case)
            if "--write" in argv:
                GOLDEN.mkdir(exist_ok=True)
                path(language, case).write_text(text, "utf-8")
            else:
                print(f"===== {case}.{language}\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
