"""Free text shown through an allow-list: only recognised phrases survive, the rest is hidden.

Names and unnumbered places in free text ("交给她丈夫司马光明") cannot all be detected, so
nothing is detected: a clause of a remark (or of a break-glass reason, a leak report) is
shown only when it is made entirely of phrases from a vocabulary shipped as data
(data/free_text/vocabularies.yaml) and filler words. It is then shown as the canonical
phrases of that vocabulary, never in the writer's own words; any other clause becomes
`[已隐藏]`. The display text is therefore always a sequence of canonical phrases and the
hidden marker, whatever was typed. The whole text stays sealed in the vault.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType

import yaml

from privacy_waybill import yaml_data
from privacy_waybill.errors import PrivacyWaybillError

VOCABULARY_VERSION = 1
DELIVERY_INSTRUCTIONS = "delivery_instructions"
ACCESS_REASONS = "access_reasons"
DISPLAY_SEPARATOR = "，"
# The display column holds 600 characters; a vocabulary whose every phrase at once would not
# fit is refused when loaded, so no display text is ever cut.
MAX_DISPLAY_LENGTH = 600

# Clause boundaries: punctuation of either width (after NFKC only the ASCII forms remain for
# most), brackets, and whitespace that is not between two Latin words.
_CLAUSE_BREAK = re.compile(r"[\s,.!?;:()\[\]{}<>\"'`~、。，！？；：（）【】「」『』《》“”‘’…—/\\|]+")
_SPACE_IN_LATIN = re.compile(r"(?<=[a-z])\s+(?=[a-z])")


class VocabularyError(PrivacyWaybillError):
    """The vocabulary file is unusable; the message names the entry."""


def normalised(text: str) -> str:
    """The form phrases are matched in: NFKC (full-width to half-width), lower case."""
    return unicodedata.normalize("NFKC", text).lower()


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Recognised variants -> canonical phrase, plus fillers that are allowed but never shown."""

    name: str
    hidden: str
    phrases: Mapping[str, str] = field(repr=False)
    fillers: frozenset[str] = field(repr=False)
    longest: int = field(repr=False)

    @property
    def canonical(self) -> frozenset[str]:
        return frozenset(self.phrases.values())

    def clause(self, text: str) -> tuple[str, ...] | None:
        """The canonical phrases the clause `text` is made of, in order, or None when anything else is in it."""
        # best[i]: the fewest-token reading of text[:i], as its canonical phrases (None: none yet).
        best: list[tuple[int, tuple[str, ...]] | None] = [None] * (len(text) + 1)
        best[0] = (0, ())
        for start in range(len(text)):
            reading = best[start]
            if reading is None:
                continue
            tokens, shown = reading
            for end in range(start + 1, min(len(text), start + self.longest) + 1):
                word = text[start:end]
                if word in self.phrases:
                    candidate = (tokens + 1, (*shown, self.phrases[word]))
                elif word in self.fillers:
                    candidate = (tokens + 1, shown)
                else:
                    continue
                current = best[end]
                if current is None or candidate[0] < current[0]:
                    best[end] = candidate
        final = best[len(text)]
        return None if final is None else final[1]


def display_text(text: str | None, vocabulary: Vocabulary | str = DELIVERY_INSTRUCTIONS) -> str:
    """`text` as it may be stored for display, shown or printed: canonical phrases and `[已隐藏]`.

    Each phrase appears at most once, in the order first written; the hidden marker at most
    once too, where the first unrecognised clause was. Empty text gives "".
    """
    if not text:
        return ""
    vocab = load_vocabulary(vocabulary) if isinstance(vocabulary, str) else vocabulary
    shown: list[str] = []
    prepared = _SPACE_IN_LATIN.sub("", normalised(text))
    for piece in re.split(f"({re.escape(normalised(vocab.hidden))})", prepared):
        if piece == normalised(vocab.hidden):
            _add(shown, vocab.hidden)
            continue
        for clause in _CLAUSE_BREAK.split(piece):
            if not clause:
                continue
            phrases = vocab.clause(clause)
            for phrase in phrases if phrases is not None else (vocab.hidden,):
                _add(shown, phrase)
    return DISPLAY_SEPARATOR.join(shown)


