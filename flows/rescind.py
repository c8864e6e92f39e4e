"""A termination was withdrawn: stop everything it started, give back what was taken.

Nothing is believed on the word of a webhook: the HR record is read again, and only when it no
longer shows a termination is anything undone (otherwise a task for a person, nothing restored).
Then the withdrawal is written to the ledger (every run created before it stops at its next
step and writes nothing more: flows/engine/gate.py), notices awaiting approval are withdrawn, and the
employee's offboarding runs (scheduled, pending, paused for approval, running) are cancelled
through Prefect's cancellation: Cancelling, so a worker ends the run's process (a run without a
process goes straight to Cancelled). Once those runs have ended, every role the ledger says was
revoked is restored from the pre-state recorded at revocation; what a platform cannot restore by
API becomes a task for a person. Everything is recorded in the ledger, like an offboarding.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed

from relevo import schemas
from relevo.config.registry import load_registry
from relevo.connectors.errors import ConnectorError
from relevo.engine import gate
from relevo.engine.execute import Run
from relevo.engine.steps import TRANSIENT
from relevo.model import FINISHED, TASKS, ActionKey, grant_from_pre_state
from relevo.storage.ledger import Ledger

OFFBOARDING = "offboard-employee"
CANCEL = ("SCHEDULED", "PENDING", "PAUSED", "RUNNING")  # every run that may still act
ENDING = "CANCELLING"  # asked to stop: the worker is ending its process
# removed by relevo; handed to a person who may have removed it; or cut short by the cancellation
# after the call (a restore of a role that is still there changes nothing)
RESTORE = {"done", "manual", "started"}
STOP_WAIT = 120.0  # seconds to wait for cancelled runs to end before giving roles back
# A run asked to cancel that has no process yet (pending: claimed by a worker, not started) has no
# worker to end it: after this long it is set Cancelled. If its process starts anyway, it finds the
# withdrawal in the ledger and the HR record without a termination, and writes nothing.
NO_PROCESS_GRACE = 5.0


def open_runs(employee_id: str) -> list[Any]:
    """The employee's offboarding runs in any state, read from the Prefect API (parameters are filtered here)."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    found, offset = [], 0
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[OFFBOARDING])),
                limit=200,
                offset=offset,
            )
            found += [r for r in page if r.parameters.get("employee_id") == employee_id]
            if len(page) < 200:
                return found
            offset += 200


