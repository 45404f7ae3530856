"""`pwb terminals`: register, list and revoke a merchant's print terminals.

A new terminal's token is printed once on stdout and never stored: only its SHA-256 is kept.
"""

from __future__ import annotations

from typing import Annotated

import typer

from privacy_waybill.access.model import Role
from privacy_waybill.cli.common import TenantOption, allow, fail, operator, runtime

terminals_app = typer.Typer(help="Print terminals that pull masked labels for a merchant.", no_args_is_help=True)


@terminals_app.command("add")
def terminals_add(
    tenant: TenantOption,
    name: Annotated[str, typer.Option("--name", "-n", help="Where the printer stands, e.g. 仓库1号机.")],
) -> None:
    """Register a terminal for a merchant and print its token once on stdout."""
    if not 1 <= len(name) <= 100:
        raise fail("--name must be 1-100 characters")
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "tenant.manage")
        if not rt.tenants.exists(tenant):
            raise fail(f"unknown tenant {tenant!r}: create it with `pwb merchants add`")
        from privacy_waybill.printing import new_terminal

        terminal = new_terminal()
        rt.terminals.add(tenant, terminal, name, rt.clock())
    typer.echo(terminal.token)
    typer.echo(f"pwb terminals add: terminal {terminal.terminal_id} for tenant {tenant!r}", err=True)


@terminals_app.command("list")
def terminals_list(tenant: TenantOption) -> None:
    """One line per terminal of the merchant: id, state, created, name (tab-separated)."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "tenant.manage")
        terminals = rt.terminals.list_for_tenant(tenant)
    for terminal in terminals:
        state = f"revoked {terminal.revoked_at.isoformat()}" if terminal.revoked_at else "active"
        typer.echo(f"{terminal.terminal_id}\t{state}\t{terminal.created_at.isoformat()}\t{terminal.name}")


@terminals_app.command("revoke")
def terminals_revoke(
    terminal_id: Annotated[str, typer.Argument(help="Terminal id (from `pwb terminals list`).")],
) -> None:
    """Revoke a terminal: its token stops working at once."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "tenant.manage")
        revoked = rt.terminals.revoke(terminal_id, rt.clock())
    if not revoked:
        raise fail("no such active terminal")
    typer.echo(f"pwb terminals revoke: terminal {terminal_id} revoked", err=True)
