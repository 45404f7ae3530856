"""Issuance end to end (intake, parse, validate, mask, seal, persist) against a raw insert.

The baseline re-inserts the very rows issuance wrote (waybills, vault_records and
waybill_events) into a fresh database of the same schema with plain DB-API executemany, one
transaction per 500 waybills, so the ratio shows what the Python work costs on top of the
database. A per-stage profile then times each step alone over the same orders.
Run: .venv/bin/python benchmarks/bench_issuance.py [--count N] [--postgres URL]
Demo order generation is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
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
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.orders import OrderIn
from privacy_waybill.issuance.service import (
    LABEL_AUDIENCE,
    ORDER_FINGERPRINT_KIND,
    PHONE_INDEX_KIND,
    Issued,
)
from privacy_waybill.runtime import (
    DEFAULT_TENANT,
    Runtime,
    initialise,
    open_runtime,
    utc_now,
)
from privacy_waybill.settings import Settings
from privacy_waybill.storage.db import make_engine, migrate
from privacy_waybill.storage.tenants import TenantStore
from privacy_waybill.storage.waybills import WaybillStore
from privacy_waybill.validation.names import parse_person_name
from privacy_waybill.validation.phones import normalise_phone

RAW_CHUNK = 500
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
def sqlite_database(folder: Path, name: str) -> Iterator[Database]:
    engine = make_engine(f"sqlite:///{folder / name}")
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


def fresh_schema(db: Database) -> None:
    migrate(db.engine)
    TenantStore(db.engine).ensure(DEFAULT_TENANT, "Benchmark merchant", utc_now())


# --- a. end to end ----------------------------------------------------------------------


def warm_up(runtime: Runtime, orders: list[dict[str, object]]) -> None:
    """Load the division, surname and routing data and derive the keys before any timing."""
    order = records_from_objects(orders[:1])[0].order
    assert order is not None
    fingerprint = runtime.blind_index.index(DEFAULT_TENANT, ORDER_FINGERPRINT_KIND, order.model_dump_json())
    runtime.issuance().prepare(DEFAULT_TENANT, order, fingerprint)  # prepares without storing


def issue_all(runtime: Runtime, orders: list[dict[str, object]]) -> float:
    """Seconds to issue every order with the default chunk size; every one must succeed."""
    started = time.perf_counter()
    records = records_from_objects(orders)
    outcomes = list(
        runtime.issuance().issue(DEFAULT_TENANT, records, actor="bench", chunk_size=runtime.settings.batch_chunk_size)
    )
    elapsed = time.perf_counter() - started
    rejected = [o for o in outcomes if not isinstance(o, Issued)]
    if rejected:
        raise SystemExit(f"{len(rejected)} demo orders were rejected; the figures would be wrong")
    return elapsed


# --- b. raw insert of the same rows -------------------------------------------------------


def copy_rows(db: Database) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Each table's column names and rows, in waybill order, as the driver returns them."""
    copied = {}
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        for table, columns in COPIED_TABLES.items():
            key = "id" if table == "waybills" else "waybill_id"
            cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {key}")
            names = [d[0] for d in cursor.description]
            copied[table] = (names, [tuple(row) for row in cursor.fetchall()])
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


# --- c. per-stage profile ----------------------------------------------------------------


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
    # As issuance does: the masking rules get the validated name, phone and address objects.
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
    prepared = [service.prepare(tenant, o, f) for o, f in zip(parsed, fingerprints, strict=True)]
    store = WaybillStore(insert_db.engine)
    chunk = runtime.settings.batch_chunk_size

    def insert_all() -> None:
        for start in range(0, len(prepared), chunk):
            store.add_all(prepared[start : start + chunk], actor="bench")

    stages["DB insert (3 rows per waybill)"], _ = timed(insert_all)
    return stages


# --- report ----------------------------------------------------------------------------


def compare(db_label: str, issued: float, raw: float, count: int) -> None:
    e2e_rate, raw_rate = count / issued, count / raw
    print(f"\n{db_label}: {count:,} waybills")
    print(f"  a. issuance end to end      {e2e_rate:>10,.0f} waybills/s   ({issued:6.2f} s)")
    print(
        f"  b. raw insert, same rows    {raw_rate:>10,.0f} waybills/s   ({raw:6.2f} s, 3 rows per waybill, executemany per {RAW_CHUNK})"
    )
    print(f"  c. ratio a/b                {e2e_rate / raw_rate:>10.2f}")


def print_profile(stages: dict[str, float], issued: float, count: int) -> None:
    print(f"\n  Per-stage profile, each stage alone over the same {count:,} orders (µs per waybill):")
    for name, seconds in stages.items():
        print(f"    {name:<42} {seconds / count * 1e6:8.1f} µs   {count / seconds:>10,.0f} /s")
    total = sum(stages.values())
    print(f"    {'sum of stages':<42} {total / count * 1e6:8.1f} µs")
    print(f"    {'end to end (a)':<42} {issued / count * 1e6:8.1f} µs")
    print(f"    {'rest: ids, numbers, items, scrub, look-ups':<42} {(issued - total) / count * 1e6:8.1f} µs")


def run(db_factory: Callable[[str], Any], settings: Settings, orders: list[dict[str, object]], profile: bool) -> None:
    count = len(orders)
    with db_factory("issued.sqlite3") as issued_db, db_factory("raw.sqlite3") as raw_db:
        initialise(settings, issued_db.engine)
        runtime = open_runtime(settings, issued_db.engine)
        warm_up(runtime, orders)
        issued = issue_all(runtime, orders)
        fresh_schema(raw_db)
        raw = raw_insert(raw_db, copy_rows(issued_db))
        compare(issued_db.label, issued, raw, count)
        if profile:
            with db_factory("profile.sqlite3") as insert_db:
                fresh_schema(insert_db)
                print_profile(stage_profile(runtime, orders, insert_db), issued, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="orders to issue (default 10,000)")
    parser.add_argument("--postgres", metavar="URL", help="also run a and b on this PostgreSQL server")
    args = parser.parse_args()

    orders = list(demo_orders(args.count, seed=2024, prefix="BENCH"))
    os.environ.pop("PWB_MASTER_SECRET", None)  # the key store gets its own secret file in the temp home
    with tempfile.TemporaryDirectory() as home:
        folder = Path(home)
        settings = Settings(home=folder / "home", database_url=None)
        run(lambda name: sqlite_database(folder, name), settings, orders, profile=True)
        if args.postgres:
            run(lambda _name: postgres_database(args.postgres), settings, orders, profile=False)


if __name__ == "__main__":
    main()
