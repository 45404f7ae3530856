"""Scrubbing free text (remarks, item names) and reducing items to a printable category.

Scrubbing errs towards hiding: contact details, ID numbers and anything from a division
or road name onward that reads like a street address become placeholders. The category
replaces item names on labels, since what a parcel holds sets its black-market price.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from functools import cache
from importlib.resources import files

from privacy_waybill import yaml_data
from privacy_waybill.addresses.divisions import load_divisions
from privacy_waybill.issuance.numbers import is_valid_waybill_no

PHONE_PLACEHOLDER = "[电话]"
ID_PLACEHOLDER = "[证件号]"
EMAIL_PLACEHOLDER = "[邮箱]"
ADDRESS_PLACEHOLDER = "[地址]"
DEFAULT_CATEGORY = "日用品"

_EXTENSION = r"(?:\s*(?:转|分机|ext\.?|#|-)\s*\d{1,8})?"
_COUNTRY = r"(?:(?:\+|00)?86[\s-]?)?"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_RESIDENT_ID = re.compile(r"(?<![\dA-Za-z])(?:\d{6}\s?\d{8}\s?\d{3}[\dXx]|\d{15})(?![\dA-Za-z])")
_PHONE = re.compile(
    # mobile, whole or split by spaces, dots or dashes anywhere (138.1234.5678, 1 3 8 1 2 ...)
    rf"(?<![\d+])(?:{_COUNTRY}1[\s.-]?[3-9](?:[\s.-]?\d){{9}}"
    rf"|{_COUNTRY}(?:\(0\d{{2,3}}\)|0\d{{2,3}})[\s-]?\d{{3,4}}[\s-]?\d{{4}}"  # landline with area code
    rf"|95\d{{3,4}}(?=\s*(?:转|分机|ext|#|-)\s*\d))"  # platform virtual number
    rf"{_EXTENSION}(?!\d)",
    re.IGNORECASE,
)
# Digit runs this long in a remark are contact numbers more often than not; hide them too.
_LONG_DIGIT_RUN = re.compile(r"(?<!\d)\d{7,}(?!\d)")

# A road followed by a house number, or a building/unit/room number, marks a street address.
_ROAD_NUMBER = re.compile(r"(?:路|街|大道|道|巷|弄|胡同)(?:[东西南北中]段)?\s*\d+\s*(?:号|弄|巷)?")
_BUILDING_NUMBER = re.compile(r"\d+\s*(?:号楼|幢|栋|单元|室)")
_STREET_MARKERS = re.compile(r"[\d路街巷弄号村组幢栋室]|单元|小区|花园|公寓|大厦|大道|胡同")
# Where an address ends: punctuation, whitespace, or a placeholder already inserted.
_BOUNDARY = set(" \t\r\n，。！？；、,.!?;:：[]()（）\"“”'‘’<>《》")
# Words that lead into an address ("送到", "地址改为") rather than belong to it.
_LEAD_IN = set("到在至是往住给放送寄址为请改")
_MAX_LEAD_BACK = 12
_DIVISION_NAME_LENGTHS = range(12, 1, -1)


@cache
def division_names() -> frozenset[str]:
    """Full names of provinces, cities, districts and towns, current and retired (余杭区, 五常街道)."""
    data = load_divisions()
    divisions = (*data.provinces.values(), *data.cities.values(), *data.districts.values())
    names = {d.name for d in divisions} | {t.name for t in data.towns} | {r.name for r in data.retired}
    return frozenset(name for name in names if len(name) >= 2)


def _division_at(text: str, start: int) -> int:
    """End of the longest division name starting at `start`, or `start` when there is none."""
    names = division_names()
    for length in _DIVISION_NAME_LENGTHS:
        if text[start : start + length] in names:
            return start + length
    return start


def _forward_to_boundary(text: str, index: int) -> int:
    while index < len(text) and text[index] not in _BOUNDARY:
        index += 1
    return index


def _back_over_name(text: str, index: int) -> int:
    """Start of the place name that ends at `index`, stopping before lead-in words."""
    limit = max(0, index - _MAX_LEAD_BACK)
    while index > limit and text[index - 1] not in _BOUNDARY and text[index - 1] not in _LEAD_IN:
        index -= 1
    return index


def _address_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for anchor in (*_ROAD_NUMBER.finditer(text), *_BUILDING_NUMBER.finditer(text)):
        spans.append((_back_over_name(text, anchor.start()), _forward_to_boundary(text, anchor.end())))
    index = 0
    while index < len(text):
        after_divisions = index
        while (end := _division_at(text, after_divisions)) > after_divisions:
            after_divisions = end
        if after_divisions == index:
            index += 1
            continue
        end = _forward_to_boundary(text, after_divisions)
        # A bare "杭州市余杭区" is what a label shows anyway; only a street part makes it personal.
        if _STREET_MARKERS.search(text, after_divisions, end):
            spans.append((index, end))
        index = max(end, index + 1)
    return spans


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _scrub_addresses(text: str) -> str:
    pieces: list[str] = []
    position = 0
    for start, end in _merge(_address_spans(text)):
        pieces.append(text[position:start])
        pieces.append(ADDRESS_PLACEHOLDER)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def scrub_free_text(text: str) -> str:
    """Replace emails, ID numbers, phone numbers and street addresses with placeholders."""
    text = _EMAIL.sub(EMAIL_PLACEHOLDER, text)
    text = _RESIDENT_ID.sub(ID_PLACEHOLDER, text)
    text = _PHONE.sub(PHONE_PLACEHOLDER, text)
    text = _LONG_DIGIT_RUN.sub(PHONE_PLACEHOLDER, text)
    return _scrub_addresses(text)


# Ids our own code writes into logs: waybill numbers (two letters, 15 digits with a valid check
# digit) and 32-hex record ids. Neither is personal, and without them a log is useless.
_LOGGED_ID = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z]{2}\d{15}|[0-9a-f]{32})(?![A-Za-z0-9])")
_HAN = re.compile(r"[\u3400-\u9fff]")
# Private-use characters stand in for protected ids while the rest is scrubbed: no pattern
# above matches them, and they never occur in our log messages.
_ID_MARK = 0xE000
_PERCENT_ROUNDS = 3
_PLUS_BETWEEN_DIGITS = re.compile(r"(?<=\d)\+(?=\d)")


def _keep_logged_ids(text: str) -> tuple[str, list[str]]:
    kept: list[str] = []

    def mark(match: re.Match[str]) -> str:
        value = match.group()
        if value[0].isupper() and not is_valid_waybill_no(value):
            return value
        kept.append(value)
        return chr(_ID_MARK + len(kept) - 1)

    return _LOGGED_ID.sub(mark, text), kept


def scrub_log_message(message: str) -> str:
    """A log message with phones, ID numbers, emails and addresses hidden, ids and waybill numbers kept.

    URL-encoded text (request paths and query strings in access logs) is decoded first, so
    ``%2B8613912345678`` and ``139+1234+5678`` are hidden like ``+8613912345678``. Addresses
    are looked for only in messages with Han characters: the division names they start with
    are all Han.
    """
    for _ in range(_PERCENT_ROUNDS):
        if "%" not in message:
            break
        message = urllib.parse.unquote(message)
    # A query string encodes spaces as "+": 139+1234+5678 is a spaced phone number.
    message = _PLUS_BETWEEN_DIGITS.sub(" ", message)
    text = _EMAIL.sub(EMAIL_PLACEHOLDER, message)
    text = _RESIDENT_ID.sub(ID_PLACEHOLDER, text)
    text, kept = _keep_logged_ids(text)
    text = _PHONE.sub(PHONE_PLACEHOLDER, text)
    text = _LONG_DIGIT_RUN.sub(PHONE_PLACEHOLDER, text)
    if _HAN.search(text):
        text = _scrub_addresses(text)
    for index, value in enumerate(kept):
        text = text.replace(chr(_ID_MARK + index), value)
    return text


@cache
def category_keywords() -> dict[str, tuple[str, ...]]:
    """Category -> keywords, in the table's order (earlier wins a tie)."""
    table = (files("privacy_waybill.data") / "contents" / "categories.yaml").read_text("utf-8")
    return {category: tuple(keywords) for category, keywords in yaml_data.safe_load(table)["categories"].items()}


