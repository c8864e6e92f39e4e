"""The one way relevo's plain modules write a warning: into the Prefect run's log when there is a run.

Rules and connectors are plain code without Prefect; a warning they raise (a client's language that has
no template, say) must still reach the operator, who reads the run's log in the Prefect UI. Outside a run
(the CLI without a flow, tests) it goes to the standard `relevo` logger.
"""

from __future__ import annotations

import logging

log = logging.getLogger("relevo")


def warn(message: str) -> None:
    """A warning in the Prefect run's log when there is a run, else in the process log."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        get_run_logger().warning(message)
    except MissingContextError:
        log.warning(message)


def clean(text: str, limit: int = 200) -> str:
    """A value safe for one log line or an error message: no CR/LF or control characters, bounded.

    Used on anything an outsider wrote (a webhook's field, a vendor's error) before it is logged or
    stored: a line break in it would forge a log line.
    """
    return "".join(c if c.isprintable() else "?" for c in text)[:limit]
