"""Split a written Chinese address into official divisions and detail levels.

Division names are matched only at the front of the text, one level deeper each step
and only inside the divisions already read, so a compound called 湖畔花园北区 can never
turn into a district, and 东区 in 中山市 never becomes 攀枝花市东区. People's own forms are
accepted where they still determine one place: names without their suffix (宁波北仑,
confirmed by a town of that district), retired and merged districts (江干区 decided by its
town or road, else kept at the city), development zones (routed to the district or city
containing them), a district or town unique in the country or the province given, and the
noise of order exports (separators, repeated prefixes, placeholders, leading tags).
Hong Kong, Macao and Taiwan addresses are read down to their district or city; the rest
of them is kept unclassified, so labels show them at that level only. The detail is split
by privacy_waybill.addresses.detail.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cache
from typing import TypeVar

from privacy_waybill.addresses.detail import DETAIL_LEVELS, detail_values, split_detail
from privacy_waybill.addresses.divisions import (
    DivisionData,
    Level,
    RetiredName,
    Town,
    garbage_collection_paused,
    load_divisions,
)
from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.errors import FieldError

__all__ = [
    "DETAIL_LEVELS",
    "leading_noise_length",
    "normalise_text",
    "parse_address",
    "parse_address_parts",
    "parse_label_address",
    "split_detail",
]

FIELD = "address"
NOT_RECOGNISED = "district not recognised"
_ADD_DISTRICT = f"{NOT_RECOGNISED}: add the district (区/县) after the city"
_ADD_DIVISIONS = f"{NOT_RECOGNISED}: add the province, city and district (区/县) before the street"
_ADD_TAIWAN_CITY = "address in Taiwan without a city or county: add it (台北市, 新北市, 高雄市 ...)"
_MAX_CANDIDATES = 6

_NATIONALITIES = [
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
]
_AUTONOMOUS = re.compile(
    r"^(.{2,}?)(?:(?:%s)族?)+自治(州|县|旗)$" % "|".join(sorted(_NATIONALITIES, key=len, reverse=True))
)
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_CITY_SUFFIXES = ("地区", "市", "盟")
_DISTRICT_SUFFIXES = ("新区", "区", "县", "市", "旗")
_TOWN_SUFFIXES = ("街道", "镇", "乡")
# How the districts named 市中区, 市南区 and 市北区 begin.
_SHI_DISTRICT_STARTS = frozenset({"市中", "市南", "市北"})
_DIVISION_CHARACTERS = re.compile("[省市区县旗盟镇乡]")
# Written between division names by order exports; skipped only between divisions.
SEPARATORS = ",、/-_|—–·;:.~"
# Tags that order systems put in front of an address (【急】, [加急], 委托件).
_LEADING_TAG = re.compile(r"[【\[(<《{「『][^】\])>》}」』]{0,16}[】\])>》}」』]")
_LEADING_WORDS = (
    "收货地址",
    "收件地址",
    "详细地址",
    "地址",
    "中华人民共和国",
    "中国",
    "委托件",
    "急件",
    "加急",
    "代收货款",
    "到付件",
    "到付",
    "寄付",
)
# Placeholders that exports write for an empty division; skipped wherever a division may stand.
_PLACEHOLDERS = (
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
    "请选择",
    "其它区",
    "其他区",
    "其它县",
    "其他县",
    "其它市",
    "其他市",
    "市辖区",
    "县辖区",
    "省直辖",
)
_ASCII_PLACEHOLDERS = ("undefined", "null", "none", "nil", "nan", "n/a")
# Short placeholders, also the start of real names (无锡): skipped only before a separator,
# the end of the text, or another division.
_WEAK_PLACEHOLDERS = ("其它", "其他", "未知", "暂无", "无", "空")
_PLACEHOLDER_STARTS = frozenset(word[0] for word in (*_PLACEHOLDERS, *_ASCII_PLACEHOLDERS, *_WEAK_PLACEHOLDERS))
_NOISE_STARTS = frozenset(
    {c.upper() for c in _PLACEHOLDER_STARTS}
    | _PLACEHOLDER_STARTS
    | frozenset(SEPARATORS)
    | frozenset(word[0] for word in _LEADING_WORDS)
    | frozenset("【[(<《{「『")
)
_INVISIBLE = re.compile("[%s\ufeff]" % "".join(chr(c) for c in range(0x2000, 0x2070) if unicodedata.category(chr(c)) == "Cf"))


def normalise_text(text: str) -> str:
    """Full-width digits, letters and punctuation to their plain forms; whitespace and
    invisible format characters dropped."""
    normalised = unicodedata.normalize("NFKC", text)
    # Whitespace but " " and every invisible character are unprintable: most addresses hold
    # neither, and the two scans cost half of dropping them.
    if normalised.isprintable() and " " not in normalised:
        return normalised
    return "".join(_INVISIBLE.sub("", normalised).split())


def _short_names(name: str, level: Level) -> set[str]:
    shorts: set[str] = set()
    autonomous = _AUTONOMOUS.match(name)
    if autonomous:
        stem, kind = autonomous.groups()
        shorts.add(stem)
        if kind == "州":
            shorts.add(stem + "州")
    suffixes = {
        Level.PROVINCE: _PROVINCE_SUFFIXES,
        Level.CITY: _CITY_SUFFIXES,
        Level.DISTRICT: _DISTRICT_SUFFIXES,
    }[level]
    for suffix in suffixes:
        # 清新区 is 清新 (not 清 + 新区); 浦东新区 is 浦东.
        if name.endswith(suffix) and not autonomous and len(name) - len(suffix) >= 2:
            shorts.add(name[: -len(suffix)])
            break
    return {short for short in shorts if len(short) >= 2 and short != name}


# Long official zone words and the forms people shorten them to.
_ZONE_ABBREVIATIONS = {
    "高新技术产业开发区": ("高新区", "高新技术开发区"),
    "经济技术开发区": ("经开区", "经济开发区", "开发区"),
}


def _zone_forms(name: str, city_shorts: tuple[str, ...]) -> list[tuple[str, bool]]:
    """(written form, needs the city written before it) for one zone name."""
    forms = {name}
    for long, shorts in _ZONE_ABBREVIATIONS.items():
        if long in name:
            forms |= {name.replace(long, short) for short in shorts}
    written: list[tuple[str, bool]] = [(form, False) for form in forms]
    for form in forms:
        for city in city_shorts:
            rest = form[len(city) :] if form.startswith(city) else ""
            if len(rest) >= 3:
                written.append((rest, True))
    return written


@dataclass(frozen=True, slots=True)
class _Entry:
    """One way of writing a province, city, district or zone, and the current codes it means."""

    level: Level
    codes: tuple[str, ...]
    current: bool
    short: bool
    written: str
    zone: bool = False
    needs_city: bool = False
    retired_codes: tuple[str, ...] = ()

    def rank(self) -> tuple[bool, bool, bool, int]:
        return (not self.current, self.short, self.needs_city, self.level)


@dataclass(frozen=True, slots=True)
class _Index:
    divisions: DivisionData
    names: dict[str, tuple[_Entry, ...]]
    name_starts: dict[str, tuple[tuple[int, str, tuple[_Entry, ...]], ...]]
    towns: dict[str, tuple[Town, ...]]
    town_lengths: dict[str, tuple[int, ...]]
    cities_without_counties: frozenset[str]
    cities_by_prefix: frozenset[str]
    successor_roads: dict[tuple[str, str], str]
    region_areas: dict[str, dict[str, str]]
    region_area_lengths: dict[str, tuple[int, ...]]
    taiwan_cities: dict[str, str]
    taiwan_city_lengths: tuple[int, ...]


_HONG_KONG, _MACAO, _TAIWAN = "810000", "820000", "710000"
REGION_CODES = frozenset({_HONG_KONG, _MACAO, _TAIWAN})


@cache
def _index() -> _Index:
    data = load_divisions()
    with garbage_collection_paused():
        return _build_index(data)


def _build_index(data: DivisionData) -> _Index:
    grouped: dict[tuple[str, Level, bool, bool, bool, bool], list[str]] = defaultdict(list)
    retired_codes: dict[tuple[str, Level], list[str]] = defaultdict(list)
    city_shorts: dict[str, tuple[str, ...]] = {}
    for division in (*data.provinces.values(), *data.cities.values(), *data.districts.values()):
        grouped[(division.name, division.level, True, False, False, False)].append(division.code)
        shorts = _short_names(division.name, division.level)
        for short in shorts:
            grouped[(short, division.level, True, True, False, False)].append(division.code)
        if division.level is not Level.DISTRICT:
            city_shorts[_scope(division.code)] = (division.name, *sorted(shorts, key=len, reverse=True))
    for code, written in data.region_names:
        grouped[(written, Level.PROVINCE, True, False, False, False)].append(code)
    for retired in _latest_meanings(data.retired):
        grouped[(retired.name, retired.level, False, False, False, False)].extend(retired.successors)
        retired_codes[(retired.name, retired.level)].append(retired.old_code)
    for zone in data.zones:
        owner = city_shorts.get(zone.contains[:4], ()) + city_shorts.get(zone.contains[:2], ())
        for form, needs_city in _zone_forms(zone.name, owner):
            grouped[(form, Level.DISTRICT, True, False, True, needs_city)].append(zone.contains)

    names: dict[str, list[_Entry]] = defaultdict(list)
    for (name, level, current, short, zone, needs_city), codes in grouped.items():
        names[name].append(
            _Entry(
                level,
                tuple(dict.fromkeys(codes)),
                current,
                short,
                name,
                zone,
                needs_city,
                tuple(retired_codes.get((name, level), ())) if not current else (),
            )
        )
    towns: dict[str, tuple[Town, ...]] = {}
    for town in data.towns:
        # A few official names hold full-width brackets, which normalise_text turns plain.
        key = town.name if unicodedata.is_normalized("NFKC", town.name) else normalise_text(town.name)
        same_name = towns.get(key)
        # Tuples from the start: most of the ~40k names are unique, a list each costs more.
        towns[key] = (town,) if same_name is None else (*same_name, town)
    region_areas: dict[str, dict[str, str]] = defaultdict(dict)
    for area in data.region_areas:
        region_areas[area.region_code][area.written] = area.name
    taiwan_cities = {
        written: name for written, name in region_areas[_TAIWAN].items() if written[-1] in "市县縣"
    }
    ranked = {name: tuple(sorted(entries, key=_Entry.rank)) for name, entries in names.items()}
    return _Index(
        divisions=data,
        names=ranked,
        name_starts=_by_start(ranked),
        towns=towns,
        town_lengths=_lengths_by_start(towns),
        cities_without_counties=frozenset(code[:4] for code in data.cities_without_counties()),
        cities_by_prefix=frozenset(code[:2] for code in data.cities),
        successor_roads={(r.retired_code, r.road): r.successor for r in data.successor_roads},
        region_areas=dict(region_areas),
        region_area_lengths=_lengths_by_start({w: 0 for areas in region_areas.values() for w in areas}),
        taiwan_cities=taiwan_cities,
        taiwan_city_lengths=tuple(sorted({len(written) for written in taiwan_cities}, reverse=True)),
    )


def _latest_meanings(retired: tuple[RetiredName, ...]) -> list[RetiredName]:
    """Retired names, where one place retired the same name twice (沙县 in 1983 into two
    districts, in 2021 into one) keeping what it meant last; other places keep theirs."""
    by_name: dict[tuple[str, Level], list[RetiredName]] = defaultdict(list)
    for entry in retired:
        by_name[(entry.name, entry.level)].append(entry)
    kept: list[RetiredName] = []
    for entries in by_name.values():
        for entry in entries:
            overlapping_later = any(
                other.retired_in > entry.retired_in and set(other.successors) & set(entry.successors)
                for other in entries
            )
            if not overlapping_later:
                kept.append(entry)
    return kept


def _lengths_by_start(names: dict[str, object]) -> dict[str, tuple[int, ...]]:
    """Name lengths worth trying, longest first, keyed by a name's first two characters."""
    lengths: dict[str, tuple[int, ...]] = {}
    # Longest names first, so each start's lengths come in the order wanted, equal ones together.
    for name in sorted(names, key=len, reverse=True):
        start = name[:2]
        found = lengths.get(start)
        if found is None:
            lengths[start] = (len(name),)
        elif found[-1] != len(name):
            lengths[start] = (*found, len(name))
    return lengths


