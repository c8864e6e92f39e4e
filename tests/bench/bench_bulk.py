"""Benchmark 2: bulk layoff with the vendors' rate limits on.

By default the layoff runs as `relevo layoff` does: one `offboard-batch` run that lists each
presence once and revokes per presence, vendors in parallel. `--per-run` measures the other
way (one `offboard-employee` run per leaver, each listing every presence again), counts calls
per run against the members listed, and projects 1,000 leavers from that fit. Both compare with
the issue's minimum: each presence listed once per batch, one call per removed grant, CRM read
and reassigned in batches.

"Listed once" means what the vendor's documented API needs to know each member's e-mail and role:
one paged listing everywhere except Hootsuite, whose listing gives ids only (1 + 2 calls per member).

Simulated limits (vendor docs where they exist, else stated here):
  HubSpot 100 requests / 10 s (X-HubSpot-RateLimit-* headers, 429 without Retry-After);
  Meta Business Use Case 600 calls / 60 s per business (X-Business-Use-Case-Usage, code 80001);
  Hootsuite, TikTok, SCIM: 100 requests / 10 s (429 + Retry-After); Graph 160 / 10 s; BambooHR none.

    python -m tests.bench.bench_bulk [--leavers 20] [--latency 0.02] [--stayers-listed-first] [--calls-log F]
        [--database postgresql://user@host:port/dbname]

--database: relevo's ledger (and the shared rate-limit windows) on that database instead of a SQLite file;
it must be empty (a used one finds the leavers' actions done). `--database fresh` starts a throwaway
PostgreSQL cluster (tests/pgcluster.py) for the run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.bench.support import QUIET, machine, scim_server, table
from tests.sim import Simulator, all_vendors
from tests.sim.company import SECRETS, arm, seed_scim, set_successors, still_has_access, write
from tests.sim.seed import HOOTSUITE_ORG, generate, populate
from tests.sim.vendors import Proxy

STAYERS = 5
RATE = {
    "meta": 600 / 60,
    "hubspot": 100 / 10,
    "hootsuite": 100 / 10,
    "tiktok": 100 / 10,
    "scim": 100 / 10,
    "graph": 160 / 10,
}
PAGE = {"meta": 100, "tiktok": 50, "scim": 100, "hootsuite": 10**9}  # members per listing page


def limits(sim: Simulator) -> None:
    sim.vendors["hubspot"].set_limits(enabled=True, per_window=100, window=10.0)
    sim.vendors["meta"].usage.calls_per_window = 600
    sim.vendors["meta"].usage.window = 60.0
    for vendor, (count, window) in {
        "hootsuite": (100, 10.0),
        "tiktok": (100, 10.0),
        "scim": (100, 10.0),
        "graph": (160, 10.0),
    }.items():
        sim.configure(vendor, rate_limit=(count, window), retry_after=1.0)


def minimum_calls(leavers: int, members: int, companies: int, contacts: int, notices: int) -> Counter:
    """The issues' minimum for one batch: list each presence once, one call per removed grant, one
    confirming read per presence (per 100 removals), CRM in 100s."""
    need = Counter()
    # Every removal is confirmed by a fresh read of its presence (issue 11): at least one per presence per 100
    # removals (relevo also reads after 5 s, so that notices do not wait for the whole batch).
    confirm = math.ceil(leavers / 100)
    meta_lists = (
        3 * math.ceil(members / PAGE["meta"]) + 1
    )  # Page, Instagram, Business users, Business invitations
    # The Page edges need a Page token, derived once per asset (Page, Instagram) from the system user's token.
    need["meta"] = meta_lists + 3 * leavers + 2 + confirm * meta_lists
    # Hootsuite's documented member list carries ids only (retrieveOrganizationMembers -> [{id}]): listing
    # it once means one call for the ids plus, per member, retrieveMember (e-mail) and
    # retrieveOrganizationMemberOrganizationPermissions (role). Confirming needs the ids only.
    need["hootsuite"] = 1 + 2 * members + leavers + confirm
    need["tiktok"] = (1 + confirm) * math.ceil(members / PAGE["tiktok"]) + leavers
    # SCIM: /ServiceProviderConfig once (PATCH or PUT?), the users, one PATCH each, the users again.
    need["scim"] = 1 + (1 + confirm) * math.ceil(members / PAGE["scim"]) + leavers
    need["hubspot"] = (
        math.ceil(leavers / 100)
        + math.ceil(companies / 200)
        + math.ceil(contacts / 200)
        + math.ceil(companies / 100)
        + math.ceil(contacts / 100)
    )
    need["graph"] = notices
    # Records in custom reports of 100, the two tables (employment status, job) once for everyone,
    # and one report file per leaver.
    need["bamboohr"] = math.ceil(leavers / 100) + 2 + leavers
    return need


def bound(calls: Counter) -> float:
    """Seconds the rate limits alone impose: vendors run in parallel, so the slowest one."""
    return max(calls[v] / rate for v, rate in RATE.items())


def bound_access_first(calls: Counter, leavers: int) -> float:
    """The same with relevo's rule that nobody is told before access is gone: the last leaver's notices
    wait for their last removal, so at least their share of the drafts comes after the bound."""
    return bound(calls) + calls["graph"] / max(leavers, 1) / RATE["graph"]


def fit(points: list[tuple[int, int]]) -> tuple[float, float]:
    """Least squares a + b*m over (members listed, calls in the run)."""
    n = len(points)
    mx = sum(m for m, _ in points) / n
    my = sum(c for _, c in points) / n
    var = sum((m - mx) ** 2 for m, _ in points) or 1.0
    b = sum((m - mx) * (c - my) for m, c in points) / var
    return my - b * mx, b


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leavers", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--project", type=int, default=1000)
    parser.add_argument("--per-run", action="store_true", help="one offboard-employee run per leaver")
    parser.add_argument(
        "--calls-log",
        type=Path,
        help="write every simulated vendor call here, one JSON line each "
        "(seconds from the start), to look into a throttle afterwards",
    )
    parser.add_argument(
        "--stayers-listed-first",
        action="store_true",
        help="Hootsuite lists the members who stay before the leavers (default: after them, the worst "
        "case for leaving admins, who are removed once an admin who stays has been read)",
    )
    parser.add_argument(
        "--database",
        help="relevo's database URL (an empty PostgreSQL database), or 'fresh' for a "
        "throwaway PostgreSQL cluster; default a SQLite file",
    )
    args = parser.parse_args()
    os.environ.update({**SECRETS, **QUIET})  # QUIET: no telemetry, Prefect's INFO lines off the table
    from prefect.testing.utilities import prefect_test_harness

    from relevo.layoff import offboard_batch
    from relevo.offboarding import offboard_employee
    from tests.pgcluster import cluster, create_database

    server = cluster() if args.database == "fresh" else contextlib.nullcontext(None)
    with (
        tempfile.TemporaryDirectory() as tmp,
        scim_server(SECRETS["SIM_SCIM_TOKEN"]) as scim_root,
        prefect_test_harness(server_startup_timeout=90),
        server as pg,
    ):
        database = create_database(pg) if pg else args.database
        sim = Simulator(all_vendors() + [Proxy("scim", scim_root)]).start()
        arm(sim)
        world = populate(generate(n_leavers=args.leavers, n_stayers=STAYERS), sim.vendors)
        set_successors(sim, world)
        seed_scim(scim_root + "/v2", world)
        if args.stayers_listed_first:
            org = sim.vendors["hootsuite"].orgs[HOOTSUITE_ORG]
            staying = {p.ids["hootsuite"] for p in world.stayers}
            reordered = sorted(org.items(), key=lambda item: item[0] not in staying)
            org.clear()
            org.update(reordered)
        # The simulator compresses Meta's usage window (an hour) to 60 s; the registry says so, as a company would.
        # The published per-window limits are given to relevo too (`rate_limit`), as a company would.
        registry = write(
            Path(tmp) / "company",
            sim,
            world,
            scim_url=sim.url("scim") + "/v2",
            meta_usage_window=60.0,
            database=database,
            rate_limits={
                "hootsuite": (100, 10.0),
                "tiktok": (100, 10.0),
                "scim": (100, 10.0),
                "drafts": (160, 10.0),
            },
        )
        sim.configure("*", latency=args.latency)
        limits(sim)
        per_run: dict[str, list[tuple[int, int]]] = {}
        outcomes: Counter = Counter()
        failed_429 = 0
        started = time.monotonic()
        if not args.per_run:
            summary = offboard_batch([p.id for p in world.leavers], str(registry))
            outcomes.update(r["outcome"] for r in summary["rows"])
            failed_429 = sum(
                1
                for r in summary["rows"]
                if r["outcome"] == "failed"
                and ("HTTP 429" in r["detail"] or "paused" in r["detail"] or "RateLimited" in r["detail"])
            )
        for person in world.leavers if args.per_run else []:
            listed = len(sim.vendors["hootsuite"].orgs[HOOTSUITE_ORG])
            before = Counter(c.vendor for c in sim.log())
            result = offboard_employee(person.id, str(registry))
            summary = result if isinstance(result, dict) else result.result()
            outcomes.update(r["outcome"] for r in summary["rows"])
            failed_429 += sum(
                1
                for r in summary["rows"]
                if r["outcome"] == "failed"
                and ("HTTP 429" in r["detail"] or "paused" in r["detail"] or "RateLimited" in r["detail"])
            )
            after = Counter(c.vendor for c in sim.log())
            for vendor in set(after) | {"total"}:
                calls = (
                    sum(after.values()) - sum(before.values())
                    if vendor == "total"
                    else after[vendor] - before[vendor]
                )
                per_run.setdefault(vendor, []).append((listed, calls))
        wall = time.monotonic() - started
        remaining = sum(
            any(still_has_access(sim, world, p.id, scim_root + "/v2").values()) for p in world.leavers
        )
        log = sim.log()
        sim.stop()
    if args.calls_log:
        with args.calls_log.open("w", encoding="utf-8") as out:
            for c in log:
                out.write(
                    json.dumps(
                        {
                            "vendor": c.vendor,
                            "method": c.method,
                            "path": c.path,
                            "started": round(c.started - started, 4),
                            "ended": round(c.ended - started, 4),
                            "status": c.status,
                            "fault": c.fault,
                        }
                    )
                    + "\n"
                )

    made = Counter(c.vendor for c in log)
    throttled_by = Counter(c.vendor for c in log if c.status == 429 or c.fault == "rate_limit")
    throttled = sum(throttled_by.values())
    companies = sum(1 for _ in world.companies)
    contacts = len(world.contacts)
    notices = sum(1 for c in log if c.vendor == "graph" and c.method == "POST" and c.status == 201)
    need = minimum_calls(args.leavers, args.leavers + STAYERS, companies, contacts, notices)
    # Projection: each vendor's calls per run as a + b * members listed, summed over runs whose lists
    # shrink by one leaver each time.
    mode = "one run per leaver in turn" if args.per_run else "one offboard-batch run"
    mode += ", Hootsuite lists the stayers first" if args.stayers_listed_first else ""
    n, s = args.project, STAYERS
    projected = Counter()
    for vendor, points in per_run.items():
        if vendor == "total":
            continue
        a, b = fit(points)
        projected[vendor] = int(sum(a + b * (s + n - k) for k in range(n)))
    scale = n / args.leavers
    need_n = minimum_calls(n, n + s, int(companies * scale), int(contacts * scale), int(notices * scale))
    store = "SQLite" if not args.database else "PostgreSQL"
    print(
        table(
            f"Bulk layoff, measured: {args.leavers} leavers x 6 presences, rate limits on, ledger on {store}, "
            f"{args.latency * 1000:.0f} ms per answer, {mode} ({machine()})",
            [
                (
                    "wall time",
                    f"{wall:.1f} s; rate-limit bound for the minimum calls {bound(need):.1f} s "
                    f"-> {wall / max(bound(need), 1e-9):.2f}x (goal <= 1.1x)",
                ),
                (
                    "  with access before notices",
                    f"bound {bound_access_first(need, args.leavers):.1f} s -> "
                    f"{wall / bound_access_first(need, args.leavers):.2f}x",
                ),
                (
                    "HTTP calls",
                    f"{sum(made.values())} vs minimum {sum(need.values())} -> "
                    f"{sum(made.values()) / sum(need.values()):.2f}x (goal <= 1.05x)",
                ),
                ("  by vendor (made/minimum)", ", ".join(f"{v} {made[v]}/{need[v]}" for v in sorted(need))),
                (
                    "  by vendor (busy from..to, s)",
                    ", ".join(
                        f"{v} {min(c.started for c in log if c.vendor == v) - started:.1f}..{max(c.ended for c in log if c.vendor == v) - started:.1f}"
                        for v in sorted(need)
                        if made[v]
                    ),
                ),
                (
                    "429 / throttle answers seen",
                    f"{throttled} ({', '.join(f'{v} {n}' for v, n in sorted(throttled_by.items()))})",
                ),
                ("actions failed because of 429", f"{failed_429} (goal 0)"),
                ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))),
                ("leavers with access left", str(remaining)),
                ("time per leaver", f"{wall / args.leavers:.2f} s on average"),
            ],
        )
    )
    if not args.per_run:
        return
    print()
    print(
        table(
            f"Bulk layoff, projected from the per-run fit: {n} leavers x 6 presences",
            [
                (
                    "HTTP calls",
                    f"{sum(projected.values()):,} vs minimum {sum(need_n.values()):,} -> "
                    f"{sum(projected.values()) / sum(need_n.values()):.0f}x",
                ),
                (
                    "  by vendor (projected/minimum)",
                    ", ".join(f"{v} {projected[v]:,}/{need_n[v]:,}" for v in sorted(need_n)),
                ),
                ("rate-limit bound, minimum calls", f"{bound(need_n):,.0f} s ({bound(need_n) / 60:.1f} min)"),
                (
                    "rate-limit bound, calls relevo makes",
                    f"{bound(projected):,.0f} s ({bound(projected) / 3600:.1f} h)",
                ),
            ],
        )
    )


if __name__ == "__main__":
    main()
