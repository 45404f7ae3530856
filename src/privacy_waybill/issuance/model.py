"""What issuance produces: the non-personal record of a waybill, plus its sealed data."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from privacy_waybill.errors import FieldError
from privacy_waybill.labels.model import MaskedParty
from privacy_waybill.vault import SealedRecord


class WaybillStatus(StrEnum):
    CREATED = "created"
    PRINTED = "printed"
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AT_STATION = "at_station"
    IN_LOCKER = "in_locker"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED = "returned"


class IssuedWaybill(NamedTuple):
    """Everything stored in the clear about a waybill: ids, routing and masked views.

    A named tuple rather than a frozen dataclass: as immutable, but made in a fifth of the time
    and pickled as a plain tuple, which matters at tens of thousands per second between the
    issuing worker processes and the one that stores. Change it with `_replace`.
    """

    waybill_id: str
    tenant_id: str
    order_id: str
    waybill_no: str
    public_ref: bytes
    order_fingerprint: bytes
    status: WaybillStatus
    service: str
    weight_g: int | None
    pieces: int
    contents_category: str
    sort_code: str
    masking_profile: str
    recipient: MaskedParty
    sender: MaskedParty
    remark_scrubbed: str | None
    recipient_district_code: str
    recipient_phone_index: bytes
    created_at: datetime
    purged_at: datetime | None = None
    assigned_courier: str | None = None
    # Keyed hashes of the building, the compound (or road number) and the road (delivery.points).
    delivery_point: bytes | None = None
    delivery_site: bytes | None = None
    delivery_road: bytes | None = None


class NewWaybill(NamedTuple):
    """A waybill and its sealed data, as issuance stores them (named tuples as `IssuedWaybill`)."""

    waybill: IssuedWaybill
    sealed: SealedRecord


class Prepared(NamedTuple):
    """One valid order after the pure stages: its fingerprint and its waybill or rejection."""

    fingerprint: bytes
    result: NewWaybill | FieldError
