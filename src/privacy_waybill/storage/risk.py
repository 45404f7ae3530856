"""Account restrictions, canary waybills, risk alerts and trace cases on SQLAlchemy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from privacy_waybill.risk.engine import RiskAlert
from privacy_waybill.storage.access_tables import Alert
from privacy_waybill.storage.db import dialect_insert
from privacy_waybill.storage.risk_tables import AccountRestriction, CanaryWaybill, TraceCase

RESTRICTIONS = AccountRestriction.__table__
CANARIES = CanaryWaybill.__table__
CASES = TraceCase.__table__
ALERTS = Alert.__table__


@dataclass(frozen=True, slots=True)
class Restriction:
    actor: str
    kind: str
    since: datetime
    signal: str
    alert_id: int | None
    set_by: str


class RestrictionStore:
    """Frozen and step-up accounts, read on every access decision.

    Restricted accounts are few, so the whole table is held in memory and re-read at most
    every `refresh_s` seconds: a change made by this process applies at once, one made by
    another API node within `refresh_s`.
    """

    def __init__(self, engine: Engine, refresh_s: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self._insert = dialect_insert(engine)
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache: dict[str, frozenset[str]] = {}
        self._read_at: float | None = None

    def restrict(self, actor: str, kind: str, since: datetime, signal: str, alert_id: int | None, set_by: str) -> bool:
        """Add the restriction unless the account already has it; True when it was added."""
        with self.engine.begin() as conn:
            added = conn.execute(
                self._insert(RESTRICTIONS)
                .values(actor=actor, kind=kind, since=since, signal=signal, alert_id=alert_id, set_by=set_by)
                .on_conflict_do_nothing()
                .returning(RESTRICTIONS.c.actor)
            ).first()
        self._forget()
        return added is not None

    def lift(self, actor: str, kind: str) -> bool:
        with self.engine.begin() as conn:
            removed = conn.execute(
                delete(RESTRICTIONS).where(RESTRICTIONS.c.actor == actor, RESTRICTIONS.c.kind == kind)
            ).rowcount
        self._forget()
        return removed == 1

    def kinds(self, actor: str) -> frozenset[str]:
        now = self._monotonic()
        with self._lock:
            fresh = self._read_at is not None and now - self._read_at < self._refresh_s
            if not fresh:
                with self.engine.connect() as conn:
                    rows = conn.execute(select(RESTRICTIONS.c.actor, RESTRICTIONS.c.kind)).all()
                cache: dict[str, set[str]] = {}
                for restricted, kind in rows:
                    cache.setdefault(restricted, set()).add(kind)
                self._cache = {a: frozenset(k) for a, k in cache.items()}
                self._read_at = now
            return self._cache.get(actor, frozenset())

    def _forget(self) -> None:
        with self._lock:
            self._read_at = None

    def all(self) -> list[Restriction]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(RESTRICTIONS).order_by(RESTRICTIONS.c.since.desc())).mappings()
            return [Restriction(**row) for row in rows]


class CanaryStore:
    """Planted waybills; the set is cached in memory because every audited event is checked against it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._cache: dict[str, str] | None = None

    def plant(self, waybill_id: str, scope_kind: str, scope: str, now: datetime, planted_by: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(CANARIES).values(
                    waybill_id=waybill_id, scope_kind=scope_kind, scope=scope, planted_on=now, planted_by=planted_by
                )
            )
        with self._lock:
            self._cache = None

    def planted_at(self, waybill_id: str) -> str | None:
        """Where the canary was planted (``station:st01``), or None for a real waybill."""
        cache = self._cache
        if cache is None:
            with self.engine.connect() as conn:
                rows = conn.execute(select(CANARIES.c.waybill_id, CANARIES.c.scope_kind, CANARIES.c.scope)).all()
            cache = {w: f"{kind}:{scope}" for w, kind, scope in rows}
            with self._lock:
                self._cache = cache
        return cache.get(waybill_id)

    def all(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(CANARIES).order_by(CANARIES.c.planted_on)).mappings()]


class RiskAlertStore:
    """Risk alerts go into the same `alerts` table as quota alerts, with their evidence."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, alert: RiskAlert) -> int:
        detail: dict[str, str] = {
            "key": alert.key,
            "key_value": alert.key_value,
            "observed": f"{alert.observed:g}",
            "threshold": f"{alert.threshold:g}",
            "respond": ",".join(r.value for r in alert.respond),
            **alert.detail,
        }
        with self.engine.begin() as conn:
            row = conn.execute(
                insert(ALERTS)
                .values(
                    at=alert.at,
                    severity=alert.severity,
                    kind=alert.signal,
                    actor=alert.actor or alert.key_value,
                    detail=detail,
                    evidence=list(alert.evidence),
                )
                .returning(ALERTS.c.id)
            ).scalar_one()
        return int(row)


class TraceCaseStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, case_id: str, now: datetime, created_by: str, report: Mapping[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(CASES).values(
                    id=case_id,
                    created_at=now,
                    created_by=created_by,
                    leak_rows=int(report["leak"]["rows"]),
                    matched=int(report["leak"]["matched"]),
                    report=dict(report),
                )
            )

    def get(self, case_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(CASES).where(CASES.c.id == case_id)).mappings().first()
        return dict(row) if row else None

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        columns = (CASES.c.id, CASES.c.created_at, CASES.c.created_by, CASES.c.leak_rows, CASES.c.matched)
        with self.engine.connect() as conn:
            rows = conn.execute(select(*columns).order_by(CASES.c.created_at.desc()).limit(limit)).mappings()
            return [dict(r) for r in rows]
