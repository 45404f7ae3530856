"""Delivery over HTTP: station dispatch and routes, crowd passes, the courier's manifest,
out-for-delivery scan, reveal, call and sign-off, and the telephony provider's signed
call-routing callback."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Depends, Header, Request, status
from pydantic import BaseModel, Field

from privacy_waybill.access.model import Resource, Role, Subject
from privacy_waybill.api.deps import caller
from privacy_waybill.api.problems import Problem
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.delivery.model import ParcelCard, SignOffMethod, SignOffProof
from privacy_waybill.delivery.service import route_of
from privacy_waybill.errors import FieldError
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.runtime import Runtime
from privacy_waybill.telephony import CallbackRejected, NoNumberFree
from privacy_waybill.telephony.callbacks import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER

MAX_PHOTO_BYTES = 4 * 1024 * 1024
PHOTO_SIGN_OFF_BODY_BYTES = MAX_PHOTO_BYTES * 4 // 3 + 64 * 1024
COURIER_PATTERN = r"^(user|pass):[A-Za-z0-9_\-]+$"


class AssignIn(BaseModel):
    waybills: list[Annotated[str, Field(max_length=300)]] = Field(min_length=1, max_length=500)
    courier: str = Field(max_length=100, pattern=COURIER_PATTERN, description="user:<id> or pass:<id>")


class WithdrawIn(BaseModel):
    waybill: str = Field(max_length=300)


class AssignedOut(BaseModel):
    waybill_no: str
    status: str
    assigned_courier: str | None
    route: str

    @classmethod
    def of(cls, waybill: IssuedWaybill) -> AssignedOut:
        return cls(
            waybill_no=waybill.waybill_no,
            status=waybill.status.value,
            assigned_courier=waybill.assigned_courier,
            route=route_of(waybill),
        )


class CourierOut(BaseModel):
    courier: str = Field(description="What to assign parcels to: user:<id>")
    username: str


class RouteIn(BaseModel):
    sequence: list[Annotated[str, Field(max_length=64)]] = Field(
        min_length=1, max_length=500, description="Roads and compounds in walking order"
    )
    start: str | None = Field(default=None, max_length=64, description="The entry the walk starts from")


class RouteOut(BaseModel):
    station: str
    route: str
    sequence: list[str]
    start: str | None
    updated_at: datetime


class PassIn(BaseModel):
    phone: str = Field(max_length=32, description="The crowd courier's mobile number")
    route: str = Field(max_length=64)
    day: date


class PassOut(BaseModel):
    pass_id: str
    courier: str
    route: str
    day: date
    sign_in_url: str
    qr_svg: str = Field(description="The sign-in link as an SVG QR image, for the crowd courier's phone camera")


class CardOut(BaseModel):
    waybill_no: str
    stop: int | None
    status: str
    name: str
    address: str
    remark: str | None

    @classmethod
    def of(cls, card: ParcelCard) -> CardOut:
        return cls(
            waybill_no=card.waybill_no, stop=card.stop, status=card.status, name=card.name,
            address=card.address, remark=card.remark,
        )  # fmt: skip


class StopOut(BaseModel):
    number: int
    area: str
    parcels: list[CardOut]


class ManifestOut(BaseModel):
    courier: str
    day: date
    stops: list[StopOut]
    parcels: int


class ScanCodeIn(BaseModel):
    code: str = Field(max_length=300, description="QR content (URL or token), Code 128 number or typed number")


class ScanResultOut(BaseModel):
    moved: bool
    card: CardOut


class RevealIn(BaseModel):
    purpose: Literal["deliver", "contact", "return"] = "deliver"


class RevealOut(BaseModel):
    waybill_no: str
    name: str | None
    address: str | None
    remark: str | None
    call: str


class CallIn(BaseModel):
    phone: str | None = Field(default=None, max_length=32, description="The courier's own number (first call only)")


class CallOut(BaseModel):
    waybill_no: str
    x_number: str
    expires_at: datetime


class SignOffIn(BaseModel):
    method: Literal["recipient_otp", "photo"]
    code: str | None = Field(default=None, max_length=10)
    photo_base64: str | None = Field(default=None, max_length=MAX_PHOTO_BYTES * 4 // 3 + 4)


class SignedOffOut(BaseModel):
    waybill_no: str
    at: datetime
    method: str
    replayed: bool


class CallRouteIn(BaseModel):
    caller: str = Field(max_length=32, description="The calling number")
    called: str = Field(max_length=32, description="The X number dialled")
    call_id: str | None = Field(default=None, max_length=64)


class CallRouteOut(BaseModel):
    action: Literal["connect_to_b", "connect_to_a", "refuse"]
    binding_id: str | None


def delivery_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["delivery"])
    who = Depends(caller(rt))

    @router.post("/delivery/assignments", response_model=list[AssignedOut])
    def assign(body: AssignIn, subject: Subject = who) -> list[AssignedOut]:
        """Station: assign parcels (numbers or scanned codes) to a courier or a crowd pass for today.

        A parcel out for delivery with another courier is taken back and re-dispatched."""
        assigned = rt.delivery.assign(subject, body.waybills, body.courier, rt.access.context())
        return [AssignedOut.of(w) for w in assigned]

    @router.post("/delivery/assignments/withdraw", response_model=AssignedOut)
    def withdraw(body: WithdrawIn, subject: Subject = who) -> AssignedOut:
        """Station: take a wrongly dispatched parcel back; the courier's access ends at once."""
        return AssignedOut.of(rt.delivery.withdraw(subject, body.waybill, rt.access.context()))

    @router.put("/delivery/routes/{route}", response_model=RouteOut)
    def put_route(route: str, body: RouteIn, subject: Subject = who) -> RouteOut:
        """Station: the walking order of a route (roads and compounds), from a start."""
        definition = rt.delivery.put_route(subject, route, body.sequence, body.start, rt.access.context())
        return RouteOut(
            station=definition.station, route=definition.route, sequence=list(definition.sequence),
            start=definition.start, updated_at=definition.updated_at,
        )  # fmt: skip

    @router.get("/delivery/routes/{route}", response_model=RouteOut)
    def get_route(route: str, subject: Subject = who) -> RouteOut:
        definition = rt.delivery.route(subject, route, rt.access.context())
        if definition is None:
            raise Problem(404, "Not found", "The route has no definition yet.")
        return RouteOut(
            station=definition.station, route=definition.route, sequence=list(definition.sequence),
            start=definition.start, updated_at=definition.updated_at,
        )  # fmt: skip

    @router.post("/delivery/passes", response_model=PassOut, status_code=status.HTTP_201_CREATED)
    def issue_pass(body: PassIn, request: Request, subject: Subject = who) -> PassOut:
        """Station: a crowd courier's pass for one route and one day; they sign in by phone OTP."""
        context = rt.access.context()
        rt.access.permit(
            subject, "station.manage", _station(subject), context, detail={"route": body.route, "pass": "issue"}
        )
        crowd_pass = rt.identity.create_pass(body.phone, body.route, body.day, subject.actor, context.now)
        sign_in_url = f"{rt.settings.public_base_url.rstrip('/')}/courier/?pass={crowd_pass.id}"
        return PassOut(
            pass_id=crowd_pass.id, courier=f"pass:{crowd_pass.id}", route=crowd_pass.route, day=crowd_pass.day,
            sign_in_url=sign_in_url, qr_svg=segno.make(sign_in_url, error="M").svg_inline(scale=4),
        )  # fmt: skip

    @router.get("/delivery/couriers", response_model=list[CourierOut])
    def couriers(subject: Subject = who) -> list[CourierOut]:
        """Station: the station's active courier accounts, to assign parcels to."""
        users = rt.delivery.couriers(subject, rt.access.context())
        return [CourierOut(courier=f"user:{user.id}", username=user.username) for user in users]

    @router.get("/delivery/manifest", response_model=ManifestOut)
    def manifest(subject: Subject = who) -> ManifestOut:
        """Courier: today's parcels, one stop per building, in walking order (masked cards)."""
        result = rt.delivery.manifest(subject, rt.access.context())
        stops = [
            StopOut(number=s.number, area=s.area, parcels=[CardOut.of(p) for p in s.parcels]) for s in result.stops
        ]
        return ManifestOut(
            courier=result.courier, day=result.day, stops=stops, parcels=sum(len(s.parcels) for s in stops)
        )

    @router.post("/delivery/scan", response_model=ScanResultOut)
    def scan(body: ScanCodeIn, subject: Subject = who) -> ScanResultOut:
        """Courier: the out-for-delivery scan. Returns the stop number and the masked card;
        a parcel assigned to another courier, or taken by one meanwhile, answers 409."""
        result = rt.delivery.scan_out(subject, body.code, rt.access.context())
        return ScanResultOut(moved=result.moved, card=CardOut.of(result.card))

    @router.post("/delivery/parcels/{waybill_no}/reveal", response_model=RevealOut)
    def reveal(waybill_no: str, body: RevealIn, subject: Subject = who) -> RevealOut:
        """Courier: the full address and the whole remark (purpose-bound, quota, audited)."""
        revealed = rt.delivery.reveal(subject, waybill_no, rt.access.context(purpose=body.purpose))
        return RevealOut(
            waybill_no=revealed.waybill_no, name=revealed.name, address=revealed.address, remark=revealed.remark,
            call=f"/api/v1/delivery/parcels/{revealed.waybill_no}/call",
        )  # fmt: skip

    @router.post("/delivery/parcels/{waybill_no}/call", response_model=CallOut)
    def call(waybill_no: str, body: CallIn, subject: Subject = who) -> CallOut:
        """Courier: the virtual number (X) that reaches the recipient; it stops working after sign-off."""
        try:
            route = rt.delivery.call(subject, waybill_no, body.phone, rt.access.context())
        except NoNumberFree as error:
            raise Problem(503, "No virtual number free", str(error), headers={"Retry-After": "60"}) from None
        return CallOut(waybill_no=route.waybill_no, x_number=route.x_number, expires_at=route.expires_at)

    @router.post("/delivery/parcels/{waybill_no}/signoff-code", status_code=status.HTTP_202_ACCEPTED)
    def signoff_code(waybill_no: str, subject: Subject = who) -> dict[str, str]:
        """Courier: text the recipient a sign-off code (through the notification outbox)."""
        rt.delivery.send_signoff_code(subject, waybill_no, rt.access.context())
        return {"detail": "A sign-off code was texted to the recipient."}

    @router.post("/delivery/parcels/{waybill_no}/sign-off", response_model=SignedOffOut)
    def sign_off(waybill_no: str, body: SignOffIn, subject: Subject = who) -> SignedOffOut:
        """Courier: delivered, by the recipient's code or a photo. Ends the courier's access at
        once; virtual numbers stop after the grace period. A replay changes nothing."""
        proof = _proof(body)
        waybill = rt.delivery.find(waybill_no)
        result = rt.delivery.sign_off(subject, waybill, proof, rt.access.context())
        return SignedOffOut(
            waybill_no=result.waybill_no, at=result.at, method=result.method.value, replayed=result.replayed
        )

    @router.post("/telephony/route", response_model=CallRouteOut, tags=["telephony"])
    async def route_call(
        request: Request,
        timestamp: Annotated[str | None, Header(alias=TIMESTAMP_HEADER)] = None,
        nonce: Annotated[str | None, Header(alias=NONCE_HEADER)] = None,
        signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
    ) -> CallRouteOut:
        """Provider callback: where a call to an X number goes. Signed (HMAC-SHA256 over
        timestamp, nonce and body) and replay-proof; every refusal is audited."""
        raw = await request.body()
        now = rt.clock()
        try:
            rt.callback_signer.verify(
                timestamp, nonce, signature, raw, now, lambda n, until: rt.telephony.remember_nonce(n, now, until)
            )
        except CallbackRejected as error:
            # A forged or replayed callback is a security event of its own: audited, then refused.
            rt.audit.record(
                AuditEvent(
                    at=now, actor="anonymous", role=Role.ANONYMOUS.value, action="telephony.route",
                    outcome=Outcome.DENIED, rule="telephony:callback-rejected", detail={"reason": str(error)},
                )
            )  # fmt: skip
            raise Problem(401, "Unauthorized", str(error)) from None
        try:
            body = CallRouteIn.model_validate_json(raw)
        except ValueError:
            raise Problem(
                422,
                "Invalid request",
                "The callback body is not a call.",
                [FieldError("body", "must hold caller and called")],
            ) from None
        decision = rt.telephony.route(body.caller, body.called, now)
        return CallRouteOut(action=decision.action.value, binding_id=decision.binding_id)

    return router


def _station(subject: Subject) -> Resource:
    return Resource(kind="station", station=subject.station)


def _proof(body: SignOffIn) -> SignOffProof:
    if body.method == SignOffMethod.RECIPIENT_OTP.value:
        if not body.code:
            raise FieldError("code", "is required for a recipient-OTP sign-off")
        return SignOffProof.recipient_otp(body.code)
    if not body.photo_base64:
        raise FieldError("photo_base64", "is required for a photo sign-off")
    try:
        image = base64.b64decode(body.photo_base64, validate=True)
    except (binascii.Error, ValueError):
        raise FieldError("photo_base64", "is not base64") from None
    if not image or len(image) > MAX_PHOTO_BYTES:
        raise FieldError("photo_base64", "must be an image of at most 4 MB")
    return SignOffProof.photo(image)
