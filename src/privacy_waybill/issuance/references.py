"""Signed opaque references for the label's QR code.

A token is the URL-safe base64 of a waybill's public id followed by a truncated
HMAC-SHA256 tag. It names the waybill without holding personal data, and without the key
nobody can mint a token for another waybill, so scanning labels does not enable enumeration.

The key is versioned (purpose "qr-reference"). A token made under version 1 is exactly the
token of before keys had versions, so every label already printed still scans; a later
version is written in front as ``<version>.`` and bound into the tag, and a token is checked
with the version it names. Old versions stay for as long as labels made with them are live.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.vault.keyring import KeySource, UnknownKeyVersion

TAG_BYTES = 8
MIN_KEY_BYTES = 16
MAX_ID_BYTES = 32
# Binds tags to this use, so a key shared with another HMAC use cannot be replayed here.
_DOMAIN = b"privacy-waybill/qr-reference/v1\x00"
VERSION_SEPARATOR = "."
_VERSION_DIGITS = 6


class InvalidReference(PrivacyWaybillError):
    """The token was not issued with this key, or was altered."""


def _tag(public_id: bytes, key: bytes, version: int) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"reference key must be at least {MIN_KEY_BYTES} bytes")
    domain = _DOMAIN if version == 1 else _DOMAIN + f"key-version {version}\x00".encode()
    return hmac.new(key, domain + public_id, hashlib.sha256).digest()[:TAG_BYTES]


def make_reference(public_id: bytes, keys: KeySource) -> str:
    """The token for `public_id` under the current key version (32 characters for a 16-byte id at version 1)."""
    if not 1 <= len(public_id) <= MAX_ID_BYTES:
        raise ValueError(f"public id must be 1 to {MAX_ID_BYTES} bytes")
    version, key = keys.current()
    raw = public_id + _tag(public_id, key, version)
    body = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    return body if version == 1 else f"{version}{VERSION_SEPARATOR}{body}"


def _split_version(token: str) -> tuple[int, str]:
    prefix, separator, body = token.rpartition(VERSION_SEPARATOR)
    if not separator:
        return 1, token
    # Exactly one spelling per version: digits, no leading zero, and never 1 (written bare).
    if not (prefix.isascii() and prefix.isdigit() and len(prefix) <= _VERSION_DIGITS and prefix[0] != "0"):
        raise InvalidReference("reference is not a valid token")
    version = int(prefix)
    if version < 2:
        raise InvalidReference("reference is not a valid token")
    return version, body


def verify_reference(token: str, keys: KeySource) -> bytes:
    """The public id inside `token`; raises InvalidReference unless made with the key version it names."""
    version, body = _split_version(token)
    try:
        key = keys.key(version)
    except UnknownKeyVersion:
        raise InvalidReference("reference is not a valid token") from None
    try:
        padded = body.encode("ascii") + b"=" * (-len(body) % 4)
        raw = base64.urlsafe_b64decode(padded)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise InvalidReference("reference is not a valid token") from None
    public_id, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    # Re-encoding rejects the non-canonical spellings base64 would otherwise accept
    # (stray characters, other trailing bits), so exactly one token names each waybill.
    canonical = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    if (
        not 1 <= len(public_id) <= MAX_ID_BYTES
        or canonical != body
        or not hmac.compare_digest(tag, _tag(public_id, key, version))
    ):
        raise InvalidReference("reference is not a valid token")
    return public_id


def reference_url(base_url: str, token: str) -> str:
    """The URL a phone camera opens, e.g. ``http://127.0.0.1:8000/t/<token>``."""
    return f"{base_url.rstrip('/')}/t/{token}"
