"""relevo scaled out on one machine: a Prefect server (on PostgreSQL or SQLite), the deployments, N process
workers, the simulated company on one PostgreSQL-backed ledger/inbox, and a watch over the processes.

What the scale test (tests/scale/test_workers_killed.py) and the sizing benchmark (tests/bench/bench_scale.py)
share. Nothing here is collected by pytest.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.bench.support import QUIET, ROOT, free_port, wait, wait_port
from tests.sim.company import SECRETS

PREFECT = str(Path(sys.executable).parent / "prefect")
SCHEDULED = ("reconcile-hr/reconcile-hr", "sweep-access/sweep-access")


def asyncpg_url(url: str) -> str:
    """Prefect's server speaks asyncpg: the same database under Prefect's driver name."""
    return url.replace("postgresql+psycopg://", "postgresql+asyncpg://", 1)


@contextlib.contextmanager
def prefect_server(database: str | None, poll_seconds: int = 1) -> Iterator[dict[str, str]]:
    """`prefect server start` on loopback (its database: `database`, else a SQLite file), the `relevo` pool
    and `prefect deploy --all`; the scheduled deployments are paused (their runs would take worker slots).

    Yields the environment for subprocesses; this process's Prefect client points at the server meanwhile.
    """
    from prefect import get_client
    from prefect.context import refresh_global_settings_context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with tempfile.TemporaryDirectory(prefix="relevo-prefect-") as home:
        port = free_port()
        url = f"http://127.0.0.1:{port}/api"
        env = {
            **os.environ,
            **QUIET,
            **SECRETS,
            "PREFECT_HOME": home,
            "PREFECT_API_URL": url,
            "PREFECT_WORKER_QUERY_SECONDS": str(poll_seconds),
            "PREFECT_API_DATABASE_CONNECTION_URL": asyncpg_url(database)
            if database
            else f"sqlite+aiosqlite:///{home}/prefect.db",
        }
        server = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_port(port, server, timeout=120)
            wait(lambda: requests.get(f"{url}/health", timeout=2).ok, timeout=60, every=0.2)
            for command in (
                ["work-pool", "create", "relevo", "--type", "process", "--overwrite"],
                ["deploy", "--all"],
            ):
                subprocess.run(
                    [PREFECT, *command],
                    cwd=ROOT,
                    env=env,
                    check=True,
                    capture_output=True,
                    stdin=subprocess.DEVNULL,
                    timeout=180,
                )
            # The process-wide settings too: threads (the dispatcher's) do not inherit the settings context.
            before = os.environ.get("PREFECT_API_URL")
            os.environ["PREFECT_API_URL"] = url
            refresh_global_settings_context()
            try:
                with temporary_settings({PREFECT_API_URL: url}):
                    with get_client(sync_client=True) as client:
                        for name in SCHEDULED:
                            client.pause_deployment(client.read_deployment_by_name(name).id)
                    yield env
            finally:
                if before is None:
                    os.environ.pop("PREFECT_API_URL", None)
                else:
                    os.environ["PREFECT_API_URL"] = before
                refresh_global_settings_context()
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()


class Workers:
    """`prefect worker start --pool relevo` processes, each the leader of its own process group.

    `kill(i)` is `kill -9` of the worker alone (its run processes lose their parent);
    `kill(i, group=True)` also kills the runs it started (a lost machine).
    """

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.env = env
        self.processes: list[subprocess.Popen] = []
        for _ in range(count):
            self.start()

    def start(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "relevo", "--type", "process"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def kill(self, index: int, group: bool = False) -> None:
        process = self.processes[index]
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            # the group again: run processes left behind by a worker that is gone
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    out, todo = [], list(tree.get(pid, []))
    while todo:
        child = todo.pop()
        out.append(child)
        todo.extend(tree.get(child, []))
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Peaks:
    """The largest values seen by `Watch` while the trial ran."""

    connections: dict[str, int] = field(default_factory=dict)  # per database
    run_processes: int = 0  # flow-run processes alive at once, all workers together
    connections_per_run: float = 0.0  # relevo's database connections / run processes, at the same sample
    worker_mb: float = 0.0  # one worker with its run processes
    worker_alone_mb: float = 0.0  # one worker process without its runs
    run_mb: float = 0.0  # one flow-run process


class Watch:
    """Samples pg_stat_activity and the workers' process trees every `every` seconds, in a thread."""

    def __init__(
        self, server: str | None, workers: Workers, relevo_db: str | None, every: float = 0.25
    ) -> None:
        self.server, self.workers, self.relevo_db, self.every = server, workers, relevo_db, every
        self.peaks = Peaks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="relevo-watch", daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        conn: Any = None
        if self.server:
            import psycopg

            from tests.pgcluster import plain

            conn = psycopg.connect(plain(self.server) + "postgres", autocommit=True)
        try:
            while not self._stop.wait(self.every):
                self.sample(conn)
        finally:
            if conn is not None:
                conn.close()

    def sample(self, conn: Any) -> None:
        peaks, tree, runs = self.peaks, children(), 0
        for process in self.workers.processes:
            if process.poll() is not None:
                continue
            below = descendants(process.pid, tree)
            runs += len(below)
            peaks.worker_alone_mb = max(peaks.worker_alone_mb, rss_mb(process.pid))
            peaks.worker_mb = max(peaks.worker_mb, rss_mb(process.pid) + sum(rss_mb(p) for p in below))
            peaks.run_mb = max([peaks.run_mb] + [rss_mb(p) for p in below])
        peaks.run_processes = max(peaks.run_processes, runs)
        if conn is None:
            return
        rows = conn.execute(
            "SELECT datname, count(*) FROM pg_stat_activity WHERE datname IS NOT NULL GROUP BY datname"
        ).fetchall()
        for name, count in rows:
            peaks.connections[name] = max(peaks.connections.get(name, 0), count)
            if name == self.relevo_db and runs:
                peaks.connections_per_run = max(peaks.connections_per_run, count / runs)


def final_runs(employee_ids: set[str], registry: str) -> dict[str, list[Any]]:
    """Every offboarding flow run started for these employees with this registry (or none named: the
    workers find their own), by employee: `offboard-employee` runs, and each `offboard-batch` run under
    every employee it holds (the dispatcher gathers terminations that arrive together)."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    from relevo.rules.inputs import employee_ids as parse_ids

    out: dict[str, list[Any]] = {e: [] for e in employee_ids}
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            page = client.read_flow_runs(
                deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(any_=["offboard-employee", "offboard-batch"])
                ),
                limit=200,
                offset=offset,
            )
            for run in page:
                if run.parameters.get("registry_path") not in (None, registry):
                    continue
                held = (
                    parse_ids(run.parameters["employee_ids"])
                    if "employee_ids" in run.parameters
                    else [str(run.parameters.get("employee_id"))]
                )
                for employee in held:
                    if employee in out:
                        out[employee].append(run)
            if len(page) < 200:
                return out
            offset += 200
