"""Shared fixtures: one real Prefect server per test session, example company copies."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "acme"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def prefect_api_url():
    """A real Prefect server on loopback (SQLite), started once for the whole session.

    Yields its API URL so subprocesses (the CLI, workers) can use the same server.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        url = PREFECT_API_URL.value()
        os.environ["PREFECT_API_URL"] = url
        yield url
        os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    """A private copy of the example company; returns the path of its relevo.yaml."""
    target = tmp_path / "acme"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("out"))
    return target / "relevo.yaml"
