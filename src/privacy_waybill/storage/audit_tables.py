"""Tables of the audit log: hash-chained entries, signed checkpoints and the chain head.

Entries hold ids, roles, actions, rules and keyed hashes only. `fields` and `detail` are
canonical JSON text, stored exactly as hashed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from privacy_waybill.storage.models import TIMESTAMP, Base


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_actor_seq", "actor", "seq"),
        Index("ix_audit_entries_waybill_seq", "waybill_id", "seq"),
        Index("ix_audit_entries_tenant_seq", "tenant_id", "seq"),
        Index("ix_audit_entries_at", "at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(TIMESTAMP)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(String(200))
    tenant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    waybill_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    purpose: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fields: Mapped[str] = mapped_column(Text)
    device: Mapped[str | None] = mapped_column(String(200), nullable=True)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The audit key version that chained this entry; entries from before versions existed are 1.
    key_version: Mapped[int] = mapped_column(Integer, server_default="1")


class AuditCheckpoint(Base):
    """A signed (sequence, head hash, time); the public key is kept so auditors need no secret."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    at: Mapped[datetime] = mapped_column(TIMESTAMP)
    key_id: Mapped[str] = mapped_column(String(40))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))


class AuditHead(Base):
    """The single row (id 1) naming the last entry; appends lock it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
