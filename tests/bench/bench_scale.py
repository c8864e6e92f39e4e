"""Benchmark: sizing on PostgreSQL. A burst of signed dismissal webhooks through the receiver to 1 or 2
process workers, the ledger and inbox on PostgreSQL, the Prefect server on PostgreSQL too.

The issue-17 trial: 200 signed BambooHR deliveries for 50 dismissals (each delivered 4 times, as a
vendor retrying would), sent by 10 concurrent clients to `relevo webhook serve`, whose dispatcher starts
the runs that N `prefect worker start` processes execute against the loopback simulator (every vendor,
rate limits on unless --no-limits). Prints: first webhook -> last run completed, completed runs per
employee (must be 1), vendor calls against the minimum for the batch, 429s, PostgreSQL connections
(peak, and per run process at the same moment), worker memory, and the machine's load.

--kill worker|group: SIGKILL the busiest worker once it runs flows (`worker`: the worker process alone,
its run processes lose their parent; `group`: with its run processes, a lost machine). With one worker a
fresh one is started in its place; the report says which runs were lost, stuck, or started again by the
dispatcher's follow().

    python -m tests.bench.bench_scale [--workers 1|2] [--leavers 50] [--copies 4] [--clients 10]
        [--kill worker|group] [--stuck-seconds S] [--database postgresql://user@host:port/] [--prefect-sqlite]
        [--no-limits] [--latency 0.02] [--timeout 1800]

--database: a PostgreSQL server (URL ending in '/') where the benchmark may create two databases
(relevo's and Prefect's); by default a throwaway cluster is started (tests/pgcluster.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.bench.bench_bulk import STAYERS, minimum_calls
from tests.bench.support import ROOT, free_port, machine, signed_dismissal, table, wait, wait_port
from tests.pgcluster import cluster, create_database
from tests.scale.stack import Watch, Workers, children, descendants, final_runs, prefect_server
from tests.sim import Simulator, all_vendors
from tests.sim.company import SECRETS, arm, set_successors, still_has_access, write
from tests.sim.seed import generate, populate

FINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}


@contextlib.contextmanager
def receiver(
    registry: Path, env: dict[str, str], stuck: float | None
) -> contextlib.AbstractContextManager[str]:
    """The receiver and its dispatcher in their own process; yields the base URL."""
    port = free_port()
    command = [sys.executable, "-m", "tests.scale.receiver", str(registry), str(port)]
    if stuck is not None:
        command += [str(stuck), str(min(30.0, stuck / 4))]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_port(port, process, timeout=90)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, choices=(1, 2), default=1)
    parser.add_argument("--leavers", type=int, default=50)
    parser.add_argument("--copies", type=int, default=4, help="deliveries of each dismissal")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--no-limits", action="store_true", help="the simulated vendors do not throttle")
    parser.add_argument("--kill", choices=("worker", "group"))
    parser.add_argument(
        "--stuck-seconds", type=float, help="the dispatcher's STUCK_SECONDS (default its own)"
    )
    parser.add_argument(
        "--database", help="a PostgreSQL server URL ending in '/' (default: a throwaway cluster)"
    )
    parser.add_argument("--prefect-sqlite", action="store_true", help="the Prefect server on SQLite")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument(
        "--via",
        choices=("webhooks", "layoff"),
        default="webhooks",
        help="layoff: the same leavers as one `relevo layoff` on the same stack, for comparison",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    server = (
        contextlib.nullcontext(args.database.replace("postgresql://", "postgresql+psycopg://", 1))
        if args.database
        else cluster()
    )
    with server as pg, tempfile.TemporaryDirectory() as tmp:
        relevo_db = create_database(pg)
        sim = Simulator(all_vendors()).start()
        arm(sim)
        world = populate(generate(n_leavers=args.leavers, n_stayers=STAYERS), sim.vendors)
        set_successors(sim, world)
        rate_limits = (
            {} if args.no_limits else {"hootsuite": (100, 10.0), "tiktok": (100, 10.0), "drafts": (160, 10.0)}
        )
        registry = write(
            Path(tmp) / "company",
            sim,
            world,
            database=relevo_db,
            meta_usage_window=60.0,
            rate_limits=rate_limits,
        )
        sim.configure("*", latency=args.latency)
        if not args.no_limits:  # bench_bulk's limits, but this company has no SCIM presence
            sim.vendors["hubspot"].set_limits(enabled=True, per_window=100, window=10.0)
            sim.vendors["meta"].usage.calls_per_window, sim.vendors["meta"].usage.window = 600, 60.0
            for vendor, (count, window) in {
                "hootsuite": (100, 10.0),
                "tiktok": (100, 10.0),
                "graph": (160, 10.0),
            }.items():
                sim.configure(vendor, rate_limit=(count, window), retry_after=1.0)
        prefect_db = None if args.prefect_sqlite else create_database(pg)
        with prefect_server(prefect_db) as env:
            args.env = env  # the trial's Prefect server, for `--via layoff`
            workers = Workers(env, args.workers)
            try:
                time.sleep(3)  # the workers register and make their first poll
                with (
                    receiver(registry, env, args.stuck_seconds) as url,
                    Watch(pg, workers, relevo_db.rsplit("/", 1)[1]) as watch,
                ):
                    report = trial(args, url, workers, world, str(registry))
            finally:
                workers.stop()
        remaining = [p.id for p in world.leavers if any(still_has_access(sim, world, p.id).values())]
        log = sim.log()
        sim.stop()
    load_after = os.getloadavg()
    made = Counter(c.vendor for c in log)
    throttled = Counter(c.vendor for c in log if c.status == 429 or c.fault == "rate_limit")
    notices = sum(1 for c in log if c.vendor == "graph" and c.method == "POST" and c.status == 201)
    need = minimum_calls(
        args.leavers, args.leavers + STAYERS, len(world.companies), len(world.contacts), notices
    )
    need["scim"] = 0  # no SCIM presence in this company
    peaks = watch.peaks
    names = {
        relevo_db.rsplit("/", 1)[1]: "relevo",
        prefect_db.rsplit("/", 1)[1] if prefect_db else "": "prefect",
    }
    relevo_peak = peaks.connections.get(relevo_db.rsplit("/", 1)[1], 0)
    where = "SQLite" if args.prefect_sqlite else "PostgreSQL"
    rows = [
        (
            "deliveries",
            f"{args.leavers * args.copies} ({args.copies} per dismissal) from {args.clients} clients: "
            f"{report['acked']} acknowledged (202), {report['stored']} stored as new events",
        ),
        ("first webhook -> last run completed", report["span"]),
        ("completed runs per employee", report["per_employee"]),
        ("flow runs created", report["created"]),
        (
            "vendor calls",
            f"{sum(made.values())} vs {sum(need.values())} for one batch -> "
            f"{sum(made.values()) / max(1, sum(need.values())):.1f}x; "
            + ", ".join(f"{v} {made[v]}/{need[v]}" for v in sorted(need)),
        ),
        (
            "429 answers",
            f"{sum(throttled.values())}"
            + (f" ({', '.join(f'{v} {n}' for v, n in sorted(throttled.items()))})" if throttled else "")
            + ("" if not args.no_limits else " (limits off)"),
        ),
        ("leavers with access left", f"{len(remaining)}" + (f" {remaining[:10]}" if remaining else "")),
        (
            "PostgreSQL connections (peak)",
            ", ".join(f"{names.get(n, n)} {c}" for n, c in sorted(peaks.connections.items()))
            + f"; {peaks.run_processes} run processes at once at most",
        ),
        (
            "  relevo's per run",
            f"{relevo_peak / max(1, peaks.run_processes):.1f} (peak / runs at once, the receiver's "
            f"included); highest at one sample {peaks.connections_per_run:.1f}",
        ),
        (
            "worker memory (peak RSS)",
            f"worker alone {peaks.worker_alone_mb:.0f} MB, one run process "
            f"{peaks.run_mb:.0f} MB, a worker with its runs {peaks.worker_mb:.0f} MB",
        ),
    ]
    if args.kill:
        rows.append(("kill trial", report["kill"]))
    rows.append(("machine load (1-min avg)", f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"))
    print(
        table(
            f"Scale trial: {args.workers} process worker(s), relevo and Prefect on {where if where == 'SQLite' else 'PostgreSQL'}"
            f", {args.leavers} dismissals, {args.latency * 1000:.0f} ms per vendor answer ({machine()})",
            rows,
        )
    )


def trial(args: argparse.Namespace, url: str, workers: Workers, world, registry: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Send the burst, kill a worker if asked, wait for every event to end; returns the report's lines."""
    from relevo.config.registry import load_registry
    from relevo.storage.inbox import Inbox

    inbox = Inbox(load_registry(registry).database_url)
    key = SECRETS["SIM_WEBHOOK_KEY"]
    deliveries = [p.id for _ in range(args.copies) for p in world.leavers]
    acked: list[str] = []
    lock, local = threading.Lock(), threading.local()

    def deliver(employee_id: str) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        body, headers = signed_dismissal(employee_id, key)
        for _ in range(5):  # a vendor retries a 5xx; the bench counts only 202s
            answer = session.post(f"{url}/webhooks/bamboohr", data=body, headers=headers, timeout=30)
            if answer.status_code == 202:
                with lock:
                    acked.extend(answer.json()["stored"] or ["(already stored)"])
                return
            time.sleep(1)

    first = time.time()
    if args.via == "layoff":  # the same leavers, same stack, as one `relevo layoff` (the comparison)
        return layoff(args, world, registry, first)
    killer = (
        threading.Thread(target=kill_when_busy, args=(workers, args.kill, args.workers), daemon=True)
        if args.kill
        else None
    )
    if killer:
        killer.start()
    with ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(deliver, deliveries))
    ids = {p.id for p in world.leavers}

    def finished() -> bool:
        events = inbox.events()
        runs = final_runs(ids, registry)
        return all(
            e.state == "stuck"
            or (
                e.run_state in FINAL
                and all(r.state and r.state.type.value in FINAL for r in runs[e.employee_id])
            )
            for e in events
        ) and len(events) == len(ids)

    try:
        wait(finished, timeout=args.timeout, every=2.0)
        timed_out = ""
    except TimeoutError:
        timed_out = f" (NOT all finished after {args.timeout:.0f} s)"
    if killer:
        killer.join(5)
    events = {e.employee_id: e for e in inbox.events()}
    runs = final_runs(ids, registry)
    completed = {i: [r for r in runs[i] if r.state and r.state.type.value == "COMPLETED"] for i in ids}
    ends = [r.end_time.timestamp() for rs in completed.values() for r in rs if r.end_time]
    per = Counter(len(rs) for rs in completed.values())
    states = Counter(
        r.state.type.value for r in {r.id: r for rs in runs.values() for r in rs}.values() if r.state
    )
    report = {
        "acked": str(len(acked)),
        "stored": str(len([a for a in acked if a != "(already stored)"])),
        "span": (f"{max(ends) - first:.1f} s" if ends else "no run completed") + timed_out,
        "per_employee": ", ".join(f"{n} run(s): {k} employee(s)" for n, k in sorted(per.items())),
        "created": f"{len({r.id for rs in runs.values() for r in rs})} ({', '.join(f'{s} {n}' for s, n in sorted(states.items()))})"
        + "".join(
            f"; {r.name} {r.state.name}: {(r.state.message or '')[:300]}"
            for r in {r.id: r for rs in runs.values() for r in rs}.values()
            if r.state and r.state.type.value in {"FAILED", "CRASHED"}
        )[:1200],
    }
    if args.kill:
        relaunched = [e for e in events.values() if (e.relaunches or 0) > 0]
        stuck = [e for e in events.values() if e.state == "stuck"]
        unfinished = [e for e in events.values() if e.state != "stuck" and e.run_state not in FINAL]
        report["kill"] = (
            f"SIGKILL of a worker{' with its run processes' if args.kill == 'group' else ''} at "
            f"{killed_at[0] - first:.1f} s: {len(relaunched)} run(s) started again by the dispatcher "
            f"({', '.join(sorted({(e.last_error or '').split(';')[0].split(':')[0] for e in relaunched})) or '-'}), "
            f"{len(stuck)} event(s) stuck for a person, {len(unfinished)} never finished (lost)"
        )
    return report


