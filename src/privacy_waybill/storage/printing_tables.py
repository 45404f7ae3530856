"""Tables of cloud printing: registered print terminals and one print job per waybill.

A terminal's token is stored only as a SHA-256; a job stores ids and print settings, never
label bytes (labels are rendered from the masked views when a terminal pulls them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_waybill.storage.models import TIMESTAMP, Base


class PrintTerminal(Base):
    __tablename__ = "print_terminals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    revoked_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)


class PrintJob(Base):
    """The print of one waybill. Unique per waybill: printing again is a counted reprint.

    `seq` orders the queue (first queued, first served, in the order a request listed the
    waybills); `id` is the random handle terminals use.
    """

    __tablename__ = "print_jobs"
    __table_args__ = (Index("ix_print_jobs_tenant_status_seq", "tenant_id", "status", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    waybill_id: Mapped[str] = mapped_column(ForeignKey("waybills.id"), unique=True)
    label_format: Mapped[str] = mapped_column(String(8))
    label_size: Mapped[str] = mapped_column(String(16))
    dpi: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    pulled_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    pulled_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
    printed_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
    reprints: Mapped[int] = mapped_column(Integer)
