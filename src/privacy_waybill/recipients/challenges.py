"""One-time phone codes for recipients, on the sign-in module's OTP records and rules.

A challenge is keyed by a blind index: of the recipient's phone for portal sign-in, of a
waybill for a pickup at the counter, so the two never share a code or an attempt count. Codes
live five minutes, allow five tries and are used once (identity.model.IdentityPolicy).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Protocol

from privacy_waybill.identity import rules
from privacy_waybill.identity.credentials import OneTimeCodes
from privacy_waybill.identity.model import DEFAULT_POLICY, IdentityPolicy, OtpRecord


class OtpStorePort(Protocol):
    def add_otp(self, otp: OtpRecord) -> None: ...
    def otps_created_after(self, phone_index: bytes, since: datetime) -> int: ...
    def latest_otp(self, phone_index: bytes) -> OtpRecord | None: ...
    def count_otp_attempt(self, otp_id: str) -> int: ...
    def consume_otp(self, otp_id: str, now: datetime) -> bool: ...


class OtpChallenges:
    def __init__(self, store: OtpStorePort, codes: OneTimeCodes, policy: IdentityPolicy = DEFAULT_POLICY) -> None:
        self._store = store
        self._codes = codes
        self._policy = policy

    def issue(self, key: bytes, now: datetime) -> str | None:
        """A new code for `key`, or None when the hourly number of codes is used up."""
        if self._store.otps_created_after(key, now - timedelta(hours=1)) >= self._policy.otp_requests_per_hour:
            return None
        otp_id, code = f"o_{secrets.token_hex(8)}", OneTimeCodes.new_code()
        self._store.add_otp(
            OtpRecord(
                id=otp_id,
                phone_index=key,
                code_hash=self._codes.hash(otp_id, code),
                expires_at=now + self._policy.otp_lifetime,
                attempts=0,
                consumed_at=None,
                created_at=now,
            )
        )
        return code

    def redeem(self, key: bytes, code: str, now: datetime) -> bool:
        """True once for the latest live code of `key`; every try counts against its attempts."""
        otp = self._store.latest_otp(key)
        if otp is None or not rules.otp_is_usable(otp, now, self._policy):
            return False
        if self._store.count_otp_attempt(otp.id) > self._policy.otp_max_attempts:
            return False
        if not self._codes.matches(otp.id, code.strip(), otp.code_hash):
            return False
        return self._store.consume_otp(otp.id, now)
