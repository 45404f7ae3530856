"""The public tracking page behind a label's QR code: status only, for anyone."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from privacy_waybill.access.model import Subject
from privacy_waybill.api.deps import caller
from privacy_waybill.api.schemas import TrackingOut
from privacy_waybill.errors import NotFound
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.issuance.references import InvalidReference, verify_reference
from privacy_waybill.runtime import Runtime


def tracking_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["tracking"])
    anyone = Depends(caller(rt, anonymous=True))

    @router.get("/tracking/{token}", response_model=TrackingOut)
    def track(token: str, subject: Subject = anyone) -> TrackingOut:
        """Public: the status behind a label's QR code. No personal data; anonymous look-ups are
        tallied per minute in the audit log."""
        answer = rt.tracking.track_reference(_waybill_of_token(rt, token), subject)
        return TrackingOut(waybill_no=answer.waybill_no, status=answer.status, updated_at=answer.updated_at)

    return router


def _waybill_of_token(rt: Runtime, token: str) -> IssuedWaybill:
    try:
        public_ref = verify_reference(token, rt.reference_keys)
    except InvalidReference:
        raise NotFound("unknown tracking reference") from None
    waybill = rt.waybills.get_by_public_ref(public_ref)
    if waybill is None:
        raise NotFound("unknown tracking reference")
    return waybill
