"""Routes of the station desk, public tracking by number, and the recipient portal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from privacy_waybill.access.model import Subject
from privacy_waybill.api.deps import ANONYMOUS, bearer, caller
from privacy_waybill.api.problems import Problem, problem_response
from privacy_waybill.api.station_schemas import (
    CheckInIn,
    DisclosureEntryOut,
    HeldParcelOut,
    IdentityCodeIn,
    IdentityCodeOut,
    LeakReportIn,
    LeakReportOut,
    PickupIn,
    PickupOut,
    PreferencesIn,
    PreferencesOut,
    RecipientOtpIn,
    RecipientOtpSentOut,
    RecipientParcelOut,
    RecipientSessionOut,
    RecipientVerifyIn,
    TimelineEventOut,
    TimelineOut,
    TrackOut,
)
from privacy_waybill.errors import FieldError
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.labels.model import LabelFormat
from privacy_waybill.recipients.identity_code import InvalidIdentityCode
from privacy_waybill.recipients.model import Recipient, RecipientOtpFailed
from privacy_waybill.recipients.service import TOKEN_PREFIX
from privacy_waybill.runtime import Runtime
from privacy_waybill.stations.model import StationFull, TooManyWrongCodes, WrongPickupCode
from privacy_waybill.tracking.service import AT_A_STATION, Throttled

STICKER_MEDIA_TYPES = {LabelFormat.PDF: "application/pdf", LabelFormat.ZPL: "application/zpl"}
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def install_station_problems(app: FastAPI) -> None:
    """Problem bodies for the errors of this module (Retry-After on the throttles)."""

    @app.exception_handler(Throttled)
    async def _throttled(_: Request, exc: Throttled) -> JSONResponse:
        return problem_response(429, "Too many requests", str(exc), headers={"Retry-After": str(exc.retry_after_seconds)})

    @app.exception_handler(TooManyWrongCodes)
    async def _guessing(_: Request, exc: TooManyWrongCodes) -> JSONResponse:
        return problem_response(429, "Too many wrong codes", str(exc), headers={"Retry-After": str(exc.retry_after_seconds)})

    @app.exception_handler(WrongPickupCode)
    async def _wrong(_: Request, exc: WrongPickupCode) -> JSONResponse:
        return problem_response(422, "Wrong code", str(exc), [FieldError("code", "does not match a held parcel")])

    @app.exception_handler(InvalidIdentityCode)
    async def _identity(_: Request, exc: InvalidIdentityCode) -> JSONResponse:
        return problem_response(422, "Invalid identity code", str(exc), [FieldError("identity_code", "is not valid")])

    @app.exception_handler(StationFull)
    async def _full(_: Request, exc: StationFull) -> JSONResponse:
        return problem_response(409, "Station full", str(exc))

    @app.exception_handler(RecipientOtpFailed)
    async def _otp(_: Request, exc: RecipientOtpFailed) -> JSONResponse:
        return problem_response(401, "Unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"})


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def station_router(rt: Runtime) -> APIRouter:
    router = APIRouter(prefix="/stations", tags=["stations"])
    clerk = Depends(caller(rt))

    @router.post("/check-ins", response_model=HeldParcelOut, status_code=status.HTTP_201_CREATED)
    def check_in(body: CheckInIn, subject: Subject = clerk) -> HeldParcelOut:
        """Station clerk: shelve a scanned parcel. Assigns a shelf code (shelf-layer-serial) and a
        pickup code and texts the recipient the pickup code, the station and the masked number."""
        return HeldParcelOut.of(rt.stations.check_in(subject, body.waybill_no, body.shelf))

    @router.get("/parcels", response_model=list[HeldParcelOut])
    def parcels(
        subject: Subject = clerk,
        pickup_code: Annotated[str | None, Query(max_length=10, examples=["482913"])] = None,
        last4: Annotated[str | None, Query(max_length=4, examples=["5678"])] = None,
    ) -> list[HeldParcelOut]:
        """Station clerk: parcels on this station's shelves; search by pickup code or by the
        phone's last 4 digits only (never by name or full phone)."""
        if pickup_code is None and last4 is None:
            return [HeldParcelOut.of(p) for p in rt.stations.held(subject)]
        return [HeldParcelOut.of(p) for p in rt.stations.search(subject, pickup_code=pickup_code, last4=last4)]

    @router.get(
        "/parcels/{waybill_no}/sticker",
        response_class=Response,
        responses={200: {"content": {t: {} for t in STICKER_MEDIA_TYPES.values()}, "description": "The shelf sticker"}},
    )
    def sticker(
        waybill_no: str,
        subject: Subject = clerk,
        format: Literal["pdf", "zpl"] = "pdf",
    ) -> Response:
        """Station clerk: the shelf sticker (60 x 40 mm): shelf code, pickup code, masked name."""
        fmt = LabelFormat(format)
        parcel, body = rt.stations.sticker(subject, waybill_no, fmt)
        return Response(
            body,
            media_type=STICKER_MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'inline; filename="{parcel.waybill_no}-sticker.{fmt.value}"'},
        )

    @router.post("/identity-code", response_model=list[HeldParcelOut])
    def identity_code(body: IdentityCodeIn, subject: Subject = clerk) -> list[HeldParcelOut]:
        """Station clerk: every parcel held here for the holder of a scanned identity code
        (身份码), without the phone number."""
        return [HeldParcelOut.of(p) for p in rt.stations.parcels_for_identity_code(subject, body.identity_code)]

    @router.post("/parcels/{waybill_no}/pickup-otp", status_code=status.HTTP_202_ACCEPTED, response_class=Response)
    def pickup_otp(waybill_no: str, subject: Subject = clerk) -> Response:
        """Station clerk: text the recipient a one-time code for this parcel (for pickup by OTP)."""
        rt.stations.send_pickup_otp(subject, waybill_no)
        return Response(status_code=status.HTTP_202_ACCEPTED)

    @router.post("/pickups", response_model=PickupOut)
    def pickup(body: PickupIn, subject: Subject = clerk) -> PickupOut:
        """Station clerk: hand parcels over, which signs them off. Wrong codes are audited and,
        after ten in ten minutes, refused with 429."""
        match body.method:
            case "pickup_code":
                handed = [rt.stations.hand_over_by_code(subject, _required(body.pickup_code, "pickup_code"))]
            case "identity_code":
                token = _required(body.identity_code, "identity_code")
                handed = rt.stations.hand_over_by_identity_code(subject, token, body.waybill_nos)
            case "otp":
                number, code = _required(body.waybill_no, "waybill_no"), _required(body.otp, "otp")
                handed = [rt.stations.hand_over_by_otp(subject, number, code)]
        return PickupOut(handed_over=[HeldParcelOut.of(p) for p in handed])

    return router


