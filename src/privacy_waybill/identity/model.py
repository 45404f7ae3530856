"""The records of sign-in (users, sessions, crowd passes, OTPs), its settings and its errors.

Only hashes, keyed hashes and sealed secrets are held here: a session token, a password, an
OTP or a crowd courier's phone number never appears in a record, and no repr shows a hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.errors import PrivacyWaybillError


class UserStatus(StrEnum):
    ACTIVE = "active"
    # Set by an administrator and kept until one clears it. Failed sign-ins never lock an
    # account (anyone could lock anyone out): they are throttled per (username, client).
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """Tunable limits; the defaults follow SPEC 6 and common practice (OWASP ASVS 2.2)."""

    session_lifetime: timedelta = timedelta(hours=8)
    otp_lifetime: timedelta = timedelta(minutes=5)
    otp_max_attempts: int = 5
    otp_requests_per_hour: int = 5


DEFAULT_POLICY = IdentityPolicy()


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str = field(repr=False)
    role: Role
    tenant_id: str | None
    hub: str | None
    station: str | None
    status: UserStatus
    password_hash: str = field(repr=False)
    totp_sealed: bytes | None = field(repr=False)
    totp_last_step: int | None
    device_id: str | None = field(repr=False)
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A session as stored: the SHA-256 of its token, never the token."""

    token_hash: bytes = field(repr=False)
    user_id: str | None
    pass_id: str | None
    device_id: str | None = field(repr=False)
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class CrowdPass:
    """A crowd-sourced courier's pass: one phone (as a blind index), one route, one day.

    `starts_at`/`ends_at` are the bounds of `day` in China Standard Time.
    """

    id: str
    phone_index: bytes = field(repr=False)
    route: str
    day: date
    starts_at: datetime
    ends_at: datetime
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class OtpRecord:
    id: str
    phone_index: bytes = field(repr=False)
    code_hash: bytes = field(repr=False)
    expires_at: datetime
    attempts: int
    consumed_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session. The token is shown to its holder once and stored only as a hash."""

    token: str = field(repr=False)
    expires_at: datetime
    subject: Subject


@dataclass(frozen=True, slots=True)
class NewUser:
    """A created user and, for staff roles, the TOTP provisioning URI to show once."""

    user: User
    totp_uri: str | None = field(repr=False)


class SignInFailed(PrivacyWaybillError):
    """Unknown user, wrong password, wrong TOTP code or an inactive account: one message for
    all, so an answer never tells whether a username exists."""

    def __init__(self) -> None:
        super().__init__("the credentials are not valid")


class DeviceRejected(PrivacyWaybillError):
    """A courier signed in from a device that is not the one bound to the account."""

    def __init__(self) -> None:
        super().__init__("this device is not registered for the account")


class OtpFailed(PrivacyWaybillError):
    """Wrong, expired, used-up or absent code, or no valid pass: one message for all."""

    def __init__(self) -> None:
        super().__init__("the code is not valid or has expired")
