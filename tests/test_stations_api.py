"""Issue 9's station promises over HTTP, on SQLite and PostgreSQL: 200 parcels checked in with
shelf and pickup codes, noticed through the outbox, handed over by pickup code, identity code
and OTP, and signed off; a clerk never gets more than the surname and the last 4 digits."""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_support import API, assert_problem
from privacy_waybill.access.model import Role, Subject
from privacy_waybill.api.app import create_app
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.issuance.model import WaybillStatus
from privacy_waybill.notifications import mask_waybill_no
from privacy_waybill.runtime import Runtime
from privacy_waybill.stations.model import StationFull, StationKind
from station_support import (
    GIVEN_NAMES,
    STATION,
    last_text_to,
    parcels_in_transit,
    phone,
    recipient_session,
    register_station,
    staff,
)

SHELF_CODE = re.compile(r"^[AB]-[1-4]-[0-9]{4}$")
# Parcels 0-99 go to 100 phones (pickup by code); 100-199 to ten phones, ten each (identity code).
PHONES = list(range(100)) + [100 + n % 10 for n in range(100)]


@pytest.fixture
def client(rt: Runtime, identity: IdentityService) -> TestClient:
    return TestClient(create_app(rt))


def assert_clerk_safe(body: str) -> None:
    """No given name and no phone beyond its last four digits in a clerk-facing body."""
    for given in GIVEN_NAMES:
        assert given not in body, f"clerk sees a given name {given!r}"
    assert "1381234" not in body, "clerk sees more than the last 4 digits of a phone"


