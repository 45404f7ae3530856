"""Courier delivery: assign, manifest, out-for-delivery scan, reveal, call, sign off.

Every act asks the access policy first and is audited by the access service; every state
change is a conditional update of the waybill row, so of two racing writers exactly one wins
and the other gets a clear Conflict. Nothing here reads the clock: each method gets `now`
from the caller's context (AccessService.context).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

from privacy_waybill.access.model import Context, Resource, Role, Subject
from privacy_waybill.access.policy import AccessPolicy
from privacy_waybill.access.service import AccessService, Forbidden, waybill_resource
from privacy_waybill.delivery.model import (
    Assignment,
    CallRoute,
    Manifest,
    ManifestStop,
    ParcelCard,
    Revealed,
    RouteDefinition,
    ScanResult,
    SignedOff,
    SignOffMethod,
    SignOffProof,
)
from privacy_waybill.delivery.ordering import ParcelPlace, RouteOrder, order_stops, route_order
from privacy_waybill.delivery.points import DeliveryPointKeyer
from privacy_waybill.errors import Conflict, FieldError, NotFound
from privacy_waybill.identity.credentials import OneTimeCodes
from privacy_waybill.identity.model import CrowdPass, User, UserStatus
from privacy_waybill.identity.rules import check_route, pass_is_valid
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.issuance.references import InvalidReference, verify_reference
from privacy_waybill.notifications import NotificationService, mask_waybill_no
from privacy_waybill.telephony import TelephonyService
from privacy_waybill.vault.aead import frame
from privacy_waybill.vault.keyring import KeySource, VersionedSeal

log = logging.getLogger("privacy_waybill.delivery")

CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
COURIER_ID = re.compile(r"^(user|pass):[A-Za-z0-9_\-]{1,64}$")
SIGNOFF_CODE_LIFETIME = timedelta(minutes=30)
SIGNOFF_CODE_ATTEMPTS = 5
# One text to the recipient a minute at most, however often the courier taps.
SIGNOFF_CODE_RESEND = timedelta(minutes=1)
# Whichever of the two the policy grants the caller: couriers sign off at the door, station
# clerks hand over at the counter.
DELIVERY_ACTIONS = ("waybill.sign_off", "waybill.hand_over")
_PLATFORM = Resource(kind="platform")
# A token is base64url, after a key version ("2.") for keys rotated since the first.
_REFERENCE_IN_URL = re.compile(r"/t/((?:[0-9]+\.)?[A-Za-z0-9_\-]+)/?$")
_WAYBILL_NO = re.compile(r"^[A-Z]{2}\d{10,20}$")


class DeliveryStorePort(Protocol):
    def waybill(self, waybill_id: str) -> IssuedWaybill | None: ...
    def waybills(self, waybill_ids: Sequence[str]) -> list[IssuedWaybill]: ...
    def assign(self, waybill: IssuedWaybill, assignment: Assignment) -> bool: ...
    def withdraw(self, waybill: IssuedWaybill, actor: str, station: str, now: datetime) -> bool: ...
    def scan_out(self, waybill: IssuedWaybill, courier: str, now: datetime) -> bool: ...
    def sign_off(
        self, waybill: IssuedWaybill, actor: str, method: str, evidence: bytes, place: str | None, now: datetime
    ) -> bool: ...
    def delivered_by(self, waybill_id: str) -> tuple[str, datetime] | None: ...
    def assignment(self, waybill_id: str) -> Assignment | None: ...
    def assignments_for(self, courier: str, day: date) -> list[Assignment]: ...
    def signed_points(self, courier: str, day: date) -> set[bytes]: ...
    def route_definition(self, station: str, route: str) -> RouteDefinition | None: ...
    def put_route_definition(self, definition: RouteDefinition) -> None: ...
    def learned_positions(self, station: str, route: str) -> dict[bytes, float]: ...
    def learn(self, station: str, route: str, point: bytes, site: bytes, position: int) -> None: ...
    def line(self, actor: str) -> tuple[bytes, bytes] | None: ...
    def add_line(self, actor: str, phone_index: bytes, phone_sealed: bytes, now: datetime) -> bool: ...
    def put_code(self, waybill_id: str, code_hash: bytes, expires_at: datetime, now: datetime) -> None: ...
    def code(self, waybill_id: str) -> tuple[bytes, datetime, int] | None: ...
    def count_code_attempt(self, waybill_id: str) -> int: ...
    def drop_code(self, waybill_id: str) -> None: ...


class CourierDirectory(Protocol):
    """Who may be assigned parcels: the identity store's users and crowd passes."""

    def user_by_id(self, user_id: str) -> User | None: ...
    def pass_by_id(self, pass_id: str) -> CrowdPass | None: ...
    def active_users(self, role: Role, station: str) -> list[User]: ...