_V = TypeVar("_V")


def _by_start(names: dict[str, _V]) -> dict[str, tuple[tuple[int, str, _V], ...]]:
    """Every name that text starting with a key can begin with, longest first, as (length,
    name, value): keyed by the first three characters of names of three or more (with the
    two-character name they begin with, if any, last), and by the name itself for names of
    two. One look-up then finds the few names worth comparing: most longer names share their
    first two characters with a city (杭州经济技术开发区) but not their third."""
    if min(map(len, names), default=2) < 2:
        raise ValueError("division and town names have at least two characters")
    starts: dict[str, list[tuple[int, str, _V]]] = {}
    for name, value in names.items():
        key = name[:3]
        found = starts.get(key)
        if found is None:
            found = starts[key] = []
            two = names.get(key[:2]) if len(key) == 3 else None
            if two is not None:
                found.append((2, key[:2], two))
        found.append((len(name), name, value))
    # Distinct names: sorting never compares two values.
    return {
        key: tuple(found) if len(found) == 1 else tuple(sorted(found, reverse=True)) for key, found in starts.items()
    }


def _scope(code: str) -> str:
    """The code prefix shared by everything inside a division (330000 -> 33)."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


# Level's members as plain globals: looking a member up on its enum class costs ten times
# a global's look-up (Python 3.11), and the loops below do it several times per address.
_PROVINCE, _CITY, _DISTRICT, _TOWN = Level.PROVINCE, Level.CITY, Level.DISTRICT, Level.TOWN
# The scopes of a reading that has read no division yet.
_ANYWHERE = ("",)


@dataclass(slots=True)
class _Reading:
    """What has been read so far; `scopes` are the code prefixes still possible.

    `kept_city` is set when the address determines its city but, by design, no district:
    a zone spanning several districts, or a split district with nothing to decide by.
    """

    level: int = -1
    scopes: tuple[str, ...] = _ANYWHERE
    province: str | None = None
    city: str | None = None
    district: str | None = None
    renamed_from: str | None = None
    town: Town | None = None
    kept_city: bool = False

    def copy(self) -> _Reading:
        # Positional: dataclasses.replace costs several times as much.
        return _Reading(
            self.level, self.scopes, self.province, self.city, self.district, self.renamed_from, self.town, self.kept_city
        )

    def admits(self, code: str) -> bool:
        return code.startswith(self.scopes)

    def resolved_code(self, level: Level) -> str | None:
        if level is _PROVINCE:
            return self.province
        return self.city if level is _CITY else self.district

    def in_one_city(self) -> bool:
        """Every code still possible lies inside one city (or is a district)."""
        for scope in self.scopes:
            if len(scope) < 4:
                return False
        return True

    def knows_city(self) -> bool:
        """A city, or a municipality (which is its own city), has been read."""
        if self.in_one_city():
            return True
        return self.province is not None and self.province[:2] not in _index().cities_by_prefix


def _in_reach(reading: _Reading, town: Town) -> bool:
    district = reading.district
    if district:
        return town.district_code == district or (town.district_code is None and town.city_prefix == district[:4])
    return town.code.startswith(reading.scopes)


def _towns_in_reach(reading: _Reading, candidates: tuple[Town, ...]) -> list[Town]:
    return [town for town in candidates if _in_reach(reading, town)]


def _town_at(text: str, pos: int, reading: _Reading) -> tuple[int, Town] | None:
    """The longest town name at `pos` that can only mean one place within the reading.

    Town names repeat across the country (城关镇): outside a known city only a full name
    (街道, 镇, 乡) that occurs once in the country, or in the province, is taken.
    """
    index = _index()
    lengths = index.town_lengths.get(text[pos : pos + 2])
    if lengths is None:
        return None
    in_city = reading.district is not None or reading.in_one_city()
    towns = index.towns
    for length in lengths:
        # Sliced even when the text is too short for it, so a reading watched for what it
        # looks at (see _full_forms) sees this look past its end.
        name = text[pos : pos + length]
        candidates = towns.get(name) if len(name) == length else None
        if not candidates:
            continue
        if not in_city and (length < 3 or not name.endswith(_TOWN_SUFFIXES)):
            continue
        if len(candidates) == 1:  # most town names are unique in the country
            if _in_reach(reading, candidates[0]):
                return length, candidates[0]
            continue
        reachable = _towns_in_reach(reading, candidates)
        if reachable and len({(t.district_code, t.city_prefix) for t in reachable}) == 1:
            return length, reachable[0]
    return None


def _division_at(text: str, pos: int, reading: _Reading) -> tuple[int, _Entry, tuple[str, ...]] | None:
    """The longest division name at `pos` that fits the reading, with the codes it keeps."""
    starts = _index().name_starts
    found = starts.get(text[pos : pos + 3]) or starts.get(text[pos : pos + 2])
    if not found:
        return None
    level = reading.level
    scopes = reading.scopes
    anywhere = scopes == _ANYWHERE
    for length, name, entries in found:
        if not text.startswith(name, pos):
            continue
        for entry in entries:
            if entry.level <= level:
                if not entry.short and not entry.zone and reading.resolved_code(entry.level) in entry.codes:
                    return length, entry, entry.codes
                continue
            if entry.needs_city and not reading.knows_city():
                continue
            codes = entry.codes
            if not anywhere:
                if len(codes) == 1:
                    if not codes[0].startswith(scopes):
                        continue
                else:
                    codes = tuple([code for code in codes if code.startswith(scopes)])
            if not codes:
                continue
            if entry.short and entry.level is _DISTRICT:
                if not _short_district_confirmed(text, pos + length, reading, codes):
                    continue
            elif entry.short and _a_district_is_meant(text, pos + length, reading, entries):
                continue  # 大同林源镇: 林源镇 is in 大庆's 大同区, not in 大同市
            return length, entry, codes
    return None


def _a_district_is_meant(text: str, pos: int, reading: _Reading, entries: tuple[_Entry, ...]) -> bool:
    """Whether a short district name written like this short city or province name is
    confirmed by a town of its own right after it."""
    return any(
        other.short
        and other.level is _DISTRICT
        and _short_district_confirmed(
            text, pos, reading, tuple(c for c in other.codes if reading.admits(c)), by_road=False
        )
        for other in entries
    )


def _short_district_confirmed(
    text: str, pos: int, reading: _Reading, codes: tuple[str, ...], by_road: bool = True
) -> bool:
    """余杭 stands for 余杭区 only when one of its towns follows, or, when it is the only
    such name in the province or city written, a road name on its own (杭州西湖文三路,
    广东德庆和平路); otherwise it is as likely the start of a road
    (杭州余杭塘路: 塘路 is no road name)."""
    if any(_town_at(text, pos, replace(reading, district=code, scopes=(code,))) for code in codes):
        return True
    if not by_road or len(codes) != 1 or reading.level < _PROVINCE:
        return False
    following = split_detail(text[pos : pos + 40])
    road = following["road"]
    # 本溪溪湖区望江巷 is 本溪 + 溪湖区, not 本溪县 + a road: a division name is no road.
    return road is not None and following["before_road"] is None and not _DIVISION_CHARACTERS.search(road)


def _full_name(code: str) -> str:
    data = _index().divisions
    parts = [data.province_of(code).name]
    city = data.city_of(code)
    if city:
        parts.append(city.name)
    division = data.division(code)
    if division and division.level is not _PROVINCE and (city is None or division.code != city.code):
        parts.append(division.name)
    return "".join(parts)


def _ambiguous(codes: tuple[str, ...]) -> FieldError:
    """An error naming the candidates: official division names, never the input."""
    names = [_full_name(code) for code in sorted(codes)]
    shown = ", ".join(names[:_MAX_CANDIDATES]) + (" ..." if len(names) > _MAX_CANDIDATES else "")
    return FieldError(FIELD, f"district name is ambiguous ({shown}); add the province or city")


def _successor_by_road(text: str, pos: int, entry: _Entry, codes: tuple[str, ...]) -> str | None:
    road = split_detail(text[pos:].lstrip(SEPARATORS))["road"]
    if road is None:
        return None
    index = _index()
    found = {index.successor_roads.get((old, road)) for old in entry.retired_codes} & set(codes)
    return found.pop() if len(found) == 1 else None


def _choose_district(text: str, pos: int, reading: _Reading, entry: _Entry, codes: tuple[str, ...]) -> str | None:
    """The district meant, or None to keep only the city a split district lies in."""
    if len(codes) == 1:
        return codes[0]
    by_town = [code for code in codes if _town_at(text, pos, replace(reading, district=code, scopes=(code,)))]
    if len(by_town) == 1:
        return by_town[0]
    if not entry.current:
        by_road = _successor_by_road(text, pos, entry, codes)
        if by_road:
            return by_road
        if len({code[:4] for code in codes}) == 1:
            return None
    raise _ambiguous(codes)


def _keep_city(reading: _Reading, code: str) -> None:
    """Stop at the city (or municipality) containing `code`."""
    reading.kept_city = True
    reading.level = _DISTRICT
    if code.endswith("0000"):
        reading.province = code
        reading.scopes = (code[:2],)
    else:
        reading.city = code[:4] + "00"
        reading.scopes = (code[:4],)


def _apply_zone(reading: _Reading, codes: tuple[str, ...]) -> None:
    if len(codes) > 1:
        if len({code[:4] for code in codes}) > 1:
            raise _ambiguous(codes)
        codes = (codes[0][:4] + "00",)
    code = codes[0]
    if code.endswith("00"):
        _keep_city(reading, code)
    else:
        reading.level = _DISTRICT
        reading.district = code
        reading.scopes = (code,)


def _apply(reading: _Reading, entry: _Entry, codes: tuple[str, ...], text: str, end: int) -> None:
    level = entry.level
    if level <= reading.level:
        return  # the same division written twice (北京市北京市朝阳区)
    if entry.zone:
        _apply_zone(reading, codes)
        return
    reading.level = level
    if level is _PROVINCE:
        reading.province = codes[0]
        reading.scopes = (_scope(codes[0]),)
    elif level is _CITY:
        if len(codes) == 1:
            reading.city = codes[0]
            reading.scopes = (_scope(codes[0]),)
        else:
            reading.scopes = tuple(map(_scope, codes))
        if not entry.current and len(codes) > 1 and len({code[:4] for code in codes}) == 1:
            # A retired prefecture split among districts of one city (莱芜市): the city is
            # known even if no town tells the district.
            reading.city = codes[0][:4] + "00"
            reading.kept_city = True
    else:
        district = codes[0] if len(codes) == 1 else _choose_district(text, end, reading, entry, codes)
        if district is None:
            _keep_city(reading, codes[0])
            return
        current = _index().divisions.districts.get(district)
        if current is None:
            _keep_city(reading, district)  # a county that became the city itself (日照县)
            return
        reading.district = district
        reading.scopes = (district,)
        reading.kept_city = False
        if entry.written != current.name and not entry.short:
            reading.renamed_from = entry.written


def _placeholder_end(text: str, pos: int, reading: _Reading) -> int:
    """End of a placeholder at `pos`, or `pos` when there is none."""
    if text[pos : pos + 1].lower() not in _PLACEHOLDER_STARTS:
        return pos
    for word in _PLACEHOLDERS:
        if text.startswith(word, pos):
            return pos + len(word)
    lowered = text[pos : pos + 9].lower()
    for word in _ASCII_PLACEHOLDERS:
        following = lowered[len(word) : len(word) + 1]
        if lowered.startswith(word) and not (following.isascii() and following.isalpha()):
            return pos + len(word)
    for word in _WEAK_PLACEHOLDERS:
        if text.startswith(word, pos):
            after = pos + len(word)
            if after == len(text) or text[after] in SEPARATORS or _division_at(text, after, reading):
                return after
    return pos


def _skip_noise(text: str, pos: int, reading: _Reading) -> int:
    """Past separators and placeholders written where a division may stand."""
    while pos < len(text):
        if text[pos] in SEPARATORS:
            pos += 1
            continue
        after = _placeholder_end(text, pos, reading)
        if after == pos:
            break
        pos = after
    return pos


def leading_noise_length(text: str) -> int:
    """How many characters at the start of `text` are separators or placeholders, which the
    parser drops where a division may stand."""
    return _skip_noise(text, 0, _Reading())


def _strip_leading_noise(text: str) -> str:
    """Drop tags, lead-in words and placeholders that precede the first division."""
    while text[:1] in _NOISE_STARTS:
        before = text
        text = _LEADING_TAG.sub("", text, count=1) if _LEADING_TAG.match(text) else text
        for word in _LEADING_WORDS:
            if text.startswith(word):
                text = text[len(word) :]
                break
        text = text[_skip_noise(text, 0, _Reading()) :]
        if text == before:
            break
    return text


def _read_divisions(text: str, pos: int, reading: _Reading, deepest: Level = _TOWN) -> int:
    """Consume division names from `pos` on; returns where the detail starts."""
    end = len(text)
    towns_too = deepest is _TOWN
    while pos < end:
        start = _skip_noise(text, pos, reading) if text[pos] in _NOISE_STARTS else pos
        found = _division_at(text, start, reading)
        if found and found[1].level > deepest:
            found = None
        # A new division beats any town; a repeated name may begin an official town
        # name (端州区 + 端州区睦岗街道), so then the longer of the two wins.
        town = None
        if towns_too and reading.town is None and (found is None or found[1].level <= reading.level):
            town = _town_at(text, start, reading)
        if town and (found is None or town[0] > found[0]):
            _set_town(reading, town[1])
            pos = start + town[0]
        elif found:
            length, entry, codes = found
            if entry.level is _CITY:
                length = _city_without_its_suffix(text, start, length, entry, codes, reading)
            _apply(reading, entry, codes, text, start + length)
            pos = start + length
        else:
            return start if start > pos and reading.level >= _PROVINCE else pos
    return pos


def _city_without_its_suffix(
    text: str, start: int, length: int, entry: _Entry, codes: tuple[str, ...], reading: _Reading
) -> int:
    """枣庄市中区 is 枣庄 + 市中区 when 中区 means nothing there: the city's 市 then begins
    the district's name (市中区, 市南区, 市北区). `entry` is a city's."""
    if text[start + length - 1 : start + length + 1] not in _SHI_DISTRICT_STARTS:
        return length
    after_full = replace(reading)
    _apply(after_full, entry, codes, text, start + length)
    if _division_at(text, start + length, after_full):
        return length
    deeper = _division_at(text, start + length - 1, after_full)
    if deeper and deeper[1].level is _DISTRICT:
        return length - 1
    return length


def _set_town(reading: _Reading, town: Town) -> None:
    reading.town = town
    reading.level = _TOWN
    if reading.district is None and town.district_code:
        reading.district = town.district_code
        reading.kept_city = False
    if reading.city is None and town.city_prefix + "00" in _index().divisions.cities:
        reading.city = town.city_prefix + "00"


def _not_recognised(reading: _Reading) -> FieldError:
    return FieldError(FIELD, _ADD_DIVISIONS if reading.level < _PROVINCE else _ADD_DISTRICT)


def _finish(reading: _Reading, detail: str, city_is_enough: bool = False) -> ParsedAddress:
    index = _index()
    data = index.divisions
    town = reading.town
    city_code = reading.city or (town.city_prefix + "00" if town else None)
    if reading.district is None:
        under_city = town is not None and town.district_code is None
        kept_city = reading.kept_city or (city_is_enough and reading.level >= _PROVINCE and reading.knows_city())
        if not (kept_city or under_city or (city_code and city_code[:4] in index.cities_without_counties)):
            raise _not_recognised(reading)
    anchor = reading.district or city_code or reading.province
    if anchor is None:
        raise _not_recognised(reading)
    province = data.provinces[anchor[:2] + "0000"]
    city = data.cities.get(anchor[:4] + "00")
    district = data.districts.get(reading.district) if reading.district else None
    # Positional, in ParsedAddress's field order: keywords cost a dict per address.
    return ParsedAddress(
        province.name,
        city.name if city else None,
        district.name if district else None,
        town.name if town else None,
        *detail_values(detail),
        province.code,
        city.code if city else None,
        district.code if district else None,
        town.code if town else None,
        reading.renamed_from,
    )


def _region_area_at(text: str, pos: int, region: str) -> tuple[int, str] | None:
    index = _index()
    areas = index.region_areas.get(region, {})
    for length in index.region_area_lengths.get(text[pos : pos + 2], ()):
        name = areas.get(text[pos : pos + length])
        if name:
            return length, name
    return None


def _region_address(region: str, text: str, pos: int) -> ParsedAddress:
    """Hong Kong, Macao or Taiwan: the region and its district or city; the rest unclassified."""
    pos = _skip_noise(text, pos, _Reading())
    area = _region_area_at(text, pos, region)
    if area:
        pos = _skip_noise(text, pos + area[0], _Reading())
    elif region == _TAIWAN:
        raise FieldError(FIELD, _ADD_TAIWAN_CITY)
    name = _index().divisions.provinces[region].name
    area_name = area[1] if area else None
    return ParsedAddress(
        province=name,
        province_code=region,
        city=area_name if region == _TAIWAN else None,
        district=area_name if region != _TAIWAN else None,
        remainder=text[pos:] or None,
    )


def _taiwan_city_at(text: str) -> bool:
    """Whether `text` starts with a Taiwan city or county written in full (台北市, 新竹縣)."""
    index = _index()
    cities = index.taiwan_cities
    for length in index.taiwan_city_lengths:
        if text[:length] in cities:
            return True
    return False


def parse_address(text: str) -> ParsedAddress:
    """Parse one written address (浙江省杭州市余杭区五常街道文一西路969号...).

    Raises FieldError("address", ...) when no district can be determined (saying what to
    add) or its name is ambiguous (naming the candidates). Messages never quote the address.
    """
    return _parse(text, city_is_enough=False)


class _Watched(str):
    """Text that records whether reading it looked past its end: at a character, a slice or a
    comparison that the characters after it could decide."""

    looked_past_end = False

    def __getitem__(self, key: int | slice) -> str:  # type: ignore[override]
        end = len(self)
        # A negative index counts from the end, so it depends on what follows as well.
        if isinstance(key, slice):
            if key.stop is None or not 0 <= key.stop <= end or (key.start or 0) < 0:
                self.looked_past_end = True
        elif not 0 <= key < end:
            self.looked_past_end = True
        return str.__getitem__(self, key)

    def startswith(self, prefix: str | tuple[str, ...], start: int | None = 0, end: int | None = None) -> bool:  # type: ignore[override]
        room = len(self) - (start or 0)
        for word in (prefix,) if isinstance(prefix, str) else prefix:
            # Longer than what is left, and agreeing with all of it: the rest would decide.
            if len(word) > room and end is None and word.startswith(str.__getitem__(self, slice(start, None))):
                self.looked_past_end = True
        return str.startswith(self, prefix, start, end)


# Full forms by their first two characters (a province's): the readings they decide, and
# their lengths, longest first. Filled one province at a time, on first use.
_full_forms_by_start: dict[str, tuple[dict[str, _Reading], tuple[int, ...]]] = {}
_NO_FORMS: tuple[dict[str, _Reading], tuple[int, ...]] = ({}, ())


def _full_forms(start: str) -> tuple[dict[str, _Reading], tuple[int, ...]]:
    """Districts of the province whose name starts with `start`, written in full after their
    province and city as most order exports write them, read ahead of time: the reading of
    such a form depends on nothing after it when reading it never looked past its end, nor
    began a division where noise may start. About 1.6 ms a province, once per process;
    reading the divisions of an address then takes a sixth less."""
    found = _full_forms_by_start.get(start)
    if found is not None:
        return found
    codes = _districts_by_province_start().get(start)
    if codes is None:
        return _NO_FORMS  # not kept: any text's first two characters come here
    forms: dict[str, _Reading] = {}
    data = _index().divisions
    for code in codes:
        city = data.city_of(code)
        divisions = (data.province_of(code), data.districts[code]) + ((city,) if city else ())
        if any(division.name[0] in _NOISE_STARTS for division in divisions):
            continue
        written = _Watched(_full_name(code))
        reading = _Reading()
        try:
            read = _read_divisions(written, 0, reading)
        except FieldError:
            continue
        if (
            not written.looked_past_end
            and read == len(written)
            and reading.district == code
            and reading.town is None
            and reading.renamed_from is None
            and not reading.kept_city
        ):
            forms[str(written)] = reading
    found = forms, tuple(sorted({len(form) for form in forms}, reverse=True))
    _full_forms_by_start[start] = found
    return found


@cache
def _districts_by_province_start() -> dict[str, tuple[str, ...]]:
    """District codes by the first two characters of their province's name."""
    data = _index().divisions
    by_start: dict[str, list[str]] = defaultdict(list)
    for code in data.districts:
        by_start[data.provinces[code[:2] + "0000"].name[:2]].append(code)
    return {start: tuple(codes) for start, codes in by_start.items()}


