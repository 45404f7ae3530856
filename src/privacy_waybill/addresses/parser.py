"""Split a written Chinese address into official divisions and detail levels.

Division names are matched only at the front of the text, one level deeper each step
and only inside the divisions already read, so a compound called 湖畔花园北区 can never
turn into a district, and 东区 in 中山市 never becomes 攀枝花市东区. The detail that
follows is cut by one anchored pattern: road, number, compound, building, unit, floor,
room, and whatever is left over goes to `remainder`, so no text is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cache

from privacy_waybill.addresses.divisions import DivisionData, Level, Town, load_divisions
from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.errors import FieldError

FIELD = "address"

# The 55 recognised minority nationalities, to shorten 延边朝鲜族自治州 to 延边.
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
# Written between division names by some senders; skipped only when a name follows.
_SEPARATORS = ",、/"

_NUM = r"(?:\d+|[零〇一二三四五六七八九十百两]+)"
_NOT_BODY = r"\d号幢栋座单元室层楼,"
_DETAIL = re.compile(
    rf"""
    (?:(?P<road>[^{_NOT_BODY}]{{1,20}}?(?:大道|大街|胡同|路|街(?!道)|巷|弄|(?<!街)道))
       (?P<road_number>\d+(?:-\d+)?号(?![楼院])|\d+弄(?:\d+号(?![楼院]))?)?)?
    (?P<poi>[^{_NOT_BODY}]{{1,30}}
        (?:小区|花园|大厦|广场|公寓|苑|园|村|中心|大楼|家园|新村|小镇|城|府|庭|湾|院|公馆|社区|里|坊|邸|居|阁|区|期))?
    (?P<building>(?:[A-Za-z]\d*|\d+[A-Za-z]?|[一二三四五六七八九十]+)(?:号楼|幢|栋|座))?
    (?P<unit>{_NUM}单元)?
    (?P<floor>-?{_NUM}(?:层|楼))?
    (?P<room>[A-Za-z]?\d+[A-Za-z]?(?:室|号|户)|\d{{3,5}}(?!\w))?
    (?P<remainder>.*)
    """,
    re.VERBOSE | re.DOTALL,
)
DETAIL_LEVELS = ("road", "road_number", "poi", "building", "unit", "floor", "room", "remainder")


def normalise_text(text: str) -> str:
    """Full-width digits, letters and punctuation to their plain forms; whitespace dropped."""
    return "".join(unicodedata.normalize("NFKC", text).split())


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
        if name.endswith(suffix) and not autonomous:
            shorts.add(name[: -len(suffix)])
            break
    return {short for short in shorts if len(short) >= 2 and short != name}


@dataclass(frozen=True, slots=True)
class _Entry:
    """One way of writing a province, city or district, and the current codes it means."""

    level: Level
    codes: tuple[str, ...]
    current: bool
    short: bool
    written: str

    def rank(self) -> tuple[bool, bool, int]:
        return (not self.current, self.short, self.level)


@dataclass(frozen=True, slots=True)
class _Index:
    divisions: DivisionData
    names: dict[str, tuple[_Entry, ...]]
    name_lengths: dict[str, tuple[int, ...]]
    towns: dict[str, tuple[Town, ...]]
    town_lengths: dict[str, tuple[int, ...]]
    cities_without_counties: frozenset[str]


@cache
def _index() -> _Index:
    data = load_divisions()
    grouped: dict[tuple[str, Level, bool, bool], list[str]] = defaultdict(list)
    for division in (*data.provinces.values(), *data.cities.values(), *data.districts.values()):
        grouped[(division.name, division.level, True, False)].append(division.code)
        for short in _short_names(division.name, division.level):
            grouped[(short, division.level, True, True)].append(division.code)
    for retired in data.retired:
        grouped[(retired.name, retired.level, False, False)].extend(retired.successors)

    names: dict[str, list[_Entry]] = defaultdict(list)
    for (name, level, current, short), codes in grouped.items():
        names[name].append(_Entry(level, tuple(dict.fromkeys(codes)), current, short, name))
    towns: dict[str, list[Town]] = defaultdict(list)
    for town in data.towns:
        towns[normalise_text(town.name)].append(town)
    return _Index(
        divisions=data,
        names={name: tuple(sorted(entries, key=_Entry.rank)) for name, entries in names.items()},
        name_lengths=_lengths_by_start(names),
        towns={name: tuple(found) for name, found in towns.items()},
        town_lengths=_lengths_by_start(towns),
        cities_without_counties=frozenset(code[:4] for code in data.cities_without_counties()),
    )


def _lengths_by_start(names: dict[str, object]) -> dict[str, tuple[int, ...]]:
    """Name lengths worth trying, longest first, keyed by a name's first two characters."""
    lengths: dict[str, set[int]] = defaultdict(set)
    for name in names:
        lengths[name[:2]].add(len(name))
    return {start: tuple(sorted(found, reverse=True)) for start, found in lengths.items()}


