"""Signed checkpoints: (sequence, chain head hash, time) signed with Ed25519.

The hash chain alone can be rewritten from the first changed entry onwards by anyone with
write access to the table; a signed checkpoint pins the head at its sequence, so a rewrite or
a cut below a checkpoint is caught unless the signing key was also stolen. The key is the
audit purpose's key in the key store, never stored in the database; the public key is stored
with each checkpoint so an auditor can check signatures with the public key alone.

The audit key rotates (`pwb keys rotate --purpose audit`): new entries are chained and new
heads signed under the new version, each entry records the version that chained it and each
checkpoint the key id that signed it, and verification trusts every version. Old versions are
never retired: the whole log must stay verifiable for as long as it is kept.
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
from privacy_waybill.vault.keyring import KeySource

DEFAULT_CHECKPOINT_EVERY = 100
DEFAULT_CHECKPOINT_SECONDS = 60


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
    and nothing else in the platform shares it. `version` is the seed's key version.
    """

    __slots__ = ("_private", "public_key", "key_id", "chain_key", "version")

    def __init__(self, seed: bytes, version: int = 1) -> None:
        self.version = version
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


class AuditKeys:
    """Every version of the audit key as signers: the current one chains and signs, all verify."""

    __slots__ = ("_seeds", "_signers")

    def __init__(self, seeds: KeySource) -> None:
        self._seeds = seeds
        self._signers: dict[int, tuple[bytes, CheckpointSigner]] = {}

    def __repr__(self) -> str:
        return f"AuditKeys(current={self.current().key_id!r})"

    def _signer(self, version: int, seed: bytes) -> CheckpointSigner:
        cached = self._signers.get(version)
        if cached is None or cached[0] != seed:
            cached = self._signers[version] = (seed, CheckpointSigner(seed, version))
        return cached[1]

    def current(self) -> CheckpointSigner:
        return self._signer(*self._seeds.current())

    def every_version(self) -> list[CheckpointSigner]:
        return [self._signer(version, seed) for version, seed in self._seeds.all_versions()]

    def chain_keys(self) -> dict[int, bytes]:
        """Each version's chain key, by the version entries record."""
        return {signer.version: signer.chain_key for signer in self.every_version()}

    def trusted_keys(self) -> dict[str, bytes]:
        """Each version's public key, by the key id checkpoints record."""
        return {signer.key_id: signer.public_key for signer in self.every_version()}


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
