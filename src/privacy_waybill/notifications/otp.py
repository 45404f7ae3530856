"""Sign-in codes through the outbox: the identity service's Notifier on top of notifications."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from privacy_waybill.notifications.service import NotificationService

CROWD_COURIER_OTP = "crowd_courier.otp"


class OutboxNotifier:
    """Sends each crowd courier's OTP as the `crowd_courier.otp` template; the OTP id is the
    idempotency key, so a retried request cannot text the same code twice."""

    def __init__(self, notifications: NotificationService, clock: Callable[[], datetime]) -> None:
        self._notifications = notifications
        self._clock = clock

    def send_otp(self, phone: str, code: str, otp_id: str | None = None) -> None:
        key = f"otp:{otp_id or secrets.token_hex(8)}"
        self._notifications.send(CROWD_COURIER_OTP, phone, {"code": code}, key, self._clock())
