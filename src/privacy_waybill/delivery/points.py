"""Delivery points without plaintext: keyed hashes of where a parcel goes, computed at issuance.

Three keys per waybill, all HMAC-SHA256 (16 bytes) under one platform-wide key, so parcels of every
merchant to the same door group together and nobody needs to decrypt anything to group them:

- point: the building (district + compound, or road + number, + building), the unit of one stop;
- site:  the compound, or the road number when there is none (where a courier walks in);
- road:  the road, which route definitions order by.

Spelling variants that name the same place (3幢 / 3栋 / 3号楼 / ３号楼, 969号 / 969) map to one
key. The key is keyed, so a list of addresses cannot be hashed to find who lives where.

The key is versioned (purpose "delivery-point"): a waybill is hashed under the version current
at issuance and keeps it, so after a rotation new parcels group under the new version and older
ones under theirs. Route definitions are plain names, so their keys are made under every
version and a parcel of either finds its place on the route.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field

from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.vault.aead import frame
from privacy_waybill.vault.keyring import KeySource

KEY_BYTES = 16
_BUILDING_SUFFIX = re.compile(r"(号楼|幢|栋|座|号)$")
_NUMBER_SUFFIX = re.compile(r"号$")
_CHINESE_DIGITS = {c: str(i) for i, c in enumerate("零一二三四五六七八九")}


@dataclass(frozen=True, slots=True)
class DeliveryKeys:
    point: bytes = field(repr=False)
    site: bytes = field(repr=False)
    road: bytes = field(repr=False)


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).upper()


def _building(text: str | None) -> str:
    core = _BUILDING_SUFFIX.sub("", _clean(text))
    if core and all(c in _CHINESE_DIGITS or c == "十" for c in core):
        core = _chinese_number(core)
    return core


def _chinese_number(text: str) -> str:
    """一 .. 九十九 as digits: building numbers are often written in Chinese numerals."""
    if "十" not in text:
        return "".join(_CHINESE_DIGITS[c] for c in text)
    tens, _, units = text.partition("十")
    return str(int(_CHINESE_DIGITS.get(tens, "1") if tens else 1) * 10 + int(_CHINESE_DIGITS.get(units, "0") or 0))


def normalised_parts(address: ParsedAddress) -> tuple[str, str, str, str, str]:
    """(district code, road, road number, compound, building), spelling variants folded."""
    return (
        address.district_code or "",
        _clean(address.road),
        _NUMBER_SUFFIX.sub("", _clean(address.road_number)),
        _clean(address.poi),
        _building(address.building),
    )


class DeliveryPointKeyer:
    def __init__(self, keys: KeySource) -> None:
        self._keys = keys
        self._keyed: dict[int, tuple[bytes, hmac.HMAC]] = {}

    def _hasher(self, version: int, key: bytes) -> hmac.HMAC:
        cached = self._keyed.get(version)
        if cached is None or cached[0] != key:
            cached = self._keyed[version] = (key, hmac.new(key, digestmod=hashlib.sha256))
        return cached[1]

    def _hash(self, *parts: str, version_key: tuple[int, bytes] | None = None) -> bytes:
        digest = self._hasher(*(version_key or self._keys.current())).copy()
        digest.update(frame(*(p.encode() for p in parts)))
        return digest.digest()[:KEY_BYTES]

    def road_key(self, road: str, version_key: tuple[int, bytes] | None = None) -> bytes:
        """The key of a road name, as route definitions name roads (current version by default)."""
        return self._hash("road", _clean(road), version_key=version_key)

    def site_key(self, site: str, version_key: tuple[int, bytes] | None = None) -> bytes:
        """The key of a compound name (or road + number), as route definitions name them."""
        return self._hash("site", _NUMBER_SUFFIX.sub("", _clean(site)), version_key=version_key)

    def route_entry_keys(self, name: str) -> tuple[bytes, ...]:
        """A route entry read as a road and as a site, under every key version."""
        return tuple(
            key
            for version_key in self._keys.all_versions()
            for key in (self.road_key(name, version_key), self.site_key(name, version_key))
        )

    def keys(self, address: ParsedAddress) -> DeliveryKeys | None:
        """The keys of a parsed address; None when it names no road and no compound."""
        district, road, number, compound, building = normalised_parts(address)
        if not (road or compound):
            return None
        # A compound is named with or without its street address; either way it is one place.
        site = compound or f"{road}{number}"
        current = self._keys.current()
        return DeliveryKeys(
            point=self._hash("point", district, site, building, version_key=current),
            site=self.site_key(site, current),
            road=self.road_key(road, current) if road else self.site_key(site, current),
        )
