"""Issuance end to end on SQLite and PostgreSQL: sealed data, masked views, idempotency, atomicity."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.errors import Conflict, Gone
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.orders import PartyIn
from privacy_waybill.issuance.service import Issued, Rejected, _normalise_party
from privacy_waybill.masking.scrub import contents_category
from privacy_waybill.runtime import Runtime
from privacy_waybill.sensitive import SENSITIVE_FIELDS
from privacy_waybill.storage.models import VaultRecord, Waybill, WaybillEvent
from privacy_waybill.storage.waybills import WaybillStore
from privacy_waybill.validation.phones import normalise_phone
from privacy_waybill.vault import KeyNotRetirable, KeyShredded, UnknownKey, local_keys

TENANT = "default"


def issue(rt: Runtime, orders: list[dict[str, object]]) -> list[Issued | Rejected]:
    return list(rt.issuance().issue(TENANT, records_from_objects(orders), actor="test", chunk_size=25))


def count(rt: Runtime, model: type) -> int:
    with rt.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_issued_waybills_hold_masked_views_and_sealed_originals(rt: Runtime, demo_order_dicts) -> None:
    outcomes = issue(rt, demo_order_dicts)
    assert all(isinstance(o, Issued) and not o.replayed for o in outcomes)
    assert count(rt, Waybill) == count(rt, VaultRecord) == count(rt, WaybillEvent) == len(demo_order_dicts)

    order, outcome = demo_order_dicts[0], outcomes[0]
    waybill = outcome.waybill
    recipient = order["recipient"]
    assert waybill.recipient.name[0] == recipient["name"][0] and set(waybill.recipient.name[1:]) <= {"*"}
    assert waybill.recipient.phone == "*******" + normalise_phone(recipient["phone"]).last4
    parsed = parse_address(recipient["address"])
    assert waybill.recipient.address.startswith(parsed.province or parsed.city)
    assert waybill.recipient.address.endswith("****")
    assert waybill.sort_code.count("-") == 2

    sealed = rt.waybills.sealed_record(waybill.waybill_id)
    opened = rt.vault.open(
        TENANT, waybill.waybill_id, sealed, ["recipient_name", "recipient_phone", "recipient_address", "items"]
    )
    assert opened["recipient_name"] == recipient["name"]
    assert opened["recipient_phone"] == normalise_phone(recipient["phone"]).canonical
    assert opened["recipient_address"] == parsed.text_of(parsed.present_levels())
    assert json.loads(opened["items"]) == order["items"]



def test_a_validated_party_shows_nothing_of_itself() -> None:
    written = "浙江省杭州市余杭区五常街道文一西路969号"
    party = _normalise_party(PartyIn(name="张伟", phone="13800138000", address=written), "recipient")
    assert party.address_text == party.address.written() == written
    assert repr(party) == str(party) == f"{party}" == "_Party(...)"
    assert repr([party]) == "[_Party(...)]"

def test_each_waybill_of_a_chunk_gets_the_category_of_its_own_items(rt: Runtime, demo_order_dicts) -> None:
    """Categories are worked out once per item name in a chunk (merchants repeat their
    products), and each waybill still gets the one its items give, alone or together."""
    orders = copy.deepcopy(demo_order_dicts[:6])
    for order, names in zip(orders, (["手机壳"], ["洗发水"], ["手机壳"], ["手机壳", "洗发水"], ["洗发水", "手机壳"], ["婴儿湿巾"])):
        order["items"] = [{"name": name, "quantity": 1} for name in names]
    outcomes = issue(rt, orders)
    assert [o.waybill.contents_category for o in outcomes if isinstance(o, Issued)] == [
        contents_category([item["name"] for item in order["items"]]) for order in orders
    ]
    assert len({o.waybill.contents_category for o in outcomes if isinstance(o, Issued)}) > 1


def test_replaying_a_batch_returns_the_same_waybills_and_writes_nothing(rt: Runtime, demo_order_dicts) -> None:
    first = issue(rt, demo_order_dicts[:10])
    again = issue(rt, demo_order_dicts[:10])
    assert [o.waybill.waybill_no for o in first] == [o.waybill.waybill_no for o in again]
    assert all(o.replayed for o in again)
    assert count(rt, Waybill) == 10


def test_each_new_waybill_gets_one_created_event_by_the_issuing_actor_at_its_creation(
    rt: Runtime, demo_order_dicts
) -> None:
    # More waybills than one statement copies events for (500), over several chunks.
    orders = [{**demo_order_dicts[n % len(demo_order_dicts)], "order_id": f"EV-{n:04d}"} for n in range(620)]
    outcomes = issue(rt, orders)
    assert count(rt, WaybillEvent) == 620
    for outcome in (outcomes[0], outcomes[499], outcomes[500], outcomes[-1]):
        waybill = outcome.waybill  # type: ignore[union-attr]
        [event] = rt.waybills.events(waybill.waybill_id)
        assert (event["status"], event["actor"], event["place"]) == ("created", "test", None)
        assert event["at"] == waybill.created_at


def test_the_store_finds_the_taken_order_ids_among_many_free_ones(rt: Runtime, demo_order_dicts) -> None:
    first = issue(rt, demo_order_dicts[:3])
    taken = [o.waybill.order_id for o in first]
    # More ids than one query takes (500), the taken ones in the second and third query.
    wanted = [f"FREE-{n:04d}" for n in range(1200)]
    wanted[700:700] = taken[:2]
    wanted.append(taken[2])
    found = rt.waybills.find_by_order_ids(TENANT, iter(wanted))
    assert found == {o.waybill.order_id: o.waybill for o in first}
    assert rt.waybills.find_by_order_ids("another-tenant", taken) == {}


def test_reusing_an_order_id_for_different_content_is_rejected(rt: Runtime, demo_order_dicts) -> None:
    issue(rt, demo_order_dicts[:1])
    changed = copy.deepcopy(demo_order_dicts[0])
    changed["recipient"]["phone"] = "13900001234"
    [outcome] = issue(rt, [changed])
    assert isinstance(outcome, Rejected)
    assert (outcome.error.field, outcome.error.reason) == ("order_id", "already used for a different order")


def test_a_duplicate_order_id_inside_one_batch_is_a_replay(rt: Runtime, demo_order_dicts) -> None:
    outcomes = issue(rt, [demo_order_dicts[0], demo_order_dicts[0]])
    assert [o.replayed for o in outcomes] == [False, True]
    assert count(rt, Waybill) == 1


def test_chunks_of_one_transaction_see_each_others_orders(rt: Runtime, demo_order_dicts, monkeypatch) -> None:
    """Chunks stored in one transaction are checked against the store together: an order id
    repeated in a later chunk is a replay of the earlier one, not a conflict to redo one by one."""
    orders = demo_order_dicts[:4] + [demo_order_dicts[1], demo_order_dicts[2]]
    one_by_one = []
    service = rt.issuance()
    monkeypatch.setattr(service, "_issue_one_by_one", lambda *args: one_by_one.append(args) or [])
    outcomes = list(service.issue(TENANT, records_from_objects(orders), actor="test", chunk_size=2, transaction_size=6))
    assert [o.replayed for o in outcomes] == [False, False, False, False, True, True]
    assert [o.waybill.order_id for o in outcomes[4:]] == [demo_order_dicts[1]["order_id"], demo_order_dicts[2]["order_id"]]
    assert not one_by_one
    assert count(rt, Waybill) == 4


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("recipient", "phone"), "12345", "recipient.phone"),
        (("sender", "phone"), "0000000000000", "sender.phone"),
        (("recipient", "address"), "火星省奥林帕斯山路1号", "recipient.address"),
        (("recipient", "name"), "<script>", "recipient.name"),
        (("id_number",), "110101199003071234", "id_number"),
        (("items",), [], "items"),
        (("weight_g",), -5, "weight_g"),
    ],
)
def test_bad_records_are_rejected_one_by_one_while_good_ones_go_through(
    rt: Runtime, demo_order_dicts, path, value, field
) -> None:
    bad = copy.deepcopy(demo_order_dicts[1])
    target = bad
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    outcomes = issue(rt, [demo_order_dicts[0], bad, demo_order_dicts[2]])
    assert [type(o).__name__ for o in outcomes] == ["Issued", "Rejected", "Issued"]
    assert outcomes[1].error.field == field
    assert outcomes[1].order_id == bad["order_id"]
    assert str(value) not in outcomes[1].error.reason
    assert count(rt, Waybill) == count(rt, VaultRecord) == 2


def test_a_crash_inside_a_chunk_leaves_no_half_written_waybill(rt: Runtime, demo_order_dicts, monkeypatch) -> None:
    original = WaybillStore._insert

    def crash_after_first_tables(conn, new, actor):  # type: ignore[no-untyped-def]
        original(conn, new, actor)
        raise RuntimeError("power cut")

    monkeypatch.setattr(WaybillStore, "_insert", staticmethod(crash_after_first_tables))
    with pytest.raises(RuntimeError):
        issue(rt, demo_order_dicts[:5])
    assert count(rt, Waybill) == count(rt, VaultRecord) == count(rt, WaybillEvent) == 0


def test_an_order_taken_by_a_concurrent_writer_is_replayed_not_duplicated(
    rt: Runtime, demo_order_dicts, monkeypatch
) -> None:
    issue(rt, demo_order_dicts[:1])
    store = rt.waybills
    real_find = store.find_by_order_ids
    calls = []

    def stale_find(tenant_id, order_ids):  # type: ignore[no-untyped-def]
        calls.append(1)
        return {} if len(calls) == 1 else real_find(tenant_id, order_ids)

    monkeypatch.setattr(store, "find_by_order_ids", stale_find)
    outcomes = issue(rt, demo_order_dicts[:2])
    assert [o.replayed for o in outcomes] == [True, False]
    assert count(rt, Waybill) == 2


def test_store_reports_a_taken_order_id_as_conflict_without_values(rt: Runtime, demo_order_dicts) -> None:
    [outcome] = issue(rt, demo_order_dicts[:1])
    prepared = rt.issuance().preparation.prepare(TENANT, records_from_objects(demo_order_dicts[:1])[0].order, b"x" * 32)
    with pytest.raises(Conflict) as caught:
        rt.waybills.add_all([prepared], actor="test")
    assert demo_order_dicts[0]["order_id"] not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_blind_index_finds_a_recipients_waybills_without_decrypting(rt: Runtime, demo_order_dicts) -> None:
    outcomes = issue(rt, demo_order_dicts[:5])
    phone = normalise_phone(demo_order_dicts[3]["recipient"]["phone"]).canonical
    index = rt.blind_index.index(TENANT, "phone", phone)
    with rt.engine.connect() as conn:
        found = conn.execute(select(Waybill.waybill_no).where(Waybill.recipient_phone_index == index)).scalars().all()
    assert outcomes[3].waybill.waybill_no in found


def test_key_rotation_rewraps_every_data_key_and_records_still_open(rt: Runtime, demo_order_dicts) -> None:
    outcomes = issue(rt, demo_order_dicts[:30])
    before = rt.waybills.sealed_record(outcomes[0].waybill.waybill_id)
    new_ref = rt.keys.rotate(TENANT)
    assert rt.rewrap_data_keys({TENANT}, batch_size=7) == 30
    for outcome in outcomes:
        sealed = rt.waybills.sealed_record(outcome.waybill.waybill_id)
        assert (sealed.kek_id, sealed.kek_version) == (new_ref.kek_id, new_ref.version)
        assert rt.vault.open(TENANT, outcome.waybill.waybill_id, sealed, ["recipient_name"])
    after = rt.waybills.sealed_record(outcomes[0].waybill.waybill_id)
    assert after.ciphertexts == before.ciphertexts and after.wrapped_dek != before.wrapped_dek


def test_retiring_an_old_kek_rewraps_what_is_still_under_it_then_destroys_it(
    rt: Runtime, demo_order_dicts, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = issue(rt, demo_order_dicts[:12])
    ids = [o.waybill.waybill_id for o in outcomes]
    before = {waybill_id: rt.waybills.sealed_record(waybill_id) for waybill_id in ids}
    old = before[ids[0]].kek
    with pytest.raises(KeyNotRetirable, match="key-encryption key version 1 is the current one"):
        rt.retire_kek(TENANT, old.version, "cli:test")
    rt.keys.rotate(TENANT)  # and no re-wrap: these data keys are all still under the old version
    with pytest.raises(KeyNotRetirable, match="can be retired from"):
        rt.retire_kek(TENANT, old.version, "cli:test")
    monkeypatch.setattr(local_keys, "RETIRE_AFTER", timedelta(0))

    assert rt.retire_kek(TENANT, old.version, "cli:test") == 12

    assert rt.waybills.count_wrapped_under(TENANT, old) == 0
    for waybill_id in ids:
        sealed = rt.waybills.sealed_record(waybill_id)
        assert sealed.kek.version == old.version + 1
        assert rt.vault.open(TENANT, waybill_id, sealed, ["recipient_name"])
        with pytest.raises(UnknownKey, match="retired at"):  # a copy from an old backup stays shut
            rt.vault.open(TENANT, waybill_id, before[waybill_id], ["recipient_name"])
    [event] = [e.event() for e in rt.audit.events(waybill_id=None, action="key.retire", outcome=None)]
    assert event.detail == {"tenant": TENANT, "version": str(old.version), "rewrapped": "12"}


def test_no_plaintext_column_and_every_sensitive_field_sealed(rt: Runtime, demo_order_dicts) -> None:
    [outcome] = issue(rt, demo_order_dicts[:1])
    sealed = rt.waybills.sealed_record(outcome.waybill.waybill_id)
    assert set(sealed.ciphertexts) <= set(SENSITIVE_FIELDS)
    optional = {"remark", "id_number"}  # sealed only when the order has them
    assert set(SENSITIVE_FIELDS) - optional <= set(sealed.ciphertexts)


def test_purge_crypto_shreds_expired_waybills_and_scrubs_the_file(rt: Runtime, demo_order_dicts) -> None:
    old = issue(rt, demo_order_dicts[:4])
    old_keys = [rt.waybills.sealed_record(o.waybill.waybill_id).wrapped_dek for o in old]
    later = rt.clock() + timedelta(days=rt.settings.retention_days + 1)
    rt.clock = lambda: later
    recent = issue(rt, demo_order_dicts[4:6])

    assert rt.purge_expired() == 4
    assert rt.purge_expired() == 0
    for outcome in old:
        waybill = rt.waybills.get_by_number(TENANT, outcome.waybill.waybill_no)
        assert waybill.purged_at == later and waybill.recipient.name == "" and waybill.recipient_phone_index == b""
        assert waybill.sort_code == outcome.waybill.sort_code  # statistics stay
        sealed = rt.waybills.sealed_record(outcome.waybill.waybill_id)
        assert sealed.is_shredded and sealed.ciphertexts == {}
        with pytest.raises(KeyShredded):
            rt.vault.open(TENANT, outcome.waybill.waybill_id, sealed, ["recipient_name"])
        with pytest.raises(Gone):
            rt.label_content(waybill)
    for outcome in recent:
        assert rt.vault.open(
            TENANT,
            outcome.waybill.waybill_id,
            rt.waybills.sealed_record(outcome.waybill.waybill_id),
            ["recipient_name"],
        )
    if rt.engine.dialect.name == "sqlite":
        database = Path(rt.engine.url.database)
        raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert not any(key in raw for key in old_keys)
