"""Tables of stations and recipients: station layouts, parcels held on shelves, recipient
sessions and privacy preferences, and leak reports with the waybills they concern.

Held parcels keep the shelf code, the pickup code and the phone's last four digits (what the
shelf sticker shows) only while the parcel is on the shelf; leaving clears code and digits.
Recipients appear only as blind indexes; a session's phone is sealed, a report's text too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from privacy_waybill.storage.models import TIMESTAMP, Base


class StationRecord(Base):
    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    # [{"label": "A", "layers": 4, "capacity": 80}, ...]
    shelves: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    last_serial: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class StationParcel(Base):
    """One stay of a parcel at a station, from check-in until it leaves (`left_at`)."""

    __tablename__ = "station_parcels"
    __table_args__ = (
        UniqueConstraint("station_id", "pickup_code", name="uq_station_parcels_pickup_code"),
        Index("ix_station_parcels_station_last4", "station_id", "phone_last4"),
        Index("ix_station_parcels_station_left", "station_id", "left_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    waybill_id: Mapped[str] = mapped_column(ForeignKey("waybills.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"))
    shelf_code: Mapped[str] = mapped_column(String(16))
    shelf: Mapped[str] = mapped_column(String(3))
    layer: Mapped[int] = mapped_column(Integer)
    pickup_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    phone_last4: Mapped[str] = mapped_column(String(4))
    checked_in_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    checked_in_by: Mapped[str] = mapped_column(String(100))
    left_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
    left_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    left_how: Mapped[str | None] = mapped_column(String(20), nullable=True)


class RecipientSession(Base):
    """A recipient signed in by phone OTP: the phone's platform blind index and the phone sealed
    under a platform key (bound to this session), needed to find parcels under each tenant's index."""

    __tablename__ = "recipient_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    phone_index: Mapped[bytes] = mapped_column(LargeBinary(16), index=True)
    phone_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    revoked_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)


class RecipientPreference(Base):
    """A recipient's delivery choices under one tenant's phone index (the index waybills
    carry), written for every tenant at once so stations read them without a phone."""

    __tablename__ = "recipient_preferences"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone_index: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    station_allowed: Mapped[bool] = mapped_column(Boolean)
    locker_allowed: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class LeakReport(Base):
    """A recipient's report of a suspected leak: the case leak tracing opens from.

    `text_sealed` is the recipient's own words, sealed; `text_display` their allow-list display
    form (masking.free_text): canonical phrases and [已隐藏] only.
    """

    __tablename__ = "leak_reports"
    __table_args__ = (Index("ix_leak_reports_created", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reporter: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))
    text_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    text_display: Mapped[str | None] = mapped_column(String(600), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class LeakReportWaybill(Base):
    __tablename__ = "leak_report_waybills"

    report_id: Mapped[str] = mapped_column(ForeignKey("leak_reports.id"), primary_key=True)
    waybill_id: Mapped[str] = mapped_column(ForeignKey("waybills.id"), primary_key=True)
