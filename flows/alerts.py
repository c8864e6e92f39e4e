"""Alerts a person sees: access came back, a termination no webhook reported, a disabled webhook.

Each alert is a Prefect event (for automations: `relevo.access.came-back`, `relevo.webhook.missed`,
`relevo.webhook.disabled`) and, where the registry names one (`alerts: {block: "slack-webhook/x"}`),
one line through that Prefect notification block (Slack, Microsoft Teams, e-mail, a custom
webhook...), with a link to the run. The block holds the URL and its secrets; the registry only
names it.

An alert never fails the run that raises it: the audit row and the run's own outcome are the
record; a block that cannot be loaded or answers an error is a warning in the run's log.
"""

from __future__ import annotations

from typing import Any

from relevo.config.registry import Registry
from relevo.engine.steps import in_flow_run, log

CAME_BACK = "relevo.access.came-back"  # a leaver holds a role again on a company presence
MISSED = "relevo.webhook.missed"  # a termination found by reconciliation that no webhook reported
DISABLED = (
    "relevo.webhook.disabled"  # the HR platform disabled a webhook subscription (Factorial: 48 h of failures)
)
MAX_LINES = 10  # per run and kind; beyond it one line says how many more (a layoff must not flood a channel)


def run_link() -> str | None:
    """The Prefect UI address of the current flow run (None outside one: a CLI run without a server)."""
    if not in_flow_run():
        return None
    from prefect.runtime import flow_run

    return flow_run.ui_url


def line(text: str) -> str:
    """One line: the message and the run's link; CR/LF and control characters from HR or vendor data removed."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    link = run_link()
    return f"relevo: {flat} | run: {link}" if link else f"relevo: {flat}"


def emit(event: str, resource_id: str, name: str, payload: dict[str, Any]) -> None:
    """The Prefect event an automation can react to (only in a flow run: outside one there is no server)."""
    if not in_flow_run():
        return
    from prefect.events import emit_event

    emit_event(
        event=event,
        resource={"prefect.resource.id": resource_id, "prefect.resource.name": name},
        payload=payload,
    )


def notify(registry: Registry, subject: str, lines: list[str]) -> int:
    """Send each line through the registry's notification block; returns how many were sent.

    More than MAX_LINES become MAX_LINES lines and one that says how many more the run lists.
    """
    block_name = (registry.data.get("alerts") or {}).get("block")
    if not block_name or not lines:
        return 0
    logger = log()
    if not in_flow_run() and not api_configured():
        # the CLI without a Prefect server: loading a block would start a temporary one (10-19 s)
        logger.warning(
            "alerts not sent through Prefect block '%s': no Prefect API (PREFECT_API_URL) here; "
            "the command's output says it instead",
            block_name,
        )
        return 0
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        shown.append(line(f"{subject}: {len(lines) - MAX_LINES} more; the run lists them all"))
    try:
        block = load_block(block_name)
        sent = 0
        with block.raise_on_failure():
            for text in shown:
                block.notify(text, subject=f"relevo: {subject}")
                sent += 1
        return sent
    except Exception as exc:  # noqa: BLE001  a notification never fails the run; its audit row is the record
        # the type and HTTP status only: an httpx error's text carries the webhook URL, a secret
        status = getattr(getattr(exc, "response", None), "status_code", None)
        logger.warning(
            "alert not sent through Prefect block '%s': %s%s",
            block_name,
            type(exc).__name__,
            f" (HTTP {status})" if status else "",
        )
        return 0


def api_configured() -> bool:
    """A Prefect API is configured (environment or profile), so a block can be loaded without starting one."""
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def load_block(name: str) -> Any:
    """The notification block `<type-slug>/<name>`; ValueError when it is another kind of block."""
    from prefect.blocks.abstract import NotificationBlock
    from prefect.blocks.core import Block

    block = Block.load(name)
    if not isinstance(block, NotificationBlock):
        raise ValueError(f"Prefect block '{name}' is not a notification block")
    return block
