"""Sending one-time codes to phones through an adapter. The runtime sends them through the
notifications outbox (notifications.otp.OutboxNotifier); the in-memory one here serves the
identity service's own unit tests and logs only that a message went out, never to whom."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("privacy_waybill.identity.notify")


class Notifier(Protocol):
    def send_otp(self, phone: str, code: str, otp_id: str | None = None) -> None:
        """Deliver `code` to the E.164 mobile number `phone`; `otp_id` keys the message for
        idempotency. The runtime's default is notifications.otp.OutboxNotifier."""
        ...


@dataclass(frozen=True, slots=True)
class SentMessage:
    phone: str = field(repr=False)
    code: str = field(repr=False)


class SimulatedNotifier:
    def __init__(self) -> None:
        self.sent: list[SentMessage] = []

    def send_otp(self, phone: str, code: str, otp_id: str | None = None) -> None:
        self.sent.append(SentMessage(phone, code))
        log.info("simulated OTP message %d sent", len(self.sent))

    def last_code_for(self, phone: str) -> str | None:
        return next((m.code for m in reversed(self.sent) if m.phone == phone), None)
