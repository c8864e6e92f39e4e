"""The registry's settings as typed data: `Company`, `Policy`, `Storage`, with their defaults applied once.

The defaults are read from relevo.schemas' registry.schema.json (its `default` keywords), so the schema
that documents a setting is also the only place its default lives; code reads `registry.policy.draft_notices`,
never `.get("draft_notices", True)`. Built from a registry that passed the schema (relevo.config.registry).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from relevo.model import Person


@functools.cache
def schema_defaults(section: str) -> dict[str, Any]:
    """The `default` of each setting of one top-level section of registry.schema.json."""
    text = resources.files("relevo.schemas").joinpath("registry.schema.json").read_text(encoding="utf-8")
    properties = json.loads(text)["properties"][section]["properties"]
    return {name: spec["default"] for name, spec in properties.items() if "default" in spec}


def with_defaults(section: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """The section as written, with the schema's default for each setting it leaves out."""
    return {**schema_defaults(section), **(data or {})}


@dataclass(frozen=True)
class Company:
    """Who the company is: its name, time zone, language, and the people relevo names in tasks."""

    name: str
    timezone: str  # IANA name (checked on load)
    default_language: str
    end_of_day: str  # "HH:MM": when a resignation's access ends on the last day
    contact: Person
    contact_phone: str | None
    break_glass_admin: Person

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Company:
        values = with_defaults("company", data)
        return cls(
            name=values["name"],
            timezone=values["timezone"],
            default_language=values["default_language"],
            end_of_day=values["end_of_day"],
            contact=Person(name=values["contact"]["name"], email=values["contact"]["email"]),
            contact_phone=values["contact"].get("phone"),
            break_glass_admin=Person(
                name=values["break_glass_admin"]["name"], email=values["break_glass_admin"]["email"]
            ),
        )


@dataclass(frozen=True)
class Policy:
    """What relevo may do on its own: approve notices, draft them, write the HR note; how long approval waits."""

    auto_approve_notices: bool
    approval_timeout_hours: float
    draft_notices: bool
    write_hr_note: bool
    termination_types: (
        dict[str, str] | None
    )  # HR type name -> voluntary/involuntary; None: the connector's own

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Policy:
        values = with_defaults("policy", data)
        return cls(
            auto_approve_notices=bool(values["auto_approve_notices"]),
            approval_timeout_hours=float(values["approval_timeout_hours"]),
            draft_notices=bool(values["draft_notices"]),
            write_hr_note=bool(values["write_hr_note"]),
            termination_types=values.get("termination_types"),
        )


@dataclass(frozen=True)
class Storage:
    """Where relevo keeps its ledger, inbox and output files (paths relative to the registry file)."""

    database: str | dict[str, Any]  # a path, an SQLAlchemy URL, or a secret reference holding one
    output: str
    inbox_retention_days: float

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Storage:
        values = with_defaults("storage", data)
        output = values.get("output", "out")
        return cls(
            database=values.get("database", f"{output}/relevo.db"),
            output=output,
            inbox_retention_days=float(values["inbox_retention_days"]),
        )
