"""Benchmark 3: a burst of signed webhooks: 1,000 deliveries from 20 concurrent clients.

`relevo webhook serve` (receiver + dispatcher, its own process, SQLite inbox) in front of a
Prefect server that has the deployments but no worker, so the dispatcher creates the 1,000
flow runs while the burst arrives. Reports acknowledged deliveries, 202 latency (p50/p99),
events lost (acknowledged but not in the inbox) and how long dispatching all of them took.

    python -m tests.bench.bench_webhook_burst [--deliveries 1000] [--clients 20]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from relevo.config.registry import load_registry
from relevo.storage.inbox import Inbox
from tests.bench.support import (
    QUIET,
    ROOT,
    free_port,
    machine,
    prefect_stack,
    receiver,
    signed_dismissal,
    stats,
    table,
    wait,
)

KEY = "bench-burst-webhook-key"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--prefect-down",
        action="store_true",
        help="point the dispatcher at a closed port: the receiver alone, events stay pending",
    )
    args = parser.parse_args()
    stack = (
        contextlib.nullcontext(
            {**os.environ, **QUIET, "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
        )
        if args.prefect_down
        else prefect_stack(worker=False)
    )
    with tempfile.TemporaryDirectory() as tmp, stack as env:
        company = Path(tmp) / "acme"
        shutil.copytree(ROOT / "examples" / "acme", company, ignore=shutil.ignore_patterns("out"))
        registry = company / "relevo.yaml"
        env = {**env, "RELEVO_BAMBOOHR_WEBHOOK_KEY": KEY, "RELEVO_FACTORIAL_CHALLENGE": "unused-challenge"}
        inbox = Inbox(load_registry(registry).database_url)
        latencies: list[float] = []
        acked: list[str] = []
        errors: list[str] = []
        lock = threading.Lock()
        local = threading.local()
        with receiver(registry, env) as url:

            def deliver(index: int) -> None:
                session = getattr(local, "session", None) or requests.Session()
                local.session = session
                body, headers = signed_dismissal(str(100000 + index), KEY)
                started = time.perf_counter()
                try:
                    answer = session.post(f"{url}/webhooks/bamboohr", data=body, headers=headers, timeout=30)
                except requests.RequestException as exc:
                    with lock:
                        errors.append(type(exc).__name__)
                    return
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if answer.status_code == 202:
                        acked.extend(answer.json()["stored"])
                    else:
                        errors.append(str(answer.status_code))

            burst_start = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(deliver, range(args.deliveries)))
            burst = time.perf_counter() - burst_start
            stored = {e.event_key for e in inbox.events()}
            lost = len(set(acked) - stored)
            try:
                if args.prefect_down:
                    raise TimeoutError
                wait(lambda: all(e.state == "dispatched" for e in inbox.events()), timeout=900, every=0.5)
                dispatched = f"{time.perf_counter() - burst_start:.1f} s after the burst began"
            except TimeoutError:
                pending = sum(1 for e in inbox.events() if e.state != "dispatched")
                dispatched = (
                    f"{pending} pending (Prefect unreachable: they wait in the inbox)"
                    if args.prefect_down
                    else f"{pending} still pending after 900 s"
                )
    s = stats(latencies)
    where = "Prefect unreachable" if args.prefect_down else "dispatcher creating the runs meanwhile"
    print(
        table(
            f"Webhook burst: {args.deliveries} signed BambooHR deliveries, {args.clients} concurrent clients, "
            f"{where} ({machine()})",
            [
                (
                    "acknowledged (202)",
                    f"{len(acked)} of {args.deliveries}; other answers/errors: {len(errors)}"
                    + (f" {sorted(set(errors))}" if errors else ""),
                ),
                (
                    "202 latency",
                    f"p50 {s['median'] * 1000:.0f} ms, p99 {s['p99'] * 1000:.0f} ms, max {s['max'] * 1000:.0f} ms "
                    "(goal p99 <= 100 ms)",
                ),
                ("throughput", f"{len(latencies) / burst:.0f} deliveries/s ({burst:.1f} s for the burst)"),
                ("events lost (acked, not in the inbox)", f"{lost} (goal 0)"),
                ("all dispatched to Prefect", dispatched),
            ],
        )
    )


if __name__ == "__main__":
    main()
