"""China's administrative divisions, loaded once from the shipped official lists.

The ministry's 2024 list decides which provinces, cities and counties are legal; the
statistics bureau's 2023 list adds towns and streets; the 1981-2024 history maps every
retired county or city name to the divisions that replaced it. Hand-made tables in
data/addresses add development zones, road hints for split districts, and the areas of
Hong Kong, Macao and Taiwan.

Reading and cross-linking the ~2 MB of source tables takes about half a second, too slow
for every command's start. `build_index` turns them into one compact JSON index shipped as
data/divisions/index.json; `load_divisions` reads that in a few tens of milliseconds and
falls back to the sources when the index was built from other source files (its digest
of the sources differs) or by another index format. Rebuild it after changing any source:
`python -m privacy_waybill.addresses.divisions`.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from importlib import resources
from itertools import starmap
from typing import NamedTuple

_SUCCESSOR_TOKEN = re.compile(r"(\d{6})(\[\d{4}\])?")


class Level(IntEnum):
    """Division levels in written order; a deeper level has a larger value."""

    PROVINCE = 0
    CITY = 1
    DISTRICT = 2
    TOWN = 3


@dataclass(frozen=True, slots=True)
class Division:
    """A current province, prefecture-level city or county-level division."""

    code: str
    name: str
    level: Level


class Town(NamedTuple):
    """A town, township or street office.

    `district_code` is None when the town sits directly under a city: cities without
    counties (东莞市) and the bureau's statistical-only zones (development zones).
    A named tuple rather than a frozen dataclass: every command that reads addresses makes
    all ~41,000 of them at start, and a frozen dataclass sets each field through
    `object.__setattr__`.
    """

    code: str
    name: str
    city_prefix: str
    district_code: str | None


@dataclass(frozen=True, slots=True)
class RetiredName:
    """A city or county name no longer in use, with the current codes that replaced it and
    the year it went out of use."""

    name: str
    level: Level
    old_code: str
    successors: tuple[str, ...]
    retired_in: int = 0


@dataclass(frozen=True, slots=True)
class Zone:
    """A development, statistical or management zone written in place of a district.

    `contains` is the legal division that contains it: a district code, or a city or
    municipality code when the zone spans several districts.
    """

    name: str
    contains: str


@dataclass(frozen=True, slots=True)
class SuccessorRoad:
    """A road that tells which successor of a split district an address now belongs to."""

    retired_code: str
    road: str
    successor: str


@dataclass(frozen=True, slots=True)
class RegionArea:
    """A written form of a Hong Kong or Macao district or area, or a Taiwan city or county.

    `name` is the form shown on labels (simplified, with its suffix).
    """

    region_code: str
    name: str
    written: str


@dataclass(frozen=True, slots=True)
class DivisionData:
    provinces: dict[str, Division]
    cities: dict[str, Division]
    districts: dict[str, Division]
    towns: tuple[Town, ...]
    retired: tuple[RetiredName, ...]
    area_codes_ever_used: frozenset[str]
    zones: tuple[Zone, ...] = ()
    successor_roads: tuple[SuccessorRoad, ...] = ()
    region_names: tuple[tuple[str, str], ...] = ()
    region_areas: tuple[RegionArea, ...] = ()

    def division(self, code: str) -> Division | None:
        return self.districts.get(code) or self.cities.get(code) or self.provinces.get(code)

    def province_of(self, code: str) -> Division:
        return self.provinces[code[:2] + "0000"]

    def city_of(self, code: str) -> Division | None:
        """The prefecture-level city above a county, or None (municipalities, 省直辖县)."""
        return self.cities.get(code[:4] + "00")

    def cities_without_counties(self) -> frozenset[str]:
        """Prefecture-level cities whose towns sit directly under them (东莞市, 中山市)."""
        with_counties = {code[:4] for code in self.districts}
        return frozenset(code for code in self.cities if code[:4] not in with_counties)


_DATA = resources.files("privacy_waybill") / "data"
# Every file the division data is built from; the index records a digest of all of them.
_SOURCES = (
    "divisions/mca_county_codes_2024.txt",
    "divisions/mca_county_codes_history_1981-2024.csv",
    "divisions/nbs2023_areas.csv",
    "divisions/nbs2023_streets.csv",
    "addresses/development_zones.csv",
    "addresses/successor_roads.csv",
    "addresses/region_names.csv",
    "addresses/hk_mo_tw.csv",
)
_INDEX = "divisions/index.json"
# Bump when the index layout or anything derived into it changes.
INDEX_FORMAT = 2


def _open_text(path: str) -> Iterator[str]:
    with (_DATA / path).open(encoding="utf-8-sig", newline="") as handle:
        yield from handle


def _table(name: str) -> list[dict[str, str]]:
    """A hand-made CSV table; lines starting with # are its provenance notes."""
    return list(csv.DictReader(line for line in _open_text(name) if not line.startswith("#")))


