"""`pwb demo`: a demo merchant with realistic orders, and one station to try every role on.

The walkthrough station (HZ10, route 13, hub 571) gets parcels to three compounds: some
dispatched to a demo courier, some waiting for check-in at the desk (named by the day's demo
support ticket) and some printed and waiting at the hub; and one demo account per staff role.
Their passwords and TOTP secrets go to PWB_HOME/demo-accounts.json (owner-only) with the
waiting waybill numbers, and `pwb demo code NAME` prints an account's current sign-in code in
place of an authenticator app. Nothing here is created outside `pwb demo`: a platform that
never ran it has no such accounts.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pyotp
import typer

from privacy_waybill.access.model import Resource, Role, Subject
from privacy_waybill.cli.common import allow, fail, file_problem, operator, runtime, settings, stderr
from privacy_waybill.cli.stations import seed_demo_stations
from privacy_waybill.identity.rules import OPTIONAL_SCOPE_ATTRIBUTE, SCOPE_ATTRIBUTE
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus

if TYPE_CHECKING:
    from privacy_waybill.runtime import Runtime

DEMO_X_NUMBERS = tuple(f"+861710000{n:04d}" for n in range(1, 101))
ACCOUNTS_FILE = "demo-accounts.json"
# (username, role): each works at the walkthrough station or its hub, as its role is scoped.
DEMO_ACCOUNTS = (
    ("demo.sorter", Role.SORTING_OPERATOR),
    ("demo.clerk", Role.STATION_CLERK),
    ("demo.courier", Role.COURIER),
    ("demo.support", Role.CUSTOMER_SERVICE),
    ("demo.auditor", Role.SECURITY_AUDITOR),
    ("demo.admin", Role.PLATFORM_ADMIN),
)
# The route's parcels: the first go out with the demo courier, the next wait for the desk, the
# last are printed and wait for the hub's sorting scan.
DISPATCHED, AT_THE_DESK, AT_THE_HUB = 12, 12, 6
ROUTE_PARCELS = DISPATCHED + AT_THE_DESK + AT_THE_HUB
_TO_THE_STATION = (WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT)

demo_app = typer.Typer(
    help="Seed the demo (idempotent): a merchant's orders, a walkthrough station, demo accounts.",
    invoke_without_command=True,
)


@demo_app.callback()
def demo(
    ctx: typer.Context,
    orders: Annotated[int, typer.Option(min=1, max=100_000, help="How many demo orders to seed.")] = 300,
) -> None:
    """Seed a demo merchant with realistic orders and a station to try every role on (idempotent)."""
    if ctx.invoked_subcommand is not None:
        return
    from privacy_waybill.access.api_keys import MERCHANT_SCOPES, new_api_key
    from privacy_waybill.demo import DEMO_HUB, DEMO_STATION, demo_orders, route_orders
    from privacy_waybill.issuance.intake import records_from_objects
    from privacy_waybill.issuance.service import Issued, Rejected

    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "tenant.manage")
        merchant = operator(Role.MERCHANT, "demo")
        now = rt.clock()
        key_file = rt.settings.home / "demo-api-key"
        if rt.tenants.ensure("demo", "Demo merchant", now) or not key_file.exists():
            key = new_api_key()
            rt.tenants.add_api_key("demo", key, MERCHANT_SCOPES, "demo", now)
            key_file.write_text(key.token + "\n")
            key_file.chmod(0o600)
        allow(rt, merchant, "order.create", Resource(kind="tenant", tenant_id="demo"))
        # A small pool of virtual numbers, so couriers' calls work in the demo.
        rt.telephony.add_numbers(DEMO_X_NUMBERS, 200, "demo", now)
        outcomes = list(rt.issuance().issue("demo", records_from_objects(demo_orders(orders)), actor=merchant.actor))
        issued = sum(isinstance(o, Issued) and not o.replayed for o in outcomes)
        replayed = sum(isinstance(o, Issued) and o.replayed for o in outcomes)
        rejected = sum(isinstance(o, Rejected) for o in outcomes)
        route_records = records_from_objects(route_orders(ROUTE_PARCELS))
        route = list(rt.issuance().issue("demo", route_records, actor=merchant.actor))
        route_waybills = [o.waybill for o in route if isinstance(o, Issued)]
        if len(route_waybills) != ROUTE_PARCELS:
            raise fail("the walkthrough route's demo orders were not all issued")
        allow(rt, operator(Role.PLATFORM_ADMIN), "station.register")
        sort_codes = [o.waybill.sort_code for o in (*outcomes, *route) if isinstance(o, Issued)]
        stations = seed_demo_stations(rt, sort_codes)
        hub_count = len(route_waybills) - AT_THE_HUB
        at_the_station = [_move_along(rt, w, _TO_THE_STATION) for w in route_waybills[:hub_count]]
        at_the_hub = [_move_along(rt, w, _TO_THE_STATION[:1]) for w in route_waybills[hub_count:]]
        accounts_file = rt.settings.home / ACCOUNTS_FILE
        waiting = {
            "waiting_for_check_in": [w.waybill_no for w in at_the_station[DISPATCHED:]],
            "waiting_at_the_hub": [w.waybill_no for w in at_the_hub],
        }
        courier = _ensure_accounts(rt, accounts_file, {"station": DEMO_STATION, "hub": DEMO_HUB}, waiting)
        dispatched = _dispatch(rt, at_the_station[:DISPATCHED], courier, DEMO_STATION)
        ticket = _open_ticket(rt, at_the_station[DISPATCHED:])
    stderr.print(
        f"pwb demo: tenant 'demo': {issued} new waybills, {replayed} already there, {rejected} rejected; "
        f"{stations} demo stations registered; API key in {key_file}",
        highlight=False,
    )
    stderr.print(
        f"pwb demo: station {DEMO_STATION}: {dispatched} parcels dispatched to demo.courier, "
        f"{AT_THE_DESK} waiting for check-in (support ticket {ticket} names them), {AT_THE_HUB} for the hub; "
        f"accounts in {accounts_file} (sign-in codes: pwb demo code demo.clerk)",
        highlight=False,
    )


def _move_along(rt: Runtime, waybill: IssuedWaybill, steps: tuple[WaybillStatus, ...]) -> IssuedWaybill:
    """A newly issued route parcel moved through `steps`, as printing and sorting would."""
    if waybill.status is not WaybillStatus.CREATED:
        return waybill
    for status in steps:
        waybill = rt.waybills.transition(waybill, status, "system:demo", rt.clock())
    return waybill


def _ensure_accounts(
    rt: Runtime, accounts_file: Path, places: dict[str, str], waiting: dict[str, list[str]]
) -> str | None:
    """Create the demo accounts that do not exist yet and record their credentials, with the
    waybill numbers waiting at the hub and the desk; returns the demo courier's actor id (None
    when the account exists but is not this demo's)."""
    known = _read_accounts(accounts_file) if accounts_file.exists() else {}
    allow(rt, operator(Role.PLATFORM_ADMIN), "user.manage")
    for username, role in DEMO_ACCOUNTS:
        if rt.identity.store.user_by_username(username) is not None:
            continue
        password = secrets.token_urlsafe(12)
        attribute = SCOPE_ATTRIBUTE.get(role) or OPTIONAL_SCOPE_ATTRIBUTE.get(role)
        scope = {attribute: places[attribute]} if attribute else {}
        created = rt.identity.add_user(username, password, role, rt.clock(), **scope)
        secret = pyotp.parse_uri(created.totp_uri).secret if created.totp_uri else None
        known[username] = {"role": role.value, "password": password, "totp_secret": secret}
    _write_accounts(accounts_file, places["station"], known, waiting)
    courier = rt.identity.store.user_by_username("demo.courier")
    return f"user:{courier.id}" if courier is not None and courier.role is Role.COURIER else None


