"""Tables. Only ciphertext, keyed hashes and non-personal fields are stored.

Masked columns hold what a printed label shows (surname, last 4 digits, address down to the
road), which is public by design; everything else personal lives sealed in `vault_records`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from privacy_waybill.sensitive import SENSITIVE_FIELDS


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend: SQLite would hand stored times back naive."""

    impl = DateTime(timezone=True)
    cache_ok = True
    # (seconds since the epoch, their text): see sqlite_text.
    _last_second: tuple[int, str] = (0, "1970-01-01 00:00:00")

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC time")
        return value.astimezone(UTC) if value is not None else None

    @staticmethod
    def sqlite_text(value: datetime) -> str:
        """The text SQLAlchemy stores in SQLite for `value` (UTC, no offset, always six
        digits of microseconds), in one call instead of three, for bulk inserts."""
        if value.tzinfo is UTC:
            # The issuing clock's own times, written per waybill: `isoformat` (half of the
            # instructions of this function) only once a second, its text kept for that second.
            seconds, micros = divmod((value - _EPOCH) // _MICROSECOND, 1_000_000)
            second, text = UtcDateTime._last_second
            if second != seconds:
                text = value.isoformat(" ", "seconds")[:-6]
                # One tuple, replaced whole: a thread reading it meanwhile sees a matching pair.
                UtcDateTime._last_second = (seconds, text)
            return f"{text}.{str(micros).zfill(6)}"
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC time")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TIMESTAMP = UtcDateTime()


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    """A merchant or platform that owns orders; the unit of key separation."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    # Days after a waybill's final state until its personal data is shredded; None: the default.
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ApiKey(Base):
    """A merchant API key. Only a SHA-256 of the random secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    revoked_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)


class Waybill(Base):
    __tablename__ = "waybills"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_id", name="uq_waybills_tenant_order"),
        Index("ix_waybills_tenant_phone_index", "tenant_id", "recipient_phone_index"),
        Index("ix_waybills_tenant_created", "tenant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    order_id: Mapped[str] = mapped_column(String(64))
    waybill_no: Mapped[str] = mapped_column(String(20), unique=True)
    public_ref: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    order_fingerprint: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(20))
    service: Mapped[str] = mapped_column(String(20))
    weight_g: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pieces: Mapped[int] = mapped_column(Integer)
    contents_category: Mapped[str] = mapped_column(String(20))
    sort_code: Mapped[str] = mapped_column(String(40))
    masking_profile: Mapped[str] = mapped_column(String(32))
    recipient_masked_name: Mapped[str] = mapped_column(String(64))
    recipient_masked_phone: Mapped[str] = mapped_column(String(32))
    recipient_masked_address: Mapped[str] = mapped_column(String(200))
    sender_masked_name: Mapped[str] = mapped_column(String(64))
    sender_masked_phone: Mapped[str] = mapped_column(String(32))
    sender_masked_address: Mapped[str] = mapped_column(String(200))
    remark_scrubbed: Mapped[str | None] = mapped_column(String(600), nullable=True)
    recipient_district_code: Mapped[str] = mapped_column(String(12))
    recipient_phone_index: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The courier (subject actor) a parcel is dispatched to while out for delivery.
    assigned_courier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    purged_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
    # Keyed hashes grouping parcels by building, compound and road without decryption.
    delivery_point: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True, index=True)
    delivery_site: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True)
    delivery_road: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True)


class VaultRecord(Base):
    """One waybill's sealed personal data: a wrapped data key and a ciphertext per field.

    Crypto-shredding sets `wrapped_dek` and every ciphertext to NULL.
    """

    __tablename__ = "vault_records"

    waybill_id: Mapped[str] = mapped_column(ForeignKey("waybills.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kek_id: Mapped[str] = mapped_column(String(64))
    kek_version: Mapped[int] = mapped_column(Integer)
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


for _field in SENSITIVE_FIELDS:
    # One nullable ciphertext column per declared sensitive field (see sensitive.py).
    setattr(VaultRecord, _field, mapped_column(_field, LargeBinary, nullable=True))


class WaybillEvent(Base):
    """A lifecycle transition: who moved the parcel to which status, when and where."""

    __tablename__ = "waybill_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    waybill_id: Mapped[str] = mapped_column(ForeignKey("waybills.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    place: Mapped[str | None] = mapped_column(String(100), nullable=True)
    at: Mapped[datetime] = mapped_column(TIMESTAMP)