def test_two_hundred_parcels_through_a_station(client: TestClient, rt: Runtime) -> None:
    register_station(rt)
    clerk = staff(client, rt, Role.STATION_CLERK, station=STATION)
    waybills = parcels_in_transit(rt, PHONES)

    checked: dict[str, dict[str, Any]] = {}
    for waybill in waybills:
        response = client.post(f"{API}/stations/check-ins", json={"waybill_no": waybill.waybill_no}, headers=clerk)
        assert response.status_code == 201, response.text
        assert_clerk_safe(response.text)
        body = response.json()
        assert SHELF_CODE.match(body["shelf_code"]) and re.fullmatch(r"[0-9]{6}", body["pickup_code"])
        assert body["recipient_name"] == waybill.recipient.name and body["recipient_name"].endswith("*")
        assert body["phone_last4"] == waybill.recipient.phone[-4:]
        checked[waybill.waybill_no] = body
    assert len({b["pickup_code"] for b in checked.values()}) == 200
    assert len({b["shelf_code"] for b in checked.values()}) == 200
    # Shelves fill evenly: 200 parcels on A then B, 120 at most per shelf, boards balanced.
    per_shelf = Counter(b["shelf_code"][0] for b in checked.values())
    assert per_shelf == {"A": 120, "B": 80}
    assert Counter(b["shelf_code"][:3] for b in checked.values() if b["shelf_code"][0] == "A") == {
        f"A-{layer}": 30 for layer in range(1, 5)
    }
    assert {w.status for w in (rt.waybills.get_by_number(None, n) for n in checked)} == {WaybillStatus.AT_STATION}

    # Every recipient got the notice: masked number, station id, pickup code; nothing personal.
    notices = rt.notifications.recent(limit=500, template="station.pickup_ready")
    assert len(notices) == 200
    by_code = {n.body.data["pickup_code"]: n.body for n in notices if n.body}
    for waybill in waybills:
        notice = by_code[checked[waybill.waybill_no]["pickup_code"]]
        assert notice.data == {
            "type": "pickup_ready",
            "waybill": mask_waybill_no(waybill.waybill_no),
            "station": STATION,
            "pickup_code": checked[waybill.waybill_no]["pickup_code"],
        }
        assert checked[waybill.waybill_no]["pickup_code"] in notice.text and "震华" not in notice.text

    # Search by last 4 digits finds exactly that phone's parcels; the held list shows all 200.
    listed = client.get(f"{API}/stations/parcels", headers=clerk)
    assert listed.status_code == 200 and len(listed.json()) == 200
    assert_clerk_safe(listed.text)
    found = client.get(f"{API}/stations/parcels", params={"last4": phone(105)[-4:]}, headers=clerk).json()
    assert sorted(p["waybill_no"] for p in found) == sorted(
        w.waybill_no for w, i in zip(waybills, PHONES, strict=True) if i == 105
    )
    assert_problem(client.get(f"{API}/stations/parcels", params={"last4": "56"}, headers=clerk), 422)

    # 0-97 by pickup code.
    for waybill in waybills[:98]:
        code = checked[waybill.waybill_no]["pickup_code"]
        by_code = client.get(f"{API}/stations/parcels", params={"pickup_code": code}, headers=clerk).json()
        assert [p["waybill_no"] for p in by_code] == [waybill.waybill_no]
        response = client.post(f"{API}/stations/pickups", json={"method": "pickup_code", "pickup_code": code}, headers=clerk)
        assert response.status_code == 200, response.text
        assert_clerk_safe(response.text)
        [handed] = response.json()["handed_over"]
        assert (handed["waybill_no"], handed["pickup_method"]) == (waybill.waybill_no, "pickup_code")

    # 98-99 by a code texted to the recipient for that parcel.
    for waybill in waybills[98:100]:
        assert client.post(f"{API}/stations/parcels/{waybill.waybill_no}/pickup-otp", headers=clerk).status_code == 202
        i = PHONES[waybills.index(waybill)]
        otp = last_text_to(rt, "+86" + phone(i), "station.pickup_otp")["code"]
        wrong = client.post(
            f"{API}/stations/pickups", json={"method": "otp", "waybill_no": waybill.waybill_no, "otp": "000000" if otp != "000000" else "111111"}, headers=clerk
        )
        assert_problem(wrong, 422)
        response = client.post(
            f"{API}/stations/pickups", json={"method": "otp", "waybill_no": waybill.waybill_no, "otp": otp}, headers=clerk
        )
        assert response.status_code == 200, response.text

    # 100-199 by identity code: the clerk scans it and sees that phone's ten parcels, never the phone.
    for i in range(100, 110):
        recipient = recipient_session(client, rt, i)
        minted = client.post(f"{API}/recipient/identity-code", headers=recipient)
        assert minted.status_code == 200 and "<svg" in minted.json()["qr_svg"]
        token = minted.json()["code"]
        assert phone(i) not in token and phone(i)[-4:] not in token
        shown = client.post(f"{API}/stations/identity-code", json={"identity_code": token}, headers=clerk)
        assert shown.status_code == 200, shown.text
        assert_clerk_safe(shown.text)
        mine = sorted(w.waybill_no for w, p in zip(waybills, PHONES, strict=True) if p == i)
        assert sorted(p["waybill_no"] for p in shown.json()) == mine
        handed = client.post(f"{API}/stations/pickups", json={"method": "identity_code", "identity_code": token}, headers=clerk)
        assert handed.status_code == 200, handed.text
        assert sorted(p["waybill_no"] for p in handed.json()["handed_over"]) == mine

    # Every parcel is signed off: delivered, no courier, off the shelves, codes released.
    for waybill in waybills:
        final = rt.waybills.get_by_number(None, waybill.waybill_no)
        assert (final.status, final.assigned_courier) == (WaybillStatus.DELIVERED, None)
    assert client.get(f"{API}/stations/parcels", headers=clerk).json() == []
    assert rt.station_store.by_pickup_code(STATION, checked[waybills[0].waybill_no]["pickup_code"]) is None


def test_wrong_pickup_codes_are_audited_and_then_refused(client: TestClient, rt: Runtime) -> None:
    register_station(rt)
    clerk = staff(client, rt, Role.STATION_CLERK, station=STATION)
    [waybill] = parcels_in_transit(rt, [1])
    code = client.post(f"{API}/stations/check-ins", json={"waybill_no": waybill.waybill_no}, headers=clerk).json()[
        "pickup_code"
    ]
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(10):
        assert_problem(
            client.post(f"{API}/stations/pickups", json={"method": "pickup_code", "pickup_code": wrong_code}, headers=clerk),
            422,
        )
    refused = client.post(f"{API}/stations/pickups", json={"method": "pickup_code", "pickup_code": code}, headers=clerk)
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    denials = [e.event() for e in rt.audit.events(action="waybill.hand_over", limit=100) if e.outcome == "denied"]
    assert Counter(e.rule for e in denials) == {"pickup:wrong-code": 10, "pickup:too-many-wrong-codes": 1}
    assert all(e.detail["station"] == STATION for e in denials)
    [alert] = rt.alerts.recent(kind="pickup_code_guessing")
    assert alert["detail"] == {"station": STATION, "method": "pickup_code", "limit": "10"}
    # Still on the shelf: the refused right code handed nothing over.
    assert rt.waybills.get_by_number(None, waybill.waybill_no).status is WaybillStatus.AT_STATION


