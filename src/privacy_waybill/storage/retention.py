"""Retention: which waybills are due for crypto-shredding, and each tenant's retention period.

A waybill is due `retention_days` (the tenant's own, else the platform default) after its
last lifecycle event: for a delivered or returned parcel that is its final state; a parcel
that never moves again (never collected, lost) is shredded as long after its last event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update

from privacy_waybill.errors import FieldError, NotFound
from privacy_waybill.storage.models import Tenant
from privacy_waybill.storage.waybills import EVENTS, WAYBILLS

TENANTS = Tenant.__table__
MAX_RETENTION_DAYS = 3650


class RetentionStore:
    def __init__(self, engine: Engine, default_days: int) -> None:
        self.engine = engine
        self.default_days = default_days

    def set_days(self, tenant_id: str, days: int | None) -> None:
        """Set a tenant's retention period (None: back to the platform default)."""
        if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
            raise FieldError("days", f"must be from 1 to {MAX_RETENTION_DAYS}")
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(TENANTS).where(TENANTS.c.id == tenant_id).values(retention_days=days)
            ).rowcount
        if changed != 1:
            raise NotFound("no such tenant")

    def periods(self) -> dict[str, int]:
        """Every tenant's retention period in days."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(TENANTS.c.id, TENANTS.c.retention_days)).all()
        return {tenant_id: days or self.default_days for tenant_id, days in rows}

    def due(self, tenant_id: str, now: datetime, limit: int) -> list[str]:
        """Unpurged waybills of the tenant whose last lifecycle event is older than its period."""
        cutoff = now - timedelta(days=self.periods()[tenant_id])
        stmt = (
            select(WAYBILLS.c.id)
            .join(EVENTS, EVENTS.c.waybill_id == WAYBILLS.c.id)
            .where(WAYBILLS.c.tenant_id == tenant_id, WAYBILLS.c.purged_at.is_(None))
            .group_by(WAYBILLS.c.id)
            .having(func.max(EVENTS.c.at) < cutoff)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).scalars())
