"""Tables of break-glass access: support tickets and the sealed reasons given under them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_waybill.storage.models import TIMESTAMP, Base


class SupportTicket(Base):
    """A ticket opened for one tenant's named waybills until `expires_at` (ids only)."""

    __tablename__ = "support_tickets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    waybill_ids: Mapped[list[str]] = mapped_column(JSON)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class BreakGlassReason(Base):
    """The free-text reason of one break-glass, sealed (AES-GCM): auditors see its id only."""

    __tablename__ = "break_glass_reasons"
    __table_args__ = (Index("ix_break_glass_reasons_ticket", "ticket_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    waybill_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(TIMESTAMP)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
