"""Waybill lifecycle: which status may follow which (SPEC 2).

created -> printed -> collected -> in_transit -> out_for_delivery -> delivered, or
in_transit/out_for_delivery -> at_station / in_locker -> delivered (picked up); any open
state may go to exception, and exception or an undeliverable parcel to returned.
"""

from __future__ import annotations

from privacy_waybill.errors import Conflict
from privacy_waybill.issuance.model import WaybillStatus as S

TERMINAL = frozenset({S.DELIVERED, S.RETURNED})

NEXT: dict[S, frozenset[S]] = {
    S.CREATED: frozenset({S.PRINTED, S.EXCEPTION}),
    S.PRINTED: frozenset({S.PRINTED, S.COLLECTED, S.EXCEPTION}),
    S.COLLECTED: frozenset({S.IN_TRANSIT, S.EXCEPTION}),
    S.IN_TRANSIT: frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.AT_STATION, S.IN_LOCKER, S.EXCEPTION}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.AT_STATION, S.IN_LOCKER, S.EXCEPTION}),
    S.AT_STATION: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION, S.RETURNED}),
    S.IN_LOCKER: frozenset({S.DELIVERED, S.AT_STATION, S.EXCEPTION, S.RETURNED}),
    S.EXCEPTION: frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.AT_STATION, S.RETURNED}),
    S.DELIVERED: frozenset(),
    S.RETURNED: frozenset(),
}


def may_become(current: S, target: S) -> bool:
    return target in NEXT[current]


# Where a label may (still) be printed: every status that may become `printed`.
PRINTABLE = frozenset(s for s in S if may_become(s, S.PRINTED))


def check_transition(current: S, target: S) -> None:
    """Raise Conflict naming both states when `target` may not follow `current`."""
    if target not in NEXT[current]:
        raise Conflict(f"a waybill that is {current.value} cannot become {target.value}")
