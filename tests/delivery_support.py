"""A courier's route for tests: parcels in known buildings, staff signed in over the API, a pool
of virtual numbers, and a signed telephony callback."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from fastapi.testclient import TestClient

from privacy_waybill.access.model import Role
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.issuance.service import Issued
from privacy_waybill.runtime import Runtime

API = "/api/v1"
PASSWORD = "correct horse battery staple"
STATION = "HZ10"
ROUTE = "13"
# 8:00 in Beijing on a working day.
MORNING = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
# Three compounds on 文一西路 (route 13 of station HZ10 in the demo routing table).
COMPOUNDS = (("969号", "西溪园区"), ("998号", "海创园"), ("1818号", "未来科技城"))
BUILDING_SPELLINGS = ("{n}号楼", "{n}幢", "{n}栋")
# One courier's live bindings each need their own X (never two with the same A on one X).
X_NUMBERS = tuple(f"+861710000{n:04d}" for n in range(1, 81))
TOWN = "浙江省杭州市余杭区五常街道"
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"


class Clock:
    def __init__(self, now: datetime = MORNING) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Parcel:
    waybill: IssuedWaybill
    compound: str
    building: int
    phone: str
    remark: str

    @property
    def no(self) -> str:
        return self.waybill.waybill_no

    @property
    def place(self) -> tuple[str, int]:
        return (self.compound, self.building)


def route_orders(buildings_per_compound: int, parcels_per_building: int) -> list[dict[str, object]]:
    """Orders whose recipients live in known buildings; each building written several ways."""
    orders = []
    serial = 0
    for number, compound in COMPOUNDS:
        for building in range(1, buildings_per_compound + 1):
            for copy in range(parcels_per_building):
                spelled = BUILDING_SPELLINGS[copy % len(BUILDING_SPELLINGS)].format(n=building)
                surname = SURNAMES[serial % len(SURNAMES)]
                orders.append(
                    {
                        "order_id": f"R-{uuid.uuid4().hex[:10]}",
                        "recipient": {
                            "name": f"{surname}晓{'明红刚丽'[copy % 4]}",
                            "phone": f"139{serial:08d}",
                            "address": f"{TOWN}文一西路{number}{compound}{spelled}{copy + 1}单元{copy + 1}01室",
                        },
                        "sender": {
                            "name": "杭州小店",
                            "phone": "13512345678",
                            "address": "浙江省杭州市西湖区文三路90号",
                        },
                        "items": [{"name": "书", "quantity": 1}],
                        "remark": f"放{compound}{building}号楼门卫，找{surname}先生",
                    }
                )
                serial += 1
    return orders


def issue_route(rt: Runtime, buildings_per_compound: int = 4, parcels_per_building: int = 5) -> list[Parcel]:
    """Issue the route's parcels and move them to the station (in transit), as sorting would."""
    orders = route_orders(buildings_per_compound, parcels_per_building)
    outcomes = list(rt.issuance().issue("default", records_from_objects(orders), actor="test"))
    parcels = []
    for order, outcome in zip(orders, outcomes, strict=True):
        assert isinstance(outcome, Issued), outcome
        waybill = outcome.waybill
        for status in (WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT):
            waybill = rt.waybills.transition(waybill, status, "test", rt.clock())
        address = str(order["recipient"]["address"])  # type: ignore[index]
        compound = next(c for _, c in COMPOUNDS if c in address)
        building = int(address.split(compound, 1)[1].split("号楼")[0].split("幢")[0].split("栋")[0])
        parcels.append(
            Parcel(waybill, compound, building, str(order["recipient"]["phone"]), str(order["remark"]))  # type: ignore[index]
        )
    return parcels


def sign_in_staff(
    client: TestClient, rt: Runtime, role: Role, device: str | None = None, **scope: str
) -> dict[str, str]:
    username = f"{role.value.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    created = rt.identity.add_user(username, PASSWORD, role, rt.clock(), **scope)
    headers = {}
    if device:
        rt.identity.bind_device(username, device, rt.clock())
        headers["X-Device-Id"] = device
    assert created.totp_uri is not None
    code = pyotp.TOTP(pyotp.parse_uri(created.totp_uri).secret).at(rt.clock())
    response = client.post(
        f"{API}/auth/login", json={"username": username, "password": PASSWORD, "totp": code}, headers=headers
    )
    assert response.status_code == 200, response.text
    return {**headers, "Authorization": f"Bearer {response.json()['token']}", "X-Actor": response.json()["actor"]}


def route_call(client: TestClient, rt: Runtime, caller: str, called: str, nonce: str | None = None):  # type: ignore[no-untyped-def]
    """The provider's signed callback asking where a call goes."""
    body = json.dumps({"caller": caller, "called": called}).encode()
    headers = rt.callback_signer.headers(body, rt.clock(), nonce or secrets.token_urlsafe(18))
    return client.post(f"{API}/telephony/route", content=body, headers={**headers, "Content-Type": "application/json"})