def still_terminated(rescind: Run, employee: dict[str, Any]) -> dict[str, Any] | None:
    """A task for a person when the HR record still shows a termination (nothing is undone); None otherwise."""
    if gate.refusal(employee) is not None:
        return None
    termination = employee.get("termination") or {}
    key = f"{rescind.employee_id}:check:withdrawal:{rescind.event_key or rescind.run_id or 'manual'}"
    return rescind.record_key(
        key,
        "check_record",
        f"HR record {rescind.employee_id}",
        "manual",
        f"a withdrawal of the termination was reported, but the HR record still shows one (status "
        f"{employee.get('status')}, last day {termination.get('date') or 'not set'}): nothing was cancelled or "
        "restored. If the termination was withdrawn, correct the HR record, then run rescind-termination again",
    )


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[2, 10])
def cancel_runs(rescind: Run) -> list[dict[str, Any]]:
    """Ask Prefect to cancel every offboarding run of the employee that may still act, and wait for them to end.

    Cancelling (not Cancelled): the worker then kills the run's process, so a run paused for
    approval does not wake up later and write. Prefect itself turns it into Cancelled when there
    is no process (a scheduled run, a suspended one). Runs that have not ended after STOP_WAIT
    become a task for a person; they stop at their next step anyway (the ledger's withdrawal).
    """
    from prefect import get_client
    from prefect.client.schemas.objects import State, StateType
    from prefect.states import Cancelled

    rows, asked = [], {}
    with get_client(sync_client=True) as client:
        for run in open_runs(rescind.employee_id):
            state = run.state.type.value if run.state else ""
            if state not in CANCEL and state != ENDING:
                continue
            target = f"flow run {run.name} ({run.id})"
            if state in CANCEL:
                client.set_flow_run_state(
                    run.id, State(type=StateType.CANCELLING, message="termination withdrawn")
                )
            when = (
                f" scheduled for {run.expected_start_time:%Y-%m-%d %H:%M %Z}" if state == "SCHEDULED" else ""
            )
            asked[run.id] = (target, f"{state.lower()}{when}")
        started = time.monotonic()
        while asked:
            for run_id, (target, was) in list(asked.items()):
                run = client.read_flow_run(run_id)
                if (
                    run.state is not None
                    and run.state.type.value == ENDING
                    and not run.infrastructure_pid
                    and time.monotonic() - started > NO_PROCESS_GRACE
                ):
                    client.set_flow_run_state(
                        run_id, Cancelled(message="termination withdrawn: no process to end"), force=True
                    )
                    run = client.read_flow_run(run_id)
                if run.state is not None and run.state.is_final():
                    rows.append(
                        rescind.record_key(
                            f"{rescind.employee_id}:cancel_run:{run_id}",
                            "schedule_revocation",
                            target,
                            "cancelled",
                            f"cancelled ({was}, now {run.state.name}): the termination was withdrawn",
                        )
                    )
                    del asked[run_id]
            if not asked or time.monotonic() - started > STOP_WAIT:
                break
            time.sleep(1.0)
    for run_id, (target, was) in asked.items():
        rows.append(
            rescind.record_key(
                f"{rescind.employee_id}:cancel_run:{run_id}",
                "manual_task",
                target,
                "manual",
                f"asked Prefect to cancel this run ({was}), but it has not ended: check that its "
                "worker is running (it ends the process), then run this rescind again so what "
                "the run revoked is given back",
            )
        )
    return rows


def wait_for_claims(rescind: Run) -> list[dict[str, Any]]:
    """Before anything is given back: no other run may be in the middle of removing this employee's roles.

    The offboarding runs were cancelled and have ended (`cancel_runs`); a batch run (terminations gathered
    from webhooks, a layoff from the UI or the command line) is not cancelled, since others are in it. A
    run checks for the withdrawal, fresh, once it holds an action's claim and before it calls the vendor
    (`relevo.engine.execute.claim`); the withdrawal is written before this looks at the claims. So a call
    this does not see as claimed here sees the withdrawal and is not made, and one it sees is waited for
    (at most STOP_WAIT) until its outcome is recorded, then given back below.
    """
    started = time.monotonic()
    while busy := rescind.ledger.claimed_by_others(rescind.employee_id, rescind.holder):
        if time.monotonic() - started > STOP_WAIT:
            return [
                rescind.record_key(
                    f"{rescind.employee_id}:wait_claims:{rescind.run_id or 'manual'}",
                    "manual_task",
                    f"{len(busy)} action(s) held by another run",
                    "manual",
                    f"{len(busy)} of this employee's actions ({', '.join(busy[:3])}) were still being done by "
                    f"another run after {STOP_WAIT:.0f} s: once that run has ended, run this rescind again so "
                    "what it revoked is given back",
                )
            ]
        time.sleep(1.0)
    return []


