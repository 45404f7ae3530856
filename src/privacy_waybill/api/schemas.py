"""Public response schemas. Only masked views and non-personal fields exist here."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.labels.model import MaskedParty


class MaskedPartyOut(BaseModel):
    name: str = Field(examples=["张**"])
    phone: str = Field(examples=["*******5678"])
    address: str = Field(examples=["浙江省杭州市余杭区五常街道文一西路****"])

    @classmethod
    def of(cls, party: MaskedParty) -> MaskedPartyOut:
        return cls(name=party.name, phone=party.phone, address=party.address)


class MaskedPartiesOut(BaseModel):
    recipient: MaskedPartyOut
    sender: MaskedPartyOut


class WaybillOut(BaseModel):
    order_id: str
    waybill_no: str
    sort_code: str
    status: str
    service: str
    contents: str
    weight_g: int | None
    created_at: datetime
    masked: MaskedPartiesOut
    tracking_url: str
    label_url: str

    @classmethod
    def of(cls, waybill: IssuedWaybill, tracking_url: str) -> WaybillOut:
        return cls(
            order_id=waybill.order_id,
            waybill_no=waybill.waybill_no,
            sort_code=waybill.sort_code,
            status=waybill.status.value,
            service=waybill.service,
            contents=waybill.contents_category,
            weight_g=waybill.weight_g,
            created_at=waybill.created_at,
            masked=MaskedPartiesOut(
                recipient=MaskedPartyOut.of(waybill.recipient), sender=MaskedPartyOut.of(waybill.sender)
            ),
            tracking_url=tracking_url,
            label_url=f"/api/v1/waybills/{waybill.waybill_no}/label",
        )


class FieldErrorOut(BaseModel):
    field: str
    reason: str


class BatchResultOut(BaseModel):
    position: int
    order_id: str | None
    outcome: Literal["issued", "replayed", "rejected"]
    waybill: WaybillOut | None = None
    error: FieldErrorOut | None = None


class BatchOut(BaseModel):
    issued: int
    replayed: int
    rejected: int
    results: list[BatchResultOut]


class BatchIn(BaseModel):
    """A batch of orders in the single-order format; each is validated on its own."""

    orders: list[dict[str, object]] = Field(min_length=1, max_length=10_000)


class TrackingOut(BaseModel):
    """What anyone holding the QR code learns: the parcel's status, nothing personal."""

    waybill_no: str
    status: str
    updated_at: datetime


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    database: str
