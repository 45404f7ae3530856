"""Field-level envelope encryption of a waybill's personal data.

Each waybill gets a fresh 256-bit data key (DEK); each field is sealed with AES-256-GCM
under it as ``version || 96-bit nonce || ciphertext || 128-bit tag`` (see aead.py), with
associated data binding the ciphertext to its tenant, waybill, field name and format
version, so a ciphertext copied to another row or column fails to open.
The DEK is stored only wrapped by the tenant's key-encryption key (KEK), bound the same way to
tenant, KEK id, KEK version and waybill. Destroying the wrapped DEK (crypto-shredding) makes
every field of the waybill unreadable for good.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy_waybill.vault.aead import VERSION_BYTES, BrokenSeal, frame, seal, unseal
from privacy_waybill.vault.errors import (
    DecryptionFailed,
    FieldNotSealed,
    KeyShredded,
    KeyUnwrapFailed,
)
from privacy_waybill.vault.keys import DataKey, KekRef, KeyManager

WRAPPED_DEK_FIELD = "wrapped_dek"


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """What storage keeps for one waybill: none of it is readable without the tenant's KEK.

    `wrapped_dek` is None once the record is shredded.
    """

    kek_id: str
    kek_version: int
    wrapped_dek: bytes | None
    ciphertexts: dict[str, bytes] = field(default_factory=dict)

    @property
    def kek(self) -> KekRef:
        return KekRef(self.kek_id, self.kek_version)

    @property
    def is_shredded(self) -> bool:
        return self.wrapped_dek is None


def _record_frame(tenant_id: str, waybill_id: str) -> bytes:
    # A field's associated data is this frame plus `_field_frame(name)`; it is shared by
    # every field of a record, so a seal or open builds it only once.
    return frame(b"pwb/field", VERSION_BYTES, tenant_id.encode(), waybill_id.encode())


@lru_cache(maxsize=1024)
def _field_frame(field_name: str) -> bytes:
    # Field names come from a short fixed list (sensitive.py) and are not personal data.
    return frame(field_name.encode())


def dek_associated_data(tenant_id: str, waybill_id: str, kek: KekRef) -> bytes:
    return frame(
        b"pwb/dek",
        VERSION_BYTES,
        tenant_id.encode(),
        kek.kek_id.encode(),
        str(kek.version).encode(),
        waybill_id.encode(),
    )


def shredded(record: SealedRecord) -> SealedRecord:
    """The record after crypto-shredding: no data key, no ciphertexts, key ids kept for audit."""
    return replace(record, wrapped_dek=None, ciphertexts={})


class Vault:
    """Seals and opens waybill fields; the only place personal data is decrypted."""

    def __init__(self, key_manager: KeyManager) -> None:
        self._key_manager = key_manager

    def seal(self, tenant_id: str, waybill_id: str, fields: Mapping[str, str]) -> SealedRecord:
        """Encrypt `fields` under a fresh data key, wrapped under the tenant's current KEK."""
        _require_ids(tenant_id, waybill_id)
        dek = DataKey.generate()
        cipher = AESGCM(dek.material)
        record_frame = _record_frame(tenant_id, waybill_id)
        ciphertexts = {}
        for name, value in fields.items():
            try:
                plaintext = value.encode("utf-8")
            except UnicodeEncodeError:
                # The codec's own message quotes the offending character.
                raise ValueError(f"waybill {waybill_id}: field {name} is not valid text") from None
            ciphertexts[name] = seal(cipher, plaintext, record_frame + _field_frame(name))
        kek = self._key_manager.current_kek(tenant_id)
        wrapped = self._key_manager.wrap_dek(tenant_id, kek, dek, dek_associated_data(tenant_id, waybill_id, kek))
        return SealedRecord(kek.kek_id, kek.version, wrapped, ciphertexts)

    def open(
        self,
        tenant_id: str,
        waybill_id: str,
        record: SealedRecord,
        fields: Iterable[str],
    ) -> dict[str, str]:
        """The plaintext of `fields`; raises a `VaultError` naming the first field that fails."""
        wanted = list(fields)
        if not wanted:
            return {}
        if record.is_shredded:
            raise KeyShredded(waybill_id, wanted[0])
        for name in wanted:
            if name not in record.ciphertexts:
                raise FieldNotSealed(waybill_id, name)
        cipher = AESGCM(self._unwrap(tenant_id, waybill_id, record).material)
        record_frame = _record_frame(tenant_id, waybill_id)
        opened = {}
        for name in wanted:
            try:
                plaintext = unseal(cipher, record.ciphertexts[name], record_frame + _field_frame(name))
            except BrokenSeal:
                raise DecryptionFailed(waybill_id, name) from None
            opened[name] = plaintext.decode("utf-8")
        return opened

    def rewrap(self, tenant_id: str, waybill_id: str, record: SealedRecord) -> SealedRecord:
        """The record with its DEK wrapped under the tenant's current KEK; ciphertexts untouched.

        Run over all records after `KeyManager.rotate`; until then old KEK versions keep
        unwrapping, so rotation needs no downtime. Shredded and current records come back as is.
        """
        current = self._key_manager.current_kek(tenant_id)
        if record.is_shredded or record.kek == current:
            return record
        dek = self._unwrap(tenant_id, waybill_id, record)
        wrapped = self._key_manager.wrap_dek(
            tenant_id, current, dek, dek_associated_data(tenant_id, waybill_id, current)
        )
        return replace(
            record,
            kek_id=current.kek_id,
            kek_version=current.version,
            wrapped_dek=wrapped,
        )

    def _unwrap(self, tenant_id: str, waybill_id: str, record: SealedRecord) -> DataKey:
        if record.wrapped_dek is None:
            raise KeyShredded(waybill_id, "data key")
        try:
            return self._key_manager.unwrap_dek(
                tenant_id,
                record.kek,
                record.wrapped_dek,
                dek_associated_data(tenant_id, waybill_id, record.kek),
            )
        except KeyUnwrapFailed as error:
            raise DecryptionFailed(waybill_id, WRAPPED_DEK_FIELD) from error


def _require_ids(tenant_id: str, waybill_id: str) -> None:
    if not tenant_id or not waybill_id:
        raise ValueError("tenant id and waybill id must not be empty")
