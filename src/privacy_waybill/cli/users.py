"""`pwb users`: create sign-in accounts, bind couriers' devices, set account status, revoke
sessions, and issue day passes to crowd-sourced couriers.

Secrets are never taken as arguments (they would land in shell history and process lists):
passwords and phone numbers are prompted for or read from stdin.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

import typer

from privacy_waybill.access.model import Role
from privacy_waybill.cli.common import allow, fail, operator, runtime, stderr
from privacy_waybill.identity.model import UserStatus
from privacy_waybill.identity.rules import PASSWORD_ROLES

users_app = typer.Typer(help="Sign-in accounts, courier devices and crowd-courier passes.", no_args_is_help=True)

UsernameArgument = Annotated[str, typer.Argument(help="Sign-in name (lowercase letters, digits, . _ -).")]


def _secret_input(prompt: str, from_stdin: bool, confirm: bool = False) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


def _role(value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role not in PASSWORD_ROLES:
        choices = ", ".join(sorted(r.value for r in PASSWORD_ROLES))
        raise typer.BadParameter(f"must be one of: {choices}")
    return role


@users_app.command("add")
def add(
    username: UsernameArgument,
    role: Annotated[str, typer.Option(help="Role (see SPEC 6); crowd couriers get passes instead.")],
    tenant: Annotated[str | None, typer.Option(help="Merchant tenant id (merchant role).")] = None,
    hub: Annotated[str | None, typer.Option(help="Sorting hub (sorting_operator role).")] = None,
    station: Annotated[str | None, typer.Option(help="Station (station_clerk role).")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from the first line of stdin.")] = False,
) -> None:
    """Create a user. Staff roles get a TOTP secret: its provisioning URI is printed once."""
    chosen = _role(role)
    password = _secret_input("Password", password_stdin, confirm=True)
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "user.manage")
        identity = rt.identity
        if tenant is not None and not rt.tenants.exists(tenant):
            raise fail("--tenant: no such merchant; create it with `pwb merchants add`")
        created = identity.add_user(username, password, chosen, rt.clock(), tenant_id=tenant, hub=hub, station=station)
    stderr.print(f"pwb users add: created {created.user.id} ({chosen.value})", highlight=False)
    if created.totp_uri:
        stderr.print("Add this to the user's authenticator app now; it is not shown again:", highlight=False)
        typer.echo(created.totp_uri)


@users_app.command("bind-device")
def bind_device(
    username: UsernameArgument,
    device: Annotated[str, typer.Argument(help="The courier handset's device id.")],
) -> None:
    """Bind a courier's account to a device; the courier's open sessions end."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "user.manage")
        identity = rt.identity
        user = identity.bind_device(username, device, rt.clock())
    stderr.print(f"pwb users bind-device: {user.id} bound", highlight=False)


@users_app.command("status")
def status(username: UsernameArgument, new_status: Annotated[UserStatus, typer.Argument(metavar="STATUS")]) -> None:
    """Set an account active, locked or disabled; locking or disabling ends its sessions."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "user.manage")
        identity = rt.identity
        user = identity.set_status(username, new_status, rt.clock())
    stderr.print(f"pwb users status: {user.id} is {new_status.value}", highlight=False)


@users_app.command("revoke-sessions")
def revoke_sessions(username: UsernameArgument) -> None:
    """End every open session of a user."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "user.manage")
        identity = rt.identity
        user = identity.user(username)
        revoked = identity.revoke_all_sessions(user.id, rt.clock())
    stderr.print(f"pwb users revoke-sessions: {revoked} sessions ended", highlight=False)


@users_app.command("pass")
def crowd_pass(
    route: Annotated[str, typer.Argument(help="The route the pass is limited to.")],
    day: Annotated[str, typer.Option(help="The day of work, YYYY-MM-DD (China Standard Time).")],
    phone_stdin: Annotated[bool, typer.Option(help="Read the courier's mobile number from stdin.")] = False,
) -> None:
    """Issue a crowd-sourced courier a pass for one route and one day; prints the pass id."""
    try:
        pass_day = date.fromisoformat(day)
    except ValueError:
        raise fail("--day must be a date as YYYY-MM-DD") from None
    phone = _secret_input("Courier's mobile number", phone_stdin)
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "user.manage")
        identity = rt.identity
        created = identity.create_pass(phone, route, pass_day, "cli", rt.clock())
    typer.echo(created.id)


@users_app.command("revoke-pass")
def revoke_pass(pass_id: Annotated[str, typer.Argument(help="The pass id printed by `pwb users pass`.")]) -> None:
    """End a crowd courier's pass early; its sessions stop working at once."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "user.manage")
        identity = rt.identity
        identity.revoke_pass(pass_id, rt.clock())
    stderr.print(f"pwb users revoke-pass: {pass_id} revoked", highlight=False)
