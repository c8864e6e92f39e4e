"""Resolve the registry's secret references: `{env: NAME}` or `{block: name}`.

The value is returned to the caller that builds a request and nowhere else; errors
name the reference, never the value.
"""

from __future__ import annotations

import os
from typing import Any

from relevo.model import ConfigurationError


def resolve(reference: dict[str, Any] | None, needed_for: str) -> str:
    if not reference:
        raise ConfigurationError(f"{needed_for}: no secret reference in the registry")
    if not isinstance(
        reference, dict
    ):  # the schema refuses this too; never quote the value, it may be the secret
        raise ConfigurationError(
            f"{needed_for}: must be a secret reference ({{env: VARIABLE}} or {{block: name}}), "
            "never the secret itself"
        )
    if "env" in reference:
        value = os.environ.get(reference["env"], "")
        if not value:
            raise ConfigurationError(f"{needed_for}: environment variable {reference['env']} is not set")
        return value
    name = reference.get("block", "")
    try:
        from prefect.blocks.system import Secret  # only when a block is actually used

        value = Secret.load(name).get()  # type: ignore[union-attr]  # sync caller: load returns the block
    except Exception as exc:  # Prefect raises ValueError, httpx errors, ...: all mean "not available"
        raise ConfigurationError(
            f"{needed_for}: Prefect Secret block '{name}' could not be loaded ({type(exc).__name__})"
        ) from None
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{needed_for}: Prefect Secret block '{name}' is empty or not a string")
    return value
