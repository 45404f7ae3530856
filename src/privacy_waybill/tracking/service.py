"""Tracking by waybill number, with the limits of policies/tracking.yaml.

Order of work per look-up: the per-client limit is counted before the database is asked, so a
throttled client costs one counter increment; an unknown number counts towards the client's
enumeration budget, and running over it raises a risk event (alert `tracking_enumeration`)
once per window; so does a client that keeps hammering past its own limit. The last 4 digits are checked in constant time, at most a few wrong answers
per waybill per hour. A signed-in recipient tracking their own parcel is never counted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.access.policy import AccessPolicy
from privacy_waybill.access.service import AccessService, AlertPort, waybill_resource
from privacy_waybill.audit.model import AuditEvent, AuditSink, Outcome
from privacy_waybill.errors import NotFound, PrivacyWaybillError
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.issuance.numbers import is_valid_waybill_no
from privacy_waybill.ratelimit import Limit, RateLimiter, RateLimiterUnavailable
from privacy_waybill.stations.codes import check_last4, phone_last4
from privacy_waybill.stations.model import Station
from privacy_waybill.tracking.policy import TrackingPolicy
from privacy_waybill.tracking.tally import LookupTally
from privacy_waybill.vault.keyring import KeySource

log = logging.getLogger("privacy_waybill.tracking")

AT_A_STATION = frozenset({WaybillStatus.AT_STATION, WaybillStatus.IN_LOCKER})


class Throttled(PrivacyWaybillError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many tracking look-ups; wait before trying again")
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True, slots=True)
class TrackingAnswer:
    waybill_no: str
    status: str
    updated_at: datetime
    location: str | None
    verified: bool
    recipient_name: str | None = None
    station_name: str | None = None
    station_kind: str | None = None


class WaybillLookup(Protocol):
    def get_by_number(self, tenant_id: str | None, waybill_no: str) -> IssuedWaybill | None: ...
    def events(self, waybill_id: str) -> Sequence[Mapping[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class TrackingPorts:
    waybills: WaybillLookup
    station_holding: Callable[[str], Station | None]
    limiter: RateLimiter
    policy: TrackingPolicy
    access_policy: AccessPolicy
    access: AccessService
    audit: AuditSink
    alerts: AlertPort
    tally: LookupTally
    client_key: KeySource
    clock: Callable[[], datetime]
    # Planted canaries (risk): a look-up of one is audited on its own, never only tallied.
    is_canary: Callable[[str], bool] = lambda waybill_id: False


class TrackingService:
    def __init__(self, ports: TrackingPorts) -> None:
        self._p = ports

    def client_id(self, client_address: str) -> str:
        """A keyed hash of the client's address: counters and alerts never hold the address."""
        return hmac.new(self._p.client_key.current()[1], client_address.encode(), hashlib.sha256).hexdigest()[:20]

    def track(
        self,
        waybill_no: str,
        *,
        client_address: str,
        subject: Subject,
        last4: str | None = None,
        own_subject: Callable[[IssuedWaybill], Subject] | None = None,
    ) -> TrackingAnswer:
        """The answer for `waybill_no`. `own_subject` is given for a signed-in recipient: it
        names them to the policy for a waybill's tenant, and their own parcels skip the limits."""
        number = waybill_no.strip().upper()
        now = self._p.clock()
        digits = check_last4(last4) if last4 is not None else None
        if own_subject is not None:
            waybill = self._find(number)
            if waybill is not None and self._owns(own_subject(waybill), waybill, now):
                return self._answer(own_subject(waybill), waybill, verified=True)
        client = self.client_id(client_address)
        try:
            self._limit(self._p.policy.per_client, client, now, subject, client)
        except RateLimiterUnavailable:
            # Degraded on purpose while the counters are down: status only, no last-4 check.
            log.error("tracking limits unavailable; answering status only")
            return self._answer(subject, self._found_or_missed(number, client, now, subject, count=False), False)
        waybill = self._found_or_missed(number, client, now, subject)
        self._limit(self._p.policy.per_waybill, waybill.waybill_id, now, subject)
        verified = digits is not None and self._last4_matches(waybill, digits, now)
        return self._answer(subject, waybill, verified)

    def flush(self) -> None:
        """Write the anonymous look-ups counted so far to the audit log."""
        self._p.tally.flush()

    def track_reference(self, waybill: IssuedWaybill, subject: Subject) -> TrackingAnswer:
        """The answer behind a label's QR code: the signed reference cannot be guessed, so it
        needs no enumeration limit."""
        return self._answer(subject, waybill, verified=False)

    def _find(self, number: str) -> IssuedWaybill | None:
        if not is_valid_waybill_no(number):
            return None  # a wrong check digit is a miss without asking the database
        return self._p.waybills.get_by_number(None, number)

    def _owns(self, subject: Subject, waybill: IssuedWaybill, now: datetime) -> bool:
        context = self._p.access.context()
        return self._p.access_policy.authorize(subject, "waybill.read", waybill_resource(waybill), context).allowed

    def _limit(self, limit: Limit, key: str, now: datetime, subject: Subject, client: str | None = None) -> None:
        """Count a look-up under `limit`; a client refused by its own limit also spends its
        enumeration budget, as an unknown number does (a script keeps hammering, a person stops)."""
        verdict = self._p.limiter.hit(limit, key, now)
        if not verdict.allowed:
            if subject.role is Role.ANONYMOUS:
                self._p.tally.count(now, "throttled")
            if client is not None:
                self._count_miss(client, now, subject)
            raise Throttled(verdict.retry_after_seconds)

    def _found_or_missed(
        self, number: str, client: str, now: datetime, subject: Subject, count: bool = True
    ) -> IssuedWaybill:
        waybill = self._find(number)
        if waybill is not None:
            return waybill
        if subject.role is Role.ANONYMOUS:
            self._p.tally.count(now, "missed")
        if count:
            self._count_miss(client, now, subject)
        raise NotFound("no such waybill")

    def _count_miss(self, client: str, now: datetime, subject: Subject) -> None:
        policy = self._p.policy
        if self._p.limiter.hit(policy.enumeration, client, now).allowed:
            return
        if not self._p.limiter.hit(policy.alert_once, client, now).allowed:
            return
        detail = {
            "client": client,
            "misses_at_least": str(policy.enumeration.max_hits),
            "window_seconds": str(policy.enumeration.window_seconds),
        }
        self._p.alerts.raise_alert(now, "high", "tracking_enumeration", f"client:{client}", detail)
        self._p.audit.record(
            AuditEvent(
                at=now,
                actor=subject.actor if subject.role is not Role.ANONYMOUS else f"client:{client}",
                role=subject.role.value,
                action="tracking.read",
                outcome=Outcome.DENIED,
                rule="tracking:enumeration",
                # The risk engine keys tracking signals by device: the client's keyed hash is that here.
                device=f"client:{client}",
                detail=detail,
            )
        )
        log.warning("tracking enumeration suspected from client %s", client)

    def _last4_matches(self, waybill: IssuedWaybill, digits: str, now: datetime) -> bool:
        limit = self._p.policy.last4_per_waybill
        if not self._p.limiter.hit(limit, waybill.waybill_id, now).allowed:
            return False
        expected = phone_last4(waybill.recipient.phone)
        if expected and hmac.compare_digest(expected, digits):
            self._p.limiter.reset(limit, waybill.waybill_id, now)
            return True
        return False

    def _answer(self, subject: Subject, waybill: IssuedWaybill, verified: bool) -> TrackingAnswer:
        action = "tracking.verified" if verified else "tracking.read"
        resource, context = waybill_resource(waybill), self._p.access.context()
        if subject.role is Role.ANONYMOUS:
            decision = self._p.access.require(subject, action, resource, context)
            if self._p.is_canary(waybill.waybill_id):
                # Nobody real looks up a canary: the look-up is listed on its own, with its waybill.
                self._p.audit.record(
                    AuditEvent(
                        at=context.now, actor=subject.actor, role=subject.role.value, action=action,
                        outcome=Outcome.ALLOWED, rule=decision.rule, tenant_id=waybill.tenant_id,
                        waybill_id=waybill.waybill_id, device=subject.device,
                    )
                )  # fmt: skip
            else:
                self._p.tally.count(context.now, "verified" if verified else "found")
        else:
            self._p.access.permit(subject, action, resource, context)
        events = self._p.waybills.events(waybill.waybill_id)
        last = events[-1] if events else None
        at_station = waybill.status in AT_A_STATION
        station = self._p.station_holding(waybill.waybill_id) if verified and at_station else None
        return TrackingAnswer(
            waybill_no=waybill.waybill_no,
            status=waybill.status.value,
            updated_at=last["at"] if last else waybill.created_at,
            # Where a station holds the parcel, its place is the station: shown only once verified.
            location=None if at_station or last is None else last["place"],
            verified=verified,
            recipient_name=waybill.recipient.name if verified else None,
            station_name=station.name if station else None,
            station_kind=station.kind.value if station else None,
        )
