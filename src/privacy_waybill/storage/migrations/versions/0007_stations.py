"""Stations and recipients: station layouts, held parcels with shelf and pickup codes,
recipient sessions and preferences, leak reports.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leak_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("reporter", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("text_display", sa.String(length=600), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_leak_reports_created", "leak_reports", ["created_at"], unique=False)
    op.create_table(
        "recipient_preferences",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("phone_index", sa.LargeBinary(length=16), nullable=False),
        sa.Column("masked_label", sa.Boolean(), nullable=False),
        sa.Column("virtual_number", sa.Boolean(), nullable=False),
        sa.Column("station_allowed", sa.Boolean(), nullable=False),
        sa.Column("locker_allowed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "phone_index"),
    )
    op.create_table(
        "recipient_sessions",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("phone_index", sa.LargeBinary(length=16), nullable=False),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_recipient_sessions_phone_index"), "recipient_sessions", ["phone_index"], unique=False)
    op.create_table(
        "stations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("shelves", sa.JSON(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "leak_report_waybills",
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("waybill_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["leak_reports.id"]),
        sa.ForeignKeyConstraint(["waybill_id"], ["waybills.id"]),
        sa.PrimaryKeyConstraint("report_id", "waybill_id"),
    )
    op.create_table(
        "station_parcels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("waybill_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("shelf_code", sa.String(length=16), nullable=False),
        sa.Column("shelf", sa.String(length=3), nullable=False),
        sa.Column("layer", sa.Integer(), nullable=False),
        sa.Column("pickup_code", sa.String(length=6), nullable=True),
        sa.Column("phone_last4", sa.String(length=4), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_in_by", sa.String(length=100), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_by", sa.String(length=100), nullable=True),
        sa.Column("left_how", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"]),
        sa.ForeignKeyConstraint(["waybill_id"], ["waybills.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("station_id", "pickup_code", name="uq_station_parcels_pickup_code"),
    )
    op.create_index("ix_station_parcels_station_last4", "station_parcels", ["station_id", "phone_last4"], unique=False)
    op.create_index("ix_station_parcels_station_left", "station_parcels", ["station_id", "left_at"], unique=False)
    op.create_index(op.f("ix_station_parcels_waybill_id"), "station_parcels", ["waybill_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_station_parcels_waybill_id"), table_name="station_parcels")
    op.drop_index("ix_station_parcels_station_left", table_name="station_parcels")
    op.drop_index("ix_station_parcels_station_last4", table_name="station_parcels")
    op.drop_table("station_parcels")
    op.drop_table("leak_report_waybills")
    op.drop_table("stations")
    op.drop_index(op.f("ix_recipient_sessions_phone_index"), table_name="recipient_sessions")
    op.drop_table("recipient_sessions")
    op.drop_table("recipient_preferences")
    op.drop_index("ix_leak_reports_created", table_name="leak_reports")
    op.drop_table("leak_reports")
