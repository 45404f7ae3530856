"""Issuance end to end (intake, parse, validate, mask, seal, persist) against a raw insert.

a. `pwb issue` of 30,000 orders from a JSON Lines file, no labels, SQLite, as a user runs it:
   the whole command is timed, process start and JSON output included. The headline run has
   a different sender on every order (demo data); a second run sends the same orders from
   one merchant's 5 warehouses, as merchants' batches look, where senders repeat in a chunk.
b. The baseline re-inserts the very rows that command wrote (waybills, vault_records,
   waybill_events, in the order they were written) into a fresh database of the same schema
   with plain DB-API executemany, one transaction per 2,500 waybills as `pwb issue` commits
   them (issuance.service.TRANSACTION_RECORDS), so the ratio a/b shows what the Python work
   costs on top of the database.
c. In-process issuance against chunk size, with and without worker processes (a plot), and
   the same on PostgreSQL (COPY) when a server answers.
d. A per-stage profile timing each step alone over the same orders, in one process.
Demo order generation is not timed. Orders the phone validation of this version rejects
(Faker draws some numbers from newly allocated segments) are left out before timing, so
every timed order is issued.
Run: .venv/bin/python benchmarks/bench_issuance.py [--count N] [--postgres URL|none]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.demo import demo_orders
from privacy_waybill.errors import FieldError
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.orders import OrderIn
from privacy_waybill.issuance.service import (
    LABEL_AUDIENCE,
    ORDER_FINGERPRINT_KIND,
    PHONE_INDEX_KIND,
    TRANSACTION_RECORDS,
    Issued,
)
from privacy_waybill.runtime import DEFAULT_TENANT, Runtime, initialise, open_runtime, utc_now
from privacy_waybill.settings import Settings
from privacy_waybill.storage.db import make_engine, migrate
from privacy_waybill.storage.tenants import TenantStore
from privacy_waybill.storage.waybills import WaybillStore
from privacy_waybill.validation.names import parse_person_name
from privacy_waybill.validation.phones import normalise_phone
from report import SMOKE, figure, series, sized

RAW_CHUNK = TRANSACTION_RECORDS
PWB = Path(sys.executable).parent / "pwb"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHUNK_SIZES = (50, 200, 500, 2000, 5000) if not SMOKE else (50, 200)
SWEEP_ORDERS = sized(10_000, 400)
WAREHOUSES = 5
# Columns the service writes; waybill_events.id is left to the database, as the service does.
COPIED_TABLES: dict[str, str] = {
    "waybills": "*",
    "vault_records": "*",
    "waybill_events": "waybill_id, status, actor, place, at",
}


@dataclass(frozen=True)
class Database:
    label: str
    engine: Engine
    placeholder: str


# --- databases -------------------------------------------------------------------------


@contextmanager
def sqlite_database(path: Path) -> Iterator[Database]:
    engine = make_engine(f"sqlite:///{path}")
    try:
        yield Database("SQLite", engine, "?")
    finally:
        engine.dispose()


@contextmanager
def postgres_database(url: str) -> Iterator[Database]:
    """A throw-away schema on the server at `url`, dropped afterwards."""
    schema = f"pwb_bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield Database("PostgreSQL", engine, "%s")
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def postgres_reachable(url: str) -> bool:
    try:
        probe = make_engine(url, connect_args={"connect_timeout": 3})
        with probe.connect() as conn:
            conn.execute(text("select 1"))
        probe.dispose()
        return True
    except Exception:  # any driver error means "not here"
        return False


def fresh_schema(db: Database) -> None:
    migrate(db.engine)
    TenantStore(db.engine).ensure(DEFAULT_TENANT, "Benchmark merchant", utc_now())


# --- orders -------------------------------------------------------------------------------


def accepted_orders(count: int) -> list[dict[str, object]]:
    """`count` demo orders whose phones this version accepts (generated, not timed)."""
    orders: list[dict[str, object]] = []
    for order in demo_orders(count * 2, seed=2024, prefix="BENCH"):
        try:
            for party in ("recipient", "sender"):
                normalise_phone(order[party]["phone"])  # type: ignore[index]
        except FieldError:
            continue
        orders.append(order)
        if len(orders) == count:
            break
    return orders


def write_jsonl(path: Path, orders: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in orders), encoding="utf-8")
    return path


# --- a. the command, end to end --------------------------------------------------------------


def pwb(home: Path, *args: str, stdout: Any = subprocess.DEVNULL) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWB_")}
    env["PWB_HOME"] = str(home)
    subprocess.run([str(PWB), *args], env=env, stdout=stdout, stderr=subprocess.DEVNULL, check=True)


def time_cli_issue(home: Path, orders_file: Path, output: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (all processes) of `pwb issue FILE > output`."""
    before = os.times()
    started = time.perf_counter()
    with output.open("w") as out:
        pwb(home, "issue", str(orders_file), stdout=out)
    wall = time.perf_counter() - started
    after = os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


