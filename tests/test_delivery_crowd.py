"""Crowd-courier passes that work: a station issues one, dispatch accepts its subject, the
courier signs in with the OTP from the outbox, sees only its route's parcels, and the pass
dies at the end of the day."""

from __future__ import annotations

import pytest
import segno
from fastapi.testclient import TestClient

from delivery_support import API, ROUTE, STATION, X_NUMBERS, Clock, issue_route, route_call, sign_in_staff
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.identity.model import UserStatus
from privacy_waybill.issuance.model import WaybillStatus
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.waybills import WAYBILLS

CROWD_PHONE = "13788886666"
HANDSET = "crowd-handset-01"


@pytest.fixture
def clock(rt: Runtime) -> Clock:
    clock = Clock()
    rt.clock = clock
    return clock


@pytest.fixture
def client(rt: Runtime, clock: Clock) -> TestClient:
    # The runtime's own sign-in service: its OTPs go through the notification outbox.
    rt.telephony.add_numbers(X_NUMBERS[:5], capacity=200, pool="demo", now=clock())
    return TestClient(create_app(rt))


def crowd_sign_in(client: TestClient, rt: Runtime) -> dict[str, str]:
    assert client.post(f"{API}/auth/otp/request", json={"phone": CROWD_PHONE}).status_code == 202
    message = rt.notifications.recent(template="crowd_courier.otp", to="+86" + CROWD_PHONE)[0]
    assert message.body is not None and message.to_hint == "6666"
    verified = client.post(
        f"{API}/auth/otp/verify",
        json={"phone": CROWD_PHONE, "code": message.body.data["code"]},
        headers={"X-Device-Id": HANDSET},
    )
    assert verified.status_code == 200, verified.text
    return {
        "Authorization": f"Bearer {verified.json()['token']}",
        "X-Device-Id": HANDSET,
        "X-Actor": verified.json()["actor"],
    }


def test_a_crowd_courier_works_one_route_for_one_day(client: TestClient, rt: Runtime, clock: Clock) -> None:
    parcels = issue_route(rt, buildings_per_compound=1, parcels_per_building=2)
    # A parcel of another route (五常大道 is route 12) at the same station.
    other_route = issue_route(rt, buildings_per_compound=1, parcels_per_building=1)[0]
    with rt.engine.begin() as conn:
        conn.execute(
            WAYBILLS.update().where(WAYBILLS.c.id == other_route.waybill.waybill_id).values(sort_code="571-HZ10-12")
        )
    clerk = sign_in_staff(client, rt, Role.STATION_CLERK, station=STATION)
    issued = client.post(
        f"{API}/delivery/passes", json={"phone": CROWD_PHONE, "route": ROUTE, "day": "2026-12-01"}, headers=clerk
    )
    assert issued.status_code == 201, issued.text
    crowd_pass = issued.json()
    assert (
        crowd_pass["sign_in_url"].endswith(f"/courier/?pass={crowd_pass['pass_id']}") and CROWD_PHONE not in issued.text
    )
    # The QR a crowd courier scans encodes the sign-in link and nothing else (the browser
    # journey of the desk reads it back with zxing-cpp from the rendered page).
    assert crowd_pass["qr_svg"] == segno.make(crowd_pass["sign_in_url"], error="M").svg_inline(scale=4)

    # Dispatch accepts the pass's subject, but only for its route.
    wrong_route = client.post(
        f"{API}/delivery/assignments",
        json={"waybills": [other_route.no], "courier": crowd_pass["courier"]},
        headers=clerk,
    )
    assert wrong_route.json()["errors"] == [{"field": "courier", "reason": "is a pass for another route"}]
    assigned = client.post(
        f"{API}/delivery/assignments",
        json={"waybills": [p.no for p in parcels], "courier": crowd_pass["courier"]},
        headers=clerk,
    )
    assert assigned.status_code == 200, assigned.text
    legacy = client.post(
        f"{API}/waybills/{other_route.no}/events",
        json={"status": "out_for_delivery", "courier": crowd_pass["courier"]},
        headers=clerk,
    )
    assert legacy.status_code == 422  # the old dispatch path checks the assignee the same way

    crowd = crowd_sign_in(client, rt)
    assert crowd["X-Actor"] == crowd_pass["courier"]
    manifest = client.get(f"{API}/delivery/manifest", headers=crowd).json()
    assert sorted(p["waybill_no"] for s in manifest["stops"] for p in s["parcels"]) == sorted(p.no for p in parcels)
    first = parcels[0]
    assert client.post(f"{API}/delivery/scan", json={"code": first.no}, headers=crowd).json()["moved"] is True
    revealed = client.post(f"{API}/delivery/parcels/{first.no}/reveal", json={"purpose": "deliver"}, headers=crowd)
    assert revealed.status_code == 200 and first.compound in revealed.json()["address"]
    # The crowd courier calls from the phone its pass was issued to, and no other.
    impostor = client.post(f"{API}/delivery/parcels/{first.no}/call", json={"phone": "13700000009"}, headers=crowd)
    assert impostor.json()["errors"] == [{"field": "phone", "reason": "must be the number the pass was issued to"}]
    called = client.post(f"{API}/delivery/parcels/{first.no}/call", json={"phone": CROWD_PHONE}, headers=crowd)
    assert called.status_code == 200
    assert route_call(client, rt, "+86" + CROWD_PHONE, called.json()["x_number"]).json()["action"] == "connect_to_b"

    # Late in the evening the pass still works; at midnight in Beijing it and its sessions are gone.
    clock.now = clock.now.replace(hour=15, minute=30)  # 23:30 on 1 December, China Standard Time
    late = crowd_sign_in(client, rt)
    assert client.get(f"{API}/delivery/manifest", headers=late).status_code == 200
    clock.now = clock.now.replace(hour=16, minute=0)  # 00:00 on 2 December
    assert client.get(f"{API}/delivery/manifest", headers=late).status_code == 401
    assert client.post(f"{API}/delivery/scan", json={"code": parcels[1].no}, headers=late).status_code == 401
    assert rt.waybills.get_by_number(None, first.no).status is WaybillStatus.OUT_FOR_DELIVERY  # type: ignore[union-attr]


def test_a_clerk_lists_the_active_couriers_of_their_own_station_only(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    here = rt.identity.add_user("courier.here", "correct horse battery staple", Role.COURIER, clock(), station=STATION)
    rt.identity.add_user("courier.away", "correct horse battery staple", Role.COURIER, clock(), station="HZ11")
    rt.identity.add_user("courier.gone", "correct horse battery staple", Role.COURIER, clock(), station=STATION)
    rt.identity.set_status("courier.gone", UserStatus.LOCKED, clock())
    clerk = sign_in_staff(client, rt, Role.STATION_CLERK, station=STATION)
    listed = client.get(f"{API}/delivery/couriers", headers=clerk)
    assert listed.status_code == 200, listed.text
    assert listed.json() == [{"courier": f"user:{here.user.id}", "username": "courier.here"}]
    [audited] = rt.audit.events(action="station.manage", actor=clerk["X-Actor"])
    assert audited.event().detail == {"list": "couriers"}
    # Couriers do not learn who their colleagues are.
    courier = sign_in_staff(client, rt, Role.COURIER, device="device-list-01", station=STATION)
    assert client.get(f"{API}/delivery/couriers", headers=courier).status_code == 403
