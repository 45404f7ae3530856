"""The notification outbox. Recipients only as a keyed hash and a 4-character hint; bodies
and addresses sealed, and the address erased once delivery is over."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_waybill.storage.models import TIMESTAMP, Base


class NotificationOutbox(Base):
    __tablename__ = "notification_outbox"
    __table_args__ = (
        Index("ix_notification_outbox_due", "state", "next_attempt_at"),
        Index("ix_notification_outbox_to_created", "to_index", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(50))
    to_index: Mapped[bytes] = mapped_column(LargeBinary(16))
    to_hint: Mapped[str] = mapped_column(String(8))
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    address_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    next_attempt_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
