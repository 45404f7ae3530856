"""Issuance over every core: the pure per-record stages in forked worker processes.

Validation, routing, masking, sealing and hashing are pure Python and hold the GIL, so one
process uses one core. Workers are forked after the parent has loaded the division, surname
and routing data and opened the keys, so they start in milliseconds and share those pages
copy-on-write; each is handed whole chunks, so pickling stays a small share of the work.
The parent keeps everything that touches the database (look-ups, inserts, conflicts), in
input order, while the workers prepare the chunks ahead of it. JSON Lines records reach the
workers unread, so parsing and validating them is worker work too.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
from collections import deque
from itertools import islice
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from privacy_waybill.errors import FieldError
from privacy_waybill.issuance.model import IssuedWaybill, NewWaybill, Prepared
from privacy_waybill.issuance.orders import OrderIn, order_from_json, order_json
from privacy_waybill.labels.model import MaskedParty
from privacy_waybill.vault import SealedRecord

from privacy_waybill.issuance.intake import IntakeRecord, UnreadRecord, read_record

if TYPE_CHECKING:
    from privacy_waybill.issuance.service import Preparation

# A chunk as given, its records as read, and their preparations.
PreparedChunk = tuple[list[IntakeRecord | UnreadRecord], list[IntakeRecord], list[Prepared | None]]

# Chunks handed out ahead of the one being stored, per worker: enough that a worker never
# waits for the parent, which stores several chunks at once (a transaction of at least
# TRANSACTION_RECORDS; with 2 ahead the workers sat idle meanwhile, measured), and few enough
# that memory stays bounded on a file of millions of rows.
CHUNKS_AHEAD_PER_WORKER = 6
# Records prepared in the parent before forking, which builds every lazily loaded table
# (address index, scrubber index, keyed hashes) once instead of once per worker.
WARM_UP_RECORDS = 8

_worker_preparation: Preparation | None = None


def _adopt(preparation: Preparation) -> None:
    global _worker_preparation
    _worker_preparation = preparation
    _die_with_parent()


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A batch killed with SIGKILL must not leave its workers behind, waiting forever on a
    queue whose other end died: on Linux the kernel sends them SIGTERM when the parent dies."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


# What a worker is sent per record: ("line", its bytes, its line number) for a record not
# read yet, ("order", its canonical JSON) for an order read here, or None for a record that
# failed intake. The JSON is the order fingerprint's input anyway, and dumping it here and
# validating it there costs about half of pickling the pydantic models both ways.
Sent = tuple[str, bytes, int] | tuple[str, str] | None
_LINE, _ORDER = "line", "order"


def _sent(chunk: Sequence[IntakeRecord | UnreadRecord]) -> list[Sent]:
    return [
        (_LINE, r.raw, r.position)
        if isinstance(r, UnreadRecord)
        else (_ORDER, order_json(r.order))
        if r.order
        else None
        for r in chunk
    ]


# Prepared waybills go back to the parent as plain tuples: (fingerprint, waybill's values,
# sealed record's values). A named tuple pickles through a Python method (`__getnewargs__`)
# and unpickles through another (its `__new__`); a waybill holds two more (its masked
# parties), and sending them as named tuples cost about twice the instructions to pickle and
# to unpickle (52,000 and 44,000 per record against 28,000 and 24,000, cachegrind).
_RECIPIENT = IssuedWaybill._fields.index("recipient")
_SENDER = IssuedWaybill._fields.index("sender")
PlainWaybill = tuple[tuple[object, ...], tuple[str, ...], tuple[object, ...], tuple[str, ...], tuple[object, ...]]
Flat = tuple[bytes, PlainWaybill, tuple[object, ...]] | tuple[bytes, FieldError] | None


def _plain(waybill: IssuedWaybill) -> PlainWaybill:
    # Slices of a named tuple are plain tuples.
    return (
        waybill[:_RECIPIENT],
        tuple(waybill.recipient),
        waybill[_RECIPIENT + 1 : _SENDER],
        tuple(waybill.sender),
        waybill[_SENDER + 1 :],
    )


# Named tuples rebuilt by tuple.__new__ itself, in C: their own constructors (`__new__`,
# `_make`) are Python functions, a frame each, and a waybill comes back as six of them. The
# values are the worker's own, in field order.
_as = tuple.__new__


def _waybill(plain: PlainWaybill) -> IssuedWaybill:
    before, recipient, between, sender, after = plain
    return _as(IssuedWaybill, (*before, _as(MaskedParty, recipient), *between, _as(MaskedParty, sender), *after))


def _flat(prepared: Prepared | None) -> Flat:
    if prepared is None:
        return None
    if isinstance(prepared.result, FieldError):
        return (prepared.fingerprint, prepared.result)
    return (prepared.fingerprint, _plain(prepared.result.waybill), tuple(prepared.result.sealed))


def _unflat(flat: Flat) -> Prepared | None:
    if flat is None:
        return None
    if len(flat) == 2:
        return _as(Prepared, flat)
    fingerprint, plain, sealed = flat  # type: ignore[misc]
    return _as(Prepared, (fingerprint, _as(NewWaybill, (_waybill(plain), _as(SealedRecord, sealed)))))


# Back from a worker per record: its order id and intake error (for a record sent unread;
# None for the others, which the parent read itself) and its flattened preparation.
Returned = tuple[tuple[str | None, FieldError | None] | None, Flat]


def _prepare_in_worker(tenant_id: str, sent: Sequence[Sent]) -> list[Returned]:
    if _worker_preparation is None:
        raise RuntimeError("worker started without a preparation")
    intake: list[tuple[str | None, FieldError | None] | None] = []
    orders: list[tuple[OrderIn, str] | None] = []
    for entry in sent:
        if entry is None:
            intake.append(None)
            orders.append(None)
        elif entry[0] == _LINE:
            record = read_record(UnreadRecord(entry[2], entry[1]))  # type: ignore[misc]
            intake.append((record.order_id, record.error))
            orders.append((record.order, order_json(record.order)) if record.order else None)
        else:
            intake.append(None)
            orders.append((order_from_json(entry[1]), entry[1]))
    prepared = _worker_preparation.prepare_orders(tenant_id, orders)
    return [(i, _flat(p)) for i, p in zip(intake, prepared, strict=True)]


def _received(chunk: list[IntakeRecord | UnreadRecord], returned: list[Returned]) -> PreparedChunk:
    read = [
        IntakeRecord(r.position, intake[0], None, intake[1]) if isinstance(r, UnreadRecord) and intake else r
        for r, (intake, _flat_prepared) in zip(chunk, returned, strict=True)
    ]
    return chunk, read, [_unflat(f) for _intake, f in returned]  # type: ignore[misc]


class PreparedAhead:
    """Chunks prepared by `workers` forked processes, in input order: (chunk, its records as
    read, prepared records). A record read in a worker comes back with its order id or error.

    The workers fork and are handed their first chunks when this is made, not when it is
    first read, so they can work while the caller opens the database. Input that fits in one
    chunk is prepared here when read: forking would cost more than it saves. Read it once;
    `close` (or leaving its `with`) drops the chunks not started yet and stops the workers.
    """

    def __init__(
        self,
        preparation: Preparation,
        tenant_id: str,
        chunks: Iterator[list[IntakeRecord | UnreadRecord]],
        workers: int,
    ) -> None:
        self._preparation = preparation
        self._tenant_id = tenant_id
        self._chunks = chunks
        self._pending: deque[tuple[list[IntakeRecord | UnreadRecord], Future[list[Returned]]]] = deque()
        self._pool: ProcessPoolExecutor | None = None
        self._all_handed_out = False
        first = next(chunks, None)
        second = next(chunks, None) if first is not None else None
        self._only_chunk = first if second is None else None
        if first is None or second is None:
            return
        # Results dropped, nothing is stored: this builds the lazily loaded tables before forking.
        preparation.prepare_records(tenant_id, [read_record(r) for r in first[:WARM_UP_RECORDS]])
        # The tables just built are long-lived: frozen, a worker's collections never walk them,
        # which would write to (and so copy) their shared pages.
        gc.freeze()
        # fork, not spawn: the children inherit the loaded data and keys without pickling them.
        context = multiprocessing.get_context("fork")
        self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_adopt, initargs=(preparation,))
        try:
            self._submit(first)
            self._submit(second)
            for chunk in islice(chunks, CHUNKS_AHEAD_PER_WORKER * workers - 2):
                self._submit(chunk)
        except BaseException:
            # A file found unusable a few chunks in: no caller holds this yet to close it.
            self.close()
            raise

    def _submit(self, chunk: list[IntakeRecord | UnreadRecord]) -> None:
        if self._pool is None:
            raise RuntimeError("no worker pool")
        self._pending.append((chunk, self._pool.submit(_prepare_in_worker, self._tenant_id, _sent(chunk))))

    def __iter__(self) -> Iterator[PreparedChunk]:
        if self._only_chunk is not None:
            chunk, self._only_chunk = self._only_chunk, None
            read = [read_record(r) for r in chunk]
            yield chunk, read, self._preparation.prepare_records(self._tenant_id, read)
        while self._pending:
            done, future = self._pending.popleft()
            returned = future.result()
            following = next(self._chunks, None)
            if following is not None:
                self._submit(following)  # before handing this one out, so no worker waits on the caller
            else:
                self._all_handed_out = True
            yield _received(done, returned)

    def next_is_late(self) -> bool:
        """Whether the workers hold the last chunks and the next is not ready yet. A caller
        gathering chunks into transactions then does better to store what it holds: at the
        end of a batch there is no more work for the workers to do meanwhile, and the chunks
        it waited for would all be stored after the workers had finished."""
        return self._all_handed_out and bool(self._pending) and not self._pending[0][1].done()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()

    def __enter__(self) -> PreparedAhead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
