"""Pickup messages through the notification outbox (templates station.pickup_ready and
station.pickup_otp): the masked waybill number, the station id and a code, nothing more.

The recipient's phone is opened from the vault only to hand it to the outbox, which seals it;
that opening is audited first (actor `system:notifications`), and the clerk whose scan caused
it is named in the entry's detail by id. The clerk never receives the number.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from privacy_waybill.audit.model import AuditEvent, AuditSink, Outcome
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.notifications import NotificationService, mask_waybill_no
from privacy_waybill.stations.model import HeldParcel, Station
from privacy_waybill.vault import SealedRecord, Vault

PICKUP_READY = "station.pickup_ready"
PICKUP_OTP = "station.pickup_otp"
NOTIFIER_ACTOR = "system:notifications"


class OutboxPickupNotices:
    def __init__(
        self,
        notifications: NotificationService,
        vault: Vault,
        sealed_record: Callable[[str], SealedRecord | None],
        audit: AuditSink,
    ) -> None:
        self._notifications = notifications
        self._vault = vault
        self._sealed_record = sealed_record
        self._audit = audit

    def _phone(self, waybill: IssuedWaybill, template: str, now: datetime) -> str:
        self._audit.record(
            AuditEvent(
                at=now,
                actor=NOTIFIER_ACTOR,
                role="system",
                action="waybill.notify",
                outcome=Outcome.ALLOWED,
                rule="notify-recipient",
                tenant_id=waybill.tenant_id,
                waybill_id=waybill.waybill_id,
                purpose="notify",
                fields=("phone",),
                detail={"template": template},
            )
        )
        sealed = self._sealed_record(waybill.waybill_id)
        if sealed is None:
            raise PrivacyWaybillError("the waybill has no sealed record")
        opened = self._vault.open(waybill.tenant_id, waybill.waybill_id, sealed, ["recipient_phone"])
        return opened["recipient_phone"]

    def pickup_ready(self, waybill: IssuedWaybill, parcel: HeldParcel, station: Station, now: datetime) -> None:
        params = {"waybill": mask_waybill_no(waybill.waybill_no), "station": station.id, "pickup_code": parcel.pickup_code}
        # One notice per stay on a shelf: a retried check-in does not text the recipient twice.
        key = f"pickup:{waybill.waybill_id}:{parcel.checked_in_at.isoformat()}"
        self._notifications.send(PICKUP_READY, self._phone(waybill, PICKUP_READY, now), params, key, now)

    def pickup_otp(self, waybill: IssuedWaybill, code: str, station: Station, now: datetime) -> None:
        params = {"code": code, "waybill": mask_waybill_no(waybill.waybill_no), "station": station.id}
        key = f"pickup-otp:{waybill.waybill_id}:{now.isoformat()}"
        self._notifications.send(PICKUP_OTP, self._phone(waybill, PICKUP_OTP, now), params, key, now)
