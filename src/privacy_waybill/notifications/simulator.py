"""The embedded provider: "delivers" by keeping the message in the outbox for an operator to read.

It needs no phone number (the outbox's hint is what it shows), and it can simulate an outage
of the next n attempts, for demos and tests of the retry path.
"""

from __future__ import annotations

import hashlib
import logging

from privacy_waybill.notifications.model import Channel, ProviderUnavailable, Rendered

log = logging.getLogger("privacy_waybill.notifications.simulator")


class SimulatedProvider:
    name = "simulator"
    keeps_copy = True

    def __init__(self) -> None:
        self._outage = 0

    def fail_next(self, attempts: int) -> None:
        """Answer the next `attempts` deliveries as unavailable, as a gateway in an outage does."""
        self._outage = attempts

    def deliver(self, channel: Channel, address: str, message: Rendered, idempotency_key: str) -> str:
        if self._outage > 0:
            self._outage -= 1
            raise ProviderUnavailable("simulated provider outage")
        message_id = "sim-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        log.info("simulated %s message %s delivered", channel.value, message_id)
        return message_id
