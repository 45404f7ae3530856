"""Provider callbacks are signed and replay-proof.

The provider signs `timestamp \\n nonce \\n body` with HMAC-SHA256 under a shared secret and
sends the three in headers. We refuse a missing or wrong signature, a timestamp more than the
allowed skew away from our clock, and a nonce seen before (nonces are kept for twice the
skew, after which the timestamp check alone refuses a replay).

The secret is the current version of the callback key; while the provider switches to a new
one, the previous version is still accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from privacy_waybill.telephony.model import CallbackRejected
from privacy_waybill.vault.keyring import KeySource

TIMESTAMP_HEADER = "X-Pwb-Timestamp"
NONCE_HEADER = "X-Pwb-Nonce"
SIGNATURE_HEADER = "X-Pwb-Signature"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class CallbackSigner:
    def __init__(self, secrets: KeySource, skew: timedelta = timedelta(minutes=5)) -> None:
        self._secrets = secrets
        self.skew = skew

    def signature(self, timestamp: str, nonce: str, body: bytes) -> str:
        return _signature(self._secrets.current()[1], timestamp, nonce, body)

    def _signed_by_an_accepted_secret(self, timestamp: str, nonce: str, body: bytes, signature: str) -> bool:
        matched = False
        for _, secret in self._secrets.accepted():
            matched |= hmac.compare_digest(_signature(secret, timestamp, nonce, body), signature)
        return matched

    def headers(self, body: bytes, now: datetime, nonce: str) -> dict[str, str]:
        """What a provider (or the simulator) sends with a callback body."""
        timestamp = str(int(now.timestamp()))
        return {
            TIMESTAMP_HEADER: timestamp,
            NONCE_HEADER: nonce,
            SIGNATURE_HEADER: self.signature(timestamp, nonce, body),
        }

    def verify(
        self,
        timestamp: str | None,
        nonce: str | None,
        signature: str | None,
        body: bytes,
        now: datetime,
        remember_nonce: Callable[[str, datetime], bool],
    ) -> None:
        """Raise CallbackRejected unless the callback is authentic, fresh and new.

        `remember_nonce(nonce, keep_until)` stores the nonce and answers False when it was
        already stored (an atomic insert), so two copies of one callback cannot both pass.
        """
        if not (timestamp and nonce and signature) or not timestamp.isdigit() or not _NONCE.match(nonce):
            raise CallbackRejected("the callback is not signed")
        if not self._signed_by_an_accepted_secret(timestamp, nonce, body, signature.lower()):
            raise CallbackRejected("the callback's signature does not match")
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
        if abs(now - sent_at) > self.skew:
            raise CallbackRejected("the callback's timestamp is too far from now")
        if not remember_nonce(nonce, now + 2 * self.skew):
            raise CallbackRejected("the callback was already received (replay)")


def _signature(secret: bytes, timestamp: str, nonce: str, body: bytes) -> str:
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
