"""The embedded provider: keeps no numbers of its own (the bindings table holds A and B sealed
for it) and answers every binding call at once, as a provider in good health does."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

log = logging.getLogger("privacy_waybill.telephony.simulator")


class SimulatedTelephony:
    name = "simulator"

    def bind(self, x_number: str, a_phone: str, b_phone: str, expires_at: datetime, out_id: str) -> str:
        binding_id = "simsub-" + hashlib.sha256(out_id.encode()).hexdigest()[:16]
        log.info("simulated AXB binding %s on %s until %s", binding_id, x_number, expires_at.isoformat())
        return binding_id

    def unbind(self, provider_binding_id: str, x_number: str) -> None:
        log.info("simulated AXB binding %s on %s ended", provider_binding_id, x_number)

    def update_expiry(self, provider_binding_id: str, x_number: str, expires_at: datetime) -> None:
        log.info("simulated AXB binding %s now ends %s", provider_binding_id, expires_at.isoformat())
