"""API keys: a merchant lists and revokes its own tenant's keys; an administrator any tenant's.

Secrets are shown once, when a key is made (`pwb` CLI); these routes never return one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from privacy_waybill.access.api_keys import Scope
from privacy_waybill.access.model import Resource, Role, Subject
from privacy_waybill.api.deps import caller
from privacy_waybill.errors import FieldError, NotFound
from privacy_waybill.core import TENANT_ID_PATTERN
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.tenants import ApiKeyInfo

KEY_ID = Path(pattern=r"^[0-9a-f]{16}$", description="The key id (the 16 hex digits after pwb_)")


class ApiKeyOut(BaseModel):
    key_id: str
    tenant_id: str
    label: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKeyInfo) -> ApiKeyOut:
        return cls(
            key_id=key.key_id,
            tenant_id=key.tenant_id,
            label=key.label,
            scopes=list(key.scopes),
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


def keys_router(rt: Runtime) -> APIRouter:
    router = APIRouter(prefix="/api-keys", tags=["api keys"])
    who = Depends(caller(rt, Scope.ORDERS_WRITE))

    def tenant_of(subject: Subject, tenant_id: str | None, detail: dict[str, str]) -> str:
        """The tenant whose keys are managed, after the policy allowed it (and audited)."""
        if subject.role is Role.PLATFORM_ADMIN:
            if tenant_id is None or not TENANT_ID_PATTERN.match(tenant_id):
                raise FieldError("tenant_id", "is required for an administrator: a tenant id")
            rt.access.permit(subject, "key.manage", Resource(kind="platform"), rt.access.context(), detail=detail)
            return tenant_id
        resource = Resource(kind="tenant", id=subject.tenant_id, tenant_id=subject.tenant_id)
        rt.access.permit(subject, "key.manage", resource, rt.access.context(), detail=detail)
        if subject.tenant_id is None:
            raise NotFound("no such tenant")
        return subject.tenant_id

    @router.get("", response_model=list[ApiKeyOut])
    def list_keys(
        subject: Subject = who, tenant_id: Annotated[str | None, Query(max_length=64)] = None
    ) -> list[ApiKeyOut]:
        """The tenant's API keys, newest first, revoked ones included."""
        tenant = tenant_of(subject, tenant_id, {"op": "list"})
        return [ApiKeyOut.of(k) for k in rt.tenants.api_keys(tenant)]

    @router.post("/{key_id}/revoke", response_model=ApiKeyOut)
    def revoke_key(
        key_id: Annotated[str, KEY_ID],
        subject: Subject = who,
        tenant_id: Annotated[str | None, Query(max_length=64)] = None,
    ) -> ApiKeyOut:
        """Revoke a key at once (idempotent); another tenant's key answers 404 like a missing one."""
        tenant = tenant_of(subject, tenant_id, {"op": "revoke", "key_id": key_id})
        revoked = rt.tenants.revoke_api_key(tenant, key_id, rt.clock())
        if revoked is None:
            raise NotFound("no such API key")
        return ApiKeyOut.of(revoked)

    return router
