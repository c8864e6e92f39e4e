"""What the benchmarks share: a Prefect stack (server, pool, deployments, worker), SCIM, the receiver.

Nothing here is collected by pytest (benchmarks are run by hand: `python -m tests.bench.bench_...`).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait(check: Callable[[], Any], timeout: float = 180.0, every: float = 0.02) -> Any:
    """`wait_for` with the benchmarks' longer deadline and shorter step; a timeout raises TimeoutError."""
    return wait_for(check, timeout, every)


def wait_port(port: int, process: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    def up() -> bool:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait(up, timeout)


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p99": ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))],
    }


def table(title: str, rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    lines = [title, "-" * len(title)] + [f"{k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)


@contextlib.contextmanager
def prefect_stack(
    poll_seconds: int = 1, extra_deploy_dirs: tuple[Path, ...] = (), worker: bool = True
) -> Iterator[dict[str, str]]:
    """A temporary Prefect server, the `relevo` process pool, `prefect deploy --all` and one worker.

    Yields the environment for subprocesses (PREFECT_API_URL set). The worker polls every
    `poll_seconds` (Prefect's default is 10).
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    os.environ.update(QUIET)
    with prefect_test_harness(server_startup_timeout=90):
        env = {
            **os.environ,
            **QUIET,
            "PREFECT_API_URL": PREFECT_API_URL.value(),
            "PREFECT_WORKER_QUERY_SECONDS": str(poll_seconds),
        }
        prefect = str(BIN / "prefect")
        subprocess.run(
            [prefect, "work-pool", "create", "relevo", "--type", "process", "--overwrite"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        for directory in (ROOT, *extra_deploy_dirs):
            subprocess.run(
                [prefect, "deploy", "--all"],
                cwd=directory,
                env=env,
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
            )
        if not worker:
            yield env
            return
        process = subprocess.Popen(
            [prefect, "worker", "start", "--pool", "relevo"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(3)  # the worker registers and makes its first poll
            yield env
        finally:
            process.terminate()
            process.wait(30)


@contextlib.contextmanager
def empty_deployment() -> Iterator[Path]:
    """A project directory with one deployment of a flow that does nothing: Prefect's own floor."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "floor.py").write_text(
            "from prefect import flow\n\n\n@flow(name='floor')\ndef floor() -> None:\n    pass\n", "utf-8"
        )
        (directory / "prefect.yaml").write_text(
            "name: floor\nprefect-version: 3.9.1\nbuild: null\npush: null\npull:\n"
            f"  - prefect.deployments.steps.set_working_directory:\n      directory: {directory}\n"
            "deployments:\n  - name: floor\n    entrypoint: floor.py:floor\n    work_pool:\n      name: relevo\n",
            "utf-8",
        )
        yield directory


def floor_run() -> float:
    """Seconds from `run_deployment` to Completed for the empty flow, via the same server and worker."""
    from prefect import get_client
    from prefect.deployments import run_deployment

    started = time.time()
    run = run_deployment("floor/floor", timeout=0)
    with get_client(sync_client=True) as client:
        final = wait(lambda: (r := client.read_flow_run(run.id)).state.is_final() and r, every=0.05)
        states = {s.type.value: s.timestamp.timestamp() for s in client.read_flow_run_states(final.id)}
    assert final.state.is_completed(), final.state
    return states["COMPLETED"] - started


@contextlib.contextmanager
def scim_server(token: str) -> Iterator[str]:
    """scim2-server on loopback; yields its root URL (users under /v2)."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "scim2-server"), "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", token],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def receiver(registry: Path, env: dict[str, str]) -> Iterator[str]:
    """`relevo webhook serve` (receiver + dispatcher) as its own process; yields its base URL."""
    port = free_port()
    # The worker here started before the company existed (no RELEVO_REGISTRY): runs carry the path, as one
    # machine may (`--worker-registry`, README "Workers on other machines").
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "relevo.cli",
            "webhook",
            "serve",
            "--registry",
            str(registry),
            "--worker-registry",
            str(registry),
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, process)
        wait(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def signed_dismissal(employee_id: str, key: str, nonce: str = "") -> tuple[bytes, dict[str, str]]:
    """A BambooHR field-based dismissal webhook and its signature headers."""
    from relevo.receiver.verify import bamboohr_signature

    body = json.dumps(
        {
            "employees": [
                {
                    "action": "Updated",
                    "changedFields": ["Employment Status"],
                    "id": employee_id,
                    "fields": {"Employment Status": "Terminated"},
                    "timestamp": f"2026-11-20T09:12:00+0000{nonce}",
                }
            ]
        }
    ).encode()
    stamp = str(int(time.time()))
    return body, {
        "content-type": "application/json",
        "x-bamboohr-timestamp": stamp,
        "x-bamboohr-signature": bamboohr_signature(key, body, stamp),
    }


def machine() -> str:
    import platform

    return (
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )
