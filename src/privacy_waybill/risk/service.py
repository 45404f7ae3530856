"""Applying what the engine finds, and feeding it: the responder and the in-process consumer.

The responder stores each alert with its evidence and carries out its responses: `notify`
(the security team's notifier), `step_up` (the account must sign in again with its second
factor before its next disclosure) and `freeze` (every request refused, sessions ended, until
an administrator unfreezes it). Each restriction, and each lifting of one, is audited.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from privacy_waybill.audit.model import AuditEvent, AuditSink, Outcome
from privacy_waybill.errors import NotFound
from privacy_waybill.risk.engine import RiskAlert, RiskEngine
from privacy_waybill.risk.rules import Response

log = logging.getLogger("privacy_waybill.risk")

ENGINE_ACTOR = "risk:engine"
ENGINE_ROLE = "system"
FREEZE, STEP_UP = "freeze", "step_up"
# Only these actors are accounts that can be restricted (users, crowd passes, API keys, terminals).
ACCOUNT_KINDS = frozenset({"user", "pass", "key", "terminal"})
# Actions that prove the account holder again (a password + TOTP or a phone-OTP sign-in).
STEP_UP_PROOF = "session.sign_in"
RESTRICTION_ACTIONS = {FREEZE: "account.freeze", STEP_UP: "account.step_up"}
LIFT_ACTIONS = {FREEZE: "account.unfreeze", STEP_UP: "account.step_up_cleared"}


class AlertStorePort(Protocol):
    def add(self, alert: RiskAlert) -> int: ...


class RestrictionPort(Protocol):
    def restrict(
        self, actor: str, kind: str, since: datetime, signal: str, alert_id: int | None, set_by: str
    ) -> bool: ...
    def lift(self, actor: str, kind: str) -> bool: ...
    def kinds(self, actor: str) -> frozenset[str]: ...


class SecurityNotifier(Protocol):
    def alert_raised(self, alert_id: int, alert: RiskAlert) -> None: ...


class LogNotifier:
    """The default notifier: one warning line per alert, ids only (a pager adapter replaces it)."""

    def alert_raised(self, alert_id: int, alert: RiskAlert) -> None:
        log.warning("risk alert %d: %s (%s) on %s", alert_id, alert.signal, alert.severity, alert.key)


class RiskResponder:
    def __init__(
        self,
        alerts: AlertStorePort,
        restrictions: RestrictionPort,
        audit: AuditSink,
        end_sessions: Callable[[str, datetime], None],
        notifier: SecurityNotifier | None = None,
    ) -> None:
        self._alerts = alerts
        self._restrictions = restrictions
        self._audit = audit
        self._end_sessions = end_sessions
        self._notifier = notifier or LogNotifier()

    def apply(self, alert: RiskAlert) -> int:
        alert_id = self._alerts.add(alert)
        if Response.NOTIFY in alert.respond:
            self._notifier.alert_raised(alert_id, alert)
        if alert.actor and alert.actor.split(":", 1)[0] in ACCOUNT_KINDS:
            if Response.FREEZE in alert.respond:
                self.restrict(alert.actor, FREEZE, alert.at, alert.signal, alert_id, ENGINE_ACTOR, ENGINE_ROLE)
            elif Response.STEP_UP in alert.respond:
                self.restrict(alert.actor, STEP_UP, alert.at, alert.signal, alert_id, ENGINE_ACTOR, ENGINE_ROLE)
        return alert_id

    def restrict(
        self, actor: str, kind: str, at: datetime, signal: str, alert_id: int | None, by: str, by_role: str
    ) -> bool:
        """Restrict `actor` (audited); a freeze also ends its sessions. False when already so."""
        if not self._restrictions.restrict(actor, kind, at, signal, alert_id, by):
            return False
        detail = {"account": actor, "signal": signal, **({"alert": str(alert_id)} if alert_id else {})}
        self._record(at, by, by_role, RESTRICTION_ACTIONS[kind], f"risk:{signal}", detail)
        if kind == FREEZE:
            self._end_sessions(actor, at)
        return True

    def lift(self, actor: str, kind: str, at: datetime, by: str, by_role: str, rule: str) -> None:
        """Lift a restriction (audited); NotFound when the account does not have it."""
        if not self._restrictions.lift(actor, kind):
            raise NotFound(f"the account is not under {kind.replace('_', '-')}")
        self._record(at, by, by_role, LIFT_ACTIONS[kind], rule, {"account": actor})

    def proved_again(self, actor: str, at: datetime) -> None:
        """A fresh sign-in with the second factor clears a step-up."""
        if STEP_UP in self._restrictions.kinds(actor):
            self.lift(actor, STEP_UP, at, ENGINE_ACTOR, ENGINE_ROLE, "risk:step-up-proved")

    def _record(self, at: datetime, actor: str, role: str, action: str, rule: str, detail: dict[str, str]) -> None:
        self._audit.record(
            AuditEvent(at=at, actor=actor, role=role, action=action, outcome=Outcome.ALLOWED, rule=rule, detail=detail)
        )


class InProcessRiskConsumer:
    """Observer of the audit writer: every committed entry goes through the engine at once.

    Entries the responder itself writes (a freeze's audit entry) arrive re-entrantly; they are
    queued and handled by the call already draining, so the engine sees one ordered stream
    and is never entered twice. Across threads, one drains while the others only enqueue.
    """

    def __init__(self, engine: RiskEngine, responder: RiskResponder) -> None:
        self.engine = engine
        self.responder = responder
        self._queue: deque[tuple[int, AuditEvent]] = deque()
        self._queue_lock = threading.Lock()
        self._draining = threading.Lock()

    def __call__(self, entries: Sequence[tuple[int, AuditEvent]]) -> None:
        with self._queue_lock:
            self._queue.extend(entries)
        while self._queue and self._draining.acquire(blocking=False):
            try:
                self._drain()
            finally:
                self._draining.release()

    def warm_up(self, entries: Iterable[tuple[int, AuditEvent]]) -> int:
        """Replay past entries into the engine (baselines, open windows) without acting on them:
        what they would have raised was raised when they happened. Returns how many."""
        replayed = 0
        with self._draining:
            for seq, event in entries:
                self.engine.observe(seq, event)
                replayed += 1
        return replayed

    def tick(self, now: datetime) -> list[int]:
        """Let time pass without events (the scheduler calls this); returns new alert ids."""
        with self._draining:
            alert_ids = [self.responder.apply(alert) for alert in self.engine.advance(now)]
        # What the responder audited meanwhile (a freeze) was queued, the engine being held.
        self(())
        return alert_ids

    def _drain(self) -> None:
        while True:
            with self._queue_lock:
                if not self._queue:
                    return
                seq, event = self._queue.popleft()
            self.handle(seq, event)

    def handle(self, seq: int, event: AuditEvent) -> None:
        for alert in self.engine.observe(seq, event):
            self.responder.apply(alert)
        if event.action == STEP_UP_PROOF and event.outcome is Outcome.ALLOWED:
            self.responder.proved_again(event.actor, event.at)
