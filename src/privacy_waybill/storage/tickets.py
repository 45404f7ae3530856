"""Support tickets and sealed break-glass reasons on SQLAlchemy (the built-in ticket system)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Table, insert, select

from privacy_waybill.storage.ticket_tables import BreakGlassReason, SupportTicket
from privacy_waybill.tickets import Ticket

TICKETS = cast(Table, SupportTicket.__table__)
REASONS = cast(Table, BreakGlassReason.__table__)


class SqlTicketSystem:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, ticket: Ticket) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(TICKETS).values(
                    id=ticket.ticket_id,
                    tenant_id=ticket.tenant_id,
                    waybill_ids=sorted(ticket.waybill_ids),
                    opened_by=ticket.opened_by,
                    opened_at=ticket.opened_at,
                    expires_at=ticket.expires_at,
                )
            )

    def ticket(self, ticket_id: str) -> Ticket | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(TICKETS).where(TICKETS.c.id == ticket_id)).mappings().first()
        if row is None:
            return None
        return Ticket(
            ticket_id=row["id"],
            tenant_id=row["tenant_id"],
            waybill_ids=frozenset(row["waybill_ids"]),
            opened_by=row["opened_by"],
            opened_at=row["opened_at"],
            expires_at=row["expires_at"],
        )

    def keep_reason(self, ticket_id: str, actor: str, waybill_id: str, at: datetime, sealed: bytes) -> int:
        """Store a sealed reason; its id is what audit entries and alerts carry."""
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(REASONS)
                    .values(ticket_id=ticket_id, actor=actor, waybill_id=waybill_id, at=at, sealed=sealed)
                    .returning(REASONS.c.id)
                ).scalar_one()
            )
