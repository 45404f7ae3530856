"""Quota counters and alerts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import RowMapping

from privacy_waybill.storage.access_tables import Alert, QuotaUsage
from privacy_waybill.storage.db import dialect_insert

QUOTAS = QuotaUsage.__table__
ALERTS = Alert.__table__


class _WindowFull(Exception):
    def __init__(self, window: str) -> None:
        self.window = window


class QuotaStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = dialect_insert(engine)

    def consume(self, actor: str, quota: str, windows: list[tuple[str, int]]) -> str | None:
        """Count one use in every window, or in none when any is full (then name that window).

        One transaction with conditional increments, so concurrent requests cannot both take
        the last unit.
        """
        try:
            with self.engine.begin() as conn:
                for window, limit in windows:
                    conn.execute(
                        self._insert(QUOTAS)
                        .values(actor=actor, quota=quota, window=window, count=0)
                        .on_conflict_do_nothing()
                    )
                    taken = conn.execute(
                        update(QUOTAS)
                        .where(
                            QUOTAS.c.actor == actor,
                            QUOTAS.c.quota == quota,
                            QUOTAS.c.window == window,
                            QUOTAS.c.count < limit,
                        )
                        .values(count=QUOTAS.c.count + 1)
                    ).rowcount
                    if taken != 1:
                        raise _WindowFull(window)  # rolls back the other windows' increments
        except _WindowFull as full:
            return full.window
        return None

    def used(self, actor: str, quota: str, window: str) -> int:
        with self.engine.connect() as conn:
            count = conn.execute(
                select(QUOTAS.c.count).where(
                    QUOTAS.c.actor == actor, QUOTAS.c.quota == quota, QUOTAS.c.window == window
                )
            ).scalar()
        return count or 0


class AlertStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def raise_alert(self, at: datetime, severity: str, kind: str, actor: str, detail: Mapping[str, str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(ALERTS).values(at=at, severity=severity, kind=kind, actor=actor, detail=dict(detail)))

    def recent(self, limit: int = 100, kind: str | None = None) -> list[RowMapping]:
        stmt = select(ALERTS).order_by(ALERTS.c.id.desc()).limit(limit)
        if kind:
            stmt = stmt.where(ALERTS.c.kind == kind)
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).mappings())