def _required(value: str | None, field: str) -> str:
    if not value:
        raise Problem(422, "Invalid request", "The pickup method needs a field.", [FieldError(field, "is required")])
    return value


def _recipient_or_none(rt: Runtime, credentials: HTTPAuthorizationCredentials | None) -> Recipient | None:
    if credentials is None or not credentials.credentials.startswith(TOKEN_PREFIX):
        return None
    return rt.recipients.resolve(credentials.credentials)


def tracking_by_number_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["tracking"], on_shutdown=[rt.tracking.flush])
    staff_or_anyone = caller(rt, anonymous=True)

    @router.get("/track/{waybill_no}", response_model=TrackOut)
    def track(
        waybill_no: str,
        request: Request,
        credentials: CredentialsDep,
        last4: Annotated[str | None, Query(max_length=4, description="The phone's last 4 digits", examples=["5678"])] = None,
    ) -> TrackOut:
        """Public: status and coarse location. With the phone's last 4 digits, also the masked
        name and the station. Limited per client and per waybill; a signed-in recipient tracking
        their own parcel is never limited."""
        recipient = _recipient_or_none(rt, credentials)
        if recipient is not None:
            subject = ANONYMOUS

            def own(waybill: IssuedWaybill) -> Subject:
                return rt.recipients.subject(recipient, waybill.tenant_id)

            answer = rt.tracking.track(
                waybill_no, client_address=_client_address(request), subject=subject, last4=last4, own_subject=own
            )
            return TrackOut.of(answer)
        subject = staff_or_anyone(credentials, None, request.headers.get("X-Device-Id"))
        return TrackOut.of(rt.tracking.track(waybill_no, client_address=_client_address(request), subject=subject, last4=last4))

    return router


