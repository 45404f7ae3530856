"""Vault errors: each names the waybill, field, tenant or key it concerns, never a value.

Waybill ids, tenant ids, field names and key ids are not personal data, so they may appear
in messages; plaintext, ciphertext and key material never do.
"""

from __future__ import annotations

from pathlib import Path

from privacy_waybill.errors import PrivacyWaybillError


class VaultError(PrivacyWaybillError):
    """Base class of everything the vault and its key managers raise."""


class DecryptionFailed(VaultError):
    """A ciphertext or wrapped data key did not authenticate.

    Tampering, a ciphertext moved to another field, waybill or tenant, and a key store
    that does not hold the right key all look the same here, by design of AES-GCM.
    """

    def __init__(self, waybill_id: str, field: str) -> None:
        super().__init__(
            f"waybill {waybill_id}: {field} does not decrypt "
            "(tampered, moved from another record or field, or sealed under another key)"
        )
        self.waybill_id = waybill_id
        self.field = field


class KeyShredded(VaultError):
    """The waybill's data key was destroyed (crypto-shredding): its fields are gone for good."""

    def __init__(self, waybill_id: str, field: str) -> None:
        super().__init__(f"waybill {waybill_id}: {field} cannot be opened, its data key was shredded")
        self.waybill_id = waybill_id
        self.field = field


class FieldNotSealed(VaultError):
    """A field was asked for that the record does not hold."""

    def __init__(self, waybill_id: str, field: str) -> None:
        super().__init__(f"waybill {waybill_id}: no sealed field {field}")
        self.waybill_id = waybill_id
        self.field = field


class UnknownKey(VaultError):
    """A key manager has no key-encryption key with this id and version for the tenant."""

    def __init__(self, tenant_id: str, kek_id: str, kek_version: int, retired_at: str | None = None) -> None:
        gone = f" (retired at {retired_at}: what it wrapped is shredded)" if retired_at else ""
        super().__init__(f"tenant {tenant_id}: no key-encryption key {kek_id} version {kek_version}{gone}")
        self.tenant_id = tenant_id
        self.kek_id = kek_id
        self.kek_version = kek_version


class KeyNotRetirable(VaultError):
    """A KEK version that may not be destroyed (yet): the current one, or one superseded too recently."""


class KeyUnwrapFailed(VaultError):
    """Raised by a key manager when a wrapped data key does not authenticate under its KEK."""


class KeyStoreError(VaultError):
    """The local key store or the master secret cannot be used."""


class KeyStoreMissing(KeyStoreError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"no key store at {path}; create one with `pwb init`")


class KeyStoreExists(KeyStoreError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already exists; refusing to overwrite keys")


class WrongMasterSecret(KeyStoreError):
    def __init__(self, path: Path) -> None:
        super().__init__(f"the master secret does not open the key store at {path}")


class InsecurePermissions(KeyStoreError):
    def __init__(self, path: Path, mode: int) -> None:
        super().__init__(
            f"{path} is accessible by group or others (mode {mode:04o}); restrict it with `chmod 600 {path}`"
        )
        self.path = path
        self.mode = mode


class WeakMasterSecret(KeyStoreError):
    """The master secret is a well-known default or too guessable; `reason` says which rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"master secret refused: {reason}")
        self.reason = reason
