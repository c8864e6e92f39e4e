"""Benchmark: the daily sweep of 1,000 recent leavers over 6 presences, with the vendors' rate limits on.

The company is the simulator's (BambooHR, Facebook Page, Instagram, Meta Business, Hootsuite, TikTok
Business Center, and a real scim2-server behind it), in the state relevo leaves it after offboarding
everyone: each leaver without a role and with a `revoke_role` row in the ledger; SCIM users
deactivated (still listed, as relevo's PATCH active=false leaves them). Then an admin gives access
back to a few leavers (`--came-back`: a Page role, a Meta Business invitation, a Hootsuite member,
a TikTok invitation, a SCIM account reactivated), and a stranger nobody in HR knows is on Hootsuite.

The issue's bound: one member listing per presence (plus its pages), not one per leaver; plus one
call per removal and one confirming read per presence that had removals. Printed: the calls by
endpoint, listings per presence, and the wall time against the time the rate limits alone impose
on those minimum calls (limits as in bench_bulk: Meta 600/60 s, Hootsuite, TikTok, SCIM 100/10 s).

    python -m tests.bench.bench_sweep [--leavers 1000] [--came-back 10] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

from tests.bench.bench_bulk import RATE, limits
from tests.bench.support import QUIET, machine, scim_server, table
from tests.sim import Simulator, all_vendors
from tests.sim.company import SECRETS, arm, seed_scim, still_has_access, write
from tests.sim.seed import generate, populate
from tests.sim.sweeping import add_stranger, as_offboarded
from tests.sim.vendors import Proxy

STAYERS = 5
PRESENCES = ("facebook-page", "instagram", "meta-business", "hootsuite", "tiktok", "scim")
# A listing's first page, per presence: (vendor, method, path pattern, "is the first page" test on the query)
FIRST_PAGE = {
    "facebook-page": ("meta", r"/2000000000000001/assigned_users$", lambda q: "after" not in q),
    "instagram": ("meta", r"/3000000000000001/assigned_users$", lambda q: "after" not in q),
    "meta-business": ("meta", r"/business_users$", lambda q: "after" not in q),
    "hootsuite": ("hootsuite", r"/organizations/\d+/members$", lambda q: True),
    "tiktok": ("tiktok", r"/bc/member/get/?$", lambda q: q.get("page", "1") == "1"),
    "scim": ("scim", r"/Users$", lambda q: q.get("startIndex", "1") == "1"),
}
REMOVALS = {"DELETE", "PATCH", "PUT"}


def endpoint(path: str) -> str:
    """A path with its ids replaced, to group calls by endpoint."""
    return re.sub(r"/(\d{4,}|[0-9a-f]{32}|[0-9a-f-]{36})(?=/|$)", "/{id}", path)


def scim_deactivate(scim_url: str, user_id: str, active: bool = False) -> None:
    requests.patch(
        f"{scim_url}/Users/{user_id}",
        timeout=10,
        headers={
            "Authorization": f"Bearer {SECRETS['SIM_SCIM_TOKEN']}",
            "Content-Type": "application/scim+json",
        },
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": active}],
        },
    ).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leavers", type=int, default=1000)
    parser.add_argument("--came-back", type=int, default=10, help="leavers an admin gives access back to")
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    os.environ.update({**SECRETS, **QUIET})
    from prefect.testing.utilities import prefect_test_harness

    from relevo.sweep import sweep_access

    back_ids: dict[str, tuple[str, ...]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        scim_server(SECRETS["SIM_SCIM_TOKEN"]) as scim_root,
        prefect_test_harness(server_startup_timeout=90),
    ):
        sim = Simulator(all_vendors() + [Proxy("scim", scim_root)]).start()
        arm(sim)
        world = populate(
            generate(n_leavers=args.leavers, n_stayers=STAYERS), sim.vendors, clients_per_leaver=0
        )
        setup = time.monotonic()
        seed_scim(scim_root + "/v2", world)
        registry = write(
            Path(tmp) / "company",
            sim,
            world,
            scim_url=sim.url("scim") + "/v2",
            meta_usage_window=60.0,
            rate_limits={"hootsuite": (100, 10.0), "tiktok": (100, 10.0), "scim": (100, 10.0)},
        )
        # Came back: the first leavers, one presence each in turn (SCIM: the account reactivated).
        for index, person in enumerate(world.leavers[: args.came_back]):
            back_ids[person.id] = (PRESENCES[index % len(PRESENCES)],)
        for person in world.leavers:
            if back_ids.get(person.id) != ("scim",):
                scim_deactivate(scim_root + "/v2", person.ids["scim"])
        as_offboarded(sim, world, registry, back={k: v for k, v in back_ids.items() if v != ("scim",)})
        add_stranger(sim, "old.freelancer@agency.example", "Old Freelancer")
        setup = time.monotonic() - setup
        sim.configure("*", latency=args.latency)
        limits(sim)
        sim.calls.clear()
        started = time.monotonic()
        result = sweep_access(str(registry), days=30)
        wall = time.monotonic() - started
        log = sim.log()
        remaining = sum(
            any(still_has_access(sim, world, pid, scim_root + "/v2").values()) for pid in back_ids
        )
        sim.stop()

    by_endpoint = Counter((c.vendor, c.method, endpoint(c.path)) for c in log)
    listings = {
        p: sum(
            1
            for c in log
            if c.vendor == v and c.method == "GET" and re.search(pat, c.path) and first(c.query)
        )
        for p, (v, pat, first) in FIRST_PAGE.items()
    }
    removed_on = Counter(PRESENCES[i % len(PRESENCES)] for i in range(min(args.came_back, args.leavers)))
    made = Counter(c.vendor for c in log)
    removals = Counter(
        c.vendor
        for c in log
        if c.method in REMOVALS or (c.vendor == "tiktok" and c.path.endswith("/bc/member/delete/"))
    )
    # The minimum: every listing call made for the first read (pages included), one call per removal, one
    # confirming read per presence with removals (Hootsuite's needs the ids only: 1 call).
    need = Counter()
    for vendor in ("meta", "hootsuite", "tiktok", "scim"):
        list_calls = sum(1 for c in log if c.vendor == vendor and c.method == "GET")
        need[vendor] = list_calls + removals[vendor]
    throttled = Counter(c.vendor for c in log if c.status == 429 or c.fault == "rate_limit")
    bound = max(need[v] / RATE[v] for v in need)
    per_presence = ", ".join(f"{p} {listings[p]} (removals {removed_on[p]})" for p in PRESENCES)
    list_calls = {
        p: sum(1 for c in log if c.vendor == v and c.method == "GET" and re.search(pat, c.path))
        for p, (v, pat, _) in FIRST_PAGE.items()
    }
    pages = {p: list_calls[p] / max(listings[p], 1) for p in PRESENCES}
    one_each = all(listings[p] == 1 + (1 if removed_on[p] else 0) for p in PRESENCES)
    print(
        table(
            f"Sweep: {args.leavers} recent leavers x 6 presences, {args.came_back} came back, rate limits on, "
            f"{args.latency * 1000:.0f} ms per answer ({machine()})",
            [
                (
                    "wall time",
                    f"{wall:.1f} s (setup {setup:.1f} s not counted); rate-limit bound for the calls made "
                    f"{bound:.1f} s -> {wall / max(bound, 1e-9):.2f}x",
                ),
                ("member listings per presence", per_presence),
                (
                    "  one listing per presence (+1 confirming read where something was removed)",
                    "yes" if one_each else "NO",
                ),
                (
                    "  pages per listing (measured)",
                    ", ".join(f"{p} {pages[p]:g}" for p in PRESENCES)
                    + " (SCIM lists its deactivated users too; Hootsuite: +2 calls per member, its list has ids only)",
                ),
                ("HTTP calls by vendor", ", ".join(f"{v} {n}" for v, n in sorted(made.items()))),
                ("  removals by vendor", ", ".join(f"{v} {n}" for v, n in sorted(removals.items()))),
                ("429 / throttle answers seen", str(sum(throttled.values()))),
                (
                    "came back / removed again",
                    f"{result['came_back']} / {args.came_back - remaining} "
                    f"(leavers with access left: {remaining})",
                ),
                ("tasks for strangers", str(result["unmatched_tasks"])),
            ],
        )
    )
    print()
    print(
        table("Calls by endpoint", [(f"{v} {m} {e}", str(n)) for (v, m, e), n in sorted(by_endpoint.items())])
    )


if __name__ == "__main__":
    main()
