"""Person names as written on Chinese waybills: Han names, dotted minority names, Latin names.

A parsed name knows which part is the surname, because the surname is all a label may show.
Compound surnames (欧阳, 司马, ...) come from the shipped surname lists.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from functools import cache
from importlib.resources import files
from typing import Literal, NamedTuple

from privacy_waybill.errors import FieldError

NameKind = Literal["han", "han_dotted", "latin"]

MAX_NAME_LENGTH = 40
NAME_DOT = "\u00b7"

# Dots people type between the parts of a transliterated name; all mean the interpunct.
_DOT_VARIANTS = str.maketrans({c: NAME_DOT for c in "\u2022\u2027\u30fb\u2219\u22c5\uff0e\u0387\u16eb"})

HAN_CHARACTER = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
_HAN_NAME = re.compile(f"{HAN_CHARACTER}+")
_HAN_DOTTED_NAME = re.compile(f"{HAN_CHARACTER}+(?:{NAME_DOT}{HAN_CHARACTER}+)+")
# Latin letters with accents: Latin-1 Supplement and Extended-A/B minus the two signs
# that sit among them (× U+00D7, ÷ U+00F7).
_LATIN_LETTER = r"A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_LATIN_NAME = re.compile(rf"[{_LATIN_LETTER}](?:[{_LATIN_LETTER}.'\- ]*[{_LATIN_LETTER}.])?")

# Rows of the frequency list that misspell a 百家姓 compound (令狐, 欧阳, 夏侯); no such
# surnames exist, and keeping them would split 冷狐 names wrongly.
_MISSPELT_SURNAME_ROWS = frozenset({"冷狐", "殴阳", "夏候"})


class PersonName(NamedTuple):
    """A validated name split into surname and the rest.

    For Latin names `surname` is the last word and `given` the words before it, as written.
    The repr shows only the kind: names are personal data. (A named tuple, made twice per
    waybill issued: a frozen dataclass took five times as long to make.)
    """

    surname: str
    given: str
    kind: NameKind

    def __repr__(self) -> str:
        return f"PersonName(kind={self.kind!r})"

    @property
    def written(self) -> str:
        """The name as it is written (Latin names given-name first)."""
        if self.kind == "latin":
            return f"{self.given} {self.surname}" if self.given else self.surname
        return self.surname + self.given


@cache
def compound_surnames() -> frozenset[str]:
    """Multi-character surnames: every 百家姓 compound plus the frequency list's, minus misspellings."""
    surnames = files("privacy_waybill.data") / "surnames"
    baijiaxing = json.loads((surnames / "chinese-poetry_baijiaxing.simplified.json").read_text("utf-8"))
    confirmed = {entry["surname"] for entry in baijiaxing["origin"] if len(entry["surname"]) > 1}
    with (surnames / "wainshine_Chinese_Family_Name_1k.csv").open(encoding="utf-8") as fh:
        frequent = {row["NameB"] for row in csv.DictReader(fh) if len(row["NameB"]) > 1}
    return frozenset(confirmed | (frequent - _MISSPELT_SURNAME_ROWS))


@cache
def _surname_lengths() -> list[int]:
    return sorted({len(s) for s in compound_surnames()}, reverse=True)


def split_han_surname(han: str) -> tuple[str, str]:
    """Split a run of Han characters at the longest known surname that still leaves a given name."""
    compounds = compound_surnames()
    for length in _surname_lengths():
        if len(han) > length and han[:length] in compounds:
            return han[:length], han[length:]
    return han[:1], han[1:]


def normalise_name_text(raw: str) -> str:
    """Width-fold, unify name dots and collapse whitespace; no validation."""
    text = unicodedata.normalize("NFKC", raw).translate(_DOT_VARIANTS)
    return " ".join(text.split())


def parse_person_name(raw: str) -> PersonName:
    """Validate a recipient or sender name and find its surname.

    Raises FieldError("name", reason) for empty, over-long or mixed-script names and
    for characters no name contains.
    """
    text = normalise_name_text(raw)
    if not text:
        raise FieldError("name", "is empty")
    if len(text) > MAX_NAME_LENGTH:
        raise FieldError("name", f"is longer than {MAX_NAME_LENGTH} characters")
    if " " in text and _HAN_NAME.search(text):
        # Chinese names carry no spaces; "张 三" and "买买提 · 艾力" are typing habits. (Most
        # names have no space at all, and then there is nothing to search for.)
        text = text.replace(" ", "")
    if _HAN_NAME.fullmatch(text):
        surname, given = split_han_surname(text)
        return PersonName(surname, given, "han")
    if _HAN_DOTTED_NAME.fullmatch(text):
        # Transliterated names have no compound surnames: the first part's first character
        # is what a label shows.
        return PersonName(text[0], text[1:], "han_dotted")
    if _LATIN_NAME.fullmatch(text):
        given, _, surname = text.rpartition(" ")
        return PersonName(surname, given, "latin")
    if NAME_DOT in text and _HAN_NAME.search(text):
        raise FieldError("name", "has an empty or non-Chinese part around the name dot")
    raise FieldError("name", "contains characters not allowed in a name or mixes Chinese and Latin letters")
