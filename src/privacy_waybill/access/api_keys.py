"""Merchant API keys: `pwb_<key id>_<secret>`, of which only a SHA-256 of the secret is stored.

The secret is 256 random bits, so a fast hash is enough (no password stretching needed) and
lets every request be checked in microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    ORDERS_WRITE = "orders:write"
    ORDERS_READ = "orders:read"
    LABELS_READ = "labels:read"
    # Queueing print jobs sends labels to terminals: a write, apart from downloading a label.
    LABELS_PRINT = "labels:print"


MERCHANT_SCOPES: tuple[Scope, ...] = (Scope.ORDERS_WRITE, Scope.ORDERS_READ, Scope.LABELS_READ, Scope.LABELS_PRINT)

_KEY_PATTERN = re.compile(r"^pwb_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key_id: str
    secret_hash: bytes
    token: str

    def __repr__(self) -> str:  # the token is a credential: keep it out of logs and tracebacks
        return f"NewApiKey(key_id={self.key_id!r})"


def new_api_key() -> NewApiKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(key_id=key_id, secret_hash=hash_secret(secret), token=f"pwb_{key_id}_{secret}")


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, else None."""
    match = _KEY_PATTERN.match(token)
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
