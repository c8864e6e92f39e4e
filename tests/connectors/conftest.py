"""Helpers for connector tests: a canary token, a fake clock, a registry with one API presence."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from relevo.connectors.grants import Presence
from relevo.config.registry import Registry, load_registry
from tests.support.canaries import TOKEN as CANARY



class FakeClock:
    """A monotonic clock that only moves when something sleeps: waits are exact and instant."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def presence(connector: str, platform: str, **settings: Any) -> Presence:
    return Presence(id=f"{platform.replace('_', '-')}-1", platform=platform, account=f"Acme on {platform}",
                    connector=connector, settings=settings)


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


def leaver(employee_id: str = "1001", email: str = "laura.martinez@acme-comunicacion.example") -> dict[str, Any]:
    """The HR record fields the plan rules read."""
    return {"id": employee_id, "name": "Laura Martínez Ferrer", "email": email,
            "successor": {"id": "1005", "name": "Nuria Castells Vidal", "email": "nuria.castells@acme-comunicacion.example"}}
