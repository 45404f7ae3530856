"""Secrets of sign-in: argon2id password hashes, TOTP secrets sealed with AES-GCM, random
session tokens stored as SHA-256, and one-time phone codes stored as keyed hashes.

Session tokens carry 256 random bits, so a plain SHA-256 suffices to store them; OTPs have only
10^6 values, so their hash is keyed (HMAC) with a platform secret: a database dump alone
cannot brute-force them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from privacy_waybill.vault.aead import frame
from privacy_waybill.vault.keyring import KeySource, VersionedSeal

TOTP_ISSUER = "privacy-waybill"
# One step either side of now: RFC 6238 section 5.2 recommends at most one for clock drift.
TOTP_WINDOW = 1
OTP_DIGITS = 6


# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): ~40 ms a verify on 2 cores, where
# argon2-cffi's RFC 9106 default (64 MiB, 3 passes, 4 lanes) took ~316 ms and would let a
# login flood exhaust the CPU.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class Passwords:
    """argon2id hashing (argon2-cffi)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PASSWORD_HASHER
        # Verifying against this when the username is unknown makes that answer take as
        # long as a wrong password for a real user.
        self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_decoy(self, password: str) -> None:
        self.verify(self._decoy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def new_session_token() -> tuple[str, bytes]:
    """A fresh token and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, session_token_hash(token)


def session_token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TotpSecrets:
    """TOTP secrets sealed under the TOTP key, each bound to its user id and naming its key version."""

    def __init__(self, keys: KeySource) -> None:
        self._seal = VersionedSeal(keys)

    @staticmethod
    def new_secret() -> str:
        return pyotp.random_base32()

    def seal(self, user_id: str, secret: str) -> bytes:
        return self._seal.seal(secret.encode(), frame(b"pwb/totp", user_id.encode()))

    def unseal(self, user_id: str, sealed: bytes) -> str:
        return self._seal.open(sealed, frame(b"pwb/totp", user_id.encode())).decode()

    def reseal(self, user_id: str, sealed: bytes) -> bytes | None:
        """The secret sealed under the current key version; None when it already is."""
        return self._seal.reseal(sealed, frame(b"pwb/totp", user_id.encode()))


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def matching_totp_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to within the window, else None.

    A step at or before `last_step` is refused, so an observed code cannot be replayed.
    """
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    matched = None
    for offset in range(-TOTP_WINDOW, TOTP_WINDOW + 1):
        # Every candidate is compared, in constant time, whatever matched before.
        if hmac.compare_digest(totp.at(now, counter_offset=offset).encode(), code.encode()):
            matched = current + offset
    if matched is None or (last_step is not None and matched <= last_step):
        return None
    return matched


class OneTimeCodes:
    """Six-digit phone codes and their keyed hashes, each bound to its OTP record id.

    Hashes are made under the current key version; a code issued just before a rotation still
    matches under the previous one until it expires.
    """

    def __init__(self, keys: KeySource) -> None:
        self._keys = keys

    @staticmethod
    def new_code() -> str:
        return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"

    def hash(self, otp_id: str, code: str) -> bytes:
        return _code_hash(self._keys.current()[1], otp_id, code)

    def matches(self, otp_id: str, code: str, stored: bytes) -> bool:
        # Every accepted version is compared, so the time taken does not tell which matched.
        found = False
        for _, key in self._keys.accepted():
            found |= hmac.compare_digest(_code_hash(key, otp_id, code), stored)
        return found


def _code_hash(key: bytes, otp_id: str, code: str) -> bytes:
    return hmac.new(key, frame(otp_id.encode(), code.encode()), hashlib.sha256).digest()
