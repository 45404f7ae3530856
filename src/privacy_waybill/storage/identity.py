"""Repository for sign-in records (the IdentityStorePort of identity.service) and the
wiring of an IdentityService from a runtime's database and keys.

Counters (failed sign-ins, OTP attempts) are incremented inside the database, so concurrent
guesses cannot each read the same old count and slip past a limit.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, RowMapping, Table, func, insert, or_, select, update

from privacy_waybill.access.model import Role
from privacy_waybill.identity.credentials import OneTimeCodes, Passwords, TotpSecrets
from privacy_waybill.identity.model import (
    DEFAULT_POLICY,
    CrowdPass,
    IdentityPolicy,
    OtpRecord,
    SessionRecord,
    User,
    UserStatus,
)
from privacy_waybill.identity.notify import Notifier
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.storage import identity_tables as tables
from privacy_waybill.vault.blind_index import BlindIndexer
from privacy_waybill.vault.platform_keys import PLATFORM_KEY_TENANT
from privacy_waybill.vault.purpose_keys import PurposeKeys

# Declarative classes type __table__ as a FromClause; these are Tables, which DML needs.
USERS = cast(Table, tables.User.__table__)
SESSIONS = cast(Table, tables.UserSession.__table__)
PASSES = cast(Table, tables.CrowdPass.__table__)
OTPS = cast(Table, tables.PhoneOtp.__table__)


def _row(record: Any) -> dict[str, Any]:
    """A record dataclass as column values (its field names are the column names)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _user(row: RowMapping) -> User:
    return User(**{**row, "role": Role(row["role"]), "status": UserStatus(row["status"])})


class IdentityStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- users -------------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(USERS).values(_row(user)))

    def _one_user(self, condition: Any) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(USERS).where(condition)).mappings().first()
        return _user(row) if row else None

    def user_by_username(self, username: str) -> User | None:
        return self._one_user(USERS.c.username == username)

    def user_by_id(self, user_id: str) -> User | None:
        return self._one_user(USERS.c.id == user_id)

    def all_users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(USERS).order_by(USERS.c.role, USERS.c.username)).mappings()
            return [_user(row) for row in rows]

    def active_users(self, role: Role, station: str) -> list[User]:
        stmt = (
            select(USERS)
            .where(USERS.c.role == role.value, USERS.c.station == station, USERS.c.status == UserStatus.ACTIVE.value)
            .order_by(USERS.c.username)
        )
        with self.engine.connect() as conn:
            return [_user(row) for row in conn.execute(stmt).mappings()]

    def count_failure(self, user_id: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                update(USERS)
                .where(USERS.c.id == user_id)
                .values(failed_attempts=USERS.c.failed_attempts + 1)
                .returning(USERS.c.failed_attempts)
            ).scalar_one()

    def record_success(self, user_id: str, totp_step: int | None, new_password_hash: str | None) -> bool:
        """Reset the failure count and take the TOTP step; False when the step was already taken.

        The step is taken by one conditional UPDATE, so of two parallel sign-ins with the same
        code exactly one succeeds.
        """
        values: dict[str, Any] = {"failed_attempts": 0, "locked_until": None}
        statement = update(USERS).where(USERS.c.id == user_id)
        if totp_step is not None:
            values["totp_last_step"] = totp_step
            statement = statement.where(or_(USERS.c.totp_last_step.is_(None), USERS.c.totp_last_step < totp_step))
        if new_password_hash is not None:
            values["password_hash"] = new_password_hash
        with self.engine.begin() as conn:
            return conn.execute(statement.values(**values)).rowcount == 1

    def set_device(self, user_id: str, device_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(USERS).where(USERS.c.id == user_id).values(device_id=device_id))

    def set_status(self, user_id: str, status: UserStatus) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(USERS).where(USERS.c.id == user_id).values(status=status.value))

    # --- sessions ----------------------------------------------------------------------

    def add_session(self, session: SessionRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(SESSIONS).values(_row(session)))

    def session(self, token_hash: bytes) -> SessionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(SESSIONS).where(SESSIONS.c.token_hash == token_hash)).mappings().first()
        return SessionRecord(**row) if row else None

    def revoke_session(self, token_hash: bytes, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(SESSIONS)
                .where(SESSIONS.c.token_hash == token_hash, SESSIONS.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    def revoke_user_sessions(self, user_id: str, now: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                update(SESSIONS)
                .where(SESSIONS.c.user_id == user_id, SESSIONS.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount

    # --- crowd passes and OTPs ---------------------------------------------------------

    def add_pass(self, crowd_pass: CrowdPass) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(PASSES).values(_row(crowd_pass)))

    def pass_by_id(self, pass_id: str) -> CrowdPass | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(PASSES).where(PASSES.c.id == pass_id)).mappings().first()
        return CrowdPass(**row) if row else None

    def passes_for_phone(self, phone_index: bytes) -> list[CrowdPass]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(PASSES).where(PASSES.c.phone_index == phone_index).order_by(PASSES.c.starts_at)
            ).mappings()
            return [CrowdPass(**row) for row in rows]

    def revoke_pass(self, pass_id: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(PASSES).where(PASSES.c.id == pass_id).values(revoked_at=now))

    def add_otp(self, otp: OtpRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(OTPS).values(_row(otp)))

    def otps_created_after(self, phone_index: bytes, since: datetime) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).where(OTPS.c.phone_index == phone_index, OTPS.c.created_at > since)
            ).scalar_one()

    def latest_otp(self, phone_index: bytes) -> OtpRecord | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(OTPS).where(OTPS.c.phone_index == phone_index).order_by(OTPS.c.created_at.desc()).limit(1)
                )
                .mappings()
                .first()
            )
        return OtpRecord(**row) if row else None

    def count_otp_attempt(self, otp_id: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                update(OTPS).where(OTPS.c.id == otp_id).values(attempts=OTPS.c.attempts + 1).returning(OTPS.c.attempts)
            ).scalar_one()

    def consume_otp(self, otp_id: str, now: datetime) -> bool:
        """Mark the code used; False when another request redeemed it first."""
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    update(OTPS).where(OTPS.c.id == otp_id, OTPS.c.consumed_at.is_(None)).values(consumed_at=now)
                ).rowcount
                == 1
            )


def build_identity(
    engine: Engine,
    keys: PurposeKeys,
    blind_index: BlindIndexer,
    notifier: Notifier,
    policy: IdentityPolicy = DEFAULT_POLICY,
    passwords: Passwords | None = None,
) -> IdentityService:
    """The sign-in service on `engine`, with its secrets under their own purpose keys.

    Crowd couriers' phones are indexed under the platform's key-store tenant: they belong to
    no merchant, and their index never matches a recipient phone's.
    """
    return IdentityService(
        store=IdentityStore(engine),
        passwords=passwords or Passwords(),
        totp_secrets=TotpSecrets(keys.ring("totp")),
        codes=OneTimeCodes(keys.ring("otp")),
        phone_index=lambda canonical: blind_index.index(PLATFORM_KEY_TENANT, "phone", canonical),
        notifier=notifier,
        policy=policy,
    )
