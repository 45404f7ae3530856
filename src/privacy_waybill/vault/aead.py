"""The one sealed-bytes format shared by field ciphertexts, wrapped data keys and the key store.

Layout: ``version (1 byte) || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)``.
The version byte lets a later format coexist with this one; callers also put it into the
associated data, so a blob cannot be replayed under another version's rules.
Associated data is framed (each part length-prefixed) so no two part lists encode alike.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
VERSION_BYTES = bytes([FORMAT_VERSION])
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
_HEADER_BYTES = 1 + NONCE_BYTES


class BrokenSeal(Exception):
    """A sealed blob is malformed, of an unknown version, or fails authentication."""


def frame(*parts: bytes) -> bytes:
    """Unambiguous concatenation: ``("ab", "c")`` and ``("a", "bc")`` encode differently."""
    # A += loop beats join over a list comprehension for the two to six parts callers pass.
    framed = b""
    for part in parts:
        framed += len(part).to_bytes(4, "big") + part
    return framed


def seal(aead: AESGCM, plaintext: bytes, associated_data: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return VERSION_BYTES + nonce + aead.encrypt(nonce, plaintext, associated_data)


def unseal(aead: AESGCM, blob: bytes, associated_data: bytes) -> bytes:
    if len(blob) < _HEADER_BYTES + TAG_BYTES or blob[0] != FORMAT_VERSION:
        raise BrokenSeal
    try:
        return aead.decrypt(blob[1:_HEADER_BYTES], blob[_HEADER_BYTES:], associated_data)
    except InvalidTag:
        raise BrokenSeal from None
