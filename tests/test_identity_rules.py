"""Sign-in rules and credentials as pure functions: no database, the clock passed in."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher

from privacy_waybill.access.model import Role
from privacy_waybill.errors import FieldError
from privacy_waybill.identity import rules
from privacy_waybill.identity.credentials import (
    OneTimeCodes,
    Passwords,
    TotpSecrets,
    matching_totp_step,
    new_session_token,
    totp_uri,
)
from privacy_waybill.identity.model import CrowdPass, IdentityPolicy, OtpRecord, SessionRecord, User, UserStatus
from privacy_waybill.identity.notify import SimulatedNotifier
from privacy_waybill.vault.aead import BrokenSeal
from privacy_waybill.vault.keyring import KeyVersions

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
POLICY = IdentityPolicy()


def a_user(**changes: object) -> User:
    values: dict[str, object] = dict(
        id="u_1",
        username="clerk.one",
        role=Role.STATION_CLERK,
        tenant_id=None,
        hub=None,
        station="HZ10",
        status=UserStatus.ACTIVE,
        password_hash="",
        totp_sealed=None,
        totp_last_step=None,
        device_id=None,
        failed_attempts=0,
        locked_until=None,
        created_at=NOW,
    )
    return User(**{**values, **changes})  # type: ignore[arg-type]


# --- accounts -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ab", "Admin", "-admin", "a" * 65, "zhang wei", "张伟"])
def test_bad_usernames_are_refused_without_quoting_them(name: str) -> None:
    with pytest.raises(FieldError) as caught:
        rules.check_username(name)
    assert caught.value.field == "username" and name not in str(caught.value)


def test_passwords_must_be_12_to_256_characters() -> None:
    rules.check_new_password("x" * 12)
    for bad in ("x" * 11, "x" * 257):
        with pytest.raises(FieldError, match="password"):
            rules.check_new_password(bad)


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        (Role.MERCHANT, {"tenant_id": "acme"}),
        (Role.SORTING_OPERATOR, {"hub": "571"}),
        (Role.STATION_CLERK, {"station": "HZ10"}),
        (Role.CUSTOMER_SERVICE, {}),
        (Role.SECURITY_AUDITOR, {}),
        (Role.PLATFORM_ADMIN, {}),
    ],
)
def test_each_role_gets_exactly_its_scope_attribute(role: Role, scope: dict[str, str]) -> None:
    rules.check_scope(role, scope.get("tenant_id"), scope.get("hub"), scope.get("station"))
    if scope:
        with pytest.raises(FieldError, match="is required"):
            rules.check_scope(role, None, None, None)
    extra = "station" if "station" not in scope else "hub"
    with pytest.raises(FieldError, match="does not apply") as caught:
        rules.check_scope(role, **{"tenant_id": None, "hub": None, "station": None, **scope, extra: "X1"})
    assert caught.value.field == extra


def test_a_courier_may_carry_a_home_station_and_no_other_scope() -> None:
    rules.check_scope(Role.COURIER, None, None, None)
    rules.check_scope(Role.COURIER, None, None, "HZ10")
    for tenant_id, hub in (("acme", None), (None, "571")):
        with pytest.raises(FieldError, match="does not apply"):
            rules.check_scope(Role.COURIER, tenant_id, hub, None)


@pytest.mark.parametrize("role", [Role.CROWD_COURIER, Role.RECIPIENT, Role.PRINT_TERMINAL])
def test_roles_signing_in_otherwise_get_no_password_account(role: Role) -> None:
    with pytest.raises(FieldError, match="role"):
        rules.check_scope(role, None, None, None)


def test_staff_and_merchant_users_need_totp_and_only_couriers_need_a_device() -> None:
    assert [r for r in rules.PASSWORD_ROLES if not rules.needs_totp(r)] == [Role.ANONYMOUS]  # no account at all
    assert [r for r in Role if rules.needs_device(r)] == [Role.COURIER]


# --- lock-out, sessions, devices ------------------------------------------------------


def test_only_active_accounts_sign_in() -> None:
    assert [s for s in UserStatus if rules.may_sign_in(a_user(status=s))] == [UserStatus.ACTIVE]


def test_sessions_last_eight_hours_and_never_beyond_a_pass() -> None:
    assert rules.session_expiry(NOW, POLICY) == NOW + timedelta(hours=8)
    pass_end = NOW + timedelta(hours=2)
    assert rules.session_expiry(NOW, POLICY, pass_end) == pass_end
    assert rules.session_expiry(NOW, IdentityPolicy(session_lifetime=timedelta(hours=1))) == NOW + timedelta(hours=1)


def test_a_session_is_live_until_expiry_or_revocation() -> None:
    session = SessionRecord(b"h" * 32, "u_1", None, None, NOW, NOW + timedelta(hours=8), None)
    assert rules.session_is_live(session, NOW + timedelta(hours=7, minutes=59))
    assert not rules.session_is_live(session, NOW + timedelta(hours=8))
    revoked = SessionRecord(b"h" * 32, "u_1", None, None, NOW, NOW + timedelta(hours=8), NOW)
    assert not rules.session_is_live(revoked, NOW)


def test_a_bound_session_accepts_only_its_device() -> None:
    assert rules.device_matches(None, None) and rules.device_matches(None, "any-device")
    assert rules.device_matches("handset-0001", "handset-0001")
    assert not rules.device_matches("handset-0001", "handset-0002")
    assert not rules.device_matches("handset-0001", None)


# --- passes and OTPs ------------------------------------------------------------------


def test_a_pass_day_is_a_calendar_day_in_china_standard_time() -> None:
    start, end = rules.day_bounds(date(2026, 11, 24))
    assert start == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def test_a_pass_is_valid_from_the_start_of_its_day_until_its_end_unless_revoked() -> None:
    start, end = rules.day_bounds(date(2026, 11, 24))
    crowd_pass = CrowdPass("p_1", b"i" * 16, "R07", date(2026, 11, 24), start, end, "cli", NOW, None)
    assert not rules.pass_is_valid(crowd_pass, start - timedelta(seconds=1))
    assert rules.pass_is_valid(crowd_pass, start)
    assert rules.pass_is_valid(crowd_pass, end - timedelta(seconds=1))
    assert not rules.pass_is_valid(crowd_pass, end)
    revoked = CrowdPass("p_1", b"i" * 16, "R07", date(2026, 11, 24), start, end, "cli", NOW, NOW)
    assert not rules.pass_is_valid(revoked, NOW)


def test_routes_are_plain_identifiers() -> None:
    assert rules.check_route("HZ10-13") == "HZ10-13"
    with pytest.raises(FieldError, match="route"):
        rules.check_route("R 1; drop")


def test_an_otp_is_usable_once_within_its_lifetime_and_attempts() -> None:
    otp = OtpRecord("o_1", b"i" * 16, b"c" * 32, NOW + timedelta(minutes=5), 0, None, NOW)
    assert rules.otp_is_usable(otp, NOW + timedelta(minutes=4), POLICY)
    assert not rules.otp_is_usable(otp, NOW + timedelta(minutes=5), POLICY)
    used_up = OtpRecord("o_1", b"i" * 16, b"c" * 32, NOW + timedelta(minutes=5), 5, None, NOW)
    assert not rules.otp_is_usable(used_up, NOW, POLICY)
    consumed = OtpRecord("o_1", b"i" * 16, b"c" * 32, NOW + timedelta(minutes=5), 0, NOW, NOW)
    assert not rules.otp_is_usable(consumed, NOW, POLICY)


# --- credentials ----------------------------------------------------------------------


def test_passwords_are_argon2id_and_verify_only_the_right_password() -> None:
    passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    stored = passwords.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "correct horse battery")
    assert not passwords.verify(stored, "correct horse battery!")
    assert not passwords.verify("not a hash", "anything")


def test_weaker_stored_parameters_ask_for_a_rehash() -> None:
    weak = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)).hash("correct horse battery")
    assert Passwords(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)).needs_rehash(weak)


def test_session_tokens_are_256_random_bits_stored_as_sha256() -> None:
    token, stored = new_session_token()
    assert len(token) == 43 and stored == hashlib.sha256(token.encode()).digest()
    assert new_session_token()[0] != token


# Fixed, so the codes of the steps around NOW are known to differ from each other.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_totp_accepts_one_step_of_clock_drift(offset: int) -> None:
    code = pyotp.TOTP(TOTP_SECRET).at(NOW, counter_offset=offset)
    assert matching_totp_step(TOTP_SECRET, code, NOW, None) == pyotp.TOTP(TOTP_SECRET).timecode(NOW) + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_totp_refuses_codes_outside_the_window(offset: int) -> None:
    code = pyotp.TOTP(TOTP_SECRET).at(NOW, counter_offset=offset)
    assert matching_totp_step(TOTP_SECRET, code, NOW, None) is None


def test_a_totp_code_cannot_be_replayed() -> None:
    code = pyotp.TOTP(TOTP_SECRET).at(NOW)
    step = matching_totp_step(TOTP_SECRET, code, NOW, None)
    assert step is not None
    assert matching_totp_step(TOTP_SECRET, code, NOW, last_step=step) is None


def test_totp_secrets_are_sealed_to_their_user() -> None:
    secrets_box = TotpSecrets(KeyVersions.single(b"k" * 32))
    sealed = secrets_box.seal("u_1", TOTP_SECRET)
    assert TOTP_SECRET.encode() not in sealed
    assert secrets_box.unseal("u_1", sealed) == TOTP_SECRET
    with pytest.raises(BrokenSeal):
        secrets_box.unseal("u_2", sealed)
    with pytest.raises(BrokenSeal):
        TotpSecrets(KeyVersions.single(b"x" * 32)).unseal("u_1", sealed)


def test_the_provisioning_uri_names_the_issuer() -> None:
    assert totp_uri(TOTP_SECRET, "clerk.one").startswith("otpauth://totp/privacy-waybill:clerk.one?secret=")


def test_otp_codes_are_six_digits_hashed_with_a_key_and_bound_to_their_record() -> None:
    codes = OneTimeCodes(KeyVersions.single(b"k" * 32))
    code = codes.new_code()
    assert len(code) == 6 and code.isdigit()
    stored = codes.hash("o_1", code)
    assert codes.matches("o_1", code, stored)
    assert not codes.matches("o_2", code, stored)
    assert not OneTimeCodes(KeyVersions.single(b"x" * 32)).matches("o_1", code, stored)
    assert stored != hashlib.sha256(code.encode()).digest()


def test_the_simulated_notifier_logs_no_phone_number(caplog: pytest.LogCaptureFixture) -> None:
    notifier = SimulatedNotifier()
    with caplog.at_level(logging.INFO):
        notifier.send_otp("+8613812345678", "123456")
    assert notifier.last_code_for("+8613812345678") == "123456"
    assert "13812345678" not in caplog.text and "123456" not in caplog.text
    assert "13812345678" not in repr(notifier.sent)
