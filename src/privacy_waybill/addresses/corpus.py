"""A deterministic corpus of addresses written the way people and order exports write them.

Each address comes from the real division data, in one of the forms issue 6 lists (short
names, retired districts, development zones, separators and placeholders, villages,
compounds, POIs and names before the road, Hong Kong, Macao and Taiwan, and addresses from
which no district can be told), with what parsing and masking it must get: the division a
label has to show, the road it should show, and every piece of text that must never reach
a label. Tests and benchmarks/bench_addresses.py measure the parser and the masking rule on
it. The same seed always gives the same corpus.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from privacy_waybill.addresses.divisions import Division, Town, load_divisions
from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.errors import FieldError


@dataclass(frozen=True, slots=True)
class MessyAddress:
    """One written address and what it must give.

    `division_code` is the lowest division a label must show (a district, or the city a
    zone or an undecidable split district lies in, or the Hong Kong/Macao/Taiwan region)
    and `division_name` its name as the label writes it; both are None when no district
    can be determined, and the address must then be rejected. `road` is the road the label
    should keep; `hidden` are the texts no label may show.
    """

    text: str
    pattern: str
    division_code: str | None
    division_name: str | None
    road: str | None
    hidden: tuple[str, ...]

    @property
    def determinable(self) -> bool:
        return self.division_code is not None


_ROAD_STEMS = (
    "文一西", "人民", "解放", "建设", "中山", "和平", "新华", "胜利", "长江", "黄河", "学院", "文化",
    "健康", "幸福", "光明", "迎宾", "滨江", "望江", "振兴", "天目山", "凤凰", "明州", "象阳", "工人北",
    "延安", "淮海中", "南京东", "东三环中", "建国门外", "莫干山", "古墩", "创新", "江南", "紫金港",
    "宝带西", "银安", "钱王", "前进", "花园", "体育场", "环城北", "湖滨", "丰潭", "世纪",
)  # fmt: skip
_ROAD_SUFFIXES = ("路", "路", "路", "路", "街", "大道", "大街", "巷")
_VILLAGES = ("长虹村", "新民村", "王庄村", "东湖村", "白沙村", "李家村", "前进村", "红星村")
_COMMUNITIES = ("翠苑社区", "朝晖社区", "紫阳社区", "新华社区")
_COMPOUNDS = (
    "西溪花园", "阳光小区", "锦绣家园", "金色大厦", "世纪广场", "翠苑", "银泰中心", "绿城公寓", "湖畔花园北区",
    "香樟苑", "东方名府", "幸福里", "滨江新村", "万科城", "桂花园", "云栖小镇",
)  # fmt: skip
_POIS = (
    "西溪湿地", "阿里巴巴西溪园区", "科技园区", "经济开发区", "实验中学", "第一小学", "浙江大学", "农贸市场",
    "万达广场", "银泰百货商场", "如家酒店", "人民医院", "物流园", "火车站", "华联超市", "工业园",
)  # fmt: skip
_PEOPLE = ("欧阳璇玑家", "张伟家", "王秀英家", "李娜家", "司马光明家", "陈总收", "刘姐家")
_COMPANIES = ("杭州某某科技有限公司", "顺达贸易公司", "华美电器店", "新世纪商行", "一品设计工作室", "宏达集团")
_TAGS = ("委托件", "【急】", "[加急]", "(到付)", "到付件", "【生鲜】", "寄付")
_SEPARATORS = ("-", "_", "/", " ", "|", ",", "、", "  ")
_PLACEHOLDERS = ("null", "NULL", "其它区", "其他区", "无", "市辖区")
_BUILDINGS = ("幢", "栋", "号楼")

# Retired and merged divisions as people still write them, with the current division an
# address there belongs to (a city code when a split district leaves only the city).
_RETIRED_FORMS: tuple[tuple[str, str, str], ...] = (
    ("浙江省杭州市", "下城区", "330105"),
    ("杭州市", "下城区", "330105"),
    ("浙江省宁波市", "江东区", "330212"),
    ("宁波", "江东区", "330212"),
    ("浙江省绍兴市", "上虞市", "330604"),
    ("浙江", "上虞市", "330604"),
    ("浙江省杭州市", "临安市", "330112"),
    ("", "临安市", "330112"),
    ("北京市", "崇文区", "110101"),
    ("北京", "宣武区", "110102"),
    ("上海市", "闸北区", "310106"),
    ("上海", "卢湾区", "310101"),
    ("上海市", "南汇区", "310115"),
    ("浙江省杭州市", "江干区", "330100"),
    ("山东省", "莱芜市", "370100"),
    ("山东", "莱芜市", "370100"),
)
# Written forms of split districts with a town or road that decides the successor.
_SPLIT_FORMS: tuple[tuple[str, str, str], ...] = (
    ("浙江省杭州市江干区", "凯旋街道", "330102"),
    ("杭州市江干区", "采荷街道", "330102"),
    ("杭州江干区", "下沙街道", "330114"),
    ("浙江省杭州市江干区", "白杨街道", "330114"),
    ("杭州市江干区", "秋涛路", "330102"),
    ("杭州市江干区", "学源街", "330114"),
    ("山东省莱芜市", "凤城街道", "370116"),
    ("山东省莱芜市", "艾山街道", "370117"),
)
_REGION_FORMS: tuple[tuple[str, str, str, str], ...] = (
    # written region, written area, region code, area as labels show it
    ("香港", "九龙城区", "810000", "九龙城区"),
    ("香港特别行政区", "油尖旺区", "810000", "油尖旺区"),
    ("中国香港", "沙田區", "810000", "沙田区"),
    ("香港", "中西区", "810000", "中西区"),
    ("澳门", "氹仔", "820000", "氹仔"),
    ("澳門特別行政區", "花地瑪堂區", "820000", "花地玛堂区"),
    ("台湾省", "台北市", "710000", "台北市"),
    ("臺灣", "高雄市", "710000", "高雄市"),
    ("", "新北市", "710000", "新北市"),
    ("台湾", "台中市", "710000", "台中市"),
)
_REGION_DETAILS = ("弥敦道123号金辉大厦5楼A室", "皇后大道中99号中环中心12楼", "大安区忠孝东路四段100号3楼", "新濠天地2座")
# Written forms from which no district can be determined, or only ambiguously.
_UNDETERMINABLE = (
    "文三路1号",
    "阳光小区3幢2单元501室",
    "浙江省杭州市文三路100号",
    "朝阳区建国路88号",
    "鼓楼区中山路1号",
    "江苏省中山路1号",
    "湖畔花园北区5幢",
    "null",
    "新华路12号院",
    "四川省成都市东区1号",
)


@dataclass(frozen=True, slots=True)
class _Place:
    province: Division
    city: Division | None
    district: Division | None
    towns: tuple[Town, ...]

    @property
    def lowest(self) -> Division:
        lowest = self.district or self.city
        if lowest is None:
            raise ValueError("the corpus generator drew a place without a lowest")
        return lowest


def _strip(name: str, suffixes: tuple[str, ...]) -> str:
    """A name without its suffix, when a name of two or more characters remains."""
    if "自治" in name:
        return name
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _short_province(name: str) -> str:
    for long, short in (("内蒙古", "内蒙古"), ("广西", "广西"), ("西藏", "西藏"), ("宁夏", "宁夏"), ("新疆", "新疆")):
        if name.startswith(long):
            return short
    return _strip(name, ("省", "市", "特别行政区"))


@cache
def _places() -> tuple[tuple[_Place, ...], frozenset[str], dict[str, frozenset[str]]]:
    """Every county and city without counties; district names used once in the country,
    and once in each province."""
    data = load_divisions()
    towns_by_parent: dict[str, list[Town]] = defaultdict(list)
    for town in data.towns:
        county = data.districts.get(town.district_code or "")
        if "直辖" in town.name or (county and town.name == county.name) or "(" in town.name or "（" in town.name:
            continue
        towns_by_parent[town.district_code or town.city_prefix + "00"].append(town)
    places = [
        _Place(data.province_of(code), data.city_of(code), district, tuple(towns_by_parent[code]))
        for code, district in sorted(data.districts.items())
        if not code.startswith(("71", "81", "82"))
    ]
    places += [
        _Place(data.province_of(code), data.cities[code], None, tuple(towns_by_parent[code]))
        for code in sorted(data.cities_without_counties())
    ]
    counts: dict[str, int] = defaultdict(int)
    in_province: dict[tuple[str, str], int] = defaultdict(int)
    for division in (*data.cities.values(), *data.districts.values()):
        counts[division.name] += 1
        in_province[(division.code[:2], division.name)] += 1
    for retired in data.retired:
        counts[retired.name] += 1
        in_province[(retired.old_code[:2], retired.name)] += 1
    unique_in_province: dict[str, set[str]] = defaultdict(set)
    for (province, name), count in in_province.items():
        if count == 1:
            unique_in_province[province].add(name)
    return (
        tuple(places),
        frozenset(name for name, count in counts.items() if count == 1),
        {province: frozenset(names) for province, names in unique_in_province.items()},
    )


class _Builder:
    """Draws the pieces of one address and remembers what must stay off the label."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.hidden: list[str] = []

    def road(self) -> str:
        return self.rng.choice(_ROAD_STEMS) + self.rng.choice(_ROAD_SUFFIXES)

    def after_road(self) -> str:
        """House number and, often, compound, building, unit and room: all hidden."""
        rng = self.rng
        shape = rng.random()
        if shape < 0.06:
            parts = [f"{rng.randint(1, 999)}弄{rng.randint(1, 99)}号{rng.randint(101, 2505)}室"]
        elif shape < 0.10:
            parts = [rng.choice(("与", "和")) + rng.choice(_ROAD_STEMS) + "路交叉口" + rng.choice(_COMPOUNDS)]
        elif shape < 0.14:
            parts = [rng.choice(("一段", "二段", "三段")) + f"{rng.randint(1, 999)}号"]
        else:
            parts = [f"{rng.randint(1, 999)}号"]
        if shape < 0.14:
            self.hidden.extend(parts)
            return "".join(parts)
        if rng.random() < 0.6:
            parts.append(rng.choice(_COMPOUNDS))
            parts.append(f"{rng.randint(1, 30)}{rng.choice(_BUILDINGS)}")
            if rng.random() < 0.6:
                parts.append(f"{rng.randint(1, 6)}单元")
            parts.append(f"{rng.randint(1, 33)}{rng.randint(1, 8):02d}" + rng.choice(("室", "")))
        if rng.random() < 0.08:
            parts.append(rng.choice(("(放门口)", "(近地铁站)", "张三收", "王女士", "(公司前台)", "门卫室")))
        self.hidden.extend(parts)
        return "".join(parts)

    def before_road(self) -> str:
        """Something written between the divisions and the road; hidden."""
        kind = self.rng.choice((_VILLAGES, _COMMUNITIES, _COMPOUNDS, _POIS, _PEOPLE, _COMPANIES))
        text = self.rng.choice(kind)
        self.hidden.append(text)
        return text

    def town(self, place: _Place, probability: float) -> str:
        if place.towns and self.rng.random() < probability:
            return self.rng.choice(place.towns).name
        return ""


