"""A courier's route end to end over the API: 60 parcels in 12 buildings, one scan each, a
manifest that never returns to a building, reveals, calls through virtual numbers, sign-offs;
afterwards nothing is disclosed and no binding connects. Races: a double scan, two couriers
on one parcel, a call as its binding expires, a replayed sign-off, a re-dispatch."""

from __future__ import annotations

import base64
import logging
import threading
from collections import Counter
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from delivery_support import (
    API,
    ROUTE,
    STATION,
    X_NUMBERS,
    Clock,
    Parcel,
    issue_route,
    route_call,
    sign_in_staff,
)
from privacy_waybill.access.model import Role, Subject
from privacy_waybill.api.app import create_app
from privacy_waybill.delivery.model import SignOffMethod, SignOffProof
from privacy_waybill.delivery.ordering import revisits
from privacy_waybill.delivery.signoff import sign_off
from privacy_waybill.errors import Conflict
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.issuance.model import WaybillStatus
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.delivery import CODES, purge_delivery
from privacy_waybill.storage.telephony import BINDINGS, purge_bindings

COURIER_PHONE = "+8613700000001"
OTHER_COURIER_PHONE = "+8613700000002"
PHOTO = base64.b64encode(b"\x89PNG\r\n\x1a\n a photo of the parcel at the door").decode()


@pytest.fixture
def clock(rt: Runtime) -> Clock:
    clock = Clock()
    rt.clock = clock
    return clock


@pytest.fixture
def client(rt: Runtime, identity: IdentityService, clock: Clock) -> TestClient:
    rt.telephony.add_numbers(X_NUMBERS, capacity=200, pool="demo", now=clock())
    return TestClient(create_app(rt))


def stop_places(manifest: dict, parcels: dict[str, Parcel]) -> list[list[tuple[str, int]]]:  # type: ignore[type-arg]
    return [sorted({parcels[p["waybill_no"]].place for p in stop["parcels"]}) for stop in manifest["stops"]]


