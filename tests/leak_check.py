"""What personal data an order holds, and a fast search for any of it in a pile of bytes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import ahocorasick

from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.validation.names import parse_person_name
from privacy_waybill.validation.phones import normalise_phone

# Random identifiers hold long digit runs by construction: a waybill number's 15 digits or a
# keyed hash in hex contain a given 11-digit phone about once in a hundred 10,000-order runs.
# Such a coincidence says nothing about a leak, so these tokens are blanked before the search.
RANDOM_TOKENS = re.compile(r"[A-Z]{2}[0-9]{15}|[0-9a-fA-F]{16,}")
# Ciphertext, wrapped keys and nonces are random bytes: a given 4-byte sequence turns up in
# them about once per 4 GiB, and a 10,000-order database holds about 10 MB of them against
# 36 values of 4 UTF-8 bytes (1幢 .. 9组), so some run finds one (it did, inside a wrapped data
# key). In a file that is not text, values that short are left to the longer values that
# contain them (the compound and building, the whole detail), which are searched everywhere.
MIN_BYTES_IN_BINARY = 5

BELOW_ROAD = ("before_road", "road_number", "poi", "building", "unit", "floor", "room", "remainder")


def personal_values(order: dict) -> set[str]:  # type: ignore[type-arg]
    """Every value from `order` that must never appear in plaintext outside the vault.

    Phones in full (as written and as national digits), full names and given names of two or
    more characters (one character alone would match unrelated text), and every address
    level below the road. Short bare numbers (a room "1002") are left out alone, as they occur
    in timestamps and counts; they are still searched for as part of the whole detail text.
    """
    values: set[str] = set()
    for party in ("recipient", "sender"):
        person = order[party]
        phone = normalise_phone(person["phone"])
        values |= {person["phone"], phone.number.removeprefix("+86")}
        name = parse_person_name(person["name"])
        values.add(name.written)
        if len(name.given) >= 2:
            values.add(name.given)
        parsed = parse_address(person["address"])
        values |= {getattr(parsed, level) for level in BELOW_ROAD if getattr(parsed, level)}
        detail = parsed.text_of(BELOW_ROAD)
        if detail:
            values.add(detail)
    return {v for v in values if len(v) >= 2 and not (v.isdigit() and len(v) < 7)}


def masked_texts(result_lines: Iterable[dict]) -> list[str]:  # type: ignore[type-arg]
    """The masked views `pwb issue` printed: public by design (they are on the label)."""
    return [value for line in result_lines for party in line.get("masked", {}).values() for value in party.values()]


def not_public(values: Iterable[str], public_texts: Iterable[str]) -> set[str]:
    """Drop values that legitimately occur in public text: a given name 金凤 is also 金凤区."""
    public = "\n".join(public_texts)
    return {v for v in values if v not in public}


class LeakFinder:
    def __init__(self, values: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for value in set(values):
            self._automaton.add_word(value, value)
        self._automaton.make_automaton()

    def found_in(self, text: str) -> set[str]:
        searchable = RANDOM_TOKENS.sub(lambda token: " " * len(token.group()), text)
        return {value for _end, value in self._automaton.iter(searchable)}

    def found_in_files(self, paths: Iterable[Path]) -> dict[str, set[str]]:
        leaks = {}
        for path in paths:
            data = path.read_bytes()
            try:
                hits = self.found_in(data.decode("utf-8"))
            except UnicodeDecodeError:  # a database file: random bytes among the text
                found = self.found_in(data.decode("utf-8", errors="replace"))
                hits = {value for value in found if len(value.encode()) >= MIN_BYTES_IN_BINARY}
            if hits:
                leaks[str(path)] = hits
        return leaks
