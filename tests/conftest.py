"""Shared fixtures: one real Prefect server per test session, example company copies."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.canaries import SCIM_TOKEN
from tests.support.paths import EXAMPLE

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


@pytest.fixture(scope="session")
def deployed(prefect_api_url: str) -> str:
    """The API URL of the session's server, with the `relevo` pool and relevo's deployments on it."""
    from tests.support.deployments import deploy

    return deploy(prefect_api_url)


@pytest.fixture(scope="session")
def spec() -> Any:
    """BambooHR's official OpenAPI spec, parsed once for the session (tests/support/bamboohr_spec.py)."""
    from tests.support.bamboohr_spec import load_spec

    return load_spec()


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    """A private copy of the example company; returns the path of its relevo.yaml."""
    target = tmp_path / "acme"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("out"))
    return target / "relevo.yaml"


@pytest.fixture(scope="session")
def scim_server():
    """A real SCIM 2.0 service (scim2-server) on loopback, one process for the session.

    Started with dynamic tenants so each test gets its own user store under /<tenant>/v2.
    Yields the server root URL; the bearer token is SCIM_TOKEN.
    """
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        str(Path(sys.executable).parent / "scim2-server"),
        "--hostname",
        "127.0.0.1",
        "--port",
        str(port),
        "--bearer-token",
        SCIM_TOKEN,
        "--dynamic-tenants",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("scim2-server did not start") from None
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def scim_url(scim_server: str) -> str:
    """The base URL of a fresh, empty SCIM tenant on the session's server."""
    import uuid

    return f"{scim_server}/t{uuid.uuid4().hex[:12]}/v2"


@pytest.fixture
def scim_registry(acme: Path, scim_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The SCIM example registry pointed at this test's SCIM tenant, token in the environment."""
    path = acme.parent / "relevo-scim.yaml"
    text = path.read_text("utf-8").replace("http://127.0.0.1:8099/v2", scim_url)
    # Notices are another issue's subject: approve them by policy so the run does not pause for a person.
    path.write_text(text.replace("auto_approve_notices: false", "auto_approve_notices: true"), "utf-8")
    monkeypatch.setenv("ACME_SCIM_TOKEN", SCIM_TOKEN)
    return path


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on loopback for the session: a throwaway cluster (tests/pgcluster.py).

    Yields a SQLAlchemy URL prefix `postgresql+psycopg://relevo@host:port/`. Without the binaries or
    the driver the tests that need it are skipped, except in CI (`CI=true`), where `.ci/run` installs
    both and a skip would hide a broken set-up.
    """
    from tests.pgcluster import Unavailable, cluster

    try:
        running = cluster()
        url = running.__enter__()
    except Unavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is needed in CI: {exc}")
        pytest.skip(str(exc))
    try:
        yield url
    finally:
        running.__exit__(None, None, None)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server (one per test)."""
    from tests.pgcluster import create_database

    return create_database(postgres_server)


if TYPE_CHECKING:
    from tests.support.alerts import Channel


@pytest.fixture
def channel() -> Iterator[Channel]:
    """A loopback chat channel for alert notifications (tests.support.alerts.Channel)."""
    from tests.support.alerts import Channel

    chat = Channel()
    yield chat
    chat.server.shutdown()
    chat.server.server_close()
