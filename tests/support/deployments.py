"""relevo's work pool and deployments on the test Prefect server, made from prefect.yaml exactly as the
README says (`prefect work-pool create`, `prefect deploy --all`); the session fixture `deployed` is in
tests/conftest.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")


def prefect_cli(
    *args: str, api_url: str, timeout: float = 90, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """The `prefect` command; `cwd` and `env` stand in for another machine's worker (no checkout there)."""
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_WORKER_QUERY_SECONDS": "1", **(env or {})}
    return subprocess.run(
        [PREFECT, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def deploy(prefect_api_url: str) -> str:
    """The API URL of the session's server, with the `relevo` pool and both deployments on it."""
    pool = prefect_cli(
        "work-pool", "create", "relevo", "--type", "process", "--overwrite", api_url=prefect_api_url
    )
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = prefect_cli("deploy", "--all", api_url=prefect_api_url)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert "offboard-employee/offboard-employee" in deploy.stdout
    assert "rescind-termination/rescind-termination" in deploy.stdout
    from prefect import get_client

    with get_client(sync_client=True) as client:  # nothing of this machine travels with a deployment
        for deployment in client.read_deployments():
            assert deployment.pull_steps == [], (deployment.name, deployment.pull_steps)
            assert "registry_path" not in deployment.parameters, (deployment.name, deployment.parameters)
    # The scheduled deployments (reconcile-hr every 15 min, sweep-access daily) are paused here: a run
    # of theirs coming due would be taken by a test's `worker --run-once` instead of the run it waits for.
    with get_client(sync_client=True) as client:
        for name in ("reconcile-hr/reconcile-hr", "sweep-access/sweep-access"):
            client.pause_deployment(client.read_deployment_by_name(name).id)
    return prefect_api_url


def deployment_id(name: str) -> str:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return str(client.read_deployment_by_name(name).id)


def runs_of(employee_id: str, deployment: str = "offboard-employee") -> list:
    """Flow runs of a relevo deployment for one employee, oldest first."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        )
    return [r for r in runs if r.parameters.get("employee_id") == employee_id]
