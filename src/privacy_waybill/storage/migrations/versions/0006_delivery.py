"""Delivery: notification outbox, delivery points on waybills, assignments, route definitions
and their learned order, courier lines, sign-off codes, virtual numbers (AXB) and callback nonces.

Revision ID: 0006
Revises: 0005_access
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "courier_lines",
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("phone_index", sa.LargeBinary(length=16), nullable=False),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor"),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("template", sa.String(length=50), nullable=False),
        sa.Column("to_index", sa.LargeBinary(length=16), nullable=False),
        sa.Column("to_hint", sa.String(length=8), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("address_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_message_id", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_notification_outbox_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_notification_outbox_to_created", ["to_index", "created_at"], unique=False)

    op.create_table(
        "route_definitions",
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.JSON(), nullable=False),
        sa.Column("start", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("station", "route"),
    )
    op.create_table(
        "route_point_history",
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("point", sa.LargeBinary(length=16), nullable=False),
        sa.Column("site", sa.LargeBinary(length=16), nullable=False),
        sa.Column("mean_position", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("station", "route", "point"),
    )
    op.create_table(
        "telephony_bindings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("waybill_id", sa.String(length=32), nullable=False),
        sa.Column("viewer", sa.String(length=100), nullable=False),
        sa.Column("x_number", sa.String(length=20), nullable=False),
        sa.Column("a_index", sa.LargeBinary(length=16), nullable=False),
        sa.Column("b_index", sa.LargeBinary(length=16), nullable=False),
        sa.Column("a_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("b_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_binding_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("telephony_bindings", schema=None) as batch_op:
        batch_op.create_index("ix_telephony_bindings_b", ["b_index"], unique=False)
        batch_op.create_index("ix_telephony_bindings_waybill", ["waybill_id"], unique=False)
        batch_op.create_index("ix_telephony_bindings_x_expires", ["x_number", "expires_at"], unique=False)

    op.create_table(
        "telephony_callback_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce"),
    )
    with op.batch_alter_table("telephony_callback_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_telephony_callback_nonces_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "telephony_numbers",
        sa.Column("x_number", sa.String(length=20), nullable=False),
        sa.Column("pool", sa.String(length=64), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("x_number"),
    )
    op.create_table(
        "delivery_assignments",
        sa.Column("waybill_id", sa.String(length=32), nullable=False),
        sa.Column("courier", sa.String(length=100), nullable=False),
        sa.Column("station", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scanned_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_off_by", sa.String(length=100), nullable=True),
        sa.Column("signoff_method", sa.String(length=20), nullable=True),
        sa.Column("signoff_evidence", sa.LargeBinary(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["waybill_id"],
            ["waybills.id"],
        ),
        sa.PrimaryKeyConstraint("waybill_id"),
    )
    with op.batch_alter_table("delivery_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_assignments_courier_day", ["courier", "day"], unique=False)

    op.create_table(
        "signoff_codes",
        sa.Column("waybill_id", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["waybill_id"],
            ["waybills.id"],
        ),
        sa.PrimaryKeyConstraint("waybill_id"),
    )
    with op.batch_alter_table("waybills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_point", sa.LargeBinary(length=16), nullable=True))
        batch_op.add_column(sa.Column("delivery_site", sa.LargeBinary(length=16), nullable=True))
        batch_op.add_column(sa.Column("delivery_road", sa.LargeBinary(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_waybills_delivery_point"), ["delivery_point"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("waybills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waybills_delivery_point"))
        batch_op.drop_column("delivery_road")
        batch_op.drop_column("delivery_site")
        batch_op.drop_column("delivery_point")

    op.drop_table("signoff_codes")
    with op.batch_alter_table("delivery_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_assignments_courier_day")

    op.drop_table("delivery_assignments")
    op.drop_table("telephony_numbers")
    with op.batch_alter_table("telephony_callback_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telephony_callback_nonces_expires_at"))

    op.drop_table("telephony_callback_nonces")
    with op.batch_alter_table("telephony_bindings", schema=None) as batch_op:
        batch_op.drop_index("ix_telephony_bindings_x_expires")
        batch_op.drop_index("ix_telephony_bindings_waybill")
        batch_op.drop_index("ix_telephony_bindings_b")

    op.drop_table("telephony_bindings")
    op.drop_table("route_point_history")
    op.drop_table("route_definitions")
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_outbox_to_created")
        batch_op.drop_index("ix_notification_outbox_due")

    op.drop_table("notification_outbox")
    op.drop_table("courier_lines")