# --- b. raw insert of the same rows -------------------------------------------------------


def copy_rows(db: Database) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Each table's column names and rows, as stored, in the order the waybills were written."""
    copied = {}
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        order = "rowid" if db.label == "SQLite" else "created_at, id"
        cursor.execute(f"SELECT id FROM waybills ORDER BY {order}")
        position = {row[0]: index for index, row in enumerate(cursor.fetchall())}
        for table, columns in COPIED_TABLES.items():
            cursor.execute(f"SELECT {columns} FROM {table}")
            names = [d[0] for d in cursor.description]
            key = names.index("id" if table == "waybills" else "waybill_id")
            rows = sorted((tuple(row) for row in cursor.fetchall()), key=lambda row: position[row[key]])
            copied[table] = (names, rows)
    finally:
        connection.close()
    return copied


def raw_insert(db: Database, copied: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> float:
    """Seconds to insert the copied rows, one transaction per RAW_CHUNK waybills."""
    statements = {
        table: f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([db.placeholder] * len(names))})"
        for table, (names, _rows) in copied.items()
    }
    count = len(copied["waybills"][1])
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        started = time.perf_counter()
        for start in range(0, count, RAW_CHUNK):
            for table, (_names, rows) in copied.items():
                cursor.executemany(statements[table], rows[start : start + RAW_CHUNK])
            connection.commit()
        return time.perf_counter() - started
    finally:
        connection.close()


# --- c. in process: chunk size and workers -------------------------------------------------


def issue_in_process(runtime: Runtime, orders: list[dict[str, object]], chunk: int, workers: int) -> float:
    """Seconds to issue `orders` (intake included); every one must be issued."""
    started = time.perf_counter()
    outcomes = list(
        runtime.issuance(workers=workers).issue(DEFAULT_TENANT, records_from_objects(orders), "bench", chunk_size=chunk)
    )
    elapsed = time.perf_counter() - started
    if not all(isinstance(o, Issued) and not o.replayed for o in outcomes):
        raise SystemExit("some orders were not newly issued; the figures would be wrong")
    return elapsed


def chunk_sweep(settings: Settings, folder: Path, orders: list[dict[str, object]]) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {"1 process": [], "2 worker processes": []}
    for chunk in CHUNK_SIZES:
        for label, workers in (("1 process", 1), ("2 worker processes", 2)):
            with sqlite_database(folder / f"sweep-{chunk}-{workers}.sqlite3") as db:
                initialise(settings, db.engine)
                runtime = open_runtime(settings, db.engine)
                rates[label].append(len(orders) / issue_in_process(runtime, orders, chunk, workers))
    return rates


# --- d. per-stage profile ----------------------------------------------------------------


