"""A termination was withdrawn: stop what is scheduled, give back what was taken.

Cancels the employee's offboarding runs that have not run yet (scheduled revocations,
runs waiting for approval), then restores every role the ledger says was revoked, from
the pre-state recorded at revocation. What a platform cannot restore by API becomes a
task for a person. Everything is recorded in the ledger, like an offboarding.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Completed

from connectors.errors import ConnectorError
from connectors.grants import grant_from_pre_state
from flows.ledger import FINISHED, Ledger
from flows.registry import Registry, load_registry

OFFBOARDING = "offboard-employee"
CANCEL = ("SCHEDULED", "PENDING", "PAUSED")  # not started yet, or waiting for a person
RESTORE = {"done", "manual"}  # removed by relevo, or handed to a person who may have removed it


class Rescind:
    """The ledger writer for one rescind run."""

    def __init__(self, registry: Registry, employee_id: str, event_key: str | None) -> None:
        self.registry = registry
        self.employee_id = employee_id
        self.event_key = event_key
        self.ledger = Ledger(registry.database_url, registry.output_dir / "audit.jsonl")
        self.run_id = str(flow_run.id) if flow_run.id else None

    def record(self, key: str, action: str, target: str, outcome: str, detail: str) -> dict[str, Any]:
        return self.ledger.finish(key=key, employee_id=self.employee_id, action=action, target=target,
                                  outcome=outcome, detail=detail, run_id=self.run_id, event_key=self.event_key)


def open_runs(employee_id: str) -> list[Any]:
    """The employee's offboarding runs in any state, read from the Prefect API (parameters are filtered here)."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    found, offset = [], 0
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[OFFBOARDING])),
                limit=200, offset=offset)
            found += [r for r in page if r.parameters.get("employee_id") == employee_id]
            if len(page) < 200:
                return found
            offset += 200


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def cancel_runs(rescind: Rescind) -> list[dict[str, Any]]:
    """Cancel the runs that would still revoke or draft; a running one becomes a task for a person."""
    from prefect import get_client
    from prefect.states import Cancelled

    rows = []
    with get_client(sync_client=True) as client:
        for run in open_runs(rescind.employee_id):
            state = run.state.type.value if run.state else ""
            target = f"flow run {run.name} ({run.id})"
            key = f"{rescind.employee_id}:cancel_run:{run.id}"
            if state in CANCEL:
                client.set_flow_run_state(run.id, Cancelled(message="termination withdrawn"), force=True)
                when = f" scheduled for {run.expected_start_time:%Y-%m-%d %H:%M %Z}" if state == "SCHEDULED" else ""
                rows.append(rescind.record(key, "schedule_revocation", target, "cancelled",
                                           f"cancelled ({state.lower()}{when}): the termination was withdrawn"))
            elif state == "RUNNING":
                rows.append(rescind.record(key, "manual_task", target, "manual",
                                           "an offboarding run is still running: when it ends, run this rescind "
                                           "again so what it revoked is given back"))
    return rows


def revoked(ledger: Ledger, employee_id: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(revoke key, presence id, member id, pre-state) of every role relevo removed or asked a person to remove."""
    out = []
    for key, state in ledger.states(employee_id).items():
        parts = key.split(":", 3)  # employee:revoke:presence:member (member ids may contain ':')
        if len(parts) == 4 and parts[1] == "revoke" and state.status in RESTORE and state.pre_state is not None:
            out.append((key, parts[2], parts[3], state.pre_state))
    return out


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def restore_one(rescind: Rescind, revoke_key: str, presence_id: str, member_id: str,
                pre_state: dict[str, Any]) -> dict[str, Any]:
    """Give one role back (or write the task that does), once per revoke."""
    key = f"{revoke_key}:restore"
    presence = next((p for p in rescind.registry.presences if p.id == presence_id), None)
    target = presence.account if presence else presence_id
    if (state := rescind.ledger.state(key)) is not None and state.status in FINISHED:
        return rescind.record(key, "restore_role", target, "already_done", f"already restored: {state.detail}"[:2000])
    if presence is None:
        return rescind.record(key, "restore_role", target, "manual",
                              f"presence '{presence_id}' is no longer in the registry: give back the "
                              f"{pre_state.get('role', 'previous')} role of member {member_id} by hand")
    grant = grant_from_pre_state(presence_id, pre_state)
    grant = replace(grant, member_id=grant.member_id or member_id,
                    identity=grant.identity or f"employee:{rescind.employee_id}", employee_id=rescind.employee_id)
    rescind.ledger.start(key, rescind.employee_id, "restore_role", target)
    try:
        outcome = rescind.registry.social(presence).restore(presence, grant, pre_state)
    except ConnectorError as exc:
        return rescind.record(key, "restore_role", target, "failed",
                              f"{exc} | fix: give back the {grant.role} role by hand, then rerun to record it")
    row = rescind.record(key, "restore_role", target, outcome.status, outcome.summary())
    if outcome.status in {"done", "already_done"}:
        # The role is back: a later termination must remove it again, not find it "done".
        rescind.record(revoke_key, "revoke_role", target, "skipped",
                       f"undone: role restored after the termination was withdrawn (event {rescind.event_key})")
    return row


@flow(name="rescind-termination", log_prints=False)
def rescind_termination(employee_id: str, registry_path: str = "relevo.yaml", event_key: str | None = None) -> Any:
    """Undo an offboarding whose termination was withdrawn.

    Args:
        employee_id: the HR platform's employee id.
        registry_path: the company's relevo.yaml.
        event_key: the webhook event that reported the withdrawal, for the audit log.
    """
    logger = get_run_logger()
    registry = load_registry(registry_path)
    rescind = Rescind(registry, employee_id, event_key)
    rows = cancel_runs(rescind)
    rows += [restore_one(rescind, *item) for item in revoked(rescind.ledger, employee_id)]
    logger.info("Rescind for %s: %d outcome(s)", employee_id, len(rows))
    open_items = [r for r in rows if r["outcome"] in {"manual", "failed"}]
    lines = [f"# Termination withdrawn: employee {employee_id}", ""]
    lines += [f"- {r['outcome'].replace('_', ' ')}: {r['action']} {r['target']}: {r['detail']}" for r in rows]
    lines += ["", "No revoked role found in the ledger." if not rows else ""]
    create_markdown_artifact(markdown="\n".join(lines), key=f"rescind-{''.join(c if c.isalnum() else '-' for c in employee_id.lower())}")
    summary = {"employee_id": employee_id, "rows": rows, "open": len(open_items)}
    if open_items:
        return Completed(message=f"Completed with {len(open_items)} manual action(s)",
                         name="Needs a person", data=summary)
    return summary
