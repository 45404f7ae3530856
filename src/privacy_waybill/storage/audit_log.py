"""The audit log on SQLAlchemy: appends that commit before returning and never fork the chain.

Every append locks the single head row (`SELECT ... FOR UPDATE` on PostgreSQL, `BEGIN
IMMEDIATE` on SQLite), links to the head, inserts and moves the head in one short
transaction. Any failure surfaces as `AuditUnavailable` so callers fail closed.

A head is signed every `checkpoint_every` entries and at the first append after
`checkpoint_seconds` have passed, and every signed head goes to the witnesses outside the
database. On SQLite each append commits with `synchronous=FULL`, so a committed audit entry
survives a power failure even though the rest of the database runs at NORMAL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, String, Table, bindparam, insert, select, type_coerce, update
from sqlalchemy.engine import Connection

from privacy_waybill.audit.chain import StoredEntry, canonical_time, chain_entry
from privacy_waybill.audit.anchors import Witness, publish_to_all
from privacy_waybill.audit.checkpoints import (
    DEFAULT_CHECKPOINT_EVERY,
    DEFAULT_CHECKPOINT_SECONDS,
    AuditKeys,
    Checkpoint,
)
from privacy_waybill.audit.merkle import tree_root
from privacy_waybill.audit.model import AuditEvent, AuditUnavailable, Outcome
from privacy_waybill.audit.verify import ChainHead, Verification, verify_chain
from privacy_waybill.storage.audit_tables import AuditCheckpoint, AuditEntry, AuditHead

ENTRIES = cast(Table, AuditEntry.__table__)
CHECKPOINTS = cast(Table, AuditCheckpoint.__table__)
HEAD = cast(Table, AuditHead.__table__)
HEAD_ROW = 1
STREAM_BATCH = 5000

log = logging.getLogger("privacy_waybill.audit")

AuditObserver = Callable[[Sequence[tuple[int, AuditEvent]]], None]

# Column order matches StoredEntry's fields; `at` is read as stored text so an entry whose
# time was overwritten with garbage is reported as changed instead of failing the read.
_ENTRY_COLUMNS = (
    ENTRIES.c.seq,
    type_coerce(ENTRIES.c.at, String),
    ENTRIES.c.actor,
    ENTRIES.c.role,
    ENTRIES.c.action,
    ENTRIES.c.outcome,
    ENTRIES.c.rule,
    ENTRIES.c.tenant_id,
    ENTRIES.c.waybill_id,
    ENTRIES.c.purpose,
    ENTRIES.c.fields,
    ENTRIES.c.device,
    ENTRIES.c.detail,
    ENTRIES.c.prev_hash,
    ENTRIES.c.entry_hash,
    ENTRIES.c.key_version,
)
_CHECKPOINT_COLUMNS = (
    CHECKPOINTS.c.seq,
    CHECKPOINTS.c.head_hash,
    type_coerce(CHECKPOINTS.c.at, String),
    CHECKPOINTS.c.key_id,
    CHECKPOINTS.c.public_key,
    CHECKPOINTS.c.signature,
)


# Statements built once: building them per append cost more than the SQL they run.
_READ_HEAD = select(HEAD.c.seq, HEAD.c.head_hash).where(HEAD.c.id == HEAD_ROW)
_LOCK_HEAD = _READ_HEAD.with_for_update()
_MOVE_HEAD = update(HEAD).where(HEAD.c.id == HEAD_ROW).values(seq=bindparam("new_seq"), head_hash=bindparam("new_hash"))
_INSERT_ENTRIES = insert(ENTRIES)
_INSERT_CHECKPOINTS = insert(CHECKPOINTS)


@dataclass(frozen=True, slots=True)
class SignedTreeHead:
    size: int
    root: bytes
    at: str
    key_id: str
    public_key: bytes
    signature: bytes


def _entry_from_row(row: Sequence[Any]) -> StoredEntry:
    return StoredEntry._make((row[0], canonical_time(row[1]), *row[2:]))


def _checkpoint_from_row(row: Sequence[Any]) -> Checkpoint:
    seq, head_hash, at, key_id, public_key, signature = row
    return Checkpoint(seq, head_hash, canonical_time(at), key_id, public_key, signature)


def _checkpoint_row(checkpoint: Checkpoint) -> dict[str, object]:
    return {
        "seq": checkpoint.seq,
        "head_hash": checkpoint.head_hash,
        "at": datetime.fromisoformat(checkpoint.at),
        "key_id": checkpoint.key_id,
        "public_key": checkpoint.public_key,
        "signature": checkpoint.signature,
    }


class SqlAuditLog:
    """`AuditSink` on SQLite or PostgreSQL, with a signed checkpoint every `checkpoint_every` entries.

    Entries are chained and heads signed with the audit key's current version; verification
    trusts every version, so a rotation in the middle of the log leaves it verifiable.
    """

    def __init__(
        self,
        engine: Engine,
        keys: AuditKeys,
        clock: Callable[[], datetime],
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        checkpoint_seconds: int = DEFAULT_CHECKPOINT_SECONDS,
        witnesses: Sequence[Witness] = (),
    ) -> None:
        if checkpoint_every < 1 or checkpoint_seconds < 1:
            raise ValueError("checkpoint_every and checkpoint_seconds must be at least 1")
        self._engine = engine
        self._keys = keys
        self._clock = clock
        self._checkpoint_every = checkpoint_every
        self._checkpoint_interval = timedelta(seconds=checkpoint_seconds)
        self._last_signed_at: datetime | None = None
        self.witnesses = list(witnesses)
        self._sqlite = engine.dialect.name == "sqlite"
        self._observers: list[AuditObserver] = []

    def subscribe(self, observer: AuditObserver) -> None:
        """Call `observer` with every batch of (seq, event) after it is committed.

        This is how the risk engine (or a queue publisher) consumes the log; the chain logic
        is untouched. An observer's failure is logged and does not undo or fail the append,
        which has already committed.
        """
        self._observers.append(observer)

    def record(self, event: AuditEvent) -> int:
        """Append `event`, commit, and return its sequence number (AuditUnavailable on any failure)."""
        return self.record_many([event])[0]

    def record_many(self, events: Sequence[AuditEvent]) -> list[int]:
        """Append `events` in order in one transaction: all are committed or none."""
        if not events:
            return []
        try:
            with self._locked_head() as (conn, seq, prev_hash):
                first_seq = seq + 1
                rows: list[dict[str, object]] = []
                checkpoints: list[Checkpoint] = []
                signer = self._keys.current()
                chain_key, key_version = signer.chain_key, signer.version
                now = self._clock()
                for event in events:
                    seq += 1
                    entry = chain_entry(seq, prev_hash, event, chain_key, key_version)
                    rows.append(_entry_row(entry, event.at))
                    prev_hash = entry.entry_hash
                    if seq % self._checkpoint_every == 0:
                        checkpoints.append(signer.sign(seq, prev_hash, canonical_time(now)))
                if not checkpoints and self._time_to_sign(now):
                    checkpoints.append(signer.sign(seq, prev_hash, canonical_time(now)))
                conn.execute(_INSERT_ENTRIES, rows)
                if checkpoints:
                    conn.execute(_INSERT_CHECKPOINTS, [_checkpoint_row(c) for c in checkpoints])
                conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev_hash})
        except Exception as error:
            # The driver's message can quote bound values; only the type is logged.
            log.error("audit append failed: %s", type(error).__name__)
            raise AuditUnavailable() from None
        if checkpoints:
            self._last_signed_at = now
            publish_to_all(self.witnesses, checkpoints)
        seqs = list(range(first_seq, first_seq + len(events)))
        for observer in self._observers:
            try:
                observer(list(zip(seqs, events, strict=True)))
            except Exception as error:
                log.error("audit observer failed: %s", type(error).__name__)
        return seqs

    def _time_to_sign(self, now: datetime) -> bool:
        return self._last_signed_at is None or now - self._last_signed_at >= self._checkpoint_interval

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current head now (None while the log is empty); idempotent per head."""
        try:
            with self._locked_head() as (conn, seq, head_hash):
                if seq == 0:
                    return None
                existing = conn.execute(select(*_CHECKPOINT_COLUMNS).where(CHECKPOINTS.c.seq == seq)).first()
                if existing is not None:
                    return _checkpoint_from_row(existing)
                checkpoint = self._keys.current().sign(seq, head_hash, canonical_time(self._clock()))
                conn.execute(_INSERT_CHECKPOINTS, [_checkpoint_row(checkpoint)])
        except Exception as error:
            log.error("audit checkpoint failed: %s", type(error).__name__)
            raise AuditUnavailable() from None
        publish_to_all(self.witnesses, [checkpoint])
        return checkpoint

    def events(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        waybill_id: str | None = None,
        tenant_id: str | None = None,
        outcome: Outcome | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[StoredEntry]:
        """Entries matching every given filter, oldest first, after `after_seq` (for paging).

        `since` is inclusive and `until` exclusive.
        """
        query = select(*_ENTRY_COLUMNS).where(ENTRIES.c.seq > after_seq)
        equal_to = {
            ENTRIES.c.actor: actor,
            ENTRIES.c.action: action,
            ENTRIES.c.waybill_id: waybill_id,
            ENTRIES.c.tenant_id: tenant_id,
            ENTRIES.c.outcome: outcome.value if outcome else None,
        }
        for column, value in equal_to.items():
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(ENTRIES.c.at >= since)
        if until is not None:
            query = query.where(ENTRIES.c.at < until)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(ENTRIES.c.seq).limit(limit)).all()
        return [_entry_from_row(row) for row in rows]

    def entry_hashes(self) -> list[bytes]:
        """Every entry's keyed hash in sequence order (the Merkle tree's leaf data)."""
        with self._engine.connect() as conn:
            return list(conn.execute(select(ENTRIES.c.entry_hash).order_by(ENTRIES.c.seq)).scalars())

    def signed_tree_head(self, leaves: Sequence[bytes]) -> SignedTreeHead:
        """An RFC 6962 root over `leaves`, signed now with the audit key."""
        root = tree_root(leaves)
        at = canonical_time(self._clock())
        signer = self._keys.current()
        signature = signer.sign_tree_head(len(leaves), root, at)
        return SignedTreeHead(len(leaves), root, at, signer.key_id, signer.public_key, signature)

    def head(self) -> ChainHead:
        with self._engine.connect() as conn:
            seq, head_hash = conn.execute(_READ_HEAD).one()
        return ChainHead(seq, head_hash)

    def verify(self, trusted_keys: Mapping[str, bytes] | None = None) -> Verification:
        """Verify the whole stored chain from one consistent snapshot, against every witness's anchors.

        By default the trusted checkpoint keys are every version of this log's audit key. Raises
        AnchorFileDamaged when a witness's anchors cannot be read.
        """
        trusted = trusted_keys if trusted_keys is not None else self._keys.trusted_keys()
        anchors = [anchor for witness in self.witnesses for anchor in witness.anchors()]
        with self._snapshot() as conn:
            seq, head_hash = conn.execute(_READ_HEAD).one()
            checkpoints = [_checkpoint_from_row(row) for row in conn.execute(select(*_CHECKPOINT_COLUMNS))]
            return verify_chain(
                self._stream_entries(conn),
                checkpoints,
                trusted,
                ChainHead(seq, head_hash),
                chain_keys=self._keys.chain_keys(),
                anchors=_distinct(anchors),
            )

    def _stream_entries(self, conn: Connection) -> Iterator[StoredEntry]:
        """Every entry in sequence order, straight from the driver's cursor in batches.

        Bypassing SQLAlchemy's row objects halves the cost per row (measured); the columns are
        plain text, integers and bytes on both backends. PostgreSQL streams from a server-side
        cursor so memory stays flat.
        """
        query = str(select(*_ENTRY_COLUMNS).order_by(ENTRIES.c.seq).compile(dialect=conn.dialect))
        # Any: a named (server-side) cursor is psycopg's extension of the DB-API.
        driver_connection = cast(Any, conn.connection.dbapi_connection)
        cursor = driver_connection.cursor() if self._sqlite else driver_connection.cursor(name="pwb_audit_verify")
        try:
            cursor.execute(query)
            while batch := cursor.fetchmany(STREAM_BATCH):
                for row in batch:
                    yield _entry_from_row(row)
        finally:
            cursor.close()

    @contextmanager
    def _locked_head(self) -> Iterator[tuple[Connection, int, bytes]]:
        """A write transaction holding the head row: (connection, head seq, head hash); commits on exit."""
        with self._engine.connect() as conn:
            if self._sqlite:
                # Take the write lock before reading the head (BEGIN IMMEDIATE): a deferred
                # transaction would read a head another writer is about to move and then fail
                # to upgrade its lock. FULL syncs the WAL at this commit: the entry is durable
                # before the disclosure it covers; the pooled connection goes back to NORMAL.
                conn.exec_driver_sql("PRAGMA synchronous=FULL")
            try:
                if self._sqlite:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                head = conn.execute(_LOCK_HEAD).one()
                yield conn, head.seq, head.head_hash
                conn.commit()
            finally:
                if self._sqlite:
                    conn.rollback()
                    conn.exec_driver_sql("PRAGMA synchronous=NORMAL")

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A read-only transaction in which head, checkpoints and entries are one snapshot."""
        with self._engine.connect() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN")
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            try:
                yield conn
            finally:
                conn.rollback()


def _distinct(anchors: list[Checkpoint]) -> list[Checkpoint]:
    """One anchor per sequence number; two different anchors for one head are both kept."""
    seen: dict[tuple[int, bytes], Checkpoint] = {}
    for anchor in anchors:
        seen.setdefault((anchor.seq, anchor.signature), anchor)
    return list(seen.values())


def _entry_row(entry: StoredEntry, at: datetime) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "at": at,
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "outcome": entry.outcome,
        "rule": entry.rule,
        "tenant_id": entry.tenant_id,
        "waybill_id": entry.waybill_id,
        "purpose": entry.purpose,
        "fields": entry.fields,
        "device": entry.device,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
        "key_version": entry.key_version,
    }
