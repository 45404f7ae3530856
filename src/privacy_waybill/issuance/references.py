"""Signed opaque references for the label's QR code.

A token is the URL-safe base64 of a waybill's public id followed by a truncated
HMAC-SHA256 tag. It names the waybill without holding personal data, and without the key
nobody can mint a token for another waybill, so scanning labels does not enable enumeration.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from privacy_waybill.errors import PrivacyWaybillError

TAG_BYTES = 8
MIN_KEY_BYTES = 16
MAX_ID_BYTES = 32
# Binds tags to this use, so a key shared with another HMAC use cannot be replayed here.
_DOMAIN = b"privacy-waybill/qr-reference/v1\x00"


class InvalidReference(PrivacyWaybillError):
    """The token was not issued with this key, or was altered."""


def _tag(public_id: bytes, key: bytes) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"reference key must be at least {MIN_KEY_BYTES} bytes")
    return hmac.new(key, _DOMAIN + public_id, hashlib.sha256).digest()[:TAG_BYTES]


def make_reference(public_id: bytes, key: bytes) -> str:
    """The token for `public_id` (32 characters for a 16-byte id)."""
    if not 1 <= len(public_id) <= MAX_ID_BYTES:
        raise ValueError(f"public id must be 1 to {MAX_ID_BYTES} bytes")
    raw = public_id + _tag(public_id, key)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def verify_reference(token: str, key: bytes) -> bytes:
    """The public id inside `token`; raises InvalidReference if it was not made with `key`."""
    try:
        padded = token.encode("ascii") + b"=" * (-len(token) % 4)
        raw = base64.urlsafe_b64decode(padded)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise InvalidReference("reference is not a valid token") from None
    public_id, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    # Re-encoding rejects the non-canonical spellings base64 would otherwise accept
    # (stray characters, other trailing bits), so exactly one token names each waybill.
    canonical = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    if (
        not 1 <= len(public_id) <= MAX_ID_BYTES
        or canonical != token
        or not hmac.compare_digest(tag, _tag(public_id, key))
    ):
        raise InvalidReference("reference is not a valid token")
    return public_id


def reference_url(base_url: str, token: str) -> str:
    """The URL a phone camera opens, e.g. ``http://127.0.0.1:8000/t/<token>``."""
    return f"{base_url.rstrip('/')}/t/{token}"
