"""The station desk as a service: register, check in, sticker, search, hand over.

Every act asks the access policy (a clerk acts only on parcels of their own station) and is
audited; wrong pickup codes, identity codes and OTPs are audited one by one and limited per
clerk and station. Hand-over goes through one sign-off seam, so ending courier access and
virtual-number bindings is the delivery module's job, not this one's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from privacy_waybill.access.model import Resource, Subject
from privacy_waybill.access.service import AccessService, AlertPort, waybill_resource
from privacy_waybill.audit.model import AuditEvent, AuditSink, Outcome
from privacy_waybill.errors import Conflict, FieldError, NotFound
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.labels.model import LabelFormat
from privacy_waybill.ratelimit import Limit, RateLimiter
from privacy_waybill.recipients.challenges import OtpChallenges
from privacy_waybill.recipients.identity_code import IdentityCodes, InvalidIdentityCode
from privacy_waybill.recipients.model import DEFAULT_PREFERENCES, Preferences
from privacy_waybill.stations import codes
from privacy_waybill.stations.model import (
    HeldParcel,
    PickupMethod,
    Shelf,
    Station,
    StationKind,
    TooManyWrongCodes,
    WrongPickupCode,
)
from privacy_waybill.stations.sticker import render_sticker

log = logging.getLogger("privacy_waybill.stations")

# Ten wrong codes in ten minutes from one clerk at one station stop the desk's code entry;
# a right code clears the count, so a busy counter's typos never add up.
WRONG_CODES = Limit("station.wrong-codes", 10, 600)

SignOff = Callable[[IssuedWaybill, Subject, datetime, PickupMethod], None]


class CheckInUnit(Protocol):
    """One check-in's transaction, holding the station's lock (storage.stations.CheckIn)."""

    station: Station

    def occupancy(self) -> dict[tuple[str, int], int]: ...
    def code_taken(self, code: str) -> bool: ...
    def next_serial(self) -> int: ...
    def shelve(
        self,
        waybill: IssuedWaybill,
        target: WaybillStatus,
        place: tuple[str, int, str],
        pickup_code: str,
        phone_last4: str,
        actor: str,
        now: datetime,
    ) -> HeldParcel: ...


class StationStorePort(Protocol):
    def add(self, station: Station) -> None: ...
    def get(self, station_id: str) -> Station | None: ...
    def check_in(self, station_id: str) -> AbstractContextManager[CheckInUnit]: ...
    def held(self, station_id: str, limit: int = 200) -> list[HeldParcel]: ...
    def held_waybill(self, waybill_id: str) -> HeldParcel | None: ...
    def by_pickup_code(self, station_id: str, code: str) -> HeldParcel | None: ...
    def by_last4(self, station_id: str, last4: str) -> list[HeldParcel]: ...
    def by_phone_indexes(self, station_id: str, indexes: Sequence[tuple[str, bytes]]) -> list[HeldParcel]: ...
    def leave(self, parcel: HeldParcel, actor: str, now: datetime, how: str) -> HeldParcel: ...


class WaybillsPort(Protocol):
    def get_by_number(self, tenant_id: str | None, waybill_no: str) -> IssuedWaybill | None: ...


class PickupNoticePort(Protocol):
    def pickup_ready(self, waybill: IssuedWaybill, parcel: HeldParcel, station: Station, now: datetime) -> None: ...
    def pickup_otp(self, waybill: IssuedWaybill, code: str, station: Station, now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class StationPorts:
    """The collaborators of the station service, wired once by the runtime."""

    store: StationStorePort
    waybills: WaybillsPort
    access: AccessService
    audit: AuditSink
    alerts: AlertPort
    limiter: RateLimiter
    notices: PickupNoticePort
    sign_off: SignOff
    identity_codes: IdentityCodes
    pickup_otps: OtpChallenges
    # The (tenant, blind index) pairs of a phone under every tenant, and of a waybill's pickup OTP.
    phone_indexes: Callable[[str], list[tuple[str, bytes]]]
    pickup_otp_key: Callable[[str], bytes]
    preferences: Callable[[str, bytes], Preferences | None]
    clock: Callable[[], datetime]


class StationService:
    def __init__(self, ports: StationPorts) -> None:
        self._p = ports

    # --- stations -----------------------------------------------------------------------

    def register(self, station_id: str, name: str, kind: StationKind, shelves: Sequence[Shelf]) -> Station:
        if not name.strip() or len(name) > 100:
            raise FieldError("name", "must be 1-100 characters")
        station = Station(
            id=codes.check_station_id(station_id),
            name=name.strip(),
            kind=kind,
            shelves=codes.check_layout(kind, tuple(shelves)),
            created_at=self._p.clock(),
        )
        self._p.store.add(station)
        log.info("station %s registered (%s, %d shelves)", station.id, kind.value, len(station.shelves))
        return station

    def station_of(self, subject: Subject) -> Station:
        if subject.station is None:
            raise FieldError("station", "the caller works at no station")
        station = self._p.store.get(subject.station)
        if station is None:
            raise NotFound("this station is not registered; ask an administrator to add it")
        return station

    # --- check-in -----------------------------------------------------------------------

    def _waybill(self, waybill_no: str) -> IssuedWaybill:
        waybill = self._p.waybills.get_by_number(None, waybill_no.strip().upper())
        if waybill is None:
            raise NotFound("no such waybill")
        return waybill

    def check_in(self, subject: Subject, waybill_no: str, shelf: str | None = None) -> HeldParcel:
        """Shelve a scanned parcel: shelf code, pickup code, status, event and notice.

        Scanning a parcel already on this station's shelf answers its place again.
        """
        waybill = self._waybill(waybill_no)
        resource, context = waybill_resource(waybill), self._p.access.context()
        held = self._p.store.held_waybill(waybill.waybill_id)
        if held is not None and held.station_id == subject.station:
            self._p.access.permit(subject, "waybill.read", resource, context, detail={"rescan": held.shelf_code})
            return held
        self._p.access.require(subject, "waybill.check_in", resource, context)
        station = self.station_of(subject)
        self._check_preferences(waybill, station)
        target = WaybillStatus.IN_LOCKER if station.kind is StationKind.LOCKER else WaybillStatus.AT_STATION
        # Audited before the act, as every scan is: the shelving below then commits or not at all.
        self._p.access.permit(subject, "waybill.check_in", resource, context, detail={"to": target.value})
        with self._p.store.check_in(station.id) as unit:
            shelf_label, layer = codes.choose_place(unit.station, unit.occupancy(), shelf)
            place = (shelf_label, layer, codes.shelf_code(shelf_label, layer, unit.next_serial()))
            parcel = unit.shelve(
                waybill,
                target,
                place,
                codes.new_pickup_code(unit.code_taken),
                codes.phone_last4(waybill.recipient.phone),
                subject.actor,
                context.now,
            )
        self._p.notices.pickup_ready(waybill, parcel, station, context.now)
        return parcel

    def _check_preferences(self, waybill: IssuedWaybill, station: Station) -> None:
        prefs = self._p.preferences(waybill.tenant_id, waybill.recipient_phone_index) or DEFAULT_PREFERENCES
        if station.kind is StationKind.LOCKER and not prefs.locker_allowed:
            raise Conflict("the recipient does not accept locker delivery; hand the parcel to a courier")
        if station.kind is StationKind.STATION and not prefs.station_allowed:
            raise Conflict("the recipient does not accept station delivery; hand the parcel to a courier")

    # --- what the desk sees -------------------------------------------------------------

    def _held_here(self, subject: Subject, waybill_no: str, action: str) -> tuple[IssuedWaybill, HeldParcel]:
        waybill = self._waybill(waybill_no)
        self._p.access.require(subject, action, waybill_resource(waybill), self._p.access.context())
        parcel = self._p.store.held_waybill(waybill.waybill_id)
        if parcel is None or parcel.station_id != subject.station:
            raise NotFound("the parcel is not on this station's shelves")
        return waybill, parcel

    def sticker(self, subject: Subject, waybill_no: str, fmt: LabelFormat) -> tuple[HeldParcel, bytes]:
        waybill, parcel = self._held_here(subject, waybill_no, "waybill.sticker")
        self._p.access.permit(
            subject, "waybill.sticker", waybill_resource(waybill), self._p.access.context(), detail={"format": fmt.value}
        )
        return parcel, render_sticker(parcel, fmt)

    def held(self, subject: Subject, limit: int = 200) -> list[HeldParcel]:
        station = self.station_of(subject)
        self._permit_search(subject, {"list": str(limit)})
        return self._p.store.held(station.id, limit)

    def search(self, subject: Subject, *, pickup_code: str | None = None, last4: str | None = None) -> list[HeldParcel]:
        """Held parcels by pickup code or by the phone's last four digits; nothing else is a key."""
        if (pickup_code is None) == (last4 is None):
            raise FieldError("query", "give either pickup_code or last4")
        station = self.station_of(subject)
        if pickup_code is not None:
            code = codes.check_pickup_code(pickup_code)
            self._permit_search(subject, {"by": "pickup_code"})
            found = self._p.store.by_pickup_code(station.id, code)
            return [found] if found else []
        digits = codes.check_last4(last4 or "")
        self._permit_search(subject, {"by": "last4"})
        return self._p.store.by_last4(station.id, digits)

    def _permit_search(self, subject: Subject, detail: dict[str, str]) -> None:
        scope = Resource(kind="waybill", station=subject.station)
        self._p.access.permit(subject, "waybill.search", scope, self._p.access.context(), detail=detail)

    def parcels_for_identity_code(self, subject: Subject, token: str) -> list[HeldParcel]:
        """Every parcel held here for the phone inside a recipient's identity code; the phone
        itself never leaves this method."""
        station = self.station_of(subject)
        now = self._p.clock()
        self._guard(subject, PickupMethod.IDENTITY_CODE)
        try:
            phone = self._p.identity_codes.open(token, now)
        except InvalidIdentityCode:
            self._wrong(subject, PickupMethod.IDENTITY_CODE, now)
            raise
        self._cleared(subject, now)
        self._permit_search(subject, {"by": "identity_code"})
        return self._p.store.by_phone_indexes(station.id, self._p.phone_indexes(phone))

    # --- hand-over ----------------------------------------------------------------------

    def hand_over_by_code(self, subject: Subject, pickup_code: str) -> HeldParcel:
        station = self.station_of(subject)
        code = codes.check_pickup_code(pickup_code)
        now = self._p.clock()
        self._guard(subject, PickupMethod.CODE)
        parcel = self._p.store.by_pickup_code(station.id, code)
        if parcel is None:
            self._wrong(subject, PickupMethod.CODE, now)
            raise WrongPickupCode()
        self._cleared(subject, now)
        return self._hand_over(subject, parcel, PickupMethod.CODE)

    def hand_over_by_identity_code(self, subject: Subject, token: str, waybill_nos: Sequence[str]) -> list[HeldParcel]:
        """Hand over the chosen parcels of the identity code's holder (all of them when none are named)."""
        held = {p.waybill_no: p for p in self.parcels_for_identity_code(subject, token)}
        wanted = [n.strip().upper() for n in waybill_nos] or list(held)
        if not wanted:
            raise NotFound("no parcel is held here for this identity code")
        if missing := [n for n in wanted if n not in held]:
            raise FieldError("waybill_nos", f"{len(missing)} of the waybills are not held here for this identity code")
        return [self._hand_over(subject, held[n], PickupMethod.IDENTITY_CODE) for n in wanted]

    def send_pickup_otp(self, subject: Subject, waybill_no: str) -> None:
        """Text the recipient a one-time code for this parcel; the clerk never sees the phone."""
        waybill, parcel = self._held_here(subject, waybill_no, "waybill.hand_over")
        station = self.station_of(subject)
        now = self._p.clock()
        code = self._p.pickup_otps.issue(self._p.pickup_otp_key(waybill.waybill_id), now)
        if code is None:
            raise Conflict("enough codes were sent for this parcel this hour; use the pickup code")
        self._p.access.permit(
            subject, "waybill.hand_over", waybill_resource(waybill), self._p.access.context(), detail={"otp": "sent"}
        )
        self._p.notices.pickup_otp(waybill, code, station, now)

    def hand_over_by_otp(self, subject: Subject, waybill_no: str, otp: str) -> HeldParcel:
        waybill, parcel = self._held_here(subject, waybill_no, "waybill.hand_over")
        now = self._p.clock()
        self._guard(subject, PickupMethod.OTP)
        if not self._p.pickup_otps.redeem(self._p.pickup_otp_key(waybill.waybill_id), otp, now):
            self._wrong(subject, PickupMethod.OTP, now)
            raise WrongPickupCode()
        self._cleared(subject, now)
        return self._hand_over(subject, parcel, PickupMethod.OTP)

    def _hand_over(self, subject: Subject, parcel: HeldParcel, method: PickupMethod) -> HeldParcel:
        """Sign the parcel off (the seam decides, audits and ends courier access), then free its place."""
        waybill = self._waybill(parcel.waybill_no)
        now = self._p.clock()
        self._p.sign_off(waybill, subject, now, method)
        return self._p.store.leave(parcel, subject.actor, now, method.value)

    # --- wrong codes --------------------------------------------------------------------

    def _limit_key(self, subject: Subject) -> str:
        return f"{subject.station}:{subject.actor}"

    def _guard(self, subject: Subject, method: PickupMethod) -> None:
        """Count this attempt as a possible failure first; a right code clears the count."""
        now = self._p.clock()
        verdict = self._p.limiter.hit(WRONG_CODES, self._limit_key(subject), now)
        if verdict.allowed:
            return
        self._audit_denied(subject, method, "pickup:too-many-wrong-codes", now)
        self._p.alerts.raise_alert(
            now,
            "high",
            "pickup_code_guessing",
            subject.actor,
            {"station": subject.station or "", "method": method.value, "limit": str(WRONG_CODES.max_hits)},
        )
        raise TooManyWrongCodes(verdict.retry_after_seconds)

    def _wrong(self, subject: Subject, method: PickupMethod, now: datetime) -> None:
        self._audit_denied(subject, method, "pickup:wrong-code", now)
        log.info("wrong %s at station %s", method.value, subject.station)

    def _cleared(self, subject: Subject, now: datetime) -> None:
        self._p.limiter.reset(WRONG_CODES, self._limit_key(subject), now)

    def _audit_denied(self, subject: Subject, method: PickupMethod, rule: str, now: datetime) -> None:
        self._p.audit.record(
            AuditEvent(
                at=now,
                actor=subject.actor,
                role=subject.role.value,
                action="waybill.hand_over",
                outcome=Outcome.DENIED,
                rule=rule,
                device=subject.device,
                detail={"method": method.value, "station": subject.station or ""},
            )
        )