def _current_divisions() -> tuple[dict[str, Division], dict[str, Division], dict[str, Division]]:
    provinces: dict[str, Division] = {}
    cities: dict[str, Division] = {}
    districts: dict[str, Division] = {}
    for line in _open_text("divisions/mca_county_codes_2024.txt"):
        if not line.strip():
            continue
        code, name = line.split()
        if code.endswith("0000"):
            provinces[code] = Division(code, name, Level.PROVINCE)
        elif code.endswith("00"):
            cities[code] = Division(code, name, Level.CITY)
        else:
            districts[code] = Division(code, name, Level.DISTRICT)
    return provinces, cities, districts


def _history_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(_open_text("divisions/mca_county_codes_history_1981-2024.csv")))


def _final_codes(field: str) -> tuple[str, ...]:
    """Codes that took over at the change; bracketed ones only received a part earlier."""
    return tuple(code for code, partial in _SUCCESSOR_TOKEN.findall(field) if not partial)


def _successor_codes(field: str) -> tuple[str, ...]:
    """Where a retired division went; partial receivers count when nothing else is named."""
    return _final_codes(field) or tuple(code for code, _ in _SUCCESSOR_TOKEN.findall(field))


def _resolve_to_current(
    codes: tuple[str, ...], retired_successors: dict[str, tuple[str, ...]], current: set[str]
) -> tuple[str, ...]:
    """Follow successor chains until every code is current; order kept, duplicates dropped."""
    resolved: list[str] = []
    seen: set[str] = set()
    pending = list(codes)
    while pending:
        code = pending.pop(0)
        if code in seen:
            continue
        seen.add(code)
        if code in current:
            resolved.append(code)
        else:
            pending.extend(retired_successors.get(code, ()))
    return tuple(dict.fromkeys(resolved))


def _retired_names(
    rows: list[dict[str, str]],
    provinces: dict[str, Division],
    cities: dict[str, Division],
    districts: dict[str, Division],
) -> tuple[RetiredName, ...]:
    current = set(districts) | set(cities)
    retired_successors = {row["代码"]: _successor_codes(row["新代码"]) for row in rows if row["状态"] == "弃用"}
    # A retired name still used nearby (or by its own successor) is no rename at all.
    current_names_by_prefix: dict[str, set[str]] = defaultdict(set)
    for division in (*cities.values(), *districts.values()):
        current_names_by_prefix[division.code[:4]].add(division.name)
    # A retired prefecture has no successor of its own: it is replaced by wherever its
    # counties went.
    counties_by_prefix: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row["级别"] == "县级":
            counties_by_prefix[row["代码"][:4]].append(row["代码"])

    retired: dict[tuple[str, Level, str], RetiredName] = {}
    for row in rows:
        code, name, status = row["代码"], row["名称"], row["状态"]
        if status == "在用" or row["级别"] == "省级":
            continue
        level = Level.CITY if row["级别"] == "地级" else Level.DISTRICT
        if status == "变更":
            # A renamed division keeps its code unless the history names a new one;
            # bracketed codes only received part of its area.
            targets = _final_codes(row["新代码"]) or (code,)
        else:
            targets = retired_successors[code]
        successors = _resolve_to_current(targets, retired_successors, current)
        if level is Level.CITY and not successors:
            successors = _resolve_to_current(tuple(counties_by_prefix[code[:4]]), retired_successors, set(districts))
        if not successors or name in current_names_by_prefix[code[:4]]:
            continue
        retired[(name, level, code)] = RetiredName(name, level, code, successors, int(row["变更/弃用时间"] or 0))
    return tuple(retired.values())


def _towns(districts: dict[str, Division], cities: dict[str, Division]) -> tuple[Town, ...]:
    towns = []
    for row in csv.DictReader(_open_text("divisions/nbs2023_streets.csv")):
        area = row["areaCode"]
        city_prefix = row["cityCode"]
        if city_prefix + "00" not in cities and area not in districts:
            continue
        towns.append(
            Town(
                code=row["code"] + "000",
                name=row["name"],
                city_prefix=city_prefix,
                district_code=area if area in districts else None,
            )
        )
    return tuple(towns)


def _zones(districts: dict[str, Division], cities: dict[str, Division]) -> tuple[Zone, ...]:
    """The hand-made zone table, then the bureau's statistical-only zones routed to their city."""
    zones = {row["name"]: Zone(row["name"], row["contains"]) for row in _table("addresses/development_zones.csv")}
    for row in csv.DictReader(_open_text("divisions/nbs2023_areas.csv")):
        code, name = row["code"], row["name"]
        city = code[:4] + "00"
        if code in districts or name in zones:
            continue
        zones[name] = Zone(name, city if city in cities else code[:2] + "0000")
    return tuple(zones.values())


