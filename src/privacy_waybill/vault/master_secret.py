"""Where the master secret comes from, and which secrets are refused.

The master secret unlocks the local key store. It comes from ``PWB_MASTER_SECRET`` or from a
file only its owner can read; well-known defaults and obviously guessable values are refused
before they can protect anything.
"""

from __future__ import annotations

import math
import os
import secrets
import stat
import string
from pathlib import Path

from privacy_waybill.vault.errors import (
    InsecurePermissions,
    KeyStoreError,
    WeakMasterSecret,
)

MASTER_SECRET_ENV = "PWB_MASTER_SECRET"
MIN_LENGTH = 32
# Low enough that a random hex secret (16 symbols) never trips it, high enough to catch
# repeated short patterns that a long length would otherwise pass off as strong.
MIN_DISTINCT_CHARACTERS = 10
MIN_ESTIMATED_BITS = 256
# Substrings that mark a secret copied from documentation, a tutorial or a default config.
WELL_KNOWN_WORDS = (
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "default",
    "example",
    "letmein",
    "qwerty",
    "123456",
)
_CHARACTER_CLASSES = (
    (frozenset(string.digits), 10),
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.punctuation + " "), 33),
)
_NON_ASCII_POOL = 256


def estimated_entropy_bits(secret: str) -> float:
    """Length times log2 of the pool of character classes used: a ceiling, not a proof.

    It only catches secrets that cannot possibly be strong; scrypt in the key store makes
    guessing expensive for the ones that merely look strong.
    """
    characters = set(secret)
    pool = sum(size for members, size in _CHARACTER_CLASSES if characters & members)
    if any(not ch.isascii() for ch in characters):
        pool += _NON_ASCII_POOL
    return len(secret) * math.log2(pool) if pool else 0.0


def master_secret_problem(secret: str) -> str | None:
    """Why `secret` is refused, or None when it is acceptable."""
    lowered = secret.lower()
    if len(secret) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    if any(word in lowered for word in WELL_KNOWN_WORDS):
        return "contains a well-known default or dictionary word"
    if len(set(secret)) < MIN_DISTINCT_CHARACTERS:
        return f"uses fewer than {MIN_DISTINCT_CHARACTERS} distinct characters"
    if estimated_entropy_bits(secret) < MIN_ESTIMATED_BITS:
        return f"carries less than {MIN_ESTIMATED_BITS} bits of estimated entropy"
    return None


def check_master_secret(secret: bytes) -> None:
    """Raise `WeakMasterSecret` unless `secret` is UTF-8 text that passes every rule."""
    try:
        text = secret.decode("utf-8")
    except UnicodeDecodeError:
        raise WeakMasterSecret("not UTF-8 text") from None
    problem = master_secret_problem(text)
    if problem is not None:
        raise WeakMasterSecret(problem)


def refuse_loose_permissions(path: Path) -> None:
    """Raise `InsecurePermissions` when group or others have any access to `path`."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InsecurePermissions(path, mode)


def configured_master_secret(file_path: Path) -> bytes:
    """The master secret as configured: ``PWB_MASTER_SECRET``, else the file (`load_master_secret`)."""
    return load_master_secret(os.environ.get(MASTER_SECRET_ENV), file_path)


def load_master_secret(env_value: str | None, file_path: Path) -> bytes:
    """The master secret from ``PWB_MASTER_SECRET`` if set (even empty), else from `file_path`.

    Surrounding whitespace is dropped (editors and ``echo`` add newlines). Raises
    `WeakMasterSecret`, `InsecurePermissions` or `KeyStoreError` when there is none.
    """
    if env_value is not None:
        secret = env_value.strip().encode("utf-8")
    else:
        try:
            refuse_loose_permissions(file_path)
            secret = file_path.read_bytes().strip()
        except FileNotFoundError:
            raise KeyStoreError(
                f"no master secret: set PWB_MASTER_SECRET or create {file_path} with `pwb init`"
            ) from None
    check_master_secret(secret)
    return secret


def create_master_secret_file(path: Path) -> None:
    """Write a fresh random master secret to `path` (mode 0600); never overwrites a file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = _random_master_secret()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyStoreError(f"{path} already exists; refusing to overwrite the master secret") from None
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secret + "\n")
        file.flush()
        os.fsync(file.fileno())


def _random_master_secret() -> str:
    # 384 random bits; drawn again in the (about one in 10^7) case that the random text
    # happens to contain a refused word, so a generated secret is always accepted.
    while True:
        candidate = secrets.token_urlsafe(48)
        if master_secret_problem(candidate) is None:
            return candidate