def _scope(code: str) -> str:
    """The code prefix shared by everything inside a division (330000 -> 33)."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


@dataclass(slots=True)
class _Reading:
    """What has been read so far; `scopes` are the code prefixes still possible."""

    level: int = -1
    scopes: tuple[str, ...] = ("",)
    province: str | None = None
    city: str | None = None
    district: str | None = None
    renamed_from: str | None = None
    town: Town | None = None

    def admits(self, code: str) -> bool:
        return code.startswith(self.scopes)  # any of the scopes, tested in C

    def resolved_code(self, level: Level) -> str | None:
        return {Level.PROVINCE: self.province, Level.CITY: self.city, Level.DISTRICT: self.district}[level]


def _towns_in_reach(reading: _Reading, candidates: tuple[Town, ...]) -> tuple[Town, ...]:
    if reading.district:
        city_prefix = reading.district[:4]
        return tuple(
            t
            for t in candidates
            if t.district_code == reading.district or (t.district_code is None and t.city_prefix == city_prefix)
        )
    # Town names repeat across the country (城关镇): only look for them inside a city.
    if any(len(scope) < 4 for scope in reading.scopes):
        return ()
    return tuple(t for t in candidates if reading.admits(t.code))


def _town_at(text: str, pos: int, reading: _Reading) -> tuple[int, Town] | None:
    """The longest town name at `pos` that can only mean one place within the reading."""
    if reading.district is None and any(len(scope) < 4 for scope in reading.scopes):
        return None
    index = _index()
    for length in index.town_lengths.get(text[pos : pos + 2], ()):
        candidates = index.towns.get(text[pos : pos + length])
        if not candidates or pos + length > len(text):
            continue
        reachable = _towns_in_reach(reading, candidates)
        if len(reachable) == 1:
            return length, reachable[0]
        if len({t.district_code for t in reachable}) == 1 and reachable:
            return length, reachable[0]
    return None


def _division_at(text: str, pos: int, reading: _Reading) -> tuple[int, _Entry, tuple[str, ...]] | None:
    """The longest division name at `pos` that fits the reading, with the codes it keeps."""
    index = _index()
    for length in index.name_lengths.get(text[pos : pos + 2], ()):
        entries = index.names.get(text[pos : pos + length])
        if not entries or pos + length > len(text):
            continue
        for entry in entries:
            if entry.level <= reading.level:
                if not entry.short and reading.resolved_code(entry.level) in entry.codes:
                    return length, entry, entry.codes
                continue
            codes = tuple(code for code in entry.codes if reading.admits(code))
            if not codes:
                continue
            if (
                entry.short
                and entry.level is Level.DISTRICT
                and not _short_district_confirmed(text, pos + length, reading, codes)
            ):
                continue
            return length, entry, codes
    return None


def _short_district_confirmed(text: str, pos: int, reading: _Reading, codes: tuple[str, ...]) -> bool:
    """余杭 stands for 余杭区 only inside a known city and when one of its towns follows;
    otherwise it is as likely the start of a road (余杭塘路)."""
    if reading.level < Level.PROVINCE:
        return False
    return any(_town_at(text, pos, replace(reading, district=code)) for code in codes)


def _choose_district(text: str, pos: int, reading: _Reading, codes: tuple[str, ...]) -> str:
    if len(codes) == 1:
        return codes[0]
    by_town = [code for code in codes if _town_at(text, pos, replace(reading, district=code))]
    if len(by_town) == 1:
        return by_town[0]
    raise FieldError(FIELD, "district name is ambiguous; add the province or city")


def _apply(reading: _Reading, entry: _Entry, codes: tuple[str, ...], text: str, end: int) -> None:
    if entry.level <= reading.level:
        return  # the same division written twice (北京市北京市朝阳区)
    reading.level = entry.level
    if entry.level is Level.PROVINCE:
        reading.province = codes[0]
        reading.scopes = (_scope(codes[0]),)
    elif entry.level is Level.CITY:
        if len(codes) == 1:
            reading.city = codes[0]
        reading.scopes = tuple(_scope(code) for code in codes)
    else:
        district = _choose_district(text, end, reading, codes)
        reading.district = district
        reading.scopes = (district,)
        current_name = _index().divisions.districts[district].name
        if entry.written != current_name and not entry.short:
            reading.renamed_from = entry.written


def _read_divisions(text: str, pos: int, reading: _Reading, deepest: Level = Level.TOWN) -> int:
    """Consume division names from `pos` on; returns where the detail starts."""
    while pos < len(text):
        start = pos + 1 if text[pos] in _SEPARATORS else pos
        found = _division_at(text, start, reading)
        if found and found[1].level > deepest:
            found = None
        # A new division beats any town; a repeated name may begin an official town
        # name (端州区 + 端州区睦岗街道), so then the longer of the two wins.
        town = None
        if deepest is Level.TOWN and reading.town is None and (found is None or found[1].level <= reading.level):
            town = _town_at(text, start, reading)
        if town and (found is None or town[0] > found[0]):
            _set_town(reading, town[1])
            pos = start + town[0]
        elif found:
            length, entry, codes = found
            _apply(reading, entry, codes, text, start + length)
            pos = start + length
        else:
            break
    return pos


def _set_town(reading: _Reading, town: Town) -> None:
    reading.town = town
    reading.level = Level.TOWN
    if reading.district is None and town.district_code:
        reading.district = town.district_code


def split_detail(detail: str) -> dict[str, str | None]:
    """Road, number, compound, building, unit, floor, room and remainder of a detail text.

    Joining the returned values in `DETAIL_LEVELS` order gives back `detail` exactly.
    """
    match = _DETAIL.fullmatch(detail)
    assert match is not None  # the trailing remainder group matches any text
    return {level: match.group(level) or None for level in DETAIL_LEVELS}


def _finish(reading: _Reading, detail: str) -> ParsedAddress:
    data = _index().divisions
    city_prefix = reading.city[:4] if reading.city else None
    if reading.district is None and city_prefix not in _index().cities_without_counties:
        raise FieldError(FIELD, "district not recognised")
    anchor = reading.district or reading.city
    assert anchor is not None
    province = data.province_of(anchor)
    city = data.city_of(anchor)
    district = data.districts.get(reading.district) if reading.district else None
    town = reading.town
    return ParsedAddress(
        province=province.name,
        city=city.name if city else None,
        district=district.name if district else None,
        town=town.name if town else None,
        province_code=province.code,
        city_code=city.code if city else None,
        district_code=district.code if district else None,
        town_code=town.code if town else None,
        district_renamed_from=reading.renamed_from,
        **split_detail(detail),
    )


def parse_address(text: str) -> ParsedAddress:
    """Parse one written address (浙江省杭州市余杭区五常街道文一西路969号...).

    Raises FieldError("address", ...) when no district can be resolved or its name is
    ambiguous. Messages never quote the address.
    """
    normalised = normalise_text(text)
    reading = _Reading()
    pos = _read_divisions(normalised, 0, reading)
    return _finish(reading, normalised[pos:])


_PART_LEVELS = (("province", Level.PROVINCE), ("city", Level.CITY), ("district", Level.DISTRICT))


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
    for (label, level), part in zip(_PART_LEVELS, (province, city, district)):
        if part is None:
            continue
        text = normalise_text(part)
        if not text:
            continue
        consumed = _read_divisions(text, 0, reading, deepest=level)
        if consumed != len(text) or not _reached(reading, level):
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
    data = _index().divisions
    return (
        level is Level.CITY
        and reading.province is not None
        and not any(code.startswith(reading.province[:2]) for code in data.cities)
    )


def _part_problem(label: str, text: str, level: Level) -> str:
    known = any(entry.level == level for entry in _index().names.get(text, ()))
    if known:
        return f"{label} does not belong to the province or city given"
    return f"{label} not recognised"
