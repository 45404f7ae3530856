"""The parsed form of a Chinese postal address, from province down to room."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import compress
from operator import attrgetter
from typing import NamedTuple

# Levels in the order they appear in a written address. Masking profiles name these.
ADDRESS_LEVELS: tuple[str, ...] = (
    "province",
    "city",
    "district",
    "town",
    "before_road",
    "road",
    "road_number",
    "poi",
    "building",
    "unit",
    "floor",
    "room",
    "remainder",
)


class ParsedAddress(NamedTuple):
    """An address split into levels. Unrecognised text lands in `remainder`.

    `before_road` is whatever was written between the last division and the road (a
    village, compound, POI or name): never a road, never a division.

    Division levels carry their official code (12-digit NBS code for towns, 6-digit
    for districts/cities/provinces). `district_renamed_from` records the old name when
    the input used a district name that has since been renamed or merged.

    A named tuple rather than a frozen dataclass: as immutable, and made in a fifth of the
    time; the parser makes one per address, twice per waybill.
    """

    province: str | None = None
    city: str | None = None
    district: str | None = None
    town: str | None = None
    before_road: str | None = None
    road: str | None = None
    road_number: str | None = None
    poi: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    remainder: str | None = None
    province_code: str | None = None
    city_code: str | None = None
    district_code: str | None = None
    town_code: str | None = None
    district_renamed_from: str | None = None

    def text_of(self, levels: tuple[str, ...] | list[str]) -> str:
        """Concatenate the given levels, in written order, skipping empty ones."""
        # Issuance and masking call this for every address: one getter per set of levels.
        return "".join(filter(None, _values_in_order(tuple(levels))(self)))

    def written(self) -> str:
        """Every level present, in written order: the address as it was written, tidied."""
        return "".join(filter(None, _level_values(self)))

    def level_texts(self) -> tuple[str | None, ...]:
        """The text of every level of ADDRESS_LEVELS, in that order (None where absent)."""
        return _level_values(self)  # type: ignore[no-any-return]

    def present_levels(self) -> tuple[str, ...]:
        return tuple(compress(ADDRESS_LEVELS, _level_values(self)))

    def with_road_hidden(self) -> ParsedAddress:
        """The same address with its road counted as text before the road, which no label
        shows (the detail still joins back to what was written)."""
        return self._replace(before_road=(self.before_road or "") + (self.road or ""), road=None)

    def __repr__(self) -> str:
        # Addresses are personal data: show which levels are present and the district, no text.
        return f"ParsedAddress(district_code={self.district_code!r}, levels={self.present_levels()!r})"


# The values of ADDRESS_LEVELS, in that order, in one call.
_level_values = attrgetter(*ADDRESS_LEVELS)


@lru_cache(maxsize=256)
def _values_in_order(levels: tuple[str, ...]) -> Callable[[ParsedAddress], tuple[str | None, ...]]:
    """A getter of the values of those of `levels` that are address levels, in written order.
    Cached by the levels asked for (a few sets: masking profiles, issuance), never by address."""
    wanted = set(levels)
    names = [level for level in ADDRESS_LEVELS if level in wanted]
    if len(names) > 1:
        return attrgetter(*names)  # type: ignore[return-value]
    if names:
        one = attrgetter(names[0])
        return lambda address: (one(address),)
    return lambda address: ()


ADDRESS_FIELD_NAMES: tuple[str, ...] = ParsedAddress._fields
