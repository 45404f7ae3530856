"""The sign-in rules as small pure functions: who may have an account, when an account is
locked out, when a session, pass or OTP is still good. The clock is always an argument."""

from __future__ import annotations

import hmac
import re
from datetime import UTC, date, datetime, time, timedelta, timezone

from privacy_waybill.access.model import STAFF_ROLES, Role
from privacy_waybill.errors import FieldError
from privacy_waybill.identity.model import CrowdPass, IdentityPolicy, OtpRecord, SessionRecord, User, UserStatus

# Crowd couriers and recipients sign in by phone OTP and print terminals are registered
# apart; every other role has a username and password.
PASSWORD_ROLES = frozenset(Role) - {Role.CROWD_COURIER, Role.RECIPIENT, Role.PRINT_TERMINAL}

# The scope attribute each role is bounded by (access.model.Subject); others must stay unset.
SCOPE_ATTRIBUTE: dict[Role, str] = {
    Role.MERCHANT: "tenant_id",
    Role.SORTING_OPERATOR: "hub",
    Role.STATION_CLERK: "station",
}
# Scope a role may carry without being bounded by it: a courier's home station, which
# dispatch checks (a station assigns parcels only to its own couriers).
OPTIONAL_SCOPE_ATTRIBUTE: dict[Role, str] = {Role.COURIER: "station"}

# A pass day is a calendar day where the courier works; China keeps one offset all year.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_SCOPE_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def check_username(username: str) -> str:
    if not _USERNAME.match(username):
        raise FieldError("username", "must be 3-64 lowercase letters, digits, dots, dashes or underscores")
    return username


def check_new_password(password: str) -> str:
    # Length is what resists guessing (NIST SP 800-63B 5.1.1.2); composition rules are not asked.
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise FieldError("password", f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long")
    return password


def check_scope(role: Role, tenant_id: str | None, hub: str | None, station: str | None) -> None:
    """A role gets exactly the scope attribute it is bounded by, and no other."""
    if role not in PASSWORD_ROLES:
        raise FieldError("role", "does not sign in with a password")
    given = {"tenant_id": tenant_id, "hub": hub, "station": station}
    wanted = SCOPE_ATTRIBUTE.get(role)
    for name, value in given.items():
        if name == wanted and value is None:
            raise FieldError(name, f"is required for the role {role.value}")
        if name != wanted and value is not None and OPTIONAL_SCOPE_ATTRIBUTE.get(role) != name:
            raise FieldError(name, f"does not apply to the role {role.value}")
        if value is not None and not _SCOPE_VALUE.match(value):
            raise FieldError(name, "must be 1-64 letters, digits, dashes or underscores")


def needs_totp(role: Role) -> bool:
    # Merchant users can decrypt their orders in full: a password alone is not enough.
    return role in STAFF_ROLES or role is Role.MERCHANT


def needs_device(role: Role) -> bool:
    return role is Role.COURIER


def may_sign_in(user: User) -> bool:
    return user.status is UserStatus.ACTIVE


def session_expiry(now: datetime, policy: IdentityPolicy, pass_ends_at: datetime | None = None) -> datetime:
    """A session lives `session_lifetime`, and a crowd courier's never beyond the pass's day."""
    expiry = now + policy.session_lifetime
    return min(expiry, pass_ends_at) if pass_ends_at is not None else expiry


def session_is_live(session: SessionRecord, now: datetime) -> bool:
    return session.revoked_at is None and now < session.expires_at


def device_matches(bound: str | None, presented: str | None) -> bool:
    """True when the session is not device-bound or is used from its own device."""
    if bound is None:
        return True
    return presented is not None and hmac.compare_digest(bound.encode(), presented.encode())


def check_route(route: str) -> str:
    if not _SCOPE_VALUE.match(route):
        raise FieldError("route", "must be 1-64 letters, digits, dashes or underscores")
    return route


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of a calendar day in China Standard Time, as UTC instants."""
    start = datetime.combine(day, time(), CHINA_STANDARD_TIME)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def pass_is_valid(crowd_pass: CrowdPass, now: datetime) -> bool:
    return crowd_pass.revoked_at is None and crowd_pass.starts_at <= now < crowd_pass.ends_at


def otp_is_usable(otp: OtpRecord, now: datetime, policy: IdentityPolicy) -> bool:
    return otp.consumed_at is None and now < otp.expires_at and otp.attempts < policy.otp_max_attempts
