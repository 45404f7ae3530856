"""Waybill reads, labels, purpose-bound disclosures and lifecycle scans, all through the policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from privacy_waybill.access.api_keys import Scope
from privacy_waybill.access.model import Context, Resource, Subject
from privacy_waybill.access.service import waybill_resource
from privacy_waybill.api.deps import caller
from privacy_waybill.api.problems import Problem
from privacy_waybill.api.schemas import (
    BreakGlassIn,
    DisclosureOut,
    PartyViewOut,
    PurposeIn,
    ScanIn,
    ScanOut,
    WaybillOut,
    WaybillViewOut,
)
from privacy_waybill.errors import FieldError, NotFound
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.labels import render_label
from privacy_waybill.labels.model import LabelFormat, LabelSize
from privacy_waybill.runtime import Runtime

LABEL_MEDIA_TYPES = {
    LabelFormat.PDF: "application/pdf",
    LabelFormat.PNG: "image/png",
    LabelFormat.ZPL: "application/zpl",
}
MAX_OFFSET = 1_000_000  # deeper pages are exports, not API reads; also keeps SQL integers in range
DELIVERY_ACTIONS = ("waybill.sign_off", "waybill.hand_over")
# Which act a scan to each status is, for the policy.
SCAN_ACTIONS: dict[WaybillStatus, str] = {
    WaybillStatus.COLLECTED: "waybill.scan",
    WaybillStatus.IN_TRANSIT: "waybill.sort",
    WaybillStatus.AT_STATION: "waybill.check_in",
    WaybillStatus.IN_LOCKER: "waybill.check_in",
    WaybillStatus.OUT_FOR_DELIVERY: "waybill.dispatch",
    WaybillStatus.EXCEPTION: "waybill.scan",
}


def waybills_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["waybills"])
    reader = Depends(caller(rt, Scope.ORDERS_READ))
    printer = Depends(caller(rt, Scope.LABELS_READ))

    def find(waybill_no: str) -> IssuedWaybill:
        waybill = rt.waybills.get_by_number(None, waybill_no.strip().upper())
        if waybill is None:
            raise NotFound("no such waybill")
        return waybill

    @router.get("/waybills", response_model=list[WaybillOut])
    def list_waybills(
        subject: Subject = reader,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> list[WaybillOut]:
        """The caller's own tenant's waybills, masked (merchants)."""
        scope = Resource(kind="waybill", tenant_id=subject.tenant_id)
        rt.access.permit(subject, "waybill.read", scope, rt.access.context(), detail={"list": str(limit)})
        if subject.tenant_id is None:
            # Customer service and other platform roles look waybills up by number, not by list.
            raise Problem(403, "Forbidden", "Only a merchant lists its own tenant's waybills.")
        return [
            WaybillOut.of(w, rt.tracking_url(w)) for w in rt.waybills.list_for_tenant(subject.tenant_id, limit, offset)
        ]

    @router.get("/waybills/{waybill_no}", response_model=WaybillViewOut)
    def get_waybill(waybill_no: str, subject: Subject = reader) -> WaybillViewOut:
        """The waybill with the recipient's fields as the caller's role may see them."""
        waybill = find(waybill_no)
        view = rt.access.view(subject, "waybill.read", waybill, rt.access.context())
        return WaybillViewOut.of(waybill, PartyViewOut.of(view), rt.tracking_url(waybill))

    def disclosure(
        action: str,
        waybill_no: str,
        subject: Subject,
        purpose: str | None,
        ticket: str | None = None,
        reason: str | None = None,
    ) -> DisclosureOut:
        waybill = find(waybill_no)
        view = rt.access.view(
            subject,
            action,
            waybill,
            rt.access.context(purpose=purpose, ticket=ticket, reason=reason),
            also_open=("remark",),
        )
        return DisclosureOut(
            waybill_no=waybill.waybill_no,
            action=action,
            purpose=purpose,
            recipient=PartyViewOut.of(view),
            remark=view.extras.get("remark"),
        )

    @router.post("/waybills/{waybill_no}/reveal", response_model=DisclosureOut)
    def reveal(waybill_no: str, body: PurposeIn, subject: Subject = reader) -> DisclosureOut:
        """Courier: the full address of an assigned parcel out for delivery, for a purpose, under a quota."""
        return disclosure("waybill.reveal", waybill_no, subject, body.purpose)

    @router.post("/waybills/{waybill_no}/decrypt", response_model=DisclosureOut)
    def decrypt(waybill_no: str, body: PurposeIn, subject: Subject = reader) -> DisclosureOut:
        """Merchant: its own order's recipient in full, for a purpose, under a daily quota."""
        return disclosure("waybill.decrypt", waybill_no, subject, body.purpose)

    @router.post("/waybills/{waybill_no}/break-glass", response_model=DisclosureOut)
    def break_glass(waybill_no: str, body: BreakGlassIn, subject: Subject = reader) -> DisclosureOut:
        """Customer service: the full record with a ticket and a reason; flagged for review."""
        return disclosure("waybill.break_glass", waybill_no, subject, "support_ticket", body.ticket, body.reason)

    @router.post("/waybills/{waybill_no}/events", response_model=ScanOut)
    def scan(waybill_no: str, body: ScanIn, subject: Subject = reader) -> ScanOut:
        """A lifecycle scan: collected, sorted, checked in, dispatched to a courier, signed off."""
        if body.status is WaybillStatus.OUT_FOR_DELIVERY and not body.courier:
            raise Problem(
                422,
                "Invalid request",
                "Dispatch names a courier.",
                [FieldError("courier", "is required to go out for delivery")],
            )
        waybill = find(waybill_no)
        resource, context = waybill_resource(waybill), rt.access.context()
        action = _scan_action(rt, subject, body.status, resource, context)
        if body.courier:
            rt.access.require(subject, action, resource, context)
            rt.delivery.check_assignee(subject, waybill, body.courier, context.now)
        rt.access.permit(subject, action, resource, context, detail={"to": body.status.value})
        moved = rt.waybills.transition(
            waybill, body.status, subject.actor, context.now, place=body.place, courier=body.courier
        )
        return ScanOut(waybill_no=moved.waybill_no, status=moved.status.value, assigned_courier=moved.assigned_courier)

    @router.get(
        "/waybills/{waybill_no}/label",
        response_class=Response,
        responses={200: {"content": {t: {} for t in LABEL_MEDIA_TYPES.values()}, "description": "The masked label"}},
    )
    def get_label(
        waybill_no: str,
        subject: Subject = printer,
        format: LabelFormat = LabelFormat.PDF,
        size: LabelSize = LabelSize.STANDARD_100X180,
        dpi: Annotated[int, Query(description="203 or 300", ge=203, le=300)] = 203,
    ) -> Response:
        if dpi not in (203, 300):
            raise Problem(
                422, "Invalid request", "The request has an invalid field.", [FieldError("dpi", "must be 203 or 300")]
            )
        waybill = find(waybill_no)
        rt.access.permit(
            subject, "waybill.label", waybill_resource(waybill), rt.access.context(), detail={"format": format.value}
        )
        body = render_label(rt.label_content(waybill), format, size, dpi)
        return Response(
            body,
            media_type=LABEL_MEDIA_TYPES[format],
            headers={"Content-Disposition": f'inline; filename="{waybill.waybill_no}.{format.value}"'},
        )

    return router


def _scan_action(rt: Runtime, subject: Subject, target: WaybillStatus, resource: Resource, context: Context) -> str:
    if target is WaybillStatus.DELIVERED:
        # A courier signs off at the door, a station clerk hands over at the counter: the act
        # is whichever of the two the policy grants this caller (sign-off when neither, to deny).
        granted = [a for a in DELIVERY_ACTIONS if rt.access_policy.authorize(subject, a, resource, context).allowed]
        return granted[0] if granted else DELIVERY_ACTIONS[0]
    if target not in SCAN_ACTIONS:
        raise Problem(
            422,
            "Invalid request",
            "That status is not set by a scan.",
            [FieldError("status", "cannot be set by a scan")],
        )
    return SCAN_ACTIONS[target]
