"""Tables of the access domain: quota counters and alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_waybill.storage.models import TIMESTAMP, Base


class QuotaUsage(Base):
    """Disclosures counted per subject, quota and time window (an hour or a day)."""

    __tablename__ = "quota_usage"

    actor: Mapped[str] = mapped_column(String(100), primary_key=True)
    quota: Mapped[str] = mapped_column(String(50), primary_key=True)
    window: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class Alert(Base):
    """Something the security team should look at. Ids and counts only, never personal data."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(TIMESTAMP)
    severity: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, str]] = mapped_column(JSON)
    # Audit sequence numbers that show what the alert is about (risk engine alerts).
    evidence: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
