"""Realistic written addresses built from the official division data, with the parse
each one should get: seed data for demos, round-trip tests and benchmarks.

Provinces, cities, districts and towns are real; roads and compounds come from small
built-in lists. The same seed always gives the same addresses.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from privacy_waybill.addresses.divisions import Division, Town, load_divisions
from privacy_waybill.addresses.model import ParsedAddress

_ROAD_STEMS = (
    "文一西",
    "人民",
    "解放",
    "建设",
    "中山",
    "和平",
    "新华",
    "胜利",
    "长江",
    "黄河",
    "学院",
    "科技",
    "文化",
    "健康",
    "幸福",
    "光明",
    "迎宾",
    "滨江",
    "望江",
    "振兴",
    "天目山",
    "凤凰",
)
_ROAD_SUFFIXES = ("路", "路", "路", "街", "大道", "巷")
_COMPOUNDS = (
    "西溪花园",
    "阳光小区",
    "锦绣家园",
    "金色大厦",
    "世纪广场",
    "翠苑",
    "银泰中心",
    "绿城公寓",
    "湖畔花园北区",
    "香樟苑",
    "东方名府",
    "幸福里",
    "滨江新村",
    "万科城",
    "桂花园",
    "云栖小镇",
)
_VILLAGES = ("李家村", "新民村", "王庄村", "东湖村", "白沙村")
_BUILDING_SUFFIXES = ("幢", "栋", "号楼")


@dataclass(frozen=True, slots=True)
class GeneratedAddress:
    text: str
    expected: ParsedAddress


@dataclass(frozen=True, slots=True)
class _Place:
    province: Division
    city: Division | None
    district: Division | None
    towns: tuple[Town, ...]


@cache
def _places() -> tuple[tuple[_Place, ...], frozenset[str]]:
    """Every county (and every city without counties), plus the names used only once."""
    data = load_divisions()
    towns_by_parent: dict[str, list[Town]] = defaultdict(list)
    for town in data.towns:
        # Skip the bureau's placeholders for villages under no town (直辖村级区划) and towns
        # named like their county (金门县): nobody writes those in an address.
        county = data.districts.get(town.district_code or "")
        if "直辖" in town.name or (county and town.name == county.name):
            continue
        towns_by_parent[town.district_code or town.city_prefix + "00"].append(town)
    places = [
        _Place(data.province_of(code), data.city_of(code), district, tuple(towns_by_parent[code]))
        for code, district in sorted(data.districts.items())
    ]
    places += [
        _Place(data.province_of(code), data.cities[code], None, tuple(towns_by_parent[code]))
        for code in sorted(data.cities_without_counties())
    ]
    name_counts: dict[str, int] = defaultdict(int)
    for division in (*data.cities.values(), *data.districts.values()):
        name_counts[division.name] += 1
    return tuple(places), frozenset(name for name, count in name_counts.items() if count == 1)


def _short(name: str, suffix: str) -> str:
    return name[: -len(suffix)] if name.endswith(suffix) and len(name) > len(suffix) + 1 else name


def _divisions_text(place: _Place, rng: random.Random, unique_names: frozenset[str]) -> str:
    province, city, district = place.province.name, place.city, place.district
    lowest = district or city
    if lowest is None:
        raise ValueError("a generated place needs a city or a district")
    style = rng.random()
    # 内江 + 市中区 reads as 内江市 + 中区, so short city names only before other districts.
    if style < 0.15 and city and district and not district.name.startswith("市"):
        return _short(province, "省") + _short(city.name, "市") + district.name
    if style < 0.25 and city and city.name in unique_names:
        return city.name + (district.name if district else "")
    if style < 0.30 and lowest.name in unique_names:
        return lowest.name
    if style < 0.35 and city is None and province.endswith("市"):
        return province + province + lowest.name  # 北京市北京市朝阳区
    return province + (city.name if city else "") + (district.name if district else "")


def _detail(rng: random.Random) -> dict[str, str | None]:
    parts: dict[str, str | None] = {}
    shape = rng.random()
    if shape < 0.1:
        parts["poi"] = rng.choice(_VILLAGES)
        parts["remainder"] = f"{rng.randint(1, 12)}组"
        return parts
    if shape < 0.8:
        parts["road"] = rng.choice(_ROAD_STEMS) + rng.choice(_ROAD_SUFFIXES)
        parts["road_number"] = f"{rng.randint(1, 999)}号"
    if shape > 0.3:
        parts["poi"] = rng.choice(_COMPOUNDS)
        if rng.random() < 0.8:
            parts["building"] = f"{rng.randint(1, 30)}{rng.choice(_BUILDING_SUFFIXES)}"
            if rng.random() < 0.7:
                parts["unit"] = f"{rng.randint(1, 6)}单元"
            floor = rng.randint(1, 33)
            parts["room"] = f"{floor}{rng.randint(1, 8):02d}" + rng.choice(("室", ""))
    return parts


def generate_address(rng: random.Random) -> GeneratedAddress:
    """One address from a random county of China, and its expected parse."""
    places, unique_names = _places()
    place = rng.choice(places)
    town = rng.choice(place.towns) if place.towns and rng.random() < 0.7 else None
    detail = _detail(rng)
    text = _divisions_text(place, rng, unique_names) + (town.name if town else "")
    text += "".join(value or "" for value in detail.values())
    expected = ParsedAddress(
        province=place.province.name,
        city=place.city.name if place.city else None,
        district=place.district.name if place.district else None,
        town=town.name if town else None,
        province_code=place.province.code,
        city_code=place.city.code if place.city else None,
        district_code=place.district.code if place.district else None,
        town_code=town.code if town else None,
        **detail,
    )
    return GeneratedAddress(text=text, expected=expected)


def generate_addresses(count: int, seed: int = 0) -> list[GeneratedAddress]:
    rng = random.Random(seed)
    return [generate_address(rng) for _ in range(count)]
