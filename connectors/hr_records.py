"""What the HR connectors share: termination type mapping, status and date rules.

Kept apart so BambooHR and Factorial answer the same question the same way
("is this a resignation?", "is the last day still ahead?") and the registry's
`policy.termination_types` means the same thing for every platform.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from relevo.connectors.addresses import optional_email
from relevo.connectors.errors import ConnectorError
from relevo.model import ConfigurationError

EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # schemas/termination_event.schema.json
LANGUAGE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")  # schemas/employee.schema.json

# Common names HR platforms give termination types (English and Spanish), lower case.
# The registry's policy.termination_types is merged over this table.
DEFAULT_TERMINATION_TYPES: dict[str, str] = {
    "resignation": "voluntary",
    "voluntary": "voluntary",
    "renuncia": "voluntary",
    "dimisión": "voluntary",
    "dimision": "voluntary",
    "baja voluntaria": "voluntary",
    "termination": "involuntary",
    "involuntary": "involuntary",
    "dismissal": "involuntary",
    "layoff": "involuntary",
    "despido": "involuntary",
}


def termination_table(
    overrides: Mapping[str, str] | None, defaults: Mapping[str, str] = DEFAULT_TERMINATION_TYPES
) -> dict[str, str]:
    """Defaults with the company's own names merged over them (keys compared case-insensitively)."""
    table = {k.strip().lower(): v for k, v in defaults.items()}
    table.update({str(k).strip().lower(): v for k, v in (overrides or {}).items()})
    return table


def termination_kind(vendor_type: str | None, table: Mapping[str, str]) -> str:
    """voluntary / involuntary for a platform's type name; anything unmapped is "unknown"."""
    if not vendor_type:
        return "unknown"
    return table.get(vendor_type.strip().lower(), "unknown")


def status_on(last_day: str | None, today: date) -> str:
    """terminating while the last working day is today or ahead, terminated after it (or without one)."""
    if last_day and date.fromisoformat(last_day) >= today:
        return "terminating"
    return "terminated"


def iso_date(value: Any) -> str | None:
    """A YYYY-MM-DD string or None; BambooHR writes an empty date as "0000-00-00". Raises ValueError."""
    text = str(value).strip() if value is not None else ""
    if text in ("", "0000-00-00"):
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise ValueError(f"'{text[:20]}' is not a date (YYYY-MM-DD)") from None


def language_or(value: Any, default: str) -> str:
    """The record's language code if it is one (es, en-GB), else the company default."""
    text = str(value or "").strip()
    if len(text) == 2:
        text = text.lower()
    return text if LANGUAGE.match(text) else default


def work_email(value: Any, record: str) -> str | None:
    """A work e-mail from an HR record as one checked address (relevo.connectors.addresses), or None when empty.

    Raises BadRecord naming `record` ("BambooHR employee 1005") and the field: the notices of a leaver
    are addressed from these, so a value that is not exactly one plain address stops the run for that
    employee before anything is done.
    """
    return optional_email(value, f"{record}: work e-mail")


def flag(value: Any) -> bool:
    """A checkbox/boolean custom field: true, yes, 1, on (any case)."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"true", "yes", "1", "on", "sí", "si"}


def clean(value: Any) -> str | None:
    """A trimmed string, or None for missing and empty values."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def read_each(
    employee_ids: list[str], read: Callable[[str], dict[str, Any]]
) -> dict[str, dict[str, Any] | Exception]:
    """`read` once per id; a ConnectorError (a NotFound, say) is that id's answer, not the whole batch's."""
    out: dict[str, dict[str, Any] | Exception] = {}
    for employee_id in employee_ids:
        try:
            out[str(employee_id)] = read(employee_id)
        except ConnectorError as exc:
            out[str(employee_id)] = exc
    return out


# The exit-agreement restrictions an HR record may carry (registry `restriction_fields` maps them to fields).
RESTRICTIONS = ("no_client_contact", "non_solicitation_until")


def check_restriction_fields(vendor: str, fields: Mapping[str, str] | None, known: tuple[str, ...]) -> None:
    """The registry's `restriction_fields` name only restrictions relevo knows: a typo must not silently drop
    an exit agreement's "no client contact" (ConfigurationError naming the unknown keys)."""
    unknown = sorted(set(fields or {}) - set(known))
    if unknown:
        raise ConfigurationError(
            f"{vendor} restriction_fields: unknown key {', '.join(unknown)} (known: {', '.join(known)})"
        )
