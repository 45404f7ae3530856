"""The migrations and the models agree, on every backend, and personal fields are sealed."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from privacy_waybill.sensitive import SENSITIVE_FIELDS
from privacy_waybill.storage.db import make_engine, migrate
from privacy_waybill.storage.models import VaultRecord, Waybill
from privacy_waybill.storage.schema import metadata


def test_migrations_produce_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrate_is_idempotent(engine: Engine) -> None:
    migrate(engine)
    assert {"waybills", "vault_records", "tenants"} <= set(inspect(engine).get_table_names())


def test_every_sensitive_field_has_a_ciphertext_column_and_no_plaintext_column() -> None:
    vault_columns = set(VaultRecord.__table__.c.keys())
    assert set(SENSITIVE_FIELDS) <= vault_columns
    assert all(VaultRecord.__table__.c[f].type.python_type is bytes for f in SENSITIVE_FIELDS)
    assert not set(SENSITIVE_FIELDS) & set(Waybill.__table__.c.keys())


def test_a_new_sqlite_database_has_16_kib_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    new = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    migrate(new)
    with new.connect() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar() == 16384
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    new.dispose()
    old_file = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(old_file)) as old:
        old.execute("PRAGMA page_size=4096")
        old.execute("CREATE TABLE kept (value INTEGER)")
        old.commit()
    reopened = make_engine(f"sqlite:///{old_file}")
    with reopened.connect() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar() == 4096
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    reopened.dispose()
