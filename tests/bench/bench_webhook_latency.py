"""Latency from "webhook accepted" (the 202) to "flow run completed", on the example company.

Starts a temporary Prefect server, the `relevo` pool and deployments (prefect.yaml), one
long-running process worker, and for each sample a fresh copy of examples/acme with its own
`relevo webhook serve`; sends a signed BambooHR dismissal for employee 1001 and reads the run's
state history to say where the time goes.

    python -m tests.bench.bench_webhook_latency [--samples 5] [--poll 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.bench.support import free_port, wait

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")
KEY = "benchmark-key"


def sample(index: int, workdir: Path, env: dict[str, str]) -> dict[str, float]:
    from prefect import get_client

    from relevo.config.registry import load_registry
    from relevo.receiver.verify import bamboohr_signature
    from relevo.storage.inbox import Inbox

    copy = workdir / f"acme{index}"
    shutil.copytree(ROOT / "examples" / "acme", copy, ignore=shutil.ignore_patterns("out"))
    registry_path = copy / "relevo.yaml"
    registry_path.write_text(
        registry_path.read_text("utf-8").replace("auto_approve_notices: false", "auto_approve_notices: true"),
        "utf-8",
    )  # nobody clicks approve here
    port = free_port()
    receiver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "relevo.cli",
            "webhook",
            "serve",
            "--registry",
            str(registry_path),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait(lambda: _up(port))
        body = json.dumps(
            {
                "employees": [
                    {
                        "action": "Updated",
                        "changedFields": ["Employment Status"],
                        "id": "1001",
                        "fields": {"Employment Status": "Terminated"},
                        "timestamp": f"2026-11-20T09:{index:02d}:00+0000",
                    }
                ]
            }
        ).encode()
        stamp = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            "x-bamboohr-timestamp": stamp,
            "x-bamboohr-signature": bamboohr_signature(KEY, body, stamp),
        }
        sent = time.time()
        answer = requests.post(
            f"http://127.0.0.1:{port}/webhooks/bamboohr", data=body, headers=headers, timeout=10
        )
        accepted = time.time()
        assert answer.status_code == 202, answer.text
        inbox = Inbox(load_registry(registry_path).database_url)
        event = wait(lambda: next((e for e in inbox.events() if e.state == "dispatched"), None))
        dispatched = time.time()
        with get_client(sync_client=True) as client:
            run = wait(
                lambda: (r := client.read_flow_run(event.flow_run_id)).state.is_final() and r, every=0.1
            )
            states = {s.type.value: s.timestamp.timestamp() for s in client.read_flow_run_states(run.id)}
        assert run.state.is_completed(), run.state
    finally:
        receiver.terminate()
        receiver.wait(10)
    return {
        "202 answer": accepted - sent,
        "202 -> dispatched": dispatched - accepted,
        "dispatched -> running": states["RUNNING"] - dispatched,
        "running -> completed": states["COMPLETED"] - states["RUNNING"],
        "total (202 -> completed)": states["COMPLETED"] - accepted,
    }


def _up(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument(
        "--poll", type=int, default=10, help="PREFECT_WORKER_QUERY_SECONDS (Prefect's default: 10)"
    )
    args = parser.parse_args()
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60), tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PREFECT_API_URL": PREFECT_API_URL.value(),
            "RELEVO_BAMBOOHR_WEBHOOK_KEY": KEY,
            "RELEVO_FACTORIAL_CHALLENGE": "unused-challenge",
            "PREFECT_WORKER_QUERY_SECONDS": str(args.poll),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        for command in (["work-pool", "create", "relevo", "--type", "process"], ["deploy", "--all"]):
            subprocess.run(
                [PREFECT, *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "relevo"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(3)  # the worker's first poll
            rows = [sample(i, Path(tmp), env) for i in range(args.samples)]
        finally:
            worker.terminate()
            worker.wait(30)
    for name in rows[0]:
        values = [r[name] for r in rows]
        print(
            f"{name:26} median {statistics.median(values):6.2f} s   min {min(values):6.2f}   max {max(values):6.2f}"
        )


if __name__ == "__main__":
    main()
