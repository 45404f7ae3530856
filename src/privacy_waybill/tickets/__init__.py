"""Support tickets that open break-glass access: one tenant, named waybills, a limited time."""

from privacy_waybill.tickets.rules import Ticket, TicketSystem, ticket_problem

__all__ = ["Ticket", "TicketSystem", "ticket_problem"]
