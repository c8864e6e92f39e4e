"""JSON Schemas for everything that crosses a boundary, and the one way to check them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker


class SchemaError(ValueError):
    """A document does not match its schema; the message names the source and the field."""


@cache
def validator(name: str) -> Draft202012Validator:
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text), format_checker=FormatChecker())


def field_path(path: Any) -> str:
    """`presences[2].owner` style path for a jsonschema error path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def check(name: str, document: Any, source: str) -> Any:
    """Validate `document` against schema `name`; raise SchemaError naming source and field."""
    errors = sorted(validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return document
    first = min(errors, key=lambda e: len(e.absolute_path))
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    raise SchemaError(f"{source}: {field_path(first.absolute_path)}: {_short(first)}{more}")


def _short(error: Any) -> str:
    if isinstance(error.schema, dict) and error.schema.get("title") == "secret reference":
        # jsonschema's message would quote the value, and a value here may be a pasted credential
        return "must be a secret reference ({env: VARIABLE} or {block: name}), never the secret itself"
    message = error.message
    return message if len(message) <= 200 else message[:197] + "..."
