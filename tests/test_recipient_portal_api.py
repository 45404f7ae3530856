"""The recipient portal over HTTP, on SQLite and PostgreSQL: phone-OTP sign-in through the
outbox, own parcels by blind index, timeline, who saw my data, preferences that stations
honour, and leak reports kept sealed as a case for leak tracing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api_support import API, assert_problem, open_ticket
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.recipients import REPORTS
from station_support import (
    STATION,
    parcels_in_transit,
    phone,
    recipient_name,
    recipient_session,
    register_station,
    staff,
)


@pytest.fixture
def client(rt: Runtime, identity: IdentityService) -> TestClient:
    return TestClient(create_app(rt))


def test_sign_in_lists_only_own_parcels_with_their_codes_and_timeline(client: TestClient, rt: Runtime) -> None:
    register_station(rt)
    mine = parcels_in_transit(rt, [20, 20])
    theirs = parcels_in_transit(rt, [21])
    clerk = staff(client, rt, Role.STATION_CLERK, station=STATION)
    shelved = client.post(f"{API}/stations/check-ins", json={"waybill_no": mine[0].waybill_no}, headers=clerk).json()

    me = recipient_session(client, rt, 20)
    parcels = client.get(f"{API}/recipient/parcels", headers=me)
    assert parcels.status_code == 200
    by_no = {p["waybill_no"]: p for p in parcels.json()}
    assert set(by_no) == {w.waybill_no for w in mine}
    assert theirs[0].waybill_no not in parcels.text
    assert by_no[mine[0].waybill_no] | {"created_at": None} == {
        "waybill_no": mine[0].waybill_no,
        "status": "at_station",
        "created_at": None,
        "recipient_name": mine[0].recipient.name,
        "station_id": STATION,
        "shelf_code": shelved["shelf_code"],
        "pickup_code": shelved["pickup_code"],
    }
    assert by_no[mine[1].waybill_no]["pickup_code"] is None

    timeline = client.get(f"{API}/recipient/parcels/{mine[0].waybill_no}/timeline", headers=me).json()
    assert [e["status"] for e in timeline["events"]] == ["created", "printed", "collected", "in_transit", "at_station"]
    assert timeline["events"][-1]["place"] == STATION
    assert_problem(client.get(f"{API}/recipient/parcels/{theirs[0].waybill_no}/timeline", headers=me), 404)
    assert_problem(client.get(f"{API}/recipient/parcels", headers={"Authorization": "Bearer pwr_forged"}), 401)


def test_a_wrong_code_signs_nobody_in_and_a_stranger_gets_no_code(client: TestClient, rt: Runtime) -> None:
    parcels_in_transit(rt, [22])
    assert client.post(f"{API}/recipient/otp/request", json={"phone": phone(22)}).status_code == 202
    assert_problem(client.post(f"{API}/recipient/otp/verify", json={"phone": phone(22), "code": "12345x"}), 401)
    # A number with no parcels gets the same answer and no message.
    assert client.post(f"{API}/recipient/otp/request", json={"phone": phone(9999)}).status_code == 202
    assert rt.notifications.recent(limit=5, to="+86" + phone(9999), template="recipient.otp") == []
    assert_problem(client.post(f"{API}/recipient/otp/request", json={"phone": "12345"}), 422)


def test_who_saw_my_data_lists_every_disclosure_by_role_and_purpose_without_names(
    client: TestClient, rt: Runtime
) -> None:
    [parcel] = parcels_in_transit(rt, [23])
    support = staff(client, rt, Role.CUSTOMER_SERVICE)
    ticket = open_ticket(rt, "T-20261201-0007", parcel)
    broke = client.post(
        f"{API}/waybills/{parcel.waybill_no}/break-glass",
        json={"ticket": ticket, "reason": "recipient asks to change the address"},
        headers=support,
    )
    assert broke.status_code == 200, broke.text
    me = recipient_session(client, rt, 23)
    seen = client.get(f"{API}/recipient/who-saw-my-data", headers=me)
    assert seen.status_code == 200
    [entry] = seen.json()
    assert entry | {"at": None} == {
        "waybill_no": parcel.waybill_no,
        "at": None,
        "role": "customer_service",
        "action": "waybill.break_glass",
        "purpose": "support_ticket",
        "fields": ["name", "phone", "address", "remark"],
    }
    assert "user:" not in seen.text and "T-20261201" not in seen.text


def test_preferences_default_on_and_a_station_honours_them(client: TestClient, rt: Runtime) -> None:
    register_station(rt)
    [parcel] = parcels_in_transit(rt, [24])
    me = recipient_session(client, rt, 24)
    assert client.get(f"{API}/recipient/preferences", headers=me).json() == {
        "masked_label": True,
        "virtual_number": True,
        "station_allowed": True,
        "locker_allowed": True,
    }
    answer = client.put(f"{API}/recipient/preferences", json={"station_allowed": False}, headers=me)
    wanted = {"masked_label": True, "virtual_number": True, "station_allowed": False, "locker_allowed": True}
    assert answer.json() == wanted
    assert client.get(f"{API}/recipient/preferences", headers=me).json() == wanted
    # What a client read may be sent back as it is.
    assert client.put(f"{API}/recipient/preferences", json=wanted, headers=me).json() == wanted
    clerk = staff(client, rt, Role.STATION_CLERK, station=STATION)
    refused = client.post(f"{API}/stations/check-ins", json={"waybill_no": parcel.waybill_no}, headers=clerk)
    assert "does not accept station delivery" in assert_problem(refused, 409)["detail"]


@pytest.mark.parametrize("always_on", ["masked_label", "virtual_number"])
def test_masked_labels_and_virtual_numbers_cannot_be_switched_off(
    client: TestClient, rt: Runtime, always_on: str
) -> None:
    parcels_in_transit(rt, [27])
    me = recipient_session(client, rt, 27)
    before = client.get(f"{API}/recipient/preferences", headers=me).json()
    refused = client.put(
        f"{API}/recipient/preferences", json={always_on: False, "locker_allowed": False}, headers=me
    )
    problem = assert_problem(refused, 422)
    assert problem["errors"] == [
        {"field": always_on, "reason": "always on for every recipient; it cannot be switched off"}
    ]
    # Refused whole: the locker choice sent with it is not written either.
    assert client.get(f"{API}/recipient/preferences", headers=me).json() == before


def test_a_leak_report_is_sealed_names_own_waybills_and_opens_a_case(client: TestClient, rt: Runtime) -> None:
    [parcel] = parcels_in_transit(rt, [25])
    [other] = parcels_in_transit(rt, [26])
    me = recipient_session(client, rt, 25)
    text = f"接到推销电话，叫我{recipient_name(25)}，对方知道我买了什么"
    assert_problem(
        client.post(
            f"{API}/recipient/leak-reports", json={"kind": "calls", "text": text, "waybill_nos": [other.waybill_no]}, headers=me
        ),
        404,
    )
    filed = client.post(
        f"{API}/recipient/leak-reports", json={"kind": "calls", "text": text, "waybill_nos": [parcel.waybill_no]}, headers=me
    )
    assert filed.status_code == 201, filed.text
    report = filed.json()
    assert (report["status"], report["waybill_nos"], report["text_display"]) == (
        "open",
        [parcel.waybill_no],
        "骚扰电话，[已隐藏]，对方知道我买了什么",
    )
    assert recipient_name(25) not in filed.text
    assert client.get(f"{API}/recipient/leak-reports", headers=me).json() == [report]
    assert rt.recipient_store.waybill_ids_of_report(report["id"]) == [parcel.waybill_id]
    [alert] = rt.alerts.recent(kind="leak_report")
    assert alert["detail"] == {"report_id": report["id"], "kind": "calls", "waybills": "1"}
    with rt.engine.connect() as conn:
        sealed = conn.execute(select(REPORTS.c.text_sealed).where(REPORTS.c.id == report["id"])).scalar_one()
    assert recipient_name(25).encode() not in sealed and "电话".encode() not in sealed
