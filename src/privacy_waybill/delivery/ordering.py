"""Stop order for a manifest: one stop per building, never back to a building already left.

Parcels are grouped by their delivery point (a building), points by their site (a compound or
road number), sites by their road. The walk follows the route definition (roads and
compounds in the order the station wrote them, from its start), then what past sign-offs
taught (the average position each point was signed off at), then the keys themselves, so the
same parcels always give the same order. Because every group is emitted whole and once, no
building and no compound appears twice in the walk: the 1-2-1 back-tracking of privacy labels
without a manifest cannot happen by construction.

Why not a vehicle-routing solver (OR-Tools): there are no coordinates to optimise over (only
keyed hashes and the station's own road order), a route is a few dozen buildings, and the
constraint that matters (each building once, each compound contiguous) is met exactly by
grouping; a solver would add a 30 MB dependency to reproduce a sort.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ParcelPlace:
    """What ordering knows of a parcel: its id and its three keyed hashes."""

    waybill_id: str
    point: bytes = field(repr=False)
    site: bytes = field(repr=False)
    road: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class RouteOrder:
    """The route definition as keys: position of each road or site key in the walk."""

    positions: Mapping[bytes, int] = field(default_factory=dict)

    def rank(self, place: ParcelPlace) -> float:
        # A compound named in the route outranks its road; unnamed places come last.
        for key in (place.site, place.road):
            if key in self.positions:
                return self.positions[key]
        return math.inf


@dataclass(frozen=True, slots=True)
class OrderedStop:
    number: int
    point: bytes = field(repr=False)
    waybill_ids: tuple[str, ...]


def route_order(sequence: Sequence[bytes | tuple[bytes, ...]], start: int = 0) -> RouteOrder:
    """Positions of a route's entries, the walk beginning at entry `start` (then wrapping).

    Each entry is a key, or several keys naming one place (a name read as a road and as a site).
    """
    positions: dict[bytes, int] = {}
    count = len(sequence)
    for offset in range(count):
        entry = sequence[(start + offset) % count]
        for key in entry if isinstance(entry, tuple) else (entry,):
            positions.setdefault(key, offset)
    return RouteOrder(positions)


def order_stops(parcels: Sequence[ParcelPlace], route: RouteOrder, learned: Mapping[bytes, float]) -> list[OrderedStop]:
    """Stops in walking order. `learned` maps point keys to their mean past sign-off position."""
    points: dict[bytes, list[ParcelPlace]] = {}
    for parcel in parcels:
        points.setdefault(parcel.point, []).append(parcel)
    sites: dict[bytes, list[bytes]] = {}
    for point, members in points.items():
        sites.setdefault(members[0].site, []).append(point)

    def point_key(point: bytes) -> tuple[float, bytes]:
        return (learned.get(point, math.inf), point)

    def site_key(site: bytes) -> tuple[float, float, bytes, bytes]:
        first = points[sites[site][0]][0]
        earliest = min(learned.get(p, math.inf) for p in sites[site])
        return (route.rank(first), earliest, first.road, site)

    stops: list[OrderedStop] = []
    for site in sorted(sites, key=site_key):
        for point in sorted(sites[site], key=point_key):
            ids = tuple(sorted(p.waybill_id for p in points[point]))
            stops.append(OrderedStop(len(stops) + 1, point, ids))
    return stops


def revisits(point_sequence: Sequence[bytes]) -> int:
    """How many times a walk comes back to a building it already left (0 for a manifest)."""
    left: set[bytes] = set()
    count = 0
    previous: bytes | None = None
    for point in point_sequence:
        if point != previous:
            if point in left:
                count += 1
            if previous is not None:
                left.add(previous)
        previous = point
    return count


def learn_position(mean: float, samples: int, position: int) -> tuple[float, int]:
    """The running mean after one more sign-off at `position` (0-based on that day's walk)."""
    return (mean * samples + position) / (samples + 1), samples + 1
