"""The FastAPI application: merchant order intake, masked waybill views, labels, tracking."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Response, UploadFile, status
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy import text

from privacy_waybill import __version__
from privacy_waybill.access.api_keys import Scope
from privacy_waybill.api.problems import Problem, install_problem_handlers
from privacy_waybill.api.schemas import (
    BatchIn,
    BatchOut,
    BatchResultOut,
    FieldErrorOut,
    HealthOut,
    TrackingOut,
    WaybillOut,
)
from privacy_waybill.errors import FieldError, NotFound
from privacy_waybill.issuance.intake import (
    IntakeRecord,
    UnusableInput,
    read_orders,
    records_from_objects,
)
from privacy_waybill.issuance.orders import OrderIn
from privacy_waybill.issuance.references import InvalidReference, verify_reference
from privacy_waybill.issuance.service import Issued, Outcome, Rejected
from privacy_waybill.labels import render_label
from privacy_waybill.labels.model import LabelFormat, LabelSize
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.tenants import Principal

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
LABEL_MEDIA_TYPES = {
    LabelFormat.PDF: "application/pdf",
    LabelFormat.PNG: "image/png",
    LabelFormat.ZPL: "application/zpl",
}
UPLOAD_SUFFIXES = {".csv", ".jsonl", ".ndjson"}

bearer = HTTPBearer(auto_error=False, description="Merchant API key: `Authorization: Bearer pwb_...`")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Merchant API key")


def create_app(rt: Runtime) -> FastAPI:
    # FastAPIOffline serves the Swagger UI assets from the package: /docs works offline
    # and asks no third-party CDN for scripts.
    app = FastAPIOffline(
        title="privacy-waybill",
        version=__version__,
        description="Privacy waybills: personal data sealed in a vault, masked labels, audited access.",
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.runtime = rt
    install_problem_handlers(app)
    app.include_router(_api_router(rt), prefix="/api/v1")
    app.include_router(_public_router(rt))
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    return app


def _principal(rt: Runtime, scope: Scope):  # type: ignore[no-untyped-def]
    def dependency(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        header_key: Annotated[str | None, Depends(api_key_header)],
    ) -> Principal:
        token = credentials.credentials if credentials else header_key
        principal = rt.tenants.authenticate(token) if token else None
        if principal is None:
            raise Problem(
                401, "Unauthorized", "A valid merchant API key is required.", headers={"WWW-Authenticate": "Bearer"}
            )
        if scope.value not in principal.scopes:
            raise Problem(403, "Forbidden", f"The API key lacks the scope {scope.value}.")
        return principal

    return dependency


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


def _batch(rt: Runtime, tenant_id: str, records: list[IntakeRecord] | object) -> BatchOut:
    outcomes = list(
        rt.issuance().issue(tenant_id, records, actor=f"api:{tenant_id}", chunk_size=rt.settings.batch_chunk_size)
    )  # type: ignore[arg-type]
    results = [_result(rt, o) for o in outcomes]
    return BatchOut(
        issued=sum(r.outcome == "issued" for r in results),
        replayed=sum(r.outcome == "replayed" for r in results),
        rejected=sum(r.outcome == "rejected" for r in results),
        results=results,
    )


def _api_router(rt: Runtime) -> APIRouter:
    router = APIRouter()
    can_write = Depends(_principal(rt, Scope.ORDERS_WRITE))
    can_read = Depends(_principal(rt, Scope.ORDERS_READ))
    can_print = Depends(_principal(rt, Scope.LABELS_READ))

    @router.get("/health", response_model=HealthOut, tags=["system"])
    def health() -> HealthOut:
        with rt.engine.connect() as conn:
            conn.execute(text("select 1"))
        return HealthOut(status="ok", version=__version__, database=rt.engine.dialect.name)

    @router.post(
        "/orders",
        response_model=WaybillOut,
        status_code=status.HTTP_201_CREATED,
        tags=["orders"],
        responses={200: {"description": "Replay of an order already issued (same order_id, same content)"}},
    )
    def create_order(order: OrderIn, response: Response, principal: Principal = can_write) -> WaybillOut:
        [outcome] = rt.issuance().issue(
            principal.tenant_id, [IntakeRecord(1, order.order_id, order, None)], actor=f"api:{principal.key_id}"
        )
        if isinstance(outcome, Rejected):
            status_code = 409 if outcome.error.field == "order_id" else 422
            raise Problem(status_code, "Order rejected", "The order could not be issued.", [outcome.error])
        assert isinstance(outcome, Issued)
        if outcome.replayed:
            response.status_code = status.HTTP_200_OK
        return WaybillOut.of(outcome.waybill, rt.tracking_url(outcome.waybill))

    @router.post("/orders/batch", response_model=BatchOut, tags=["orders"])
    def create_orders(batch: BatchIn, principal: Principal = can_write) -> BatchOut:
        """Issue many orders; each is accepted or rejected on its own, with field and reason."""
        return _batch(rt, principal.tenant_id, records_from_objects(batch.orders))

    @router.post("/orders/upload", response_model=BatchOut, tags=["orders"])
    def upload_orders(file: UploadFile, principal: Principal = can_write) -> BatchOut:
        """Issue the orders of a CSV or JSON Lines file (multipart field `file`)."""
        suffix = Path(file.filename or "").suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            raise Problem(415, "Unsupported file", "Upload a .csv, .jsonl or .ndjson file.")
        limit = rt.settings.max_upload_bytes
        # Checked before reading: a batch is issued chunk by chunk, so a limit hit midway would
        # leave part of the file issued.
        if file.size is not None and file.size > limit:
            raise Problem(413, "Upload too large", f"The file is over the limit of {limit} bytes.")
        # Streamed from the spooled upload: no second copy on disk.
        records = read_orders(file.file, format=suffix.lstrip("."), max_bytes=limit)
        try:
            return _batch(rt, principal.tenant_id, records)
        except UnusableInput as error:
            raise Problem(422, "Unusable file", str(error)) from None

    @router.get("/waybills", response_model=list[WaybillOut], tags=["waybills"])
    def list_waybills(
        principal: Principal = can_read,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[WaybillOut]:
        return [
            WaybillOut.of(w, rt.tracking_url(w))
            for w in rt.waybills.list_for_tenant(principal.tenant_id, limit, offset)
        ]

    def own_waybill(tenant_id: str, waybill_no: str):  # type: ignore[no-untyped-def]
        waybill = rt.waybills.get_by_number(tenant_id, waybill_no.strip().upper())
        if waybill is None:
            raise NotFound("no such waybill for this merchant")
        return waybill

    @router.get("/waybills/{waybill_no}", response_model=WaybillOut, tags=["waybills"])
    def get_waybill(waybill_no: str, principal: Principal = can_read) -> WaybillOut:
        waybill = own_waybill(principal.tenant_id, waybill_no)
        return WaybillOut.of(waybill, rt.tracking_url(waybill))

    @router.get(
        "/waybills/{waybill_no}/label",
        tags=["waybills"],
        response_class=Response,
        responses={200: {"content": {t: {} for t in LABEL_MEDIA_TYPES.values()}, "description": "The masked label"}},
    )
    def get_label(
        waybill_no: str,
        principal: Principal = can_print,
        format: LabelFormat = LabelFormat.PDF,
        size: LabelSize = LabelSize.STANDARD_100X180,
        dpi: Annotated[int, Query(description="203 or 300", ge=203, le=300)] = 203,
    ) -> Response:
        if dpi not in (203, 300):
            raise Problem(
                422, "Invalid request", "The request has an invalid field.", [FieldError("dpi", "must be 203 or 300")]
            )
        waybill = own_waybill(principal.tenant_id, waybill_no)
        body = render_label(rt.label_content(waybill), format, size, dpi)
        filename = f"{waybill.waybill_no}.{format.value}"
        return Response(
            body,
            media_type=LABEL_MEDIA_TYPES[format],
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )

    @router.get("/tracking/{token}", response_model=TrackingOut, tags=["tracking"])
    def track(token: str) -> TrackingOut:
        """Public: the status behind a label's QR code. No personal data."""
        waybill = _waybill_of_token(rt, token)
        return TrackingOut(waybill_no=waybill.waybill_no, status=waybill.status.value, updated_at=waybill.created_at)

    return router


def _waybill_of_token(rt: Runtime, token: str):  # type: ignore[no-untyped-def]
    try:
        public_ref = verify_reference(token, rt.reference_key)
    except InvalidReference:
        raise NotFound("unknown tracking reference") from None
    waybill = rt.waybills.get_by_public_ref(public_ref)
    if waybill is None:
        raise NotFound("unknown tracking reference")
    return waybill


def _public_router(rt: Runtime) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    @router.get("/t/{token}", response_class=HTMLResponse)
    def tracking_page() -> FileResponse:
        # The page reads its token from the URL and asks /api/v1/tracking: status only.
        return FileResponse(WEB_DIR / "track.html")

    return router
