"""The risk engine: audit events in (in sequence order), alerts out.

Pure and single-threaded: no database, no clock of its own. Time is the time of the events
it is fed (and of `advance`, which a scheduler calls when no events arrive), so a month of
simulated traffic and live traffic run through the same code. State is per signal and key:
rolling windows of event sequence numbers (the evidence), distinct-value windows, hourly
buckets with a rolling baseline, and reveals waiting for their follow-up event.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.audit.model import AuditEvent
from privacy_waybill.risk.rules import Detector, Response, RiskRules, Signal

MAX_EVIDENCE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RiskAlert:
    """What a signal found: who (`actor`, when the key is an account), the key it counted
    per, the figure against its threshold, and the audit sequence numbers that show it."""

    at: datetime
    signal: str
    severity: str
    key: str
    key_value: str
    actor: str | None
    evidence: tuple[int, ...]
    observed: float
    threshold: float
    respond: tuple[Response, ...]
    detail: dict[str, str] = field(default_factory=dict)


def key_of(event: AuditEvent, key: str, unattributed: frozenset[str] = frozenset()) -> str | None:
    if key == "actor" and event.actor in unattributed:
        return None
    if key.startswith("detail."):
        return event.detail.get(key.removeprefix("detail."))
    value = getattr(event, key)
    return value if value else None


class _Window:
    """Sequence numbers of matching events (with their times) within a rolling span."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: deque[tuple[datetime, int]] = deque()

    def add(self, at: datetime, seq: int, span: timedelta) -> int:
        self.items.append((at, seq))
        self.trim(at - span)
        return len(self.items)

    def trim(self, before: datetime) -> None:
        while self.items and self.items[0][0] < before:
            self.items.popleft()

    def evidence(self) -> tuple[int, ...]:
        return tuple(seq for _, seq in list(self.items)[-MAX_EVIDENCE:])


class _DistinctWindow:
    """The last time each distinct value was seen, and its evidence, within a rolling span."""

    __slots__ = ("last_seen",)

    def __init__(self) -> None:
        self.last_seen: dict[str, tuple[datetime, int]] = {}

    def add(self, value: str, at: datetime, seq: int, span: timedelta) -> int:
        self.last_seen[value] = (at, seq)
        cutoff = at - span
        for stale in [v for v, (seen, _) in self.last_seen.items() if seen < cutoff]:
            del self.last_seen[stale]
        return len(self.last_seen)

    def evidence(self) -> tuple[int, ...]:
        return tuple(sorted(seq for _, seq in self.last_seen.values())[-MAX_EVIDENCE:])


class _Baseline:
    """An account's events per bucket: the open bucket and a rolling history of active ones."""

    __slots__ = ("bucket_start", "count", "seqs", "history", "total", "total_squares", "alerted")

    def __init__(self, bucket_start: datetime) -> None:
        self.bucket_start = bucket_start
        self.count = 0
        self.seqs: list[int] = []
        self.history: deque[tuple[datetime, int]] = deque()
        self.total = 0.0
        self.total_squares = 0.0
        self.alerted = False

    def close_bucket(self, next_start: datetime, keep_after: datetime) -> None:
        if self.count:
            self.history.append((self.bucket_start, self.count))
            self.total += self.count
            self.total_squares += self.count * self.count
        while self.history and self.history[0][0] < keep_after:
            _, old = self.history.popleft()
            self.total -= old
            self.total_squares -= old * old
        self.bucket_start, self.count, self.seqs, self.alerted = next_start, 0, [], False

    def limit(self, signal: Signal) -> float:
        """The count at which this bucket is abnormal for this account."""
        buckets = len(self.history)
        if buckets < signal.min_history_buckets:
            return float(signal.cold_start_count)
        mean = self.total / buckets
        variance = max(0.0, self.total_squares / buckets - mean * mean)
        return max(float(signal.min_count), mean + signal.sigmas * math.sqrt(variance))


@dataclass(order=True, slots=True)
class _Pending:
    deadline: datetime
    seq: int
    waybill_id: str = field(compare=False)
    key_value: str = field(compare=False)


