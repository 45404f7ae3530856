"""Node counts for a national issuance rate, computed from benchmarks/results/latest.json.

Every input is a figure `make bench` measured on this 2-core machine; the only assumptions
are the headroom factors and reveals per parcel below, stated in docs/scaling.md.
Run: .venv/bin/python benchmarks/scaling.py [--rates 8500 30000]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

LATEST = Path(__file__).resolve().parent / "results" / "latest.json"
API_HEADROOM = 0.6  # run API nodes at 60% of their measured rate: peaks, GC, deploys
DB_HEADROOM = 0.5  # half the raw insert rate left for reads, vacuum, replication, indexes growing
REVEALS_PER_PARCEL = 1.0  # a courier reveals the address about once per delivered parcel


def figures() -> dict[str, dict[str, float]]:
    report = json.loads(LATEST.read_text(encoding="utf-8"))
    found = {}
    for bench in report["benchmarks"].values():
        for entry in bench["figures"]:
            found[entry["name"]] = entry
    return found


def pick(found: dict[str, dict[str, float]], prefix: str) -> dict[str, float]:
    for name, entry in found.items():
        if name.startswith(prefix):
            return entry
    raise SystemExit(f"latest.json has no figure starting {prefix!r}: run make bench first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="*", default=[8500, 30000])
    args = parser.parse_args()
    found = figures()
    cli = pick(found, "issuance end to end, `pwb issue`")
    postgres = pick(found, "issuance end to end, in process, PostgreSQL")
    reveal = pick(found, "reveal throughput, 16")
    node_issue = postgres["value"]
    db_insert = postgres["baseline_value"]
    node_reveal = reveal["value"]
    print("measured on one 2-core node (latest.json):")
    raw_sqlite = cli["baseline_value"]
    print(f"  pwb issue, SQLite, whole command      {cli['value']:>9,.0f} waybills/s (raw insert {raw_sqlite:,.0f})")
    print(f"  issuance on PostgreSQL, 2 workers     {node_issue:>9,.0f} waybills/s")
    print(f"  raw insert into PostgreSQL            {db_insert:>9,.0f} waybills/s (3 rows each)")
    print(f"  reveals, 16 concurrent couriers       {node_reveal:>9,.0f} reveals/s")
    print(f"headroom: API x{API_HEADROOM}, database x{DB_HEADROOM}; {REVEALS_PER_PARCEL} reveal per parcel\n")
    print(f"{'waybills/s':>10} {'issuing nodes':>14} {'reveal nodes':>13} {'API nodes':>10} {'DB shards':>10}")
    for rate in args.rates:
        issuing = math.ceil(rate / (node_issue * API_HEADROOM))
        revealing = math.ceil(rate * REVEALS_PER_PARCEL / (node_reveal * API_HEADROOM))
        shards = math.ceil(rate / (db_insert * DB_HEADROOM))
        print(f"{rate:>10,.0f} {issuing:>14} {revealing:>13} {issuing + revealing:>10} {shards:>10}")
    cpu = found.get("issuance CPU time per waybill, `pwb issue`, SQLite, process start included")
    if cpu:
        dedicated = 2 * 1e6 / cpu["value"]
        print(
            f"\nCPU-time bound: {cpu['value']:.0f} µs of CPU per waybill is {dedicated:,.0f} waybills/s on a "
            "dedicated 2-core node"
        )
        for rate in args.rates:
            print(f"  {rate:>8,.0f} waybills/s: {math.ceil(rate / (dedicated * API_HEADROOM))} dedicated issuing nodes")


if __name__ == "__main__":
    main()