def _read_full_form(text: str) -> tuple[_Reading, int]:
    """A fresh reading and where the divisions were read to: past the district written in
    full at the start of `text`, as reading them one by one would leave it, or at 0."""
    forms, lengths = _full_forms(text[:2])
    for length in lengths:
        known = forms.get(text[:length])
        if known is not None:
            return known.copy(), length
    return _Reading(), 0


def _parse(text: str, city_is_enough: bool) -> ParsedAddress:
    normalised = _strip_leading_noise(normalise_text(text))
    if _taiwan_city_at(normalised):
        return _region_address(_TAIWAN, normalised, 0)
    reading, pos = _read_full_form(normalised)
    pos = _read_divisions(normalised, pos, reading)
    if reading.province in REGION_CODES:
        return _region_address(reading.province, normalised, pos)
    return _finish(reading, normalised[pos:], city_is_enough=city_is_enough)


def parse_label_address(text: str) -> ParsedAddress:
    """Parse the kept part of a masked address, as written on a label.

    As parse_address, except that a city with no district is enough: labels of addresses
    in a zone spanning several districts, or in an undecidable split district, stop at the
    city (河南省驻马店市湖滨大街****), and masking such a label again must give it back.
    """
    return _parse(text, city_is_enough=True)


_PART_LEVELS = (("province", _PROVINCE), ("city", _CITY), ("district", _DISTRICT))


