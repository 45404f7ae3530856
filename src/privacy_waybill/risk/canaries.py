"""Canary waybills: planted records that look like any other, so that their use anywhere is a tell.

A canary is an ordinary issued waybill (synthetic recipient, sealed and masked like the rest)
whose sort code puts it on the route or at the station it is planted for; the risk engine
raises a high-severity alert naming that place on any reveal, call, tracking look-up or
leaked-list match of it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from privacy_waybill.demo import demo_orders
from privacy_waybill.errors import FieldError

SCOPE_KINDS = ("route", "station", "terminal")
CANDIDATE_ORDERS = 2000


def canary_order(scope_kind: str, scope: str, sort_code_of: Callable[[str], str | None]) -> dict[str, object]:
    """A synthetic order whose recipient address routes to `scope` (any address for a terminal).

    `sort_code_of(address)` is the routing table's sort code for an address text (None when
    it cannot be routed).
    """
    if scope_kind not in SCOPE_KINDS:
        raise FieldError("scope", f"must be one of {', '.join(SCOPE_KINDS)}")
    segment = {"station": 1, "route": 2}.get(scope_kind)
    for order in demo_orders(CANDIDATE_ORDERS, seed=secrets.randbits(32), prefix=f"CANARY-{secrets.token_hex(4)}"):
        recipient = order["recipient"]
        assert isinstance(recipient, dict)
        code = sort_code_of(str(recipient["address"]))
        if code is None:
            continue
        if segment is None or code.split("-")[segment] == scope:
            return order
    raise FieldError(scope_kind, f"no address in the division data routes to {scope_kind} {scope}")
