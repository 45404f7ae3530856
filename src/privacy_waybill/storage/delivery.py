"""Repository of delivery (the DeliveryStorePort): assignments, scans and sign-offs as
conditional updates of the waybill row (exactly one of two racing writers wins), route
definitions and their learned order, courier lines and sign-off codes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from privacy_waybill.delivery.model import Assignment
from privacy_waybill.delivery.model import RouteDefinition as RouteDefinitionRecord
from privacy_waybill.issuance.lifecycle import check_transition
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.storage import delivery_tables as tables
from privacy_waybill.storage.notifications import OUTBOX
from privacy_waybill.storage.waybills import EVENTS, WAYBILLS, waybill_from_row

ASSIGNMENTS = cast(Table, tables.DeliveryAssignment.__table__)
ROUTES = cast(Table, tables.RouteDefinition.__table__)
HISTORY = cast(Table, tables.RoutePointHistory.__table__)
LINES = cast(Table, tables.CourierLine.__table__)
CODES = cast(Table, tables.SignOffCode.__table__)
_ASSIGNMENT_FIELDS = (
    "waybill_id", "courier", "station", "route", "day", "assigned_by", "assigned_at",
    "scanned_out_at", "signed_off_at", "signed_off_by", "signoff_method",
)  # fmt: skip


def _assignment(row: Any) -> Assignment:
    return Assignment(**{f: row[f] for f in _ASSIGNMENT_FIELDS})


def _moved(conn: Connection, waybill: IssuedWaybill, values: dict[str, Any], courier_was: str | None) -> bool:
    """Update the waybill only if it is still as `waybill` and `courier_was` say."""
    condition = [WAYBILLS.c.id == waybill.waybill_id, WAYBILLS.c.status == waybill.status.value]
    condition.append(
        WAYBILLS.c.assigned_courier.is_(None) if courier_was is None else WAYBILLS.c.assigned_courier == courier_was
    )
    return conn.execute(update(WAYBILLS).where(*condition).values(**values)).rowcount == 1


def _event(
    conn: Connection, waybill_id: str, status: WaybillStatus, actor: str, place: str | None, at: datetime
) -> None:
    conn.execute(insert(EVENTS).values(waybill_id=waybill_id, status=status.value, actor=actor, place=place, at=at))


class DeliveryStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- waybills ----------------------------------------------------------------------

    def waybill(self, waybill_id: str) -> IssuedWaybill | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(WAYBILLS).where(WAYBILLS.c.id == waybill_id)).mappings().first()
        return waybill_from_row(row) if row else None

    def waybills(self, waybill_ids: Iterable[str]) -> list[IssuedWaybill]:
        wanted = list(waybill_ids)
        found: list[IssuedWaybill] = []
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                rows = conn.execute(select(WAYBILLS).where(WAYBILLS.c.id.in_(wanted[start : start + 500]))).mappings()
                found.extend(waybill_from_row(r) for r in rows)
        return found

    # --- assignment --------------------------------------------------------------------

    def assign(self, waybill: IssuedWaybill, assignment: Assignment) -> bool:
        """Assign a parcel not out for delivery; False when it changed meanwhile."""
        with self.engine.begin() as conn:
            if not _moved(conn, waybill, {"assigned_courier": assignment.courier}, waybill.assigned_courier):
                return False
            conn.execute(delete(ASSIGNMENTS).where(ASSIGNMENTS.c.waybill_id == waybill.waybill_id))
            conn.execute(insert(ASSIGNMENTS).values({f: getattr(assignment, f) for f in _ASSIGNMENT_FIELDS}))
        return True

    def withdraw(self, waybill: IssuedWaybill, actor: str, station: str, now: datetime) -> bool:
        """Take a parcel back from its courier: out for delivery becomes at the station again."""
        values: dict[str, Any] = {"assigned_courier": None}
        back_at_station = waybill.status is WaybillStatus.OUT_FOR_DELIVERY
        if back_at_station:
            check_transition(waybill.status, WaybillStatus.AT_STATION)
            values["status"] = WaybillStatus.AT_STATION.value
        with self.engine.begin() as conn:
            if not _moved(conn, waybill, values, waybill.assigned_courier):
                return False
            if back_at_station:
                _event(conn, waybill.waybill_id, WaybillStatus.AT_STATION, actor, station, now)
            conn.execute(delete(ASSIGNMENTS).where(ASSIGNMENTS.c.waybill_id == waybill.waybill_id))
        return True

    def scan_out(self, waybill: IssuedWaybill, courier: str, now: datetime) -> bool:
        """Out for delivery with `courier`, only if it is still assigned to them and unmoved."""
        check_transition(waybill.status, WaybillStatus.OUT_FOR_DELIVERY)
        with self.engine.begin() as conn:
            if not _moved(conn, waybill, {"status": WaybillStatus.OUT_FOR_DELIVERY.value}, courier):
                return False
            _event(conn, waybill.waybill_id, WaybillStatus.OUT_FOR_DELIVERY, courier, None, now)
            conn.execute(
                update(ASSIGNMENTS).where(ASSIGNMENTS.c.waybill_id == waybill.waybill_id).values(scanned_out_at=now)
            )
        return True

    def sign_off(
        self, waybill: IssuedWaybill, actor: str, method: str, evidence: bytes, place: str | None, now: datetime
    ) -> bool:
        """Delivered, and the courier's access ends in the same transaction; False on a race."""
        check_transition(waybill.status, WaybillStatus.DELIVERED)
        with self.engine.begin() as conn:
            values = {"status": WaybillStatus.DELIVERED.value, "assigned_courier": None}
            if not _moved(conn, waybill, values, waybill.assigned_courier):
                return False
            _event(conn, waybill.waybill_id, WaybillStatus.DELIVERED, actor, place, now)
            conn.execute(
                update(ASSIGNMENTS)
                .where(ASSIGNMENTS.c.waybill_id == waybill.waybill_id)
                .values(signed_off_at=now, signed_off_by=actor, signoff_method=method, signoff_evidence=evidence)
            )
        return True

    def delivered_by(self, waybill_id: str) -> tuple[str, datetime] | None:
        """Who signed the parcel off and when, from its `delivered` event."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(EVENTS.c.actor, EVENTS.c.at)
                .where(EVENTS.c.waybill_id == waybill_id, EVENTS.c.status == WaybillStatus.DELIVERED.value)
                .order_by(EVENTS.c.id)
            ).first()
        return (row.actor, row.at) if row else None

    def assignment(self, waybill_id: str) -> Assignment | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ASSIGNMENTS).where(ASSIGNMENTS.c.waybill_id == waybill_id)).mappings().first()
        return _assignment(row) if row else None

    def assignments_for(self, courier: str, day: date) -> list[Assignment]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ASSIGNMENTS).where(ASSIGNMENTS.c.courier == courier, ASSIGNMENTS.c.day == day)
            ).mappings()
            return [_assignment(r) for r in rows]

    def signed_points(self, courier: str, day: date) -> set[bytes]:
        """Delivery points this courier has already signed a parcel off at that day."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(WAYBILLS.c.delivery_point)
                .join(ASSIGNMENTS, ASSIGNMENTS.c.waybill_id == WAYBILLS.c.id)
                .where(
                    ASSIGNMENTS.c.courier == courier,
                    ASSIGNMENTS.c.day == day,
                    ASSIGNMENTS.c.signed_off_at.is_not(None),
                )
            ).scalars()
            return {p for p in rows if p is not None}

    # --- routes and what they learn ------------------------------------------------------

    def route_definition(self, station: str, route: str) -> RouteDefinitionRecord | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(ROUTES).where(ROUTES.c.station == station, ROUTES.c.route == route))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return RouteDefinitionRecord(
            station=row["station"], route=row["route"], sequence=tuple(row["sequence"]), start=row["start"],
            updated_by=row["updated_by"], updated_at=row["updated_at"],
        )  # fmt: skip

    def put_route_definition(self, definition: RouteDefinitionRecord) -> None:
        values = {
            "station": definition.station, "route": definition.route, "sequence": list(definition.sequence),
            "start": definition.start, "updated_by": definition.updated_by, "updated_at": definition.updated_at,
        }  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(
                delete(ROUTES).where(ROUTES.c.station == definition.station, ROUTES.c.route == definition.route)
            )
            conn.execute(insert(ROUTES).values(values))

    def learned_positions(self, station: str, route: str) -> dict[bytes, float]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(HISTORY.c.point, HISTORY.c.mean_position).where(
                    HISTORY.c.station == station, HISTORY.c.route == route
                )
            ).all()
        return {row.point: row.mean_position for row in rows}

    def learn(self, station: str, route: str, point: bytes, site: bytes, position: int) -> None:
        key = (HISTORY.c.station == station, HISTORY.c.route == route, HISTORY.c.point == point)
        with self.engine.begin() as conn:
            row = conn.execute(select(HISTORY.c.mean_position, HISTORY.c.samples).where(*key)).first()
            if row is None:
                conn.execute(
                    insert(HISTORY).values(
                        station=station, route=route, point=point, site=site, mean_position=float(position), samples=1
                    )
                )
                return
            mean = (row.mean_position * row.samples + position) / (row.samples + 1)
            conn.execute(update(HISTORY).where(*key).values(mean_position=mean, samples=row.samples + 1))

    # --- couriers' lines and sign-off codes ----------------------------------------------

    def line(self, actor: str) -> tuple[bytes, bytes] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(LINES.c.phone_index, LINES.c.phone_sealed).where(LINES.c.actor == actor)).first()
        return (row.phone_index, row.phone_sealed) if row else None

    def add_line(self, actor: str, phone_index: bytes, phone_sealed: bytes, now: datetime) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(LINES).values(
                        actor=actor, phone_index=phone_index, phone_sealed=phone_sealed, registered_at=now
                    )
                )
        except IntegrityError:
            return False
        return True

    def put_code(self, waybill_id: str, code_hash: bytes, expires_at: datetime, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(CODES).where(CODES.c.waybill_id == waybill_id))
            conn.execute(
                insert(CODES).values(
                    waybill_id=waybill_id, code_hash=code_hash, expires_at=expires_at, attempts=0, created_at=now
                )
            )

    def code(self, waybill_id: str) -> tuple[bytes, datetime, int] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(CODES.c.code_hash, CODES.c.expires_at, CODES.c.attempts).where(CODES.c.waybill_id == waybill_id)
            ).first()
        return (row.code_hash, row.expires_at, row.attempts) if row else None

    def count_code_attempt(self, waybill_id: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                update(CODES)
                .where(CODES.c.waybill_id == waybill_id)
                .values(attempts=CODES.c.attempts + 1)
                .returning(CODES.c.attempts)
            ).scalar_one()

    def drop_code(self, waybill_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(CODES).where(CODES.c.waybill_id == waybill_id))


def purge_delivery(conn: Connection, waybill_ids: Sequence[str], now: datetime) -> None:
    """Retention purge hook (run in the shred's transaction): sign-off codes and evidence of
    these waybills go, and so do the bodies of the sign-off texts sent for them."""
    ids = list(waybill_ids)
    conn.execute(delete(CODES).where(CODES.c.waybill_id.in_(ids)))
    conn.execute(update(ASSIGNMENTS).where(ASSIGNMENTS.c.waybill_id.in_(ids)).values(signoff_evidence=None))
    for waybill_id in ids:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.idempotency_key.like(f"signoff:{waybill_id}:%"))
            .values(body_sealed=None, address_sealed=None)
        )
