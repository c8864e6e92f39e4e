"""A simulated company for flow-level reliability tests: every vendor on loopback, secrets as canaries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sim import Simulator, all_vendors
from tests.sim.company import SECRETS, arm, set_successors, write
from tests.sim.seed import World, generate, populate


@dataclass
class Company:
    sim: Simulator
    world: World
    registry: Path


@contextmanager
def simulated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leavers: int, stayers: int
) -> Iterator[Company]:
    """A company on the simulator; the registry points every connector at it, secrets are canaries."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with Simulator(all_vendors()) as sim:
        arm(sim)
        world = populate(generate(n_leavers=leavers, n_stayers=stayers), sim.vendors)
        set_successors(sim, world)
        yield Company(sim, world, write(tmp_path / "company", sim, world))


@pytest.fixture
def company(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Two leavers and three stayers."""
    with simulated(tmp_path, monkeypatch, leavers=2, stayers=3) as built:
        yield built


@pytest.fixture
def fast_prefect_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries wait less: transport backoff a tenth (counts, conditions and Retry-After are unchanged; Prefect
    task retries have no delay of their own: the transport waits a handed-back Retry-After)."""
    from relevo.connectors import http

    monkeypatch.setattr(http, "BACKOFF_BASE", http.BACKOFF_BASE / 10)
    monkeypatch.setattr(http, "BACKOFF_CAP", http.BACKOFF_CAP / 10)
