"""The one SQL database behind the ledger and the webhook inbox (SQLite file by default)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect, text

metadata = MetaData()

# Any fixed number: the PostgreSQL advisory lock that serialises relevo's schema creation.
SCHEMA_LOCK = 0x72656C65  # "rele"


def database_url(value: str, base: Path) -> str:
    """An SQLAlchemy URL as given, or a SQLite file path resolved against `base`."""
    if "://" in value:
        return value
    path = (base / value).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def create_tables(engine: Engine) -> None:
    """Create relevo's tables that are missing, once even when many processes start together.

    On PostgreSQL, `CREATE TABLE` run by several processes at the same moment on a fresh database
    fails in all but one with a UniqueViolation on `pg_type_typname_nsp_index` (the check for an
    existing table and the creation are not atomic). A transaction-scoped advisory lock makes the
    processes take turns; the later ones then find the tables and create nothing.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        metadata.create_all(conn)
        add_missing_columns(conn)


def add_missing_columns(conn: Connection) -> None:
    """Bring a database made by an earlier relevo up to date: add the nullable columns it lacks.

    relevo's tables only ever gain nullable columns, so this is the whole migration: a database
    from an older version keeps its rows, and the new columns start empty.
    """
    existing = inspect(conn)
    for table in metadata.sorted_tables:
        if not existing.has_table(table.name):
            continue
        present = {column["name"] for column in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                if not column.nullable:
                    raise RuntimeError(f"relevo cannot add the required column {table.name}.{column.name} by itself")
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


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
    create_tables(engine)
    return engine
