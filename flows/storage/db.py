"""The one SQL database behind the ledger and the webhook inbox (SQLite file by default)."""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    inspect,
    make_url,
    select,
    text,
)

from relevo.model import ConfigurationError

metadata = MetaData()

# Any fixed number: the PostgreSQL advisory lock that serialises relevo's schema creation.
SCHEMA_LOCK = 0x72656C65  # "rele"

# The company whose ledger and inbox this database holds (one row). Action keys ("1001:revoke:...") and
# event keys ("bamboohr:1001:...") name employees by their HR id, which two companies may share: on one
# database, one company's run would find the other's work done. So a database belongs to one company.
company = Table(
    "relevo_company",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1: one row, whoever inserts it first
    Column("slug", String(40), nullable=False),
    Column("name", String(200), nullable=False),
)

# The DB-API module SQLAlchemy imports for a URL scheme, and the extra that installs it.
DRIVERS = {
    "postgresql": ("psycopg", "postgres"),
    "postgresql+psycopg": ("psycopg", "postgres"),
    "postgresql+psycopg2": ("psycopg2", "postgres"),
}


def database_url(value: str, base: Path) -> str:
    """An SQLAlchemy URL as given, or a SQLite file path resolved against `base`.

    A plain `postgresql://` (or `postgres://`) URL names psycopg 3, the driver of the `postgres` extra;
    SQLAlchemy would otherwise look for psycopg2. A missing driver is a ConfigurationError naming the
    extra, not a ModuleNotFoundError traceback from the first connection.
    """
    if "://" in value:
        scheme, rest = value.split("://", 1)
        if scheme.lower() in ("postgresql", "postgres"):
            scheme = "postgresql+psycopg"
        driver = DRIVERS.get(scheme.lower())
        if driver is not None and importlib.util.find_spec(driver[0]) is None:
            raise ConfigurationError(
                f"storage.database is a PostgreSQL URL but its driver ({driver[0]}) is not installed: "
                f"pip install 'relevo[{driver[1]}]'"
            )
        return f"{scheme}://{rest}"
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
                    raise RuntimeError(
                        f"relevo cannot add the required column {table.name}.{column.name} by itself"
                    )
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


@cache
def check_company(url: str, slug: str, name: str) -> None:
    """Make sure this database is this company's: the first company to use it owns it; another is refused.

    Called where relevo first writes for a company (a run, the receiver, reconciliation). A database
    from before this check is taken by the first company that uses it. Raises ConfigurationError in one
    line naming both companies; nothing is written then.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if engine_for(url).dialect.name == "postgresql" else sqlite
    with engine_for(url).begin() as conn:  # one row (id 1): of two processes starting together, one wins
        conn.execute(
            dialect.insert(company).values(id=1, slug=slug, name=name[:200]).on_conflict_do_nothing()
        )
        owner = conn.execute(select(company.c.slug, company.c.name).where(company.c.id == 1)).one()
        if owner.slug != slug:
            raise ConfigurationError(
                f"storage.database {masked(url)} holds the ledger of {owner.name!r}, not of {name!r}: "
                "give each company a database of its own (employee ids would collide); the same company "
                "renamed: put company.name back, or update the one row of relevo_company"
            )


def masked(url: str) -> str:
    """A database URL fit to print or log: the password, if any, replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: everything between "user:" and the last "@" goes
        return re.sub(r"^([A-Za-z0-9+.-]+://[^:/@]*):.*@", r"\1:***@", url)


@cache
def engine_for(url: str) -> Engine:
    """One engine per database URL per process; tables are created on first use."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged row survives power loss
            cursor.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    create_tables(engine)
    return engine
