"""Builds the station, recipient and tracking services on a runtime (its stores, keys, access
service, limiter and notification outbox). Kept apart from runtime.py so that file only names
the three services."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from privacy_waybill.access.model import Subject
from privacy_waybill.identity.credentials import OneTimeCodes
from privacy_waybill.delivery.model import SignOffMethod, SignOffProof
from privacy_waybill.delivery.signoff import sign_off as delivery_sign_off
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.issuance.service import PHONE_INDEX_KIND
from privacy_waybill.recipients.challenges import OtpChallenges
from privacy_waybill.recipients.identity_code import IdentityCodes
from privacy_waybill.recipients.service import RecipientPorts, RecipientService
from privacy_waybill.stations.model import PickupMethod, Station
from privacy_waybill.stations.notices import OutboxPickupNotices
from privacy_waybill.stations.service import StationPorts, StationService
from privacy_waybill.storage.identity import IdentityStore
from privacy_waybill.storage.recipients import RecipientStore
from privacy_waybill.storage.stations import StationStore
from privacy_waybill.tracking.service import TrackingPorts, TrackingService
from privacy_waybill.tracking.tally import LookupTally
from privacy_waybill.vault.aead import frame
from privacy_waybill.vault.keyring import KeySource, VersionedSeal
from privacy_waybill.vault.platform_keys import PLATFORM_KEY_TENANT

if TYPE_CHECKING:
    from privacy_waybill.runtime import Runtime

RECIPIENT_OTP = "recipient.otp"


class ContextSeal:
    """AES-256-GCM under one purpose's keys, each blob bound to a context (a session, a report)
    and naming its key version."""

    def __init__(self, keys: KeySource, domain: bytes) -> None:
        self._seal = VersionedSeal(keys)
        self._domain = domain

    def seal(self, context: bytes, plaintext: bytes) -> bytes:
        return self._seal.seal(plaintext, frame(self._domain, context))

    def open(self, context: bytes, sealed: bytes) -> bytes:
        return self._seal.open(sealed, frame(self._domain, context))

    def reseal(self, context: bytes, sealed: bytes) -> bytes | None:
        """The blob sealed under the current key version; None when it already is."""
        return self._seal.reseal(sealed, frame(self._domain, context))


SESSION_SEAL_DOMAIN = b"pwb recipient session"
LEAK_REPORT_SEAL_DOMAIN = b"pwb leak report"


def session_seal(rt: Runtime) -> ContextSeal:
    return ContextSeal(rt.purpose_keys.ring("recipient-session"), SESSION_SEAL_DOMAIN)


def leak_report_seal(rt: Runtime) -> ContextSeal:
    return ContextSeal(rt.purpose_keys.ring("leak-report"), LEAK_REPORT_SEAL_DOMAIN)


def phone_indexes(rt: Runtime, canonical: str) -> list[tuple[str, bytes]]:
    """The phone's blind index under every tenant: how waybills of that phone are found."""
    return [(t, rt.blind_index.index(t, PHONE_INDEX_KIND, canonical)) for t in rt.tenants.all_ids()]


def sign_off(rt: Runtime, waybill: IssuedWaybill, subject: Subject, now: datetime, method: PickupMethod) -> None:
    """The one place station hand-over signs a parcel off, through the delivery module: the
    courier's access ends and the virtual numbers' expiry is set. The desk has checked the
    code; the evidence kept is a hash of how and where it was checked, never the code."""
    evidence = hashlib.sha256(
        frame(b"pwb station pickup", method.value.encode(), (subject.station or "").encode(), waybill.waybill_id.encode())
    ).digest()
    delivery_sign_off(rt.delivery, subject, waybill, SignOffProof(SignOffMethod.PICKUP_CODE, evidence), rt.access.context())


def _otp_challenges(rt: Runtime) -> OtpChallenges:
    return OtpChallenges(IdentityStore(rt.engine), OneTimeCodes(rt.purpose_keys.ring("otp")))


def _identity_codes(rt: Runtime) -> IdentityCodes:
    return IdentityCodes(rt.purpose_keys.ring("identity-code"))


def build_stations(rt: Runtime, store: StationStore, recipients: RecipientStore) -> StationService:
    return StationService(
        StationPorts(
            store=store,
            waybills=rt.waybills,
            access=rt.access,
            audit=rt.audit,
            alerts=rt.alerts,
            limiter=rt.limiter,
            notices=OutboxPickupNotices(rt.notifications, rt.vault, rt.waybills.sealed_record, rt.audit),
            sign_off=lambda waybill, subject, now, method: sign_off(rt, waybill, subject, now, method),
            identity_codes=_identity_codes(rt),
            pickup_otps=_otp_challenges(rt),
            phone_indexes=lambda canonical: phone_indexes(rt, canonical),
            pickup_otp_key=lambda waybill_id: rt.blind_index.index(PLATFORM_KEY_TENANT, "pickup-otp", waybill_id),
            preferences=recipients.preference,
            clock=lambda: rt.clock(),
        )
    )


def build_recipients(rt: Runtime, store: RecipientStore, stations: StationStore) -> RecipientService:
    return RecipientService(
        RecipientPorts(
            store=store,
            challenges=_otp_challenges(rt),
            send_otp=lambda number, code: rt.notifications.send(
                RECIPIENT_OTP, number, {"code": code}, f"recipient-otp:{secrets.token_hex(8)}", rt.clock()
            ),
            platform_index=lambda canonical: rt.blind_index.index(PLATFORM_KEY_TENANT, "recipient-phone", canonical),
            tenant_indexes=lambda canonical: phone_indexes(rt, canonical),
            session_seal=session_seal(rt),
            leak_seal=leak_report_seal(rt),
            identity_codes=_identity_codes(rt),
            access=rt.access,
            audit=rt.audit,
            alerts=rt.alerts,
            stays=stations,
            events=rt.waybills.events,
            clock=lambda: rt.clock(),
        )
    )


def build_tracking(rt: Runtime, stations: StationStore) -> TrackingService:
    def station_holding(waybill_id: str) -> Station | None:
        held = stations.held_waybill(waybill_id)
        return stations.get(held.station_id) if held else None

    return TrackingService(
        TrackingPorts(
            waybills=rt.waybills,
            station_holding=station_holding,
            limiter=rt.limiter,
            policy=rt.tracking_policy,
            access_policy=rt.access_policy,
            access=rt.access,
            audit=rt.audit,
            alerts=rt.alerts,
            tally=LookupTally(rt.audit),
            client_key=rt.purpose_keys.ring("tracking-client"),
            clock=lambda: rt.clock(),
            is_canary=lambda waybill_id: rt.canaries.planted_at(waybill_id) is not None,
        )
    )
