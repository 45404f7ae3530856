"""What a station is, what it holds, and what a clerk is shown of a held parcel.

A locker is a station whose shelf positions are compartments of one parcel each. Nothing here
is personal: a held parcel carries the label's masked name and the phone's last four digits,
which is all a clerk may see (SPEC 1, station row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from privacy_waybill.errors import PrivacyWaybillError


class StationKind(StrEnum):
    STATION = "station"  # 驿站: a counter with shelves
    LOCKER = "locker"  # 快递柜: compartments, one parcel each


class PickupMethod(StrEnum):
    CODE = "pickup_code"
    OTP = "otp"
    IDENTITY_CODE = "identity_code"


@dataclass(frozen=True, slots=True)
class Shelf:
    """One shelf (or, in a locker, one column of compartments) and how many parcels it holds.

    `label` is what is painted on the shelf (``A``, ``3``); `layers` its boards (or a
    locker column's compartments), numbered from 1 at the bottom.
    """

    label: str
    layers: int
    capacity: int


@dataclass(frozen=True, slots=True)
class Station:
    id: str  # the station segment of the sort code (三段码), e.g. HZ10
    name: str
    kind: StationKind
    shelves: tuple[Shelf, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HeldParcel:
    """A parcel checked in at a station, as a clerk may see it."""

    waybill_id: str
    waybill_no: str
    tenant_id: str
    station_id: str
    shelf_code: str
    shelf: str
    layer: int
    pickup_code: str
    masked_name: str
    phone_last4: str
    checked_in_at: datetime
    checked_in_by: str
    picked_up_at: datetime | None = None
    pickup_method: str | None = None


class StationFull(PrivacyWaybillError):
    def __init__(self, where: str) -> None:
        super().__init__(f"{where} has no free place; check parcels out or choose another shelf")


class WrongPickupCode(PrivacyWaybillError):
    """No held parcel answers to the code given; the same message whatever was wrong."""

    def __init__(self) -> None:
        super().__init__("the code does not match a parcel held at this station")


class TooManyWrongCodes(PrivacyWaybillError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many wrong pickup codes at this station; wait before trying again")
        self.retry_after_seconds = retry_after_seconds