def _full_divisions(place: _Place) -> str:
    return place.province.name + (place.city.name if place.city else "") + (place.district.name if place.district else "")


def _clean(rng: random.Random, b: _Builder, place: _Place) -> tuple[str, str]:
    road = b.road()
    return _full_divisions(place) + b.town(place, 0.7) + road + b.after_road(), road


def _short(rng: random.Random, b: _Builder, place: _Place) -> tuple[str, str] | None:
    """宁波北仑新碶街道明州路818号: short city and district, confirmed by a town."""
    if not place.towns or place.district is None:
        return None
    district = _strip(place.district.name, ("新区", "区", "县", "市"))
    city = _strip(place.city.name, ("市",)) if place.city else _short_province(place.province.name)
    if rng.random() < 0.4:
        city = ""  # 义乌稠城街道...
    elif rng.random() < 0.3:
        city = _short_province(place.province.name)  # 浙江平阳鳌江镇...
    road = b.road()
    town = rng.choice(place.towns).name
    if city and place.city and rng.random() < 0.25:
        town = ""  # 杭州西湖文三路: inside a city, the road confirms the short district
    return city + district + town + road + b.after_road(), road


def _unique_district(rng: random.Random, b: _Builder, place: _Place) -> tuple[str, str] | None:
    """萧山区人民路1号: a district unique in the country, or in the province written."""
    _, unique, unique_in_province = _places()
    name = place.lowest.name
    road = b.road()
    if name in unique:
        return name + b.town(place, 0.5) + road + b.after_road(), road
    if name in unique_in_province.get(place.province.code[:2], frozenset()):
        return _short_province(place.province.name) + name + road + b.after_road(), road
    return None


