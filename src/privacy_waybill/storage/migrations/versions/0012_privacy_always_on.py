"""Recipient preferences keep only real choices: station and locker delivery.

Masked labels and virtual numbers were stored as preferences that nothing read: every label
is printed masked and every courier call goes through a virtual number, for every recipient
and at no charge (an opt-in, paid privacy label is what failed in the field). The two columns
always held true and are dropped; downgrading restores them as true.

Revision ID: 0012_privacy_always_on
Revises: 0011_sqlite_bulk_times
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_privacy_always_on"
down_revision = "0011_sqlite_bulk_times"
branch_labels = None
depends_on = None

_ALWAYS_ON = ("masked_label", "virtual_number")


def upgrade() -> None:
    with op.batch_alter_table("recipient_preferences", schema=None) as batch_op:
        for column in _ALWAYS_ON:
            batch_op.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("recipient_preferences", schema=None) as batch_op:
        for column in _ALWAYS_ON:
            batch_op.add_column(sa.Column(column, sa.Boolean(), nullable=False, server_default=sa.true()))
