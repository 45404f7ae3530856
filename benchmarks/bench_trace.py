"""Leak tracing over 10 million audit events and a 10,000-record leak, in DuckDB.

The events are generated straight into a DuckDB file (as the warehouse holds them after a
sync): 1,000,000 waybills, 50 stations with two clerks each, 500 couriers, 100 sorting
operators, 200 print terminals; ten accesses per waybill. The leak is 9,500 waybill numbers
from what one clerk checked in plus 500 random ones. Baseline, same run and data: one plain
DuckDB GROUP BY over all events (count of distinct waybills per actor), the least any
exposure count must do.
Run: .venv/bin/python benchmarks/bench_trace.py [events]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from privacy_waybill.tracing.exposure import AuditWarehouse
from privacy_waybill.tracing.matching import MaskedView, Masker
from privacy_waybill.tracing.service import TraceService
from report import figure, sized

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else sized(10_000_000, 200_000)
PER_WAYBILL = 10
STATIONS, COURIERS_PER_STATION = 50, 10
LEAK, NOISE = 10_000, sized(500, 20)
PHOTOGRAPHER = "user:clerk-st07-0"
# A waybill's courier: one of its station's couriers, independent of which clerk checked it in.
COURIER = f"((w % {STATIONS}) * {COURIERS_PER_STATION} + hash('c' || w) % {COURIERS_PER_STATION})"


def generate(warehouse: AuditWarehouse) -> None:
    waybills = EVENTS // PER_WAYBILL
    warehouse.con.execute(
        f"""
        INSERT INTO audit_events
        SELECT i AS seq,
               TIMESTAMPTZ '2026-11-01 00:00:00+00' + to_milliseconds(i * 250) AS ts,
               CASE k WHEN 0 THEN 'terminal:t' || (hash('t' || w) % 200)
                      WHEN 1 THEN 'user:sorter' || ((w % {STATIONS}) // 5 * 10 + hash('s' || w) % 10)
                      WHEN 2 THEN 'user:clerk-st' || lpad(CAST(w % {STATIONS} AS VARCHAR), 2, '0')
                                  || '-' || (hash('k' || w) % 2)
                      ELSE 'user:courier' || {COURIER}
               END AS actor,
               CASE k WHEN 0 THEN 'print_terminal' WHEN 1 THEN 'sorting_operator' WHEN 2 THEN 'station_clerk'
                      ELSE 'courier' END AS role,
               CASE k WHEN 0 THEN 'print_job.pull' WHEN 1 THEN 'waybill.sort' WHEN 2 THEN 'waybill.check_in'
                      WHEN 3 THEN 'waybill.scan' WHEN 4 THEN 'waybill.reveal' ELSE 'waybill.read' END AS action,
               'w' || lpad(CAST(w AS VARCHAR), 8, '0') AS waybill_id,
               CASE WHEN k >= 3 THEN 'phone-' || {COURIER}
                    WHEN k = 2 THEN 'desk-st' || lpad(CAST(w % {STATIONS} AS VARCHAR), 2, '0') END AS device
          FROM (SELECT i, i // {PER_WAYBILL} AS w, i % {PER_WAYBILL} AS k FROM range({EVENTS}) t(i))
        """
    ).fetchall()
    warehouse.con.execute(
        f"""
        INSERT INTO waybill_places
        SELECT 'w' || lpad(CAST(w AS VARCHAR), 8, '0'), 'st' || lpad(CAST(w % {STATIONS} AS VARCHAR), 2, '0'), NULL
          FROM range({waybills}) t(w)
        """
    ).fetchall()


class NumberDirectory:
    """Waybill numbers are PW + 13 digits of the id (the benchmark's own numbering)."""

    def ids_by_number(self, numbers: Iterable[str]) -> dict[str, str]:
        return {n: "w" + n[-8:] for n in numbers if n.startswith("PW") and len(n) == 15}

    def ids_by_phone(self, canonical_phone: str) -> list[str]:
        return []

    def views_by_last4(self, last4s: set[str]) -> dict[str, list[MaskedView]]:
        return {}

    def views_of(self, waybill_ids: Iterable[str]) -> dict[str, MaskedView]:
        return {}


def leak_file(warehouse: AuditWarehouse) -> bytes:
    """Numbers of what the photographing clerk checked in, and some noise."""
    rng = random.Random(5)
    waybills = EVENTS // PER_WAYBILL
    rows = warehouse.con.execute("SELECT waybill_id FROM audit_events WHERE actor = ?", [PHOTOGRAPHER]).fetchall()
    photographed = sorted(int(waybill_id[1:]) for (waybill_id,) in rows)
    chosen = rng.sample(photographed, min(LEAK - NOISE, len(photographed))) + rng.sample(range(waybills), NOISE)
    return ("运单号\n" + "\n".join(f"PW{w:013d}" for w in chosen) + "\n").encode()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        warehouse = AuditWarehouse(Path(folder) / "audit.duckdb")
        started = time.perf_counter()
        generate(warehouse)
        generated = time.perf_counter() - started
        [(count,)] = warehouse.con.execute("SELECT count(*) FROM audit_events").fetchall()
        print(f"generated {count:,} audit events into DuckDB in {generated:.1f} s")

        started = time.perf_counter()
        warehouse.con.execute("SELECT actor, count(DISTINCT waybill_id) FROM audit_events GROUP BY actor").fetchall()
        baseline = time.perf_counter() - started

        service = TraceService(NumberDirectory(), lambda: warehouse, Masker(name=str, address=str), lambda _: None)
        started = time.perf_counter()
        report = service.run(leak_file(warehouse), "tc_bench", datetime.now(UTC), "bench")
        traced = time.perf_counter() - started
        warehouse.close()
    first, second = report["ranking"][0], report["top_by_kind"]["station"]
    print(f"trace of a {report['leak']['rows']:,}-row leak over {count:,} events: {traced:.1f} s "
          f"(baseline GROUP BY actor, distinct waybills: {baseline:.1f} s; {traced / baseline:.1f}x)")  # fmt: skip
    print(f"  first: {first['kind']} {first['accessor']} saw {first['seen']:,}, {first['hits']:,} leaked, "
          f"log10 p {first['log10_p']}; top station {second['accessor']} (rank {second['rank']})")  # fmt: skip
    figure(
        f"leak tracing, {report['leak']['rows']:,}-row leak over {count:,} audit events",
        traced,
        "s",
        baseline="DuckDB GROUP BY actor, distinct waybills, same events",
        baseline_value=baseline,
        higher_is_better=False,
        note=f"first: {first['accessor']} ({first['hits']:,} of {first['seen']:,} seen leaked)",
    )
    for entry in report["ranking"][:5]:
        who = f"{entry['kind']} {entry['accessor']}"
        print(f"  {entry['rank']}. {who}: saw {entry['seen']:,}, leaked {entry['hits']:,}, log10 p {entry['log10_p']}")
    assert first["accessor"] == PHOTOGRAPHER and second["accessor"] == "st07"
    assert traced < 60, "the trace must finish in under a minute"


if __name__ == "__main__":
    main()
