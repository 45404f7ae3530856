"""Tying leaked rows to waybills without decrypting anything.

In order of strength: the waybill number; a full phone through the tenant's blind index
(disambiguated by name and address when the phone has several parcels); a masked or partial
row (last four digits plus a surname and/or an address prefix) compared with the masked views
every label already shows, after masking the leaked values the same way; a virtual number,
straight to the account it was handed to. A row is counted only when exactly one waybill fits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from privacy_waybill.tracing.leak import LeakRecord
from privacy_waybill.validation.phones import normalise_phone

MASK_CHARS = "*＊xX×"
MIN_ADDRESS_PREFIX = 6


class Method(StrEnum):
    WAYBILL_NO = "waybill_no"
    PHONE_INDEX = "phone_index"
    MASKED = "masked"
    VIRTUAL_NUMBER = "virtual_number"


@dataclass(frozen=True, slots=True)
class MaskedView:
    """What a label shows of one waybill's recipient (public by design)."""

    waybill_id: str
    name: str
    phone: str
    address: str


@dataclass(frozen=True, slots=True)
class VirtualNumberViewer:
    actor: str
    waybill_id: str


class WaybillDirectory(Protocol):
    def ids_by_number(self, numbers: Iterable[str]) -> dict[str, str]: ...
    def ids_by_phone(self, canonical_phone: str) -> list[str]: ...
    def views_by_last4(self, last4s: set[str]) -> dict[str, list[MaskedView]]: ...
    def views_of(self, waybill_ids: Iterable[str]) -> dict[str, MaskedView]: ...


class VirtualNumbers(Protocol):
    """Who was given a virtual number X for which waybill (the courier module's bindings)."""

    def viewers(self, number: str) -> list[VirtualNumberViewer]: ...


class NoVirtualNumbers:
    """Used until a binding store is wired in: no virtual number names anyone."""

    def viewers(self, number: str) -> list[VirtualNumberViewer]:
        return []


@dataclass(frozen=True, slots=True)
class Masker:
    """The label masking of a leaked plaintext name or address (idempotent on masked input)."""

    name: Callable[[str], str]
    address: Callable[[str], str]


@dataclass
class Matches:
    waybill_ids: dict[int, str] = field(default_factory=dict)  # leak row -> waybill id
    methods: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Method, 0))
    ambiguous: int = 0
    unmatched: int = 0
    named_by_virtual_number: list[VirtualNumberViewer] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return len(self.waybill_ids)


def visible_prefix(value: str) -> str:
    """The part of a masked value before its first mask character."""
    for position, char in enumerate(value):
        if char in MASK_CHARS:
            return value[:position]
    return value


def _is_masked(value: str) -> bool:
    return any(c in MASK_CHARS for c in value)


def _last4(phone: str) -> str | None:
    digits = re.sub(r"\D", "", phone[-4:])
    return digits if len(digits) == 4 else None


def _full_phone(phone: str) -> str | None:
    if _is_masked(phone):
        return None
    try:
        return normalise_phone(phone).canonical
    except ValueError:
        return None


class _Fit:
    def __init__(self, record: LeakRecord, masker: Masker) -> None:
        self.name = self._prefix(record.name, masker.name)
        self.address = self._prefix(record.address, masker.address)

    @staticmethod
    def _prefix(value: str | None, mask: Callable[[str], str]) -> str | None:
        if not value:
            return None
        try:
            masked = value if _is_masked(value) else mask(value)
        except ValueError:
            return None
        return visible_prefix(masked) or None

    @property
    def informative(self) -> bool:
        return self.name is not None or self.address is not None

    def fits(self, view: MaskedView) -> bool:
        if self.name is not None and visible_prefix(view.name) != self.name:
            return False
        if self.address is not None:
            stored = visible_prefix(view.address)
            shorter = min(len(stored), len(self.address))
            if shorter < MIN_ADDRESS_PREFIX or stored[:shorter] != self.address[:shorter]:
                return False
        return True


def match_leak(
    records: list[LeakRecord],
    directory: WaybillDirectory,
    masker: Masker,
    virtual_numbers: VirtualNumbers | None = None,
) -> Matches:
    virtual_numbers = virtual_numbers or NoVirtualNumbers()
    matches = Matches()
    by_number = directory.ids_by_number({r.waybill_no.upper() for r in records if r.waybill_no})
    partial: list[tuple[LeakRecord, str]] = []
    for record in records:
        if record.waybill_no and record.waybill_no.upper() in by_number:
            _take(matches, record.row, by_number[record.waybill_no.upper()], Method.WAYBILL_NO)
            continue
        if record.virtual_number:
            viewers = virtual_numbers.viewers(record.virtual_number)
            matches.named_by_virtual_number.extend(viewers)
            if len({v.waybill_id for v in viewers}) == 1:
                _take(matches, record.row, viewers[0].waybill_id, Method.VIRTUAL_NUMBER)
                continue
        full = _full_phone(record.phone) if record.phone else None
        if full is not None:
            candidates = directory.ids_by_phone(full)
            if len(candidates) > 1:
                fit = _Fit(record, masker)
                views = directory.views_of(candidates)
                candidates = [c for c in candidates if c in views and fit.fits(views[c])]
            if len(candidates) == 1:
                _take(matches, record.row, candidates[0], Method.PHONE_INDEX)
            elif candidates:
                matches.ambiguous += 1
            else:
                matches.unmatched += 1
            continue
        last4 = _last4(record.phone) if record.phone else None
        if last4 is not None:
            partial.append((record, last4))
        else:
            matches.unmatched += 1
    if partial:
        views_by_last4 = directory.views_by_last4({last4 for _, last4 in partial})
        for record, last4 in partial:
            fit = _Fit(record, masker)
            if not fit.informative:
                matches.unmatched += 1
                continue
            fitting = [v.waybill_id for v in views_by_last4.get(last4, []) if fit.fits(v)]
            if len(fitting) == 1:
                _take(matches, record.row, fitting[0], Method.MASKED)
            elif fitting:
                matches.ambiguous += 1
            else:
                matches.unmatched += 1
    return matches


def _take(matches: Matches, row: int, waybill_id: str, method: Method) -> None:
    matches.waybill_ids[row] = waybill_id
    matches.methods[method] += 1
