"""Break-glass tickets at the moment of access: check the ticket, seal the reason.

The reason is free text typed by an agent and may name the caller or her building. Until
the free-text allow-list (issue 4) shows reasons safely, it is sealed with its own key and
no reader (auditors included) is shown any of its text, only the id it is kept under.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy_waybill.tickets.rules import TicketSystem, ticket_problem
from privacy_waybill.vault.aead import seal
from privacy_waybill.vault.keyring import KeySource


class ReasonStore(Protocol):
    def keep_reason(self, ticket_id: str, actor: str, waybill_id: str, at: datetime, sealed: bytes) -> int: ...


class TicketedSystem(TicketSystem, ReasonStore, Protocol):
    pass


@dataclass
class BreakGlassTickets:
    system: TicketedSystem
    pattern: re.Pattern[str]
    # Asked for its current version at each seal, so a rotation made by another process applies.
    reason_keys: KeySource

    def problem(self, ticket_id: str | None, tenant_id: str, waybill_id: str, now: datetime) -> str | None:
        found = self.system.ticket(ticket_id) if ticket_id and self.pattern.fullmatch(ticket_id) else None
        return ticket_problem(ticket_id, self.pattern, found, tenant_id, waybill_id, now)

    def keep_reason(self, ticket_id: str, actor: str, waybill_id: str, reason: str, now: datetime) -> int:
        associated = f"pwb break-glass reason/1|{ticket_id}|{waybill_id}".encode()
        # The key version leads the sealed bytes, so reasons stay readable after a rotation.
        version, key = self.reason_keys.current()
        sealed = version.to_bytes(2, "big") + seal(AESGCM(key), reason.encode(), associated)
        return self.system.keep_reason(ticket_id, actor, waybill_id, now, sealed)

