"""One key per purpose, each rotatable on its own, from the key store.

A purpose's version counter is the KEK version of a reserved key-store entry
(`_purpose-<name>`), and each version's key is the random key of its own entry
(`_purpose-<name>-v<n>`): versions share no material with each other or with any other
purpose, so rotating one after a leak leaves the rest untouched. Reserved names start with
"_", which no tenant id can.
"""

from __future__ import annotations

from privacy_waybill.vault.keys import KeyManager

# Purposes whose keys rotate freely: what they protect is short-lived (throttle counters), or
# carries its key version (sealed reasons), or is compared only within one version (device tags).
ROTATABLE_PURPOSES = ("rate-limit", "device-id", "break-glass-reason")


class PurposeKeys:
    def __init__(self, keys: KeyManager) -> None:
        self._keys = keys

    @staticmethod
    def _check(purpose: str) -> None:
        if purpose not in ROTATABLE_PURPOSES:
            raise ValueError(f"unknown key purpose {purpose!r}")

    def version(self, purpose: str) -> int:
        self._check(purpose)
        return self._keys.current_kek(f"_purpose-{purpose}").version

    def key(self, purpose: str, version: int) -> bytes:
        self._check(purpose)
        return self._keys.blind_index_key(f"_purpose-{purpose}-v{version}").material

    def current(self, purpose: str) -> tuple[int, bytes]:
        version = self.version(purpose)
        return version, self.key(purpose, version)

    def rotate(self, purpose: str) -> int:
        """Start a new version with fresh random material; returns it."""
        self._check(purpose)
        return self._keys.rotate(f"_purpose-{purpose}").version
