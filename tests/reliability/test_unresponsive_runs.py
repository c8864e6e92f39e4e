"""The automation in examples/prefect/crash-unresponsive-runs.yaml on a real `prefect server start`: a relevo
run whose heartbeats stop (a lost machine) is marked Crashed, so the dispatcher starts it again; a run waiting
for approval (Paused) and another team's run are left alone. Prefect's own trigger engine decides, from the
heartbeat events a flow run sends."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml

from tests.scale.stack import PREFECT, prefect_server

AUTOMATION = Path(__file__).resolve().parents[2] / "examples" / "prefect" / "crash-unresponsive-runs.yaml"


def heartbeat(api: str, run_id: str, tags: list[str]) -> None:
    """What a flow run's heartbeat thread sends (prefect.flow_engine), through the events API."""
    event = {
        "id": str(uuid.uuid4()),
        "occurred": datetime.now(UTC).isoformat(),
        "event": "prefect.flow-run.heartbeat",
        "resource": {"prefect.resource.id": f"prefect.flow-run.{run_id}", "prefect.resource.name": "run"},
        "related": [
            {"prefect.resource.id": f"prefect.tag.{t}", "prefect.resource.role": "tag"} for t in tags
        ],
    }
    requests.post(f"{api}/events", json=[event], timeout=10).raise_for_status()


@pytest.mark.slow  # its own Prefect server and the trigger's window: about a minute
def test_a_run_that_stops_sending_heartbeats_is_crashed_and_a_paused_one_is_not() -> None:
    from prefect import get_client
    from prefect.states import Paused, Running

    with prefect_server(None) as env:
        api = env["PREFECT_API_URL"]
        shipped = subprocess.run(
            [PREFECT, "automation", "create", "--from-file", str(AUTOMATION)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert shipped.returncode == 0, shipped.stdout + shipped.stderr  # the file as shipped is accepted
        quick = yaml.safe_load(AUTOMATION.read_text("utf-8"))
        quick["name"], quick["trigger"]["within"] = "the same, within 15 s", 15
        created = subprocess.run(
            [PREFECT, "automation", "create", "--from-json", json.dumps(quick)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        time.sleep(3)  # the trigger engine loads new automations on its next pass
        with get_client(sync_client=True) as client:
            flow = client.read_deployment_by_name("offboard-employee/offboard-employee")
            runs = {
                name: client.create_flow_run_from_deployment(
                    flow.id, parameters={"employee_id": "1001"}, tags=tags, state=Running()
                )
                for name, tags in {"lost": ["relevo"], "waiting": ["relevo"], "other": ["payroll"]}.items()
            }
            for name, run in runs.items():
                heartbeat(api, str(run.id), ["relevo"] if name != "other" else ["payroll"])
            client.set_flow_run_state(runs["waiting"].id, Paused(reschedule=False), force=True)
            deadline = time.monotonic() + 90
            while (
                state := client.read_flow_run(runs["lost"].id).state
            ) is not None and not state.is_crashed():
                assert time.monotonic() < deadline, f"the lost run was not marked Crashed: {state}"
                time.sleep(1)
            assert "No heartbeat" in (state.message or "")
            time.sleep(20)  # past the window for the other two as well
            assert client.read_flow_run(runs["waiting"].id).state.is_paused()
            assert client.read_flow_run(runs["other"].id).state.is_running()
