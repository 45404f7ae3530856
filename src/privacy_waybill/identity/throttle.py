"""Throttles on sign-in and phone OTPs, keyed so that no username, phone or address is kept.

A password guesser is limited per (username, client) and per client: the same answer for an
existing and a made-up username, and a stranger elsewhere cannot lock the real user out (there
is no account-wide lock-out). OTP guesses are limited per client and per phone.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime

from privacy_waybill.ratelimit import Limit, RateLimiter, Throttled
from privacy_waybill.vault.keyring import KeySource

TAG_BYTES = 16


class CredentialThrottle:
    def __init__(self, limiter: RateLimiter, limits: Mapping[str, Limit], keys: KeySource) -> None:
        self._limiter = limiter
        self._limits = limits
        self._keys = keys

    def tag(self, *parts: str) -> str:
        """A keyed hash of `parts`: the counter key, never the values themselves.

        Under the key's current version, asked for each time, so a running server follows a
        rotation made by another process (the counters then restart, as the purpose declares)."""
        message = "\x1f".join(parts).encode()
        return hmac.digest(self._keys.current()[1], message, "sha256")[:TAG_BYTES].hex()

    def _hit_all(self, now: datetime, counted: list[tuple[str, str]]) -> None:
        """Count the attempt under every (limit, key); raise Throttled when any is over."""
        verdicts = [self._limiter.hit(self._limits[name], key, now) for name, key in counted]
        refused = [v for v in verdicts if not v.allowed]
        if refused:
            raise Throttled(max(v.retry_after_seconds for v in refused))

    def sign_in_attempt(self, username: str, client: str, now: datetime) -> None:
        self._hit_all(
            now,
            [
                ("sign_in.client", self.tag("client", client)),
                ("sign_in.user_client", self.tag("user-client", username.strip().lower(), client)),
            ],
        )

    def signed_in(self, username: str, client: str, now: datetime) -> None:
        self._limiter.reset(
            self._limits["sign_in.user_client"], self.tag("user-client", username.strip().lower(), client), now
        )

    def otp_request(self, client: str, now: datetime) -> None:
        self._hit_all(now, [("otp_request.client", self.tag("client", client))])

    def otp_verify_attempt(self, phone: str, client: str, now: datetime) -> None:
        digits = "".join(c for c in phone if c.isdigit())[-11:]
        self._hit_all(
            now,
            [("otp_verify.client", self.tag("client", client)), ("otp_verify.phone", self.tag("phone", digits))],
        )

    def device_mismatch(self, session_key: str, now: datetime) -> None:
        """Count a wrong device id presented with a live session; Throttled past the limit."""
        self._hit_all(now, [("device_mismatch.session", self.tag("session", session_key))])
