"""The code rules of a station as small pure functions: shelf codes, pickup codes, placement.

Shelf codes are the shelf-layer-serial form stations already paint and write on parcels
(`A-3-0172`, `3-1-3001`): the clerk walks to shelf A, board 3, and looks for 0172. Pickup
codes are six random digits, unique among the parcels a station holds; they are drawn by the
caller's random source so tests can pass one in.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping

from privacy_waybill.errors import FieldError
from privacy_waybill.stations.model import Shelf, Station, StationKind, StationFull

SHELF_LABEL = re.compile(r"^[A-Z0-9]{1,3}$")
SHELF_CODE = re.compile(r"^(?P<shelf>[A-Z0-9]{1,3})-(?P<layer>[1-9][0-9]?)-(?P<serial>[0-9]{4})$")
PICKUP_CODE = re.compile(r"^[0-9]{6}$")
LAST4 = re.compile(r"^[0-9]{4}$")
STATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_LAYERS = 99
# Serials are four digits and wrap; a station never holds this many parcels at once.
MAX_SERIAL = 9999
MAX_STATION_CAPACITY = 5000


def parse_shelf(spec: str) -> Shelf:
    """`LABEL:LAYERS:CAPACITY` as typed at the command line (``A:4:80``); a locker column
    needs no capacity (``B:6``: six compartments)."""
    parts = spec.strip().upper().split(":")
    if len(parts) not in (2, 3) or not SHELF_LABEL.match(parts[0]) or not all(p.isdigit() for p in parts[1:]):
        raise FieldError("shelf", "must be LABEL:LAYERS[:CAPACITY], e.g. A:4:80 (label 1-3 letters or digits)")
    layers = int(parts[1])
    capacity = int(parts[2]) if len(parts) == 3 else layers
    return Shelf(parts[0], layers, capacity)


def check_layout(kind: StationKind, shelves: tuple[Shelf, ...]) -> tuple[Shelf, ...]:
    """A usable layout: distinct labels, 1-99 layers, capacities that fit the serial space.

    In a locker every compartment holds one parcel, so a column's capacity is its layer count.
    """
    if not shelves:
        raise FieldError("shelves", "a station needs at least one shelf")
    labels = [s.label for s in shelves]
    if len(set(labels)) != len(labels):
        raise FieldError("shelves", "shelf labels must be distinct")
    for shelf in shelves:
        if not SHELF_LABEL.match(shelf.label):
            raise FieldError("shelves", "a shelf label is 1-3 capital letters or digits")
        if not 1 <= shelf.layers <= MAX_LAYERS:
            raise FieldError("shelves", f"a shelf has 1 to {MAX_LAYERS} layers")
        if shelf.capacity < 1:
            raise FieldError("shelves", "a shelf holds at least one parcel")
        if kind is StationKind.LOCKER and shelf.capacity != shelf.layers:
            raise FieldError("shelves", "a locker column holds one parcel per compartment")
    if sum(s.capacity for s in shelves) > MAX_STATION_CAPACITY:
        raise FieldError("shelves", f"a station holds at most {MAX_STATION_CAPACITY} parcels")
    return shelves


def check_station_id(station_id: str) -> str:
    if not STATION_ID.match(station_id):
        raise FieldError("station", "must be 1-64 letters, digits, dashes or underscores (the sort code's station)")
    return station_id


def shelf_code(shelf: str, layer: int, serial: int) -> str:
    return f"{shelf}-{layer}-{serial:04d}"


def next_serial(current: int) -> int:
    """The serial after `current`, wrapping 9999 to 0001."""
    return current % MAX_SERIAL + 1


def choose_place(
    station: Station, occupancy: Mapping[tuple[str, int], int], wanted_shelf: str | None = None
) -> tuple[str, int]:
    """Where a parcel goes: (shelf label, layer).

    A station fills the least-loaded board of the first shelf with room (or of the shelf the
    clerk asked for), so boards fill evenly; a locker takes its first empty compartment.
    `occupancy` counts held parcels per (shelf, layer).
    """
    shelves = station.shelves
    if wanted_shelf is not None:
        shelves = tuple(s for s in station.shelves if s.label == wanted_shelf.upper())
        if not shelves:
            raise FieldError("shelf", "is not a shelf of this station")
    for shelf in shelves:
        loads = [occupancy.get((shelf.label, layer), 0) for layer in range(1, shelf.layers + 1)]
        if sum(loads) >= shelf.capacity:
            continue
        if station.kind is StationKind.LOCKER:
            return shelf.label, loads.index(0) + 1
        return shelf.label, loads.index(min(loads)) + 1
    raise StationFull(f"shelf {wanted_shelf.upper()}" if wanted_shelf else "the station")


def new_pickup_code(taken: Callable[[str], bool], draw: Callable[[int], int] = secrets.randbelow) -> str:
    """Six random digits no held parcel of the station uses (`taken` answers that)."""
    for _ in range(100):
        code = f"{draw(1_000_000):06d}"
        if not taken(code):
            return code
    raise StationFull("the station's pickup codes")  # a million codes: only a broken random source ends here


def check_pickup_code(code: str) -> str:
    cleaned = code.strip().replace(" ", "").replace("-", "")
    if not PICKUP_CODE.match(cleaned):
        raise FieldError("pickup_code", "must be 6 digits")
    return cleaned


def check_last4(digits: str) -> str:
    cleaned = digits.strip()
    if not LAST4.match(cleaned):
        raise FieldError("last4", "must be exactly the last 4 digits of the phone")
    return cleaned


def phone_last4(masked_phone: str) -> str:
    """The last four digits a masked phone shows (``*******5678`` -> ``5678``); empty if none."""
    tail = masked_phone[-4:]
    return tail if LAST4.match(tail) else ""
