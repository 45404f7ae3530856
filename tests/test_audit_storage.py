"""The audit log on SQLite and PostgreSQL: appends, queries, tampering caught by SQL edits,
fail-closed writes, concurrent appends, and `pwb audit verify`."""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, text
from sqlalchemy import event as sqlalchemy_event
from typer.testing import CliRunner

from privacy_waybill.audit.anchors import FileWitness
from privacy_waybill.audit.checkpoints import AuditKeys, tree_head_message
from privacy_waybill.audit.merkle import leaf_hash, root_from_inclusion
from privacy_waybill.audit.chain import unkeyed_entry_hash
from privacy_waybill.audit.model import AuditEvent, AuditUnavailable, Outcome
from privacy_waybill.audit.verify import ProblemKind
from privacy_waybill.cli.audit import audit_app
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.audit_log import SqlAuditLog
from privacy_waybill.storage.db import make_engine, migrate
from privacy_waybill.vault.keyring import KeyVersions

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SIGNER = AuditKeys(KeyVersions.single(bytes(range(32))))


def event(n: int, **overrides: object) -> AuditEvent:
    values: dict[str, object] = {
        "at": T0 + timedelta(minutes=n),
        "actor": f"user:u_{n % 3}",
        "role": "courier",
        "action": "reveal" if n % 2 else "read",
        "outcome": Outcome.DENIED if n % 5 == 0 else Outcome.ALLOWED,
        "rule": "courier.assigned",
        "tenant_id": "acme" if n % 4 else "beta",
        "waybill_id": f"wb{n:04d}",
        "purpose": "deliver",
        "fields": ("recipient_phone",),
        "detail": {"quota_left": str(60 - n)},
    }
    values.update(overrides)
    return AuditEvent(**values)  # type: ignore[arg-type]


@pytest.fixture
def audit_log(engine: Engine) -> SqlAuditLog:
    return SqlAuditLog(engine, SIGNER, lambda: T0, checkpoint_every=4)


def filled(audit_log: SqlAuditLog, count: int = 10) -> SqlAuditLog:
    audit_log.record_many([event(n) for n in range(1, count + 1)])
    return audit_log


def execute(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql))


# --- appending and reading --------------------------------------------------------------------


def test_record_returns_consecutive_sequence_numbers_and_the_chain_verifies(audit_log: SqlAuditLog) -> None:
    assert [audit_log.record(event(n)) for n in range(1, 4)] == [1, 2, 3]
    assert audit_log.record_many([event(n) for n in range(4, 10)]) == list(range(4, 10))
    result = audit_log.verify()
    assert result.intact
    # Entry 1: the first append of a process signs (time-based); 4 and 8: every 4 entries.
    assert (result.entries, result.checkpoints) == (9, 3)
    assert audit_log.head().seq == 9


def test_stored_entries_read_back_as_the_recorded_events(audit_log: SqlAuditLog) -> None:
    recorded = [event(n, device="dev:pda-1" if n == 2 else None) for n in range(1, 4)]
    audit_log.record_many(recorded)
    assert [entry.event() for entry in audit_log.events()] == recorded


def test_checkpoints_are_signed_every_n_entries_and_on_demand(audit_log: SqlAuditLog, engine: Engine) -> None:
    assert audit_log.checkpoint() is None
    audit_log.record(event(1))  # the first append of a process signs at once
    audit_log.record_many([event(n) for n in range(2, 10)])
    with engine.connect() as conn:
        assert conn.execute(text("select seq from audit_checkpoints order by seq")).scalars().all() == [1, 4, 8]
    on_demand = audit_log.checkpoint()
    assert on_demand is not None and on_demand.seq == 9
    assert audit_log.checkpoint() == on_demand
    assert audit_log.verify().checkpoints == 4


def test_a_head_is_also_signed_every_t_seconds(engine: Engine) -> None:
    now = [T0]
    audit_log = SqlAuditLog(engine, SIGNER, lambda: now[0], checkpoint_every=1000, checkpoint_seconds=60)
    for minute_and_seconds in [0, 30, 59, 61, 90, 125]:
        now[0] = T0 + timedelta(seconds=minute_and_seconds)
        audit_log.record(event(1))
    with engine.connect() as conn:
        # Entry 1 (first append), 4 (61 s after 1) and 6 (64 s after 4).
        assert conn.execute(text("select seq from audit_checkpoints order by seq")).scalars().all() == [1, 4, 6]


