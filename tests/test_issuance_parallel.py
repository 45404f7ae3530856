"""Issuance with worker processes gives the same outcomes, in the same order, as without."""

from __future__ import annotations

import copy
import io
import json
import pickle
import time

import pytest
from sqlalchemy import func, select

from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.errors import FieldError
from privacy_waybill.issuance import parallel, service
from privacy_waybill.issuance.intake import UnreadRecord, read_orders, records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill, NewWaybill, Prepared
from privacy_waybill.issuance.service import Issued, Outcome, Rejected
from privacy_waybill.labels.model import MaskedParty
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.models import VaultRecord, Waybill, WaybillEvent
from privacy_waybill.vault import SealedRecord

TENANT = "default"


def issue(rt: Runtime, orders: list[dict[str, object]], workers: int) -> list[Outcome]:
    return list(rt.issuance(workers=workers).issue(TENANT, records_from_objects(orders), actor="test", chunk_size=7))


def summary(outcome: Outcome) -> tuple[object, ...]:
    if isinstance(outcome, Rejected):
        return (outcome.position, "rejected", outcome.order_id, outcome.error.field, outcome.error.reason)
    return (outcome.position, "issued", outcome.waybill.order_id, outcome.waybill.waybill_no)


def test_workers_issue_every_record_in_input_order_and_a_serial_replay_agrees(
    rt: Runtime, demo_order_dicts: list[dict[str, object]]
) -> None:
    unknown_place = copy.deepcopy(demo_order_dicts[5])
    unknown_place["order_id"] = "NOWHERE-1"
    unknown_place["recipient"]["address"] = "火星基地一号"  # type: ignore[index]
    orders = [*demo_order_dicts, unknown_place, {"order_id": "BROKEN-1", "recipient": {}}, demo_order_dicts[3]]
    parallel = issue(rt, orders, workers=2)
    assert [o.position for o in parallel] == list(range(len(orders)))
    # Rejected in a worker (the address) and at intake (the structure), each with its reason.
    assert summary(parallel[-3]) == (
        len(orders) - 3,
        "rejected",
        "NOWHERE-1",
        "recipient.address",
        "district not recognised: add the province, city and district (区/县) before the street",
    )
    assert summary(parallel[-2])[:3] == (len(orders) - 2, "rejected", "BROKEN-1")
    # The repeated order inside the batch replays the first one's waybill.
    assert isinstance(parallel[-1], Issued) and parallel[-1].replayed
    assert parallel[-1].waybill.waybill_no == parallel[3].waybill.waybill_no  # type: ignore[union-attr]

    serial = issue(rt, orders, workers=1)
    assert [summary(o) for o in serial] == [summary(o) for o in parallel]
    assert all(o.replayed for o in serial if isinstance(o, Issued))

    issued = [o for o in parallel if isinstance(o, Issued) and not o.replayed]
    with rt.engine.connect() as conn:
        counts = [
            conn.execute(select(func.count()).select_from(m)).scalar_one() for m in (Waybill, VaultRecord, WaybillEvent)
        ]
    assert counts == [len(issued)] * 3
    first = issued[0].waybill
    sealed = rt.waybills.sealed_record(first.waybill_id)
    assert sealed is not None
    opened = rt.vault.open(TENANT, first.waybill_id, sealed, ["items"])
    source = next(o for o in orders if o["order_id"] == first.order_id)
    assert json.loads(opened["items"]) == source["items"]
    assert rt.waybills.get_by_number(TENANT, first.waybill_no) == first


