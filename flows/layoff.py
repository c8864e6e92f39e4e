"""A layoff: many leavers in one run, bound by the vendors' rate limits rather than by relevo.

Each presence is listed once for the whole batch (not once per person), the plan of every
leaver is made from that one listing (with leaving admins hidden from each other, see
`plan.split_members`), and revocations run as one Prefect task per presence, calling the
vendor back to back, presences in parallel. Every action goes through the same ledger as a
single offboarding, so a rerun of the batch, or of one of its people, does nothing twice.
Notices wait for approval (`relevo approve ID`), as from the command line.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

import schemas
from connectors.errors import ConfigurationError, ConnectorError
from flows import notices
from flows.offboarding import (
    ATTENTION, Run, execute, notice_phase, plan_only, read_members, recover_interrupted, write_hr_note,
)
from flows.plan import CRM, NOTICE, REVOKE, Action, Plan, plan, plan_record_checks, split_members
from flows.registry import Registry, load_registry

WORKERS = 8  # HR and CRM reads in parallel; each vendor client paces itself


def read_employees(registry: Registry, employee_ids: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(employees, problems): one unreadable HR record is reported, it does not stop the layoff."""
    hr = registry.hr()

    def one(employee_id: str) -> dict[str, Any]:
        return schemas.check("employee", hr.employee(employee_id), f"HR record of employee {employee_id}")

    employees, problems = [], []
    with ThreadPoolExecutor(WORKERS) as pool:
        for employee_id, future in [(i, pool.submit(one, i)) for i in dict.fromkeys(employee_ids)]:
            try:
                employees.append(future.result())
            except (ConnectorError, ConfigurationError, schemas.SchemaError) as exc:
                problems.append({"employee_id": employee_id, "problem": str(exc)})
    return employees, problems


@task(cache_policy=NO_CACHE)
def revoke_on_presence(work: list[tuple[Run, Action]]) -> list[dict[str, Any]]:
    """Every leaver's actions on one presence, in plan order (add-admin before the revocation it guards)."""
    return [execute(run, action) for run, action in work]


@flow(name="offboard-batch", log_prints=False)
def offboard_batch(
    employee_ids: list[str],
    registry_path: str = "relevo.yaml",
    dry_run: bool = False,
    revoke_now: bool = False,
) -> dict[str, Any]:
    """Offboard many employees at once (a layoff).

    Args:
        employee_ids: the HR platform's employee ids.
        registry_path: the company's relevo.yaml.
        dry_run: show the plan, change nothing.
        revoke_now: revoke at once even where a last working day is still ahead.
    """
    logger = get_run_logger()
    registry = load_registry(registry_path)
    employees, problems = read_employees(registry, employee_ids)
    members = read_members(registry)
    views = split_members(members, employees, registry)
    now = datetime.now(timezone.utc)
    # Access first: every leaver's revocations are planned and run before any CRM read or draft.
    access = [without_record_checks(plan(e, registry, views[e["id"]], [], [], now, revoke_now)) for e in employees]
    logger.info("Layoff of %d: %d access actions", len(employees), sum(len(p.actions) for p in access))
    runs = {e["id"]: Run(registry, e, None, direct=True) for e in employees}
    with ThreadPoolExecutor(1) as background:  # reading clients changes nothing: it overlaps the revocations
        reading = background.submit(read_clients, registry, employees)
        rows = [row for p in access for row in plan_only(p)] if dry_run else revoke_batch(runs, access, views)
        clients = reading.result()
    for employee in employees:
        run, owned = runs[employee["id"]], clients[employee["id"]]
        if isinstance(owned, str):  # the CRM could not be read for this person: a task, not a failed layoff
            follow_up = Plan(employee, None, [unreadable_clients(employee, owned)])
            owned = []
        else:
            follow_up = Plan(employee, None, plan_record_checks(employee, owned)
                             + notices.notice_actions(employee, registry, owned, now))
        if dry_run:
            rows += plan_only(follow_up)
            continue
        done = [execute(run, a) for a in follow_up.actions if a.phase == "record"]
        done += notice_phase(run, follow_up.phase(NOTICE) + follow_up.phase(CRM), owned, now, wait_for_approval=False)
        note = write_hr_note(run, [r for r in rows if r["employee_id"] == employee["id"]] + done)
        rows += done + ([note] if note else [])
    summary = batch_summary(employees, problems, rows, dry_run)
    publish_batch(summary)
    return summary


