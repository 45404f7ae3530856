"""Audit log append and verify rates on SQLite, next to a raw hash chain of the same entries.

Baselines, measured in the same run on the same entries:
- raw hash chain: a bare HMAC-SHA256 loop (the keyed chain) over the entries' already-encoded
  bytes (no I/O);
- raw sqlite3 insert: the same finished rows inserted with plain sqlite3 into the same schema,
  one row or one batch per commit, at synchronous=FULL like the audit log's own commits;
- raw read + chain: sqlite3 SELECT of the same rows and an HMAC chain over their columns,
  i.e. the least any verifier reading this database must do.
Run: .venv/bin/python benchmarks/bench_audit.py
"""

from __future__ import annotations

import hmac
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from privacy_waybill.audit.chain import GENESIS_HASH, StoredEntry, chain_entry, encode_content
from privacy_waybill.audit.checkpoints import AuditKeys, CheckpointSigner
from privacy_waybill.vault.keyring import KeyVersions
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.storage.audit_log import SqlAuditLog
from privacy_waybill.storage.db import make_engine, migrate
from report import figure, sized

SINGLE = sized(2_000, 50)
BATCHED = sized(50_000, 1_000)
BATCH = 500
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def events(count: int, offset: int = 0) -> list[AuditEvent]:
    return [
        AuditEvent(
            at=T0 + timedelta(milliseconds=offset + n),
            actor=f"user:u_{n % 97}",
            role="courier",
            action="reveal",
            outcome=Outcome.ALLOWED,
            rule="courier.reveal.assigned_out_for_delivery",
            tenant_id="acme",
            waybill_id=f"wb{offset + n:012d}",
            purpose="deliver",
            fields=("recipient_address", "recipient_phone"),
            device=f"dev:pda-{n % 13}",
            detail={"quota_left_hour": str(n % 60), "quota_left_day": str(n % 300)},
        )
        for n in range(count)
    ]


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def report(name: str, count: int, seconds: float, baseline: str, baseline_count: int, baseline_seconds: float) -> None:
    rate, baseline_rate = count / seconds, baseline_count / baseline_seconds
    figure(f"audit {name}", rate, "entries/s", baseline=baseline, baseline_value=baseline_rate)
    print(
        f"{name:<30} {rate:>11,.0f} /s   baseline {baseline:<28} {baseline_rate:>11,.0f} /s   "
        f"ratio {rate / baseline_rate:.2f}"
    )


def raw_chain(contents: list[bytes], key: bytes) -> bytes:
    """The same keyed chain (HMAC-SHA256) computed in a bare loop."""
    prev = GENESIS_HASH
    for seq, content in enumerate(contents, start=1):
        prev = hmac.digest(key, seq.to_bytes(8, "big") + prev + content, "sha256")
    return prev


def raw_read_and_chain(path: Path, key: bytes) -> bytes:
    connection = sqlite3.connect(path)
    prev = GENESIS_HASH
    rows = connection.execute(
        "select seq, at, actor, role, action, outcome, rule, tenant_id, waybill_id, purpose, fields, device, detail "
        "from audit_entries order by seq"
    )
    for row in rows:
        content = "\x1f".join(str(value) for value in row[1:]).encode()
        prev = hmac.digest(key, row[0].to_bytes(8, "big") + prev + content, "sha256")
    connection.close()
    return prev


def raw_inserts(path: Path, rows: list[tuple[object, ...]], batch: int) -> None:
    """The same rows inserted with plain sqlite3, `batch` rows per committed transaction."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")  # as durable as the audit log's own commits
    columns = StoredEntry._fields
    statement = f"insert into audit_entries ({', '.join(columns)}) values ({', '.join('?' * len(columns))})"
    for start in range(0, len(rows), batch):
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(statement, rows[start : start + batch])
        connection.execute("COMMIT")
    connection.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "audit.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        signer = CheckpointSigner(bytes(32))
        audit_log = SqlAuditLog(engine, AuditKeys(KeyVersions.single(bytes(32))), lambda: T0)

        single = events(SINGLE)
        single_s = timed(lambda: [audit_log.record(e) for e in single])
        batched = events(BATCHED, offset=SINGLE)
        batched_s = timed(lambda: [audit_log.record_many(batched[i : i + BATCH]) for i in range(0, BATCHED, BATCH)])
        total = SINGLE + BATCHED

        # The same entries, encoded once, for the in-memory and raw-insert baselines.
        contents: list[bytes] = []
        rows: list[tuple[object, ...]] = []
        prev = GENESIS_HASH
        for seq, event in enumerate(single + batched, start=1):
            entry = chain_entry(seq, prev, event, signer.chain_key)
            prev = entry.entry_hash
            contents.append(encode_content(entry[1:13]) or b"")
            rows.append((seq, event.at.strftime("%Y-%m-%d %H:%M:%S.%f"), *entry[2:]))
        raw_s = min(timed(lambda: raw_chain(contents, signer.chain_key)) for _ in range(3))
        raw_path = Path(folder) / "raw.sqlite3"
        raw_engine = make_engine(f"sqlite:///{raw_path}")
        migrate(raw_engine)
        raw_engine.dispose()
        raw_single_s = timed(lambda: raw_inserts(raw_path, rows[:SINGLE], 1))
        raw_batched_s = timed(lambda: raw_inserts(raw_path, rows[SINGLE:], BATCH))
        raw_read_s = min(timed(lambda: raw_read_and_chain(path, signer.chain_key)) for _ in range(3))

        results = []
        verify_s = min(timed(lambda: results.append(audit_log.verify())) for _ in range(3))
        verification = results[-1]
        assert verification.intact and verification.entries == total, verification
        assert raw_chain(contents, signer.chain_key) == verification.head_hash

        print(f"audit log on SQLite: {total:,} entries (HMAC chain), a signed checkpoint every 100")
        report("append, record() one by one", SINGLE, single_s, "raw hash chain (memory)", total, raw_s)
        report("append, record() one by one", SINGLE, single_s, "raw sqlite3 insert, 1/commit", SINGLE, raw_single_s)
        report(f"append, record_many({BATCH})", BATCHED, batched_s, "raw hash chain (memory)", total, raw_s)
        report(
            f"append, record_many({BATCH})",
            BATCHED,
            batched_s,
            f"raw sqlite3 insert, {BATCH}/commit",
            BATCHED,
            raw_batched_s,
        )
        report("verify (read + check)", total, verify_s, "raw hash chain (memory)", total, raw_s)
        report("verify (read + check)", total, verify_s, "raw sqlite3 read + chain", total, raw_read_s)
        engine.dispose()


if __name__ == "__main__":
    main()
