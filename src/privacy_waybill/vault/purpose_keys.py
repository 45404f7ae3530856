"""One key per purpose, each versioned and rotatable on its own, from the key store.

A purpose's version counter is the KEK version of a reserved key-store entry
(`_purpose-<name>`), and each version's key is the random key of its own entry
(`_purpose-<name>-v<n>`): versions share no material with each other, with any other purpose
or with any blind-index key, so rotating one after a leak leaves the rest untouched. Reserved
names start with "_", which no tenant id can.

Homes made before purposes had keys of their own derived the older purposes' keys with HKDF
from the `_platform` tenant's blind-index key. On such a home version 1 of each of those
purposes stays that derivation, so every label printed, code sent and secret sealed before the
upgrade keeps working; the first rotation gives the purpose independent random material. A
home made after the upgrade gets random material for every version 1 too. Which kind of home
it is gets settled once, the first time the key store is opened by this code, and recorded as
a marker entry: the `_platform` entry alone cannot tell later, since blind indexes of the
platform (recipient phones) create it on a new home as well.

How a purpose rotates is declared in `PURPOSES` (data): what its old versions are kept for and
when they may go. A retired version (`pwb keys retire --purpose`) is gone: its key is deleted
from the store (a derived version 1 is marked retired, its root serving others) and asking for
it is asking for a version that does not exist.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privacy_waybill.vault.errors import KeyNotRetirable
from privacy_waybill.vault.keyring import UnknownKeyVersion
from privacy_waybill.vault.keys import KekRef
from privacy_waybill.vault.local_keys import LocalKeyManager
from privacy_waybill.vault.platform_keys import PLATFORM_KEY_TENANT

# The reserved tenant whose blind-index key the older purposes' version 1 was derived from.
LEGACY_ROOT_TENANT = PLATFORM_KEY_TENANT
# Markers: exactly one is made, when the store is first opened with per-purpose keys.
LEGACY_VERSION_ONE_MARK = "_purpose-v1-derived"
RANDOM_VERSION_ONE_MARK = "_purpose-v1-random"


class Rotation(StrEnum):
    # What is produced names its key version; verification uses the version named; old
    # versions stay so that everything already produced keeps verifying.
    RECORDED = "recorded"
    # Sealed rows name their version; rotating re-seals every stored row under the new one.
    RESEAL = "reseal"
    # Short-lived codes and signatures: the previous version is still accepted, which covers
    # everything issued before the rotation for its lifetime (rotate at most once per lifetime).
    GRACE = "grace"
    # Grouping hashes: new items are hashed under the new version; existing ones keep theirs
    # and are compared only with hashes of the version they were made with.
    NEW_ITEMS = "new-items"
    # Throttle counters and tags: nothing to keep; the new version starts fresh counters.
    FRESH = "fresh"


@dataclass(frozen=True, slots=True)
class Purpose:
    name: str
    rotation: Rotation
    # HKDF info of version 1 on homes from before per-purpose keys (None: always random).
    legacy_info: bytes | None
    # When an old version may be retired ("never: ..." where it must stay as long as what
    # it made is kept); nothing retires one automatically.
    retire_when: str

    @property
    def retirable(self) -> bool:
        return not self.retire_when.startswith("never")


PURPOSES: tuple[Purpose, ...] = (
    Purpose(
        "audit",
        Rotation.RECORDED,
        b"pwb audit-signing v1",
        "never: every entry and checkpoint of the log must stay verifiable for as long as the log is kept",
    ),
    Purpose(
        "qr-reference",
        Rotation.RECORDED,
        b"pwb qr-reference v1",
        "when every waybill issued before the next version was made is in a final state or purged",
    ),
    Purpose(
        "telephony-callback",
        Rotation.GRACE,
        b"pwb telephony callback v1",
        "once the provider signs with the new secret (callbacks older than the skew are refused anyway)",
    ),
    Purpose("otp", Rotation.GRACE, b"pwb otp v1", "one OTP lifetime after the rotation"),
    Purpose("signoff-code", Rotation.GRACE, b"pwb signoff code v1", "one sign-off code lifetime after the rotation"),
    Purpose("identity-code", Rotation.GRACE, b"pwb identity-code v1", "two minutes after the rotation"),
    Purpose(
        "recipient-session",
        Rotation.RESEAL,
        b"pwb recipient-session v1",
        "as soon as the rotation has re-sealed the sessions",
    ),
    Purpose("leak-report", Rotation.RESEAL, b"pwb leak-report v1", "as soon as the rotation has re-sealed the reports"),
    Purpose("totp", Rotation.RESEAL, b"pwb totp v1", "as soon as the rotation has re-sealed the secrets"),
    Purpose("axb-phone", Rotation.RESEAL, b"pwb axb v1", "as soon as the rotation has re-sealed the bindings"),
    Purpose("outbox", Rotation.RESEAL, b"pwb outbox v1", "as soon as the rotation has re-sealed the messages"),
    Purpose("courier-line", Rotation.RESEAL, b"pwb courier line v1", "as soon as the rotation has re-sealed the lines"),
    Purpose(
        "delivery-point",
        Rotation.NEW_ITEMS,
        b"pwb delivery-point v1",
        "when every waybill issued before the next version was made is in a final state or purged",
    ),
    Purpose("tracking-client", Rotation.FRESH, b"pwb tracking-client v1", "at once: look-up counters are per minute"),
    Purpose("rate-limit", Rotation.FRESH, None, "at once: throttle counters are short-lived"),
    Purpose("device-id", Rotation.NEW_ITEMS, None, "never: audit entries keep the tag of their version"),
    Purpose("break-glass-reason", Rotation.RECORDED, None, "never: sealed reasons name their version"),
)
PURPOSE_BY_NAME = {purpose.name: purpose for purpose in PURPOSES}
# What `pwb keys rotate --purpose` takes: every purpose.
ROTATABLE_PURPOSES = tuple(PURPOSE_BY_NAME)


def _counter(name: str) -> str:
    # The key-store entry whose KEK version is the purpose's version counter.
    return f"_purpose-{name}"


def _version_entry(name: str, version: int) -> str:
    # The key-store entry holding one version's random key.
    return f"_purpose-{name}-v{version}"


def _version_one_mark(entries: Collection[str]) -> str | None:
    """On the first open by this code, which marker the store gets (None: it has one already).

    An existing home holds the root its keys were derived from; a new one does not yet.
    """
    if LEGACY_VERSION_ONE_MARK in entries or RANDOM_VERSION_ONE_MARK in entries:
        return None
    return LEGACY_VERSION_ONE_MARK if LEGACY_ROOT_TENANT in entries else RANDOM_VERSION_ONE_MARK


class PurposeKeys:
    def __init__(self, keys: LocalKeyManager) -> None:
        self._keys = keys
        self._legacy: dict[str, bytes] = {}
        if not (keys.knows(LEGACY_VERSION_ONE_MARK) or keys.knows(RANDOM_VERSION_ONE_MARK)):
            keys.add_entry_once(_version_one_mark)
        self._version_one_derived = keys.knows(LEGACY_VERSION_ONE_MARK) and not keys.knows(RANDOM_VERSION_ONE_MARK)

    @staticmethod
    def purpose(name: str) -> Purpose:
        purpose = PURPOSE_BY_NAME.get(name)
        if purpose is None:
            raise ValueError(f"unknown key purpose {name!r}")
        return purpose

    def version(self, name: str) -> int:
        self.purpose(name)
        return self._keys.current_kek(_counter(name)).version

    def key(self, name: str, version: int) -> bytes:
        """The key of `version`; UnknownKeyVersion for a version never made or retired (so
        none is created)."""
        purpose = self.purpose(name)
        current = self._require_live(name, version)
        return self._material(purpose, version, may_create=version == current)

    def is_live(self, name: str, version: int) -> bool:
        """Whether `version` was made and not retired."""
        return 1 <= version <= self.version(name) and not self._keys.is_retired(_counter(name), version)

    def live_versions(self, name: str) -> list[int]:
        """Every version not retired, oldest first."""
        return [v for v in range(1, self.version(name) + 1) if self.is_live(name, v)]

    def _require_live(self, name: str, version: int) -> int:
        """The current version; UnknownKeyVersion unless `version` is live."""
        current = self.version(name)
        if not 1 <= version <= current or self._keys.is_retired(_counter(name), version):
            raise UnknownKeyVersion(name, version)
        return current

    def superseded_at(self, name: str, version: int) -> datetime | None:
        """When the version after `version` was made (None: unknown, or `version` is current)."""
        return self._keys.superseded_at(_counter(name), version)

    def retire(self, name: str, version: int, check_only: bool = False) -> None:
        """Delete `version` of a purpose's key; refused for purposes whose versions must stay,
        for the current version and for one replaced too recently (`RETIRE_AFTER`). What the
        version made must be moved or done with first: see `storage.key_rotation.retire_purpose`."""
        purpose = self.purpose(name)
        if not purpose.retirable:
            raise KeyNotRetirable(f"{name} key versions are never retired: {purpose.retire_when.removeprefix('never: ')}")
        self._require_live(name, version)
        kek = KekRef(self._keys.current_kek(_counter(name)).kek_id, version)
        self._keys.retire(
            _counter(name), kek, check_only, drop_entry=_version_entry(name, version), named=f"the {name} key"
        )

    def _material(self, purpose: Purpose, version: int, may_create: bool) -> bytes:
        if version == 1 and purpose.legacy_info is not None and self._version_one_derived:
            return self._legacy_key(purpose.legacy_info)
        entry = _version_entry(purpose.name, version)
        # An older version's key missing from the store was either never needed (keys are made
        # on first use) or retired by another process a moment ago: asked afresh, so that a
        # retired one does not come back as a new key.
        counter = _counter(purpose.name)
        if not may_create and not self._keys.knows(entry) and self._keys.is_retired(counter, version, fresh=True):
            raise UnknownKeyVersion(purpose.name, version)
        return self._keys.blind_index_key(entry).material

    def _legacy_key(self, info: bytes) -> bytes:
        key = self._legacy.get(info.decode())
        if key is None:
            root = self._keys.blind_index_key(LEGACY_ROOT_TENANT).material
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root)
            self._legacy[info.decode()] = key
        return key

    def current(self, name: str) -> tuple[int, bytes]:
        # No range check as in `key`: the current version exists.
        version = self.version(name)
        return version, self._material(self.purpose(name), version, may_create=True)

    def rotate(self, name: str) -> int:
        """Start a new version with fresh random material; returns it.

        The new key is made here, under the key store's lock, so no two processes can each
        make a different one for the same version.
        """
        self.purpose(name)
        version = self._keys.rotate(_counter(name)).version
        self.key(name, version)
        return version

    def ring(self, name: str) -> PurposeKeyring:
        self.purpose(name)
        return PurposeKeyring(self, name)


class PurposeKeyring:
    """One purpose's keys as services use them: always the store's current version.

    Live rather than a snapshot, so a rotation made by another process (`pwb keys rotate`
    beside `pwb serve`) is picked up within the key store's reload interval.
    """

    __slots__ = ("_keys", "purpose")

    def __init__(self, keys: PurposeKeys, purpose: str) -> None:
        self._keys = keys
        self.purpose = purpose

    def __repr__(self) -> str:
        return f"PurposeKeyring({self.purpose!r}, <keys hidden>)"

    def current(self) -> tuple[int, bytes]:
        return self._keys.current(self.purpose)

    def key(self, version: int) -> bytes:
        return self._keys.key(self.purpose, version)

    def accepted(self) -> list[tuple[int, bytes]]:
        """The current version, then the previous one unless retired (for short-lived codes
        issued before a rotation)."""
        version, key = self.current()
        ring = [(version, key)]
        if self._keys.is_live(self.purpose, version - 1):
            ring.append((version - 1, self.key(version - 1)))
        return ring

    def all_versions(self) -> list[tuple[int, bytes]]:
        """Every version up to the current one not retired, oldest first."""
        return [(v, self.key(v)) for v in self._keys.live_versions(self.purpose)]