@cache
def _category_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    # One alternation per category: a regex search is ~10x cheaper than testing each keyword.
    return tuple(
        (category, re.compile("|".join(re.escape(k.lower()) for k in keywords)))
        for category, keywords in category_keywords().items()
    )


@cache
def _category_order() -> dict[str, int]:
    return {category: index for index, category in enumerate(category_keywords())}


def item_category(item: str) -> str | None:
    """The category an item name points to (the first in the table's order), or None."""
    lowered = item.lower()
    for category, pattern in _category_patterns():
        if pattern.search(lowered):
            return category
    return None


def category_by_votes(categories: Iterable[str | None]) -> str:
    """The category most items point to (None: an item recognised as none), earlier in the
    table's order on a tie, or 日用品 when none is recognised."""
    votes: dict[str, int] = {}
    for category in categories:
        if category is not None:
            votes[category] = votes.get(category, 0) + 1
    if len(votes) <= 1:
        # Most orders: one item, or all items of one category.
        return next(iter(votes), DEFAULT_CATEGORY)
    order = _category_order()
    return max(votes, key=lambda category: (votes[category], -order[category]))


def contents_category(item_names: Iterable[str]) -> str:
    """The category most item names point to, or 日用品 when none is recognised."""
    return category_by_votes(item_category(item) for item in item_names)
