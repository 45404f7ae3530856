"""Sort codes (三段码): destination hub - delivery station - courier route, from a routing table.

Operators keep the table as a CSV with columns ``division_code, hub, station, route`` and
optional ``road`` and ``note``. A division code is an NBS prefix: 2 digits (province),
4 (city), 6 (district) or 9 (town; a 12-digit code ending in 000 means the same town).
Each segment comes from the longest prefix of the address's division code that has a row
setting that segment, so a province row gives every parcel there a hub and a town row can
override the route alone. Rows with a ``road`` set only the route, for parcels whose
address names that road within the row's division; couriers' routes follow roads, so a road
row beats any row without a road.

When no row sets a segment it is derived from the codes, so every routable address gets a
stable sort code and the gap is visible in `SortCode.derived`:

- hub: the 2-digit province code (table hubs are 3 characters, e.g. ``571``);
- station: the district's 4 digits below the province (``330110`` -> ``0110``), ``0000``
  without a district;
- route: the town's 3-digit serial within its district (``330110005`` -> ``005``), ``000``
  without a town.

``str(SortCode)`` joins the segments with hyphens: ``571-HZ10-12``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.errors import FieldError, PrivacyWaybillError

DEMO_TABLE = Path(__file__).resolve().parent.parent / "data" / "routing" / "demo_routing.csv"

SEGMENTS: tuple[str, ...] = ("hub", "station", "route")
REQUIRED_COLUMNS: tuple[str, ...] = ("division_code", *SEGMENTS)
OPTIONAL_COLUMNS: tuple[str, ...] = ("road", "note")
# Prefix lengths of the NBS levels: province, city, district, town.
LEVEL_LENGTHS: tuple[int, ...] = (2, 4, 6, 9)
_LONGEST_FIRST = tuple(reversed(LEVEL_LENGTHS))
_SEGMENT_VALUE = re.compile(r"[A-Z0-9]{1,6}")


class RoutingTableError(PrivacyWaybillError):
    """The routing table cannot be used; the message names the line and column."""

    def __init__(self, line: int, column: str | None, problem: str) -> None:
        where = f"line {line}" + (f", column {column}" if column else "")
        super().__init__(f"routing table {where}: {problem}")
        self.line = line
        self.column = column
        self.problem = problem


class SortCode(NamedTuple):
    """A named tuple (one is made per waybill issued): a frozen dataclass took several times as long."""

    hub: str
    station: str
    route: str
    # Segments that no table row covered and were derived from the division codes.
    derived: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.hub}-{self.station}-{self.route}"


def normalise_division_code(code: str) -> str | None:
    """The NBS prefix a code stands for, or None if it is not one.

    6-digit province and city codes (``330000``, ``330100``) shrink to their 2 or 4
    significant digits, and a 12-digit town code ending in 000 to its 9-digit town prefix.
    """
    # isascii() and isdigit(): exactly [0-9]+, without the regex (this runs per waybill).
    if not (code.isascii() and code.isdigit()):
        return None
    if len(code) == 12 and code.endswith("000"):
        code = code[:9]
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code if len(code) in LEVEL_LENGTHS else None


# An address's division codes, town first, in one call (this runs per waybill).
_CODES_TOWN_FIRST = attrgetter("town_code", "district_code", "city_code", "province_code")


def address_division_code(address: ParsedAddress) -> str | None:
    """The most specific normalised division code of `address`, town first."""
    for raw, length in zip(_CODES_TOWN_FIRST(address), _LONGEST_FIRST):
        if raw:
            code = normalise_division_code(raw)
            if code and len(code) >= length:
                return code[:length]
    return None


def _with_fallbacks(code: str, hub: str | None, station: str | None, route: str | None) -> SortCode:
    """The segments no table row set, derived from the division code (most sort codes of
    the demo table: it sets hubs only)."""
    return SortCode(
        hub or code[:2],
        station or (code[2:6] if len(code) >= 6 else "0000"),
        route or (code[6:9] if len(code) >= 9 else "000"),
        tuple(compress(SEGMENTS, (not hub, not station, not route))),
    )


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    division_code: str
    hub: str | None
    station: str | None
    route: str | None
    road: str | None


def _parse_row(line: int, cells: dict[str, str]) -> _Row:
    code = normalise_division_code(cells["division_code"])
    if code is None:
        raise RoutingTableError(line, "division_code", "must be a 2, 4, 6, 9 or 12-digit NBS division code")
    segments: dict[str, str | None] = {}
    for name in SEGMENTS:
        value = cells[name] or None
        if value is not None and not _SEGMENT_VALUE.fullmatch(value):
            raise RoutingTableError(line, name, "must be 1 to 6 characters A-Z or 0-9")
        segments[name] = value
    road = cells.get("road") or None
    if road is not None:
        if len(code) < 6:
            raise RoutingTableError(line, "road", "a road row needs a district or town code")
        if segments["route"] is None or segments["hub"] or segments["station"]:
            raise RoutingTableError(line, "road", "a road row sets the route and nothing else")
    elif not any(segments.values()):
        raise RoutingTableError(line, None, "row sets none of hub, station, route")
    return _Row(line, code, segments["hub"], segments["station"], segments["route"], road)


def _check_header(line: int, header: list[str]) -> list[str]:
    names = [name.strip() for name in header]
    for name in names:
        if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            raise RoutingTableError(line, name or "(blank)", "unknown column")
        if names.count(name) > 1:
            raise RoutingTableError(line, name, "column appears twice")
    for name in REQUIRED_COLUMNS:
        if name not in names:
            raise RoutingTableError(line, name, "required column is missing")
    return names


class RoutingTable:
    """A validated routing table. Build it with `load`; look up with `sort_code`."""

    def __init__(self, rows: list[_Row]) -> None:
        # (segment, division_code) -> value, and road -> division_code -> route.
        self._segments: dict[tuple[str, str], str] = {}
        self._roads: dict[str, dict[str, str]] = {}
        seen: dict[tuple[str, str, str], int] = {}
        for row in rows:
            for segment in SEGMENTS:
                value = getattr(row, segment)
                if value is None:
                    continue
                key = (segment, row.division_code, row.road or "")
                if key in seen:
                    raise RoutingTableError(row.line, segment, f"already set for this division on line {seen[key]}")
                seen[key] = row.line
                if row.road:
                    self._roads.setdefault(row.road, {})[row.division_code] = value
                else:
                    self._segments[(segment, row.division_code)] = value

        # division_code -> (hub, station, route) its rows set, None where none does: a look-up
        # walks the four prefixes of a code once rather than once per segment.
        self._by_division: dict[str, tuple[str | None, ...]] = {
            code: tuple(self._segments.get((segment, code)) for segment in SEGMENTS)
            for _, code in self._segments
        }

    @classmethod
    def load(cls, path: str | Path = DEMO_TABLE) -> RoutingTable:
        """Read and validate a UTF-8 CSV table; lines starting with ``#`` are comments."""
        try:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                return cls(_read_rows(handle))
        except UnicodeDecodeError:
            raise RoutingTableError(1, None, "file is not UTF-8 text") from None

    def divisions_with(self, segment: str, value: str) -> list[str]:
        """The division codes whose row sets `segment` to `value` (e.g. every district of a station)."""
        return sorted(code for (name, code), set_to in self._segments.items() if name == segment and set_to == value)

    def sort_code(self, address: ParsedAddress) -> SortCode:
        """The sort code of `address`; FieldError if it carries no division code at all."""
        code = address_division_code(address)
        if code is None:
            raise FieldError("address", "cannot be routed: no province, city, district or town code")
        hub = station = route = None
        by_division = self._by_division
        for length in _LONGEST_FIRST:
            if length <= len(code):
                row = by_division.get(code[:length])
                if row is not None:
                    # The longest prefix that sets a segment wins it.
                    hub, station, route = hub or row[0], station or row[1], route or row[2]
        if address.road and self._roads:
            routes = self._roads.get(address.road.strip())
            if routes:
                prefixes = [code[:n] for n in _LONGEST_FIRST if n <= len(code)]
                route = next((routes[prefix] for prefix in prefixes if prefix in routes), route)
        if hub and station and route:
            return SortCode(hub, station, route)
        return _with_fallbacks(code, hub, station, route)


def _read_rows(lines: Iterable[str]) -> list[_Row]:
    reader = csv.reader(lines)
    columns: list[str] | None = None
    rows: list[_Row] = []
    for cells in reader:
        line = reader.line_num
        if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
            continue
        if columns is None:
            columns = _check_header(line, cells)
            continue
        if len(cells) != len(columns):
            raise RoutingTableError(line, None, f"row has {len(cells)} cells, the header has {len(columns)}")
        rows.append(_parse_row(line, dict(zip(columns, (c.strip() for c in cells), strict=True))))
    if columns is None:
        raise RoutingTableError(1, None, "table has no header row")
    return rows
