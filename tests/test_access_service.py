"""Decide, count, audit, disclose: the access service on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from privacy_waybill.storage.tickets import SqlTicketSystem
from privacy_waybill.tickets import Ticket

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.access.policy import Quota, load_access_policy
from privacy_waybill.access.service import AccessService, Forbidden, QuotaExceeded, waybill_resource
from privacy_waybill.audit.model import AuditEvent, AuditUnavailable, Outcome
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.access import AlertStore, QuotaStore
from privacy_waybill.validation.phones import normalise_phone

COURIER = Subject(actor="user:courier-1", role=Role.COURIER)
MID_HOUR = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> int:
        self.events.append(event)
        return len(self.events)


class BrokenSink:
    def record(self, event: AuditEvent) -> int:
        raise AuditUnavailable()


class WatchedVault:
    """The real vault, noting how many audit entries existed when it was opened."""

    def __init__(self, vault, sink) -> None:  # type: ignore[no-untyped-def]
        self.vault, self.sink, self.opened_after = vault, sink, []

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.opened_after.append(len(getattr(self.sink, "events", [])))
        return self.vault.open(*args, **kwargs)


@pytest.fixture
def waybill(rt: Runtime, demo_order_dicts) -> IssuedWaybill:
    [outcome] = rt.issuance().issue("default", records_from_objects(demo_order_dicts[:1]), actor="test")
    return outcome.waybill


def service(rt: Runtime, sink, policy=None) -> tuple[AccessService, WatchedVault]:  # type: ignore[no-untyped-def]
    vault = WatchedVault(rt.vault, sink)
    return (
        AccessService(
            policy=policy or load_access_policy(),
            audit=sink,
            quotas=QuotaStore(rt.engine),
            alerts=AlertStore(rt.engine),
            vault=vault,  # type: ignore[arg-type]
            sealed_record=rt.waybills.sealed_record,
            clock=lambda: MID_HOUR,  # hourly quota windows: never across an hour boundary
            tickets=rt.tickets,
        ),
        vault,
    )


TICKET = "T-20261123-0042"


def open_ticket(rt: Runtime, ticket_id: str, *waybills: IssuedWaybill, hours: int = 4) -> None:
    [tenant] = {w.tenant_id for w in waybills}
    opened = MID_HOUR - timedelta(minutes=5)
    SqlTicketSystem(rt.engine).open(
        Ticket(
            ticket_id, tenant, frozenset(w.waybill_id for w in waybills), "test", opened, opened + timedelta(hours=hours)
        )
    )


def out_for_delivery(waybill: IssuedWaybill, courier: str = COURIER.actor) -> IssuedWaybill:
    return waybill._replace(status=WaybillStatus.OUT_FOR_DELIVERY, assigned_courier=courier)


def test_the_assigned_courier_sees_the_full_address_after_an_audited_reveal(
    rt: Runtime, waybill, demo_order_dicts
) -> None:
    sink = RecordingSink()
    access, vault = service(rt, sink)
    view = access.view(COURIER, "waybill.reveal", out_for_delivery(waybill), access.context(purpose="deliver"))
    assert view.address == demo_order_dicts[0]["recipient"]["address"]
    assert view.phone is None and view.name == waybill.recipient.name  # virtual number only, surname only
    [event] = sink.events
    assert (event.outcome, event.rule, event.fields, event.purpose) == (
        Outcome.ALLOWED,
        "courier-reveal",
        ("address",),
        "deliver",
    )
    assert vault.opened_after == [1]  # the audit entry existed before the vault was opened


def test_a_courier_cannot_read_a_parcel_not_assigned_to_them_and_the_denial_is_audited(rt: Runtime, waybill) -> None:
    sink = RecordingSink()
    access, vault = service(rt, sink)
    with pytest.raises(Forbidden) as caught:
        access.view(COURIER, "waybill.read", out_for_delivery(waybill, courier="user:other"), access.context())
    assert "assigned_to_subject" in str(caught.value)
    [event] = sink.events
    assert (event.outcome, event.rule, event.waybill_id) == (
        Outcome.DENIED,
        "courier-read-assigned",
        waybill.waybill_id,
    )
    assert vault.opened_after == []


def test_a_station_clerk_gets_surname_and_last_four_digits_only(rt: Runtime, waybill, demo_order_dicts) -> None:
    access, vault = service(rt, RecordingSink())
    station = waybill_resource(waybill).station
    clerk = Subject(actor="user:clerk", role=Role.STATION_CLERK, station=station)
    view = access.view(clerk, "waybill.read", waybill._replace(status=WaybillStatus.AT_STATION), access.context())
    last4 = normalise_phone(demo_order_dicts[0]["recipient"]["phone"]).last4
    assert view.phone == "*******" + last4 and view.address is None
    assert vault.opened_after == []


def test_customer_service_sees_masked_data_unless_it_breaks_glass_with_a_reason(
    rt: Runtime, waybill, demo_order_dicts
) -> None:
    sink = RecordingSink()
    access, _ = service(rt, sink)
    agent = Subject(actor="user:agent", role=Role.CUSTOMER_SERVICE)
    masked = access.view(agent, "waybill.read", waybill, access.context())
    assert masked.name == waybill.recipient.name and masked.phone == waybill.recipient.phone
    open_ticket(rt, TICKET, waybill)
    with pytest.raises(Forbidden):
        access.view(agent, "waybill.break_glass", waybill, access.context(ticket=TICKET))
    full = access.view(
        agent, "waybill.break_glass", waybill, access.context(ticket=TICKET, reason="拨打13900001111未接通")
    )
    assert full.name == demo_order_dicts[0]["recipient"]["name"]
    event = sink.events[-1]
    assert event.detail == {"ticket": TICKET, "reason_id": event.detail["reason_id"]}
    assert event.fields == ("name", "phone", "address")
    [alert] = AlertStore(rt.engine).recent(kind="break_glass")
    assert alert["detail"] == {
        "waybill_id": waybill.waybill_id,
        "ticket": TICKET,
        "reason_id": event.detail["reason_id"],
        "reason": "[已隐藏]",
    }
    second = "T-20261123-0043"
    open_ticket(rt, second, waybill)
    access.view(agent, "waybill.break_glass", waybill, access.context(ticket=second, reason="客户投诉 电话打不通"))
    recognised = [a for a in AlertStore(rt.engine).recent(kind="break_glass") if a["detail"]["ticket"] == second]
    assert [a["detail"]["reason"] for a in recognised] == ["客户投诉，电话错误"]


def test_a_security_auditor_sees_no_personal_data(rt: Runtime, waybill) -> None:
    access, _ = service(rt, RecordingSink())
    auditor = Subject(actor="user:auditor", role=Role.SECURITY_AUDITOR)
    for action in ("waybill.read", "waybill.reveal", "waybill.break_glass"):
        with pytest.raises(Forbidden):
            access.view(auditor, action, waybill, access.context(purpose="deliver", ticket="T", reason="r"))


def test_quotas_stop_a_courier_at_the_limit_with_an_alert(rt: Runtime, waybill) -> None:
    sink = RecordingSink()
    policy = load_access_policy()
    tight = replace(policy, quotas={**policy.quotas, "courier_reveal": Quota(per_hour=2, per_day=300)})
    access, vault = service(rt, sink, policy=tight)
    parcel = out_for_delivery(waybill)
    for _ in range(2):
        access.view(COURIER, "waybill.reveal", parcel, access.context(purpose="deliver"))
    with pytest.raises(QuotaExceeded):
        access.view(COURIER, "waybill.reveal", parcel, access.context(purpose="deliver"))
    assert [e.outcome for e in sink.events] == [Outcome.ALLOWED, Outcome.ALLOWED, Outcome.DENIED]
    assert sink.events[-1].rule == "quota:courier_reveal"
    assert len(vault.opened_after) == 2
    [alert] = AlertStore(rt.engine).recent(kind="quota_exceeded")
    assert alert["actor"] == COURIER.actor and alert["detail"]["quota"] == "courier_reveal"


def test_nothing_is_disclosed_when_the_audit_log_cannot_be_written(rt: Runtime, waybill) -> None:
    access, vault = service(rt, BrokenSink())
    with pytest.raises(AuditUnavailable):
        access.view(COURIER, "waybill.reveal", out_for_delivery(waybill), access.context(purpose="deliver"))
    assert vault.opened_after == []


def test_a_merchants_decrypt_quota_is_counted_per_tenant_across_keys_and_users(rt: Runtime, waybill) -> None:
    sink = RecordingSink()
    policy = load_access_policy()
    tight = replace(policy, quotas={**policy.quotas, "merchant_decrypt": Quota(per_day=3)})
    access, vault = service(rt, sink, policy=tight)
    callers = [Subject(actor=f"key:k{n}", role=Role.MERCHANT, tenant_id=waybill.tenant_id) for n in range(3)]
    context = access.context(purpose="customer_service")
    for caller in (callers[0], callers[1], callers[2]):
        access.view(caller, "waybill.decrypt", waybill, context)
    for caller in callers:  # a fourth key or user would have started a fresh count per credential
        with pytest.raises(QuotaExceeded):
            access.view(caller, "waybill.decrypt", waybill, context)
    extra = Subject(actor="user:u_new", role=Role.MERCHANT, tenant_id=waybill.tenant_id)
    with pytest.raises(QuotaExceeded):
        access.view(extra, "waybill.decrypt", waybill, context)
    assert len(vault.opened_after) == 3
    assert QuotaStore(rt.engine).used(f"tenant:{waybill.tenant_id}", "merchant_decrypt", "d2026-11-23") == 3