def _add(shown: list[str], phrase: str) -> None:
    if phrase not in shown:
        shown.append(phrase)


def parse_vocabularies(document: object, source: str = "vocabularies") -> Mapping[str, Vocabulary]:
    """Check a loaded vocabulary document completely; every error names the entry."""
    if not isinstance(document, Mapping):
        raise VocabularyError(f"{source}: expected a mapping at the top level")
    if document.get("version") != VOCABULARY_VERSION:
        raise VocabularyError(f"{source}: 'version' must be {VOCABULARY_VERSION}")
    hidden = document.get("hidden")
    if not isinstance(hidden, str) or not hidden.strip():
        raise VocabularyError(f"{source}: 'hidden' must be a non-empty string")
    fillers = _words(document.get("fillers"), f"{source}: fillers")
    raw = document.get("vocabularies")
    if not isinstance(raw, Mapping) or not raw:
        raise VocabularyError(f"{source}: 'vocabularies' must be a non-empty mapping")
    vocabularies: dict[str, Vocabulary] = {}
    for name, entries in raw.items():
        where = f"{source}: vocabulary {name!r}"
        if not isinstance(entries, Mapping) or not entries:
            raise VocabularyError(f"{where}: expected a mapping of canonical phrases to variants")
        phrases: dict[str, str] = {}
        for canonical, variants in entries.items():
            entry = f"{where}, phrase {canonical!r}"
            if not isinstance(canonical, str) or _CLAUSE_BREAK.search(canonical) or hidden in canonical:
                raise VocabularyError(f"{entry}: a canonical phrase is one clause without punctuation")
            for variant in {normalised(canonical), *_words(variants, entry)}:
                if variant in fillers:
                    raise VocabularyError(f"{entry}: variant {variant!r} is also a filler")
                if phrases.get(variant, canonical) != canonical:
                    raise VocabularyError(f"{entry}: variant {variant!r} also belongs to {phrases[variant]!r}")
                phrases[variant] = canonical
        canonical_phrases = set(phrases.values())
        longest_display = sum(len(p) + len(DISPLAY_SEPARATOR) for p in canonical_phrases) + len(hidden)
        if longest_display > MAX_DISPLAY_LENGTH:
            raise VocabularyError(f"{where}: all phrases together would exceed {MAX_DISPLAY_LENGTH} characters")
        vocabularies[str(name)] = Vocabulary(
            name=str(name),
            hidden=hidden,
            phrases=MappingProxyType(phrases),
            fillers=fillers,
            longest=max(len(word) for word in (*phrases, *fillers)),
        )
    return MappingProxyType(vocabularies)


def _words(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise VocabularyError(f"{where}: expected a non-empty list of words")
    words: set[str] = set()
    for word in value:
        if not isinstance(word, str | int) or not str(word).strip():
            raise VocabularyError(f"{where}: every word must be non-empty text")
        text = normalised(str(word)).replace(" ", "")
        if _CLAUSE_BREAK.search(text):
            raise VocabularyError(f"{where}: {str(word)!r} contains a clause break")
        words.add(text)
    return frozenset(words)


@cache
def _shipped() -> Mapping[str, Vocabulary]:
    text = (files("privacy_waybill.data") / "free_text" / "vocabularies.yaml").read_text("utf-8")
    return parse_vocabularies(yaml_data.safe_load(text), "data/free_text/vocabularies.yaml")


def load_vocabularies(path: str | Path | None = None) -> Mapping[str, Vocabulary]:
    """Every vocabulary of a file; without `path`, the ones shipped with the package."""
    if path is None:
        return _shipped()
    try:
        document = yaml_data.safe_load(Path(path).read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise VocabularyError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    return parse_vocabularies(document, str(path))


def load_vocabulary(name: str) -> Vocabulary:
    """One shipped vocabulary by name; VocabularyError names an unknown one."""
    vocabularies = _shipped()
    if name not in vocabularies:
        raise VocabularyError(f"unknown vocabulary {name!r}; known: {', '.join(sorted(vocabularies))}")
    return vocabularies[name]