def timed(work: Callable[[], object]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def stage_profile(runtime: Runtime, orders: list[dict[str, object]], insert_db: Database) -> dict[str, float]:
    """Seconds spent in each issuance stage alone, over all orders (both parties where it applies)."""
    tenant = DEFAULT_TENANT
    vault, indexer, masking, routing = runtime.vault, runtime.blind_index, runtime.masking, runtime.routing
    profile = runtime.settings.masking_profile
    stages: dict[str, float] = {}

    stages["pydantic validation"], records = timed(lambda: records_from_objects(orders))
    parsed: list[OrderIn] = [r.order for r in records if r.order is not None]
    parties = [p for o in parsed for p in (o.recipient, o.sender)]
    stages["name"], names = timed(lambda: [parse_person_name(p.name) for p in parties])
    stages["phone"], phones = timed(lambda: [normalise_phone(p.phone) for p in parties])
    stages["address parse"], addresses = timed(lambda: [parse_address(str(p.address)) for p in parties])
    stages["masking"], _ = timed(
        lambda: [
            masking.mask_party(profile, LABEL_AUDIENCE, n, ph, a)
            for n, ph, a in zip(names, phones, addresses, strict=True)
        ]
    )
    stages["routing"], _ = timed(lambda: [routing.sort_code(a) for a in addresses[::2]])
    plaintexts = [
        {
            "recipient_name": names[2 * i].written,
            "recipient_phone": phones[2 * i].canonical,
            "recipient_address": addresses[2 * i].text_of(addresses[2 * i].present_levels()),
            "sender_name": names[2 * i + 1].written,
            "sender_phone": phones[2 * i + 1].canonical,
            "sender_address": addresses[2 * i + 1].text_of(addresses[2 * i + 1].present_levels()),
            "items": json.dumps([item.model_dump() for item in o.items], ensure_ascii=False),
        }
        for i, o in enumerate(parsed)
    ]
    stages["vault seal"], _ = timed(lambda: [vault.seal(tenant, uuid.uuid4().hex, p) for p in plaintexts])

    def blind_indexes() -> list[bytes]:
        fingerprints = []
        for i, order in enumerate(parsed):
            fingerprints.append(indexer.index(tenant, ORDER_FINGERPRINT_KIND, order.model_dump_json()))
            indexer.index(tenant, PHONE_INDEX_KIND, phones[2 * i].canonical)
        return fingerprints

    stages["blind index (order fingerprint + phone)"], fingerprints = timed(blind_indexes)
    service = runtime.issuance()
    prepared = [service.preparation.prepare(tenant, o, f) for o, f in zip(parsed, fingerprints, strict=True)]
    store = WaybillStore(insert_db.engine)
    chunk = runtime.settings.batch_chunk_size

    def insert_all() -> None:
        for start in range(0, len(prepared), chunk):
            store.add_all(prepared[start : start + chunk], actor="bench")

    stages["DB insert (3 rows per waybill)"], _ = timed(insert_all)
    return stages


# --- report ----------------------------------------------------------------------------


def compare(label: str, count: int, issued: float, raw: float, cpu: float | None = None) -> None:
    e2e_rate, raw_rate = count / issued, count / raw
    print(f"\n{label}: {count:,} waybills")
    print(f"  a. issuance end to end      {e2e_rate:>10,.0f} waybills/s   ({issued:6.2f} s)")
    if cpu is not None:
        print(f"     CPU time, all processes  {cpu:>10.2f} s        ({cpu / count * 1e6:6.1f} µs per waybill)")
        figure(
            f"issuance CPU time per waybill, {label}",
            cpu / count * 1e6,
            "µs",
            higher_is_better=False,
            note="user + system time of every process of the command",
        )
    print(f"  b. raw insert, same rows    {raw_rate:>10,.0f} waybills/s   ({raw:6.2f} s, executemany per {RAW_CHUNK})")
    print(f"  c. ratio a/b                {e2e_rate / raw_rate:>10.3f}")
    figure(
        f"issuance end to end, {label}",
        e2e_rate,
        "waybills/s",
        baseline="raw insert of the same rows",
        baseline_value=raw_rate,
    )


def print_profile(stages: dict[str, float], count: int) -> None:
    print(f"\n  Per-stage profile, each stage alone over the same {count:,} orders, one process (µs per waybill):")
    for name, seconds in stages.items():
        print(f"    {name:<42} {seconds / count * 1e6:8.1f} µs   {count / seconds:>10,.0f} /s")
    print(f"    {'sum of stages':<42} {sum(stages.values()) / count * 1e6:8.1f} µs")


def from_warehouses(orders: list[dict[str, object]], count: int = WAREHOUSES) -> list[dict[str, object]]:
    """The same orders as one merchant sends them: every parcel from one of `count` warehouses."""
    senders = [order["sender"] for order in orders[:count]]
    return [{**order, "sender": senders[index % count]} for index, order in enumerate(orders)]


def cli_run(folder: Path, orders: list[dict[str, object]], label: str, name: str) -> None:
    home = folder / f"cli-home-{name}"
    pwb(home, "init")
    orders_file = write_jsonl(folder / f"orders-{name}.jsonl", orders)
    wall, cpu = time_cli_issue(home, orders_file, folder / f"issued-{name}.jsonl")
    with (
        sqlite_database(home / "pwb.sqlite3") as issued_db,
        sqlite_database(folder / f"raw-{name}.sqlite3") as raw_db,
    ):
        copied = copy_rows(issued_db)
        if len(copied["waybills"][1]) != len(orders):
            raise SystemExit("pwb issue did not issue every order; the figures would be wrong")
        fresh_schema(raw_db)
        raw = raw_insert(raw_db, copied)
    compare(label, len(orders), wall, raw, cpu)


def in_process_runs(settings: Settings, folder: Path, orders: list[dict[str, object]], postgres: str | None) -> None:
    sweep_orders = orders[:SWEEP_ORDERS]
    rates = chunk_sweep(settings, folder, sweep_orders)
    print(f"\nIn process, SQLite, {len(sweep_orders):,} orders: waybills/s by chunk size")
    print(f"  {'chunk':>8} " + " ".join(f"{label:>20}" for label in rates))
    for index, chunk in enumerate(CHUNK_SIZES):
        print(f"  {chunk:>8} " + " ".join(f"{rates[label][index]:>20,.0f}" for label in rates))
    series(
        "Issuance throughput against chunk size (SQLite, in process)",
        "records per chunk",
        CHUNK_SIZES,
        "waybills/s",
        rates,
    )
    if postgres:
        with postgres_database(postgres) as db, postgres_database(postgres) as raw_db:
            initialise(settings, db.engine)
            runtime = open_runtime(settings, db.engine)
            issued = issue_in_process(runtime, sweep_orders, 2000, workers=2)
            fresh_schema(raw_db)
            raw = raw_insert(raw_db, copy_rows(db))
        compare("in process, PostgreSQL (COPY), 2 workers", len(sweep_orders), issued, raw)
    with (
        sqlite_database(folder / "profile-issued.sqlite3") as db,
        sqlite_database(folder / "profile.sqlite3") as insert_db,
    ):
        initialise(settings, db.engine)
        runtime = open_runtime(settings, db.engine)
        fresh_schema(insert_db)
        print_profile(stage_profile(runtime, sweep_orders, insert_db), len(sweep_orders))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=sized(30_000, 1_200), help="orders for `pwb issue` (default 30,000)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL, or 'none' (default: local)")
    args = parser.parse_args()
    postgres = args.postgres if args.postgres != "none" and postgres_reachable(args.postgres) else None
    orders = accepted_orders(args.count)
    os.environ.pop("PWB_MASTER_SECRET", None)  # each home gets its own secret file
    with tempfile.TemporaryDirectory() as home:
        folder = Path(home)
        # The headline: every order from a different sender, so nothing repeats within a chunk.
        cli_run(folder, orders, "`pwb issue`, SQLite, process start included", "distinct")
        cli_run(
            folder,
            from_warehouses(orders),
            f"`pwb issue`, the same orders from one merchant's {WAREHOUSES} warehouses",
            "warehouses",
        )
        in_process_runs(Settings(home=folder / "home", database_url=None), folder, orders, postgres)


if __name__ == "__main__":
    main()