def test_one_chunk_is_prepared_without_forking(
    rt: Runtime, demo_order_dicts: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fork(method: str) -> None:
        raise AssertionError(f"a pool ({method}) was started for a single chunk")

    monkeypatch.setattr(parallel.multiprocessing, "get_context", no_fork)
    outcomes = list(
        rt.issuance(workers=2).issue(TENANT, records_from_objects(demo_order_dicts[:5]), actor="test", chunk_size=50)
    )
    assert [o.position for o in outcomes] == [0, 1, 2, 3, 4]


def test_a_sender_repeated_in_a_chunk_is_parsed_once(
    rt: Runtime, demo_order_dicts: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []

    def counting_parse(text: str):  # type: ignore[no-untyped-def]
        parsed.append(text)
        return parse_address(text)

    monkeypatch.setattr(service, "parse_address", counting_parse)
    sender = demo_order_dicts[0]["sender"]
    orders = [{**order, "sender": sender} for order in demo_order_dicts[:5]]
    outcomes = issue(rt, orders, workers=1)
    assert all(isinstance(o, Issued) for o in outcomes)
    assert len(parsed) == 5 + 1  # five recipients, one sender
    assert len({o.waybill.sender for o in outcomes if isinstance(o, Issued)}) == 1


def test_lines_read_in_the_workers_give_what_lines_read_first_give(
    rt: Runtime, demo_order_dicts: list[dict[str, object]]
) -> None:
    lines = [json.dumps(o, ensure_ascii=False) for o in demo_order_dicts[:20]]
    lines[4] = "{not json"
    lines[9] = "[1, 2]"
    lines[13] = json.dumps(
        {**demo_order_dicts[13], "order_id": "BAD-QTY", "items": [{"name": "书", "quantity": 0}]}, ensure_ascii=False
    )
    lines.append(lines[2])  # a repeat, replayed
    lines[6] = "\u3000 \t"  # blank in Unicode's terms, not in ASCII's: skipped
    lines[7] = "\t " + lines[7]  # an object after white space: read
    data = ("\n".join(lines) + "\n").encode()
    # Not UTF-8: GBK bytes inside an object, and a line that is not an object at all.
    gbk_name = json.dumps(demo_order_dicts[15], ensure_ascii=False).replace(
        str(demo_order_dicts[15]["recipient"]["name"]), "张伟"  # type: ignore[index]
    )
    data = data.replace(lines[15].encode(), gbk_name.encode("gbk")).replace(lines[16].encode(), "乱码".encode("gbk"))

    def outcomes(defer_json: bool, workers: int) -> list[tuple[object, ...]]:
        records = list(read_orders(io.BytesIO(data), "jsonl", defer_json=defer_json))
        assert any(isinstance(r, UnreadRecord) for r in records) == defer_json
        issued = rt.issuance(workers=workers).issue(TENANT, records, actor="test", chunk_size=6)
        return [summary(o) for o in issued]

    in_workers = outcomes(defer_json=True, workers=2)
    assert in_workers[4] == (5, "rejected", None, "record", "line is not valid JSON")
    assert in_workers[6][:3] == (8, "issued", demo_order_dicts[7]["order_id"])  # line 7 was blank
    assert in_workers[8] == (10, "rejected", None, "record", "line is not a JSON object")
    assert in_workers[12] == (14, "rejected", "BAD-QTY", "items.0.quantity", "must be at least 1")
    not_utf8 = "is not valid UTF-8 text; the record was skipped"
    assert in_workers[14] == (16, "rejected", demo_order_dicts[15]["order_id"], "record", f"line 16 {not_utf8}")
    assert in_workers[15] == (17, "rejected", None, "record", f"line 17 {not_utf8}")
    # The second run finds every order issued by the first: the same waybills, replayed.
    assert outcomes(defer_json=False, workers=1) == in_workers
    assert outcomes(defer_json=True, workers=1) == in_workers


@pytest.mark.parametrize(("transaction_size", "stored_first"), [(7, 7), (20, 21)])
def test_a_caller_that_stops_reading_gets_no_more_chunks_stored_behind_its_back(
    rt: Runtime, demo_order_dicts: list[dict[str, object]], transaction_size: int, stored_first: int
) -> None:
    orders = [{**order, "order_id": f"STOP-{n}"} for n, order in enumerate(demo_order_dicts * 3)]
    outcomes = rt.issuance(workers=2).issue(
        TENANT, records_from_objects(orders), actor="test", chunk_size=7, transaction_size=transaction_size
    )
    first = next(outcomes)
    outcomes.close()
    assert isinstance(first, Issued) and first.waybill.order_id == "STOP-0"
    with rt.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Waybill)).scalar_one()
    # Workers prepare chunks ahead, but only the transaction whose outcomes were handed out
    # is stored: whole chunks up to at least `transaction_size` records.
    assert stored == stored_first < len(orders)