class RiskEngine:
    """Feed it `observe(seq, event)` in sequence order; each call returns the alerts it raised."""

    def __init__(self, rules: RiskRules, is_canary: Callable[[str], str | None] = lambda _: None) -> None:
        """`is_canary(waybill_id)` names where a canary was planted, or None for real waybills."""
        self.rules = rules
        self._is_canary = is_canary
        self._signals_by_action: dict[str, list[Signal]] = {}
        self._any_action: list[Signal] = [s for s in rules.signals if "*" in s.actions]
        self._follow_ups: dict[str, list[Signal]] = {}
        for signal in rules.signals:
            for action in signal.actions - {"*"}:
                self._signals_by_action.setdefault(action, []).append(signal)
            for action in signal.follow_up:
                self._follow_ups.setdefault(action, []).append(signal)
        self._by_action: dict[str, list[Signal]] = {}
        self._windows: dict[tuple[str, str], _Window] = {}
        self._distinct: dict[tuple[str, str], _DistinctWindow] = {}
        self._baselines: dict[tuple[str, str], _Baseline] = {}
        self._pending: dict[str, list[_Pending]] = {s.id: [] for s in rules.signals}
        self._open: dict[tuple[str, str], _Pending] = {}
        self._quiet_until: dict[tuple[str, str], datetime] = {}
        self.now: datetime | None = None
        self.events_seen = 0

    def observe(self, seq: int, event: AuditEvent) -> list[RiskAlert]:
        self.events_seen += 1
        alerts = self.advance(event.at)
        for signal in self._follow_ups.get(event.action, ()):
            if event.waybill_id:
                self._open.pop((signal.id, event.waybill_id), None)
        for signal in self._signals_for(event.action):
            if self._matches(signal, event):
                alert = self._detect(signal, seq, event)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def _signals_for(self, action: str) -> list[Signal]:
        signals = self._by_action.get(action)
        if signals is None:
            signals = self._by_action[action] = self._signals_by_action.get(action, []) + self._any_action
        return signals

    def observe_all(self, events: Iterable[tuple[int, AuditEvent]]) -> list[RiskAlert]:
        alerts: list[RiskAlert] = []
        for seq, event in events:
            alerts.extend(self.observe(seq, event))
        return alerts

    def advance(self, now: datetime) -> list[RiskAlert]:
        """Move time forward: reveals whose grace ran out without a follow-up count now."""
        if self.now is None or now > self.now:
            self.now = now
        alerts: list[RiskAlert] = []
        for signal in self.rules.signals:
            if signal.detector is not Detector.UNFOLLOWED:
                continue
            heap = self._pending[signal.id]
            while heap and heap[0].deadline <= self.now:
                pending = heapq.heappop(heap)
                if self._open.get((signal.id, pending.waybill_id)) is not pending:
                    continue  # followed up in time (or superseded by a later reveal)
                del self._open[(signal.id, pending.waybill_id)]
                window = self._windows.setdefault((signal.id, pending.key_value), _Window())
                count = window.add(pending.deadline, pending.seq, signal.window)
                if count >= signal.threshold:
                    alert = self._alert(signal, pending.key_value, pending.deadline, window.evidence(), count)
                    if alert is not None:
                        alerts.append(alert)
        return alerts

    def _matches(self, signal: Signal, event: AuditEvent) -> bool:
        if signal.outcome != "any" and event.outcome.value != signal.outcome:
            return False
        if signal.roles is not None and event.role not in signal.roles:
            return False
        if signal.hours is not None:
            local = (event.at + self.rules.local_utc_offset).time() if event.at.utcoffset() is not None else None
            if local is None or not signal.hours.contains(local):
                return False
        return True

    def _detect(self, signal: Signal, seq: int, event: AuditEvent) -> RiskAlert | None:
        if signal.detector is Detector.CANARY:
            planted = self._is_canary(event.waybill_id) if event.waybill_id else None
            if planted is None:
                return None
            return self._alert(
                signal, event.waybill_id or "", event.at, (seq,), 1,
                actor=event.actor, detail={"planted_at": planted, "action": event.action},
                quiet=False,
            )  # fmt: skip
        key_value = key_of(event, signal.key, self.rules.unattributed_actors)
        if key_value is None:
            return None
        state_key = (signal.id, key_value)
        match signal.detector:
            case Detector.COUNT:
                window = self._windows.setdefault(state_key, _Window())
                count = window.add(event.at, seq, signal.window)
                if count >= signal.threshold:
                    return self._alert(signal, key_value, event.at, window.evidence(), count)
            case Detector.DISTINCT:
                if signal.of is None:  # the rules loader requires `of` for this detector
                    raise PrivacyWaybillError(f"signal {signal.id}: a distinct detector needs `of`")
                value = key_of(event, signal.of, self.rules.unattributed_actors)
                if value is None:
                    return None
                distinct = self._distinct.setdefault(state_key, _DistinctWindow())
                count = distinct.add(value, event.at, seq, signal.window)
                if count >= signal.threshold:
                    return self._alert(
                        signal, key_value, event.at, distinct.evidence(), count,
                        detail={f"distinct_{signal.of}": ",".join(sorted(distinct.last_seen))},
                    )  # fmt: skip
            case Detector.BASELINE:
                return self._baseline(signal, state_key, seq, event)
            case Detector.UNFOLLOWED:
                if event.waybill_id:
                    pending = _Pending(event.at + signal.grace, seq, event.waybill_id, key_value)
                    self._open[(signal.id, event.waybill_id)] = pending
                    heapq.heappush(self._pending[signal.id], pending)
        return None

    def _baseline(self, signal: Signal, state_key: tuple[str, str], seq: int, event: AuditEvent) -> RiskAlert | None:
        bucket_seconds = signal.bucket.total_seconds()
        start = EPOCH + timedelta(seconds=(event.at - EPOCH).total_seconds() // bucket_seconds * bucket_seconds)
        state = self._baselines.get(state_key)
        if state is None:
            state = self._baselines[state_key] = _Baseline(start)
        elif start > state.bucket_start:
            state.close_bucket(start, start - timedelta(days=signal.baseline_days))
        state.count += 1
        state.seqs.append(seq)
        limit = state.limit(signal)
        if state.alerted or state.count < limit:
            return None
        state.alerted = True
        return self._alert(
            signal, state_key[1], event.at, tuple(state.seqs[-MAX_EVIDENCE:]), state.count,
            threshold=limit, detail={"baseline_buckets": str(len(state.history))},
        )  # fmt: skip

    def _alert(
        self,
        signal: Signal,
        key_value: str,
        at: datetime,
        evidence: tuple[int, ...],
        observed: float,
        *,
        threshold: float | None = None,
        actor: str | None = None,
        detail: dict[str, str] | None = None,
        quiet: bool = True,
    ) -> RiskAlert | None:
        if quiet:
            quiet_key = (signal.id, key_value)
            until = self._quiet_until.get(quiet_key)
            if until is not None and at < until:
                return None
            self._quiet_until[quiet_key] = at + signal.quiet_for
        if actor is None and signal.key == "actor":
            actor = key_value
        return RiskAlert(
            at=at,
            signal=signal.id,
            severity=signal.severity,
            key=signal.key,
            key_value=key_value,
            actor=actor,
            evidence=evidence,
            observed=float(observed),
            threshold=float(threshold if threshold is not None else signal.threshold),
            respond=signal.respond,
            detail=detail or {},
        )