def _noisy(rng: random.Random, b: _Builder, place: _Place) -> tuple[str, str]:
    """Separators, repeated prefixes, placeholders, tags, missing suffixes, spaces."""
    province, city = place.province.name, place.city.name if place.city else ""
    district = place.district.name if place.district else ""
    noise = rng.randrange(6)
    if noise == 0:
        sep = rng.choice(_SEPARATORS)
        divisions = sep.join(part for part in (province, city, district) if part) + sep
    elif noise == 1:
        divisions = province + city + province + city + district
    elif noise == 2:
        slot = rng.randrange(3)
        parts = [province, city, district]
        parts.insert(slot, rng.choice(_PLACEHOLDERS))
        divisions = "".join(parts)
    elif noise == 3:
        divisions = rng.choice(_TAGS) + province + city + district
    elif noise == 4 and city and district:
        divisions = _short_province(province) + _strip(city, ("市",)) + district
    else:
        divisions = province + city + district
    road = b.road()
    text = divisions + b.town(place, 0.6) + road + b.after_road()
    if noise == 5 or rng.random() < 0.2:
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            chars.insert(rng.randrange(len(chars) + 1), " ")
        text = "".join(chars)
    if rng.random() < 0.1:
        text = text.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})  # full-width digits
    return text, road


def _below_road(rng: random.Random, b: _Builder, place: _Place) -> tuple[str, str | None]:
    """长虹村象阳路5号, 西溪湿地紫金港路, 欧阳璇玑家建国路, 李家村5组: nothing of it on a label."""
    prefix = _full_divisions(place) + b.town(place, 0.8)
    if rng.random() < 0.12:
        village = rng.choice(_VILLAGES)
        group = f"{rng.randint(1, 12)}组{rng.randint(1, 99)}号"
        b.hidden.extend((village, group))
        return prefix + village + group, None
    road = b.road()
    return prefix + b.before_road() + road + b.after_road(), road


