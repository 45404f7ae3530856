"""Leak tracing's adapters on the platform database: the waybill directory and the warehouse copy."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import Engine, select

from privacy_waybill.audit.model import Outcome
from privacy_waybill.storage.audit_log import ENTRIES
from privacy_waybill.storage.waybills import WAYBILLS
from privacy_waybill.tracing.exposure import AuditWarehouse
from privacy_waybill.tracing.matching import MaskedView

# Audited acts on a waybill that show its holder nothing of it.
SEES_NOTHING = ("data.purge", "trace.match")
CHUNK = 500  # below SQLite's bound-parameter limit
SYNC_BATCH = 100_000


class SqlWaybillDirectory:
    """Waybills by number, by the blind index of a phone (per tenant), and by masked views."""

    def __init__(self, engine: Engine, phone_index: Callable[[str, str], bytes], tenant_ids: Callable[[], list[str]]):
        """`phone_index(tenant_id, canonical_phone)` is the tenant's blind index of a phone."""
        self.engine = engine
        self._phone_index = phone_index
        self._tenant_ids = tenant_ids

    def ids_by_number(self, numbers: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(numbers))
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), CHUNK):
                stmt = select(WAYBILLS.c.waybill_no, WAYBILLS.c.id).where(
                    WAYBILLS.c.waybill_no.in_(wanted[start : start + CHUNK])
                )
                found.update({no: waybill_id for no, waybill_id in conn.execute(stmt)})
        return found

    def ids_by_phone(self, canonical_phone: str) -> list[str]:
        found: list[str] = []
        with self.engine.connect() as conn:
            for tenant_id in self._tenant_ids():
                index = self._phone_index(tenant_id, canonical_phone)
                found.extend(
                    conn.execute(
                        select(WAYBILLS.c.id).where(
                            WAYBILLS.c.tenant_id == tenant_id, WAYBILLS.c.recipient_phone_index == index
                        )
                    ).scalars()
                )
        return found

    def views_by_last4(self, last4s: set[str]) -> dict[str, list[MaskedView]]:
        views: dict[str, list[MaskedView]] = {}
        columns = (
            WAYBILLS.c.id,
            WAYBILLS.c.recipient_masked_name,
            WAYBILLS.c.recipient_masked_phone,
            WAYBILLS.c.recipient_masked_address,
        )
        with self.engine.connect() as conn:
            for row in conn.execute(select(*columns).where(WAYBILLS.c.purged_at.is_(None))):
                last4 = row[2][-4:]
                if last4 in last4s:
                    views.setdefault(last4, []).append(MaskedView(*row))
        return views

    def views_of(self, waybill_ids: Iterable[str]) -> dict[str, MaskedView]:
        wanted = sorted(set(waybill_ids))
        columns = (
            WAYBILLS.c.id,
            WAYBILLS.c.recipient_masked_name,
            WAYBILLS.c.recipient_masked_phone,
            WAYBILLS.c.recipient_masked_address,
        )
        views: dict[str, MaskedView] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), CHUNK):
                for row in conn.execute(select(*columns).where(WAYBILLS.c.id.in_(wanted[start : start + CHUNK]))):
                    views[row[0]] = MaskedView(*row)
        return views


def sync_warehouse(engine: Engine, warehouse: AuditWarehouse) -> int:
    """Copy audit entries newer than the warehouse's last one (allowed accesses to a waybill),
    with the station and hub of each waybill they name; returns how many entries were copied.

    A sort code never changes after issuance, so places are copied once, for the waybills
    the new entries name.
    """
    copied = 0
    after = warehouse.last_seq()
    while True:
        stmt = (
            select(ENTRIES.c.seq, ENTRIES.c.at, ENTRIES.c.actor, ENTRIES.c.role, ENTRIES.c.action,
                   ENTRIES.c.waybill_id, ENTRIES.c.device)
            .where(ENTRIES.c.seq > after, ENTRIES.c.outcome == Outcome.ALLOWED.value, ENTRIES.c.waybill_id.is_not(None),
                   ENTRIES.c.action.not_in(SEES_NOTHING))
            .order_by(ENTRIES.c.seq)
            .limit(SYNC_BATCH)
        )  # fmt: skip
        with engine.connect() as conn:
            rows: list[tuple[int, datetime, str, str, str, str, str | None]] = [tuple(r) for r in conn.execute(stmt)]  # type: ignore[misc]
        if not rows:
            break
        warehouse.append_events(rows)
        warehouse.put_places(_places(engine, warehouse.missing_places({row[5] for row in rows})))
        copied += len(rows)
        after = rows[-1][0]
    return copied


def _places(engine: Engine, waybill_ids: list[str]) -> list[tuple[str, str | None, str | None]]:
    places = []
    with engine.connect() as conn:
        for start in range(0, len(waybill_ids), CHUNK):
            stmt = select(WAYBILLS.c.id, WAYBILLS.c.sort_code).where(
                WAYBILLS.c.id.in_(waybill_ids[start : start + CHUNK])
            )
            places.extend((waybill_id, *_station_and_hub(sort_code)) for waybill_id, sort_code in conn.execute(stmt))
    return places


def _station_and_hub(sort_code: str) -> tuple[str | None, str | None]:
    hub, station, _ = ([*sort_code.split("-", 2), "", "", ""])[:3]
    return station or None, hub or None
