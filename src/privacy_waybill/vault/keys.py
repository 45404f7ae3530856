"""Key types and the key-manager interface the vault talks to.

A key manager owns the tenants' key-encryption keys (KEKs) and blind-index keys; the vault
only ever sees data keys (DEKs) in the clear, and only for the duration of one call.
`LocalKeyManager` (local_keys.py) is the default; an adapter for an external KMS implements
the same `KeyManager` protocol.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from typing import Protocol, Self, cast

from privacy_waybill.vault.aead import KEY_BYTES


class SecretKey:
    """256 bits of key material that never show in repr, str, f-strings or logs."""

    __slots__ = ("_material",)

    def __init__(self, material: bytes) -> None:
        if len(material) != KEY_BYTES:
            raise ValueError(f"{type(self).__name__} needs exactly {KEY_BYTES} bytes")
        self._material = bytes(material)

    @classmethod
    def generate(cls) -> Self:
        return cls(os.urandom(KEY_BYTES))

    @property
    def material(self) -> bytes:
        return self._material

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{KEY_BYTES * 8}-bit key hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return hmac.compare_digest(self._material, cast(SecretKey, other)._material)

    __hash__ = None  # type: ignore[assignment]  # keys must not become dict keys or set members


class DataKey(SecretKey):
    """A per-waybill data-encryption key (DEK)."""

    __slots__ = ()


class KeyEncryptionKey(SecretKey):
    """A tenant's key-encryption key (KEK) for one version."""

    __slots__ = ()


class BlindIndexKey(SecretKey):
    """A tenant's root key for blind indexes; per-kind keys are derived from it."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class KekRef:
    """Which key-encryption key wrapped a data key: stored next to the wrapped key."""

    kek_id: str
    version: int


class KeyManager(Protocol):
    """What the vault needs from a key store or an external KMS.

    Implementations must keep every KEK version able to unwrap until the operator retires
    it, so rotation never makes stored records unreadable.
    """

    def current_kek(self, tenant_id: str) -> KekRef:
        """The KEK new data keys are wrapped under; creates the tenant's first KEK on first use."""
        ...

    def wrap_dek(self, tenant_id: str, kek: KekRef, dek: DataKey, associated_data: bytes) -> bytes:
        """Encrypt `dek` under the tenant's KEK `kek`, authenticating `associated_data`."""
        ...

    def unwrap_dek(self, tenant_id: str, kek: KekRef, wrapped: bytes, associated_data: bytes) -> DataKey:
        """Inverse of `wrap_dek`.

        Raises `UnknownKey` when the tenant has no such KEK and `KeyUnwrapFailed` when the
        wrapped key or its associated data do not authenticate.
        """
        ...

    def rotate(self, tenant_id: str) -> KekRef:
        """Add a new KEK version and make it current; older versions still unwrap."""
        ...

    def retire(self, tenant_id: str, kek: KekRef, check_only: bool = False) -> None:
        """Destroy an old KEK version for good: nothing wrapped under it unwraps again.

        Refuses (`KeyNotRetirable`) the current version, and one superseded too recently for
        every process to have stopped wrapping under it; `check_only` refuses as retiring
        would but destroys nothing. Callers re-wrap stored data keys in between.
        """
        ...

    def blind_index_key(self, tenant_id: str) -> BlindIndexKey:
        """The tenant's blind-index root key; created on first use, never rotated."""
        ...