def layoff(args: argparse.Namespace, world, registry: str, first: float) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """`relevo layoff --file` for every leaver against the trial's Prefect server; the report's lines."""
    ids = Path(registry).parent / "leavers.txt"
    ids.write_text("\n".join(p.id for p in world.leavers))
    done = subprocess.run(
        [sys.executable, "-m", "relevo.cli", "layoff", "--file", str(ids), "--registry", registry],
        cwd=ROOT,
        env=args.env,
        capture_output=True,
        text=True,
        timeout=args.timeout,
    )
    return {
        "acked": "0 (no webhooks: relevo layoff)",
        "stored": "0",
        "span": f"{time.time() - first:.1f} s (relevo layoff exit {done.returncode})",
        "per_employee": "one batch run",
        "created": done.stdout.strip().splitlines()[-1][:300] if done.stdout.strip() else done.stderr[-300:],
    }


killed_at = [0.0]


def kill_when_busy(workers: Workers, how: str, count: int) -> None:
    """SIGKILL the worker running the most flows once one runs a flow for 1 s; one worker is replaced."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        busy = [len(descendants(p.pid, children())) if p.poll() is None else -1 for p in workers.processes]
        if max(busy) > 0:
            time.sleep(1.0)
            victim = busy.index(max(busy))
            workers.kill(victim, group=how == "group")
            killed_at[0] = time.time()
            if count == 1:
                workers.start()
            return
        time.sleep(0.05)


if __name__ == "__main__":
    main()
