"""Rotating one purpose's key: a new version, then the data that must move to it; and
retiring an old version once nothing needs it any more.

For purposes that seal stored values (`Rotation.RESEAL`), every stored value sealed under an
older version is opened and sealed again under the new one, in one transaction: either every
row moves or none does, and the older version still opens whatever has not moved, so a failed
re-seal loses nothing. Other purposes need no data moved (see `PURPOSES` for what each keeps).

Values a process writes in the second after the rotation, before it reloads the key store,
are still sealed under the previous version; they stay readable and move at the next rotation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Engine, Table, func, select, update

from privacy_waybill.delivery.service import courier_line_context
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.identity.credentials import TotpSecrets
from privacy_waybill.issuance.lifecycle import TERMINAL
from privacy_waybill.notifications.service import OutboxSeals
from privacy_waybill.stations.wiring import LEAK_REPORT_SEAL_DOMAIN, SESSION_SEAL_DOMAIN, ContextSeal
from privacy_waybill.storage.delivery_tables import CourierLine
from privacy_waybill.storage.identity_tables import User
from privacy_waybill.storage.models import Base, Waybill
from privacy_waybill.storage.notification_tables import NotificationOutbox
from privacy_waybill.storage.station_tables import LeakReport, RecipientSession
from privacy_waybill.storage.telephony_tables import Binding
from privacy_waybill.telephony.service import PhoneSeals
from privacy_waybill.vault.aead import BrokenSeal
from privacy_waybill.vault.errors import KeyNotRetirable
from privacy_waybill.vault.keyring import KeySource, VersionedSeal, sealed_version
from privacy_waybill.vault.purpose_keys import PurposeKeys, Rotation

# (row id, sealed blob) -> the blob under the current version, or None when it already is.
Resealer = Callable[[object, bytes], bytes | None]


class ResealFailed(PrivacyWaybillError):
    def __init__(self, table: str, column: str) -> None:
        super().__init__(
            f"a value in {table}.{column} does not open under the key version it names; nothing was re-sealed "
            "(the new key version is current and the older ones still open every value)"
        )


@dataclass(frozen=True, slots=True)
class SealedColumn:
    table: Table
    id_column: str
    column: str
    reseal: Resealer


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _totp(keys: KeySource) -> list[SealedColumn]:
    totp = TotpSecrets(keys)
    return [SealedColumn(_table(User), "id", "totp_sealed", lambda i, b: totp.reseal(str(i), b))]


def _axb_phones(keys: KeySource) -> list[SealedColumn]:
    phones = PhoneSeals(keys)
    return [
        SealedColumn(_table(Binding), "id", "a_sealed", lambda i, b: phones.reseal(str(i), "a", b)),
        SealedColumn(_table(Binding), "id", "b_sealed", lambda i, b: phones.reseal(str(i), "b", b)),
    ]


def _outbox(keys: KeySource) -> list[SealedColumn]:
    outbox = OutboxSeals(keys)
    table = _table(NotificationOutbox)
    return [
        SealedColumn(table, "id", "body_sealed", lambda i, b: outbox.reseal_body(str(i), b)),
        SealedColumn(table, "id", "address_sealed", lambda i, b: outbox.reseal_address(str(i), b)),
    ]


def _recipient_sessions(keys: KeySource) -> list[SealedColumn]:
    sessions = ContextSeal(keys, SESSION_SEAL_DOMAIN)
    table = _table(RecipientSession)
    return [SealedColumn(table, "token_hash", "phone_sealed", lambda i, b: sessions.reseal(cast(bytes, i), b))]


def _leak_reports(keys: KeySource) -> list[SealedColumn]:
    reports = ContextSeal(keys, LEAK_REPORT_SEAL_DOMAIN)
    return [SealedColumn(_table(LeakReport), "id", "text_sealed", lambda i, b: reports.reseal(str(i).encode(), b))]


def _courier_lines(keys: KeySource) -> list[SealedColumn]:
    lines = VersionedSeal(keys)
    table = _table(CourierLine)
    return [SealedColumn(table, "actor", "phone_sealed", lambda i, b: lines.reseal(b, courier_line_context(str(i))))]


# Where each re-sealing purpose keeps sealed values, and how each is re-sealed.
SEALED_COLUMNS: dict[str, Callable[[KeySource], list[SealedColumn]]] = {
    "totp": _totp,
    "axb-phone": _axb_phones,
    "outbox": _outbox,
    "recipient-session": _recipient_sessions,
    "leak-report": _leak_reports,
    "courier-line": _courier_lines,
}


# Purposes whose versions each waybill depends on until it is done with, and for what.
WAYBILL_BOUND = {"qr-reference": "labels", "delivery-point": "route stops"}


def reseal(engine: Engine, columns: Sequence[SealedColumn]) -> int:
    """Re-seal every value of `columns` not under the current version, in one transaction; how many moved."""
    moved = 0
    with engine.begin() as conn:
        for sealed in columns:
            id_column, column = sealed.table.c[sealed.id_column], sealed.table.c[sealed.column]
            rows = conn.execute(select(id_column, column).where(column.is_not(None))).all()
            for row_id, blob in rows:
                try:
                    fresh = sealed.reseal(row_id, bytes(blob))
                except BrokenSeal:
                    raise ResealFailed(sealed.table.name, sealed.column) from None
                if fresh is not None:
                    conn.execute(update(sealed.table).where(id_column == row_id).values({sealed.column: fresh}))
                    moved += 1
    return moved


@dataclass(frozen=True, slots=True)
class Rotated:
    purpose: str
    version: int
    # How many sealed values moved to the new version; None for a purpose that seals nothing stored.
    resealed: int | None


def rotate_purpose(engine: Engine, keys: PurposeKeys, purpose: str) -> Rotated:
    """A new version of `purpose`'s key, and every value it seals moved to it."""
    rule = keys.purpose(purpose)
    version = keys.rotate(purpose)
    moved = reseal(engine, SEALED_COLUMNS[purpose](keys.ring(purpose))) if rule.rotation is Rotation.RESEAL else None
    return Rotated(purpose, version, moved)


