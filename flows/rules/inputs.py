"""What an operator types: employee ids and the registry path, checked the same way in the UI and the CLI.

The flows' parameters carry these types, so Prefect validates them (the custom-run form shows the
constraint, the server refuses a bad value before a run exists) and passes the trimmed value on. Prefect
3.9's form renders every plain string as a one-row text area (Enter adds a newline): the schema accepts
whitespace around an id and the value is trimmed; whitespace or control characters inside are refused.
No Prefect import here: the CLI checks its arguments without importing Prefect.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints, TypeAdapter, ValidationError

ID_PATTERN = r"^\s*[^\s\x00-\x1f\x7f]{1,64}\s*$"

EmployeeId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=ID_PATTERN),
    Field(description="The HR platform's employee id, e.g. 1001 (one line; spaces around it are ignored)."),
]

RegistryPath = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4096),
    Field(
        description="The company's relevo.yaml on the worker: an absolute path, or relative "
        "to the directory the worker runs the flows in. Empty: the worker's "
        "RELEVO_REGISTRY, else relevo.yaml in its working directory. Paths "
        "inside relevo.yaml are relative to relevo.yaml's own folder."
    ),
]

EmployeeIds = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200_000),
    Field(
        description="Employee ids, separated by commas, spaces or new lines "
        "(pasted from a spreadsheet column works)."
    ),
]

SEPARATORS = re.compile(r"[\s,;]+")
_one = TypeAdapter(EmployeeId)


class BadInput(ValueError):
    """An operator's input that cannot be used, with one line saying why."""


def employee_id(text: object) -> str:
    """The id trimmed, or BadInput naming the problem in one line."""
    try:
        return _one.validate_python(text)
    except ValidationError as exc:
        problem = exc.errors()[0]
        kind = problem["type"]
        shown = repr(str(text))[:80]
        if kind in {"string_too_short", "missing"}:
            raise BadInput("the employee id is empty") from None
        if kind == "string_too_long":
            raise BadInput(f"the employee id {shown} is longer than 64 characters") from None
        if kind == "string_pattern_mismatch":
            raise BadInput(
                f"the employee id {shown} contains spaces, line breaks or control characters: give one id"
            ) from None
        raise BadInput(f"the employee id {shown} is not text") from None


def employee_ids(value: str | list[str] | None) -> list[str]:
    """Ids pasted as one field (comma, semicolon, space or line separated) or given as a list; each is
    checked, duplicates are dropped (first kept), order kept. BadInput when there is none or one is bad."""
    parts = value if isinstance(value, list) else [value or ""]
    ids = [piece for part in parts for piece in SEPARATORS.split(str(part)) if piece]
    if not ids:
        raise BadInput("no employee ids: give at least one (separated by commas or new lines)")
    return list(dict.fromkeys(employee_id(i) for i in ids))
