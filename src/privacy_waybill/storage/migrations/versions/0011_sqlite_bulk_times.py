"""SQLite: times written by the bulk insert take the format of every other stored time.

Until this revision the bulk insert (issuance) let the SQLite driver format waybills'
creation times and their first events as `2026-12-01 18:46:31.770333+00:00`, or without the
microseconds when they were zero, while SQLAlchemy writes `2026-12-01 18:46:31.770333`.
SQLite compares times as text, so the two formats could order wrongly around the same second
(`...18:00:00+00:00` sorts before `...18:00:00.000000`). Both formats read back as the same
UTC time; this rewrites the old one. PostgreSQL stores timestamps natively and is untouched.

Revision ID: 0011_sqlite_bulk_times
Revises: 0010_purpose_keys
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0011_sqlite_bulk_times"
down_revision = "0010_purpose_keys"
branch_labels = None
depends_on = None

# (table, column) the bulk insert writes times into.
_BULK_TIMES = (("waybills", "created_at"), ("waybill_events", "at"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, column in _BULK_TIMES:
        # 2026-12-01 18:46:31+00:00 (25 characters) has no fraction; the rest keep 26.
        op.execute(
            f"UPDATE {table} SET {column} = CASE WHEN length({column}) = 25"
            f" THEN substr({column}, 1, 19) || '.000000' ELSE substr({column}, 1, 26) END"
            f" WHERE {column} LIKE '%+00:00'"
        )


def downgrade() -> None:
    pass  # the new format is what the rest of the schema has always used
