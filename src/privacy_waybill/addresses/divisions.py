"""China's administrative divisions, loaded once from the shipped official lists.

The ministry's 2024 list decides which provinces, cities and counties are legal; the
statistics bureau's 2023 list adds towns and streets; the 1981-2024 history maps every
retired county or city name to the divisions that replaced it.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from importlib import resources

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


@dataclass(frozen=True, slots=True)
class Town:
    """A town, township or street office.

    `district_code` is None when the town sits directly under a city: cities without
    counties (东莞市) and the bureau's statistical-only zones (development zones).
    """

    code: str
    name: str
    city_prefix: str
    district_code: str | None


@dataclass(frozen=True, slots=True)
class RetiredName:
    """A city or county name no longer in use, with the current codes that replaced it."""

    name: str
    level: Level
    old_code: str
    successors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DivisionData:
    provinces: dict[str, Division]
    cities: dict[str, Division]
    districts: dict[str, Division]
    towns: tuple[Town, ...]
    retired: tuple[RetiredName, ...]
    area_codes_ever_used: frozenset[str]

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


def _open_text(name: str) -> Iterator[str]:
    path = resources.files("privacy_waybill") / "data" / "divisions" / name
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from handle


def _current_divisions() -> tuple[dict[str, Division], dict[str, Division], dict[str, Division]]:
    provinces: dict[str, Division] = {}
    cities: dict[str, Division] = {}
    districts: dict[str, Division] = {}
    for line in _open_text("mca_county_codes_2024.txt"):
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
    return list(csv.DictReader(_open_text("mca_county_codes_history_1981-2024.csv")))


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
        retired[(name, level, code)] = RetiredName(name, level, code, successors)
    return tuple(retired.values())


def _towns(districts: dict[str, Division], cities: dict[str, Division]) -> tuple[Town, ...]:
    towns = []
    for row in csv.DictReader(_open_text("nbs2023_streets.csv")):
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


@cache
def load_divisions() -> DivisionData:
    """All division data, read on first use and shared afterwards."""
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
    )


def known_area_codes() -> frozenset[str]:
    """Every 6-digit division code used since 1981 (the area part of an ID number)."""
    return load_divisions().area_codes_ever_used
