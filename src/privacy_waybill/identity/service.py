"""Sign-in as a service over a storage port: users and passwords, sessions, device binding,
crowd passes and phone OTPs. Each method takes `now`; none reads the clock itself."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import NoReturn, Protocol

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.errors import FieldError, NotFound
from privacy_waybill.identity import rules
from privacy_waybill.identity.credentials import (
    OneTimeCodes,
    Passwords,
    TotpSecrets,
    matching_totp_step,
    new_session_token,
    session_token_hash,
    totp_uri,
)
from privacy_waybill.identity.model import (
    DEFAULT_POLICY,
    CrowdPass,
    DeviceRejected,
    IdentityPolicy,
    NewUser,
    OtpFailed,
    OtpRecord,
    SessionRecord,
    SignedIn,
    SignInFailed,
    User,
    UserStatus,
)
from privacy_waybill.identity.notify import Notifier
from privacy_waybill.validation.phones import normalise_phone

log = logging.getLogger("privacy_waybill.identity")

_DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class IdentityStorePort(Protocol):
    def add_user(self, user: User) -> None: ...
    def user_by_username(self, username: str) -> User | None: ...
    def user_by_id(self, user_id: str) -> User | None: ...
    def count_failure(self, user_id: str) -> int: ...
    def record_success(self, user_id: str, totp_step: int | None, new_password_hash: str | None) -> bool: ...
    def set_device(self, user_id: str, device_id: str) -> None: ...
    def set_status(self, user_id: str, status: UserStatus) -> None: ...
    def add_session(self, session: SessionRecord) -> None: ...
    def session(self, token_hash: bytes) -> SessionRecord | None: ...
    def revoke_session(self, token_hash: bytes, now: datetime) -> None: ...
    def revoke_user_sessions(self, user_id: str, now: datetime) -> int: ...
    def add_pass(self, crowd_pass: CrowdPass) -> None: ...
    def pass_by_id(self, pass_id: str) -> CrowdPass | None: ...
    def passes_for_phone(self, phone_index: bytes) -> list[CrowdPass]: ...
    def revoke_pass(self, pass_id: str, now: datetime) -> None: ...
    def add_otp(self, otp: OtpRecord) -> None: ...
    def otps_created_after(self, phone_index: bytes, since: datetime) -> int: ...
    def latest_otp(self, phone_index: bytes) -> OtpRecord | None: ...
    def count_otp_attempt(self, otp_id: str) -> int: ...
    def consume_otp(self, otp_id: str, now: datetime) -> bool: ...


def check_device_id(device_id: str) -> str:
    if not _DEVICE_ID.match(device_id):
        raise FieldError("device", "must be 8-128 letters, digits, dots, colons, dashes or underscores")
    return device_id


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class IdentityService:
    def __init__(
        self,
        store: IdentityStorePort,
        passwords: Passwords,
        totp_secrets: TotpSecrets,
        codes: OneTimeCodes,
        phone_index: Callable[[str], bytes],
        notifier: Notifier,
        policy: IdentityPolicy = DEFAULT_POLICY,
    ) -> None:
        self.store = store
        self.passwords = passwords
        self.totp_secrets = totp_secrets
        self.codes = codes
        self.phone_index = phone_index
        self.notifier = notifier
        self.policy = policy

    # --- users -------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        password: str,
        role: Role,
        now: datetime,
        *,
        tenant_id: str | None = None,
        hub: str | None = None,
        station: str | None = None,
    ) -> NewUser:
        """Create an active user; staff roles get a TOTP secret, returned once as a URI."""
        rules.check_username(username)
        rules.check_new_password(password)
        rules.check_scope(role, tenant_id, hub, station)
        if self.store.user_by_username(username) is not None:
            raise FieldError("username", "is already taken")
        user_id = _new_id("u")
        secret = TotpSecrets.new_secret() if rules.needs_totp(role) else None
        user = User(
            id=user_id,
            username=username,
            role=role,
            tenant_id=tenant_id,
            hub=hub,
            station=station,
            status=UserStatus.ACTIVE,
            password_hash=self.passwords.hash(password),
            totp_sealed=self.totp_secrets.seal(user_id, secret) if secret else None,
            totp_last_step=None,
            device_id=None,
            failed_attempts=0,
            locked_until=None,
            created_at=now,
        )
        self.store.add_user(user)
        log.info("user %s added with role %s", user_id, role.value)
        return NewUser(user, totp_uri(secret, username) if secret else None)

    def bind_device(self, username: str, device_id: str, now: datetime) -> User:
        """Bind a courier's account to one device; sessions from the old device end."""
        user = self.user(username)
        if not rules.needs_device(user.role):
            raise FieldError("username", "only courier accounts are bound to a device")
        self.store.set_device(user.id, check_device_id(device_id))
        revoked = self.store.revoke_user_sessions(user.id, now)
        log.info("device bound for user %s; %d sessions revoked", user.id, revoked)
        return user

    def set_status(self, username: str, status: UserStatus, now: datetime) -> User:
        """Activate, lock or disable an account; leaving `active` ends its sessions."""
        user = self.user(username)
        self.store.set_status(user.id, status)
        if status is not UserStatus.ACTIVE:
            self.store.revoke_user_sessions(user.id, now)
        log.info("user %s is now %s", user.id, status.value)
        return user

    def user(self, username: str) -> User:
        """The user with this username; NotFound when there is none (an administrator's look-up)."""
        user = self.store.user_by_username(username)
        if user is None:
            raise NotFound("no such user")
        return user

    # --- sign-in with password ---------------------------------------------------------

    def sign_in(
        self, username: str, password: str, totp_code: str | None, device_id: str | None, now: datetime
    ) -> SignedIn:
        """A session for valid credentials.

        Raises SignInFailed (same for every credential problem, known user or not), or
        DeviceRejected for a courier whose credentials are right but whose device is not the
        bound one. Throttling is the caller's (per username and client, see identity.throttle).
        """
        user = self.store.user_by_username(username)
        if user is None:
            self.passwords.verify_decoy(password)
            log.info("sign-in failed: unknown user")
            raise SignInFailed()
        password_ok = self.passwords.verify(user.password_hash, password)
        totp_step = self._totp_step(user, totp_code, now) if password_ok else None
        if not password_ok or (rules.needs_totp(user.role) and totp_step is None):
            self._fail(user, now)
        if not rules.may_sign_in(user):
            log.info("sign-in refused: user %s is %s", user.id, user.status.value)
            raise SignInFailed()
        if rules.needs_device(user.role) and not (
            user.device_id is not None and rules.device_matches(user.device_id, device_id)
        ):
            log.info("sign-in refused: user %s from an unbound device", user.id)
            raise DeviceRejected()
        new_hash = self.passwords.hash(password) if self.passwords.needs_rehash(user.password_hash) else None
        if not self.store.record_success(user.id, totp_step, new_hash):
            # A parallel sign-in used this TOTP step (or a later one) first: a replay.
            log.info("sign-in refused: user %s replayed a TOTP code", user.id)
            raise SignInFailed()
        session_device = user.device_id if rules.needs_device(user.role) else None
        token, expires_at = self._open_session(
            now, rules.session_expiry(now, self.policy), session_device, user_id=user.id
        )
        log.info("user %s signed in", user.id)
        return SignedIn(token, expires_at, self._user_subject(user, session_device))

    def _totp_step(self, user: User, code: str | None, now: datetime) -> int | None:
        if user.totp_sealed is None or not code:
            return None
        secret = self.totp_secrets.unseal(user.id, user.totp_sealed)
        return matching_totp_step(secret, code.strip(), now, user.totp_last_step)

    def _fail(self, user: User, now: datetime) -> NoReturn:
        failures = self.store.count_failure(user.id)
        log.info("sign-in failed for user %s (%d in a row)", user.id, failures)
        raise SignInFailed()

    # --- sessions ----------------------------------------------------------------------

    def _open_session(
        self,
        now: datetime,
        expires_at: datetime,
        device_id: str | None,
        *,
        user_id: str | None = None,
        pass_id: str | None = None,
    ) -> tuple[str, datetime]:
        token, token_hash = new_session_token()
        self.store.add_session(
            SessionRecord(
                token_hash=token_hash,
                user_id=user_id,
                pass_id=pass_id,
                device_id=device_id,
                created_at=now,
                expires_at=expires_at,
                revoked_at=None,
            )
        )
        return token, expires_at

    def resolve_session(self, token: str, device_id: str | None, now: datetime) -> Subject | None:
        """The subject behind a live session used from its bound device, else None."""
        # The lookup is by the SHA-256 of the token: timing can at most reveal bits of a hash
        # of 256 random bits, which says nothing about any token.
        session = self.store.session(session_token_hash(token))
        if session is None or not rules.session_is_live(session, now):
            return None
        if not rules.device_matches(session.device_id, device_id):
            log.info("session used from another device")
            return None
        if session.user_id is not None:
            user = self.store.user_by_id(session.user_id)
            return self._user_subject(user, session.device_id) if user and rules.may_sign_in(user) else None
        crowd_pass = self.store.pass_by_id(session.pass_id) if session.pass_id is not None else None
        if crowd_pass is None or not rules.pass_is_valid(crowd_pass, now):
            return None
        return self._pass_subject(crowd_pass, session.device_id)

    def device_mismatch(self, token: str, device_id: str | None, now: datetime) -> str | None:
        """The actor of a live device-bound session presented from another device, else None.

        Lets the caller count device-id guesses against the session they target.
        """
        session = self.store.session(session_token_hash(token))
        if session is None or not rules.session_is_live(session, now):
            return None
        if rules.device_matches(session.device_id, device_id):
            return None
        return f"user:{session.user_id}" if session.user_id is not None else f"pass:{session.pass_id}"

    def sign_out(self, token: str, now: datetime) -> None:
        self.store.revoke_session(session_token_hash(token), now)

    def revoke_all_sessions(self, user_id: str, now: datetime) -> int:
        revoked = self.store.revoke_user_sessions(user_id, now)
        log.info("%d sessions of user %s revoked", revoked, user_id)
        return revoked

    @staticmethod
    def _user_subject(user: User, device_id: str | None) -> Subject:
        return Subject(
            actor=f"user:{user.id}",
            role=user.role,
            tenant_id=user.tenant_id,
            hub=user.hub,
            station=user.station,
            device=device_id,
        )

    @staticmethod
    def _pass_subject(crowd_pass: CrowdPass, device_id: str | None) -> Subject:
        return Subject(
            actor=f"pass:{crowd_pass.id}",
            role=Role.CROWD_COURIER,
            route=crowd_pass.route,
            pass_day=crowd_pass.day.isoformat(),
            device=device_id,
        )

    # --- crowd passes and phone OTP ----------------------------------------------------

    def _mobile_index(self, phone: str) -> tuple[str, bytes]:
        parsed = normalise_phone(phone)
        if parsed.kind != "mobile":
            raise FieldError("phone", "must be a mobile number that can receive text messages")
        return parsed.number, self.phone_index(parsed.canonical)

    def create_pass(self, phone: str, route: str, day: date, created_by: str, now: datetime) -> CrowdPass:
        """A pass for one crowd courier's phone, one route and one day (China Standard Time)."""
        _, phone_index = self._mobile_index(phone)
        starts_at, ends_at = rules.day_bounds(day)
        if ends_at <= now:
            raise FieldError("day", "is already over")
        crowd_pass = CrowdPass(
            id=_new_id("p"),
            phone_index=phone_index,
            route=rules.check_route(route),
            day=day,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
            created_at=now,
            revoked_at=None,
        )
        self.store.add_pass(crowd_pass)
        log.info("crowd pass %s created by %s for route %s on %s", crowd_pass.id, created_by, route, day)
        return crowd_pass

    def revoke_pass(self, pass_id: str, now: datetime) -> None:
        """End a pass early; its sessions stop resolving at once."""
        if self.store.pass_by_id(pass_id) is None:
            raise NotFound("no such pass")
        self.store.revoke_pass(pass_id, now)
        log.info("crowd pass %s revoked", pass_id)

    def _valid_pass(self, phone_index: bytes, now: datetime) -> CrowdPass | None:
        return next((p for p in self.store.passes_for_phone(phone_index) if rules.pass_is_valid(p, now)), None)

    def request_otp(self, phone: str, now: datetime) -> None:
        """Text a code to a phone holding a pass valid now.

        Returns the same way whether or not a code was sent (no pass, or over the hourly
        limit), so the answer never tells whether a phone holds a pass.
        """
        number, phone_index = self._mobile_index(phone)
        if self._valid_pass(phone_index, now) is None:
            log.info("OTP not sent: no valid pass")
            return
        if self.store.otps_created_after(phone_index, now - timedelta(hours=1)) >= self.policy.otp_requests_per_hour:
            log.warning("OTP not sent: hourly limit reached")
            return
        otp_id, code = _new_id("o"), OneTimeCodes.new_code()
        self.store.add_otp(
            OtpRecord(
                id=otp_id,
                phone_index=phone_index,
                code_hash=self.codes.hash(otp_id, code),
                expires_at=now + self.policy.otp_lifetime,
                attempts=0,
                consumed_at=None,
                created_at=now,
            )
        )
        self.notifier.send_otp(number, code, otp_id)
        log.info("OTP %s sent", otp_id)

    def verify_otp(self, phone: str, code: str, device_id: str | None, now: datetime) -> SignedIn:
        """A crowd-courier session for the latest code sent to this phone; OtpFailed otherwise.

        Only the latest code counts, each has `otp_max_attempts` tries, and the session ends
        with the pass's day at the latest.
        """
        _, phone_index = self._mobile_index(phone)
        device = check_device_id(device_id) if device_id is not None else None
        otp = self.store.latest_otp(phone_index)
        if otp is None or not rules.otp_is_usable(otp, now, self.policy):
            raise OtpFailed()
        if self.store.count_otp_attempt(otp.id) > self.policy.otp_max_attempts:
            raise OtpFailed()  # a concurrent guess used the last attempt
        if not self.codes.matches(otp.id, code.strip(), otp.code_hash):
            log.info("OTP %s: wrong code", otp.id)
            raise OtpFailed()
        crowd_pass = self._valid_pass(phone_index, now)
        if crowd_pass is None or not self.store.consume_otp(otp.id, now):
            raise OtpFailed()
        token, expires_at = self._open_session(
            now, rules.session_expiry(now, self.policy, crowd_pass.ends_at), device, pass_id=crowd_pass.id
        )
        log.info("crowd pass %s signed in", crowd_pass.id)
        return SignedIn(token, expires_at, self._pass_subject(crowd_pass, device))