def test_events_filters_combine_and_page_by_sequence(audit_log: SqlAuditLog) -> None:
    filled(audit_log, 20)
    by_actor = audit_log.events(actor="user:u_1", limit=1000)
    assert [e.seq for e in by_actor] == [1, 4, 7, 10, 13, 16, 19]
    assert [e.seq for e in audit_log.events(actor="user:u_1", action="reveal")] == [1, 7, 13, 19]
    assert [e.seq for e in audit_log.events(waybill_id="wb0007")] == [7]
    assert [e.seq for e in audit_log.events(tenant_id="beta")] == [4, 8, 12, 16, 20]
    assert [e.seq for e in audit_log.events(outcome=Outcome.DENIED)] == [5, 10, 15, 20]
    window = audit_log.events(since=T0 + timedelta(minutes=3), until=T0 + timedelta(minutes=6))
    assert [e.seq for e in window] == [3, 4, 5]
    first_page = audit_log.events(limit=8)
    second_page = audit_log.events(limit=8, after_seq=first_page[-1].seq)
    assert [e.seq for e in first_page + second_page] == list(range(1, 17))


# --- tampering by direct SQL ------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "update audit_entries set action = 'export' where seq = 6",
        "update audit_entries set waybill_id = 'wb9999' where seq = 6",
        'update audit_entries set detail = \'{"quota_left": "54"}\' where seq = 6',
        "update audit_entries set outcome = 'denied' where seq = 6",
        "update audit_entries set tenant_id = null where seq = 6",
    ],
    ids=["action", "waybill", "detail-whitespace", "outcome", "null"],
)
def test_an_edited_row_is_named_changed(engine: Engine, audit_log: SqlAuditLog, sql: str) -> None:
    filled(audit_log)
    execute(engine, sql)
    problem = audit_log.verify().problem
    assert problem is not None and (problem.seq, problem.kind) == (6, ProblemKind.CHANGED)


def test_an_edited_time_is_named_changed(engine: Engine, audit_log: SqlAuditLog) -> None:
    filled(audit_log)
    with engine.begin() as conn:
        conn.execute(text("update audit_entries set at = :at where seq = 6"), {"at": T0 + timedelta(hours=5)})
    problem = audit_log.verify().problem
    assert problem is not None and (problem.seq, problem.kind) == (6, ProblemKind.CHANGED)


@pytest.mark.parametrize(
    "sql",
    [
        "update audit_entries set at = 'garbage' where seq = 6",
        # The same instant in another layout: the stored bytes changed all the same.
        "update audit_entries set at = replace(at, ' ', 'T') where seq = 6",
    ],
    ids=["garbage", "same-instant"],
)
def test_time_text_rewritten_in_sqlite_is_named_changed(tmp_path: Path, sql: str) -> None:
    # Only SQLite keeps times as text; PostgreSQL's timestamptz cannot hold another layout.
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    migrate(engine)
    audit_log = filled(SqlAuditLog(engine, SIGNER, lambda: T0))
    execute(engine, sql)
    problem = audit_log.verify().problem
    engine.dispose()
    assert problem is not None and (problem.seq, problem.kind) == (6, ProblemKind.CHANGED)


def test_a_deleted_row_is_named_missing(engine: Engine, audit_log: SqlAuditLog) -> None:
    filled(audit_log)
    execute(engine, "delete from audit_entries where seq = 3")
    problem = audit_log.verify().problem
    assert problem is not None and (problem.seq, problem.kind) == (3, ProblemKind.MISSING)


def test_swapped_rows_are_named_reordered(engine: Engine, audit_log: SqlAuditLog) -> None:
    filled(audit_log)
    # Swap the sequence numbers of entries 5 and 6 through a free number.
    execute(engine, "update audit_entries set seq = 1000 where seq = 5")
    execute(engine, "update audit_entries set seq = 5 where seq = 6")
    execute(engine, "update audit_entries set seq = 6 where seq = 1000")
    problem = audit_log.verify().problem
    assert problem is not None and (problem.seq, problem.kind) == (5, ProblemKind.REORDERED)


def test_deleted_tail_rows_are_named_truncated(engine: Engine, audit_log: SqlAuditLog) -> None:
    filled(audit_log)
    execute(engine, "delete from audit_entries where seq > 6")
    problem = audit_log.verify().problem
    assert problem is not None and (problem.seq, problem.kind) == (7, ProblemKind.TRUNCATED)


def test_a_tail_cut_with_the_head_row_moved_back_is_still_caught_by_a_checkpoint(
    engine: Engine, audit_log: SqlAuditLog
) -> None:
    filled(audit_log)
    execute(engine, "delete from audit_entries where seq > 6")
    with engine.begin() as conn:
        head = conn.execute(text("select entry_hash from audit_entries where seq = 6")).scalar_one()
        conn.execute(text("update audit_head set seq = 6, head_hash = :h"), {"h": head})
    problem = audit_log.verify().problem
    assert problem is not None and (problem.seq, problem.kind) == (7, ProblemKind.TRUNCATED)


