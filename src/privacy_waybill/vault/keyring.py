"""Versioned keys as the services use them, and sealing that names its key version.

A `KeySource` is one purpose's keys: the current version for new output, any recorded
version for reading back, and the current plus the previous for short-lived codes issued
just before a rotation. `PurposeKeyring` (purpose_keys.py) is the key store's live one;
`KeyVersions` is a fixed set (a caller that holds its keys itself, and the rules' tests).

`VersionedSeal` writes version 1 exactly as sealing did before keys had versions, so blobs
sealed before the upgrade open unchanged; later versions carry a header naming the version,
and the version is bound into the associated data so a header cannot be switched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.vault.aead import BrokenSeal, frame, seal, unseal

VERSIONED_MARK = b"K"
VERSION_FIELD_BYTES = 4
_HEADER_BYTES = len(VERSIONED_MARK) + VERSION_FIELD_BYTES


class UnknownKeyVersion(PrivacyWaybillError, LookupError):
    """Something names a key version its purpose never had (forged, or from another home)."""

    def __init__(self, purpose: str, version: int) -> None:
        super().__init__(f"{purpose} key version {version} does not exist")
        self.purpose = purpose
        self.version = version


class KeySource(Protocol):
    def current(self) -> tuple[int, bytes]:
        """(version, key) that new output is made with."""
        ...

    def key(self, version: int) -> bytes:
        """The key of `version`; UnknownKeyVersion for one that never existed."""
        ...

    def accepted(self) -> list[tuple[int, bytes]]:
        """The current version, then the previous one if there is one."""
        ...

    def all_versions(self) -> list[tuple[int, bytes]]:
        """Every version, oldest first."""
        ...


class KeyVersions:
    """A fixed set of key versions; the highest is current."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Mapping[int, bytes]) -> None:
        if not keys or min(keys) < 1:
            raise ValueError("key versions start at 1")
        self._keys = dict(keys)

    @classmethod
    def single(cls, key: bytes) -> KeyVersions:
        return cls({1: key})

    def __repr__(self) -> str:
        return f"KeyVersions(versions={sorted(self._keys)}, <keys hidden>)"

    def current(self) -> tuple[int, bytes]:
        version = max(self._keys)
        return version, self._keys[version]

    def key(self, version: int) -> bytes:
        key = self._keys.get(version)
        if key is None:
            raise UnknownKeyVersion("fixed", version)
        return key

    def accepted(self) -> list[tuple[int, bytes]]:
        version, key = self.current()
        previous = self._keys.get(version - 1)
        return [(version, key)] if previous is None else [(version, key), (version - 1, previous)]

    def all_versions(self) -> list[tuple[int, bytes]]:
        return sorted(self._keys.items())


def sealed_version(blob: bytes) -> int:
    """The key version a blob names: 1 for a blob without a version header."""
    if blob[:1] == VERSIONED_MARK and len(blob) > _HEADER_BYTES:
        return int.from_bytes(blob[1:_HEADER_BYTES], "big")
    return 1


class VersionedSeal:
    """AES-256-GCM under a purpose's keys; each blob opens with the version it names."""

    __slots__ = ("_keys", "_ciphers")

    def __init__(self, keys: KeySource) -> None:
        self._keys = keys
        self._ciphers: dict[int, tuple[bytes, AESGCM]] = {}

    def __repr__(self) -> str:
        return "VersionedSeal(<keys hidden>)"

    def _cipher(self, version: int, key: bytes) -> AESGCM:
        cached = self._ciphers.get(version)
        if cached is None or cached[0] != key:
            cached = self._ciphers[version] = (key, AESGCM(key))
        return cached[1]

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        version, key = self._keys.current()
        if version == 1:
            return seal(self._cipher(1, key), plaintext, associated_data)
        header = VERSIONED_MARK + version.to_bytes(VERSION_FIELD_BYTES, "big")
        return header + seal(self._cipher(version, key), plaintext, _bound(version, associated_data))

    def open(self, blob: bytes, associated_data: bytes) -> bytes:
        """The plaintext; BrokenSeal if the blob does not authenticate or names no known version."""
        version = sealed_version(blob)
        try:
            key = self._keys.key(version)
        except UnknownKeyVersion:
            raise BrokenSeal from None
        if version == 1 and blob[:1] != VERSIONED_MARK:
            return unseal(self._cipher(1, key), blob, associated_data)
        return unseal(self._cipher(version, key), blob[_HEADER_BYTES:], _bound(version, associated_data))

    def is_current(self, blob: bytes) -> bool:
        return sealed_version(blob) == self._keys.current()[0]

    def reseal(self, blob: bytes, associated_data: bytes) -> bytes | None:
        """The blob sealed again under the current version; None when it already is."""
        if self.is_current(blob):
            return None
        return self.seal(self.open(blob, associated_data), associated_data)


def _bound(version: int, associated_data: bytes) -> bytes:
    return frame(b"pwb key version", str(version).encode(), associated_data)
