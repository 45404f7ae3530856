"""The FastAPI application: routers for orders, waybills, tracking and oversight, plus the web UI."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy import text

from privacy_waybill import __version__
from privacy_waybill.access.api_keys import Scope
from privacy_waybill.api.auth_routes import auth_router
from privacy_waybill.api.delivery_routes import PHOTO_SIGN_OFF_BODY_BYTES, delivery_router
from privacy_waybill.api.deps import caller
from privacy_waybill.api.guards import BodySizeLimits, SecurityHeaders
from privacy_waybill.api.keys import keys_router
from privacy_waybill.api.orders import orders_router
from privacy_waybill.api.outbox_routes import outbox_router
from privacy_waybill.api.oversight import oversight_router
from privacy_waybill.api.print_routes import print_router
from privacy_waybill.api.problems import install_problem_handlers
from privacy_waybill.api.schemas import HealthOut
from privacy_waybill.api.stations import (
    install_station_problems,
    pages_router,
    recipient_router,
    station_router,
    tracking_by_number_router,
)
from privacy_waybill.api.security import security_router
from privacy_waybill.api.tracking import tracking_router
from privacy_waybill.api.users_routes import users_router
from privacy_waybill.api.waybills import waybills_router
from privacy_waybill.runtime import Runtime

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


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
    app.include_router(_system_router(rt), prefix="/api/v1")
    sign_in = auth_router(rt.identity, lambda: rt.clock(), rt.audit, rt.throttle, rt.device_tag, rt.noise, rt.is_frozen)
    app.include_router(sign_in, prefix="/api/v1")
    printing = print_router(
        rt, rt.printing, authorize=rt.access.require, terminal=caller(rt), merchant=caller(rt, Scope.LABELS_PRINT)
    )
    for router in (orders_router(rt), waybills_router(rt), printing, tracking_router(rt), oversight_router(rt)):
        app.include_router(router, prefix="/api/v1")
    for router in (outbox_router(rt), delivery_router(rt), keys_router(rt), users_router(rt)):
        app.include_router(router, prefix="/api/v1")
    install_station_problems(app)
    for router in (station_router(rt), tracking_by_number_router(rt), recipient_router(rt)):
        app.include_router(router, prefix="/api/v1")
    app.include_router(pages_router())
    app.include_router(security_router(rt), prefix="/api/v1")
    app.include_router(_public_router(rt))
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    body_limits = {
        "/api/v1/orders/upload": rt.settings.max_upload_bytes,
        "/api/v1/orders/batch": rt.settings.max_batch_bytes,
        # A photo sign-off carries the photo (base64) in its JSON body.
        "/api/v1/delivery/parcels/": PHOTO_SIGN_OFF_BODY_BYTES,
    }
    app.add_middleware(BodySizeLimits, limits=body_limits, default=rt.settings.max_json_bytes)
    app.add_middleware(SecurityHeaders)
    return app


def app_from_settings() -> FastAPI:
    """The application on a runtime opened from PWB_* settings: one per `pwb serve` worker."""
    from privacy_waybill.logs import configure_logging
    from privacy_waybill.runtime import open_runtime
    from privacy_waybill.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_dir)
    return create_app(open_runtime(settings))


def _system_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["system"])

    @router.get("/health", response_model=HealthOut)
    def health() -> HealthOut:
        with rt.engine.connect() as conn:
            conn.execute(text("select 1"))
        return HealthOut(status="ok", version=__version__, database=rt.engine.dialect.name)

    return router


def _public_router(rt: Runtime) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    @router.get("/security", response_class=HTMLResponse)
    def security_console() -> FileResponse:
        return FileResponse(WEB_DIR / "security" / "index.html")

    @router.get("/t/{token}", response_class=HTMLResponse)
    def tracking_page() -> FileResponse:
        # The page reads its token from the URL and asks /api/v1/tracking: status only.
        return FileResponse(WEB_DIR / "track.html")

    @router.get("/hub", response_class=HTMLResponse)
    def hub_sorting() -> FileResponse:
        return FileResponse(WEB_DIR / "hub" / "index.html")

    @router.get("/support", response_class=HTMLResponse)
    def support_desk() -> FileResponse:
        return FileResponse(WEB_DIR / "support" / "index.html")

    @router.get("/courier/", response_class=HTMLResponse)
    def courier_page() -> FileResponse:
        return FileResponse(WEB_DIR / "courier" / "index.html")

    @router.get("/operator/users", response_class=HTMLResponse)
    def operator_users_page() -> FileResponse:
        return FileResponse(WEB_DIR / "operator" / "users.html")

    @router.get("/operator/outbox", response_class=HTMLResponse)
    def operator_outbox_page() -> FileResponse:
        return FileResponse(WEB_DIR / "operator" / "outbox.html")

    return router
