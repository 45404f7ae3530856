"""Recipient persistence: sessions, preferences under each tenant's phone index, own parcels
by blind index, leak reports with the waybills they concern."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Table, delete, insert, select, tuple_, update

from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.recipients.model import LeakReportRecord, Preferences
from privacy_waybill.recipients.service import StoredSession
from privacy_waybill.storage import station_tables as tables
from privacy_waybill.storage.waybills import WAYBILLS, waybill_from_row

SESSIONS = cast(Table, tables.RecipientSession.__table__)
PREFERENCES = cast(Table, tables.RecipientPreference.__table__)
REPORTS = cast(Table, tables.LeakReport.__table__)
REPORT_WAYBILLS = cast(Table, tables.LeakReportWaybill.__table__)


class RecipientStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_session(
        self, token_hash: bytes, phone_index: bytes, phone_sealed: bytes, now: datetime, expires_at: datetime
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(SESSIONS).values(
                    token_hash=token_hash,
                    phone_index=phone_index,
                    phone_sealed=phone_sealed,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    def session(self, token_hash: bytes) -> StoredSession | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(SESSIONS).where(SESSIONS.c.token_hash == token_hash)).mappings().first()
        if row is None:
            return None
        return StoredSession(row["phone_index"], row["phone_sealed"], row["expires_at"], row["revoked_at"])

    def revoke_session(self, token_hash: bytes, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(SESSIONS)
                .where(SESSIONS.c.token_hash == token_hash, SESSIONS.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    def waybills_for(self, pairs: Sequence[tuple[str, bytes]], limit: int) -> list[IssuedWaybill]:
        """Waybills whose (tenant, recipient phone index) is one of `pairs`, newest first."""
        if not pairs:
            return []
        stmt = (
            select(WAYBILLS)
            .where(tuple_(WAYBILLS.c.tenant_id, WAYBILLS.c.recipient_phone_index).in_(list(pairs)))
            .where(WAYBILLS.c.purged_at.is_(None))
            .order_by(WAYBILLS.c.created_at.desc(), WAYBILLS.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [waybill_from_row(r) for r in conn.execute(stmt).mappings()]

    def preferences(self, pairs: Sequence[tuple[str, bytes]]) -> Preferences | None:
        if not pairs:
            return None
        stmt = (
            select(PREFERENCES)
            .where(tuple_(PREFERENCES.c.tenant_id, PREFERENCES.c.phone_index).in_(list(pairs)))
            .order_by(PREFERENCES.c.updated_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return _preferences(row) if row else None

    def preference(self, tenant_id: str, phone_index: bytes) -> Preferences | None:
        return self.preferences([(tenant_id, phone_index)])

    def set_preferences(self, pairs: Sequence[tuple[str, bytes]], prefs: Preferences, now: datetime) -> None:
        """Write the same preferences under every pair, replacing earlier ones, in one transaction."""
        values = {
            "station_allowed": prefs.station_allowed,
            "locker_allowed": prefs.locker_allowed,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            conn.execute(
                delete(PREFERENCES).where(tuple_(PREFERENCES.c.tenant_id, PREFERENCES.c.phone_index).in_(list(pairs)))
            )
            conn.execute(
                insert(PREFERENCES), [{"tenant_id": t, "phone_index": i, **values} for t, i in pairs]
            )

    def add_leak_report(
        self,
        report_id: str,
        reporter: str,
        kind: str,
        text_sealed: bytes | None,
        text_display: str | None,
        waybill_ids: Sequence[str],
        now: datetime,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(REPORTS).values(
                    id=report_id,
                    reporter=reporter,
                    kind=kind,
                    status="open",
                    text_sealed=text_sealed,
                    text_display=text_display,
                    created_at=now,
                )
            )
            conn.execute(insert(REPORT_WAYBILLS), [{"report_id": report_id, "waybill_id": w} for w in waybill_ids])

    def leak_reports(self, reporter: str) -> list[LeakReportRecord]:
        stmt = (
            select(REPORTS.c.id, REPORTS.c.created_at, REPORTS.c.status, REPORTS.c.text_display, WAYBILLS.c.waybill_no)
            .select_from(
                REPORTS.join(REPORT_WAYBILLS, REPORT_WAYBILLS.c.report_id == REPORTS.c.id).join(
                    WAYBILLS, WAYBILLS.c.id == REPORT_WAYBILLS.c.waybill_id
                )
            )
            .where(REPORTS.c.reporter == reporter)
            .order_by(REPORTS.c.created_at.desc(), REPORTS.c.id, WAYBILLS.c.waybill_no)
        )
        reports: dict[str, LeakReportRecord] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(stmt).mappings():
                known = reports.get(row["id"])
                numbers = (*known.waybill_nos, row["waybill_no"]) if known else (row["waybill_no"],)
                reports[row["id"]] = LeakReportRecord(
                    row["id"], row["created_at"], row["status"], numbers, row["text_display"]
                )
        return list(reports.values())

    def waybill_ids_of_report(self, report_id: str) -> list[str]:
        """The waybills a report concerns: what leak tracing opens its case with."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(REPORT_WAYBILLS.c.waybill_id)
                    .where(REPORT_WAYBILLS.c.report_id == report_id)
                    .order_by(REPORT_WAYBILLS.c.waybill_id)
                ).scalars()
            )


def _preferences(row: object) -> Preferences:
    mapping = cast(dict[str, object], row)
    return Preferences(
        station_allowed=bool(mapping["station_allowed"]),
        locker_allowed=bool(mapping["locker_allowed"]),
    )
