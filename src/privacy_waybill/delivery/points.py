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

import unicodedata
from typing import NamedTuple

from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.vault.aead import frame
from privacy_waybill.vault.blind_index import KeyedSha256
from privacy_waybill.vault.keyring import KeySource

KEY_BYTES = 16
_CHINESE_DIGITS = {c: str(i) for i, c in enumerate("零一二三四五六七八九")}
_CHINESE_NUMERALS = "零一二三四五六七八九十"
_POINT = frame(b"point")
_SITE = frame(b"site")
_ROAD = frame(b"road")


class DeliveryKeys(NamedTuple):
    """A named tuple: one is made per waybill issued (a frozen dataclass took several times as long)."""

    point: bytes
    site: bytes
    road: bytes

    def __repr__(self) -> str:
        # Keyed hashes, not places; still nothing a log needs.
        return "DeliveryKeys(...)"


def _clean(text: str | None) -> str:
    if not text:
        return ""
    # str.split() splits at exactly the characters the regex \s matches (str.isspace), and
    # joining the pieces removes all whitespace in a fifth of the time of re.sub.
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def _clean_again(cleaned: str) -> str:
    """`_clean(cleaned)` for text `_clean` gave: itself, unless upper-casing left it outside
    NFKC (a rare letter), which the check costs a fraction of cleaning again to find out.
    Upper-casing is idempotent and makes no whitespace (a test checks every code point), so
    only NFKC can change such text again."""
    return cleaned if unicodedata.is_normalized("NFKC", cleaned) else _clean(cleaned)


def _without_number_suffix(text: str) -> str:
    # The 号 of "969号": endswith instead of a regex, since this runs several times per waybill.
    return text[:-1] if text.endswith("号") else text


def _building(text: str | None) -> str:
    core = _clean(text)
    # The suffixes 号楼, 幢, 栋, 座 and 号; the two-character one first, so 5号楼 keeps no 号.
    if core.endswith("号楼"):
        core = core[:-2]
    elif core.endswith(("幢", "栋", "座", "号")):
        core = core[:-1]
    # Nothing left after stripping numerals: every character is one (faster than all()).
    if core and not core.strip(_CHINESE_NUMERALS):
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
        _without_number_suffix(_clean(address.road_number)),
        _clean(address.poi),
        _building(address.building),
    )


class DeliveryPointKeyer:
    def __init__(self, keys: KeySource) -> None:
        self._keys = keys
        self._keyed: dict[int, tuple[bytes, KeyedSha256]] = {}

    def _hasher(self, version_key: tuple[int, bytes] | None) -> KeyedSha256:
        version, key = version_key or self._keys.current()
        cached = self._keyed.get(version)
        if cached is None or cached[0] != key:
            cached = self._keyed[version] = (key, KeyedSha256(key))
        return cached[1]

    @staticmethod
    def _hash(hasher: KeyedSha256, message: bytes) -> bytes:
        return hasher.digest(message)[:KEY_BYTES]

    def road_key(self, road: str, version_key: tuple[int, bytes] | None = None) -> bytes:
        """The key of a road name, as route definitions name roads (current version by default)."""
        return self._hash(self._hasher(version_key), _ROAD + frame(_clean(road).encode()))

    def site_key(self, site: str, version_key: tuple[int, bytes] | None = None) -> bytes:
        """The key of a compound name (or road + number), as route definitions name them."""
        return self._hash(self._hasher(version_key), _site_message(_clean(site)))

    def route_entry_keys(self, name: str) -> tuple[bytes, ...]:
        """A route entry read as a road and as a site, under every key version."""
        return tuple(
            key
            for version_key in self._keys.all_versions()
            for key in (self.road_key(name, version_key), self.site_key(name, version_key))
        )

    def current(self) -> tuple[int, bytes]:
        """The (version, key) new waybills are hashed under: read it once per chunk of waybills
        and pass it to `keys`, so a chunk looks the version up once instead of per waybill."""
        return self._keys.current()

    def keys(self, address: ParsedAddress, version_key: tuple[int, bytes] | None = None) -> DeliveryKeys | None:
        """The keys of a parsed address (current version by default); None when it names no
        road and no compound."""
        district, road, number, compound, building = normalised_parts(address)
        if not (road or compound):
            return None
        # A compound is named with or without its street address; either way it is one place.
        site = compound or f"{road}{number}"
        hasher = self._hasher(version_key)
        # `site` and `road` are clean already, and cleaned again as `site_key` and `road_key`
        # clean what route definitions name (see _clean_again).
        site_key = self._hash(hasher, _site_message(_clean_again(site)))
        return DeliveryKeys(
            point=self._hash(hasher, _POINT + frame(district.encode(), site.encode(), building.encode())),
            site=site_key,
            road=self._hash(hasher, _ROAD + frame(_clean_again(road).encode())) if road else site_key,
        )


def _site_message(cleaned_site: str) -> bytes:
    # As route definitions name sites: cleaned, and without 号.
    return _SITE + frame(_without_number_suffix(cleaned_site).encode())
