"""The rule for a break-glass ticket, pure: its id has the configured shape, it exists in the
ticket system, it is open now, and it names this tenant and this waybill.

A ticket id is a reference, never free text: a phone number typed as the ticket is refused by
the shape, so it cannot reach auditors, alerts or the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket_id: str
    tenant_id: str
    waybill_ids: frozenset[str]
    opened_by: str
    opened_at: datetime
    expires_at: datetime


class TicketSystem(Protocol):
    """The adapter to wherever tickets live (the platform's own table, or a help-desk product)."""

    def ticket(self, ticket_id: str) -> Ticket | None: ...


def ticket_problem(
    ticket_id: str | None,
    pattern: re.Pattern[str],
    found: Ticket | None,
    tenant_id: str,
    waybill_id: str,
    now: datetime,
) -> str | None:
    """Why this ticket does not open this waybill now (a condition name), or None when it does."""
    if not ticket_id or not pattern.fullmatch(ticket_id):
        return "ticket_pattern"
    if found is None:
        return "ticket_exists"
    if not found.opened_at <= now < found.expires_at:
        return "ticket_open"
    if found.tenant_id != tenant_id:
        return "ticket_tenant"
    if waybill_id not in found.waybill_ids:
        return "ticket_names_waybill"
    return None
