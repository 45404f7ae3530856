"""Request and response bodies of the station desk, public tracking and the recipient portal.

Clerk-facing bodies carry the label's masked name (surname only) and the phone's last four
digits at most; tracking carries status and coarse location, plus the masked name and the
station once the phone's last four digits are given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from privacy_waybill.errors import FieldError
from privacy_waybill.recipients.model import ALWAYS_ON, Disclosure, LeakReportRecord, Preferences
from privacy_waybill.stations.model import HeldParcel
from privacy_waybill.tracking.service import TrackingAnswer

WAYBILL_NO = Field(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$", examples=["PW123456789012345"])


class CheckInIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"waybill_no": "PW123456789012345"}]})

    waybill_no: str = WAYBILL_NO
    shelf: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9]{1,3}$", description="Put it on this shelf (else the emptiest)"
    )


class HeldParcelOut(BaseModel):
    """A parcel on the shelf as the clerk sees it: codes, surname, last 4 digits."""

    waybill_no: str = Field(examples=["PW123456789012345"])
    shelf_code: str = Field(examples=["A-3-0172"], description="shelf-layer-serial")
    pickup_code: str = Field(examples=["482913"])
    recipient_name: str = Field(examples=["张**"], description="The label's masked name: surname only")
    phone_last4: str = Field(examples=["5678"])
    checked_in_at: datetime
    picked_up_at: datetime | None = None
    pickup_method: str | None = Field(default=None, examples=["pickup_code"])

    @classmethod
    def of(cls, parcel: HeldParcel) -> HeldParcelOut:
        return cls(
            waybill_no=parcel.waybill_no,
            shelf_code=parcel.shelf_code,
            pickup_code=parcel.pickup_code,
            recipient_name=parcel.masked_name,
            phone_last4=parcel.phone_last4,
            checked_in_at=parcel.checked_in_at,
            picked_up_at=parcel.picked_up_at,
            pickup_method=parcel.pickup_method,
        )


class IdentityCodeIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"identity_code": "pwid1.AAAAAGl..."}]})

    identity_code: str = Field(min_length=8, max_length=400, description="The string in the recipient's QR code")


class PickupIn(BaseModel):
    """Hand a parcel over: by pickup code, by identity code (all or some of its parcels), or by
    a one-time code texted to the recipient for one parcel."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"method": "pickup_code", "pickup_code": "482913"},
                {"method": "identity_code", "identity_code": "pwid1.AAAAAGl...", "waybill_nos": ["PW123456789012345"]},
                {"method": "otp", "waybill_no": "PW123456789012345", "otp": "305114"},
            ]
        }
    )

    method: Literal["pickup_code", "identity_code", "otp"]
    pickup_code: str | None = Field(default=None, max_length=10, examples=["482913"])
    identity_code: str | None = Field(default=None, max_length=400)
    waybill_nos: list[str] = Field(default_factory=list, max_length=50)
    waybill_no: str | None = Field(default=None, max_length=40, pattern=r"^[A-Za-z0-9-]+$")
    otp: str | None = Field(default=None, max_length=10)


class PickupOut(BaseModel):
    handed_over: list[HeldParcelOut]


class TrackStationOut(BaseModel):
    name: str = Field(examples=["文一西路驿站"])
    kind: str = Field(examples=["station"])


