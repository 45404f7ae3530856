"""Tables of sign-in: users, sessions, crowd-courier passes and phone OTPs.

Nothing here is usable as a credential or readable as personal data: passwords are argon2id
hashes, TOTP secrets are sealed, session tokens are SHA-256 hashes, OTPs are keyed hashes and
crowd couriers' phones are blind indexes.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_waybill.storage.models import TIMESTAMP, Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), nullable=True)
    hub: Mapped[str | None] = mapped_column(String(64), nullable=True)
    station: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class CrowdPass(Base):
    __tablename__ = "crowd_passes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    phone_index: Mapped[bytes] = mapped_column(LargeBinary(16), index=True)
    route: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    ends_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    revoked_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)


class UserSession(Base):
    """A signed-in session of a user or of a crowd pass (exactly one of the two is set)."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    pass_id: Mapped[str | None] = mapped_column(ForeignKey("crowd_passes.id"), nullable=True, index=True)
    device_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    revoked_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)


class PhoneOtp(Base):
    __tablename__ = "phone_otps"
    __table_args__ = (Index("ix_phone_otps_phone_created", "phone_index", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    phone_index: Mapped[bytes] = mapped_column(LargeBinary(16))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    attempts: Mapped[int] = mapped_column(Integer)
    consumed_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
