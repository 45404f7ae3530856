"""Who is calling: credentials to a Subject. Deciding what the Subject may do is the policy's job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from privacy_waybill.access.api_keys import Scope
from privacy_waybill.access.model import Role, Subject
from privacy_waybill.api.problems import Problem
from privacy_waybill.runtime import Runtime

ANONYMOUS = Subject(actor="anonymous", role=Role.ANONYMOUS)

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
        device: Annotated[str | None, Header(alias="X-Device-Id", description="Courier device id")] = None,
    ) -> Subject:
        token = credentials.credentials if credentials else header_key
        if not token:
            if anonymous:
                return ANONYMOUS
            raise Problem(401, "Unauthorized", "Credentials are required.", headers={"WWW-Authenticate": "Bearer"})
        resolved = rt.resolve_token(token, device)
        if resolved is None:
            raise Problem(401, "Unauthorized", "The credentials are not valid.", headers={"WWW-Authenticate": "Bearer"})
        subject, scopes = resolved
        if scope is not None and scopes is not None and scope.value not in scopes:
            raise Problem(403, "Forbidden", f"The API key lacks the scope {scope.value}.")
        return subject

    return dependency
