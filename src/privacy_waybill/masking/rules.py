"""Masking rules: named operators, each checking its parameters once and then masking values.

Modelled on Presidio's anonymizer operators (validate, then operate). Every rule fails
closed: a value it cannot parse comes back as FULLY_HIDDEN, never as it came in. Each rule
also recognises its own output, so masking twice gives the same text.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from functools import lru_cache
from itertools import compress
from typing import ClassVar

from privacy_waybill.addresses.detail import is_road_name
from privacy_waybill.addresses.model import ADDRESS_LEVELS, ParsedAddress
from privacy_waybill.addresses.parser import parse_label_address
from privacy_waybill.masking.free_text import VocabularyError, display_text, load_vocabulary
from privacy_waybill.masking.scrub import scrub_free_text
from privacy_waybill.validation.names import (
    HAN_CHARACTER,
    NAME_DOT,
    PersonName,
    compound_surnames,
    parse_person_name,
)
from privacy_waybill.validation.phones import Phone, normalise_phone

FULLY_HIDDEN = "****"
MASK = "*"
PHONE_MASK = MASK * 7

Params = Mapping[str, object]
# What a rule may be given: raw text, or a value a validator has already parsed (which the
# rule then trusts instead of parsing it again; raw text is always parsed, failing closed).
Maskable = str | ParsedAddress | PersonName | Phone


class RuleParamsError(ValueError):
    """A rule was configured with parameters it does not accept; the message names the parameter."""


class MaskingRule(ABC):
    """One masking operator. Subclasses set `name` and may override `validate`.

    Instances hold no state and no values, so their repr is just the rule name.
    """

    name: ClassVar[str]
    accepted_params: ClassVar[frozenset[str]] = frozenset()

    def validate(self, params: Params) -> None:
        """Raise RuleParamsError when `params` cannot configure this rule."""
        unknown = sorted(set(params) - self.accepted_params)
        if unknown:
            raise RuleParamsError(f"rule {self.name!r} does not take parameter(s) {', '.join(unknown)}")

    @abstractmethod
    def operate(self, value: str, params: Params) -> str:
        """Mask one non-empty value; may raise on unparseable input (apply() hides it then)."""

    def apply(self, value: Maskable | None, params: Params) -> str:
        """Mask `value`, hiding it entirely when the rule cannot handle it."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return ""
        try:
            return self.operate(value, params)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - whatever went wrong, the value must not pass through
            return FULLY_HIDDEN

    def __repr__(self) -> str:
        return f"<masking rule {self.name}>"


_REGISTRY: dict[str, MaskingRule] = {}


def register_rule(rule: MaskingRule) -> MaskingRule:
    """Make `rule` available to policies under its name."""
    if rule.name in _REGISTRY:
        raise ValueError(f"masking rule {rule.name!r} is already registered")
    _REGISTRY[rule.name] = rule
    return rule


