"""Issuance over every core: the pure per-record stages in forked worker processes.

Validation, routing, masking, sealing and hashing are pure Python and hold the GIL, so one
process uses one core. Workers are forked after the parent has loaded the division, surname
and routing data and opened the keys, so they start in milliseconds and share those pages
copy-on-write; each is handed whole chunks, so pickling stays a small share of the work.
The parent keeps everything that touches the database (look-ups, inserts, conflicts), in
input order, while the workers prepare the chunks ahead of it.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from privacy_waybill.issuance.orders import OrderIn

if TYPE_CHECKING:
    from privacy_waybill.issuance.intake import IntakeRecord
    from privacy_waybill.issuance.service import IssuanceService, Prepared

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


def _order_jsons(chunk: Sequence[IntakeRecord]) -> list[str | None]:
    """What a worker is sent: each valid order as its canonical JSON (None for the others).

    The JSON is the order fingerprint's input anyway, and dumping it here and validating it
    there costs about half of pickling the pydantic models both ways.
    """
    return [r.order.model_dump_json() if r.order else None for r in chunk]


def _prepare_in_worker(tenant_id: str, order_jsons: Sequence[str | None]) -> list[Prepared | None]:
    assert _worker_service is not None, "worker started without a service"
    orders = [(OrderIn.model_validate_json(j), j) if j is not None else None for j in order_jsons]
    return _worker_service.prepare_orders(tenant_id, orders)


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
        pending: deque[tuple[list[IntakeRecord], Future[list[Prepared | None]]]] = deque()

        def submit(chunk: list[IntakeRecord]) -> None:
            pending.append((chunk, pool.submit(_prepare_in_worker, tenant_id, _order_jsons(chunk))))

        submit(first)
        submit(second)
        for chunk in chunks:
            if len(pending) >= CHUNKS_AHEAD_PER_WORKER * workers:
                done, future = pending.popleft()
                yield done, future.result()
            submit(chunk)
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
