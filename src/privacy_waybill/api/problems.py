"""RFC 9457 problem details. Bodies name fields and reasons, never submitted values."""

from __future__ import annotations

import logging
import secrets
import string
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privacy_waybill.access.service import Forbidden, QuotaExceeded
from privacy_waybill.audit.model import AuditUnavailable
from privacy_waybill.audit.model import Outcome as AuditOutcome
from privacy_waybill.audit.noise import NoiseKind
from privacy_waybill.errors import Conflict, FieldError, Gone, NotFound, PrivacyWaybillError
from privacy_waybill.issuance.orders import field_error_from
from privacy_waybill.ratelimit import RateLimiterUnavailable, Throttled
from privacy_waybill.storage.redis_quotas import QuotaStoreUnavailable
from privacy_waybill.telephony.model import BindingStoreUnavailable
from privacy_waybill.vault.errors import KeyShredded, VaultError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("privacy_waybill.api")


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status, self.title, self.detail, self.errors, self.headers = status, title, detail, errors or [], headers


OTHER_TENANT_CONDITION = "own_tenant"
NOT_FOUND_DETAIL = "no such waybill"
VAULT_FAULT = "urn:privacy-waybill:problem:vault-fault"
DATABASE_UNAVAILABLE = "urn:privacy-waybill:problem:database-unavailable"
RETRY_AFTER_SECONDS = "5"
INCIDENT_LETTERS = 12


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    problem_type: str = "about:blank",
    instance: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": problem_type, "title": title, "status": status}
    if instance:
        body["instance"] = instance
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = [{"field": e.field, "reason": e.reason} for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _request_field_error(error: dict[str, Any]) -> FieldError:
    # A JSON syntax error is located by character offset, which is no field of the request.
    if error["type"] == "json_invalid":
        return FieldError("body", "is not valid JSON")
    return field_error_from(error, drop_leading=("body", "query", "path", "header"))


# Domain errors by class (the most specific listed base wins); their messages name no values.
DOMAIN_STATUS: dict[type[PrivacyWaybillError], tuple[int, str]] = {
    PrivacyWaybillError: (400, "Bad request"),
    NotFound: (404, "Not found"),
    Conflict: (409, "Conflict"),
    Gone: (410, "Gone"),
    Forbidden: (403, "Forbidden"),
    QuotaExceeded: (429, "Too many requests"),
    AuditUnavailable: (503, "Audit log unavailable"),
    RateLimiterUnavailable: (503, "Rate limits unavailable"),
    QuotaStoreUnavailable: (503, "Quota store unavailable"),
    BindingStoreUnavailable: (503, "Binding store unavailable"),
}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Refused before any policy decision: audited, aggregated (the caller is not known yet).
        # Apps assembled without a runtime (a router under test) have no log to count in.
        rt = getattr(request.app.state, "runtime", None)
        if rt is not None:
            rt.noise.count(NoiseKind("request.refused", AuditOutcome.DENIED, "invalid-request"), rt.clock())
        # FastAPI's default body echoes the input; rebuild reasons from error types only.
        errors = [_request_field_error(e) for e in exc.errors()]
        return problem_response(422, "Invalid request", "The request has invalid fields.", errors)

    @app.exception_handler(FieldError)
    async def _field(_: Request, exc: FieldError) -> JSONResponse:
        return problem_response(422, "Invalid request", "The request has an invalid field.", [exc])

    @app.exception_handler(PrivacyWaybillError)
    async def _domain(_: Request, exc: PrivacyWaybillError) -> JSONResponse:
        kind = next((cls for cls in type(exc).__mro__ if cls in DOMAIN_STATUS), PrivacyWaybillError)
        status, title = DOMAIN_STATUS[kind]
        return problem_response(status, title, str(exc))

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        # Another tenant's record answers exactly like a missing one: a 403 would confirm that
        # the waybill number exists (the denial is audited all the same).
        if exc.decision.unmet == OTHER_TENANT_CONDITION:
            return problem_response(404, "Not found", NOT_FOUND_DETAIL)
        return problem_response(403, "Forbidden", str(exc))

    @app.exception_handler(Throttled)
    async def _throttled(_: Request, exc: Throttled) -> JSONResponse:
        return problem_response(
            429, "Too many requests", str(exc), headers={"Retry-After": str(exc.retry_after_seconds)}
        )

    @app.exception_handler(KeyShredded)
    async def _shredded(_: Request, exc: KeyShredded) -> JSONResponse:
        return problem_response(410, "Gone", "The waybill's personal data was purged.")

    @app.exception_handler(VaultError)
    async def _vault(_: Request, exc: VaultError) -> JSONResponse:
        # Key-store and vault messages name server paths and key ids: they go to the log under
        # an incident id, and the caller gets the id only.
        # Letters only: a hex id can hold a digit run that the log scrubber takes for a phone.
        incident = "".join(secrets.choice(string.ascii_lowercase) for _ in range(INCIDENT_LETTERS))
        log.error("vault fault %s: %s: %s", incident, type(exc).__name__, exc)
        return problem_response(
            503,
            "Vault unavailable",
            "The personal data vault could not serve this request; quote the incident id to support.",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
            problem_type=VAULT_FAULT,
            instance=f"urn:privacy-waybill:incident:{incident}",
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_gone(_: Request, exc: DBAPIError) -> JSONResponse:
        # The driver's text can quote bound values: the type only is logged.
        log.error("database unavailable: %s", type(exc.orig).__name__ if exc.orig else type(exc).__name__)
        return problem_response(
            503,
            "Database unavailable",
            "The database cannot be reached; nothing was changed. Retry shortly.",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
            problem_type=DATABASE_UNAVAILABLE,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    app.add_middleware(ContainUnexpectedErrors)


class ContainUnexpectedErrors:
    """Answer an unhandled exception with a bare 500 problem and log only its type.

    An exception handler for `Exception` is not enough: Starlette's error middleware re-raises
    after answering so that the server logs the traceback, and the exception text may quote
    personal data. This layer sits inside it and stops the exception there.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def send_and_note(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception as exc:  # noqa: BLE001 - every escaping error, by design
            log.error("unhandled %s", type(exc).__name__)
            if not response_started:
                response = problem_response(500, "Internal error", "The error was logged without request data.")
                await response(scope, receive, send)
