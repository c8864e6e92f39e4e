"""Revocations that are not due yet: a resignation's access goes at the end of the last working day.

Running as a deployment, the offboarding run schedules a run of its own deployment at
that time (idempotency key per employee and time, so duplicates schedule it once) and
records it in the ledger. From the plain CLI there is no worker to run it later: the
revocations stay `scheduled` and the operator runs relevo again then (or uses --now).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect.runtime import deployment, flow_run

from relevo.config.registry import Registry
from relevo.rules.plan import Action, revoke_time


def due_by_schedule(employee: dict[str, Any], registry: Registry) -> bool:
    """True in the run scheduled for the revocation time, even when a worker starts it a few seconds early."""
    if deployment.id is None:
        return False
    return revoke_time(employee, registry, flow_run.scheduled_start_time) is None


def schedule_revocation(
    run: Any, revoke_at: datetime | None, deployment_name: str | None = None
) -> list[dict[str, Any]]:
    """Schedule this deployment to run again at `revoke_at`; nothing when not due later or not a deployment.

    `deployment_name`: the deployment to schedule instead of this one (a batch run schedules each
    resignation's `offboard-employee` run).
    """
    if revoke_at is None or deployment.id is None:
        return []
    from prefect.deployments import run_deployment

    employee_id = run.employee["id"]
    when = revoke_at.astimezone(UTC).isoformat()
    # A termination given again after a withdrawal schedules its own run: Prefect would return the
    # cancelled one for the same idempotency key.
    withdrawals = run.ledger.withdrawals(employee_id)
    again = f":after-{withdrawals}-withdrawals" if withdrawals else ""
    local = revoke_at.astimezone(run.registry.timezone)
    action = Action(
        key=f"{employee_id}:schedule_revocation:{when}",
        action="schedule_revocation",
        target=f"offboarding run at {local:%Y-%m-%d %H:%M %Z}",
        phase="record",
        description="revocations run at the end of the last working day",
    )
    try:
        scheduled = run_deployment(
            deployment_name or deployment.id,
            parameters={
                "employee_id": employee_id,
                "registry_path": run.registry.given,
                "event_key": run.event_key,
                "dry_run": False,
                "revoke_now": False,
            },
            scheduled_time=revoke_at.astimezone(UTC),
            idempotency_key=f"{run.registry.company_slug}:{employee_id}:revoke-at:{when}{again}",
            flow_run_name=f"revoke-{employee_id}-at-{local:%Y%m%d-%H%M}",
            timeout=0,
            as_subflow=False,
        )
    except Exception as exc:  # the Prefect API: the revocations stay scheduled in the ledger either way
        return [
            run.record(
                action,
                "failed",
                f"could not schedule the run ({type(exc).__name__}) | fix: run "
                f"`relevo offboard {employee_id}` after {local:%Y-%m-%d %H:%M %Z}, or now with --now",
            )
        ]
    scheduled_id = scheduled.id  # type: ignore[union-attr]  # sync caller: Prefect's dual API returns the FlowRun
    return [
        run.record(action, "scheduled", f"flow run {scheduled_id} scheduled for {local:%Y-%m-%d %H:%M %Z}")
    ]
