"""The detail of an address, after its divisions: the road, and everything else.

A label may show the road, so the road has to be a road name on its own: text written
between the last division and the road (a village, a compound, a school, a person's or a
company's name) is split off as `before_road`, and a road candidate that cannot be told
apart from such text is not a road at all. The split fails closed: when in doubt, the text
goes to a level that no label shows. Joining the levels in `DETAIL_LEVELS` order gives back
the detail exactly.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import chain

DETAIL_LEVELS = ("before_road", "road", "road_number", "poi", "building", "unit", "floor", "room", "remainder")

_ROAD_SUFFIXES = ("大道", "大街", "胡同", "路", "街", "巷", "弄", "道")
# Longest road stem (the name before the suffix, directions included) taken as a road:
# 东三环中路 and 建国门外大街 have 4, 科技园南一路 has 5.
MAX_ROAD_STEM = 6
# Characters no road stem holds (numbers, building words, punctuation): the road, if there
# is one, came before them.
_NOT_IN_STEM_CHARACTERS = r"\dA-Za-z号幢栋,.;:()#*&+=\[\]{}<>!?@$%^~`'\"\\|/_-"
_NOT_IN_STEM = re.compile(f"[{_NOT_IN_STEM_CHARACTERS}]")
_SUFFIX_CHOICES = "|".join(_ROAD_SUFFIXES)
# How far into the detail a road suffix may start; what lies before it is at most this long too.
_MAX_ROAD_TEXT = 40
# At the start of a detail, in one match: a numbered road (1号路, 12号大街), or else the
# first road suffix written after a stem of road-name characters, the first of
# _ROAD_SUFFIXES there (the alternation tries them in that order). Each regex call costs
# about as much as the work around it, and most details are settled by this one.
_FIRST_ROAD = re.compile(
    rf"(?P<numbered>\d{{1,2}}号(?:大街|大道|路|街))"
    rf"|[^{_NOT_IN_STEM_CHARACTERS}]{{1,{_MAX_ROAD_TEXT - 1}}}?(?P<suffix>{_SUFFIX_CHOICES})"
)
# A later suffix, when the first one found ends no road (街道, 路口).
_SUFFIX = re.compile(_SUFFIX_CHOICES)
_ROAD_NUMBER = r"\d+(?:-\d+)?号(?![楼院])|\d+弄(?:\d+号(?![楼院]))?"

_NUM = r"(?:\d+|[零〇一二三四五六七八九十百两]+)"
_NOT_BODY = r"\d号幢栋座单元室层楼,"
_AFTER_ROAD_LEVELS = rf"""
    (?P<poi>[^{_NOT_BODY}]{{1,30}}
        (?:小区|花园|大厦|广场|公寓|苑|园|村|中心|大楼|家园|新村|小镇|城|府|庭|湾|院|公馆|社区|里|坊|邸|居|阁|区|期))?
    (?P<building>(?:[A-Za-z]\d*|\d+[A-Za-z]?|[一二三四五六七八九十]+)(?:号楼|幢|栋|座))?
    (?P<unit>{_NUM}单元)?
    (?P<floor>-?{_NUM}(?:层|楼))?
    (?P<room>[A-Za-z]?\d+[A-Za-z]?(?:室|号|户)|\d{{3,5}}(?!\w))?
    (?P<remainder>.*)
    """
# What follows a road: its number, if written first, then the levels. The levels alone
# when there is no road. Both always match (the remainder takes any text), so the optional
# number is what the number's pattern alone would match there.
_AFTER_ROAD = re.compile(rf"(?P<number>{_ROAD_NUMBER})?{_AFTER_ROAD_LEVELS}", re.VERBOSE | re.DOTALL)
_WITHOUT_ROAD = re.compile(_AFTER_ROAD_LEVELS, re.VERBOSE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Words:
    # Each finds, at every position, the longest word of its kind starting there.
    village: re.Pattern[str]
    place: re.Pattern[str]
    not_end: re.Pattern[str]
    # Whether a stem holds any village or place word at all (most road names hold none).
    any_word: re.Pattern[str]


@cache
def _words() -> _Words:
    path = resources.files("privacy_waybill") / "data" / "addresses" / "detail_words.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    by_kind: dict[str, list[str]] = {"village": [], "place": [], "not_end": []}
    for row in rows:
        by_kind[row["kind"]].append(row["word"])
    return _Words(
        village=_anywhere(by_kind["village"]),
        place=_anywhere(by_kind["place"]),
        not_end=re.compile("|".join(map(re.escape, by_kind["not_end"]))),
        any_word=re.compile("|".join(map(re.escape, by_kind["village"] + by_kind["place"]))),
    )


def _anywhere(words: list[str]) -> re.Pattern[str]:
    # A lookahead matches at every position, overlapping; longest first, so 火车站 wins over 站.
    return re.compile("(?=(%s))" % "|".join(map(re.escape, sorted(words, key=len, reverse=True))))


def _last_end_of(words: re.Pattern[str], stem: str, room: int = 0) -> int:
    """Where the last word of `words` in `stem` ends that leaves at least `room`
    characters after it, or -1."""
    limit = len(stem) - room
    return max((m.start() + len(m.group(1)) for m in words.finditer(stem[:limit])), default=-1)


def _road_stem_start(stem: str) -> int | None:
    """Where the road's own name starts inside `stem`, or None when it is no road.

    Text up to the last village word or place word is something else written before the
    road, as long as at least two characters of name remain after it; a village word with
    less after it means the road is named after the village, and is hidden whole.
    """
    words = _words()
    if not words.any_word.search(stem):
        return 0 if 2 <= len(stem) <= MAX_ROAD_STEM else None
    village_end = _last_end_of(words.village, stem)
    if village_end >= 0:
        if len(stem) - village_end >= 2:
            start = village_end
        elif _named_after_a_village(stem, village_end):
            return 0 if len(stem) <= MAX_ROAD_STEM else None
        else:
            return None
    else:
        start = 0
    place_end = _last_end_of(words.place, stem[start:], room=2)
    if place_end >= 0:
        start += place_end
    if not 2 <= len(stem) - start <= MAX_ROAD_STEM:
        return None
    return start


def _named_after_a_village(stem: str, village_end: int) -> bool:
    """中关村大街, 李家村东路: one road named after a village (and nothing else before it),
    not a village and then a road."""
    words = _words()
    rest = stem[village_end:]
    return (
        stem[:village_end].endswith("村")
        and village_end >= 3
        and rest in ("", "东", "西", "南", "北", "中")
        and _last_end_of(words.village, stem[: village_end - 1]) < 0
    )


def _suffix_at(text: str, pos: int, suffix: str) -> str | None:
    """`suffix`, the road suffix written at `pos`, when it ends a road there."""
    if suffix == "道" and text[pos - 1 : pos] == "街":
        return None  # 街道 is a street office, not a road
    end = pos + len(suffix)
    if _words().not_end.match(text, end):
        return None
    if suffix == "街" and text.startswith("道", end):
        return None
    return suffix


def _find_road(detail: str) -> tuple[int, int] | None:
    """(start, end) of the road in `detail`: the first road suffix whose stem is a road name."""
    first = _FIRST_ROAD.match(detail)
    if first is None:
        return None
    if first.lastgroup == "numbered":
        return 0, first.end()
    pos = first.start("suffix")
    for pos, written in chain([(pos, first.group("suffix"))], _later_suffixes(detail, pos)):
        suffix = _suffix_at(detail, pos, written)
        if suffix is not None:
            start = _road_stem_start(detail[:pos])
            if start is None:
                return None
            return start, pos + len(suffix)
    return None


def _later_suffixes(detail: str, after: int) -> Iterator[tuple[int, str]]:
    """Where road suffixes are written after position `after`, and which, while still within
    a road's reach (before any character no road stem holds)."""
    stop = _NOT_IN_STEM.search(detail, 0, _MAX_ROAD_TEXT)
    limit = stop.start() if stop else min(len(detail), _MAX_ROAD_TEXT)
    for pos in range(after + 1, limit):
        written = _SUFFIX.match(detail, pos)
        if written:
            yield pos, written.group()


