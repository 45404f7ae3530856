"""Who is calling: credentials to a Subject. Deciding what the Subject may do is the policy's job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from privacy_waybill.access.api_keys import Scope
from privacy_waybill.access.model import Role, Subject
from privacy_waybill.api.problems import Problem
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.audit.noise import NoiseKind
from privacy_waybill.runtime import Runtime

ANONYMOUS = Subject(actor="anonymous", role=Role.ANONYMOUS)
# Recorded headers are validated: nothing but an id of this shape reaches the audit log (as a
# keyed hash), so no caller can write text into it.
DEVICE_ID_PATTERN = r"^[A-Za-z0-9._:-]{8,128}$"
DeviceIdHeader = Annotated[
    str | None,
    Header(
        alias="X-Device-Id", pattern=DEVICE_ID_PATTERN, description="Courier device id (8-128 of A-Z a-z 0-9 . _ : -)"
    ),
]

bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <token>`: a merchant API key (pwb_...), a session (pws_...) "
    "or a print terminal token (pwt_...)",
)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Merchant API key")


def caller(rt: Runtime, scope: Scope | None = None, *, anonymous: bool = False) -> Callable[..., Subject]:
    """A dependency resolving the caller's Subject.

    API keys must also carry `scope` (a key is limited to what it was issued for); sessions
    and terminals are bounded by the policy alone. With `anonymous`, no credentials means
    the anonymous subject instead of 401.
    """

    def dependency(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        header_key: Annotated[str | None, Depends(api_key_header)],
        device: DeviceIdHeader = None,
    ) -> Subject:
        token = credentials.credentials if credentials else header_key
        if not token:
            if anonymous:
                return ANONYMOUS
            refused(rt, "credentials:missing")
            raise Problem(401, "Unauthorized", "Credentials are required.", headers={"WWW-Authenticate": "Bearer"})
        resolved = rt.resolve_token(token, device)
        if resolved is None:
            refused(rt, "credentials:invalid")
            raise Problem(401, "Unauthorized", "The credentials are not valid.", headers={"WWW-Authenticate": "Bearer"})
        subject, scopes = resolved
        if scope is not None and scopes is not None and scope.value not in scopes:
            rt.audit.record(
                AuditEvent(
                    at=rt.clock(), actor=subject.actor, role=subject.role.value, action="request.refused",
                    outcome=Outcome.DENIED, rule=f"scope:{scope.value}", tenant_id=subject.tenant_id,
                    device=subject.device,
                )
            )  # fmt: skip
            raise Problem(403, "Forbidden", f"The API key lacks the scope {scope.value}.")
        return subject

    return dependency


def refused(rt: Runtime, rule: str) -> None:
    """Audit a request refused before the policy saw it (aggregated: it is anonymous noise)."""
    rt.noise.count(NoiseKind("request.refused", Outcome.DENIED, rule), rt.clock())
