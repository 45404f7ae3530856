"""Tables of virtual numbers (AXB): the X pool, bindings and seen callback nonces.

A and B are held as keyed hashes (for routing and the one-X-per-A-or-B rule) and sealed for
the embedded simulator, which connects calls itself; the seals are erased when a binding ends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_waybill.storage.models import TIMESTAMP, Base


class VirtualNumber(Base):
    __tablename__ = "telephony_numbers"

    x_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    pool: Mapped[str] = mapped_column(String(64))
    # Live bindings one X may carry, as the provider sets it (Aliyun ~200, Huawei up to 5,000).
    capacity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class Binding(Base):
    __tablename__ = "telephony_bindings"
    __table_args__ = (
        Index("ix_telephony_bindings_x_expires", "x_number", "expires_at"),
        Index("ix_telephony_bindings_waybill", "waybill_id"),
        Index("ix_telephony_bindings_b", "b_index"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    waybill_id: Mapped[str] = mapped_column(String(32))
    viewer: Mapped[str] = mapped_column(String(100))
    x_number: Mapped[str] = mapped_column(String(20))
    a_index: Mapped[bytes] = mapped_column(LargeBinary(16))
    b_index: Mapped[bytes] = mapped_column(LargeBinary(16))
    a_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    b_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_binding_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    # The earlier of sign-off + grace and created + hard maximum; calls at or after it are refused.
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    signed_off_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)


class CallbackNonce(Base):
    """Nonces of provider callbacks already accepted: a replayed callback is refused."""

    __tablename__ = "telephony_callback_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP, index=True)
