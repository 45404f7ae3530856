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

import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import NamedTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy_waybill.vault.aead import KEY_BYTES, NONCE_BYTES, VERSION_BYTES, BrokenSeal, frame, unseal
from privacy_waybill.vault.errors import (
    DecryptionFailed,
    FieldNotSealed,
    KeyShredded,
    KeyUnwrapFailed,
)
from privacy_waybill.vault.keys import DataKey, KekRef, KeyManager

WRAPPED_DEK_FIELD = "wrapped_dek"


class SealedRecord(NamedTuple):
    """What storage keeps for one waybill: none of it is readable without the tenant's KEK.

    `wrapped_dek` is None once the record is shredded. A named tuple, as the waybill it
    belongs to: one is made per waybill issued, in the worker that seals it and again in
    the process that stores it, and a frozen dataclass took several times as long to make.
    """

    kek_id: str
    kek_version: int
    wrapped_dek: bytes | None
    ciphertexts: dict[str, bytes]

    @property
    def kek(self) -> KekRef:
        return KekRef(self.kek_id, self.kek_version)

    @property
    def is_shredded(self) -> bool:
        return self.wrapped_dek is None


_FIELD_FRAME_HEAD = frame(b"pwb/field", VERSION_BYTES)
_DEK_FRAME_HEAD = frame(b"pwb/dek", VERSION_BYTES)


def _record_frame(tenant_id: str, waybill_id: str) -> bytes:
    # A field's associated data is this frame plus `_field_frame(name)`; it is shared by
    # every field of a record, so a seal or open builds it only once.
    return _tenant_field_frame(tenant_id) + frame(waybill_id.encode())


def _tenant_field_frame(tenant_id: str) -> bytes:
    # Framing concatenates framed parts, so a frame's leading parts can be built once and
    # the rest appended: frame(a, b, c) == frame(a, b) + frame(c).
    return _FIELD_FRAME_HEAD + frame(tenant_id.encode())


@lru_cache(maxsize=1024)
def _field_frame(field_name: str) -> bytes:
    # Field names come from a short fixed list (sensitive.py) and are not personal data.
    return frame(field_name.encode())


def dek_associated_data(tenant_id: str, waybill_id: str, kek: KekRef) -> bytes:
    return _kek_dek_frame(tenant_id, kek) + frame(waybill_id.encode())


def _kek_dek_frame(tenant_id: str, kek: KekRef) -> bytes:
    # The leading parts of `dek_associated_data`, shared by every record wrapped under `kek`.
    return _DEK_FRAME_HEAD + frame(tenant_id.encode(), kek.kek_id.encode(), str(kek.version).encode())


def _sealed_fields(
    cipher: AESGCM, nonces: bytes, record_frame: bytes, waybill_id: str, fields: Mapping[str, str]
) -> dict[str, bytes]:
    """Each field sealed under `cipher`, the i-th with the i-th NONCE_BYTES of `nonces`."""
    encrypt = cipher.encrypt
    sealed = {}
    at = 0
    for name, value in fields.items():
        try:
            plaintext = value.encode("utf-8")
        except UnicodeEncodeError:
            # The codec's own message quotes the offending character.
            raise ValueError(f"waybill {waybill_id}: field {name} is not valid text") from None
        nonce = nonces[at : at + NONCE_BYTES]
        at += NONCE_BYTES
        sealed[name] = VERSION_BYTES + nonce + encrypt(nonce, plaintext, record_frame + _field_frame(name))
    return sealed


def shredded(record: SealedRecord) -> SealedRecord:
    """The record after crypto-shredding: no data key, no ciphertexts, key ids kept for audit."""
    return record._replace(wrapped_dek=None, ciphertexts={})


class Vault:
    """Seals and opens waybill fields; the only place personal data is decrypted."""

    def __init__(self, key_manager: KeyManager) -> None:
        self._key_manager = key_manager

    def seal(self, tenant_id: str, waybill_id: str, fields: Mapping[str, str]) -> SealedRecord:
        """Encrypt `fields` under a fresh data key, wrapped under the tenant's current KEK."""
        _require_ids(tenant_id, waybill_id)  # before the KEK look-up, which may create the tenant's KEK
        return self.sealer(tenant_id).seal(waybill_id, fields)

    def sealer(self, tenant_id: str) -> RecordSealer:
        """`seal` for many records of `tenant_id`, under the KEK current now (see RecordSealer)."""
        if not tenant_id:
            raise ValueError(_EMPTY_IDS)
        return RecordSealer(self._key_manager, tenant_id, self._key_manager.current_kek(tenant_id))

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
        return record._replace(
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


class RecordSealer:
    """Seals records of one tenant as `Vault.seal` does, all under one KEK.

    What depends only on the tenant and the KEK (the KEK look-up, the leading parts of the
    associated data) is done once when the sealer is made rather than per record. Make one
    per chunk of records: a KEK rotated meanwhile, in this process or another, is used from
    the next chunk on (records sealed under the previous version still open, and `rewrap`
    moves them).
    """

    __slots__ = ("_key_manager", "_tenant_id", "_kek", "_field_frame", "_dek_frame")

    def __init__(self, key_manager: KeyManager, tenant_id: str, kek: KekRef) -> None:
        self._key_manager = key_manager
        self._tenant_id = tenant_id
        self._kek = kek
        self._field_frame = _tenant_field_frame(tenant_id)
        self._dek_frame = _kek_dek_frame(tenant_id, kek)

    def __repr__(self) -> str:
        return f"RecordSealer({self._tenant_id!r}, {self._kek.kek_id!r} v{self._kek.version})"

    def seal(self, waybill_id: str, fields: Mapping[str, str]) -> SealedRecord:
        _require_ids(self._tenant_id, waybill_id)
        # The data key and every field's nonce from one system call: as independent as
        # separate draws, and one call instead of two.
        drawn = os.urandom(KEY_BYTES + NONCE_BYTES * len(fields))
        dek = DataKey(drawn[:KEY_BYTES])
        waybill_frame = frame(waybill_id.encode())
        ciphertexts = _sealed_fields(
            AESGCM(dek.material), drawn[KEY_BYTES:], self._field_frame + waybill_frame, waybill_id, fields
        )
        kek = self._kek
        wrapped = self._key_manager.wrap_dek(self._tenant_id, kek, dek, self._dek_frame + waybill_frame)
        return SealedRecord(kek.kek_id, kek.version, wrapped, ciphertexts)


_EMPTY_IDS = "tenant id and waybill id must not be empty"


def _require_ids(tenant_id: str, waybill_id: str) -> None:
    if not tenant_id or not waybill_id:
        raise ValueError(_EMPTY_IDS)
