"""Engine and schema set-up for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs: object) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # Taken by a new database only (and before WAL, which fixes it). A batch of 30,000
    # waybills wrote its WAL in 48,807 system calls with SQLite's 4 KiB pages and in 11,520
    # with 16 KiB pages (strace), while SQLite's own instructions for the same rows stayed
    # the same (184,500 and 182,000 per waybill, cachegrind).
    cursor.execute("PRAGMA page_size=16384")
    # WAL lets the API read while a batch import writes; NORMAL is durable at checkpoint
    # granularity, which WAL makes safe against corruption.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted or overwritten content is zeroed, so a purged (crypto-shredded) data key does
    # not linger in free pages of the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def dialect_insert(engine: Engine) -> Any:
    """The `insert` of `engine`'s dialect, which adds ON CONFLICT clauses (upserts).

    Imported for the dialect in use only: the PostgreSQL dialect is about 2% of a SQLite
    command's start-up (counted instructions).
    """
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def alembic_config(engine: Engine) -> Config:
    # Alembic (and Mako, Pygments under it) is needed by `pwb init` and the tests only: every
    # other command starts ~0.1 s sooner without it.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
