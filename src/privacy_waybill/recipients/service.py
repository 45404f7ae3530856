"""The recipient portal as a service: OTP sign-in, own parcels, timeline, who saw my data,
preferences, identity codes and leak reports.

A recipient is known only by blind indexes of their phone. Waybills carry one index per
tenant, so the portal computes the phone's index under every tenant and looks parcels up by
those pairs: no ciphertext is scanned or opened to find them. The phone itself is kept sealed
in the session row and opened per request, never returned.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.access.service import AccessService, AlertPort, waybill_resource
from privacy_waybill.audit.chain import StoredEntry
from privacy_waybill.audit.model import Outcome
from privacy_waybill.errors import FieldError, NotFound
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.masking.free_text import display_text
from privacy_waybill.recipients.challenges import OtpChallenges
from privacy_waybill.recipients.identity_code import IdentityCodes
from privacy_waybill.recipients.model import (
    DEFAULT_PREFERENCES,
    Disclosure,
    LeakReportRecord,
    Preferences,
    Recipient,
    RecipientOtpFailed,
    RecipientSignedIn,
)
from privacy_waybill.stations.model import HeldParcel
from privacy_waybill.validation.phones import normalise_phone

log = logging.getLogger("privacy_waybill.recipients")

SESSION_LIFETIME = timedelta(hours=2)
TOKEN_PREFIX = "pwr_"
# What "who saw my data" lists: every act that disclosed the recipient's fields in full.
DISCLOSING_ACTIONS = ("waybill.reveal", "waybill.decrypt", "waybill.break_glass")
LEAK_KINDS = ("calls", "sms", "parcel_opened", "data_sold", "other")
MAX_LEAK_TEXT = 2000
LEAK_VOCABULARY = "leak_reports"


@dataclass(frozen=True, slots=True)
class StoredSession:
    phone_index: bytes
    phone_sealed: bytes
    expires_at: datetime
    revoked_at: datetime | None


class RecipientStorePort(Protocol):
    def add_session(
        self, token_hash: bytes, phone_index: bytes, phone_sealed: bytes, now: datetime, expires_at: datetime
    ) -> None: ...
    def session(self, token_hash: bytes) -> StoredSession | None: ...
    def revoke_session(self, token_hash: bytes, now: datetime) -> None: ...
    def waybills_for(self, pairs: Sequence[tuple[str, bytes]], limit: int) -> list[IssuedWaybill]: ...
    def preferences(self, pairs: Sequence[tuple[str, bytes]]) -> Preferences | None: ...
    def set_preferences(self, pairs: Sequence[tuple[str, bytes]], prefs: Preferences, now: datetime) -> None: ...
    def add_leak_report(
        self,
        report_id: str,
        reporter: str,
        kind: str,
        text_sealed: bytes | None,
        text_display: str | None,
        waybill_ids: Sequence[str],
        now: datetime,
    ) -> None: ...
    def leak_reports(self, reporter: str) -> list[LeakReportRecord]: ...


class AuditReader(Protocol):
    def events(
        self, *, waybill_id: str | None = None, outcome: Outcome | None = None, limit: int = 100
    ) -> list[StoredEntry]: ...


class StaysPort(Protocol):
    def stays(self, waybill_ids: Sequence[str]) -> dict[str, HeldParcel]: ...


class Seal(Protocol):
    def seal(self, context: bytes, plaintext: bytes) -> bytes: ...
    def open(self, context: bytes, sealed: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class RecipientPorts:
    store: RecipientStorePort
    challenges: OtpChallenges
    send_otp: Callable[[str, str], None]
    platform_index: Callable[[str], bytes]
    tenant_indexes: Callable[[str], list[tuple[str, bytes]]]
    session_seal: Seal
    leak_seal: Seal
    identity_codes: IdentityCodes
    access: AccessService
    audit: AuditReader
    alerts: AlertPort
    stays: StaysPort
    events: Callable[[str], list[Mapping[str, Any]]]
    clock: Callable[[], datetime]


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _mobile(phone: str) -> tuple[str, str]:
    """(number to text, canonical form to index) of a mobile; FieldError for anything else."""
    parsed = normalise_phone(phone)
    if parsed.kind != "mobile":
        raise FieldError("phone", "must be a mobile number that can receive text messages")
    return parsed.number, parsed.canonical


class RecipientService:
    def __init__(self, ports: RecipientPorts) -> None:
        self._p = ports

    # --- sign-in ------------------------------------------------------------------------

    def request_otp(self, phone: str) -> None:
        """Text a sign-in code to a phone that has parcels with us.

        Answers alike whether or not a code went out (no parcels, hourly limit), so the
        answer never says whether a number receives parcels.
        """
        number, canonical = _mobile(phone)
        if not self._p.store.waybills_for(self._p.tenant_indexes(canonical), limit=1):
            log.info("recipient OTP not sent: no parcels")
            return
        code = self._p.challenges.issue(self._p.platform_index(canonical), self._p.clock())
        if code is None:
            log.warning("recipient OTP not sent: hourly limit reached")
            return
        self._p.send_otp(number, code)

    def verify_otp(self, phone: str, code: str) -> RecipientSignedIn:
        _, canonical = _mobile(phone)
        now = self._p.clock()
        phone_index = self._p.platform_index(canonical)
        if not self._p.challenges.redeem(phone_index, code, now):
            raise RecipientOtpFailed()
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_hash = _token_hash(token)
        expires_at = now + SESSION_LIFETIME
        sealed = self._p.session_seal.seal(token_hash, canonical.encode())
        self._p.store.add_session(token_hash, phone_index, sealed, now, expires_at)
        recipient = Recipient(actor=f"recipient:{phone_index.hex()}", phone_index=phone_index, phone=canonical)
        return RecipientSignedIn(token, expires_at, recipient)

    def resolve(self, token: str) -> Recipient | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        token_hash = _token_hash(token)
        session = self._p.store.session(token_hash)
        if session is None or session.revoked_at is not None or self._p.clock() >= session.expires_at:
            return None
        phone = self._p.session_seal.open(token_hash, session.phone_sealed).decode()
        return Recipient(actor=f"recipient:{session.phone_index.hex()}", phone_index=session.phone_index, phone=phone)

    def sign_out(self, token: str) -> None:
        self._p.store.revoke_session(_token_hash(token), self._p.clock())

    # --- own parcels --------------------------------------------------------------------

    def subject(self, recipient: Recipient, tenant_id: str) -> Subject:
        """The recipient as the policy sees them for one tenant's waybills (that tenant's index)."""
        index = dict(self._p.tenant_indexes(recipient.phone)).get(tenant_id)
        return Subject(actor=recipient.actor, role=Role.RECIPIENT, phone_index=index)

    def parcels(self, recipient: Recipient, limit: int = 100) -> list[tuple[IssuedWaybill, HeldParcel | None]]:
        waybills = self._p.store.waybills_for(self._p.tenant_indexes(recipient.phone), limit)
        for waybill in waybills:
            self._permit(recipient, waybill, {"portal": "list"})
        stays = self._p.stays.stays([w.waybill_id for w in waybills])
        return [(w, stays.get(w.waybill_id)) for w in waybills]

    def _permit(self, recipient: Recipient, waybill: IssuedWaybill, detail: dict[str, str]) -> None:
        self._p.access.permit(
            self.subject(recipient, waybill.tenant_id),
            "waybill.read",
            waybill_resource(waybill),
            self._p.access.context(),
            detail=detail,
        )

    def own_waybill(self, recipient: Recipient, waybill_no: str) -> IssuedWaybill:
        wanted = waybill_no.strip().upper()
        for waybill in self._p.store.waybills_for(self._p.tenant_indexes(recipient.phone), limit=500):
            if waybill.waybill_no == wanted:
                return waybill
        raise NotFound("no such parcel of yours")

    def timeline(self, recipient: Recipient, waybill_no: str) -> tuple[IssuedWaybill, list[Mapping[str, Any]]]:
        waybill = self.own_waybill(recipient, waybill_no)
        self._permit(recipient, waybill, {"portal": "timeline"})
        return waybill, self._p.events(waybill.waybill_id)

    def who_saw(self, recipient: Recipient) -> list[Disclosure]:
        """Every disclosure of the recipient's parcels, newest first: role, purpose, time, fields."""
        found: list[Disclosure] = []
        for waybill in self._p.store.waybills_for(self._p.tenant_indexes(recipient.phone), limit=500):
            self._permit(recipient, waybill, {"portal": "who_saw"})
            for entry in self._p.audit.events(waybill_id=waybill.waybill_id, outcome=Outcome.ALLOWED, limit=10_000):
                event = entry.event()
                if event.action in DISCLOSING_ACTIONS and event.fields:
                    found.append(
                        Disclosure(
                            waybill_no=waybill.waybill_no,
                            at=event.at,
                            role=event.role,
                            action=event.action,
                            purpose=event.purpose,
                            fields=tuple(event.fields),
                        )
                    )
        return sorted(found, key=lambda d: d.at, reverse=True)

    # --- preferences, identity code, leak reports ---------------------------------------

    def preferences(self, recipient: Recipient) -> Preferences:
        return self._p.store.preferences(self._p.tenant_indexes(recipient.phone)) or DEFAULT_PREFERENCES

    def set_preferences(self, recipient: Recipient, prefs: Preferences) -> Preferences:
        pairs = self._p.tenant_indexes(recipient.phone)
        for waybill in self._p.store.waybills_for(pairs, limit=1):
            self._p.access.permit(
                self.subject(recipient, waybill.tenant_id),
                "preferences.write",
                waybill_resource(waybill),
                self._p.access.context(),
                detail={k: str(v).lower() for k, v in _as_dict(prefs).items()},
            )
        self._p.store.set_preferences(pairs, prefs, self._p.clock())
        return prefs

    def identity_code(self, recipient: Recipient) -> tuple[str, datetime]:
        return self._p.identity_codes.mint(recipient.phone, self._p.clock())

    def report_leak(self, recipient: Recipient, kind: str, text: str, waybill_nos: Sequence[str]) -> LeakReportRecord:
        """File a leak report on some of the recipient's own parcels; it opens a leak-tracing case.

        The free text is kept sealed; what may be shown of it is its allow-list display form
        (masking.free_text, vocabulary leak_reports): canonical phrases and [已隐藏], never the
        recipient's own words, which may name people and places.
        """
        if kind not in LEAK_KINDS:
            raise FieldError("kind", f"must be one of {', '.join(LEAK_KINDS)}")
        if len(text) > MAX_LEAK_TEXT:
            raise FieldError("text", f"must be at most {MAX_LEAK_TEXT} characters")
        if not waybill_nos:
            raise FieldError("waybill_nos", "name at least one of your parcels")
        waybills = [self.own_waybill(recipient, n) for n in dict.fromkeys(waybill_nos)]
        now = self._p.clock()
        for waybill in waybills:
            self._p.access.permit(
                self.subject(recipient, waybill.tenant_id),
                "leak.report",
                waybill_resource(waybill),
                self._p.access.context(),
                detail={"kind": kind},
            )
        report_id = f"lr_{secrets.token_hex(8)}"
        sealed = self._p.leak_seal.seal(report_id.encode(), text.encode()) if text.strip() else None
        shown = display_text(text, LEAK_VOCABULARY) or None
        self._p.store.add_leak_report(
            report_id, recipient.actor, kind, sealed, shown, [w.waybill_id for w in waybills], now
        )
        self._p.alerts.raise_alert(
            now, "high", "leak_report", recipient.actor, {"report_id": report_id, "kind": kind, "waybills": str(len(waybills))}
        )
        return LeakReportRecord(report_id, now, "open", tuple(w.waybill_no for w in waybills), shown)

    def leak_reports(self, recipient: Recipient) -> list[LeakReportRecord]:
        return self._p.store.leak_reports(recipient.actor)


def _as_dict(prefs: Preferences) -> dict[str, bool]:
    return {"station_allowed": prefs.station_allowed, "locker_allowed": prefs.locker_allowed}