def test_a_clerk_of_another_station_can_do_nothing_with_the_parcel(client: TestClient, rt: Runtime) -> None:
    register_station(rt)
    rt.stations.register("HZ99", "别的驿站", StationKind.STATION, rt.station_store.get(STATION).shelves)
    clerk, stranger = (staff(client, rt, Role.STATION_CLERK, station=s) for s in (STATION, "HZ99"))
    [waybill] = parcels_in_transit(rt, [2])
    denied = client.post(f"{API}/stations/check-ins", json={"waybill_no": waybill.waybill_no}, headers=stranger)
    assert "at_subject_station" in assert_problem(denied, 403)["detail"]
    code = client.post(f"{API}/stations/check-ins", json={"waybill_no": waybill.waybill_no}, headers=clerk).json()["pickup_code"]
    assert_problem(client.post(f"{API}/stations/pickups", json={"method": "pickup_code", "pickup_code": code}, headers=stranger), 422)
    assert client.get(f"{API}/stations/parcels", params={"pickup_code": code}, headers=stranger).json() == []
    assert_problem(client.get(f"{API}/stations/parcels/{waybill.waybill_no}/sticker", headers=stranger), 403)


def test_a_locker_takes_one_parcel_per_compartment_and_says_when_it_is_full(client: TestClient, rt: Runtime) -> None:
    register_station(rt, StationKind.LOCKER, ("C:2",))
    clerk = staff(client, rt, Role.STATION_CLERK, station=STATION)
    waybills = parcels_in_transit(rt, [3, 4, 5])
    placed = [
        client.post(f"{API}/stations/check-ins", json={"waybill_no": w.waybill_no}, headers=clerk) for w in waybills
    ]
    assert [r.status_code for r in placed[:2]] == [201, 201]
    assert [r.json()["shelf_code"][:3] for r in placed[:2]] == ["C-1", "C-2"]
    assert assert_problem(placed[2], 409)["title"] == "Station full"
    assert rt.waybills.get_by_number(None, waybills[0].waybill_no).status is WaybillStatus.IN_LOCKER
    assert rt.waybills.get_by_number(None, waybills[2].waybill_no).status is WaybillStatus.IN_TRANSIT


def test_the_sticker_shows_shelf_code_pickup_code_and_masked_name_only(client: TestClient, rt: Runtime) -> None:
    register_station(rt)
    clerk = staff(client, rt, Role.STATION_CLERK, station=STATION)
    [waybill] = parcels_in_transit(rt, [6])
    body = client.post(f"{API}/stations/check-ins", json={"waybill_no": waybill.waybill_no}, headers=clerk).json()
    pdf = client.get(f"{API}/stations/parcels/{waybill.waybill_no}/sticker", headers=clerk)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    zpl = client.get(f"{API}/stations/parcels/{waybill.waybill_no}/sticker", params={"format": "zpl"}, headers=clerk)
    assert zpl.status_code == 200 and zpl.text.startswith("^XA") and zpl.text.rstrip().endswith("^XZ")
    from privacy_waybill.stations.sticker import compose_sticker

    held = rt.station_store.held_waybill(waybill.waybill_id)
    texts = [item.text for item in compose_sticker(held).items if hasattr(item, "text")]
    assert texts == [body["shelf_code"], "取件码", f"{body['pickup_code'][:3]} {body['pickup_code'][3:]}", waybill.recipient.name]


def test_concurrent_check_ins_respect_capacity_and_never_share_a_code(rt: Runtime, identity: IdentityService) -> None:
    """Four clerks scanning at once into a station with room for 30: exactly 30 are shelved,
    every shelf code and pickup code distinct, the rest told the station is full."""
    register_station(rt, shelves=("A:3:15", "B:3:15"))
    waybills = parcels_in_transit(rt, list(range(300, 340)))
    clerks = [Subject(actor=f"user:clerk-{n}", role=Role.STATION_CLERK, station=STATION) for n in range(4)]

    def scan(n: int) -> str:
        try:
            return rt.stations.check_in(clerks[n % 4], waybills[n].waybill_no).shelf_code
        except StationFull:
            return "full"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(scan, range(40)))
    placed = [o for o in outcomes if o != "full"]
    assert (len(placed), outcomes.count("full")) == (30, 10)
    assert len(set(placed)) == 30
    held = rt.station_store.held(STATION)
    assert len(held) == 30 and len({p.pickup_code for p in held}) == 30
    assert Counter(p.shelf for p in held) == {"A": 15, "B": 15}
