"""The example company's HR file (examples/acme/hr.json): who it shows as terminated, and a withdrawal."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.paths import EXAMPLE

# Everyone examples/acme/hr.json shows with a termination.
TERMINATED = {
    row["id"]
    for row in json.loads((EXAMPLE / "hr.json").read_text("utf-8"))["employees"]
    if row.get("termination")
}


def withdraw_in_hr(registry: Path, employee_id: str) -> None:
    """The HR platform withdraws the termination: the record beside `registry` shows none any more."""
    path = registry.parent / "hr.json"
    data = json.loads(path.read_text("utf-8"))
    for row in data["employees"]:
        if row["id"] == employee_id:
            row["termination"] = None
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
