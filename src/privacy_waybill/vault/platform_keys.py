"""Platform-wide secrets (QR references, audit signing, TOTP, OTP), each derived apart.

They hang off a reserved key-store tenant that no real tenant id can equal (tenant ids are
lowercase letters, digits and dashes), and HKDF with a distinct `info` per purpose keeps
any one derived key from telling anything about another.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privacy_waybill.vault.keys import KeyManager

PLATFORM_KEY_TENANT = "_platform"


def platform_key(keys: KeyManager, info: bytes) -> bytes:
    root = keys.blind_index_key(PLATFORM_KEY_TENANT).material
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root)
