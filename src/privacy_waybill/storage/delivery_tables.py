"""Tables of delivery: assignments, route definitions and what past sign-offs taught them,
couriers' own phone lines, sign-off codes and proofs. Keyed hashes and ids only; a courier's
line is sealed (the telephony provider needs it to connect calls)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_waybill.storage.models import TIMESTAMP, Base


class DeliveryAssignment(Base):
    """The current assignment of a parcel to a courier for one day and route."""

    __tablename__ = "delivery_assignments"
    __table_args__ = (Index("ix_delivery_assignments_courier_day", "courier", "day"),)

    waybill_id: Mapped[str] = mapped_column(ForeignKey("waybills.id"), primary_key=True)
    courier: Mapped[str] = mapped_column(String(100))
    station: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    assigned_by: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    scanned_out_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
    signed_off_at: Mapped[datetime | None] = mapped_column(TIMESTAMP, nullable=True)
    signed_off_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    signoff_method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # SHA-256 of the proof (photo bytes, or the code's keyed hash): evidence, not the proof.
    signoff_evidence: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)


class RouteDefinition(Base):
    """A station's route: the order of roads and compounds a courier walks, from a start."""

    __tablename__ = "route_definitions"

    station: Mapped[str] = mapped_column(String(64), primary_key=True)
    route: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Road and compound names (public geography, no personal data), in walking order.
    sequence: Mapped[list[str]] = mapped_column(JSON)
    start: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class RoutePointHistory(Base):
    """Where on its route a delivery point was signed off, averaged over past days."""

    __tablename__ = "route_point_history"

    station: Mapped[str] = mapped_column(String(64), primary_key=True)
    route: Mapped[str] = mapped_column(String(64), primary_key=True)
    point: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    site: Mapped[bytes] = mapped_column(LargeBinary(16))
    mean_position: Mapped[float] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(Integer)


class CourierLine(Base):
    """The phone a courier calls from (the A of an AXB binding), sealed; indexed for routing."""

    __tablename__ = "courier_lines"

    actor: Mapped[str] = mapped_column(String(100), primary_key=True)
    phone_index: Mapped[bytes] = mapped_column(LargeBinary(16))
    phone_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    registered_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class SignOffCode(Base):
    """A one-time code texted to the recipient for a door sign-off (keyed hash only)."""

    __tablename__ = "signoff_codes"

    waybill_id: Mapped[str] = mapped_column(ForeignKey("waybills.id"), primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
