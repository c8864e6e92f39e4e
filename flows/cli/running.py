"""How a `relevo` command runs a flow: inputs checked before Prefect starts, every recorded row shown as it
comes, and a failure ended in one line (exit 2 for bad input, 1 for an outside system), never a traceback.
"""

from __future__ import annotations

import gc
import getpass
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from relevo.cli.output import EXIT_FAILURE, fail


def resume_gc() -> None:
    """Collect garbage cycles again, without a first pass over everything start-up built (it lives on)."""
    if not gc.isenabled():
        gc.freeze()  # every object so far to the permanent generation, and the allocation count to zero...
        gc.unfreeze()  # ...then back into the oldest one, as if it had survived collections
        gc.enable()


def load(registry: Path) -> Any:
    from relevo.config.registry import load_registry
    from relevo.model import ConfigurationError

    try:
        return load_registry(registry)
    except ConfigurationError as exc:
        fail(str(exc))


def quiet_prefect() -> None:
    """Keep Prefect's own console output (and its tracebacks) out of relevo's; the UI still gets every log.

    relevo prints each outcome and any failure itself, in one line.
    """
    for name in ("CONSOLE", "CONSOLE_FLOW_RUNS", "CONSOLE_TASK_RUNS"):
        os.environ.setdefault(f"PREFECT_LOGGING_HANDLERS_{name}_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def run_flow(flow: Any, *args: Any, **kwargs: Any) -> Any:
    """A flow's result, or the exception it ended with.

    With PREFECT_API_URL set, the flow runs on that server (the run, its steps and artifacts are in the
    UI). Without one, Prefect 3 would start a temporary server for each command (10-20 s, then a process
    to stop); relevo instead calls the flow's function itself (`flow.fn`, which Prefect supports): the same
    code, every step a plain call with the connectors' own retries, recorded in relevo's ledger and audit
    log, and no process left behind when the command ends.
    """
    if os.environ.get("PREFECT_API_URL"):
        return flow(*args, **kwargs, return_state=True).result(raise_on_failure=False)
    from prefect.states import State

    try:
        value = flow.fn(*args, **kwargs)
    except Exception as exc:  # reported in one line by handle_failure
        return exc
    return value.data if isinstance(value, State) else value


def run_showing(show: Callable[[dict[str, Any]], None], flow: Any, *args: Any, **kwargs: Any) -> Any:
    """What every command that runs a flow does around it: each recorded row shown as it comes (`show`),
    the flow run (`run_flow`), and a failure or a run that did nothing on purpose ended in one line."""
    from relevo.engine import steps

    resume_gc()
    steps.listeners.append(show)
    try:
        result = run_flow(flow, *args, **kwargs)
    finally:
        steps.listeners.remove(show)
    if isinstance(result, BaseException):
        handle_failure(result)
    stopped(result)
    return result


def clean_id(employee_id: str) -> str:
    """The id as the flows take it (trimmed, one line), or one line naming the problem and exit 2."""
    from relevo.rules.inputs import BadInput
    from relevo.rules.inputs import employee_id as checked

    try:
        return checked(employee_id)
    except BadInput as exc:
        fail(str(exc))


def stopped(result: Any) -> None:
    """A run that did nothing on purpose: the HR record shows no termination, or the termination was withdrawn."""
    from relevo.engine.gate import not_left

    if isinstance(result, dict) and result.get("refused"):
        lines = result["refused"]
        fail(lines if isinstance(lines, str) else not_left(lines))
    if isinstance(result, dict) and result.get("withdrawn"):
        fail(result["withdrawn"])


def check_employee(reg: Any, employee_id: str) -> dict[str, Any]:
    """Read the HR record before Prefect starts: a typo costs a second, not a server start."""
    from relevo.connectors.errors import BadRecord, ConnectorError, NotFound
    from relevo.model import ConfigurationError
    from relevo.schemas import SchemaError, check

    try:
        return check("employee", reg.hr().employee(employee_id), f"HR record of employee {employee_id}")
    except (NotFound, BadRecord, ConfigurationError, SchemaError) as exc:
        fail(str(exc))
    except ConnectorError as exc:
        fail(f"cannot read the HR record: {exc}", EXIT_FAILURE)


def handle_failure(error: BaseException) -> NoReturn:
    from relevo.connectors.errors import BadRecord, ConnectorError, NotFound
    from relevo.model import ConfigurationError
    from relevo.schemas import SchemaError

    if isinstance(error, (NotFound, BadRecord)):
        fail(str(error))
    if isinstance(error, (ConfigurationError, SchemaError)):
        fail(str(error))
    if isinstance(error, ConnectorError):
        fail(f"{error} (nothing after this step ran; rerun when it is fixed)", EXIT_FAILURE)
    fail(f"unexpected {type(error).__name__}: {error}", EXIT_FAILURE)


def os_user() -> str:
    """The operating system's name for who runs this command (recorded next to the name given with --by)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment and no passwd entry (some containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def check_approval(reg: Any, employee_id: str, successor: str | None) -> None:
    """Before Prefect starts: nothing is approved about a successor the HR system does not know as active.

    The flow checks again when it runs (the HR record may change in between), and refuses an
    employee whose HR record shows no termination (relevo.engine.gate).
    """
    from relevo.connectors.errors import ConnectorError
    from relevo.engine.approval import SuccessorProblem, resolve_successor

    try:
        employee = reg.hr().employee(employee_id)
    except ConnectorError as exc:
        fail(f"cannot read the HR record: {exc}", EXIT_FAILURE)
    if successor is not None:
        try:
            resolve_successor(reg.hr(), employee, successor)
        except SuccessorProblem as exc:
            fail(str(exc))


def check_rejections(reg: Any, employee_id: str, reject: list[str]) -> None:
    """Every --reject names a draft awaiting approval (its key or recipient e-mail), before anything is placed:
    a mistyped one matched nothing, and every draft, the one meant to be left out too, was approved."""
    from relevo.storage.ledger import Ledger

    waiting = [
        key
        for key, state in Ledger(reg.database_url).states(employee_id).items()
        if state.status == "awaiting_approval" and ":notice:" in key
    ]
    if not waiting or not reject:
        return  # nothing in the ledger to check against (a run paused in its process holds its own form)
    known = {key.casefold() for key in waiting} | {key.rpartition(":")[2].casefold() for key in waiting}
    unknown = [r for r in reject if r.strip().casefold() not in known]
    if unknown:
        fail(
            f"--reject {', '.join(unknown)}: no draft awaiting approval for employee {employee_id} has that key "
            "or recipient e-mail (see `relevo tasks -e ID`); nothing was approved"
        )


def check_no_form_holds(reg: Any, employee_id: str) -> None:
    """The ledger's awaiting notices are placed by `relevo approve` only once no Prefect run's form holds them.

    A suspended run's notices are in the ledger while its form waits; answered, the run is Scheduled again and
    places them as the approver said when a worker starts it. Placing them from the ledger meanwhile placed
    the drafts the approver had rejected, and a run nobody can ask about (no PREFECT_API_URL, or the server
    unreachable) is treated the same way: refused, nothing placed.
    """
    from relevo.cli.uiruns import runs_holding_notices, unfinished

    held = runs_holding_notices(reg.database_url, employee_id)
    if not held:
        return
    if not os.environ.get("PREFECT_API_URL"):
        fail(
            f"employee {employee_id}'s notices wait in the approval form of Prefect run {held[0]}: set "
            "PREFECT_API_URL to answer it (relevo approve answers a waiting form); nothing was approved"
        )
    try:
        waiting = unfinished(held)
    except Exception as exc:  # noqa: BLE001 - the Prefect API: cannot tell, so nothing is placed
        fail(
            f"cannot ask the Prefect server about run {held[0]} ({type(exc).__name__}), whose form holds "
            f"employee {employee_id}'s notices; nothing was approved",
            EXIT_FAILURE,
        )
    if waiting:
        run_id, state = waiting[0]
        fail(
            f"employee {employee_id}'s notices belong to Prefect run {run_id} ({state}): answered, it places "
            "them when a worker starts it again; a form that timed out is closed by Prefect within a minute, "
            "then relevo approve places them; nothing was approved"
        )
