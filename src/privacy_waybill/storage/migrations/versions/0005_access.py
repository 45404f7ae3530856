"""Access: courier assignment on waybills, quota counters, alerts.

Revision ID: 0005_access
Revises: 0004_printing
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_access"
down_revision = "0004_printing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("waybills") as batch_op:
        batch_op.add_column(sa.Column("assigned_courier", sa.String(length=100), nullable=True))
    op.create_table(
        "quota_usage",
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("quota", sa.String(length=50), nullable=False),
        sa.Column("window", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("actor", "quota", "window"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alerts_at", "alerts", ["at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_at", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("quota_usage")
    with op.batch_alter_table("waybills") as batch_op:
        batch_op.drop_column("assigned_courier")
