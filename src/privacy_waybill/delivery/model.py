"""What delivery works with: assignments, manifests and their stops, parcel cards, sign-offs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class SignOffMethod(StrEnum):
    # Verified by the caller (a station's pickup code, checked by the station desk).
    PICKUP_CODE = "pickup_code"
    # A code texted to the recipient, read out to the courier at the door.
    RECIPIENT_OTP = "recipient_otp"
    # A photo of the parcel where it was left; only its SHA-256 is kept as evidence.
    PHOTO = "photo"


@dataclass(frozen=True, slots=True)
class SignOffProof:
    method: SignOffMethod
    # SHA-256 of what proves delivery (photo bytes, a verified code's record): never the proof.
    evidence: bytes = field(repr=False)
    # For RECIPIENT_OTP: the code the recipient read out, checked by the delivery service.
    code: str | None = field(default=None, repr=False)

    @classmethod
    def photo(cls, image: bytes) -> SignOffProof:
        return cls(SignOffMethod.PHOTO, hashlib.sha256(image).digest())

    @classmethod
    def recipient_otp(cls, code: str) -> SignOffProof:
        return cls(SignOffMethod.RECIPIENT_OTP, b"", code)

    @classmethod
    def pickup_code(cls, verified_record: bytes) -> SignOffProof:
        """A pickup code the station desk has already checked; `verified_record` identifies it."""
        return cls(SignOffMethod.PICKUP_CODE, hashlib.sha256(verified_record).digest())


@dataclass(frozen=True, slots=True)
class Assignment:
    waybill_id: str
    courier: str
    station: str
    route: str
    day: date
    assigned_by: str
    assigned_at: datetime
    scanned_out_at: datetime | None
    signed_off_at: datetime | None
    signed_off_by: str | None
    signoff_method: str | None


@dataclass(frozen=True, slots=True)
class ParcelCard:
    """A parcel as the courier sees it before a reveal: what the label shows, plus its stop."""

    waybill_no: str
    stop: int | None
    status: str
    name: str
    address: str
    remark: str | None


@dataclass(frozen=True, slots=True)
class ManifestStop:
    number: int
    # The road-level address all parcels of the stop share (as printed on their labels).
    area: str
    parcels: tuple[ParcelCard, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    courier: str
    day: date
    stops: tuple[ManifestStop, ...]

    def stop_of(self, waybill_no: str) -> int | None:
        return next((s.number for s in self.stops for p in s.parcels if p.waybill_no == waybill_no), None)


@dataclass(frozen=True, slots=True)
class ScanResult:
    card: ParcelCard
    # False when the parcel was already out for delivery with this courier (a repeated scan).
    moved: bool


@dataclass(frozen=True, slots=True)
class Revealed:
    waybill_no: str
    name: str | None
    address: str | None = field(repr=False)
    remark: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class CallRoute:
    waybill_no: str
    x_number: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SignedOff:
    waybill_no: str
    at: datetime
    method: SignOffMethod
    replayed: bool
    bindings_ending: int


@dataclass(frozen=True, slots=True)
class RouteDefinition:
    station: str
    route: str
    sequence: tuple[str, ...]
    start: str | None
    updated_by: str
    updated_at: datetime
