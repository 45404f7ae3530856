"""Canary waybills: planted records that look like any other, so that their use anywhere is a tell.

A canary is an ordinary issued waybill (synthetic recipient, sealed and masked like the rest)
whose address routes it to the route or station it is planted for; the risk engine raises a
high-severity alert naming that place on any reveal, call, tracking look-up or leaked-list
match of it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from privacy_waybill.errors import FieldError

SCOPE_KINDS = ("route", "station", "terminal")
_ROADS = ("建设路", "人民路", "解放路", "中山路", "文化路", "胜利路")


def division_address(code: str) -> str | None:
    """A plausible street address inside the division `code` (6-digit county or 9-digit town)."""
    # Imported here, like Faker below: `pwb` reads SCOPE_KINDS at start-up and must stay light.
    from privacy_waybill.addresses.divisions import load_divisions

    data = load_divisions()
    district = data.division(code[:6])
    if district is None:
        return None
    names = [data.province_of(code).name]
    city = data.city_of(code[:6])
    if city is not None and city.code != district.code:
        names.append(city.name)
    if district.name not in names:
        names.append(district.name)
    if len(code) > 6:
        town = next((t for t in data.towns if t.code.startswith(code)), None)
        if town is None:
            return None
        names.append(town.name)
    number, building, floor, room = (secrets.randbelow(n) + 1 for n in (300, 20, 30, 4))
    detail = f"{secrets.choice(_ROADS)}{number}号{building}栋{floor}0{room}室"
    return "".join(names) + detail


def _synthetic_order() -> dict[str, object]:
    """A demo order whose phones validate (the generator's phone segments run ahead of the data)."""
    from privacy_waybill.demo import demo_orders
    from privacy_waybill.validation.phones import normalise_phone

    for order in demo_orders(50, seed=secrets.randbits(32), prefix=f"CANARY-{secrets.token_hex(6)}"):
        parties = [order["recipient"], order["sender"]]
        try:
            for party in parties:
                if not isinstance(party, dict):
                    raise TypeError("a demo order's party is a mapping")
                normalise_phone(str(party["phone"]))
        except FieldError:
            continue
        return order
    raise FieldError("canary", "no valid synthetic order could be generated")


def canary_order(
    scope_kind: str,
    scope: str,
    divisions_with: Callable[[str, str], list[str]],
    sort_code_of: Callable[[str], str | None],
) -> dict[str, object]:
    """A synthetic order whose recipient address routes to `scope` (any address for a terminal).

    `divisions_with(segment, value)` lists the routing table's divisions for a segment value;
    `sort_code_of(address)` is the sort code an address text gets (None when it cannot be routed).
    """
    if scope_kind not in SCOPE_KINDS:
        raise FieldError("scope", f"must be one of {', '.join(SCOPE_KINDS)}")
    order = _synthetic_order()
    if scope_kind == "terminal":
        return order
    segment = 1 if scope_kind == "station" else 2
    for code in divisions_with(scope_kind, scope):
        address = division_address(code)
        routed = sort_code_of(address) if address else None
        if address and routed and routed.split("-")[segment] == scope:
            recipient = order["recipient"]
            if not isinstance(recipient, dict):
                raise TypeError("a demo order's recipient is a mapping")
            return {**order, "recipient": {**recipient, "address": address}}
    raise FieldError(scope_kind, f"no division in the routing table routes to {scope_kind} {scope}")
