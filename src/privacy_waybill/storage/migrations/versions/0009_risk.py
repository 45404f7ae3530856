"""Risk: account restrictions, canary waybills, trace cases, alert evidence, per-tenant retention.

Revision ID: 0009_risk
Revises: 0008_tickets
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_risk"
down_revision = "0008_tickets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_restrictions",
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signal", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=True),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("actor", "kind"),
    )
    op.create_table(
        "canary_waybills",
        sa.Column("waybill_id", sa.String(length=32), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("planted_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planted_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["waybill_id"], ["waybills.id"]),
        sa.PrimaryKeyConstraint("waybill_id"),
    )
    op.create_table(
        "trace_cases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("leak_rows", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch_op:
        batch_op.drop_column("retention_days")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_column("evidence")
    op.drop_table("trace_cases")
    op.drop_table("canary_waybills")
    op.drop_table("account_restrictions")
