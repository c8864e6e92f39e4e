"""Fixtures for connector tests: a fake clock, a registry with given presences (helpers: tests/support/connectors.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from relevo.config.registry import Registry, load_registry
from tests.support.canaries import TOKEN as CANARY
from tests.support.connectors import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry_with(acme: Path, monkeypatch: pytest.MonkeyPatch):
    """The example company with its presences replaced by `presences`, the token env var set to CANARY."""

    def build(presences: list[dict[str, Any]], identities: list[dict[str, str]] | None = None) -> Registry:
        monkeypatch.setenv("RELEVO_TEST_TOKEN", CANARY)
        data = yaml.safe_load(acme.read_text("utf-8"))
        data["presences"] = presences
        data["identities"] = identities or []
        data.pop("personal_identities", None)
        acme.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
        return load_registry(acme)

    return build
