"""Helpers for tests that drive a paused offboarding run on the session's real Prefect server: the example
company with HubSpot as its CRM, the flow started in a thread as a deployment run would (it pauses for the
approval form), and the run found once paused.

The session's server holds hundreds of runs (the deployments' schedules among them), so a paused run is looked
for among paused runs only; reading "the 50 latest runs" missed it in full-suite runs."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.hubspot_fake import FakeHubSpot

LEAVER = "laura.martinez@acme-comunicacion.example"
SUCCESSOR = "nuria.castells@acme-comunicacion.example"
OTHER = "pablo.ferrando@acme-comunicacion.example"


def use_timeout(registry: Path, hours: float) -> None:
    """The example registry with notices waiting `hours` for approval before the run gives up on them."""
    registry.write_text(
        registry.read_text("utf-8").replace(
            "  auto_approve_notices: false\n",
            f"  auto_approve_notices: false\n  approval_timeout_hours: {hours}\n",
        ),
        "utf-8",
    )


def use_hubspot(registry: Path, timeout_hours: float, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example registry with HubSpot as CRM and notices waiting for approval for `timeout_hours`."""
    registry.write_text(
        registry.read_text("utf-8").replace(
            "crm: {connector: directory, path: clients.json}",
            "crm: {connector: hubspot, token: {env: HUBSPOT_TOKEN}}",
        ),
        "utf-8",
    )
    use_timeout(registry, timeout_hours)
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-eu1-canary-approval")


def seed(fake: FakeHubSpot) -> None:
    """Three contacts of 1001's clients: two owned by the leaver (Spanish and English), one by someone else."""
    fake.add_company("7001", "Hotel Mirador de Altea", "41629001", "ES")
    fake.add_company("7002", "Seaview Hotels Ltd", "41629001", "GB")
    fake.add_contact(
        "8001", "Rosa", "Beltrán", "rosa.beltran@miradoraltea.example", "41629001", "7001", language="es"
    )
    fake.add_contact("8002", "James", "O'Connor", "j.oconnor@seaviewhotels.example", "41629001", "7002")
    fake.add_contact("8003", "Olivia", "Hartley", "olivia.hartley@seaviewhotels.example", "41629555", "7002")


def start(registry: Path, employee_id: str = "1001") -> tuple[threading.Thread, dict[str, Any]]:
    """The flow in a thread, asking for approval as a deployment run does; `out` gets its state or its error."""
    from relevo.offboarding import offboard_employee

    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["state"] = offboard_employee(
                employee_id, registry_path=str(registry), wait_for_approval=True, return_state=True
            )
        except BaseException as exc:  # surfaced by the test, never swallowed
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def paused_run(registry: Path, out: dict[str, Any], after: Any = None, wait: float = 90) -> Any:
    """The run of `registry` once it is paused (again, when `after` is the previous pause's key)."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
    deadline = time.monotonic() + wait
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            assert "error" not in out, out.get("error")
            for run in client.read_flow_runs(flow_run_filter=paused, limit=200):
                if (
                    run.parameters.get("registry_path") == str(registry)
                    and run.state
                    and run.state.is_paused()
                    and run.state.state_details.pause_key != after
                    and form_is_readable(client, run)
                ):
                    return run
            time.sleep(0.3)
    raise AssertionError("the run did not pause for approval")


def form_is_readable(client: Any, run: Any) -> bool:
    """The paused run's form can be read: its inputs can lag its Paused state by a moment (a 404 right after)."""
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    keyset = run.state.state_details.run_input_keyset
    if not keyset:
        return True  # a pause without a form (not relevo's approval): nothing to wait for
    try:
        client.read_flow_run_input(run.id, keyset["description"])
    except (ObjectNotFound, PrefectHTTPStatusError):
        return False
    return True


def form_description(run: Any) -> str:
    """The markdown the approval form shows above its fields."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        keyset = run.state.state_details.run_input_keyset
        return json.loads(client.read_flow_run_input(run.id, keyset["description"])).replace("\\", "")


def deployment_run(registry: Path, employee_id: str = "1001") -> Any:
    """A flow run of the `offboard-employee` deployment, as a webhook or the UI creates it (not started)."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("offboard-employee/offboard-employee")
        return client.create_flow_run_from_deployment(
            deployment.id, parameters={"employee_id": employee_id, "registry_path": str(registry)}
        )


def run_as_worker(flow_run_id: Any, flow: Any = None) -> Any:
    """One attempt of a deployment's flow run in this process, as the process worker's `python -m
    prefect.engine` runs it (seconds, not a worker and a process per attempt); its state at the end.
    A suspension ends the attempt (Prefect raises Pause: the worker's process exits there).
    `flow`: the deployment's flow (default `offboard_employee`)."""
    from prefect import get_client
    from prefect.exceptions import Pause
    from prefect.flow_engine import run_flow

    from relevo.offboarding import offboard_employee

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
    with contextlib.suppress(Pause):  # suspended: the attempt ends here, its state is on the server
        run_flow(flow or offboard_employee, flow_run=flow_run, return_type="state")
    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state