def test_a_checkpoint_signed_by_another_key_is_named(engine: Engine, audit_log: SqlAuditLog) -> None:
    filled(audit_log)
    forged = SqlAuditLog(engine, AuditKeys(KeyVersions.single(bytes(32))), lambda: T0).checkpoint()
    assert forged is not None
    problem = audit_log.verify().problem
    assert problem is not None and (problem.seq, problem.kind) == (10, ProblemKind.BAD_SIGNATURE)


# --- failing closed ---------------------------------------------------------------------------

_BLOCK_INSERTS = {
    "sqlite": [
        "create trigger block_audit before insert on audit_entries begin select raise(abort, 'blocked'); end",
    ],
    "postgresql": [
        "create function block_audit() returns trigger language plpgsql as $$ begin raise exception 'blocked'; end $$",
        "create trigger block_audit before insert on audit_entries for each row execute function block_audit()",
    ],
}


def test_an_unwritable_audit_table_makes_record_raise_audit_unavailable(
    engine: Engine, audit_log: SqlAuditLog, caplog: pytest.LogCaptureFixture
) -> None:
    audit_log.record(event(1))
    for statement in _BLOCK_INSERTS[engine.dialect.name]:
        execute(engine, statement)
    secret_looking = event(2, actor="user:u_secret_actor", waybill_id="wb_secret")
    with caplog.at_level(logging.DEBUG), pytest.raises(AuditUnavailable) as raised:
        audit_log.record(secret_looking)
    assert "u_secret_actor" not in str(raised.value) and "wb_secret" not in str(raised.value)
    assert "u_secret_actor" not in caplog.text and "wb_secret" not in caplog.text
    assert raised.value.__cause__ is None
    assert audit_log.head().seq == 1
    assert audit_log.verify().intact


def test_a_missing_audit_table_makes_record_raise_audit_unavailable(engine: Engine, audit_log: SqlAuditLog) -> None:
    execute(engine, "drop table audit_head")
    with pytest.raises(AuditUnavailable):
        audit_log.record(event(1))


def test_a_naive_time_is_refused_as_audit_unavailable(audit_log: SqlAuditLog) -> None:
    with pytest.raises(AuditUnavailable):
        audit_log.record(event(1, at=datetime(2026, 11, 23, 8, 0)))


# --- concurrency ------------------------------------------------------------------------------