def read_clients(registry: Registry, employees: list[dict[str, Any]]) -> dict[str, list[Any] | str]:
    """Each leaver's clients, read in parallel; an error stays that person's (its message, no secret)."""
    crm = registry.crm()

    def one(employee: dict[str, Any]) -> list[Any] | str:
        try:
            return crm.clients_of(employee.get("email"), employee["id"])
        except (ConnectorError, ConfigurationError) as exc:
            return str(exc)

    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip([e["id"] for e in employees], pool.map(one, employees)))


def unreadable_clients(employee: dict[str, Any], error: str) -> Action:
    return Action(key=f"{employee['id']}:check:clients", action="check_record", target="CRM: clients",
                  phase="record", outcome="manual",
                  description=f"could not read the clients ({error}); no notice drafted",
                  steps=[f"Run `relevo offboard {employee['id']}` when the CRM answers: its access part is done "
                         "and is skipped, the notices are drafted."])


def without_record_checks(the_plan: Plan) -> Plan:
    """The access part of a plan: HR-record checks come with the clients, after the revocations."""
    return Plan(the_plan.employee, the_plan.revoke_at, [a for a in the_plan.actions if a.action != "check_record"])


def revoke_batch(runs: dict[str, Run], plans: list[Plan], views: dict[str, Any]) -> list[dict[str, Any]]:
    """Interrupted revocations settled, then one task per presence, presences in parallel."""
    rows = [row for p in plans for row in recover_interrupted(runs[p.employee["id"]], p, views[p.employee["id"]])]
    rows += [execute(runs[p.employee["id"]], a) for p in plans for a in p.actions if a.phase == "record"]
    by_presence: dict[str, list[tuple[Run, Action]]] = {}
    for the_plan in plans:
        for action in the_plan.phase(REVOKE):
            by_presence.setdefault(action.presence.id if action.presence else "", []).append(
                (runs[the_plan.employee["id"]], action))
    futures = [revoke_on_presence.with_options(task_run_name=f"revoke-on-{pid or 'none'}").submit(group)
               for pid, group in by_presence.items()]
    return rows + [row for future in futures for row in future.result()]


def batch_summary(employees: list[dict[str, Any]], problems: list[dict[str, Any]],
                  rows: list[dict[str, Any]], dry_run: bool) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    return {
        "employees": len(employees),
        "problems": problems,
        "dry_run": dry_run,
        "counts": counts,
        "open": sum(counts.get(k, 0) for k in ATTENTION) + len(problems),
        "rows": rows,
    }


def publish_batch(summary: dict[str, Any]) -> None:
    """One table of what needs a person and one summary, not thousands of rows in the UI."""
    attention = [{k: r[k] for k in ("employee_id", "action", "target", "outcome", "detail")}
                 for r in summary["rows"] if r["outcome"] in ATTENTION]
    create_table_artifact(table=attention or [{"outcome": "nothing needs a person"}], key="layoff-open-actions",
                          description="Actions of the layoff that need a person")
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary["counts"].items()))
    lines = [f"# {'Dry run of a layoff' if summary['dry_run'] else 'Layoff'}: {summary['employees']} employee(s)",
             "", f"Outcomes: {counts}.", ""]
    lines += [f"- could not read employee **{p['employee_id']}**: {p['problem']}" for p in summary["problems"]]
    lines += ["", "Personal accounts of the employees are never touched by relevo."]
    create_markdown_artifact(markdown="\n".join(lines), key="layoff-summary")