def _zone(rng: random.Random, b: _Builder) -> MessyAddress:
    """下沙经济开发区, 苏州工业园区: routed to the district or city that contains the zone."""
    data = load_divisions()
    zone = rng.choice(data.zones)
    division = data.division(zone.contains)
    if division is None:
        raise ValueError("the corpus generator drew a place without a division")
    written = zone.name
    if rng.random() < 0.3:
        written = data.province_of(zone.contains).name + written
    road = b.road()
    return MessyAddress(written + road + b.after_road(), "zone", zone.contains, division.name, road, tuple(b.hidden))


_PATTERNS: tuple[tuple[str, float, Callable[..., tuple[str, str | None] | None]], ...] = (
    ("clean", 0.22, _clean),
    ("short", 0.14, _short),
    ("unique_district", 0.10, _unique_district),
    ("noise", 0.22, _noisy),
    ("below_road", 0.16, _below_road),
)


def _special(rng: random.Random, pattern: str) -> MessyAddress:
    b = _Builder(rng)
    data = load_divisions()
    if pattern == "retired":
        before, name, code = rng.choice(_RETIRED_FORMS)
        road = b.road()
        division = data.division(code)
        if division is None:
            raise ValueError("the corpus generator drew a place without a division")
        return MessyAddress(before + name + road + b.after_road(), pattern, code, division.name, road, tuple(b.hidden))
    if pattern == "split_decided":
        before, decider, code = rng.choice(_SPLIT_FORMS)
        division = data.division(code)
        if division is None:
            raise ValueError("the corpus generator drew a place without a division")
        if decider.endswith(("路", "街")):
            return MessyAddress(before + decider + b.after_road(), pattern, code, division.name, decider, tuple(b.hidden))
        road = b.road()
        return MessyAddress(
            before + decider + road + b.after_road(), pattern, code, division.name, road, tuple(b.hidden)
        )
    if pattern == "region":
        region, area, code, label_area = rng.choice(_REGION_FORMS)
        detail = rng.choice(_REGION_DETAILS)
        b.hidden.append(detail)
        return MessyAddress(region + area + detail, pattern, code, label_area, None, tuple(b.hidden))
    if pattern == "undeterminable":
        return MessyAddress(rng.choice(_UNDETERMINABLE), pattern, None, None, None, ())
    return _zone(rng, b)


