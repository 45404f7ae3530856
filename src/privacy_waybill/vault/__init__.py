"""The personal-data vault: envelope encryption per waybill, tenant keys, blind indexes.

Pure Python on `cryptography`; storage keeps what `Vault.seal` returns and knows no keys.
"""

from __future__ import annotations

from privacy_waybill.vault.blind_index import INDEX_BYTES, BlindIndexer
from privacy_waybill.vault.envelope import SealedRecord, Vault, shredded
from privacy_waybill.vault.errors import (
    DecryptionFailed,
    FieldNotSealed,
    InsecurePermissions,
    KeyShredded,
    KeyStoreError,
    KeyStoreExists,
    KeyStoreMissing,
    KeyNotRetirable,
    KeyUnwrapFailed,
    UnknownKey,
    VaultError,
    WeakMasterSecret,
    WrongMasterSecret,
)
from privacy_waybill.vault.keys import (
    BlindIndexKey,
    DataKey,
    KekRef,
    KeyEncryptionKey,
    KeyManager,
)
from privacy_waybill.vault.local_keys import LocalKeyManager
from privacy_waybill.vault.master_secret import (
    configured_master_secret,
    create_master_secret_file,
    load_master_secret,
)

__all__ = [
    "INDEX_BYTES",
    "BlindIndexKey",
    "BlindIndexer",
    "DataKey",
    "DecryptionFailed",
    "FieldNotSealed",
    "InsecurePermissions",
    "KekRef",
    "KeyEncryptionKey",
    "KeyManager",
    "KeyShredded",
    "KeyStoreError",
    "KeyStoreExists",
    "KeyStoreMissing",
    "KeyNotRetirable",
    "KeyUnwrapFailed",
    "LocalKeyManager",
    "SealedRecord",
    "UnknownKey",
    "Vault",
    "VaultError",
    "WeakMasterSecret",
    "WrongMasterSecret",
    "configured_master_secret",
    "create_master_secret_file",
    "load_master_secret",
    "shredded",
]