def count_sealed_under(engine: Engine, columns: Sequence[SealedColumn], version: int) -> int:
    """How many values of `columns` name key version `version`."""
    with engine.connect() as conn:
        return sum(
            sealed_version(bytes(blob)) == version
            for sealed in columns
            for (blob,) in conn.execute(
                select(sealed.table.c[sealed.column]).where(sealed.table.c[sealed.column].is_not(None))
            )
        )


def open_waybills_from_before(engine: Engine, keys: PurposeKeys, purpose: str, version: int) -> int:
    """Waybills neither final nor purged issued before the version after `version` was made
    (every such waybill, when the store does not know when that was)."""
    table = _table(Waybill)
    query = (
        select(func.count())
        .select_from(table)
        .where(table.c.status.not_in([s.value for s in TERMINAL]), table.c.purged_at.is_(None))
    )
    replaced = keys.superseded_at(purpose, version)
    if replaced is not None:
        query = query.where(table.c.created_at < replaced)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def retire_purpose(engine: Engine, keys: PurposeKeys, purpose: str, version: int) -> int | None:
    """Delete `version` of `purpose`'s key once nothing needs it: values it sealed are moved
    to the current version first (how many is returned; None for a purpose that seals
    nothing stored), and waybills depending on it must be final or purged."""
    rule = keys.purpose(purpose)
    keys.retire(purpose, version, check_only=True)  # so that a refusal changes nothing
    moved = None
    if rule.rotation is Rotation.RESEAL:
        columns = SEALED_COLUMNS[purpose](keys.ring(purpose))
        moved = reseal(engine, columns)
        left = count_sealed_under(engine, columns, version)
        if left:
            raise KeyNotRetirable(f"{left} values were sealed under {purpose} version {version} meanwhile; run it again")
    elif purpose in WAYBILL_BOUND:
        waiting = open_waybills_from_before(engine, keys, purpose, version)
        if waiting:
            raise KeyNotRetirable(
                f"{waiting} waybills issued before {purpose} version {version + 1} are neither final nor purged; "
                f"their {WAYBILL_BOUND[purpose]} still need version {version}"
            )
    keys.retire(purpose, version)
    return moved