@pytest.mark.parametrize(("store_now", "stored_first"), [(False, 21), (True, 7)])
def test_chunks_gathered_for_a_transaction_are_stored_early_when_told_to(
    rt: Runtime, demo_order_dicts: list[dict[str, object]], store_now: bool, stored_first: int
) -> None:
    issuance = rt.issuance(workers=1)
    records = records_from_objects([{**o, "order_id": f"EARLY-{n}"} for n, o in enumerate(demo_order_dicts[:28])])
    chunks = (issuance.preparation.read_and_prepare(TENANT, chunk) for chunk in service.chunks_of(records, 7))
    outcomes = issuance.issue_prepared(TENANT, chunks, "test", transaction_size=20, store_now=lambda: store_now)
    next(outcomes)
    with rt.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Waybill)).scalar_one() == stored_first
    assert len([next(outcomes), *outcomes]) == 27


def test_the_next_chunk_is_late_only_once_every_chunk_is_handed_out_and_until_it_is_ready(
    rt: Runtime, demo_order_dicts: list[dict[str, object]]
) -> None:
    count = parallel.CHUNKS_AHEAD_PER_WORKER * 2 + 2
    chunks = (records_from_objects([{**demo_order_dicts[n], "order_id": f"LATE-{n}"}]) for n in range(count))
    with parallel.PreparedAhead(rt.issuance().preparation, TENANT, chunks, workers=2) as ahead:
        reading = iter(ahead)
        next(reading)
        assert not ahead.next_is_late()  # two chunks are still to be handed out
        next(reading), next(reading)
        # Every chunk is out now: the next is late until a worker has prepared it.
        deadline = time.monotonic() + 30
        while ahead.next_is_late() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not ahead.next_is_late()
        assert len(list(reading)) == count - 3
        assert not ahead.next_is_late()  # nothing is pending any more


def test_workers_are_handed_their_first_chunks_when_the_preparation_is_made(
    rt: Runtime, demo_order_dicts: list[dict[str, object]]
) -> None:
    taken: list[int] = []

    def chunks():  # type: ignore[no-untyped-def]
        for n in range(20):
            taken.append(n)
            yield records_from_objects([{**demo_order_dicts[n % len(demo_order_dicts)], "order_id": f"AHEAD-{n}"}])

    with parallel.PreparedAhead(rt.issuance().preparation, TENANT, chunks(), workers=2) as ahead:
        # Before anything is read: as many chunks as the workers are given ahead.
        assert len(taken) == parallel.CHUNKS_AHEAD_PER_WORKER * 2
        prepared = list(ahead)
    assert len(taken) == 20
    assert [read[0].order_id for _chunk, read, _ready in prepared] == [f"AHEAD-{n}" for n in range(20)]
    assert all(isinstance(ready[0].result, service.NewWaybill) for _chunk, _read, ready in prepared)
    with rt.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Waybill)).scalar_one() == 0  # preparing stores nothing


def test_a_prepared_record_reaches_the_parent_as_the_worker_made_it(
    rt: Runtime, demo_order_dicts: list[dict[str, object]]
) -> None:
    unknown_place = copy.deepcopy(demo_order_dicts[0])
    unknown_place["recipient"]["address"] = "火星基地一号"  # type: ignore[index]
    records = records_from_objects([*demo_order_dicts[:5], unknown_place])
    prepared = rt.issuance(workers=1).preparation.prepare_records(TENANT, records)
    crossed = [parallel._unflat(pickle.loads(pickle.dumps(parallel._flat(p)))) for p in prepared]
    for before, after in zip(prepared[:5], crossed[:5], strict=True):
        assert after == before
        waybill = after.result.waybill  # type: ignore[union-attr]
        assert type(waybill) is IssuedWaybill and type(after.result.sealed) is SealedRecord  # type: ignore[union-attr]
        assert type(waybill.recipient) is MaskedParty and type(waybill.sender) is MaskedParty
        assert type(after) is Prepared and type(after.result) is NewWaybill
    assert type(crossed[5]) is Prepared
    rejected = crossed[5].result  # type: ignore[union-attr]
    assert isinstance(rejected, FieldError) and rejected.field == "recipient.address"
