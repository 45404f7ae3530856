"""The identity code (身份码): a short-lived QR the recipient shows at the counter.

It carries the recipient's phone sealed (AES-256-GCM under the identity-code key) with its
expiry bound in as associated data, so the clerk's scanner reads an opaque string, the server alone
can open it, and a code copied off a screen stops working after two minutes. Opening it gives
the phone only to the station service, which turns it into blind indexes and never returns it.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.vault.aead import BrokenSeal, frame, seal, unseal
from privacy_waybill.vault.keyring import KeySource

PREFIX = "pwid1."
LIFETIME = timedelta(minutes=2)
_DOMAIN = b"pwb identity code v1"


class InvalidIdentityCode(PrivacyWaybillError):
    def __init__(self) -> None:
        super().__init__("the identity code is not valid or has expired; ask for a fresh one")


class IdentityCodes:
    """Codes sealed under the current key version; one minted just before a rotation still
    opens under the previous version for the rest of its two minutes."""

    def __init__(self, keys: KeySource, lifetime: timedelta = LIFETIME) -> None:
        self._keys = keys
        self.lifetime = lifetime

    def mint(self, phone_canonical: str, now: datetime) -> tuple[str, datetime]:
        expires_at = now + self.lifetime
        expiry = int(expires_at.timestamp()).to_bytes(8, "big")
        sealed = seal(AESGCM(self._keys.current()[1]), phone_canonical.encode(), frame(_DOMAIN, expiry))
        token = base64.urlsafe_b64encode(expiry + sealed).rstrip(b"=").decode("ascii")
        return PREFIX + token, expires_at

    def open(self, token: str, now: datetime) -> str:
        """The phone inside a live code; InvalidIdentityCode for anything else."""
        body = token.strip().removeprefix(PREFIX)
        if body == token.strip():
            raise InvalidIdentityCode()
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii") + b"=" * (-len(body) % 4))
        except (UnicodeEncodeError, binascii.Error, ValueError):
            raise InvalidIdentityCode() from None
        expiry, sealed = raw[:8], raw[8:]
        if len(expiry) < 8 or int.from_bytes(expiry, "big") <= now.timestamp():
            raise InvalidIdentityCode()
        for _, key in self._keys.accepted():
            try:
                return unseal(AESGCM(key), sealed, frame(_DOMAIN, expiry)).decode()
            except (BrokenSeal, UnicodeDecodeError):
                continue
        raise InvalidIdentityCode()
