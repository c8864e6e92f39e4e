"""Benchmark 1: dismissal latency, webhook accepted → last revocation done, against the floor.

Six presences (Facebook Page, Instagram, Meta Business, Hootsuite, TikTok BC, and a real
scim2-server behind the simulator) with 100 ms added to every vendor answer. For each sample a
signed BambooHR dismissal goes to `relevo webhook serve`, whose dispatcher starts the
`offboard-employee` deployment; a process worker runs it. Compared with:
  (a) the API critical path, from the simulator's own call log: HR fetch (sequential) + the
      slowest presence's member listing + the CRM read + the slowest presence's revocation;
  (b) Prefect's floor: the same server and worker running a deployment of an empty flow.

    python -m tests.bench.bench_dismissal [--samples 5] [--latency 0.1] [--poll 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import requests
from prefect import get_client

from relevo.config.registry import load_registry
from relevo.storage.inbox import Inbox
from tests.bench.support import (
    empty_deployment,
    floor_run,
    machine,
    prefect_stack,
    receiver,
    scim_server,
    signed_dismissal,
    table,
    wait,
)
from tests.sim import Simulator, all_vendors
from tests.sim.company import SECRETS, arm, seed_scim, set_successors, still_has_access, write
from tests.sim.seed import IG_ID, PAGE_ID, World, generate, populate
from tests.sim.vendors import Proxy


def presence_of(call, world: World) -> str | None:
    """Which presence a simulator call belongs to (None: HR, CRM, drafts)."""
    if call.vendor == "meta":
        for asset, name in ((PAGE_ID, "facebook-page"), (IG_ID, "instagram")):
            if asset in call.path:
                return name
        return "meta-business"
    return call.vendor if call.vendor in ("hootsuite", "tiktok", "scim") else None


def is_revocation(call, person) -> bool:
    """A change naming one of the leaver's member ids (DELETE, TikTok's POST delete, SCIM's PATCH)."""
    text = call.path + str(call.query) + call.body.decode("utf-8", "replace")
    return call.method != "GET" and any(member in text for member in person.ids.values())


def critical_path(calls, world: World, person) -> tuple[dict[str, float], float]:
    """(API critical path to the last revocation by step, when the last revocation ended), from the call log."""
    revocations = [c for c in calls if is_revocation(c, person)]
    last = max(c.ended for c in revocations)
    first_listing = min(c.started for c in calls if c.method == "GET" and presence_of(c, world))
    first_revocation = min(c.started for c in revocations)
    hr = sum(c.ended - c.started for c in calls if c.vendor == "bamboohr" and c.started < first_listing)
    crm = sum(c.ended - c.started for c in calls if c.vendor == "hubspot" and c.started < first_revocation)
    listing: dict[str, float] = {}
    revoking: dict[str, float] = {}
    for c in calls:
        presence = presence_of(c, world)
        if presence is None or c.started > last:
            continue
        bucket = revoking if c in revocations else listing if c.method == "GET" else None
        if bucket is not None:
            bucket[presence] = bucket.get(presence, 0.0) + (c.ended - c.started)
    slowest_list = max(listing, key=listing.get)
    slowest_revoke = max(revoking, key=revoking.get)
    return {
        "hr": hr,
        f"list ({slowest_list})": listing[slowest_list],
        "crm": crm,
        f"revoke ({slowest_revoke})": revoking[slowest_revoke],
    }, last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument(
        "--poll", type=int, default=1, help="PREFECT_WORKER_QUERY_SECONDS (Prefect's default: 10)"
    )
    args = parser.parse_args()
    os.environ.update(SECRETS)
    with (
        tempfile.TemporaryDirectory() as tmp,
        scim_server(SECRETS["SIM_SCIM_TOKEN"]) as scim_root,
        empty_deployment() as floor_dir,
        prefect_stack(args.poll, (floor_dir,)) as env,
    ):
        sim = Simulator(all_vendors() + [Proxy("scim", scim_root)]).start()
        arm(sim)
        world = populate(generate(n_leavers=args.samples, n_stayers=3), sim.vendors)
        set_successors(sim, world)
        seed_scim(scim_root + "/v2", world)
        registry = write(Path(tmp) / "company", sim, world, scim_url=sim.url("scim") + "/v2")
        floors = [floor_run() for _ in range(args.samples)]
        sim.configure("*", latency=args.latency)
        rows, steps = [], []
        inbox = Inbox(load_registry(registry).database_url)
        with receiver(registry, env) as url:
            for person in world.leavers:
                sim.reset_log()
                body, headers = signed_dismissal(person.id, SECRETS["SIM_WEBHOOK_KEY"])
                sent = time.monotonic()
                answer = requests.post(f"{url}/webhooks/bamboohr", data=body, headers=headers, timeout=30)
                accepted = time.monotonic()
                assert answer.status_code == 202, answer.text
                event = wait(
                    lambda person=person: next(
                        (e for e in inbox.events() if e.employee_id == person.id and e.flow_run_id), None
                    )
                )
                with get_client(sync_client=True) as client:  # the whole run ends before the next sample
                    final = wait(
                        lambda event=event: (
                            (r := client.read_flow_run(event.flow_run_id)).state.is_final() and r
                        ),
                        every=0.1,
                    )
                assert final.state.is_completed(), final.state
                assert not any(still_has_access(sim, world, person.id, scim_root + "/v2").values())
                path, last = critical_path(sim.log(), world, person)
                first_call = min(c.started for c in sim.log())
                rows.append(
                    {
                        "ack": accepted - sent,
                        "to_first_call": first_call - accepted,
                        "latency": last - accepted,
                        "critical": sum(path.values()),
                    }
                )
                steps.append(path)
        sim.stop()
    median = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    floor = statistics.median(floors)
    ratio = median["latency"] / (median["critical"] + floor)
    print(
        table(
            f"Dismissal latency: webhook accepted -> last revocation (6 presences, {args.latency * 1000:.0f} ms "
            f"per vendor answer, worker poll {args.poll} s, n={args.samples}; {machine()})",
            [
                ("webhook 202 answer", f"median {median['ack'] * 1000:.0f} ms"),
                ("202 -> first vendor call", f"median {median['to_first_call']:.2f} s"),
                (
                    "202 -> last revocation",
                    f"median {median['latency']:.2f} s (min {min(r['latency'] for r in rows):.2f}, "
                    f"max {max(r['latency'] for r in rows):.2f})",
                ),
                (
                    "API critical path (simulator log)",
                    f"median {median['critical']:.2f} s = "
                    + " + ".join(f"{k} {v:.2f}" for k, v in steps[len(steps) // 2].items()),
                ),
                (
                    "Prefect floor (empty deployment run)",
                    f"median {floor:.2f} s (min {min(floors):.2f}, max {max(floors):.2f})",
                ),
                ("ratio measured / (critical + floor)", f"{ratio:.2f} (goal <= 1.5)"),
            ],
        )
    )


if __name__ == "__main__":
    main()
