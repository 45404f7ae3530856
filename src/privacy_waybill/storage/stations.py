"""Station persistence: layouts, parcels on shelves, check-in as one transaction.

Check-in locks the station row (its serial counter) first, so two clerks checking parcels in
at once are serialised: placement, capacity and pickup-code uniqueness are decided on what the
station really holds, and the waybill's status, its event and the shelf record are written
together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Table, func, insert, select, tuple_, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.exc import IntegrityError

from privacy_waybill.errors import Conflict, NotFound
from privacy_waybill.issuance.lifecycle import check_transition
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.stations.codes import next_serial
from privacy_waybill.stations.model import HeldParcel, Shelf, Station, StationKind
from privacy_waybill.storage import station_tables as tables
from privacy_waybill.storage.waybills import EVENTS, WAYBILLS

STATIONS = cast(Table, tables.StationRecord.__table__)
PARCELS = cast(Table, tables.StationParcel.__table__)

_HELD_COLUMNS = (
    PARCELS.c.waybill_id,
    WAYBILLS.c.waybill_no,
    PARCELS.c.tenant_id,
    PARCELS.c.station_id,
    PARCELS.c.shelf_code,
    PARCELS.c.shelf,
    PARCELS.c.layer,
    PARCELS.c.pickup_code,
    WAYBILLS.c.recipient_masked_name.label("masked_name"),
    PARCELS.c.phone_last4,
    PARCELS.c.checked_in_at,
    PARCELS.c.checked_in_by,
    PARCELS.c.left_at,
    PARCELS.c.left_how,
)


def _held(row: RowMapping) -> HeldParcel:
    return HeldParcel(
        waybill_id=row["waybill_id"],
        waybill_no=row["waybill_no"],
        tenant_id=row["tenant_id"],
        station_id=row["station_id"],
        shelf_code=row["shelf_code"],
        shelf=row["shelf"],
        layer=row["layer"],
        pickup_code=row["pickup_code"] or "",
        masked_name=row["masked_name"],
        phone_last4=row["phone_last4"],
        checked_in_at=row["checked_in_at"],
        checked_in_by=row["checked_in_by"],
        picked_up_at=row["left_at"],
        pickup_method=row["left_how"],
    )


def _station(row: RowMapping) -> Station:
    return Station(
        id=row["id"],
        name=row["name"],
        kind=StationKind(row["kind"]),
        shelves=tuple(Shelf(str(s["label"]), int(s["layers"]), int(s["capacity"])) for s in row["shelves"]),
        created_at=row["created_at"],
    )


_HELD_JOIN = PARCELS.join(WAYBILLS, WAYBILLS.c.id == PARCELS.c.waybill_id)
# A stay is current while the parcel has not left and is still at a station or in a locker:
# a parcel dispatched to a courier from the shelf is no longer the desk's to hand over.
_ON_SHELF = (
    PARCELS.c.left_at.is_(None),
    WAYBILLS.c.status.in_([WaybillStatus.AT_STATION.value, WaybillStatus.IN_LOCKER.value]),
)


class CheckIn:
    """The unit of work of one check-in, inside the transaction that holds the station's lock."""

    def __init__(self, conn: Connection, station: Station) -> None:
        self._conn = conn
        self.station = station

    def occupancy(self) -> dict[tuple[str, int], int]:
        rows = self._conn.execute(
            select(PARCELS.c.shelf, PARCELS.c.layer, func.count())
            .select_from(_HELD_JOIN)
            .where(PARCELS.c.station_id == self.station.id, *_ON_SHELF)
            .group_by(PARCELS.c.shelf, PARCELS.c.layer)
        ).all()
        return {(shelf, layer): count for shelf, layer, count in rows}

    def code_taken(self, code: str) -> bool:
        stmt = select(PARCELS.c.id).where(PARCELS.c.station_id == self.station.id, PARCELS.c.pickup_code == code)
        return self._conn.execute(stmt).first() is not None

    def next_serial(self) -> int:
        serial = next_serial(
            self._conn.execute(select(STATIONS.c.last_serial).where(STATIONS.c.id == self.station.id)).scalar_one()
        )
        self._conn.execute(update(STATIONS).where(STATIONS.c.id == self.station.id).values(last_serial=serial))
        return serial

    def shelve(
        self,
        waybill: IssuedWaybill,
        target: WaybillStatus,
        place: tuple[str, int, str],
        pickup_code: str,
        phone_last4: str,
        actor: str,
        now: datetime,
    ) -> HeldParcel:
        """Record the parcel on the shelf and move the waybill to `target`, conditionally on
        the status it had when read (a concurrent scan makes this raise Conflict)."""
        check_transition(waybill.status, target)
        shelf, layer, code = place
        changed = self._conn.execute(
            update(WAYBILLS)
            .where(WAYBILLS.c.id == waybill.waybill_id, WAYBILLS.c.status == waybill.status.value)
            .values(status=target.value, assigned_courier=None)
        ).rowcount
        if changed != 1:
            raise Conflict("the waybill changed status meanwhile; scan again")
        self._conn.execute(
            insert(EVENTS).values(
                waybill_id=waybill.waybill_id, status=target.value, actor=actor, place=self.station.id, at=now
            )
        )
        # A parcel that comes back (a failed delivery from the station) leaves its earlier stay.
        self._conn.execute(
            update(PARCELS)
            .where(PARCELS.c.waybill_id == waybill.waybill_id, PARCELS.c.left_at.is_(None))
            .values(left_at=now, left_by=actor, left_how="checked_in_again", pickup_code=None, phone_last4="")
        )
        self._conn.execute(
            insert(PARCELS).values(
                waybill_id=waybill.waybill_id,
                tenant_id=waybill.tenant_id,
                station_id=self.station.id,
                shelf_code=code,
                shelf=shelf,
                layer=layer,
                pickup_code=pickup_code,
                phone_last4=phone_last4,
                checked_in_at=now,
                checked_in_by=actor,
            )
        )
        return HeldParcel(
            waybill_id=waybill.waybill_id,
            waybill_no=waybill.waybill_no,
            tenant_id=waybill.tenant_id,
            station_id=self.station.id,
            shelf_code=code,
            shelf=shelf,
            layer=layer,
            pickup_code=pickup_code,
            masked_name=waybill.recipient.name,
            phone_last4=phone_last4,
            checked_in_at=now,
            checked_in_by=actor,
        )


class StationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, station: Station) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(STATIONS).values(
                        id=station.id,
                        name=station.name,
                        kind=station.kind.value,
                        shelves=[{"label": s.label, "layers": s.layers, "capacity": s.capacity} for s in station.shelves],
                        last_serial=0,
                        created_at=station.created_at,
                    )
                )
        except IntegrityError:
            raise Conflict("a station with this id already exists") from None

    def get(self, station_id: str) -> Station | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(STATIONS).where(STATIONS.c.id == station_id)).mappings().first()
        return _station(row) if row else None

    def all(self) -> list[Station]:
        with self.engine.connect() as conn:
            return [_station(r) for r in conn.execute(select(STATIONS).order_by(STATIONS.c.id)).mappings()]

    @contextmanager
    def check_in(self, station_id: str) -> Iterator[CheckIn]:
        """A transaction holding the station's lock; commits when the block ends without error."""
        try:
            with self.engine.begin() as conn:
                # Touching the counter row first takes the write lock (a row lock on
                # PostgreSQL, the database write lock on SQLite) before anything is read.
                locked = conn.execute(
                    update(STATIONS).where(STATIONS.c.id == station_id).values(last_serial=STATIONS.c.last_serial)
                ).rowcount
                row = conn.execute(select(STATIONS).where(STATIONS.c.id == station_id)).mappings().first()
                if locked != 1 or row is None:
                    raise NotFound("this station is not registered; ask an administrator to add it")
                yield CheckIn(conn, _station(row))
        except IntegrityError:
            raise Conflict("the parcel was checked in concurrently; scan again") from None

    def _held_where(self, *conditions: ColumnElement[bool], limit: int = 200) -> list[HeldParcel]:
        stmt = (
            select(*_HELD_COLUMNS)
            .select_from(_HELD_JOIN)
            .where(*conditions)
            .order_by(PARCELS.c.checked_in_at.desc(), PARCELS.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_held(r) for r in conn.execute(stmt).mappings()]

    def held(self, station_id: str, limit: int = 200) -> list[HeldParcel]:
        return self._held_where(PARCELS.c.station_id == station_id, *_ON_SHELF, limit=limit)

    def held_waybill(self, waybill_id: str) -> HeldParcel | None:
        """The parcel's current stay at a station, if it is on a shelf now."""
        found = self._held_where(PARCELS.c.waybill_id == waybill_id, *_ON_SHELF, limit=1)
        return found[0] if found else None

    def by_pickup_code(self, station_id: str, code: str) -> HeldParcel | None:
        found = self._held_where(
            PARCELS.c.station_id == station_id, PARCELS.c.pickup_code == code, *_ON_SHELF, limit=1
        )
        return found[0] if found else None

    def by_last4(self, station_id: str, last4: str) -> list[HeldParcel]:
        return self._held_where(
            PARCELS.c.station_id == station_id, PARCELS.c.phone_last4 == last4, *_ON_SHELF
        )

    def by_phone_indexes(self, station_id: str, indexes: Sequence[tuple[str, bytes]]) -> list[HeldParcel]:
        """Held parcels whose recipient phone has one of these (tenant, blind index) pairs."""
        if not indexes:
            return []
        return self._held_where(
            PARCELS.c.station_id == station_id,
            *_ON_SHELF,
            tuple_(WAYBILLS.c.tenant_id, WAYBILLS.c.recipient_phone_index).in_(list(indexes)),
        )

    def stays(self, waybill_ids: Iterable[str]) -> dict[str, HeldParcel]:
        """The latest stay of each of these waybills at any station (for the recipient's portal)."""
        ids = list(waybill_ids)
        if not ids:
            return {}
        latest: dict[str, HeldParcel] = {}
        for parcel in reversed(self._held_where(PARCELS.c.waybill_id.in_(ids), limit=10 * len(ids))):
            latest[parcel.waybill_id] = parcel
        return latest

    def leave(self, parcel: HeldParcel, actor: str, now: datetime, how: str) -> HeldParcel:
        """The parcel left the shelf: its pickup code and last four digits are cleared."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(PARCELS)
                .where(
                    PARCELS.c.waybill_id == parcel.waybill_id,
                    PARCELS.c.station_id == parcel.station_id,
                    PARCELS.c.left_at.is_(None),
                )
                .values(left_at=now, left_by=actor, left_how=how, pickup_code=None, phone_last4="")
            ).rowcount
        if changed != 1:
            raise Conflict("the parcel already left the station")
        return replace(parcel, picked_up_at=now, pickup_method=how)



