"""Tenants and their API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from privacy_waybill.access.api_keys import NewApiKey, Scope, secret_matches, split_token
from privacy_waybill.storage.models import ApiKey, Tenant

TENANTS = Tenant.__table__
API_KEYS = ApiKey.__table__


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a verified API key."""

    tenant_id: str
    key_id: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    key_id: str
    tenant_id: str
    label: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


class TenantStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def exists(self, tenant_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(TENANTS.c.id).where(TENANTS.c.id == tenant_id)).first() is not None

    def all_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(TENANTS.c.id).order_by(TENANTS.c.id)).scalars())

    def ensure(self, tenant_id: str, name: str, now: datetime) -> bool:
        """Create the tenant unless it exists; True when it was created."""
        if self.exists(tenant_id):
            return False
        with self.engine.begin() as conn:
            conn.execute(insert(TENANTS).values(id=tenant_id, name=name, created_at=now))
        return True

    def add_api_key(self, tenant_id: str, key: NewApiKey, scopes: tuple[Scope, ...], label: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(API_KEYS).values(
                    id=key.key_id,
                    tenant_id=tenant_id,
                    secret_hash=key.secret_hash,
                    scopes=[s.value for s in scopes],
                    label=label,
                    created_at=now,
                )
            )

    def api_keys(self, tenant_id: str) -> list[ApiKeyInfo]:
        """The tenant's keys, newest first (ids, labels, scopes and times; never a secret or hash)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(API_KEYS).where(API_KEYS.c.tenant_id == tenant_id).order_by(API_KEYS.c.created_at.desc())
            ).mappings()
            return [
                ApiKeyInfo(r["id"], r["tenant_id"], r["label"], tuple(r["scopes"]), r["created_at"], r["revoked_at"])
                for r in rows
            ]

    def revoke_api_key(self, tenant_id: str, key_id: str, now: datetime) -> ApiKeyInfo | None:
        """Revoke the tenant's key (idempotent); None when the tenant has no such key."""
        with self.engine.begin() as conn:
            conn.execute(
                update(API_KEYS)
                .where(API_KEYS.c.id == key_id, API_KEYS.c.tenant_id == tenant_id, API_KEYS.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return next((k for k in self.api_keys(tenant_id) if k.key_id == key_id), None)

    def authenticate(self, token: str) -> Principal | None:
        parts = split_token(token)
        if parts is None:
            return None
        key_id, secret = parts
        with self.engine.connect() as conn:
            row = conn.execute(select(API_KEYS).where(API_KEYS.c.id == key_id)).mappings().first()
        if row is None or row["revoked_at"] is not None or not secret_matches(secret, row["secret_hash"]):
            return None
        return Principal(tenant_id=row["tenant_id"], key_id=key_id, scopes=frozenset(row["scopes"]))
