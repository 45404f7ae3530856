"""Order intake: one order, a JSON batch, or a CSV / JSON Lines file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from fastapi import APIRouter, Depends, Response, UploadFile, status

from privacy_waybill.access.api_keys import Scope
from privacy_waybill.access.model import Resource, Subject
from privacy_waybill.api.deps import caller
from privacy_waybill.api.problems import Problem
from privacy_waybill.api.schemas import BatchIn, BatchOut, BatchResultOut, FieldErrorOut, WaybillOut
from privacy_waybill.issuance.intake import IntakeRecord, UnusableInput, read_orders, records_from_objects
from privacy_waybill.issuance.orders import OrderIn
from privacy_waybill.issuance.service import Issued, Outcome, Rejected
from privacy_waybill.runtime import Runtime

UPLOAD_SUFFIXES = {".csv", ".jsonl", ".ndjson"}


def orders_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["orders"])
    writer = Depends(caller(rt, Scope.ORDERS_WRITE))

    def admit(subject: Subject) -> str:
        """The tenant the caller may create orders for (policy: its own)."""
        rt.access.permit(
            subject, "order.create", Resource(kind="tenant", tenant_id=subject.tenant_id), rt.access.context()
        )
        if subject.tenant_id is None:
            raise Problem(403, "Forbidden", "Orders are created by a merchant for its own tenant.")
        return subject.tenant_id

    def issue(tenant_id: str, subject: Subject, records: Iterable[IntakeRecord]) -> list[Outcome]:
        service = rt.issuance()
        return list(service.issue(tenant_id, records, actor=subject.actor, chunk_size=rt.settings.batch_chunk_size))

    @router.post(
        "/orders",
        response_model=WaybillOut,
        status_code=status.HTTP_201_CREATED,
        responses={200: {"description": "Replay of an order already issued (same order_id, same content)"}},
    )
    def create_order(order: OrderIn, response: Response, subject: Subject = writer) -> WaybillOut:
        [outcome] = issue(admit(subject), subject, [IntakeRecord(1, order.order_id, order, None)])
        if isinstance(outcome, Rejected):
            status_code = 409 if outcome.error.field == "order_id" else 422
            raise Problem(status_code, "Order rejected", "The order could not be issued.", [outcome.error])
        if not isinstance(outcome, Issued):
            raise Problem(422, "Order rejected", "The order could not be issued.")
        if outcome.replayed:
            response.status_code = status.HTTP_200_OK
        return WaybillOut.of(outcome.waybill, rt.tracking_url(outcome.waybill))

    @router.post("/orders/batch", response_model=BatchOut)
    def create_orders(batch: BatchIn, subject: Subject = writer) -> BatchOut:
        """Issue many orders; each is accepted or rejected on its own, with field and reason."""
        return _batch_out(rt, issue(admit(subject), subject, records_from_objects(batch.orders)))

    @router.post("/orders/upload", response_model=BatchOut)
    def upload_orders(file: UploadFile, subject: Subject = writer) -> BatchOut:
        """Issue the orders of a CSV or JSON Lines file (multipart field `file`)."""
        suffix = Path(file.filename or "").suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise Problem(415, "Unsupported file", "Upload a .csv, .jsonl or .ndjson file.")
        limit = rt.settings.max_upload_bytes
        # Checked before reading: a batch is issued chunk by chunk, so a limit hit midway would
        # leave part of the file issued.
        if file.size is not None and file.size > limit:
            raise Problem(413, "Upload too large", f"The file is over the limit of {limit} bytes.")
        tenant_id = admit(subject)
        # Streamed from the spooled upload: no second copy on disk.
        records = read_orders(file.file, format=suffix.lstrip("."), max_bytes=limit)
        try:
            return _batch_out(rt, issue(tenant_id, subject, records))
        except UnusableInput as error:
            raise Problem(422, "Unusable file", str(error)) from None

    return router


def _batch_out(rt: Runtime, outcomes: list[Outcome]) -> BatchOut:
    results = [_result(rt, o) for o in outcomes]
    return BatchOut(
        issued=sum(r.outcome == "issued" for r in results),
        replayed=sum(r.outcome == "replayed" for r in results),
        rejected=sum(r.outcome == "rejected" for r in results),
        results=results,
    )


def _result(rt: Runtime, outcome: Outcome) -> BatchResultOut:
    if isinstance(outcome, Rejected):
        return BatchResultOut(
            position=outcome.position,
            order_id=outcome.order_id,
            outcome="rejected",
            error=FieldErrorOut(field=outcome.error.field, reason=outcome.error.reason),
        )
    return BatchResultOut(
        position=outcome.position,
        order_id=outcome.waybill.order_id,
        outcome="replayed" if outcome.replayed else "issued",
        waybill=WaybillOut.of(outcome.waybill, rt.tracking_url(outcome.waybill)),
    )
