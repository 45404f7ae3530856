"""Print terminals and the print queue on SQL (SQLite and PostgreSQL).

Claiming jobs and counting reprints are single conditional statements, so two terminals
pulling at once never receive the same job and concurrent reprints never pass the limit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Table, insert, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from privacy_waybill.access.api_keys import secret_matches
from privacy_waybill.errors import FieldError
from privacy_waybill.issuance.lifecycle import PRINTABLE, check_transition
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.labels.model import LabelFormat, LabelSize
from privacy_waybill.printing.model import JobStatus, NewTerminal, PrintJob, PrintSettings, Terminal
from privacy_waybill.printing.terminals import split_terminal_token
from privacy_waybill.storage.models import Waybill, WaybillEvent
from privacy_waybill.storage.printing_tables import PrintJob as PrintJobRow
from privacy_waybill.storage.printing_tables import PrintTerminal
from privacy_waybill.storage.waybills import waybill_from_row

# Declarative classes type __table__ as a FromClause; these are Tables.
TERMINALS = cast(Table, PrintTerminal.__table__)
JOBS = cast(Table, PrintJobRow.__table__)
WAYBILLS = cast(Table, Waybill.__table__)
EVENTS = cast(Table, WaybillEvent.__table__)

# Keeps an IN (...) list below SQLite's bound-parameter limit.
_IN_CHUNK = 500


def _terminal_from_row(row: RowMapping) -> Terminal:
    return Terminal(
        terminal_id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def _job_from_row(row: RowMapping, waybill_no: str) -> PrintJob:
    return PrintJob(
        job_id=row["id"],
        tenant_id=row["tenant_id"],
        waybill_id=row["waybill_id"],
        waybill_no=waybill_no,
        settings=PrintSettings(LabelFormat(row["label_format"]), LabelSize(row["label_size"]), row["dpi"]),
        status=JobStatus(row["status"]),
        requested_by=row["requested_by"],
        created_at=row["created_at"],
        pulled_by=row["pulled_by"],
        pulled_at=row["pulled_at"],
        printed_at=row["printed_at"],
        reprints=row["reprints"],
    )


def _waybills_by_id(conn: Connection, waybill_ids: Sequence[str]) -> dict[str, IssuedWaybill]:
    found: dict[str, IssuedWaybill] = {}
    for start in range(0, len(waybill_ids), _IN_CHUNK):
        chunk = waybill_ids[start : start + _IN_CHUNK]
        for row in conn.execute(select(WAYBILLS).where(WAYBILLS.c.id.in_(chunk))).mappings():
            found[row["id"]] = waybill_from_row(row)
    return found


def _jobs_with_waybills(conn: Connection, job_rows: Sequence[RowMapping]) -> list[tuple[PrintJob, IssuedWaybill]]:
    waybills = _waybills_by_id(conn, [row["waybill_id"] for row in job_rows])
    pairs = []
    for row in job_rows:
        waybill = waybills[row["waybill_id"]]
        pairs.append((_job_from_row(row, waybill.waybill_no), waybill))
    return pairs


class TerminalStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, tenant_id: str, terminal: NewTerminal, name: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(TERMINALS).values(
                    id=terminal.terminal_id,
                    tenant_id=tenant_id,
                    name=name,
                    token_hash=terminal.token_hash,
                    created_at=now,
                )
            )

    def authenticate(self, token: str) -> Terminal | None:
        """The live terminal a token belongs to, else None (malformed, unknown or revoked)."""
        parts = split_terminal_token(token)
        if parts is None:
            return None
        terminal_id, secret = parts
        with self.engine.connect() as conn:
            row = conn.execute(select(TERMINALS).where(TERMINALS.c.id == terminal_id)).mappings().first()
        if row is None or row["revoked_at"] is not None or not secret_matches(secret, row["token_hash"]):
            return None
        return _terminal_from_row(row)

    def revoke(self, terminal_id: str, now: datetime) -> bool:
        """Revoke a live terminal; False when there is no such live terminal."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(TERMINALS)
                .where(TERMINALS.c.id == terminal_id, TERMINALS.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return result.rowcount == 1

    def list_for_tenant(self, tenant_id: str) -> list[Terminal]:
        stmt = select(TERMINALS).where(TERMINALS.c.tenant_id == tenant_id).order_by(TERMINALS.c.created_at)
        with self.engine.connect() as conn:
            return [_terminal_from_row(row) for row in conn.execute(stmt).mappings()]


class PrintStore:
    """SQL implementation of the print service's store port."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def queue(
        self, tenant_id: str, waybill_nos: Sequence[str], settings: PrintSettings, requested_by: str, now: datetime
    ) -> list[PrintJob]:
        try:
            return self._queue(tenant_id, waybill_nos, settings, requested_by, now)
        except IntegrityError:
            # Another request queued one of these waybills meanwhile: its job now exists.
            return self._queue(tenant_id, waybill_nos, settings, requested_by, now)

    def _queue(
        self, tenant_id: str, waybill_nos: Sequence[str], settings: PrintSettings, requested_by: str, now: datetime
    ) -> list[PrintJob]:
        with self.engine.begin() as conn:
            waybill_ids = self._live_waybill_ids(conn, tenant_id, waybill_nos)
            wanted = list(dict.fromkeys(waybill_ids))
            queued = {row["waybill_id"] for row in self._job_rows(conn, wanted)}
            new_rows = [
                {
                    "id": secrets.token_hex(16),
                    "tenant_id": tenant_id,
                    "waybill_id": waybill_id,
                    "label_format": settings.format.value,
                    "label_size": settings.size.value,
                    "dpi": settings.dpi,
                    "status": JobStatus.PENDING.value,
                    "requested_by": requested_by,
                    "created_at": now,
                    "reprints": 0,
                }
                for waybill_id in wanted
                if waybill_id not in queued
            ]
            if new_rows:
                conn.execute(insert(JOBS), new_rows)
            jobs = {job.waybill_id: job for job, _ in _jobs_with_waybills(conn, self._job_rows(conn, wanted))}
        return [jobs[waybill_id] for waybill_id in waybill_ids]

    @staticmethod
    def _live_waybill_ids(conn: Connection, tenant_id: str, waybill_nos: Sequence[str]) -> list[str]:
        """The ids of the numbered waybills, in order; FieldError at the first unusable number."""
        found: dict[str, RowMapping] = {}
        distinct = list(set(waybill_nos))
        for start in range(0, len(distinct), _IN_CHUNK):
            stmt = select(WAYBILLS.c.id, WAYBILLS.c.waybill_no, WAYBILLS.c.purged_at, WAYBILLS.c.status).where(
                WAYBILLS.c.tenant_id == tenant_id, WAYBILLS.c.waybill_no.in_(distinct[start : start + _IN_CHUNK])
            )
            found.update({row["waybill_no"]: row for row in conn.execute(stmt).mappings()})
        ids = []
        for position, number in enumerate(waybill_nos):
            row = found.get(number)
            if row is None:
                raise FieldError(f"waybill_nos.{position}", "is not a waybill of this merchant")
            if row["purged_at"] is not None:
                raise FieldError(
                    f"waybill_nos.{position}", "was purged after the retention period; no label can be made"
                )
            if WaybillStatus(row["status"]) not in PRINTABLE:
                raise FieldError(f"waybill_nos.{position}", "is past printing in its lifecycle (already collected)")
            ids.append(row["id"])
        return ids

    @staticmethod
    def _job_rows(conn: Connection, waybill_ids: Sequence[str]) -> list[RowMapping]:
        rows: list[RowMapping] = []
        for start in range(0, len(waybill_ids), _IN_CHUNK):
            stmt = select(JOBS).where(JOBS.c.waybill_id.in_(waybill_ids[start : start + _IN_CHUNK]))
            rows.extend(conn.execute(stmt).mappings())
        return rows

    def claim_pending(
        self, tenant_id: str, pulled_by: str, limit: int, now: datetime
    ) -> list[tuple[PrintJob, IssuedWaybill]]:
        """Mark the tenant's oldest pending jobs (of unpurged waybills) pulled, and return them."""
        oldest_pending = (
            select(JOBS.c.id)
            .join(WAYBILLS, WAYBILLS.c.id == JOBS.c.waybill_id)
            .where(
                JOBS.c.tenant_id == tenant_id,
                JOBS.c.status == JobStatus.PENDING.value,
                WAYBILLS.c.purged_at.is_(None),
                WAYBILLS.c.status.in_([s.value for s in PRINTABLE]),
            )
            .order_by(JOBS.c.seq)
            .limit(limit)
            # PostgreSQL: concurrent pullers skip each other's rows instead of waiting on them.
            # SQLite renders no lock clause; its single writer makes the UPDATE atomic anyway.
            .with_for_update(skip_locked=True, of=JOBS)
        )
        with self.engine.begin() as conn:
            claimed_ids = list(
                conn.execute(
                    update(JOBS)
                    .where(JOBS.c.id.in_(oldest_pending.scalar_subquery()), JOBS.c.status == JobStatus.PENDING.value)
                    .values(status=JobStatus.PULLED.value, pulled_by=pulled_by, pulled_at=now)
                    .returning(JOBS.c.id)
                ).scalars()
            )
            rows = (
                conn.execute(select(JOBS).where(JOBS.c.id.in_(claimed_ids)).order_by(JOBS.c.seq)).mappings().all()
                if claimed_ids
                else []
            )
            return _jobs_with_waybills(conn, rows)

    def release(self, job_ids: Sequence[str]) -> None:
        """Put pulled jobs back in the queue (their labels were never handed over)."""
        if not job_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(list(job_ids)), JOBS.c.status == JobStatus.PULLED.value)
                .values(status=JobStatus.PENDING.value, pulled_by=None, pulled_at=None)
            )

    def job(self, tenant_id: str, job_id: str) -> tuple[PrintJob, IssuedWaybill] | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(JOBS).where(JOBS.c.id == job_id, JOBS.c.tenant_id == tenant_id)).mappings().first()
            )
            if row is None:
                return None
            [pair] = _jobs_with_waybills(conn, [row])
        return pair

    def mark_printed(self, job_id: str, actor: str, now: datetime) -> PrintJob:
        """Mark a pulled job printed and move its waybill created -> printed (with an event).

        Reporting a printed job again changes nothing.
        """
        with self.engine.begin() as conn:
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id, JOBS.c.status == JobStatus.PULLED.value)
                .values(status=JobStatus.PRINTED.value, printed_at=now)
            )
            row = conn.execute(select(JOBS).where(JOBS.c.id == job_id)).mappings().one()
            current = WaybillStatus(
                conn.execute(select(WAYBILLS.c.status).where(WAYBILLS.c.id == row["waybill_id"])).scalar_one()
            )
            # The lifecycle decides (a collected parcel is not "printed" again); printed -> printed
            # is a reprint and records no new event.
            check_transition(current, WaybillStatus.PRINTED)
            moved = conn.execute(
                update(WAYBILLS)
                .where(WAYBILLS.c.id == row["waybill_id"], WAYBILLS.c.status == current.value)
                .values(status=WaybillStatus.PRINTED.value)
            )
            if moved.rowcount == 1 and current is not WaybillStatus.PRINTED:
                conn.execute(
                    insert(EVENTS).values(
                        waybill_id=row["waybill_id"],
                        status=WaybillStatus.PRINTED.value,
                        actor=actor,
                        place=None,
                        at=now,
                    )
                )
            [(job, _)] = _jobs_with_waybills(conn, [row])
        return job

    def take_reprint(self, job_id: str, limit: int) -> int | None:
        """Count one more reprint unless the limit is reached; the new count, or None."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id, JOBS.c.reprints < limit)
                .values(reprints=JOBS.c.reprints + 1)
                .returning(JOBS.c.reprints)
            ).scalar()

    def give_back_reprint(self, job_id: str) -> None:
        """Undo a counted reprint whose label was never handed over."""
        with self.engine.begin() as conn:
            conn.execute(
                update(JOBS).where(JOBS.c.id == job_id, JOBS.c.reprints > 0).values(reprints=JOBS.c.reprints - 1)
            )

    def reprint_count(self, waybill_id: str) -> int:
        with self.engine.connect() as conn:
            count = conn.execute(select(JOBS.c.reprints).where(JOBS.c.waybill_id == waybill_id)).scalar()
        return count or 0