def split_detail(detail: str) -> dict[str, str | None]:
    """Before-road text, road, number, compound, building, unit, floor, room and remainder.

    Joining the returned values in `DETAIL_LEVELS` order gives back `detail` exactly.
    """
    return dict(zip(DETAIL_LEVELS, detail_values(detail)))


def detail_values(detail: str) -> tuple[str | None, ...]:
    """What split_detail gives, as a tuple in `DETAIL_LEVELS` order (the parser's fast path)."""
    road = _find_road(detail)
    if road is None:
        before = road_text = number_text = None
        poi, building, unit, floor, room, remainder = _levels(_WITHOUT_ROAD.fullmatch(detail))
    else:
        start, end = road
        before = detail[:start] or None
        road_text = detail[start:end]
        number_text, poi, building, unit, floor, room, remainder = _levels(_AFTER_ROAD.fullmatch(detail, end))
    return before, road_text, number_text, poi, building, unit, floor, room, remainder or None


def _levels(match: re.Match[str] | None) -> tuple[str | None, ...]:
    if match is None:  # cannot happen: the trailing remainder group matches any text
        raise ValueError("address detail could not be split")
    return match.groups()


@lru_cache(maxsize=4096)
def is_road_name(text: str) -> bool:
    """Whether `text` alone is what split_detail takes for a road (the masking rule's check).

    Cached by road name, which labels print (nothing personal): the masking rule checks both
    parties' roads on every waybill, and a few road names (人民路, 中山路) recur everywhere.
    """
    return _find_road(text) == (0, len(text))
