"""Benchmark: revoking leavers' roles on 6 API-backed presences over loopback (run by hand, not a test).

Presences: Facebook Page, Instagram (Page-style assigned users), Meta Business, Hootsuite,
TikTok Business Center (the vendor simulator in tests/sim, documented payload shapes) and a
SCIM service (the real scim2-server). The connectors and the plan's matching rule are the
production ones; Prefect is left out so the numbers are the API path only.

Two ways of doing a layoff:
  per employee  what `offboard_employee` does today: each run builds its connectors, lists
                every presence (in parallel), then removes that leaver's roles (presences in
                parallel, one after the other within a presence);
  batch         every presence listed once, then every leaver's roles removed.
Calls are counted by the connectors' HTTP clients (retries included) and compared with the
issue's minimum: each presence listed once per batch, one call per removed grant.

    python -m tests.bench.bench_revoke [--leavers 50] [--latency 0.0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from relevo.config.registry import Registry, load_registry
from relevo.model import Grant
from relevo.rules.plan import is_leavers
from tests.bench.support import machine, scim_server, table
from tests.sim import Simulator, all_vendors
from tests.sim.company import SECRETS, arm, seed_scim, write
from tests.sim.seed import World, generate, populate


@contextmanager
def company(leavers: int, latency: float) -> Iterator[tuple[Path, World]]:
    """A fresh simulated company (vendors + SCIM) with `leavers` leavers; yields its registry path."""
    with Simulator(all_vendors(), latency=latency) as sim, scim_server(SECRETS["SIM_SCIM_TOKEN"]) as scim:
        arm(sim)
        world = populate(generate(leavers, n_stayers=4), sim.vendors, clients_per_leaver=0)
        seed_scim(f"{scim}/v2", world)
        with tempfile.TemporaryDirectory() as tmp:
            yield write(Path(tmp), sim, world, scim_url=f"{scim}/v2"), world


def employee(person: Any) -> dict[str, Any]:
    return {"id": person.id, "name": person.name, "email": person.email}


def list_all(registry: Registry, pool: ThreadPoolExecutor) -> dict[str, list[Grant]]:
    presences = [p for p in registry.presences if p.owner == "company"]
    listed = pool.map(lambda p: (p.id, registry.social(p).members(p)), presences)
    return dict(listed)


def revoke_all(registry: Registry, work: dict[str, list[Grant]], pool: ThreadPoolExecutor) -> int:
    """Presences in parallel, grants of one presence in order (as revoke_all in the flow); returns removals."""
    by_id = {p.id: p for p in registry.presences}

    def one_presence(item: tuple[str, list[Grant]]) -> int:
        presence = by_id[item[0]]
        connector = registry.social(presence)
        return sum(connector.revoke(presence, grant).status == "done" for grant in item[1])

    return sum(pool.map(one_presence, [(pid, grants) for pid, grants in work.items() if grants]))


def calls(registry: Registry) -> tuple[int, int]:
    """(HTTP calls made, of which throttled) by this registry's connectors."""
    clients = [registry.social(p).client for p in registry.presences if p.owner == "company"]
    return sum(c.calls for c in clients), sum(c.throttled for c in clients)


def per_employee(path: Path, world: World, count: int) -> dict[str, float]:
    """What the flow does now: every run lists every presence again."""
    made = throttled = removed = 0
    times = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for person in world.leavers[:count]:
            registry = load_registry(path)  # a new run builds new connectors and sessions
            started = time.perf_counter()
            members = list_all(registry, pool)
            mine = {
                pid: [g for g in grants if is_leavers(g, employee(person), registry)]
                for pid, grants in members.items()
            }
            removed += revoke_all(registry, mine, pool)
            times.append(time.perf_counter() - started)
            c, t = calls(registry)
            made, throttled = made + c, throttled + t
    return {
        "seconds": sum(times),
        "first": times[0],
        "calls": made,
        "throttled": throttled,
        "removed": removed,
    }


def batch(path: Path, world: World, count: int) -> dict[str, float]:
    """List each presence once, then remove every leaver's roles."""
    registry = load_registry(path)
    with ThreadPoolExecutor(max_workers=8) as pool:
        started = time.perf_counter()
        members = list_all(registry, pool)
        listing_calls, _ = calls(registry)
        people = [employee(p) for p in world.leavers[:count]]
        work = {
            pid: [g for g in grants if any(is_leavers(g, e, registry) for e in people)]
            for pid, grants in members.items()
        }
        removed = revoke_all(registry, work, pool)
        seconds = time.perf_counter() - started
    made, throttled = calls(registry)
    per_presence = {p.id: registry.social(p).client.calls for p in registry.presences}
    return {
        "seconds": seconds,
        "calls": made,
        "throttled": throttled,
        "removed": removed,
        "listing_calls": listing_calls,
        "per_presence": per_presence,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leavers", type=int, default=50)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the simulator adds to each answer"
    )
    args = parser.parse_args()
    os.environ.update(SECRETS)
    n = args.leavers

    with company(n, args.latency) as (path, world):
        one = per_employee(path, world, 1)
    with company(n, args.latency) as (path, world):
        many = per_employee(path, world, n)
    with company(n, args.latency) as (path, world):
        together = batch(path, world, n)

    listing = together["listing_calls"]
    rows = [
        ("machine", machine()),
        ("simulated latency per answer", f"{args.latency * 1000:.0f} ms"),
        ("presences (API-backed)", "facebook-page, instagram, meta-business, hootsuite, tiktok, scim"),
        ("members per presence", f"{n + 4} ({n} leavers + 4 stayers)"),
        ("", ""),
        (
            "1 employee, per-employee path",
            f"{one['first'] * 1000:.0f} ms, {one['calls']} calls, {one['removed']} roles removed",
        ),
        (
            "1 employee, minimum calls",
            f"{together['listing_calls']} listing + {one['removed']} removals = "
            f"{together['listing_calls'] + one['removed']}",
        ),
        (
            f"{n} employees, per-employee path",
            f"{many['seconds']:.2f} s, {many['calls']} calls "
            f"({many['throttled']} throttled), {many['removed']} roles removed",
        ),
        (
            f"{n} employees, batch path",
            f"{together['seconds']:.2f} s, {together['calls']} calls "
            f"({together['throttled']} throttled), {together['removed']} roles removed",
        ),
        (
            f"{n} employees, minimum calls",
            f"{listing} listing + {together['removed']} removals = {listing + together['removed']}",
        ),
        ("batch calls per presence", ", ".join(f"{k} {v}" for k, v in together["per_presence"].items())),
        ("note", "Hootsuite's member list carries ids only: one listing costs 1 + 2 calls per member"),
    ]
    print(
        table(f"Revoking roles on 6 API-backed presences (loopback), {time.strftime('%Y-%m-%d %H:%M')}", rows)
    )


if __name__ == "__main__":
    main()