def revoked(ledger: Ledger, employee_id: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(revoke key, presence id, member id, pre-state) of every role relevo removed or asked a person to remove."""
    out = []
    for key, state in ledger.states(employee_id).items():
        parsed = ActionKey.parse(key)
        if parsed.kind == "revoke" and state.status in RESTORE and state.pre_state is not None:
            out.append((key, parsed.subject, parsed.rest, state.pre_state))
    return out


@task(cache_policy=NO_CACHE, **TRANSIENT)  # the offboarding steps' rule: only a handed-back rate limit
def restore_one(
    rescind: Run, revoke_key: str, presence_id: str, member_id: str, pre_state: dict[str, Any]
) -> dict[str, Any]:
    """Give one role back (or write the task that does), once per revoke."""
    key = f"{revoke_key}:restore"
    presence = next((p for p in rescind.registry.presences if p.id == presence_id), None)
    target = presence.account if presence else presence_id
    if (state := rescind.ledger.state(key)) is not None and state.status in FINISHED:
        return rescind.record_key(
            key, "restore_role", target, "already_done", f"already restored: {state.detail}"[:2000]
        )
    if presence is None:
        return rescind.record_key(
            key,
            "restore_role",
            target,
            "manual",
            f"presence '{presence_id}' is no longer in the registry: give back the "
            f"{pre_state.get('role', 'previous')} role of member {member_id} by hand",
        )
    grant = grant_from_pre_state(presence_id, pre_state)
    grant = replace(
        grant,
        member_id=grant.member_id or member_id,
        identity=grant.identity or f"employee:{rescind.employee_id}",
        employee_id=rescind.employee_id,
    )
    rescind.ledger.start(key, rescind.employee_id, "restore_role", target)
    try:
        outcome = rescind.registry.social(presence).restore(presence, grant, pre_state)
    except ConnectorError as exc:
        return rescind.record_key(
            key,
            "restore_role",
            target,
            "failed",
            f"{exc} | fix: give back the {grant.role} role by hand, then rerun to record it",
        )
    row = rescind.record_key(key, "restore_role", target, outcome.status, outcome.detail, steps=outcome.steps)
    if outcome.status in {"done", "already_done"}:
        # The role is back: a later termination must remove it again, not find it "done".
        rescind.record_key(
            revoke_key,
            "revoke_role",
            target,
            "skipped",
            f"undone: role restored after the termination was withdrawn (event {rescind.event_key})",
        )
    return row


@flow(name="rescind-termination", log_prints=False)
def rescind_termination(
    employee_id: str, registry_path: str | None = None, event_key: str | None = None
) -> Any:
    """Undo an offboarding whose termination was withdrawn.

    Args:
        employee_id: the HR platform's employee id.
        registry_path: the company's relevo.yaml; None: the worker's RELEVO_REGISTRY, else relevo.yaml in its
            working directory.
        event_key: the webhook event that reported the withdrawal, for the audit log.
    """
    logger = get_run_logger()
    registry = load_registry(registry_path)
    rescind = Run(registry, {"id": employee_id}, event_key)  # the HR record is checked below
    employee = schemas.check(
        "employee", registry.hr().employee(employee_id), f"HR record of employee {employee_id}"
    )
    if (task_ := still_terminated(rescind, employee)) is not None:
        logger.warning("%s", task_["detail"])
        return Completed(
            message=task_["detail"],
            name="Completed with manual actions",
            data={"employee_id": employee_id, "rows": [task_], "open": 1},
        )
    marker = f"{employee_id}:withdrawn:{event_key or rescind.run_id or gate.run_created_at()}"
    detail = f"termination withdrawn (event {event_key or 'none'}; the HR record shows no termination)"
    rows = [rescind.record_key(marker, gate.WITHDRAW, f"HR record {employee_id}", "done", detail)]
    rows += rescind.ledger.withdraw_awaiting(
        employee_id, f"not to be approved: {detail}", rescind.run_id, event_key
    )
    rows += cancel_runs(rescind)
    rows += wait_for_claims(rescind)
    rows += [restore_one(rescind, *item) for item in revoked(rescind.ledger, employee_id)]
    logger.info("Rescind for %s: %d outcome(s)", employee_id, len(rows))
    open_items = [r for r in rows if r["outcome"] in TASKS]
    lines = [f"# Termination withdrawn: employee {employee_id}", ""]
    lines += [f"- {r['outcome'].replace('_', ' ')}: {r['action']} {r['target']}: {r['detail']}" for r in rows]
    restored = [r for r in rows if r["action"] == "restore_role"]
    lines += ["", "No revoked role found in the ledger." if not restored else ""]
    create_markdown_artifact(
        markdown="\n".join(lines),
        key=f"rescind-{''.join(c if c.isalnum() else '-' for c in employee_id.lower())}",
    )
    summary = {"employee_id": employee_id, "rows": rows, "open": len(open_items)}
    if open_items:
        return Completed(
            message=f"Completed with {len(open_items)} manual action(s)", name="Needs a person", data=summary
        )
    return summary
