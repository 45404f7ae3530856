"""Decide, count, audit, disclose: the access service on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest

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
            clock=rt.clock,
        ),
        vault,
    )


def out_for_delivery(waybill: IssuedWaybill, courier: str = COURIER.actor) -> IssuedWaybill:
    return replace(waybill, status=WaybillStatus.OUT_FOR_DELIVERY, assigned_courier=courier)


def test_the_assigned_courier_sees_the_full_address_after_an_audited_reveal(
    rt: Runtime, waybill, demo_order_dicts
) -> None:
    sink = RecordingSink()
    access, vault = service(rt, sink)
    view = access.view(COURIER, "waybill.reveal", out_for_delivery(waybill), access.context(purpose="deliver"))
    assert view.address and view.address.startswith(demo_order_dicts[0]["recipient"]["address"][:2])
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
    view = access.view(clerk, "waybill.read", replace(waybill, status=WaybillStatus.AT_STATION), access.context())
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
    with pytest.raises(Forbidden):
        access.view(agent, "waybill.break_glass", waybill, access.context(ticket="T-1"))
    full = access.view(
        agent, "waybill.break_glass", waybill, access.context(ticket="T-1", reason="拨打13900001111未接通")
    )
    assert full.name == demo_order_dicts[0]["recipient"]["name"]
    assert sink.events[-1].detail == {"ticket": "T-1"} and sink.events[-1].fields == ("name", "phone", "address")
    [alert] = AlertStore(rt.engine).recent(kind="break_glass")
    assert alert["severity"] == "review" and alert["detail"]["reason"] == "[已隐藏]"
    access.view(agent, "waybill.break_glass", waybill, access.context(ticket="T-2", reason="客户投诉 电话打不通"))
    recognised = [a for a in AlertStore(rt.engine).recent(kind="break_glass") if a["detail"]["ticket"] == "T-2"]
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
