"""Who could see which waybill, counted in DuckDB over the audit data.

The warehouse is a DuckDB database (a file in PWB_HOME/analytics, or in memory) with two
tables: `audit_events` (allowed accesses to a waybill: seq, time `ts`, actor, role, action,
device) and `waybill_places` (each waybill's station and hub from its sort code). It is
filled incrementally from the platform's database (`sync`), or written directly (the
benchmark writes 10 million events). DuckDB's sqlite and postgres scanners are extensions
it would download at run time, so the copy goes through numpy arrays instead.

Accessors are of five kinds: `account` (user:, pass:, cli:), `api_key` (key:),
`print_terminal` (terminal:), `device` (the device id a request came from) and `station`
(the station of the waybills its clerks handled).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_events (
    seq BIGINT, ts TIMESTAMPTZ, actor VARCHAR, role VARCHAR, action VARCHAR, waybill_id VARCHAR, device VARCHAR
);
CREATE TABLE IF NOT EXISTS waybill_places (waybill_id VARCHAR PRIMARY KEY, station VARCHAR, hub VARCHAR);
"""
EVENT_COLUMNS = ("seq", "ts", "actor", "role", "action", "waybill_id", "device")
ACCESSOR_KINDS = ("account", "api_key", "print_terminal", "device", "station")


@dataclass(frozen=True, slots=True)
class Exposure:
    kind: str
    accessor: str
    seen: int  # distinct waybills the accessor could see in the period
    hits: int  # of them, in the leaked list


@dataclass(frozen=True, slots=True)
class ExposureCounts:
    population: int  # distinct waybills seen by anyone in the period
    leaked_in_population: int
    accessors_tested: int
    exposures: list[Exposure]


class AuditWarehouse:
    def __init__(self, path: Path | None = None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(path) if path else ":memory:")
        self.con.execute(SCHEMA)

    def close(self) -> None:
        self.con.close()

    def last_seq(self) -> int:
        [(seq,)] = self.con.execute("SELECT coalesce(max(seq), 0) FROM audit_events").fetchall()
        return int(seq)

    def append_events(self, rows: list[tuple[int, datetime, str, str, str, str, str | None]]) -> None:
        """Append (seq, at, actor, role, action, waybill_id, device) rows of allowed waybill accesses."""
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        batch = {name: np.array(values, dtype=object) for name, values in zip(EVENT_COLUMNS, columns, strict=True)}
        batch["seq"] = np.array(columns[0], dtype=np.int64)
        self.con.register("incoming_events", batch)
        try:
            self.con.execute(f"INSERT INTO audit_events SELECT {', '.join(EVENT_COLUMNS)} FROM incoming_events")
        finally:
            self.con.unregister("incoming_events")

    def missing_places(self, waybill_ids: Iterable[str]) -> list[str]:
        """Those of `waybill_ids` whose station and hub are not in the warehouse yet."""
        wanted = np.array(sorted(set(waybill_ids)), dtype=object)
        if not len(wanted):
            return []
        self.con.register("wanted_places", {"waybill_id": wanted})
        try:
            rows = self.con.execute(
                "SELECT waybill_id FROM wanted_places ANTI JOIN waybill_places USING (waybill_id)"
            ).fetchall()
        finally:
            self.con.unregister("wanted_places")
        return [waybill_id for (waybill_id,) in rows]

    def put_places(self, rows: Iterable[tuple[str, str | None, str | None]]) -> None:
        """Insert or replace (waybill_id, station, hub)."""
        ids, stations, hubs = [], [], []
        for waybill_id, station, hub in rows:
            ids.append(waybill_id)
            stations.append(station)
            hubs.append(hub)
        if not ids:
            return
        batch = {
            "waybill_id": np.array(ids, dtype=object),
            "station": np.array(stations, dtype=object),
            "hub": np.array(hubs, dtype=object),
        }
        self.con.register("incoming_places", batch)
        try:
            self.con.execute(
                "INSERT OR REPLACE INTO waybill_places SELECT waybill_id, station, hub FROM incoming_places"
            )
        finally:
            self.con.unregister("incoming_places")

    def exposure(
        self, leaked_ids: Iterable[str], since: datetime | None = None, until: datetime | None = None
    ) -> ExposureCounts:
        """For every accessor that saw at least one leaked waybill: how many waybills it saw, and how many leaked."""
        leaked = np.array(sorted(set(leaked_ids)), dtype=object)
        con = self.con
        con.register("leaked_input", {"waybill_id": leaked})
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE leaked AS SELECT DISTINCT waybill_id FROM leaked_input")
        finally:
            con.unregister("leaked_input")
        period, params = _period(since, until, "ts")
        joined_period, _ = _period(since, until, "e.ts")
        con.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW accesses AS
            SELECT CASE WHEN starts_with(actor, 'terminal:') THEN 'print_terminal'
                        WHEN starts_with(actor, 'key:') THEN 'api_key' ELSE 'account' END AS kind,
                   actor AS accessor, waybill_id
              FROM audit_events WHERE {period}
            UNION ALL
            SELECT 'device', device, waybill_id FROM audit_events WHERE device IS NOT NULL AND {period}
            UNION ALL
            SELECT 'station', p.station, e.waybill_id
              FROM audit_events e JOIN waybill_places p USING (waybill_id)
             WHERE e.role = 'station_clerk' AND p.station IS NOT NULL AND {joined_period}
            """,
            params * 3,
        )
        [population_row] = con.execute(
            f"SELECT count(DISTINCT waybill_id), count(DISTINCT waybill_id) FILTER "
            f"(WHERE waybill_id IN (SELECT waybill_id FROM leaked)) FROM audit_events WHERE {period}",
            params,
        ).fetchall()
        [tested_row] = con.execute("SELECT count(*) FROM (SELECT DISTINCT kind, accessor FROM accesses)").fetchall()
        rows = con.execute(
            """
            WITH hit_accessors AS (
                SELECT DISTINCT kind, accessor FROM accesses WHERE waybill_id IN (SELECT waybill_id FROM leaked)
            )
            SELECT a.kind, a.accessor, count(DISTINCT a.waybill_id) AS seen,
                   count(DISTINCT a.waybill_id) FILTER (WHERE a.waybill_id IN (SELECT waybill_id FROM leaked)) AS hits
              FROM accesses a SEMI JOIN hit_accessors h ON a.kind = h.kind AND a.accessor = h.accessor
             GROUP BY a.kind, a.accessor
            """
        ).fetchall()
        return ExposureCounts(
            population=int(population_row[0]),
            leaked_in_population=int(population_row[1]),
            accessors_tested=int(tested_row[0]),
            exposures=[Exposure(kind, accessor, int(seen), int(hits)) for kind, accessor, seen, hits in rows],
        )


def _period(since: datetime | None, until: datetime | None, column: str) -> tuple[str, list[datetime]]:
    clauses, params = ["TRUE"], []
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(since)
    if until is not None:
        clauses.append(f"{column} < ?")
        params.append(until)
    return " AND ".join(clauses), params
