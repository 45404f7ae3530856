"""`pwb tickets open`: the built-in ticket system's one act: a ticket opening break-glass access
to one tenant's named waybills for a limited time (a help-desk product plugs in instead
through tickets.TicketSystem)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer

from privacy_waybill.access.model import Role
from privacy_waybill.cli.common import TenantOption, allow, fail, operator, runtime
from privacy_waybill.storage.tickets import SqlTicketSystem
from privacy_waybill.tickets import Ticket

MAX_HOURS = 72

tickets_app = typer.Typer(help="Support tickets that open break-glass access.", no_args_is_help=True)


@tickets_app.command("open")
def tickets_open(
    ticket_id: Annotated[str, typer.Argument(help="The ticket id, in the configured shape (PWB_TICKET_PATTERN).")],
    tenant: TenantOption,
    waybill: Annotated[list[str], typer.Option("--waybill", "-w", help="A waybill number the ticket is about.")],
    hours: Annotated[int, typer.Option(min=1, max=MAX_HOURS, help="How long the ticket stays open.")] = 4,
) -> None:
    """Open a ticket for the tenant's named waybills, valid from now for --hours."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "tenant.manage")
        if not re.fullmatch(rt.settings.ticket_pattern, ticket_id):
            raise fail("ticket id: does not have the configured shape (PWB_TICKET_PATTERN)")
        ids = []
        for position, number in enumerate(waybill):
            found = rt.waybills.get_by_number(tenant, number.strip().upper())
            if found is None:
                raise fail(f"--waybill {position + 1}: not a waybill of tenant {tenant!r}")
            ids.append(found.waybill_id)
        now = rt.clock()
        ticket = Ticket(ticket_id, tenant, frozenset(ids), "cli", now, now + timedelta(hours=hours))
        try:
            SqlTicketSystem(rt.engine).open(ticket)
        except Exception as error:  # noqa: BLE001 - the driver's text may quote values
            why = type(error).__name__
            raise fail(f"ticket {ticket_id} could not be opened ({why}; does it exist already?)") from None
    until = ticket.expires_at.isoformat()
    typer.echo(f"pwb tickets open: {ticket_id} opens {len(ids)} waybill(s) of {tenant!r} until {until}")
