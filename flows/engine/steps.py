"""How a flow's work becomes Prefect steps: task runs named after what they act on, or plain calls.

Outside a flow run (the CLI runs a flow's function without a server, `relevo.cli.running.run_flow`) every
step is a plain call with the connectors' own retries; inside one, each step is a task run the operator
sees in the UI. Also the reads every run starts with (HR record, member lists, clients), and the one
wrapper that turns bad input into a run Failed with its one-line cause.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import signal
import typing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from relevo import schemas
from relevo.config.registry import Registry
from relevo.connectors.errors import ConnectorError, NotFound, RateLimited
from relevo.connectors.http import MAX_WAIT
from relevo.engine import runview
from relevo.model import ConfigurationError, Grant
from relevo.rules.inputs import BadInput

# Called with every outcome row as it is recorded (the CLI prints them as they come).
listeners: list[Callable[[dict[str, Any]], None]] = []


def crash_point(name: str) -> None:
    """Crash tests only: SIGKILL this process at a named step boundary when RELEVO_TEST_CRASH_AT names it."""
    if os.environ.get("RELEVO_TEST_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


MAX_TASK_RETRY_WAIT = MAX_WAIT  # a vendor asking for longer gets a failed action and a rerun later
# Prefect task retries: only for what the transport hands back instead of retrying (a Retry-After longer
# than it sleeps, a vendor pause); a 5xx or timeout is retried by the transport alone, so an action costs
# at most its 3 calls. No delay here: the transport's throttle waits the vendor's Retry-After, once,
# before the retry's first call.
TASK_RETRIES = 2


def retry_later(error: BaseException) -> bool:
    """Whether another try of a step can succeed: a rate limit the transport handed back unretried
    (not one it already retried to exhaustion), with a wait no longer than MAX_TASK_RETRY_WAIT."""
    return (
        isinstance(error, RateLimited)
        and not error.exhausted
        and (error.retry_after or 0.0) <= MAX_TASK_RETRY_WAIT
    )


def retry_on_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: `retry_later` on the step's error; it never sleeps (the transport waits)."""
    try:
        state.result()
    except Exception as exc:
        return retry_later(exc)
    return False


TRANSIENT: dict[str, Any] = dict(
    retries=TASK_RETRIES, retry_delay_seconds=0, retry_condition_fn=retry_on_transient
)


@task(cache_policy=NO_CACHE, **TRANSIENT)
def fetch_employee(registry: Registry, employee_id: str) -> Any:
    """Step 1: the HR record, normalized and validated; an unknown id or a bad record ends the step Failed
    with its one-line cause (no traceback in the run's logs: it is bad input, not a bug)."""
    try:
        employee = registry.hr().employee(employee_id)
        return schemas.check("employee", employee, f"HR record of employee {employee_id}")
    except (NotFound, schemas.SchemaError) as exc:
        return Failed(message=str(exc), data=exc)


@task(cache_policy=NO_CACHE, **TRANSIENT)
def list_members(registry: Registry, presence_id: str) -> list[Grant]:
    presence = next(p for p in registry.presences if p.id == presence_id)
    return registry.social(presence).members(presence)


@task(cache_policy=NO_CACHE, **TRANSIENT)
def fetch_clients(registry: Registry, employee: dict[str, Any]) -> list[Any]:
    return registry.crm().clients_of(employee.get("email"), employee["id"])


def in_flow_run() -> bool:
    """Whether a Prefect flow run is executing this code (else the CLI runs the flow's function without a
    server, see `relevo.cli.running.run_flow`: every step is then a plain call, with the connectors' own retries)."""
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def log() -> logging.Logger | logging.LoggerAdapter:
    """The run's logger in a flow run (the UI shows it), relevo's own logger outside one."""
    return get_run_logger() if in_flow_run() else logging.getLogger("relevo")


def step(task_: Any, name: str, *args: Any) -> Any:
    """One step: a Prefect task run named after what it acts on, or a plain call outside a flow run."""
    value = task_.fn(*args) if not in_flow_run() else task_.with_options(task_run_name=name)(*args)
    if isinstance(value, State):  # a step that ended Failed with its cause
        error = value.result(raise_on_failure=False)
        raise error if isinstance(error, BaseException) else RuntimeError(value.message)
    return value


EXPECTED = (NotFound, ConfigurationError, schemas.SchemaError, BadInput)


def one_line_failures(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A flow function whose bad input (unknown employee, broken registry, a vendor refusing) ends the run
    Failed with the one-line cause as the state's message: the run's header says it, with no traceback.
    Anything else is a bug and keeps Prefect's traceback."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EXPECTED as exc:
            return Failed(message=runview.label(exc, 500), data=exc)
        except ConnectorError as exc:
            return Failed(
                message=runview.label(f"{exc} (nothing after this step ran; rerun when it is fixed)", 500),
                data=exc,
            )

    # Resolved here: Prefect reads the parameters' types in the wrapper's module, not the flow's.
    run.__annotations__ = typing.get_type_hints(fn, include_extras=True)
    run.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
    return run


def read_members(registry: Registry) -> dict[str, list[Grant] | str]:
    """Every company presence's live member list, read concurrently; an unreadable one becomes a task."""
    if not in_flow_run():
        return read_members_direct(registry)
    futures = {
        p.id: list_members.with_options(task_run_name=runview.task_name("list members", p.account)).submit(
            registry, p.id
        )
        for p in registry.presences
        if p.owner == "company"
    }
    out: dict[str, list[Grant] | str] = {}
    for presence_id, future in futures.items():
        future.wait()
        if future.state.is_completed():
            out[presence_id] = future.result()
        else:
            out[presence_id] = unreadable(future.state.result(raise_on_failure=False))
    return out


def read_members_direct(registry: Registry) -> dict[str, list[Grant] | str]:
    """`read_members` without Prefect: one thread per presence, an error becomes the presence's task."""

    def read(presence_id: str) -> list[Grant] | str:
        try:
            return list_members.fn(registry, presence_id)
        except Exception as exc:
            return unreadable(exc)

    company = [p.id for p in registry.presences if p.owner == "company"]
    with ThreadPoolExecutor(max(1, min(8, len(company)))) as pool:
        return dict(zip(company, pool.map(read, company), strict=True))


def unreadable(error: BaseException) -> str:
    """Why a member list could not be read, for a person's task: connector errors name it without a secret."""
    return str(error) if isinstance(error, (ConnectorError, ConfigurationError)) else type(error).__name__


def tell(row: dict[str, Any]) -> None:
    """Show a recorded row to the listeners (the CLI's screen). A listener that fails is a display problem:
    it is logged, and never stops the run half-way (the row is already in the ledger)."""
    for listener in listeners:
        try:
            listener(row)
        except Exception as exc:  # noqa: BLE001 - any display error, by design
            logging.getLogger(__name__).warning("could not show an outcome row (%s)", type(exc).__name__)


def step_result(state: Any) -> Any:
    """A step's value from its final state, whether green or "Needs a person"; its error raised."""
    value = state.result(raise_on_failure=False)
    if isinstance(value, BaseException):
        raise value
    return value


def settled(future: Any) -> Any:
    """A submitted step's value once it has finished (see `step_result`)."""
    future.wait()
    return step_result(future.state)
