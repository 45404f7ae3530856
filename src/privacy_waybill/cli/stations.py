"""`pwb stations`: register stations and lockers with their shelves, and list them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated

import typer

from privacy_waybill.access.model import Role
from privacy_waybill.cli.common import allow, fail, operator, runtime
from privacy_waybill.errors import FieldError
from privacy_waybill.runtime import Runtime
from privacy_waybill.stations.codes import parse_shelf
from privacy_waybill.stations.model import StationKind

stations_app = typer.Typer(help="Stations and lockers: shelves, capacity.", no_args_is_help=True)


@stations_app.command("add")
def add(
    station_id: Annotated[str, typer.Argument(help="The station segment of the sort code, e.g. HZ10.")],
    name: Annotated[str, typer.Option(help="Shown to recipients, e.g. 文一西路驿站.")],
    shelf: Annotated[
        list[str],
        typer.Option(help="LABEL:LAYERS:CAPACITY per shelf (A:4:80); for a locker LABEL:COMPARTMENTS (B:6)."),
    ],
    kind: Annotated[StationKind, typer.Option(help="station (shelves) or locker (compartments).")] = StationKind.STATION,
) -> None:
    """Register a station or a locker bank; clerks are bound to it with `pwb users add --station`."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "station.register")
        try:
            station = rt.stations.register(station_id, name, kind, [parse_shelf(s) for s in shelf])
        except FieldError as error:
            raise fail(f"--{error.field}: {error.reason}") from None
    capacity = sum(s.capacity for s in station.shelves)
    typer.echo(f"station {station.id} ({station.kind.value}): {len(station.shelves)} shelves, {capacity} places")


@stations_app.command("list")
def list_stations() -> None:
    """Every registered station with its shelves, one JSON object per line."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "station.register")
        stations = rt.station_store.all()
    for station in stations:
        shelves = [{"label": s.label, "layers": s.layers, "capacity": s.capacity} for s in station.shelves]
        line = {"id": station.id, "name": station.name, "kind": station.kind.value, "shelves": shelves}
        typer.echo(json.dumps(line, ensure_ascii=False))


DEMO_SHELVES = ("A:4:80", "B:4:80", "C:4:80")


def seed_demo_stations(rt: Runtime, sort_codes: Iterable[str]) -> int:
    """Register a demo station for every station a demo parcel is routed to; returns how many were new."""
    added = 0
    for station_id in sorted({code.split("-")[1] for code in sort_codes if code.count("-") >= 1 and code.split("-")[1]}):
        if rt.station_store.get(station_id) is None:
            rt.stations.register(station_id, f"演示驿站 {station_id}", StationKind.STATION, [parse_shelf(s) for s in DEMO_SHELVES])
            added += 1
    return added
