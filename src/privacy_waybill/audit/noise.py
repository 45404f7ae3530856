"""Noise in the audit log: one entry per kind and minute instead of one per request.

Refused anonymous requests (no or bad credentials, malformed input) and anonymous look-ups
that disclose nothing personal are still every one accounted for, but a flood cannot grow the
log by a row per request. The first of each kind in a window is written at once (alerts see
it in real time); the rest of that window is written as one entry with its count when the
window is over (at the next such request, or at shutdown).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from privacy_waybill.audit.model import AuditEvent, AuditSink, Outcome

DEFAULT_WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class NoiseKind:
    action: str
    outcome: Outcome
    rule: str
    tenant_id: str | None = None
    # Anonymous by default; a polling device (a print terminal asking for work) names itself.
    actor: str = "anonymous"
    role: str = "anonymous"


class NoiseAggregator:
    def __init__(
        self, audit: AuditSink, clock: Callable[[], datetime], window_seconds: int = DEFAULT_WINDOW_SECONDS
    ) -> None:
        self._audit = audit
        self._clock = clock
        self._window = window_seconds
        self._counts: dict[tuple[int, NoiseKind], int] = {}
        self._lock = threading.Lock()

    def count(self, kind: NoiseKind, now: datetime) -> None:
        """Account for one anonymous event of `kind`; raises AuditUnavailable like any append."""
        window = math.floor(now.timestamp()) // self._window
        with self._lock:
            due = self._take_finished(window)
            key = (window, kind)
            first = key not in self._counts
            self._counts[key] = self._counts.get(key, 0) + (0 if first else 1)
        events = [self._event(w, k, n) for (w, k), n in due.items() if n]
        if first:
            events.append(self._entry(kind, now, {"aggregate": "first", "window_seconds": str(self._window)}))
        for event in events:
            self._audit.record(event)

    def flush(self) -> None:
        """Write every pending count (at shutdown)."""
        with self._lock:
            due = self._take_finished(None)
        for (window, kind), n in due.items():
            if n:
                self._audit.record(self._event(window, kind, n))

    def _take_finished(self, current: int | None) -> dict[tuple[int, NoiseKind], int]:
        finished = {k: n for k, n in self._counts.items() if current is None or k[0] < current}
        for key in finished:
            del self._counts[key]
        return finished

    def _event(self, window: int, kind: NoiseKind, count: int) -> AuditEvent:
        start = datetime.fromtimestamp(window * self._window, UTC)
        return self._entry(
            kind, self._clock(), {"aggregate": "rest", "count": str(count), "window_start": start.isoformat()}
        )

    @staticmethod
    def _entry(kind: NoiseKind, at: datetime, detail: dict[str, str]) -> AuditEvent:
        return AuditEvent(
            at=at,
            actor=kind.actor,
            role=kind.role,
            action=kind.action,
            outcome=kind.outcome,
            rule=kind.rule,
            tenant_id=kind.tenant_id,
            detail=detail,
        )