def _dispatch(rt: Runtime, waybills: list[IssuedWaybill], courier: str | None, station: str) -> int:
    """Assign today the route parcels still waiting at the station to the demo courier."""
    waiting = [w.waybill_no for w in waybills if w.status is WaybillStatus.IN_TRANSIT]
    if courier is None or not waiting:
        return 0
    clerk = Subject(actor=operator(Role.STATION_CLERK).actor, role=Role.STATION_CLERK, station=station)
    return len(rt.delivery.assign(clerk, waiting, courier, rt.access.context()))


def _open_ticket(rt: Runtime, waybills: list[IssuedWaybill]) -> str:
    """Today's demo support ticket (opened once a day, for 12 hours), naming `waybills`, so
    demo.support can try break-glass on them."""
    from privacy_waybill.delivery.service import work_day
    from privacy_waybill.storage.tickets import SqlTicketSystem
    from privacy_waybill.tickets import Ticket

    tickets = SqlTicketSystem(rt.engine)
    now = rt.clock()
    ticket_id = f"T-{work_day(now):%Y%m%d}-0001"
    if tickets.ticket(ticket_id) is None:
        ids = frozenset(w.waybill_id for w in waybills)
        tickets.open(Ticket(ticket_id, "demo", ids, "system:demo", now, now + timedelta(hours=12)))
    return ticket_id


def _read_accounts(path: Path) -> dict[str, dict[str, str | None]]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))["accounts"])
    except OSError as error:
        raise fail(file_problem("cannot read", path, error)) from None
    except (ValueError, KeyError, TypeError):
        raise fail(f"{path}: not a demo accounts file; move it away and run `pwb demo` again") from None


def _write_accounts(
    path: Path, station: str, accounts: dict[str, dict[str, str | None]], waiting: dict[str, list[str]]
) -> None:
    body = {
        "note": "Demo accounts made by `pwb demo`; `pwb demo code NAME` prints a current sign-in code.",
        "station": station,
        "accounts": accounts,
        **waiting,
    }
    try:
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise fail(file_problem("cannot write", path, error)) from None


@demo_app.command("code")
def code(username: Annotated[str, typer.Argument(help="A demo account, e.g. demo.clerk.")]) -> None:
    """Print a demo account's current sign-in code (in place of its authenticator app)."""
    path = settings().home / ACCOUNTS_FILE
    if not path.exists():
        raise fail(f"no demo accounts in {path}: run `pwb demo` first")
    account = _read_accounts(path).get(username)
    if account is None:
        raise fail(f"{username!r} is not a demo account (see {path})")
    secret = account.get("totp_secret")
    if not secret:
        raise fail(f"{username!r} signs in without a code")
    typer.echo(pyotp.TOTP(secret).now())
