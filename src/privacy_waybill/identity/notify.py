"""Sending one-time codes to phones through an adapter; the simulated one keeps messages in
memory for tests and demos and logs only that a message went out, never to whom."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("privacy_waybill.identity.notify")


class Notifier(Protocol):
    def send_otp(self, phone: str, code: str) -> None:
        """Deliver `code` to the E.164 mobile number `phone` (an SMS gateway in production)."""
        ...


@dataclass(frozen=True, slots=True)
class SentMessage:
    phone: str = field(repr=False)
    code: str = field(repr=False)


class SimulatedNotifier:
    def __init__(self) -> None:
        self.sent: list[SentMessage] = []

    def send_otp(self, phone: str, code: str) -> None:
        self.sent.append(SentMessage(phone, code))
        log.info("simulated OTP message %d sent", len(self.sent))

    def last_code_for(self, phone: str) -> str | None:
        return next((m.code for m in reversed(self.sent) if m.phone == phone), None)