def test_concurrent_appends_from_threads_keep_one_linear_chain(engine: Engine) -> None:
    audit_log = SqlAuditLog(engine, SIGNER, lambda: T0, checkpoint_every=7)
    threads, per_thread = 4, 25
    returned: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def append(worker: int) -> None:
        start.wait()
        for n in range(per_thread):
            try:
                seq = audit_log.record(event(worker * 100 + n))
            except BaseException as error:  # collected and asserted below
                failures.append(error)
                return
            with lock:
                returned.append(seq)

    workers = [threading.Thread(target=append, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert sorted(returned) == list(range(1, threads * per_thread + 1))
    result = audit_log.verify()
    assert result.intact and result.entries == threads * per_thread


def database_url(engine: Engine) -> str:
    """A URL another process can open the same database with (PostgreSQL: the test's schema)."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("select current_schema()")).scalar_one()
        url += "?options=" + quote(f"-csearch_path={schema}")
    return url


def append_from_another_process(url: str, worker: int, count: int) -> None:
    engine = make_engine(url)
    audit_log = SqlAuditLog(engine, SIGNER, lambda: T0, checkpoint_every=7)
    for n in range(count):
        audit_log.record(event(worker * 100 + n))
    engine.dispose()


def test_concurrent_appends_from_processes_keep_one_linear_chain(engine: Engine, audit_log: SqlAuditLog) -> None:
    processes = [
        multiprocessing.get_context("spawn").Process(
            target=append_from_another_process, args=(database_url(engine), worker, 20)
        )
        for worker in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0, 0]
    result = audit_log.verify()
    assert result.intact and result.entries == 60


# --- pwb audit verify -------------------------------------------------------------------------


@pytest.fixture
def cli_log(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlAuditLog]:
    """The runtime's audit log, with PWB_DATABASE_URL pointing the CLI at the same database."""
    monkeypatch.setenv("PWB_DATABASE_URL", database_url(rt.engine))
    yield SqlAuditLog(
        rt.engine, AuditKeys(rt.purpose_keys.ring("audit")), rt.clock, witnesses=[FileWitness(rt.settings.audit_anchor_file)]
    )


def run_verify() -> tuple[int, str]:
    result = CliRunner().invoke(audit_app, ["verify"])
    return result.exit_code, result.output


def test_pwb_audit_verify_exits_0_with_a_summary_when_intact(cli_log: SqlAuditLog) -> None:
    filled(cli_log, 5)
    code, output = run_verify()
    assert code == 0, output
    # Six: the verify command's own audit.read is recorded before it verifies. Two heads:
    # each process signs at its first append (entries 5 and 6).
    assert output.startswith(
        "pwb audit verify: intact: 6 entries, 2 signed checkpoints, 2 anchors outside the database, head "
    )
    assert cli_log.events(action="audit.read")[0].actor.startswith("cli:")
    assert len(output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("update audit_entries set rule = 'admin.override' where seq = 4", "entry 4: changed"),
        ("delete from audit_entries where seq = 2", "entry 2: missing"),
        ("update audit_entries set seq = seq + 100 where seq in (3, 4); "
         "update audit_entries set seq = 4 where seq = 103; update audit_entries set seq = 3 where seq = 104",
         "entry 3: reordered"),
    ],
    ids=["edited", "deleted", "swapped"],
)  # fmt: skip
def test_pwb_audit_verify_exits_1_naming_the_first_tampered_entry(
    cli_log: SqlAuditLog, rt: Runtime, sql: str, named: str
) -> None:
    filled(cli_log, 6)
    for statement in sql.split("; "):
        execute(rt.engine, statement)
    code, output = run_verify()
    assert code == 1, output
    assert named in output


def test_pwb_audit_verify_trusts_only_the_platform_key(cli_log: SqlAuditLog, rt: Runtime) -> None:
    filled(cli_log, 3)
    execute(rt.engine, "delete from audit_checkpoints")
    SqlAuditLog(rt.engine, SIGNER, rt.clock).checkpoint()
    code, output = run_verify()
    assert code == 1
    assert "entry 3: bad checkpoint signature" in output


def test_pwb_audit_checkpoint_signs_the_head_with_the_platform_key(cli_log: SqlAuditLog) -> None:
    filled(cli_log, 3)
    result = CliRunner().invoke(audit_app, ["checkpoint"])
    assert result.exit_code == 0, result.output
    assert "signed entry 4" in result.output  # the command's own audit.read is entry 4
    assert run_verify()[0] == 0


def test_pwb_audit_verify_before_init_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PWB_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("PWB_MASTER_SECRET", raising=False)
    code, output = run_verify()
    assert code == 2
    assert "pwb init" in output


# --- a database-only insider against `pwb audit verify` -----------------------------------------


def insider(engine: Engine, *statements: str) -> None:
    for statement in statements:
        execute(engine, statement)


def rechain_without_the_key(engine: Engine) -> None:
    """Recompute every stored hash with plain SHA-256 and move the head: all the database allows."""
    with engine.begin() as conn:
        rows = conn.execute(text("select seq from audit_entries order by seq")).scalars().all()
    log = SqlAuditLog(engine, SIGNER, lambda: T0)
    entries = list(log._stream_entries(engine.connect()))
    prev = bytes(32)
    with engine.begin() as conn:
        for new_seq, entry in zip(range(1, len(rows) + 1), entries, strict=True):
            linked = entry._replace(seq=new_seq, prev_hash=prev)
            digest = unkeyed_entry_hash(linked)
            conn.execute(
                text("update audit_entries set seq = :new, prev_hash = :prev, entry_hash = :hash where seq = :old"),
                {"new": new_seq, "prev": prev, "hash": digest, "old": entry.seq},
            )
            prev = digest
        conn.execute(text("update audit_head set seq = :seq, head_hash = :hash"), {"seq": len(rows), "hash": prev})


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (
            ("delete from audit_entries where seq > 7", "delete from audit_checkpoints where seq > 7",
             "update audit_head set seq = 7, head_hash = (select entry_hash from audit_entries where seq = 7)"),
            "entry 8: truncated",
        ),
        (
            ("delete from audit_entries where seq in (3, 4)", "update audit_entries set seq = seq - 2 where seq > 4"),
            "entry 3: renumbered (it was written as entry 5: 2 entries before it were deleted)",
        ),
        (("delete from audit_checkpoints",), "checkpoint deleted"),
    ],
    ids=["truncated-head-moved-back", "deleted-and-renumbered", "checkpoints-deleted"],
)  # fmt: skip
def test_pwb_audit_verify_names_what_a_database_only_insider_did(
    cli_log: SqlAuditLog, rt: Runtime, statements: tuple[str, ...], named: str
) -> None:
    filled(cli_log, 4)
    cli_log.checkpoint()
    filled(cli_log, 4)
    cli_log.checkpoint()  # anchored: entries 4 and 8 (and 1, the first append)
    insider(rt.engine, *statements)
    code, output = run_verify()
    assert code == 1, output
    assert named in output


