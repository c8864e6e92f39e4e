"""A throwaway PostgreSQL cluster on loopback (initdb + pg_ctl), for the test session and the benchmarks.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user
(Debian's package creates it). Nothing here is collected by pytest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path


class Unavailable(Exception):
    """PostgreSQL cannot be started here (no binaries, no driver, initdb failed): the message says why."""


def binaries() -> Path | None:
    """The newest PostgreSQL server binaries on this machine (Debian keeps them off PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextlib.contextmanager
def cluster(max_connections: int = 200) -> Iterator[str]:
    """Start a fresh cluster; yields a SQLAlchemy URL prefix `postgresql+psycopg://relevo@host:port/`.

    Raises Unavailable before anything is started when the driver or the binaries are missing.
    """
    import pwd

    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise Unavailable(
            "the PostgreSQL driver is not installed: pip install -e '.[test,postgres]'"
        ) from None
    found = binaries()
    if found is None:
        raise Unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    home = Path(tempfile.mkdtemp(prefix="relevo-pg-"))  # not under pytest's 0700 root-owned temp dirs
    data = home / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:
        run_as = ["runuser", "-u", "postgres", "--"]
        owner = pwd.getpwnam("postgres")
        os.chown(home, owner.pw_uid, owner.pw_gid)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    quiet: dict = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "timeout": 120}
    try:
        initdb = subprocess.run(
            [
                *run_as,
                str(found / "initdb"),
                "-D",
                str(data),
                "-U",
                "relevo",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            **quiet,
        )
        if initdb.returncode:
            raise Unavailable(f"initdb failed: {initdb.stderr.decode(errors='replace')[-300:]}")
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {data} -c fsync=off "
            f"-c max_connections={max_connections}"
        )
        start = subprocess.run(
            [
                *run_as,
                str(found / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-l",
                str(data / "server.log"),
                "start",
            ],
            **quiet,
        )
        if start.returncode:
            raise Unavailable(f"pg_ctl start failed: {start.stderr.decode(errors='replace')[-300:]}")
        try:
            yield f"postgresql+psycopg://relevo@127.0.0.1:{port}/"
        finally:
            subprocess.run(
                [*run_as, str(found / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], **quiet
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)


def plain(url: str) -> str:
    """The libpq form of a SQLAlchemy URL (psycopg.connect does not know `+psycopg`)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_database(server: str, name: str | None = None) -> str:
    """A new, empty database on the server at `server` (a URL ending in '/'); returns its SQLAlchemy URL."""
    import psycopg

    name = name or f"t{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain(server) + "postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server + name
