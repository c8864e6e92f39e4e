"""Helpers for connector tests: a fake clock, a presence, a leaver's HR fields."""

from __future__ import annotations

from typing import Any

from relevo.model import Presence


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


def presence(connector: str, platform: str, **settings: Any) -> Presence:
    return Presence(
        id=f"{platform.replace('_', '-')}-1",
        platform=platform,
        account=f"Acme on {platform}",
        connector=connector,
        settings=settings,
    )


def leaver(
    employee_id: str = "1001", email: str = "laura.martinez@acme-comunicacion.example"
) -> dict[str, Any]:
    """The HR record fields the plan rules read."""
    return {
        "id": employee_id,
        "name": "Laura Martínez Ferrer",
        "email": email,
        "successor": {
            "id": "1005",
            "name": "Nuria Castells Vidal",
            "email": "nuria.castells@acme-comunicacion.example",
        },
    }
