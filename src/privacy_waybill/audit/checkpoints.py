"""Signed checkpoints: (sequence, chain head hash, time) signed with Ed25519.

The hash chain alone can be rewritten from the first changed entry onwards by anyone with
write access to the table; a signed checkpoint pins the head at its sequence, so a rewrite or
a cut below a checkpoint is caught unless the signing key was also stolen. The key is derived
from the key store's platform root, never stored in the database; the public key is stored
with each checkpoint so an auditor can check signatures with the public key alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from privacy_waybill.audit.chain import canonical_json
from privacy_waybill.vault.keys import KeyManager
from privacy_waybill.vault.platform_keys import platform_key

DEFAULT_CHECKPOINT_EVERY = 100
DEFAULT_CHECKPOINT_SECONDS = 60
SIGNING_KEY_INFO = b"pwb audit-signing v1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    head_hash: bytes
    at: str
    key_id: str
    public_key: bytes
    signature: bytes


def checkpoint_message(seq: int, head_hash: bytes, at: str, key_id: str) -> bytes:
    return canonical_json(["pwb-audit-checkpoint/1", seq, head_hash.hex(), at, key_id]).encode()


def key_id_of(public_key: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()[:16]


class CheckpointSigner:
    """Signs checkpoints with one Ed25519 key and holds the chain's HMAC key; `repr` shows the key id only.

    Both come from one audit seed (HKDF apart), so the audit purpose has one key to rotate
    and nothing else in the platform shares it.
    """

    __slots__ = ("_private", "public_key", "key_id", "chain_key")

    def __init__(self, seed: bytes) -> None:
        self.chain_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pwb audit-chain v1").derive(seed)
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id_of(self.public_key)

    def __repr__(self) -> str:
        return f"CheckpointSigner(key_id={self.key_id!r})"

    def sign(self, seq: int, head_hash: bytes, at: str) -> Checkpoint:
        signature = self._private.sign(checkpoint_message(seq, head_hash, at, self.key_id))
        return Checkpoint(seq, head_hash, at, self.key_id, self.public_key, signature)


    def sign_tree_head(self, size: int, root: bytes, at: str) -> bytes:
        """An Ed25519 signature over an RFC 6962 tree head (size, root, time) of the log."""
        return self._private.sign(tree_head_message(size, root, at, self.key_id))


def tree_head_message(size: int, root: bytes, at: str, key_id: str) -> bytes:
    return canonical_json(["pwb-audit-tree-head/1", size, root.hex(), at, key_id]).encode()


def signer_from_keys(keys: KeyManager) -> CheckpointSigner:
    """The platform's checkpoint signer, derived with HKDF apart from every other platform key."""
    return CheckpointSigner(platform_key(keys, SIGNING_KEY_INFO))


def signature_valid(checkpoint: Checkpoint, trusted_keys: Mapping[str, bytes]) -> bool:
    """True when a trusted key with the checkpoint's key id signed exactly its fields.

    The stored public key must equal the trusted one: a forger could otherwise sign with a
    key of their own and store it alongside.
    """
    trusted = trusted_keys.get(checkpoint.key_id)
    if trusted is None or trusted != checkpoint.public_key:
        return False
    message = checkpoint_message(checkpoint.seq, checkpoint.head_hash, checkpoint.at, checkpoint.key_id)
    try:
        Ed25519PublicKey.from_public_bytes(trusted).verify(checkpoint.signature, message)
    except InvalidSignature:
        return False
    return True
