"""Initial schema: tenants, API keys, waybills, sealed vault records, lifecycle events.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "waybills",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("waybill_no", sa.String(length=20), nullable=False),
        sa.Column("public_ref", sa.LargeBinary(length=16), nullable=False),
        sa.Column("order_fingerprint", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=True),
        sa.Column("pieces", sa.Integer(), nullable=False),
        sa.Column("contents_category", sa.String(length=20), nullable=False),
        sa.Column("sort_code", sa.String(length=40), nullable=False),
        sa.Column("masking_profile", sa.String(length=32), nullable=False),
        sa.Column("recipient_masked_name", sa.String(length=64), nullable=False),
        sa.Column("recipient_masked_phone", sa.String(length=32), nullable=False),
        sa.Column("recipient_masked_address", sa.String(length=200), nullable=False),
        sa.Column("sender_masked_name", sa.String(length=64), nullable=False),
        sa.Column("sender_masked_phone", sa.String(length=32), nullable=False),
        sa.Column("sender_masked_address", sa.String(length=200), nullable=False),
        sa.Column("remark_scrubbed", sa.String(length=600), nullable=True),
        sa.Column("recipient_district_code", sa.String(length=12), nullable=False),
        sa.Column("recipient_phone_index", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_ref"),
        sa.UniqueConstraint("tenant_id", "order_id", name="uq_waybills_tenant_order"),
        sa.UniqueConstraint("waybill_no"),
    )
    with op.batch_alter_table("waybills", schema=None) as batch_op:
        batch_op.create_index("ix_waybills_tenant_created", ["tenant_id", "created_at"], unique=False)
        batch_op.create_index("ix_waybills_tenant_phone_index", ["tenant_id", "recipient_phone_index"], unique=False)

    op.create_table(
        "vault_records",
        sa.Column("waybill_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=True),
        sa.Column("recipient_name", sa.LargeBinary(), nullable=True),
        sa.Column("recipient_phone", sa.LargeBinary(), nullable=True),
        sa.Column("recipient_address", sa.LargeBinary(), nullable=True),
        sa.Column("sender_name", sa.LargeBinary(), nullable=True),
        sa.Column("sender_phone", sa.LargeBinary(), nullable=True),
        sa.Column("sender_address", sa.LargeBinary(), nullable=True),
        sa.Column("remark", sa.LargeBinary(), nullable=True),
        sa.Column("items", sa.LargeBinary(), nullable=True),
        sa.Column("id_number", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["waybill_id"],
            ["waybills.id"],
        ),
        sa.PrimaryKeyConstraint("waybill_id"),
    )
    op.create_table(
        "waybill_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("waybill_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["waybill_id"],
            ["waybills.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("waybill_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waybill_events_waybill_id"), ["waybill_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("waybill_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waybill_events_waybill_id"))

    op.drop_table("waybill_events")
    op.drop_table("vault_records")
    with op.batch_alter_table("waybills", schema=None) as batch_op:
        batch_op.drop_index("ix_waybills_tenant_phone_index")
        batch_op.drop_index("ix_waybills_tenant_created")

    op.drop_table("waybills")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_tenant_id"))

    op.drop_table("api_keys")
    op.drop_table("tenants")
