"""Per-purpose keys: each audit entry records the audit key version that chained it.

Entries written before keys had versions were chained with what became version 1 of the
audit key, so the column's default is 1 and no entry changes. Sealed values (TOTP secrets,
AXB phones, outbox messages, recipient sessions, leak reports, courier lines) carry their key
version inside the sealed blob instead, and need no column.

Revision ID: 0010_purpose_keys
Revises: 0009_risk
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_purpose_keys"
down_revision = "0009_risk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_column("key_version")
