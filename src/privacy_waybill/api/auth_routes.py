"""Sign-in routes: password (+ TOTP) login, logout, the current session, and phone-OTP
sign-in for crowd-courier passes. Authentication only: what a subject may do is decided by
the access policy elsewhere.

Sessions are presented as `Authorization: Bearer <token>`; couriers also send the device id
their session is bound to in `X-Device-Id`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.api.problems import Problem
from privacy_waybill.audit.model import AuditEvent, AuditSink, Outcome
from privacy_waybill.audit.noise import NoiseAggregator, NoiseKind
from privacy_waybill.identity.model import DeviceRejected, OtpFailed, SignedIn, SignInFailed
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.identity.throttle import CredentialThrottle
from privacy_waybill.ratelimit import Throttled

session_bearer = HTTPBearer(auto_error=False, description="Session token from /auth/login or /auth/otp/verify")
DeviceHeader = Annotated[
    str | None, Header(alias="X-Device-Id", pattern=r"^[A-Za-z0-9._:-]{8,128}$", description="Bound device id")
]


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    totp: str | None = Field(default=None, max_length=10, description="Authenticator code; required for staff")


class OtpRequestIn(BaseModel):
    phone: str = Field(max_length=32, description="The mobile number the pass was issued to")


class OtpVerifyIn(BaseModel):
    phone: str = Field(max_length=32)
    code: str = Field(max_length=10)


class SessionOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime
    actor: str
    role: str

    @classmethod
    def of(cls, signed_in: SignedIn) -> SessionOut:
        subject = signed_in.subject
        return cls(token=signed_in.token, expires_at=signed_in.expires_at, actor=subject.actor, role=subject.role)


class SubjectOut(BaseModel):
    """Who the session belongs to and the scope it is bounded by (no personal data)."""

    actor: str
    role: str
    tenant_id: str | None
    hub: str | None
    station: str | None
    route: str | None
    pass_day: str | None


class OtpRequestedOut(BaseModel):
    detail: str = "If the number holds a pass valid today, a code was sent to it."


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def _throttled(error: Throttled) -> Problem:
    return Problem(429, "Too many attempts", str(error), headers={"Retry-After": str(error.retry_after_seconds)})


def client_of(request: Request) -> str:
    """The peer address (a proxy in front must be trusted explicitly; X-Forwarded-For is not)."""
    return request.client.host if request.client else "unknown"


def auth_router(
    identity: IdentityService,
    clock: Callable[[], datetime],
    audit: AuditSink,
    throttle: CredentialThrottle,
    device_tag: Callable[[str | None], str | None],
    noise: NoiseAggregator,
    account_frozen: Callable[[str], bool] = lambda actor: False,
) -> APIRouter:
    """Sign-in routes. Every sign-in, successful or not, is audited (the username never is);
    a session is handed out only after its audit entry is committed. Attempts are throttled
    per (username, client) and per client before any credential is checked. A frozen account
    is refused after its credentials check out (so the refusal tells a stranger nothing)."""
    router = APIRouter(prefix="/auth", tags=["sign-in"])

    def refuse_if_frozen(now: datetime, signed_in: SignedIn, device: str | None) -> None:
        if account_frozen(signed_in.subject.actor):
            identity.sign_out(signed_in.token, now)
            record(now, "session.sign_in", Outcome.DENIED, "risk:frozen", device, signed_in.subject)
            raise Problem(403, "Forbidden", "This account is frozen; an administrator must unfreeze it.")

    def record(
        now: datetime, action: str, outcome: Outcome, rule: str, device: str | None, subject: Subject | None
    ) -> None:
        audit.record(
            AuditEvent(
                at=now,
                actor=subject.actor if subject else "anonymous",
                role=subject.role.value if subject else Role.ANONYMOUS.value,
                action=action,
                outcome=outcome,
                rule=rule,
                tenant_id=subject.tenant_id if subject else None,
                device=device_tag(device),
            )
        )

    @router.post(
        "/login",
        response_model=SessionOut,
        responses={401: {"description": "Any credential problem, always alike"}, 429: {"description": "Throttled"}},
    )
    def login(body: LoginIn, request: Request, device: DeviceHeader = None) -> SessionOut:
        now, client = clock(), client_of(request)
        try:
            throttle.sign_in_attempt(body.username, client, now)
        except Throttled as error:
            # Past the throttle it is a flood: counted per minute, not a row per request.
            noise.count(NoiseKind("session.sign_in", Outcome.DENIED, "sign-in:throttled"), now)
            raise _throttled(error) from None
        try:
            signed_in = identity.sign_in(body.username, body.password, body.totp, device, now)
        except SignInFailed as error:
            record(now, "session.sign_in", Outcome.DENIED, "sign-in:bad-credentials", device, None)
            raise _unauthorized(str(error)) from None
        except DeviceRejected as error:
            record(now, "session.sign_in", Outcome.DENIED, "sign-in:device-rejected", device, None)
            raise Problem(403, "Forbidden", str(error)) from None
        refuse_if_frozen(now, signed_in, device)
        record(now, "session.sign_in", Outcome.ALLOWED, "sign-in:password", device, signed_in.subject)
        throttle.signed_in(body.username, client, now)
        return SessionOut.of(signed_in)

    @router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
    def logout(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(session_bearer)]) -> Response:
        """End this session. Ending an unknown or already ended session also answers 204."""
        if credentials is None:
            raise _unauthorized("A session token is required.")
        identity.sign_out(credentials.credentials, clock())
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/session", response_model=SubjectOut)
    def current_session(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(session_bearer)],
        device: DeviceHeader = None,
    ) -> SubjectOut:
        subject = identity.resolve_session(credentials.credentials, device, clock()) if credentials else None
        if subject is None:
            raise _unauthorized("A live session token (and its device id, for couriers) is required.")
        return _subject_out(subject)

    @router.post("/otp/request", status_code=status.HTTP_202_ACCEPTED, response_model=OtpRequestedOut)
    def request_otp(body: OtpRequestIn, request: Request) -> OtpRequestedOut:
        now = clock()
        try:
            throttle.otp_request(client_of(request), now)
        except Throttled as error:
            raise _throttled(error) from None
        identity.request_otp(body.phone, now)
        return OtpRequestedOut()

    @router.post("/otp/verify", response_model=SessionOut)
    def verify_otp(body: OtpVerifyIn, request: Request, device: DeviceHeader = None) -> SessionOut:
        now = clock()
        try:
            throttle.otp_verify_attempt(body.phone, client_of(request), now)
        except Throttled as error:
            noise.count(NoiseKind("session.sign_in", Outcome.DENIED, "sign-in:otp-throttled"), now)
            raise _throttled(error) from None
        try:
            signed_in = identity.verify_otp(body.phone, body.code, device, now)
        except OtpFailed as error:
            record(now, "session.sign_in", Outcome.DENIED, "sign-in:bad-otp", device, None)
            raise _unauthorized(str(error)) from None
        refuse_if_frozen(now, signed_in, device)
        record(now, "session.sign_in", Outcome.ALLOWED, "sign-in:phone-otp", device, signed_in.subject)
        return SessionOut.of(signed_in)

    return router


def _subject_out(subject: Subject) -> SubjectOut:
    return SubjectOut(
        actor=subject.actor,
        role=subject.role,
        tenant_id=subject.tenant_id,
        hub=subject.hub,
        station=subject.station,
        route=subject.route,
        pass_day=subject.pass_day,
    )
