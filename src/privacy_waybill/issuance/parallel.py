"""Issuance over every core: the pure per-record stages in forked worker processes.

Validation, routing, masking, sealing and hashing are pure Python and hold the GIL, so one
process uses one core. Workers are forked after the parent has loaded the division, surname
and routing data and opened the keys, so they start in milliseconds and share those pages
copy-on-write; each is handed whole chunks, so pickling stays a small share of the work.
The parent keeps everything that touches the database (look-ups, inserts, conflicts), in
input order, while the workers prepare the chunks ahead of it.
"""

from __future__ import annotations

import ctypes
import dataclasses
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from privacy_waybill.errors import FieldError
from privacy_waybill.issuance.model import IssuedWaybill, NewWaybill, Prepared
from privacy_waybill.issuance.orders import OrderIn
from privacy_waybill.labels.model import MaskedParty
from privacy_waybill.vault import SealedRecord

if TYPE_CHECKING:
    from privacy_waybill.issuance.intake import IntakeRecord
    from privacy_waybill.issuance.service import IssuanceService

# Chunks handed out ahead of the one being stored, per worker: enough that a worker never
# waits for the parent, few enough that memory stays bounded on a file of millions of rows.
CHUNKS_AHEAD_PER_WORKER = 2
# Records prepared in the parent before forking, which builds every lazily loaded table
# (address index, scrubber index, keyed hashes) once instead of once per worker.
WARM_UP_RECORDS = 8

_worker_service: IssuanceService | None = None


def _adopt(service: IssuanceService) -> None:
    global _worker_service
    _worker_service = service
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


def _order_jsons(chunk: Sequence[IntakeRecord]) -> list[str | None]:
    """What a worker is sent: each valid order as its canonical JSON (None for the others).

    The JSON is the order fingerprint's input anyway, and dumping it here and validating it
    there costs about half of pickling the pydantic models both ways.
    """
    return [r.order.model_dump_json() if r.order else None for r in chunk]


# Prepared waybills go back to the parent as plain tuples: unpickling a tree of frozen
# dataclasses cost the parent (the process that also stores) about three times as much.
_WAYBILL_FIELDS = tuple(f.name for f in dataclasses.fields(IssuedWaybill))
_PARTY_FIELDS = tuple(f.name for f in dataclasses.fields(MaskedParty))
_SEALED_FIELDS = tuple(f.name for f in dataclasses.fields(SealedRecord))
Flat = tuple[bytes, tuple[object, ...], tuple[object, ...]] | tuple[bytes, FieldError] | None


def _flat(prepared: Prepared | None) -> Flat:
    if prepared is None:
        return None
    if isinstance(prepared.result, FieldError):
        return (prepared.fingerprint, prepared.result)
    waybill, sealed = prepared.result.waybill, prepared.result.sealed
    values = tuple(
        tuple(getattr(value, f) for f in _PARTY_FIELDS) if isinstance(value, MaskedParty) else value
        for value in (getattr(waybill, f) for f in _WAYBILL_FIELDS)
    )
    return (prepared.fingerprint, values, tuple(getattr(sealed, f) for f in _SEALED_FIELDS))


def _unflat(flat: Flat) -> Prepared | None:
    if flat is None:
        return None
    if len(flat) == 2:
        return Prepared(flat[0], flat[1])  # type: ignore[arg-type]
    fingerprint, values, sealed = flat  # type: ignore[misc]
    waybill = IssuedWaybill(*(MaskedParty(*v) if isinstance(v, tuple) else v for v in values))  # type: ignore[arg-type]
    return Prepared(fingerprint, NewWaybill(waybill, SealedRecord(*sealed)))  # type: ignore[arg-type]


def _prepare_in_worker(tenant_id: str, order_jsons: Sequence[str | None]) -> list[Flat]:
    if _worker_service is None:
        raise RuntimeError("worker started without a service")
    orders = [(OrderIn.model_validate_json(j), j) if j is not None else None for j in order_jsons]
    return [_flat(p) for p in _worker_service.prepare_orders(tenant_id, orders)]


def prepare_in_pool(
    service: IssuanceService, tenant_id: str, chunks: Iterator[list[IntakeRecord]], workers: int
) -> Iterator[tuple[list[IntakeRecord], list[Prepared | None]]]:
    """(chunk, prepared records) in input order, prepared by `workers` forked processes.

    Input that fits in one chunk is prepared here: forking would cost more than it saves.
    """
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if second is None:
        yield first, service.prepare_records(tenant_id, first)
        return
    service.prepare_records(tenant_id, first[:WARM_UP_RECORDS])  # results dropped: nothing is stored
    # fork, not spawn: the children inherit the loaded data and keys without pickling them.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_adopt, initargs=(service,)) as pool:
        pending: deque[tuple[list[IntakeRecord], Future[list[Flat]]]] = deque()

        def submit(chunk: list[IntakeRecord]) -> None:
            pending.append((chunk, pool.submit(_prepare_in_worker, tenant_id, _order_jsons(chunk))))

        submit(first)
        submit(second)
        for chunk in chunks:
            if len(pending) >= CHUNKS_AHEAD_PER_WORKER * workers:
                done, future = pending.popleft()
                yield done, [_unflat(f) for f in future.result()]
            submit(chunk)
        while pending:
            done, future = pending.popleft()
            yield done, [_unflat(f) for f in future.result()]
