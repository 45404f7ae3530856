"""Public response schemas. Only masked views and non-personal fields exist here."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from privacy_waybill.access.service import RecipientView
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.labels.model import MaskedParty


def _summary(waybill: IssuedWaybill) -> dict[str, object]:
    """The non-personal fields every waybill response carries."""
    return {
        "order_id": waybill.order_id,
        "waybill_no": waybill.waybill_no,
        "sort_code": waybill.sort_code,
        "status": waybill.status.value,
        "service": waybill.service,
        "contents": waybill.contents_category,
        "weight_g": waybill.weight_g,
        "created_at": waybill.created_at,
    }


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
            **_summary(waybill),
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


class PartyViewOut(BaseModel):
    """A party's fields as the caller may see them; null where the policy shows nothing."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None

    @classmethod
    def of(cls, view: RecipientView) -> PartyViewOut:
        return cls(name=view.name, phone=view.phone, address=view.address)


class WaybillViewOut(BaseModel):
    waybill_no: str
    order_id: str
    sort_code: str
    status: str
    service: str
    contents: str
    weight_g: int | None
    created_at: datetime
    recipient: PartyViewOut
    sender: MaskedPartyOut = Field(description="As printed on the label.")
    remark: str | None = Field(
        description="Recognised delivery instructions only (放门口, 易碎, ...); any other text shows as [已隐藏]."
    )
    tracking_url: str

    @classmethod
    def of(cls, waybill: IssuedWaybill, recipient: PartyViewOut, tracking_url: str) -> WaybillViewOut:
        return cls(
            **_summary(waybill),
            recipient=recipient,
            sender=MaskedPartyOut.of(waybill.sender),
            remark=waybill.remark_scrubbed,
            tracking_url=tracking_url,
        )


class PurposeIn(BaseModel):
    purpose: str = Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$", examples=["deliver"])


class BreakGlassIn(BaseModel):
    ticket: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-:.#]+$", examples=["T-20261123-0042"])
    reason: str = Field(min_length=4, max_length=500, examples=["recipient reports a wrong address; call-back needed"])


class DisclosureOut(BaseModel):
    waybill_no: str
    action: str
    purpose: str | None
    recipient: PartyViewOut
    remark: str | None = Field(
        default=None,
        description="The whole delivery remark as the merchant wrote it, opened from the vault with a full "
        "disclosure (decrypt, break-glass); stored and shown elsewhere only in its allow-listed form",
    )


class ScanIn(BaseModel):
    status: WaybillStatus
    place: str | None = Field(
        default=None, max_length=100, pattern=r"^[A-Za-z0-9_\-:.]+$", description="Hub, station or locker id"
    )
    courier: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^(user|pass):[A-Za-z0-9_\-]+$",
        description="On dispatch: the courier's subject id (user:<id>, or pass:<id> for a crowd courier)",
    )


class ScanOut(BaseModel):
    waybill_no: str
    status: str
    assigned_courier: str | None


class AuditEntryOut(BaseModel):
    """An audit entry as auditors see it: ids, roles, rules and hashes; never personal data."""

    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    outcome: str
    rule: str
    tenant_id: str | None
    waybill_id: str | None
    purpose: str | None
    fields: list[str]
    device: str | None
    detail: dict[str, str]
    entry_hash: str


class AlertOut(BaseModel):
    id: int
    at: datetime
    severity: str
    kind: str
    actor: str
    detail: dict[str, str]
    evidence: list[int] | None = Field(default=None, description="Audit sequence numbers the alert rests on")