def test_a_route_of_60_parcels_in_12_buildings_end_to_end(
    client: TestClient, rt: Runtime, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    parcels = {p.no: p for p in issue_route(rt)}
    clerk = sign_in_staff(client, rt, Role.STATION_CLERK, station=STATION)
    courier = sign_in_staff(client, rt, Role.COURIER, device="device-courier-1", station=STATION)

    # The station writes the route's walking order, starting from the far compound.
    defined = client.put(
        f"{API}/delivery/routes/{ROUTE}",
        json={"sequence": ["西溪园区", "海创园", "未来科技城"], "start": "未来科技城"},
        headers=clerk,
    )
    assert defined.status_code == 200, defined.text
    # Parcels come off the van in no particular order.
    van_order = sorted(parcels, key=lambda no: parcels[no].waybill.waybill_id)
    assigned = client.post(
        f"{API}/delivery/assignments", json={"waybills": van_order, "courier": courier["X-Actor"]}, headers=clerk
    )
    assert assigned.status_code == 200, assigned.text
    assert {a["assigned_courier"] for a in assigned.json()} == {courier["X-Actor"]}

    manifest = client.get(f"{API}/delivery/manifest", headers=courier).json()
    places = stop_places(manifest, parcels)
    assert manifest["parcels"] == 60 and len(manifest["stops"]) == 12
    assert all(len(stop) == 1 for stop in places)  # every stop is one building
    walk = [stop[0] for stop in places]
    assert [c for c, _ in walk] == ["未来科技城"] * 4 + ["西溪园区"] * 4 + ["海创园"] * 4
    assert revisits([f"{c}{b}".encode() for c, b in walk]) == 0
    assert all(
        p["address"].endswith("****") and p["name"].endswith("*") for s in manifest["stops"] for p in s["parcels"]
    )

    # One scan per parcel: the label's QR (a URL) for half of them, the Code 128 number for the rest.
    stop_of = {p["waybill_no"]: s["number"] for s in manifest["stops"] for p in s["parcels"]}
    for i, no in enumerate(van_order):
        code = rt.tracking_url(parcels[no].waybill) if i % 2 else no
        scanned = client.post(f"{API}/delivery/scan", json={"code": code}, headers=courier)
        assert scanned.status_code == 200, scanned.text
        assert (scanned.json()["moved"], scanned.json()["card"]["stop"]) == (True, stop_of[no])
        assert scanned.json()["card"]["status"] == "out_for_delivery"

    # At each stop: reveal, call through X, sign off.
    x_for_courier: set[str] = set()
    routed = Counter[str]()
    for stop in manifest["stops"]:
        for card in stop["parcels"]:
            parcel = parcels[card["waybill_no"]]
            revealed = client.post(
                f"{API}/delivery/parcels/{parcel.no}/reveal", json={"purpose": "deliver"}, headers=courier
            )
            assert revealed.status_code == 200, revealed.text
            assert parcel.compound in revealed.json()["address"] and revealed.json()["remark"] == parcel.remark
            called = client.post(
                f"{API}/delivery/parcels/{parcel.no}/call", json={"phone": COURIER_PHONE}, headers=courier
            )
            assert called.status_code == 200, called.text
            x = called.json()["x_number"]
            assert x in X_NUMBERS and parcel.phone not in called.text
            x_for_courier.add(x)
            routed[route_call(client, rt, COURIER_PHONE, x).json()["action"]] += 1
            routed[route_call(client, rt, "+86" + parcel.phone, x).json()["action"]] += 1
            routed[route_call(client, rt, "+8613600000000", x).json()["action"]] += 1
            signed = client.post(
                f"{API}/delivery/parcels/{parcel.no}/sign-off",
                json={"method": "photo", "photo_base64": PHOTO},
                headers=courier,
            )
            assert signed.status_code == 200 and signed.json()["replayed"] is False, signed.text
            clock.now += timedelta(seconds=30)
    assert routed == {"connect_to_b": 60, "connect_to_a": 60, "refuse": 60}
    # Never two live bindings with the same A on one X: the courier's 60 calls used 60 numbers.
    assert len(x_for_courier) == 60

    # Afterwards: no reveal, and once the grace period is over, no call connects.
    for no in parcels:
        refused = client.post(f"{API}/delivery/parcels/{no}/reveal", json={"purpose": "deliver"}, headers=courier)
        assert refused.status_code == 403
    clock.now += rt.telephony.policy.grace_after_sign_off
    for x in X_NUMBERS:
        assert route_call(client, rt, COURIER_PHONE, x).json()["action"] == "refuse"
    refusals = [e for e in rt.audit.events(action="telephony.route", limit=1000) if e.event().outcome.value == "denied"]
    assert len(refusals) == 60 + len(X_NUMBERS)
    # Ids and counts only in the logs: no phone, name, compound or remark of any parcel.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for parcel in parcels.values():
        for value in (parcel.phone, parcel.phone[:7], parcel.compound, parcel.remark, COURIER_PHONE[3:]):
            assert value not in logged


def test_exactly_one_of_two_racing_scans_moves_the_parcel(client: TestClient, rt: Runtime) -> None:
    [parcel, second] = issue_route(rt, buildings_per_compound=1, parcels_per_building=1)[:2]
    clerk = sign_in_staff(client, rt, Role.STATION_CLERK, station=STATION)
    courier = sign_in_staff(client, rt, Role.COURIER, device="device-courier-1", station=STATION)
    other = sign_in_staff(client, rt, Role.COURIER, device="device-courier-2", station=STATION)
    client.post(
        f"{API}/delivery/assignments",
        json={"waybills": [parcel.no, second.no], "courier": courier["X-Actor"]},
        headers=clerk,
    )
    subject = rt.resolve_token(courier["Authorization"].removeprefix("Bearer "), courier["X-Device-Id"])
    assert subject is not None
    results: list[bool] = []
    start = threading.Barrier(2)

    def scan() -> None:
        start.wait()
        results.append(rt.delivery.scan_out(subject[0], parcel.no, rt.access.context()).moved)

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    # Another courier scanning it gets a clear conflict, not the parcel.
    conflict = client.post(f"{API}/delivery/scan", json={"code": parcel.no}, headers=other)
    assert conflict.status_code == 409 and "assigned to another courier" in conflict.json()["detail"]
    # Two couriers racing on the second parcel: the assigned one wins, the other is refused.
    outcomes: list[str] = []

    def race(headers: dict[str, str]) -> None:
        start.wait()
        subject_of = rt.resolve_token(headers["Authorization"].removeprefix("Bearer "), headers["X-Device-Id"])
        assert subject_of is not None
        try:
            rt.delivery.scan_out(subject_of[0], second.no, rt.access.context())
            outcomes.append(headers["X-Actor"])
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=race, args=(h,)) for h in (courier, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == sorted([courier["X-Actor"], "conflict"])


def test_a_redispatched_parcel_leaves_the_first_courier_at_once(client: TestClient, rt: Runtime, clock: Clock) -> None:
    [parcel] = issue_route(rt, buildings_per_compound=1, parcels_per_building=1)[:1]
    clerk = sign_in_staff(client, rt, Role.STATION_CLERK, station=STATION)
    first = sign_in_staff(client, rt, Role.COURIER, device="device-courier-1", station=STATION)
    second = sign_in_staff(client, rt, Role.COURIER, device="device-courier-2", station=STATION)
    elsewhere = sign_in_staff(client, rt, Role.COURIER, device="device-courier-3", station="BJ05")
    mistyped = client.post(
        f"{API}/delivery/assignments", json={"waybills": [parcel.no], "courier": "user:u_nobody"}, headers=clerk
    )
    assert mistyped.status_code == 422 and mistyped.json()["errors"] == [
        {"field": "courier", "reason": "names no courier"}
    ]
    foreign = client.post(
        f"{API}/delivery/assignments", json={"waybills": [parcel.no], "courier": elsewhere["X-Actor"]}, headers=clerk
    )
    assert foreign.json()["errors"] == [{"field": "courier", "reason": "does not work at this station"}]
    client.post(
        f"{API}/delivery/assignments", json={"waybills": [parcel.no], "courier": first["X-Actor"]}, headers=clerk
    )
    assert client.post(f"{API}/delivery/scan", json={"code": parcel.no}, headers=first).status_code == 200
    x = client.post(f"{API}/delivery/parcels/{parcel.no}/call", json={"phone": COURIER_PHONE}, headers=first).json()[
        "x_number"
    ]
    assert route_call(client, rt, COURIER_PHONE, x).json()["action"] == "connect_to_b"

    again = client.post(
        f"{API}/delivery/assignments", json={"waybills": [parcel.no], "courier": second["X-Actor"]}, headers=clerk
    )
    assert again.status_code == 200 and again.json()[0]["status"] == "at_station"
    assert (
        client.post(
            f"{API}/delivery/parcels/{parcel.no}/reveal", json={"purpose": "deliver"}, headers=first
        ).status_code
        == 403
    )
    assert route_call(client, rt, COURIER_PHONE, x).json()["action"] == "refuse"
    assert client.get(f"{API}/delivery/manifest", headers=first).json()["stops"] == []
    scanned = client.post(f"{API}/delivery/scan", json={"code": parcel.no}, headers=second)
    assert scanned.status_code == 200 and scanned.json()["card"]["stop"] == 1
    # The second viewer of this recipient gets an X of its own: a leaked X names who saw it.
    second_x = client.post(
        f"{API}/delivery/parcels/{parcel.no}/call", json={"phone": OTHER_COURIER_PHONE}, headers=second
    )
    assert second_x.json()["x_number"] != x
    taken = client.post(f"{API}/delivery/assignments/withdraw", json={"waybill": parcel.no}, headers=clerk)
    assert taken.json()["status"] == "at_station" and taken.json()["assigned_courier"] is None
    # A leaked list of those numbers, however written, names the courier each X was given to.
    auditor = Subject(actor="user:auditor", role=Role.SECURITY_AUDITOR)
    leak = f"虚拟号\n{x.removeprefix('+86')}\n+86 {second_x.json()['x_number'][3:]}\n".encode()
    report = rt.trace_case(auditor, leak)
    named = sorted((v["actor"], v["waybill_id"]) for v in report["virtual_numbers"])
    assert named == sorted((c["X-Actor"], parcel.waybill.waybill_id) for c in (first, second))


def test_a_call_as_its_binding_expires_and_a_replayed_sign_off(client: TestClient, rt: Runtime, clock: Clock) -> None:
    [parcel] = issue_route(rt, buildings_per_compound=1, parcels_per_building=1)[:1]
    clerk = sign_in_staff(client, rt, Role.STATION_CLERK, station=STATION)
    courier = sign_in_staff(client, rt, Role.COURIER, device="device-courier-1", station=STATION)
    client.post(
        f"{API}/delivery/assignments", json={"waybills": [parcel.no], "courier": courier["X-Actor"]}, headers=clerk
    )
    client.post(f"{API}/delivery/scan", json={"code": parcel.no}, headers=courier)
    x = client.post(f"{API}/delivery/parcels/{parcel.no}/call", json={"phone": COURIER_PHONE}, headers=courier).json()[
        "x_number"
    ]
    [binding] = rt.telephony.live_bindings(parcel.waybill.waybill_id, clock.now)
    assert binding.expires_at == clock.now + timedelta(hours=72)  # the hard maximum, until sign-off

    # Sign-off by the recipient's code, texted through the outbox.
    assert client.post(f"{API}/delivery/parcels/{parcel.no}/signoff-code", headers=courier).status_code == 202
    [text] = rt.notifications.recent(template="delivery.signoff_code", to="+86" + parcel.phone)
    assert text.to_hint == parcel.phone[-4:] and text.body is not None and parcel.no not in text.body.text
    wrong = client.post(
        f"{API}/delivery/parcels/{parcel.no}/sign-off",
        json={"method": "recipient_otp", "code": "000000"},
        headers=courier,
    )
    assert wrong.status_code == 422
    signed_at = clock.now
    signed = client.post(
        f"{API}/delivery/parcels/{parcel.no}/sign-off",
        json={"method": "recipient_otp", "code": text.body.data["code"]},
        headers=courier,
    )
    assert signed.status_code == 200 and signed.json()["replayed"] is False
    events = len(rt.waybills.events(parcel.waybill.waybill_id))
    clock.now += timedelta(minutes=1)
    replay = client.post(
        f"{API}/delivery/parcels/{parcel.no}/sign-off",
        json={"method": "recipient_otp", "code": text.body.data["code"]},
        headers=courier,
    )
    assert replay.status_code == 200 and replay.json()["replayed"] is True
    assert replay.json()["at"] == signed.json()["at"] and len(rt.waybills.events(parcel.waybill.waybill_id)) == events

    # The binding ends exactly at sign-off + grace: a call a moment before connects, at the end it is refused.
    ends = signed_at + rt.telephony.policy.grace_after_sign_off
    clock.now = ends - timedelta(seconds=1)
    assert route_call(client, rt, COURIER_PHONE, x).json()["action"] == "connect_to_b"
    clock.now = ends
    assert route_call(client, rt, "+86" + parcel.phone, x).json()["action"] == "refuse"


def test_provider_callbacks_must_be_signed_fresh_and_new(client: TestClient, rt: Runtime, clock: Clock) -> None:
    body = b'{"caller": "+8613700000001", "called": "+8617100000001"}'
    headers = rt.callback_signer.headers(body, clock(), "nonce-aaaaaaaaaaaaaaaa")

    def send(h: dict[str, str], b: bytes = body):  # type: ignore[no-untyped-def]
        return client.post(f"{API}/telephony/route", content=b, headers={**h, "Content-Type": "application/json"})

    assert send(headers).status_code == 200
    assert "replay" in send(headers).json()["detail"]
    assert (
        send({**headers, "X-Pwb-Nonce": "nonce-bbbbbbbbbbbbbbbb"}).json()["detail"]
        == "the callback's signature does not match"
    )
    tampered = body.replace(b"0001", b"0002", 1)
    assert send(rt.callback_signer.headers(body, clock(), "nonce-cccccccccccccccc"), tampered).status_code == 401
    stale = rt.callback_signer.headers(body, clock() - timedelta(minutes=6), "nonce-dddddddddddddddd")
    assert send(stale).json()["detail"] == "the callback's timestamp is too far from now"
    assert send({}).status_code == 401
    rejected = [e.event() for e in rt.audit.events(action="telephony.route", limit=100)]
    assert [e.rule for e in rejected].count("telephony:callback-rejected") == 5


def test_the_route_learns_the_order_of_past_sign_offs(client: TestClient, rt: Runtime, clock: Clock) -> None:
    walked: list[tuple[str, int]] = []
    for day in range(2):
        # Sessions last a working day; the route's history belongs to the route, not the courier.
        clerk = sign_in_staff(client, rt, Role.STATION_CLERK, station=STATION)
        courier = sign_in_staff(client, rt, Role.COURIER, device=f"device-courier-{day}", station=STATION)
        parcels = [
            p for p in issue_route(rt, buildings_per_compound=3, parcels_per_building=1) if p.compound == "海创园"
        ]
        by_no = {p.no: p for p in parcels}
        client.post(
            f"{API}/delivery/assignments", json={"waybills": list(by_no), "courier": courier["X-Actor"]}, headers=clerk
        )
        manifest = client.get(f"{API}/delivery/manifest", headers=courier).json()
        order = [by_no[s["parcels"][0]["waybill_no"]] for s in manifest["stops"]]
        if day == 1:
            assert [p.place for p in order] == walked
            break
        # The courier knows the compound and walks it 3, 1, 2, whatever the manifest said.
        for parcel in sorted(parcels, key=lambda p: [3, 1, 2].index(p.building)):
            client.post(f"{API}/delivery/scan", json={"code": parcel.no}, headers=courier)
            client.post(
                f"{API}/delivery/parcels/{parcel.no}/sign-off",
                json={"method": "photo", "photo_base64": PHOTO},
                headers=courier,
            )
            walked.append(parcel.place)
        clock.now += timedelta(days=1)
    assert walked == [("海创园", 3), ("海创园", 1), ("海创园", 2)]


def test_a_scan_of_something_that_is_no_waybill_says_so(client: TestClient, rt: Runtime) -> None:
    courier = sign_in_staff(client, rt, Role.COURIER, device="device-courier-1", station=STATION)
    for code in ("PW000000000000000", "http://127.0.0.1:8000/t/forged-token", "hello"):
        answer = client.post(f"{API}/delivery/scan", json={"code": code}, headers=courier)
        assert (answer.status_code, answer.json()["detail"]) == (404, "no such waybill")


def test_a_station_pickup_signs_off_through_the_same_function(client: TestClient, rt: Runtime, clock: Clock) -> None:
    [parcel] = issue_route(rt, buildings_per_compound=1, parcels_per_building=1)[:1]
    at_station = rt.waybills.transition(parcel.waybill, WaybillStatus.AT_STATION, "user:u_clerk", clock())
    clerk = Subject(actor="user:u_clerk", role=Role.STATION_CLERK, station=STATION)
    proof = SignOffProof.pickup_code(b"pickup A-3-0172 checked by the desk")
    done = sign_off(rt.delivery, clerk, at_station, proof, rt.access.context())
    assert (done.replayed, done.method, done.at) == (False, SignOffMethod.PICKUP_CODE, clock())
    delivered = rt.waybills.get_by_number(None, parcel.no)
    assert delivered is not None and delivered.status is WaybillStatus.DELIVERED
    assert [e["place"] for e in rt.waybills.events(parcel.waybill.waybill_id)][-1] == STATION
    again = sign_off(rt.delivery, clerk, delivered, proof, rt.access.context())
    assert again.replayed and again.at == done.at
    other_desk = Subject(actor="user:u_other", role=Role.STATION_CLERK, station=STATION)
    with pytest.raises(Conflict):
        sign_off(rt.delivery, other_desk, delivered, proof, rt.access.context())


def test_route_names_and_sign_off_texts_are_bounded(client: TestClient, rt: Runtime, clock: Clock) -> None:
    [parcel] = issue_route(rt, buildings_per_compound=1, parcels_per_building=1)[:1]
    clerk = sign_in_staff(client, rt, Role.STATION_CLERK, station=STATION)
    courier = sign_in_staff(client, rt, Role.COURIER, device="device-courier-1", station=STATION)
    too_long = client.put(f"{API}/delivery/routes/{'x' * 65}", json={"sequence": ["文一西路"]}, headers=clerk)
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "route"
    not_a_clerk = client.post(
        f"{API}/delivery/assignments", json={"waybills": [parcel.no], "courier": "user:u_x"}, headers=courier
    )
    assert not_a_clerk.status_code == 403
    client.post(
        f"{API}/delivery/assignments", json={"waybills": [parcel.no], "courier": courier["X-Actor"]}, headers=clerk
    )
    client.post(f"{API}/delivery/scan", json={"code": parcel.no}, headers=courier)
    assert client.post(f"{API}/delivery/parcels/{parcel.no}/signoff-code", headers=courier).status_code == 202
    assert client.post(f"{API}/delivery/parcels/{parcel.no}/signoff-code", headers=courier).status_code == 409
    clock.now += timedelta(minutes=1)
    assert client.post(f"{API}/delivery/parcels/{parcel.no}/signoff-code", headers=courier).status_code == 202
    assert len(rt.notifications.recent(template="delivery.signoff_code")) == 2


def test_retention_purge_hooks_erase_what_delivery_kept(client: TestClient, rt: Runtime, clock: Clock) -> None:
    [parcel] = issue_route(rt, buildings_per_compound=1, parcels_per_building=1)[:1]
    clerk = sign_in_staff(client, rt, Role.STATION_CLERK, station=STATION)
    courier = sign_in_staff(client, rt, Role.COURIER, device="device-courier-1", station=STATION)
    client.post(
        f"{API}/delivery/assignments", json={"waybills": [parcel.no], "courier": courier["X-Actor"]}, headers=clerk
    )
    client.post(f"{API}/delivery/scan", json={"code": parcel.no}, headers=courier)
    x = client.post(f"{API}/delivery/parcels/{parcel.no}/call", json={"phone": COURIER_PHONE}, headers=courier).json()[
        "x_number"
    ]
    client.post(f"{API}/delivery/parcels/{parcel.no}/signoff-code", headers=courier)
    with rt.engine.begin() as conn:
        purge_delivery(conn, [parcel.waybill.waybill_id], clock())
        purge_bindings(conn, [parcel.waybill.waybill_id], clock())
    assert rt.telephony.live_bindings(parcel.waybill.waybill_id, clock()) == []
    assert route_call(client, rt, COURIER_PHONE, x).json()["action"] == "refuse"
    with rt.engine.connect() as conn:
        binding = conn.execute(select(BINDINGS)).mappings().one()
        assert (binding["a_sealed"], binding["b_sealed"], binding["a_index"], binding["b_index"]) == (
            None,
            None,
            b"",
            b"",
        )
        assert conn.execute(select(CODES)).all() == []
    [text] = rt.notifications.recent(template="delivery.signoff_code")
    assert text.body is None