def work_day(now: datetime) -> date:
    """The calendar day of work in China Standard Time (passes and manifests are per day)."""
    return now.astimezone(CHINA_STANDARD_TIME).date()


def route_of(waybill: IssuedWaybill) -> str:
    """The courier route of a parcel: the last segment of its sort code."""
    return (waybill.sort_code.split("-", 2) + ["", ""])[2]


class DeliveryService:
    def __init__(
        self,
        *,
        store: DeliveryStorePort,
        find_by_number: Callable[[str], IssuedWaybill | None],
        find_by_public_ref: Callable[[bytes], IssuedWaybill | None],
        reference_keys: KeySource,
        access: AccessService,
        policy: AccessPolicy,
        couriers: CourierDirectory,
        pass_phone_index: Callable[[str], bytes],
        telephony: TelephonyService,
        notifications: NotificationService,
        keyer: DeliveryPointKeyer,
        codes: OneTimeCodes,
        line_keys: KeySource,
    ) -> None:
        self._store = store
        self._find_by_number = find_by_number
        self._find_by_public_ref = find_by_public_ref
        self._reference_keys = reference_keys
        self._access = access
        self._policy = policy
        self._couriers = couriers
        self._pass_phone_index = pass_phone_index
        self.telephony = telephony
        self._notifications = notifications
        self._keyer = keyer
        self._codes = codes
        self._lines = VersionedSeal(line_keys)

    # --- finding parcels ---------------------------------------------------------------

    def find(self, code: str) -> IssuedWaybill:
        """The waybill behind a scanned QR code (its URL or token), a Code 128 number or typed text."""
        text = code.strip()
        waybill: IssuedWaybill | None = None
        match = _REFERENCE_IN_URL.search(text)
        token = match.group(1) if match else text
        candidate = re.sub(r"[\s-]", "", text).upper()
        if _WAYBILL_NO.match(candidate):
            waybill = self._find_by_number(candidate)
        else:
            try:
                waybill = self._find_by_public_ref(verify_reference(token, self._reference_keys))
            except InvalidReference:
                waybill = None
        if waybill is None:
            raise NotFound("no such waybill")
        return waybill

    # --- assignment (station) ----------------------------------------------------------

    def check_assignee(self, clerk: Subject, waybill: IssuedWaybill, courier: str, now: datetime) -> None:
        """The assignee exists, is active and works at the clerk's station (a pass: on the parcel's route)."""
        if not COURIER_ID.match(courier):
            raise FieldError("courier", "must be a courier's user:<id> or a crowd pass's pass:<id>")
        kind, _, ident = courier.partition(":")
        if kind == "user":
            user = self._couriers.user_by_id(ident)
            if user is None or user.role is not Role.COURIER:
                raise FieldError("courier", "names no courier")
            if user.status is not UserStatus.ACTIVE:
                raise FieldError("courier", "is not an active account")
            if user.station != clerk.station:
                raise FieldError("courier", "does not work at this station")
            return
        crowd_pass = self._couriers.pass_by_id(ident)
        if crowd_pass is None:
            raise FieldError("courier", "names no crowd pass")
        if not pass_is_valid(crowd_pass, now):
            raise FieldError("courier", "is a pass that is not valid now")
        if crowd_pass.route != route_of(waybill):
            raise FieldError("courier", "is a pass for another route")

    def assign(self, clerk: Subject, codes: Sequence[str], courier: str, context: Context) -> list[IssuedWaybill]:
        """Assign parcels to a courier for today; a parcel out with another courier is taken
        back first (re-dispatch). All are checked before any is changed."""
        waybills = []
        for position, code in enumerate(codes):
            try:
                waybills.append(self.find(code))
            except NotFound:
                raise FieldError(f"waybills[{position}]", "no such waybill") from None
        # The policy first: who may not dispatch learns nothing about couriers.
        for waybill in waybills:
            self._access.require(clerk, "waybill.dispatch", waybill_resource(waybill), context)
        for waybill in waybills:
            self.check_assignee(clerk, waybill, courier, context.now)
        assigned = []
        for waybill in waybills:
            self._access.permit(clerk, "waybill.dispatch", waybill_resource(waybill), context, detail={"to": courier})
            if waybill.status is WaybillStatus.OUT_FOR_DELIVERY:
                waybill = self._take_back(clerk, waybill, context.now)
            assignment = Assignment(
                waybill_id=waybill.waybill_id, courier=courier, station=clerk.station or "",
                route=route_of(waybill), day=work_day(context.now), assigned_by=clerk.actor,
                assigned_at=context.now, scanned_out_at=None, signed_off_at=None, signed_off_by=None,
                signoff_method=None,
            )  # fmt: skip
            if not self._store.assign(waybill, assignment):
                raise Conflict(f"waybill {waybill.waybill_no} changed meanwhile; assign it again")
            assigned.append(self._reload(waybill))
        log.info("%d parcels assigned to %s by %s", len(assigned), courier, clerk.actor)
        return assigned

    def withdraw(self, clerk: Subject, code: str, context: Context) -> IssuedWaybill:
        """Take a parcel back from its courier; their access and virtual numbers end at once."""
        waybill = self.find(code)
        self._access.permit(clerk, "waybill.dispatch", waybill_resource(waybill), context, detail={"withdraw": "1"})
        if waybill.assigned_courier is None:
            raise Conflict("the parcel is not assigned to a courier")
        return self._take_back(clerk, waybill, context.now)

    def _take_back(self, clerk: Subject, waybill: IssuedWaybill, now: datetime) -> IssuedWaybill:
        if not self._store.withdraw(waybill, clerk.actor, clerk.station or "", now):
            raise Conflict(f"waybill {waybill.waybill_no} changed meanwhile; try again")
        self.telephony.end_now(waybill.waybill_id, now)
        return self._reload(waybill)

    def _reload(self, waybill: IssuedWaybill) -> IssuedWaybill:
        fresh = self._store.waybill(waybill.waybill_id)
        if fresh is None:
            raise NotFound("no such waybill")
        return fresh

    # --- routes (station) --------------------------------------------------------------

    def put_route(
        self, clerk: Subject, route: str, sequence: Sequence[str], start: str | None, context: Context
    ) -> RouteDefinition:
        """Define (or replace) the walking order of a route of the clerk's station."""
        station = clerk.station or ""
        self._access.permit(clerk, "station.manage", _station(station), context, detail={"route": check_route(route)})
        cleaned = tuple(entry.strip() for entry in sequence if entry.strip())
        if not cleaned or len(cleaned) > 500:
            raise FieldError("sequence", "must name 1-500 roads or compounds")
        if any(len(entry) > 64 for entry in cleaned):
            raise FieldError("sequence", "entries are at most 64 characters")
        if start is not None and start.strip() not in cleaned:
            raise FieldError("start", "must be one of the sequence's entries")
        definition = RouteDefinition(
            station=station, route=route, sequence=cleaned, start=start.strip() if start else None,
            updated_by=clerk.actor, updated_at=context.now,
        )  # fmt: skip
        self._store.put_route_definition(definition)
        return definition

    def couriers(self, clerk: Subject, context: Context) -> list[User]:
        """The active courier accounts of the clerk's station: whom parcels may be assigned to
        (crowd passes are named by the pass the clerk issued)."""
        station = clerk.station or ""
        self._access.permit(clerk, "station.manage", _station(station), context, detail={"list": "couriers"})
        return self._couriers.active_users(Role.COURIER, station)

    def route(self, clerk: Subject, route: str, context: Context) -> RouteDefinition | None:
        self._access.permit(
            clerk, "station.manage", _station(clerk.station or ""), context, detail={"route": check_route(route)}
        )
        return self._store.route_definition(clerk.station or "", route)

    # --- the manifest (courier) --------------------------------------------------------

    def manifest(self, courier: Subject, context: Context) -> Manifest:
        """Today's parcels of the caller, one stop per building, in walking order."""
        self._access.permit(courier, "manifest.read", _PLATFORM, context)
        return self._manifest_of(courier, context)

    def _manifest_of(self, courier: Subject, context: Context) -> Manifest:
        day = work_day(context.now)
        assignments = self._store.assignments_for(courier.actor, day)
        if courier.role is Role.CROWD_COURIER:
            assignments = [a for a in assignments if a.route == courier.route and day.isoformat() == courier.pass_day]
        waybills = {w.waybill_id: w for w in self._store.waybills([a.waybill_id for a in assignments])}
        # Still with this courier, or signed off (which ends the assignment's access, not its stop).
        mine = {
            w.waybill_id for w in waybills.values()
            if w.assigned_courier == courier.actor or w.status is WaybillStatus.DELIVERED
        }  # fmt: skip
        stops: list[ManifestStop] = []
        for (station, route), group in _by_route(assignments, waybills).items():
            places = [_place(w) for w in group if w.waybill_id in mine]
            ordered = order_stops(
                places, self._route_order(station, route), self._store.learned_positions(station, route)
            )
            for stop in ordered:
                parcels = tuple(self._card(waybills[i], len(stops) + 1) for i in stop.waybill_ids)
                stops.append(ManifestStop(len(stops) + 1, parcels[0].address, parcels))
        return Manifest(courier=courier.actor, day=day, stops=tuple(stops))

    def _route_order(self, station: str, route: str) -> RouteOrder:
        definition = self._store.route_definition(station, route)
        if definition is None:
            return route_order([])
        keys = [self._keyer.route_entry_keys(e) for e in definition.sequence]
        start = definition.sequence.index(definition.start) if definition.start else 0
        return route_order(keys, start)

    @staticmethod
    def _card(waybill: IssuedWaybill, stop: int | None) -> ParcelCard:
        return ParcelCard(
            waybill_no=waybill.waybill_no,
            stop=stop,
            status=waybill.status.value,
            name=waybill.recipient.name,
            address=waybill.recipient.address,
            remark=waybill.remark_scrubbed,
        )

    # --- the out-for-delivery scan -----------------------------------------------------

    def scan_out(self, courier: Subject, code: str, context: Context) -> ScanResult:
        """One scan moves an assigned parcel out for delivery and shows its stop and masked card."""
        waybill = self.find(code)
        resource = waybill_resource(waybill)
        try:
            self._access.permit(courier, "waybill.scan_out", resource, context)
        except Forbidden as denied:
            # The denial is audited; the courier learns only that the parcel is someone else's.
            if denied.decision.unmet == "assigned_to_subject" and waybill.assigned_courier is not None:
                raise Conflict(
                    "this parcel is assigned to another courier; ask the station to re-dispatch it"
                ) from None
            raise
        moved = False
        if waybill.status is not WaybillStatus.OUT_FOR_DELIVERY:
            moved = self._store.scan_out(waybill, courier.actor, context.now)
            if not moved:
                waybill = self._reload(waybill)
                if not (waybill.status is WaybillStatus.OUT_FOR_DELIVERY and waybill.assigned_courier == courier.actor):
                    raise Conflict("the parcel was re-dispatched or scanned by another courier meanwhile")
        stop = self._manifest_of(courier, context).stop_of(waybill.waybill_no)
        return ScanResult(self._card(self._reload(waybill), stop), moved)

    # --- reveal and call ---------------------------------------------------------------

    def reveal(self, courier: Subject, waybill_no: str, context: Context) -> Revealed:
        """The full address and the whole remark, for the assigned courier, under quota, audited
        (the purpose travels in `context`)."""
        waybill = self.find(waybill_no)
        view = self._access.view(courier, "waybill.reveal", waybill, context, also_open=("remark",))
        return Revealed(waybill.waybill_no, view.name, view.address, view.extras.get("remark"))

    def call(self, courier: Subject, waybill_no: str, own_phone: str | None, context: Context) -> CallRoute:
        """The X number that connects the courier to the recipient for this parcel."""
        waybill = self.find(waybill_no)
        self._access.require(courier, "waybill.call", waybill_resource(waybill), context)
        a_phone = self._courier_line(courier, own_phone, context.now)
        binding = self._access.hand_to_processor(
            courier,
            "waybill.call",
            waybill,
            context,
            "recipient_phone",
            f"telephony:{self.telephony.provider.name}",
            lambda b_phone: self.telephony.bind(waybill.waybill_id, courier.actor, a_phone, b_phone, context.now),
        )
        return CallRoute(waybill.waybill_no, binding.x_number, binding.expires_at)

    def _courier_line(self, courier: Subject, phone: str | None, now: datetime) -> str:
        """The courier's own phone (the A side). Registered at first use: a crowd courier's
        must be the phone its pass was issued to; afterwards it cannot be changed here."""
        stored = self._store.line(courier.actor)
        if stored is not None:
            index, sealed = stored
            if phone is not None and not hmac.compare_digest(self.telephony.index_of(phone), index):
                raise FieldError("phone", "is not the line registered for this courier")
            return self._open_line(courier.actor, sealed)
        if phone is None:
            raise FieldError("phone", "is required the first time: the number you call from")
        index = self.telephony.index_of(phone)
        if courier.role is Role.CROWD_COURIER:
            crowd_pass = self._couriers.pass_by_id(courier.actor.removeprefix("pass:"))
            if crowd_pass is None or not hmac.compare_digest(crowd_pass.phone_index, self._pass_phone_index(phone)):
                raise FieldError("phone", "must be the number the pass was issued to")
        self._store.add_line(courier.actor, index, self._seal_line(courier.actor, phone), now)
        return phone

    def _seal_line(self, actor: str, phone: str) -> bytes:
        return self._lines.seal(phone.encode(), courier_line_context(actor))

    def _open_line(self, actor: str, sealed: bytes) -> str:
        return self._lines.open(sealed, courier_line_context(actor)).decode()

    # --- sign-off ----------------------------------------------------------------------

    def send_signoff_code(self, courier: Subject, waybill_no: str, context: Context) -> None:
        """Text the recipient a code to read out at the door (through the notification outbox)."""
        waybill = self.find(waybill_no)
        self._access.require(courier, "waybill.sign_off", waybill_resource(waybill), context)
        previous = self._store.code(waybill.waybill_id)
        if previous is not None and previous[1] - SIGNOFF_CODE_LIFETIME + SIGNOFF_CODE_RESEND > context.now:
            raise Conflict("a sign-off code was sent less than a minute ago; wait before sending another")
        code = f"{secrets.randbelow(10**6):06d}"
        key = f"signoff:{waybill.waybill_id}:{secrets.token_hex(4)}"
        self._access.hand_to_processor(
            courier, "waybill.sign_off", waybill, context, "recipient_phone", "notifications",
            lambda phone: self._notifications.send(
                "delivery.signoff_code", phone, {"waybill": mask_waybill_no(waybill.waybill_no), "code": code},
                key, context.now,
            ),
        )  # fmt: skip
        expires = context.now + SIGNOFF_CODE_LIFETIME
        self._store.put_code(waybill.waybill_id, self._codes.hash(waybill.waybill_id, code), expires, context.now)

    def sign_off(self, subject: Subject, waybill: IssuedWaybill, proof: SignOffProof, context: Context) -> SignedOff:
        """Delivered: the courier's access ends at once and the virtual numbers' end is set.

        A replay (the same signer again, after it succeeded) changes nothing and says so.
        Station clerks sign off pickups here too (action waybill.hand_over).
        """
        if waybill.status is WaybillStatus.DELIVERED:
            return self._replayed(subject, waybill, proof)
        action = self._delivery_action(subject, waybill, context)
        self._access.require(subject, action, waybill_resource(waybill), context)
        evidence = self._check_proof(waybill, proof, context.now)
        self._access.permit(subject, action, waybill_resource(waybill), context, detail={"method": proof.method.value})
        assignment = self._store.assignment(waybill.waybill_id)
        learns = assignment is not None and assignment.courier == subject.actor
        before = self._store.signed_points(subject.actor, assignment.day) if assignment and learns else set()
        place = subject.station if subject.role is Role.STATION_CLERK else None
        if not self._store.sign_off(waybill, subject.actor, proof.method.value, evidence, place, context.now):
            fresh = self._reload(waybill)
            if fresh.status is WaybillStatus.DELIVERED:
                return self._replayed(subject, fresh, proof)
            raise Conflict("the parcel changed meanwhile; sign off again")
        ending = self.telephony.end_after_sign_off(waybill.waybill_id, context.now)
        # The building's place on today's walk: how many others were signed off before it.
        point, site = waybill.delivery_point, waybill.delivery_site
        if assignment is not None and learns and point and site and point not in before:
            self._store.learn(assignment.station, assignment.route, point, site, len(before))
        log.info("waybill %s signed off by %s (%s)", waybill.waybill_id, subject.actor, proof.method.value)
        return SignedOff(waybill.waybill_no, context.now, proof.method, replayed=False, bindings_ending=ending)

    def _replayed(self, subject: Subject, waybill: IssuedWaybill, proof: SignOffProof) -> SignedOff:
        delivered = self._store.delivered_by(waybill.waybill_id)
        if delivered is None or delivered[0] != subject.actor:
            raise Conflict("the parcel is already delivered")
        assignment = self._store.assignment(waybill.waybill_id)
        method = SignOffMethod(assignment.signoff_method) if assignment and assignment.signoff_method else proof.method
        return SignedOff(waybill.waybill_no, delivered[1], method, replayed=True, bindings_ending=0)

    def _delivery_action(self, subject: Subject, waybill: IssuedWaybill, context: Context) -> str:
        resource = waybill_resource(waybill)
        granted = [a for a in DELIVERY_ACTIONS if self._policy.authorize(subject, a, resource, context).allowed]
        return granted[0] if granted else DELIVERY_ACTIONS[0]

    def _check_proof(self, waybill: IssuedWaybill, proof: SignOffProof, now: datetime) -> bytes:
        if proof.method is not SignOffMethod.RECIPIENT_OTP:
            if len(proof.evidence) != 32:
                raise FieldError("proof", "needs its SHA-256 evidence")
            return proof.evidence
        stored = self._store.code(waybill.waybill_id)
        if stored is None or stored[1] <= now or not proof.code:
            raise FieldError("code", "is wrong or expired; send a new one")
        if self._store.count_code_attempt(waybill.waybill_id) > SIGNOFF_CODE_ATTEMPTS:
            self._store.drop_code(waybill.waybill_id)
            raise FieldError("code", "had too many wrong tries; send a new one")
        if not self._codes.matches(waybill.waybill_id, proof.code.strip(), stored[0]):
            raise FieldError("code", "is wrong or expired; send a new one")
        self._store.drop_code(waybill.waybill_id)
        return stored[0]


def _station(station: str) -> Resource:
    return Resource(kind="station", station=station)


def _place(waybill: IssuedWaybill) -> ParcelPlace:
    # A parcel whose address named no road or compound gets a point of its own.
    own = waybill.waybill_id.encode()[:16]
    return ParcelPlace(
        waybill.waybill_id, waybill.delivery_point or own, waybill.delivery_site or own, waybill.delivery_road or own
    )


def _by_route(
    assignments: Sequence[Assignment], waybills: dict[str, IssuedWaybill]
) -> dict[tuple[str, str], list[IssuedWaybill]]:
    groups: dict[tuple[str, str], list[IssuedWaybill]] = {}
    for assignment in sorted(assignments, key=lambda a: (a.station, a.route)):
        waybill = waybills.get(assignment.waybill_id)
        if waybill is not None:
            groups.setdefault((assignment.station, assignment.route), []).append(waybill)
    return groups


def courier_line_context(actor: str) -> bytes:
    """What a courier's sealed line is bound to: the courier it belongs to."""
    return frame(b"pwb courier line", actor.encode())