def _region_areas() -> tuple[RegionArea, ...]:
    areas = []
    for row in _table("addresses/hk_mo_tw.csv"):
        for written in (row["area"], *filter(None, row["aliases"].split("|"))):
            areas.append(RegionArea(row["region_code"], row["area"], written))
    return tuple(areas)


def build_from_sources() -> DivisionData:
    """Read and cross-link every source table (the slow path the index avoids)."""
    provinces, cities, districts = _current_divisions()
    rows = _history_rows()
    return DivisionData(
        provinces=provinces,
        cities=cities,
        districts=districts,
        towns=_towns(districts, cities),
        retired=_retired_names(rows, provinces, cities, districts),
        area_codes_ever_used=frozenset(row["代码"] for row in rows)
        | frozenset(provinces)
        | frozenset(cities)
        | frozenset(districts),
        zones=_zones(districts, cities),
        successor_roads=tuple(
            SuccessorRoad(row["retired_code"], row["road"], row["successor_code"])
            for row in _table("addresses/successor_roads.csv")
        ),
        region_names=tuple((row["region_code"], row["written"]) for row in _table("addresses/region_names.csv")),
        region_areas=_region_areas(),
    )


def source_digest() -> str:
    """SHA-256 over every source file, in a fixed order."""
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update(name.encode() + b"\0" + (_DATA / name).read_bytes())
    return digest.hexdigest()


def _to_payload(data: DivisionData) -> dict[str, object]:
    return {
        "format": INDEX_FORMAT,
        "source_digest": source_digest(),
        "divisions": [[d.code, d.name] for d in (*data.provinces.values(), *data.cities.values(), *data.districts.values())],
        "towns": [[t.code, t.name, t.city_prefix, t.district_code] for t in data.towns],
        "retired": [[r.name, int(r.level), r.old_code, list(r.successors), r.retired_in] for r in data.retired],
        "area_codes_ever_used": sorted(data.area_codes_ever_used),
        "zones": [[z.name, z.contains] for z in data.zones],
        "successor_roads": [[r.retired_code, r.road, r.successor] for r in data.successor_roads],
        "region_names": [list(pair) for pair in data.region_names],
        "region_areas": [[a.region_code, a.name, a.written] for a in data.region_areas],
    }


def _from_payload(payload: dict[str, list]) -> DivisionData:  # type: ignore[type-arg]
    provinces: dict[str, Division] = {}
    cities: dict[str, Division] = {}
    districts: dict[str, Division] = {}
    for code, name in payload["divisions"]:
        if code.endswith("0000"):
            provinces[code] = Division(code, name, Level.PROVINCE)
        elif code.endswith("00"):
            cities[code] = Division(code, name, Level.CITY)
        else:
            districts[code] = Division(code, name, Level.DISTRICT)
    return DivisionData(
        provinces=provinces,
        cities=cities,
        districts=districts,
        # ~40k rows: starmap builds them without a generator frame per row.
        towns=tuple(starmap(Town, payload["towns"])),
        retired=tuple(RetiredName(n, Level(lv), old, tuple(succ), year) for n, lv, old, succ, year in payload["retired"]),
        area_codes_ever_used=frozenset(payload["area_codes_ever_used"]),
        zones=tuple(Zone(*row) for row in payload["zones"]),
        successor_roads=tuple(SuccessorRoad(*row) for row in payload["successor_roads"]),
        region_names=tuple((code, written) for code, written in payload["region_names"]),
        region_areas=tuple(RegionArea(*row) for row in payload["region_areas"]),
    )


def build_index() -> bytes:
    """The index file's bytes for the current sources."""
    payload = _to_payload(build_from_sources())
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _read_index() -> dict[str, list] | None:  # type: ignore[type-arg]
    try:
        payload = json.loads((_DATA / _INDEX).read_bytes())
    except (OSError, ValueError):
        return None
    if payload.get("format") != INDEX_FORMAT or payload.get("source_digest") != source_digest():
        return None
    return payload  # type: ignore[no-any-return]


@cache
def load_divisions() -> DivisionData:
    """All division data, from the prebuilt index when it matches the sources; shared afterwards."""
    payload = _read_index()
    if payload is None:
        return build_from_sources()
    with garbage_collection_paused():
        return _from_payload(payload)


@contextmanager
def garbage_collection_paused() -> Iterator[None]:
    """For building ~50k small long-lived objects in one go: collecting garbage between
    them finds nothing and doubles the time taken."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def known_area_codes() -> frozenset[str]:
    """Every 6-digit division code used since 1981 (the area part of an ID number)."""
    return load_divisions().area_codes_ever_used


def index_is_current() -> bool:
    return _read_index() is not None


if __name__ == "__main__":
    target = _DATA / _INDEX
    with resources.as_file(target) as path:
        path.write_bytes(build_index())
        print(f"wrote {path}", file=sys.stderr)