def get_rule(name: str) -> MaskingRule:
    """The registered rule called `name`; KeyError names the unknown rule."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown masking rule {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def rule_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


class KeepSurname(MaskingRule):
    """张三丰 -> 张**, 欧阳娜 -> 欧阳*, 买买提·艾力 -> 买*·**, John Smith -> J***."""

    name = "keep_surname"
    _masked_han = re.compile(f"(?P<surname>{HAN_CHARACTER}{{1,2}})\\*+")
    _masked_dotted = re.compile(f"{HAN_CHARACTER}\\*(?:{NAME_DOT}\\*\\*)+")
    _masked_latin = re.compile(r"[A-Za-z\u00c0-\u024f]\*\*\*")

    def _is_masked(self, value: str) -> bool:
        han = self._masked_han.fullmatch(value)
        if han:
            surname = han["surname"]
            return len(surname) == 1 or surname in compound_surnames()
        return bool(self._masked_dotted.fullmatch(value) or self._masked_latin.fullmatch(value))

    def operate(self, value: str | PersonName, params: Params) -> str:  # type: ignore[override]
        if isinstance(value, PersonName):
            person = value
        elif self._is_masked(value):
            return value
        else:
            person = parse_person_name(value)
        if person.kind == "han":
            return person.surname + MASK * len(person.given)
        if person.kind == "han_dotted":
            # Transliterated parts keep no length: one star after the initial, two per later part.
            later_parts = person.given.count(NAME_DOT)
            return person.surname + MASK + (NAME_DOT + MASK * 2) * later_parts
        return person.written[0] + MASK * 3


class PhoneLast4(MaskingRule):
    """Any valid number -> seven stars and the last four subscriber digits (*******5678)."""

    name = "phone_last4"
    _masked = re.compile(r"\*{7}\d{4}")

    def operate(self, value: str | Phone, params: Params) -> str:  # type: ignore[override]
        if isinstance(value, Phone):
            return PHONE_MASK + value.last4
        if self._masked.fullmatch(value):
            return value
        return PHONE_MASK + normalise_phone(value, business=True).last4


class AddressAllowList(MaskingRule):
    """Keeps the listed address levels, in written order, and ends with **** if anything was hidden.

    The parser fills the division levels only with recognised divisions and `road` only
    with a road name on its own (what was written between the last division and the road
    is `before_road`); a road that does not pass that check again here is hidden too, so a
    ParsedAddress built elsewhere cannot put a village or a name on a label as its road.

    Params: ``levels``, a list of ADDRESS_LEVELS names.
    """

    name = "address_allow_list"
    accepted_params = frozenset({"levels"})

    def validate(self, params: Params) -> None:
        super().validate(params)
        levels = params.get("levels")
        if not isinstance(levels, list | tuple) or not levels:
            raise RuleParamsError("rule 'address_allow_list' needs 'levels', a non-empty list of address levels")
        unknown = [str(level) for level in levels if level not in ADDRESS_LEVELS]
        if unknown:
            raise RuleParamsError(
                f"rule 'address_allow_list': unknown level(s) {', '.join(unknown)}; known: {', '.join(ADDRESS_LEVELS)}"
            )

    def operate(self, value: str | ParsedAddress, params: Params) -> str:  # type: ignore[override]
        levels: tuple[str, ...] = tuple(params["levels"])  # type: ignore[arg-type]
        already_hidden = False
        if isinstance(value, str):
            # Our own output ends in ****: parse what was kept and remember that more existed.
            text = value.strip()
            already_hidden = text.endswith(FULLY_HIDDEN)
            if already_hidden:
                text = text.rstrip(MASK)
            if not text:
                return FULLY_HIDDEN
            # Read as label text: a city is enough there (zone and split-district labels
            # stop at the city), so masking a label again gives it back.
            address = parse_label_address(text)
        else:
            address = value
        road = address.road
        # A road is kept only when it passes the road-name check again (the class docstring).
        hide_road = bool(road) and "road" in levels and not is_road_name(road)  # type: ignore[arg-type]
        kept_levels, hidden_levels = _level_selectors(levels, hide_road)
        # The same as text_of(kept levels) and comparing present_levels() with them, without
        # a Python-level loop over the levels: the rule runs for both parties of every waybill.
        texts = address.level_texts()
        kept = "".join(filter(None, compress(texts, kept_levels)))
        if not kept:
            return FULLY_HIDDEN
        if already_hidden or any(compress(texts, hidden_levels)):
            return kept + FULLY_HIDDEN
        return kept


@lru_cache(maxsize=64)
def _level_selectors(levels: tuple[str, ...], hide_road: bool) -> tuple[tuple[bool, ...], tuple[bool, ...]]:
    """Per ADDRESS_LEVELS entry: whether the address rule keeps it, and whether it hides it.

    Keyed by the policy's level lists, which are few; never by anything of an address.
    """
    kept = tuple(level in levels and not (hide_road and level == "road") for level in ADDRESS_LEVELS)
    return kept, tuple(not keep for keep in kept)


class Redact(MaskingRule):
    """Everything -> a fixed run of stars (``replacement``, default ****)."""

    name = "redact"
    accepted_params = frozenset({"replacement"})

    def validate(self, params: Params) -> None:
        super().validate(params)
        replacement = params.get("replacement", FULLY_HIDDEN)
        if not isinstance(replacement, str) or not re.fullmatch(r"\*{1,8}", replacement):
            raise RuleParamsError("rule 'redact': 'replacement' must be 1 to 8 '*' characters")

    def operate(self, value: str, params: Params) -> str:
        return str(params.get("replacement", FULLY_HIDDEN))


class ScrubFreeText(MaskingRule):
    """Free text with phone numbers, ID numbers, emails and addresses replaced by placeholders."""

    name = "scrub_free_text"

    def operate(self, value: str, params: Params) -> str:
        return scrub_free_text(value)


class FreeTextAllowList(MaskingRule):
    """Only the canonical phrases of a vocabulary; every other clause -> [已隐藏].

    Params: ``vocabulary``, the name of a shipped vocabulary (data/free_text/vocabularies.yaml).
    """

    name = "free_text_allow_list"
    accepted_params = frozenset({"vocabulary"})

    def validate(self, params: Params) -> None:
        super().validate(params)
        try:
            load_vocabulary(str(params.get("vocabulary")))
        except VocabularyError as exc:
            raise RuleParamsError(f"rule 'free_text_allow_list': {exc}") from None

    def operate(self, value: str, params: Params) -> str:
        return display_text(value, str(params["vocabulary"]))


for _rule in (KeepSurname(), PhoneLast4(), AddressAllowList(), Redact(), ScrubFreeText(), FreeTextAllowList()):
    register_rule(_rule)