def test_pwb_audit_verify_names_a_chain_recomputed_without_the_key(cli_log: SqlAuditLog, rt: Runtime) -> None:
    filled(cli_log, 6)
    insider(rt.engine, "delete from audit_entries where seq = 3", "delete from audit_checkpoints")
    rechain_without_the_key(rt.engine)
    code, output = run_verify()
    assert code == 1, output
    assert "entry 1: re-chained (its hash was recomputed without the audit chain key)" in output


def test_pwb_audit_verify_names_a_re_signed_checkpoint(cli_log: SqlAuditLog, rt: Runtime) -> None:
    filled(cli_log, 4)
    forged = SqlAuditLog(rt.engine, SIGNER, rt.clock)
    execute(rt.engine, "delete from audit_checkpoints")
    forged.checkpoint()
    code, output = run_verify()
    assert code == 1, output
    assert "entry 4: bad checkpoint signature" in output


def test_pwb_audit_verify_names_a_damaged_anchor_file(cli_log: SqlAuditLog, rt: Runtime) -> None:
    filled(cli_log, 4)
    with rt.settings.audit_anchor_file.open("a") as anchors:
        anchors.write("not a head\n")
    code, output = run_verify()
    assert code == 1, output
    assert "anchor file line 2 is not a signed head" in output


def test_the_anchor_file_is_owner_only_and_append_only(cli_log: SqlAuditLog, rt: Runtime) -> None:
    filled(cli_log, 3)
    cli_log.checkpoint()
    filled(cli_log, 1)
    cli_log.checkpoint()
    anchors = rt.settings.audit_anchor_file
    assert anchors.stat().st_mode & 0o777 == 0o600
    assert [a.seq for a in FileWitness(anchors).anchors()] == [3, 4]


def test_pwb_audit_prove_gives_a_signed_tree_head_and_an_inclusion_proof(cli_log: SqlAuditLog, rt: Runtime) -> None:
    filled(cli_log, 6)
    result = CliRunner().invoke(audit_app, ["prove", "3"])
    assert result.exit_code == 0, result.output
    proof = json.loads(result.output)
    assert proof["tree_size"] == 7  # six entries and the command's own audit.read
    entry_hash = bytes.fromhex(proof["entry_hash"])
    assert entry_hash == cli_log.events(after_seq=2, limit=1)[0].entry_hash
    root = root_from_inclusion(leaf_hash(entry_hash), 2, 7, [bytes.fromhex(p) for p in proof["proof"]])
    assert root is not None and root.hex() == proof["root"]
    message = tree_head_message(7, root, proof["at"], proof["key_id"])
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(proof["public_key"]))
    public_key.verify(bytes.fromhex(proof["signature"]), message)  # raises when forged
    assert proof["public_key"] == AuditKeys(rt.purpose_keys.ring("audit")).current().public_key.hex()


def test_pwb_audit_prove_refuses_an_entry_beyond_the_log(cli_log: SqlAuditLog) -> None:
    filled(cli_log, 2)
    result = CliRunner().invoke(audit_app, ["prove", "99"])
    assert result.exit_code == 2
    assert "seq: the log has 3 entries" in result.output


# --- finding 18: durable audit commits ----------------------------------------------------------


def test_audit_appends_commit_at_synchronous_full_and_leave_the_pool_at_normal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'durable.sqlite3'}")
    migrate(engine)
    at_commit: list[int] = []

    @sqlalchemy_event.listens_for(engine, "commit")
    def _synchronous_at_commit(conn) -> None:  # type: ignore[no-untyped-def]
        cursor = conn.connection.dbapi_connection.cursor()
        at_commit.append(cursor.execute("PRAGMA synchronous").fetchone()[0])
        cursor.close()

    audit_log = SqlAuditLog(engine, SIGNER, lambda: T0)
    audit_log.record(event(1))
    audit_log.record_many([event(2), event(3)])
    # SQLite: 1 = NORMAL, 2 = FULL. Every audit commit ran at FULL (WAL synced before the
    # disclosure it covers is answered); the connection went back to the pool at NORMAL.
    assert at_commit == [2, 2]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    engine.dispose()
