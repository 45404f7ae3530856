"""Shared pieces of the station and recipient tests: staff sessions, parcels at a station,
recipients signed in through the outbox's simulated SMS."""

from __future__ import annotations

import uuid
from typing import Any

import pyotp
from fastapi.testclient import TestClient

from api_support import API
from privacy_waybill.access.model import Role
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.issuance.service import Issued
from privacy_waybill.runtime import Runtime
from privacy_waybill.stations.codes import parse_shelf
from privacy_waybill.stations.model import StationKind

PASSWORD = "correct horse battery staple"
STATION = "HZ10"  # the demo routing table's station for 余杭区
TENANT = "station-shop"
SENDER = {"name": "司马翊瑄", "phone": "13987654321", "address": "北京市海淀区中关村街道中关村大街27号华芯大厦8层806室"}
GIVEN_NAMES = ("震华", "晓岚", "子涵", "浩然", "雨桐")
SURNAMES = ("欧阳", "诸葛", "王", "李", "张")


def recipient_name(i: int) -> str:
    return SURNAMES[i % len(SURNAMES)] + GIVEN_NAMES[i % len(GIVEN_NAMES)]


def phone(i: int) -> str:
    return f"1381234{i:04d}"


def order(order_id: str, i: int) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "recipient": {
            "name": recipient_name(i),
            "phone": phone(i),
            "address": f"浙江省杭州市余杭区五常街道文一西路{100 + i}号西溪园区{i % 9 + 1}号楼1201室",
        },
        "sender": SENDER,
        "items": [{"name": "机密样品XJ42", "quantity": 1}],
    }


def staff(client: TestClient, rt: Runtime, role: Role, **scope: str) -> dict[str, str]:
    """A signed-in staff session (password + TOTP) as request headers."""
    username = f"{role.value}-{uuid.uuid4().hex[:8]}"
    created = rt.identity.add_user(username, PASSWORD, role, rt.clock(), **scope)
    code = pyotp.parse_uri(created.totp_uri).at(rt.clock()) if created.totp_uri else None  # type: ignore[union-attr]
    response = client.post(f"{API}/auth/login", json={"username": username, "password": PASSWORD, "totp": code})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def register_station(rt: Runtime, kind: StationKind = StationKind.STATION, shelves: tuple[str, ...] = ("A:4:120", "B:4:120")) -> None:
    rt.stations.register(STATION, "文一西路驿站", kind, [parse_shelf(s) for s in shelves])


def parcels_in_transit(rt: Runtime, phones: list[int]) -> list[IssuedWaybill]:
    """One issued parcel per entry of `phones` (recipient number i), moved along to in transit."""
    rt.tenants.ensure(TENANT, "Station shop", rt.clock())
    orders = [order(f"S-{uuid.uuid4().hex[:8]}-{n}", i) for n, i in enumerate(phones)]
    outcomes = rt.issuance().issue(TENANT, records_from_objects(orders), actor="test")
    waybills = []
    for outcome in outcomes:
        assert isinstance(outcome, Issued)
        waybill = outcome.waybill
        assert waybill.sort_code.split("-")[1] == STATION
        for status in (WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT):
            waybill = rt.waybills.transition(waybill, status, "test", rt.clock())
        waybills.append(waybill)
    return waybills


def last_text_to(rt: Runtime, number: str, template: str) -> dict[str, str]:
    """The data part of the newest message of `template` to `number` in the simulated outbox."""
    [message, *_] = rt.notifications.recent(limit=5, to=number, template=template)
    assert message.body is not None
    return dict(message.body.data)


def recipient_session(client: TestClient, rt: Runtime, i: int) -> dict[str, str]:
    number = phone(i)
    assert client.post(f"{API}/recipient/otp/request", json={"phone": number}).status_code == 202
    code = last_text_to(rt, "+86" + number, "recipient.otp")["code"]
    response = client.post(f"{API}/recipient/otp/verify", json={"phone": number, "code": code})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
