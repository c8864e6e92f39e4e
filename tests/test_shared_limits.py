"""A vendor's rate limit holds for every process together when they share a PostgreSQL database."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from relevo.config.registry import load_registry
from relevo.storage.db import engine_for
from relevo.storage.shared_limits import SharedCallWindow


def send_through(window: SharedCallWindow, count: int, sent: list[float], lock: threading.Lock) -> None:
    """What HttpClient._send does around each request."""
    for _ in range(count):
        while (wait := window.take()) > 0:
            time.sleep(wait)
        with lock:
            sent.append(time.monotonic())
        window.answered()


def test_two_processes_together_stay_under_the_vendors_limit(postgres_url: str) -> None:
    calls, seconds = 10, 1.0
    # two windows over one database: what two workers on two machines each build from the registry
    windows = [
        SharedCallWindow(engine_for(postgres_url), "acme:presence:hootsuite", calls, seconds)
        for _ in range(2)
    ]
    sent: list[float] = []
    lock = threading.Lock()
    with ThreadPoolExecutor(4) as pool:  # two threads per "process"
        for future in [pool.submit(send_through, w, 8, sent, lock) for w in windows for _ in range(2)]:
            future.result(60)
    sent.sort()
    assert len(sent) == 32
    busiest = max(sum(1 for t in sent if start <= t < start + seconds * 0.95) for start in sent)
    assert busiest <= calls  # each process alone kept 10: together they sent 20 in the first instant before
    assert sent[-1] - sent[0] >= 2 * seconds * 0.9  # 32 calls at 10 a second cannot take much under 3 windows


def test_a_registry_on_postgresql_shares_its_windows(acme: Path, postgres_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from relevo.connectors.http import CallWindow

    monkeypatch.setenv("ACME_SCIM_TOKEN", "test-token")
    path = acme.parent / "relevo-scim.yaml"
    data = yaml.safe_load(path.read_text())
    (scim,) = [p for p in data["presences"] if p["connector"] == "scim"]
    scim["settings"]["rate_limit"] = {"calls": 5, "seconds": 1}
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    registry = load_registry(path)
    presence = next(p for p in registry.presences if p.id == scim["id"])
    assert isinstance(registry.social(presence).client.window, CallWindow)  # SQLite: this process's window
    data.setdefault("storage", {})["database"] = postgres_url
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    registry = load_registry(path)
    window = registry.social(presence).client.window
    assert (
        isinstance(window, SharedCallWindow) and window.bucket == f"Acme Comunicación:presence:{scim['id']}"
    )
