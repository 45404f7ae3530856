"""Retention, on SQLite and PostgreSQL: personal data is crypto-shredded the tenant's period
after a waybill's last lifecycle event, each purge is audited first, other domains' purge
hooks run in the same transaction, and afterwards no key decrypts and no ciphertext remains."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from api_support import personal_order
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.runtime import Runtime
from privacy_waybill.sensitive import SENSITIVE_FIELDS
from privacy_waybill.storage.waybills import VAULT
from privacy_waybill.vault.errors import KeyShredded

SHORT, LONG = "short-keep", "long-keep"


def issue(rt: Runtime, tenant: str, count: int) -> list[IssuedWaybill]:
    rt.tenants.ensure(tenant, tenant, rt.clock())
    orders = [personal_order(f"{tenant}-{i}") for i in range(count)]
    return [o.waybill for o in rt.issuance().issue(tenant, records_from_objects(orders), actor="test")]


def deliver(rt: Runtime, waybill: IssuedWaybill) -> IssuedWaybill:
    for status in (WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT):
        waybill = rt.waybills.transition(waybill, status, "test", rt.clock())
    waybill = rt.waybills.transition(waybill, WaybillStatus.OUT_FOR_DELIVERY, "test", rt.clock(), courier="user:c")
    return rt.waybills.transition(waybill, WaybillStatus.DELIVERED, "user:c", rt.clock())


def test_purge_follows_each_tenants_period_after_the_final_state(rt: Runtime) -> None:
    start = rt.clock()
    short, long = issue(rt, SHORT, 2), issue(rt, LONG, 2)
    rt.retention.set_days(SHORT, 7)
    rt.retention.set_days(LONG, 60)
    rt.clock = lambda: start + timedelta(days=5)
    late = deliver(rt, short[1])  # its final state comes five days after issue
    hooked: list[tuple[str, ...]] = []
    rt.purge_hooks.append(lambda conn, ids, now: hooked.append(tuple(sorted(ids))))

    rt.clock = lambda: start + timedelta(days=8)
    assert rt.purge_expired(actor="cli:ops") == 1  # short[0]: 8 days after issue; short[1] delivered 3 days ago
    rt.clock = lambda: start + timedelta(days=12, seconds=1)
    assert rt.purge_expired(actor="cli:ops") == 1  # short[1]: 7 days after delivery
    rt.clock = lambda: start + timedelta(days=59)
    assert rt.purge_expired(actor="cli:ops") == 0
    rt.clock = lambda: start + timedelta(days=60, seconds=1)
    assert rt.purge_expired(actor="cli:ops") == 2

    assert hooked == [(short[0].waybill_id,), (late.waybill_id,), tuple(sorted(w.waybill_id for w in long))]
    purges = [(e.waybill_id, e.actor, e.tenant_id, e.detail) for e in rt.audit.events(action="data.purge")]
    assert purges[:2] == [
        (short[0].waybill_id, "cli:ops", SHORT, '{"retention_days":"7"}'),
        (late.waybill_id, "cli:ops", SHORT, '{"retention_days":"7"}'),
    ]
    assert sorted(purges[2:]) == sorted((w.waybill_id, "cli:ops", LONG, '{"retention_days":"60"}') for w in long)
    assert rt.waybills.get_by_number(SHORT, late.waybill_no).status is WaybillStatus.DELIVERED  # statistics stay


def test_after_purge_no_key_decrypts_and_no_ciphertext_remains(rt: Runtime) -> None:
    start = rt.clock()
    [waybill] = issue(rt, SHORT, 1)
    sealed_before = rt.waybills.sealed_record(waybill.waybill_id)
    rt.clock = lambda: start + timedelta(days=rt.settings.retention_days + 1)
    assert rt.purge_expired() == 1

    with rt.engine.connect() as conn:
        row = conn.execute(select(VAULT).where(VAULT.c.waybill_id == waybill.waybill_id)).mappings().one()
    assert row["wrapped_dek"] is None and all(row[f] is None for f in SENSITIVE_FIELDS)
    # Even the ciphertexts kept from before the purge cannot be opened: the data key is gone.
    with pytest.raises(KeyShredded):
        rt.vault.open(SHORT, waybill.waybill_id, rt.waybills.sealed_record(waybill.waybill_id), ["recipient_name"])
    assert sealed_before.wrapped_dek is not None
    rt.keys.rotate(SHORT)
    assert rt.rewrap_data_keys({SHORT}) == 0  # nothing left to re-wrap under any key