def parse_address_parts(
    province: str | None,
    city: str | None,
    district: str | None,
    town: str | None,
    detail: str | None,
) -> ParsedAddress:
    """Parse an address given as separate parts; any part may be None.

    Each given division part must name a division inside the parts above it. Division
    names repeated at the start of `detail` are dropped; a missing district or town is
    looked for there. An unknown town is kept as the start of the detail.
    """
    reading = _Reading()
    # What follows the district part decides a split district (江干区 + 秋涛路).
    following = normalise_text((town or "") + (detail or ""))
    for (label, level), part in zip(_PART_LEVELS, (province, city, district)):
        if part is None:
            continue
        text = normalise_text(part)
        if not text:
            continue
        context = following if level is _DISTRICT else ""
        consumed = _read_divisions(text + context, 0, reading, deepest=level)
        if reading.province in REGION_CODES:
            return parse_address("".join(p for p in (province, city, district, town, detail) if p))
        # Past the district part only repeats of divisions already read can be consumed.
        if consumed < len(text) or (consumed > len(text) and not context) or not _reached(reading, level):
            raise FieldError(FIELD, _part_problem(label, text, level))
    leftover = ""
    if town is not None:
        town_text = normalise_text(town)
        found = _town_at(town_text, 0, reading) if town_text else None
        if found and found[0] == len(town_text):
            _set_town(reading, found[1])
        else:
            leftover = town_text
    detail_text = leftover + normalise_text(detail or "")
    pos = _read_divisions(detail_text, 0, reading)
    return _finish(reading, detail_text[pos:])


def _reached(reading: _Reading, level: Level) -> bool:
    """Whether the reading got down to `level`; a municipality is its own city."""
    if reading.level >= level:
        return True
    return level is _CITY and reading.province is not None and reading.knows_city()


def _part_problem(label: str, text: str, level: Level) -> str:
    known = any(entry.level == level for entry in _index().names.get(text, ()))
    if known:
        return f"{label} does not belong to the province or city given"
    return f"{label} not recognised"
