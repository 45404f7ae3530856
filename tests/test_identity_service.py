"""Sign-in end to end on SQLite and PostgreSQL: accounts, lock-out, TOTP, sessions, device
binding, crowd passes and phone OTPs, and nothing usable or personal left in the tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from privacy_waybill.access.model import Role
from privacy_waybill.errors import FieldError, NotFound
from privacy_waybill.identity.model import (
    SignedIn,
    DeviceRejected,
    NewUser,
    OtpFailed,
    SignInFailed,
    UserStatus,
)
from privacy_waybill.identity.notify import SimulatedNotifier
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage import identity_tables as tables

NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # 09:30 in China
TODAY = date(2026, 11, 24)
PASSWORD = "correct horse battery"
PHONE = "13812345678"
E164 = "+8613812345678"
HANDSET = "handset-0001"


def totp_code(created: NewUser, at: datetime, offset: int = 0) -> str:
    assert created.totp_uri is not None
    return pyotp.parse_uri(created.totp_uri).at(at, counter_offset=offset)  # type: ignore[union-attr]


def add_clerk(identity: IdentityService) -> NewUser:
    return identity.add_user("clerk.one", PASSWORD, Role.STATION_CLERK, NOW, station="HZ10")


def add_merchant_user(identity: IdentityService) -> NewUser:
    return identity.add_user("shop.owner", PASSWORD, Role.MERCHANT, NOW, tenant_id="default")


def merchant_sign_in(identity: IdentityService, created: NewUser, steps_later: int = 0) -> SignedIn:
    """Password and TOTP, `steps_later` 30-second steps after NOW (each code opens one session)."""
    at = NOW + timedelta(seconds=30 * steps_later)
    return identity.sign_in("shop.owner", PASSWORD, totp_code(created, at), None, at)


# --- accounts and password sign-in ----------------------------------------------------


def test_staff_sign_in_with_password_and_totp(identity: IdentityService) -> None:
    created = add_clerk(identity)
    signed_in = identity.sign_in("clerk.one", PASSWORD, totp_code(created, NOW), None, NOW)
    assert signed_in.expires_at == NOW + timedelta(hours=8)
    subject = identity.resolve_session(signed_in.token, None, NOW)
    assert subject is not None
    assert (subject.actor, subject.role, subject.station) == (f"user:{created.user.id}", Role.STATION_CLERK, "HZ10")


def test_merchant_users_need_totp_too(identity: IdentityService) -> None:
    created = add_merchant_user(identity)
    assert created.totp_uri is not None
    with pytest.raises(SignInFailed):
        identity.sign_in("shop.owner", PASSWORD, None, None, NOW)
    subject = identity.resolve_session(merchant_sign_in(identity, created).token, None, NOW)
    assert subject is not None and subject.tenant_id == "default"


def test_usernames_are_unique(identity: IdentityService) -> None:
    add_clerk(identity)
    with pytest.raises(FieldError, match="already taken"):
        identity.add_user("clerk.one", PASSWORD, Role.COURIER, NOW)


@pytest.mark.parametrize(
    ("username", "password", "use_totp"),
    [("nobody", PASSWORD, True), ("clerk.one", "wrong password!", True), ("clerk.one", PASSWORD, False)],
    ids=["unknown user", "wrong password", "missing totp"],
)
def test_every_credential_failure_looks_the_same(
    identity: IdentityService, username: str, password: str, use_totp: bool
) -> None:
    created = add_clerk(identity)
    with pytest.raises(SignInFailed) as caught:
        identity.sign_in(username, password, totp_code(created, NOW) if use_totp else None, None, NOW)
    assert str(caught.value) == "the credentials are not valid"


def test_wrong_totp_outside_the_window_or_replayed_is_refused(identity: IdentityService) -> None:
    created = add_clerk(identity)
    with pytest.raises(SignInFailed):
        identity.sign_in("clerk.one", PASSWORD, totp_code(created, NOW, offset=-2), None, NOW)
    code = totp_code(created, NOW, offset=1)
    identity.sign_in("clerk.one", PASSWORD, code, None, NOW)
    with pytest.raises(SignInFailed):
        identity.sign_in("clerk.one", PASSWORD, code, None, NOW)


def test_failures_never_lock_the_account_so_a_stranger_cannot_lock_a_user_out(identity: IdentityService) -> None:
    created = add_merchant_user(identity)
    for _ in range(20):
        with pytest.raises(SignInFailed):
            identity.sign_in("shop.owner", "wrong password!", None, None, NOW)
    assert identity.store.user_by_id(created.user.id).failed_attempts == 20  # type: ignore[union-attr]
    merchant_sign_in(identity, created)
    assert identity.store.user_by_id(created.user.id).failed_attempts == 0  # type: ignore[union-attr]


def test_a_success_resets_the_failure_count(identity: IdentityService) -> None:
    created = add_merchant_user(identity)
    for _ in range(4):
        with pytest.raises(SignInFailed):
            identity.sign_in("shop.owner", "wrong password!", None, None, NOW)
    merchant_sign_in(identity, created)
    assert identity.store.user_by_id(created.user.id).failed_attempts == 0  # type: ignore[union-attr]
    with pytest.raises(SignInFailed):
        identity.sign_in("shop.owner", "wrong password!", None, None, NOW)


@pytest.mark.parametrize("status", [UserStatus.LOCKED, UserStatus.DISABLED])
def test_locked_or_disabled_accounts_cannot_sign_in_and_lose_their_sessions(
    identity: IdentityService, status: UserStatus
) -> None:
    created = add_merchant_user(identity)
    token = merchant_sign_in(identity, created).token
    identity.set_status("shop.owner", status, NOW)
    assert identity.resolve_session(token, None, NOW) is None
    with pytest.raises(SignInFailed):
        merchant_sign_in(identity, created, 1)
    identity.set_status("shop.owner", UserStatus.ACTIVE, NOW)
    merchant_sign_in(identity, created, 2)


# --- sessions -------------------------------------------------------------------------


def test_sessions_expire(identity: IdentityService) -> None:
    token = merchant_sign_in(identity, add_merchant_user(identity)).token
    assert identity.resolve_session(token, None, NOW + timedelta(hours=7, minutes=59)) is not None
    assert identity.resolve_session(token, None, NOW + timedelta(hours=8)) is None


def test_sign_out_and_revoke_all(identity: IdentityService) -> None:
    created = add_merchant_user(identity)
    first, second, third = (merchant_sign_in(identity, created, n).token for n in range(3))
    identity.sign_out(first, NOW)
    assert identity.resolve_session(first, None, NOW) is None
    assert identity.resolve_session(second, None, NOW) is not None
    assert identity.revoke_all_sessions(created.user.id, NOW) == 2
    assert identity.resolve_session(second, None, NOW) is None and identity.resolve_session(third, None, NOW) is None


def test_unknown_tokens_resolve_to_nobody(identity: IdentityService) -> None:
    assert identity.resolve_session("not-a-token", None, NOW) is None


# --- couriers' devices ----------------------------------------------------------------


def add_courier(identity: IdentityService) -> NewUser:
    return identity.add_user("courier.one", PASSWORD, Role.COURIER, NOW)


def test_a_courier_without_a_bound_device_cannot_sign_in(identity: IdentityService) -> None:
    created = add_courier(identity)
    with pytest.raises(DeviceRejected):
        identity.sign_in("courier.one", PASSWORD, totp_code(created, NOW), HANDSET, NOW)


def test_a_courier_session_works_only_from_the_bound_device(identity: IdentityService) -> None:
    created = add_courier(identity)
    identity.bind_device("courier.one", HANDSET, NOW)
    with pytest.raises(DeviceRejected):
        identity.sign_in("courier.one", PASSWORD, totp_code(created, NOW), "handset-0002", NOW)
    signed_in = identity.sign_in("courier.one", PASSWORD, totp_code(created, NOW, offset=1), HANDSET, NOW)
    assert signed_in.subject.device == HANDSET
    assert identity.resolve_session(signed_in.token, HANDSET, NOW) is not None
    assert identity.resolve_session(signed_in.token, "handset-0002", NOW) is None
    assert identity.resolve_session(signed_in.token, None, NOW) is None


def test_rebinding_a_device_ends_the_old_devices_sessions(identity: IdentityService) -> None:
    created = add_courier(identity)
    identity.bind_device("courier.one", HANDSET, NOW)
    token = identity.sign_in("courier.one", PASSWORD, totp_code(created, NOW), HANDSET, NOW).token
    identity.bind_device("courier.one", "handset-0002", NOW)
    assert identity.resolve_session(token, HANDSET, NOW) is None


def test_only_couriers_are_bound_and_device_ids_are_checked(identity: IdentityService) -> None:
    add_clerk(identity)
    add_courier(identity)
    with pytest.raises(FieldError, match="only courier"):
        identity.bind_device("clerk.one", HANDSET, NOW)
    with pytest.raises(FieldError, match="device"):
        identity.bind_device("courier.one", "bad id", NOW)
    with pytest.raises(NotFound):
        identity.bind_device("nobody", HANDSET, NOW)


# --- crowd passes and phone OTP -------------------------------------------------------


def sign_in_by_otp(identity: IdentityService, notifier: SimulatedNotifier, at: datetime) -> str:
    identity.request_otp(PHONE, at)
    code = notifier.last_code_for(E164)
    assert code is not None
    return identity.verify_otp(PHONE, code, None, at).token


def test_a_crowd_courier_signs_in_by_otp_into_its_route_and_day(
    identity: IdentityService, notifier: SimulatedNotifier
) -> None:
    crowd_pass = identity.create_pass(PHONE, "HZ10-13", TODAY, "user:u_admin", NOW)
    identity.request_otp("+86 138-1234-5678", NOW)
    code = notifier.last_code_for(E164)
    assert code is not None
    signed_in = identity.verify_otp(PHONE, code, HANDSET, NOW)
    subject = identity.resolve_session(signed_in.token, HANDSET, NOW)
    assert subject is not None
    assert (subject.actor, subject.role, subject.route, subject.pass_day) == (
        f"pass:{crowd_pass.id}",
        Role.CROWD_COURIER,
        "HZ10-13",
        "2026-11-24",
    )
    assert identity.resolve_session(signed_in.token, "handset-0002", NOW) is None


def test_a_pass_session_ends_with_the_day(identity: IdentityService, notifier: SimulatedNotifier) -> None:
    crowd_pass = identity.create_pass(PHONE, "HZ10-13", TODAY, "user:u_admin", NOW)
    evening = crowd_pass.ends_at - timedelta(hours=2)
    token = sign_in_by_otp(identity, notifier, evening)
    assert identity.resolve_session(token, None, crowd_pass.ends_at - timedelta(seconds=1)) is not None
    assert identity.resolve_session(token, None, crowd_pass.ends_at) is None


def test_no_code_is_sent_outside_the_pass_day_or_without_a_pass(
    identity: IdentityService, notifier: SimulatedNotifier
) -> None:
    identity.request_otp(PHONE, NOW)
    crowd_pass = identity.create_pass(PHONE, "HZ10-13", TODAY + timedelta(days=1), "user:u_admin", NOW)
    identity.request_otp(PHONE, NOW)
    identity.request_otp(PHONE, crowd_pass.ends_at)
    assert notifier.sent == []
    identity.request_otp(PHONE, crowd_pass.starts_at)
    assert len(notifier.sent) == 1


def test_a_revoked_pass_ends_its_sessions(identity: IdentityService, notifier: SimulatedNotifier) -> None:
    crowd_pass = identity.create_pass(PHONE, "HZ10-13", TODAY, "user:u_admin", NOW)
    token = sign_in_by_otp(identity, notifier, NOW)
    identity.revoke_pass(crowd_pass.id, NOW)
    assert identity.resolve_session(token, None, NOW) is None


def test_passes_cannot_start_in_the_past_or_go_to_landlines(identity: IdentityService) -> None:
    with pytest.raises(FieldError, match="day"):
        identity.create_pass(PHONE, "HZ10-13", TODAY - timedelta(days=1), "user:u_admin", NOW)
    with pytest.raises(FieldError, match="phone"):
        identity.create_pass("0571-88888888", "HZ10-13", TODAY, "user:u_admin", NOW)


def test_an_otp_expires_after_five_minutes(identity: IdentityService, notifier: SimulatedNotifier) -> None:
    identity.create_pass(PHONE, "HZ10-13", TODAY, "user:u_admin", NOW)
    identity.request_otp(PHONE, NOW)
    code = notifier.last_code_for(E164)
    assert code is not None
    with pytest.raises(OtpFailed):
        identity.verify_otp(PHONE, code, None, NOW + timedelta(minutes=5))


def test_an_otp_allows_five_attempts_and_one_use(identity: IdentityService, notifier: SimulatedNotifier) -> None:
    identity.create_pass(PHONE, "HZ10-13", TODAY, "user:u_admin", NOW)
    identity.request_otp(PHONE, NOW)
    code = notifier.last_code_for(E164)
    assert code is not None
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        with pytest.raises(OtpFailed):
            identity.verify_otp(PHONE, wrong, None, NOW)
    identity.verify_otp(PHONE, code, None, NOW)  # the fifth attempt may still be right
    with pytest.raises(OtpFailed):
        identity.verify_otp(PHONE, code, None, NOW)

    identity.request_otp(PHONE, NOW + timedelta(minutes=1))
    code = notifier.last_code_for(E164)
    assert code is not None
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(OtpFailed):
            identity.verify_otp(PHONE, wrong, None, NOW + timedelta(minutes=1))
    with pytest.raises(OtpFailed):  # used up: even the right code is refused
        identity.verify_otp(PHONE, code, None, NOW + timedelta(minutes=1))


def test_only_five_codes_an_hour_are_sent(identity: IdentityService, notifier: SimulatedNotifier) -> None:
    identity.create_pass(PHONE, "HZ10-13", TODAY, "user:u_admin", NOW)
    for minute in range(7):
        identity.request_otp(PHONE, NOW + timedelta(minutes=minute))
    assert len(notifier.sent) == 5
    identity.request_otp(PHONE, NOW + timedelta(hours=1))
    assert len(notifier.sent) == 6


# --- at rest --------------------------------------------------------------------------


def test_tables_hold_no_credential_or_phone_in_the_clear(
    rt: Runtime, identity: IdentityService, notifier: SimulatedNotifier
) -> None:
    created = add_clerk(identity)
    session_token = identity.sign_in("clerk.one", PASSWORD, totp_code(created, NOW), None, NOW).token
    identity.create_pass(PHONE, "HZ10-13", TODAY, "user:u_admin", NOW)
    identity.request_otp(PHONE, NOW)
    otp = notifier.last_code_for(E164)
    assert created.totp_uri is not None and otp is not None
    totp_secret = pyotp.parse_uri(created.totp_uri).secret  # type: ignore[union-attr]
    secrets = [PASSWORD, totp_secret, session_token, PHONE, otp]
    with rt.engine.connect() as conn:
        dump = repr(
            [
                list(conn.execute(select(table)))
                for table in (tables.User, tables.UserSession, tables.CrowdPass, tables.PhoneOtp)
            ]
        )
    for secret in secrets:
        assert secret not in dump
        assert secret.encode().hex() not in dump