class TrackOut(BaseModel):
    """Status and coarse location for anyone; the masked name and the station once verified."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "waybill_no": "PW123456789012345",
                    "status": "at_station",
                    "updated_at": "2026-12-01T09:30:00Z",
                    "location": None,
                    "verified": True,
                    "recipient_name": "张**",
                    "station": {"name": "文一西路驿站", "kind": "station"},
                }
            ]
        }
    )

    waybill_no: str
    status: str = Field(examples=["in_transit"])
    updated_at: datetime
    location: str | None = Field(examples=["571"], description="Where the last scan was (a hub or facility id)")
    verified: bool = Field(description="True when the last 4 digits matched (or the recipient is signed in)")
    recipient_name: str | None = Field(default=None, examples=["张**"])
    station: TrackStationOut | None = None

    @classmethod
    def of(cls, answer: TrackingAnswer) -> TrackOut:
        station = TrackStationOut(name=answer.station_name, kind=answer.station_kind or "") if answer.station_name else None
        return cls(
            waybill_no=answer.waybill_no,
            status=answer.status,
            updated_at=answer.updated_at,
            location=answer.location,
            verified=answer.verified,
            recipient_name=answer.recipient_name,
            station=station,
        )


class RecipientOtpIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phone": "13812345678"}]})

    phone: str = Field(max_length=32)


class RecipientVerifyIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phone": "13812345678", "code": "305114"}]})

    phone: str = Field(max_length=32)
    code: str = Field(max_length=10)


class RecipientOtpSentOut(BaseModel):
    detail: str = "If parcels are addressed to this number, a code was sent to it."


class RecipientSessionOut(BaseModel):
    token: str = Field(examples=["pwr_3q2Vq..."])
    token_type: str = "bearer"
    expires_at: datetime


class RecipientParcelOut(BaseModel):
    waybill_no: str = Field(examples=["PW123456789012345"])
    status: str = Field(examples=["at_station"])
    created_at: datetime
    recipient_name: str = Field(examples=["张**"], description="As on the label")
    station_id: str | None = Field(default=None, examples=["HZ10"])
    shelf_code: str | None = Field(default=None, examples=["A-3-0172"])
    pickup_code: str | None = Field(default=None, examples=["482913"], description="While the parcel waits")


class TimelineEventOut(BaseModel):
    status: str = Field(examples=["in_transit"])
    at: datetime
    place: str | None = Field(examples=["571"])


class TimelineOut(BaseModel):
    waybill_no: str = Field(examples=["PW123456789012345"])
    status: str = Field(examples=["at_station"])
    events: list[TimelineEventOut]


class DisclosureEntryOut(BaseModel):
    """Someone saw your data: which parcel, when, in which role, for what; never who by name."""

    waybill_no: str = Field(examples=["PW123456789012345"])
    at: datetime
    role: str = Field(examples=["courier"])
    action: str = Field(examples=["waybill.reveal"])
    purpose: str | None = Field(examples=["deliver"])
    fields: list[str] = Field(examples=[["address"]])

    @classmethod
    def of(cls, d: Disclosure) -> DisclosureEntryOut:
        return cls(
            waybill_no=d.waybill_no, at=d.at, role=d.role, action=d.action, purpose=d.purpose, fields=list(d.fields)
        )


_ALWAYS_ON_HELP = "Always true: every label prints masked data and every courier call goes through a virtual number"


class PreferencesIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"station_allowed": True, "locker_allowed": False}]})

    station_allowed: bool = True
    locker_allowed: bool = True
    # Accepted so that a client echoing what it read may send them back; only true is valid.
    masked_label: bool | None = Field(default=None, description=_ALWAYS_ON_HELP)
    virtual_number: bool | None = Field(default=None, description=_ALWAYS_ON_HELP)

    def preferences(self) -> Preferences:
        for name in ALWAYS_ON:
            if getattr(self, name) is False:
                raise FieldError(name, "always on for every recipient; it cannot be switched off")
        return Preferences(self.station_allowed, self.locker_allowed)


class PreferencesOut(BaseModel):
    masked_label: Literal[True] = Field(default=True, description=_ALWAYS_ON_HELP)
    virtual_number: Literal[True] = Field(default=True, description=_ALWAYS_ON_HELP)
    station_allowed: bool
    locker_allowed: bool

    @classmethod
    def of(cls, prefs: Preferences) -> PreferencesOut:
        return cls(station_allowed=prefs.station_allowed, locker_allowed=prefs.locker_allowed)


class IdentityCodeOut(BaseModel):
    code: str = Field(description="Show this QR at the station counter; it works for two minutes")
    expires_at: datetime
    qr_svg: str = Field(description="The code as an SVG QR image")


class LeakReportIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"kind": "calls", "text": "接到推销电话，对方知道我买了什么", "waybill_nos": ["PW123456789012345"]}]
        }
    )

    kind: Literal["calls", "sms", "parcel_opened", "data_sold", "other"]
    text: str = Field(default="", max_length=2000, description="Your words; stored sealed, shown only as recognised phrases")
    waybill_nos: list[str] = Field(min_length=1, max_length=50)


class LeakReportOut(BaseModel):
    id: str = Field(examples=["lr_8c1d2e3f4a5b6c7d"])
    created_at: datetime
    status: str = Field(examples=["open"])
    waybill_nos: list[str]
    text_display: str | None = Field(
        examples=["骚扰电话，对方知道我买了什么"],
        description="What may be shown of the text: recognised phrases and [已隐藏], never your own words",
    )

    @classmethod
    def of(cls, r: LeakReportRecord) -> LeakReportOut:
        return cls(
            id=r.id, created_at=r.created_at, status=r.status, waybill_nos=list(r.waybill_nos), text_display=r.text_display
        )
