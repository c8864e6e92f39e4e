"""The one SQL database behind the ledger and the webhook inbox (SQLite file by default)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, event

metadata = MetaData()


def database_url(value: str, base: Path) -> str:
    """An SQLAlchemy URL as given, or a SQLite file path resolved against `base`."""
    if "://" in value:
        return value
    path = (base / value).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


@cache
def engine_for(url: str) -> Engine:
    """One engine per database URL per process; tables are created on first use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged row survives power loss
            cursor.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    metadata.create_all(engine)
    return engine