_SPECIAL = (("retired", 0.05), ("split_decided", 0.03), ("zone", 0.04), ("region", 0.02), ("undeterminable", 0.02))


def messy_address(rng: random.Random) -> MessyAddress:
    """One address in a randomly drawn pattern."""
    places = _places()[0]
    draw = rng.random()
    for pattern, weight in _SPECIAL:
        if draw < weight:
            return _special(rng, pattern)
        draw -= weight
    while True:
        pattern, _, make = rng.choices(_PATTERNS, weights=[w for _, w, _ in _PATTERNS])[0]
        place = rng.choice(places)
        builder = _Builder(rng)
        made = make(rng, builder, place)
        if made is None:
            continue
        text, road = made
        return MessyAddress(text, pattern, place.lowest.code, place.lowest.name, road, tuple(builder.hidden))


def messy_addresses(count: int, seed: int = 0) -> list[MessyAddress]:
    rng = random.Random(seed)
    return [messy_address(rng) for _ in range(count)]


def patterns() -> tuple[str, ...]:
    return tuple(name for name, _, _ in _PATTERNS) + tuple(name for name, _ in _SPECIAL)



@dataclass(frozen=True, slots=True)
class CorpusScore:
    """How a parser and a label rule did on a corpus; shares are of the named subsets."""

    determinable: int
    accepted: int
    misrouted: int
    labels_showing_hidden_text: int
    district_kept: int
    with_road: int
    road_kept: int
    undeterminable: int
    rejected_with_reason: int
    failures: tuple[tuple[str, str], ...]

    @property
    def acceptance(self) -> float:
        return self.accepted / self.determinable

    @property
    def district_share(self) -> float:
        return self.district_kept / self.accepted

    @property
    def road_share(self) -> float:
        return self.road_kept / self.with_road


def score_corpus(
    corpus: list[MessyAddress],
    parse: Callable[[str], ParsedAddress],
    label: Callable[[ParsedAddress], str],
) -> CorpusScore:
    """Parse and label every address; `failures` holds (pattern, what went wrong) per miss.

    An address counts as accepted when it parses to the expected division; the label
    figures are over accepted addresses.
    """
    counts: dict[str, int] = defaultdict(int)
    failures: list[tuple[str, str]] = []
    for address in corpus:
        try:
            parsed = parse(address.text)
        except FieldError as error:
            if address.determinable:
                failures.append((address.pattern, f"rejected: {error.reason}"))
            elif "add" in error.reason:
                counts["rejected_with_reason"] += 1
            continue
        if not address.determinable:
            failures.append((address.pattern, "accepted an address naming no determinable district"))
            continue
        resolved = parsed.district_code or parsed.city_code or parsed.province_code
        if resolved != address.division_code:
            counts["misrouted"] += 1
            failures.append((address.pattern, f"routed to {resolved}, expected {address.division_code}"))
            continue
        counts["accepted"] += 1
        shown = label(parsed)
        # Official division names may contain a hidden word (官渡工业园 is a town): look
        # only at what the label shows besides them.
        beyond_divisions = shown
        for name in (parsed.town, parsed.district, parsed.city, parsed.province):
            beyond_divisions = beyond_divisions.replace(name or "\0", "")
        leaked = [text for text in address.hidden if text in beyond_divisions]
        if leaked:
            counts["leaks"] += 1
            failures.append((address.pattern, "label shows hidden text"))
        if address.division_name and address.division_name in shown:
            counts["district_kept"] += 1
        if address.road:
            counts["with_road"] += 1
            if address.road in shown:
                counts["road_kept"] += 1
            else:
                failures.append((address.pattern, "label lost the road"))
    determinable = sum(a.determinable for a in corpus)
    return CorpusScore(
        determinable=determinable,
        accepted=counts["accepted"],
        misrouted=counts["misrouted"],
        labels_showing_hidden_text=counts["leaks"],
        district_kept=counts["district_kept"],
        with_road=counts["with_road"],
        road_kept=counts["road_kept"],
        undeterminable=len(corpus) - determinable,
        rejected_with_reason=counts["rejected_with_reason"],
        failures=tuple(failures),
    )