def recipient_router(rt: Runtime) -> APIRouter:
    router = APIRouter(prefix="/recipient", tags=["recipient portal"])

    def signed_in(credentials: CredentialsDep) -> Recipient:
        recipient = _recipient_or_none(rt, credentials)
        if recipient is None:
            raise Problem(401, "Unauthorized", "Sign in with your phone first.", headers={"WWW-Authenticate": "Bearer"})
        return recipient

    me = Depends(signed_in)

    @router.post("/otp/request", status_code=status.HTTP_202_ACCEPTED, response_model=RecipientOtpSentOut)
    def request_otp(body: RecipientOtpIn) -> RecipientOtpSentOut:
        """Text a sign-in code to the phone, if parcels are addressed to it (the answer is the same either way)."""
        rt.recipients.request_otp(body.phone)
        return RecipientOtpSentOut()

    @router.post("/otp/verify", response_model=RecipientSessionOut)
    def verify_otp(body: RecipientVerifyIn) -> RecipientSessionOut:
        """Sign in with the code texted to your phone; the session lasts two hours."""
        signed = rt.recipients.verify_otp(body.phone, body.code)
        return RecipientSessionOut(token=signed.token, expires_at=signed.expires_at)

    @router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
    def logout(credentials: CredentialsDep) -> Response:
        """End this recipient session."""
        if credentials is not None:
            rt.recipients.sign_out(credentials.credentials)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/parcels", response_model=list[RecipientParcelOut])
    def parcels(recipient: Recipient = me) -> list[RecipientParcelOut]:
        """Your parcels, found through the blind index of your phone; codes while one waits at a station."""
        out = []
        for waybill, stay in rt.recipients.parcels(recipient):
            waiting = stay is not None and stay.picked_up_at is None and waybill.status in AT_A_STATION
            out.append(
                RecipientParcelOut(
                    waybill_no=waybill.waybill_no,
                    status=waybill.status.value,
                    created_at=waybill.created_at,
                    recipient_name=waybill.recipient.name,
                    station_id=stay.station_id if stay else None,
                    shelf_code=stay.shelf_code if waiting and stay else None,
                    pickup_code=stay.pickup_code if waiting and stay else None,
                )
            )
        return out

    @router.get("/parcels/{waybill_no}/timeline", response_model=TimelineOut)
    def timeline(waybill_no: str, recipient: Recipient = me) -> TimelineOut:
        """Every scan of one of your parcels: status, time and place (a hub or station id)."""
        waybill, events = rt.recipients.timeline(recipient, waybill_no)
        return TimelineOut(
            waybill_no=waybill.waybill_no,
            status=waybill.status.value,
            events=[TimelineEventOut(status=e["status"], at=e["at"], place=e["place"]) for e in events],
        )

    @router.get("/who-saw-my-data", response_model=list[DisclosureEntryOut])
    def who_saw(recipient: Recipient = me) -> list[DisclosureEntryOut]:
        """Every reveal, decrypt and break-glass of your parcels' data: role, purpose, time (no staff names)."""
        return [DisclosureEntryOut.of(d) for d in rt.recipients.who_saw(recipient)]

    @router.get("/preferences", response_model=PreferencesOut)
    def get_preferences(recipient: Recipient = me) -> PreferencesOut:
        """Where you accept parcels (station and locker allowed until you change them), beside
        the protections that hold for everyone: masked labels and virtual numbers."""
        return PreferencesOut.of(rt.recipients.preferences(recipient))

    @router.put("/preferences", response_model=PreferencesOut)
    def put_preferences(body: PreferencesIn, recipient: Recipient = me) -> PreferencesOut:
        """Whether stations and lockers may hold your parcels. Masked labels and virtual numbers
        are always on: sending either as false is refused (422) and changes nothing."""
        return PreferencesOut.of(rt.recipients.set_preferences(recipient, body.preferences()))

    @router.post("/identity-code", response_model=IdentityCodeOut)
    def identity_code(recipient: Recipient = me) -> IdentityCodeOut:
        """A two-minute identity code (身份码) to show at a station: the clerk sees your parcels there, not your phone."""
        code, expires_at = rt.recipients.identity_code(recipient)
        svg = segno.make(code, error="M").svg_inline(scale=4)
        return IdentityCodeOut(code=code, expires_at=expires_at, qr_svg=svg)

    @router.post("/leak-reports", response_model=LeakReportOut, status_code=status.HTTP_201_CREATED)
    def report_leak(body: LeakReportIn, recipient: Recipient = me) -> LeakReportOut:
        """Report a suspected leak about some of your parcels; it opens a leak-tracing case."""
        return LeakReportOut.of(rt.recipients.report_leak(recipient, body.kind, body.text, body.waybill_nos))

    @router.get("/leak-reports", response_model=list[LeakReportOut])
    def leak_reports(recipient: Recipient = me) -> list[LeakReportOut]:
        """The leak reports you filed, newest first."""
        return [LeakReportOut.of(r) for r in rt.recipients.leak_reports(recipient)]

    return router


def pages_router() -> APIRouter:
    """The station desk and the recipient portal pages (they call the API above)."""
    router = APIRouter(include_in_schema=False)
    web = Path(__file__).resolve().parent.parent / "web"

    @router.get("/station", response_class=HTMLResponse)
    def station_desk() -> FileResponse:
        return FileResponse(web / "station" / "index.html")

    @router.get("/recipient", response_class=HTMLResponse)
    def recipient_portal() -> FileResponse:
        return FileResponse(web / "recipient" / "index.html")

    return router
