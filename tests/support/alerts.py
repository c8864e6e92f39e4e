"""Alerts in tests: a loopback chat channel, a Prefect notification block pointed at it, a registry naming it."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Channel:
    """A loopback chat channel: records each POSTed JSON body; answers `status`."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.status = 200
        channel = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                channel.messages.append(json.loads(body or b"{}"))
                self.send_response(channel.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages]


def save_block(url: str) -> str:
    """A Custom Webhook notification block on the Prefect server; returns its `<slug>/<name>`."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    name = f"relevo-alerts-{uuid.uuid4().hex[:8]}"
    CustomWebhookNotificationBlock(name="relevo", url=url, json_data={"text": "{{subject}} | {{body}}"}).save(
        name
    )
    return f"custom-webhook/{name}"


def with_alerts(registry: Path, block: str) -> None:
    registry.write_text(registry.read_text("utf-8") + f"\nalerts: {{block: {block}}}\n", "utf-8")
