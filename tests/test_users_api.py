"""Staff accounts over HTTP (platform admins only), on SQLite and PostgreSQL: list, create with
the TOTP secret returned once, bind a courier's device, lock and reactivate; refusals name the
field; the audit log names accounts by id, never by username or password."""

from __future__ import annotations

import pyotp
import pytest
from fastapi.testclient import TestClient

from api_support import API, assert_problem
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.runtime import Runtime
from station_support import STATION, staff

NEW_PASSWORD = "a long enough passphrase"


@pytest.fixture
def client(rt: Runtime) -> TestClient:
    return TestClient(create_app(rt))


def test_an_admin_creates_a_courier_binds_its_device_and_locks_it(client: TestClient, rt: Runtime) -> None:
    admin = staff(client, rt, Role.PLATFORM_ADMIN)
    created = client.post(
        f"{API}/users",
        json={"username": "wang.courier", "password": NEW_PASSWORD, "role": "courier", "station": STATION},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    user = body["user"]
    assert (user["username"], user["role"], user["station"]) == ("wang.courier", "courier", STATION)
    assert body["user"]["device_bound"] is False and body["totp_qr_svg"].startswith("<svg")
    secret = pyotp.parse_uri(body["totp_uri"]).secret

    bound = client.put(f"{API}/users/wang.courier/device", json={"device_id": "handset-0001"}, headers=admin)
    assert bound.status_code == 200 and bound.json()["device_bound"] is True
    signed_in = client.post(
        f"{API}/auth/login",
        json={"username": "wang.courier", "password": NEW_PASSWORD, "totp": pyotp.TOTP(secret).at(rt.clock())},
        headers={"X-Device-Id": "handset-0001"},
    )
    assert signed_in.status_code == 200, signed_in.text

    locked = client.put(f"{API}/users/wang.courier/status", json={"status": "locked"}, headers=admin)
    assert locked.status_code == 200 and locked.json()["status"] == "locked"
    token = signed_in.json()["token"]
    session = {"Authorization": f"Bearer {token}", "X-Device-Id": "handset-0001"}
    assert client.get(f"{API}/delivery/manifest", headers=session).status_code == 401

    listed = client.get(f"{API}/users", headers=admin).json()
    assert {(u["username"], u["status"]) for u in listed} >= {("wang.courier", "locked")}
    user_id = body["user"]["id"]
    audited = [e for e in rt.audit.events(action="user.manage", limit=50) if e.detail and user_id in e.detail]
    assert len(audited) == 2  # the device and the status, by id
    assert all("wang.courier" not in (e.detail or "") for e in rt.audit.events(action="user.manage", limit=50))
    assert all(NEW_PASSWORD not in (e.detail or "") for e in rt.audit.events(limit=500))


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"username": "x", "password": NEW_PASSWORD, "role": "courier"}, "username", "must be 3-64"),
        ({"username": "zhao.clerk", "password": "short", "role": "station_clerk", "station": STATION}, "password", "12"),
        ({"username": "zhao.clerk", "password": NEW_PASSWORD, "role": "station_clerk"}, "station", "is required"),
        ({"username": "zhao.shop", "password": NEW_PASSWORD, "role": "merchant", "tenant_id": "nobody"}, "tenant_id", "names"),
        ({"username": "zhao.crowd", "password": NEW_PASSWORD, "role": "crowd_courier"}, "role", "with a password"),
    ],
)
def test_a_bad_account_is_refused_naming_the_field_and_nothing_is_created(
    client: TestClient, rt: Runtime, body: dict[str, str], field: str, reason: str
) -> None:
    admin = staff(client, rt, Role.PLATFORM_ADMIN)
    before = len(rt.identity.store.all_users())
    problem = assert_problem(client.post(f"{API}/users", json=body, headers=admin), 422)
    [error] = problem["errors"]
    assert error["field"] == field and reason in error["reason"]
    assert len(rt.identity.store.all_users()) == before


def test_only_platform_admins_manage_accounts_and_others_learn_nothing(client: TestClient, rt: Runtime) -> None:
    clerk = staff(client, rt, Role.STATION_CLERK, station=STATION)
    assert_problem(client.get(f"{API}/users", headers=clerk), 403)
    missing = client.put(f"{API}/users/nobody.here/status", json={"status": "locked"}, headers=clerk)
    someone = rt.identity.store.all_users()[0].username
    existing = client.put(f"{API}/users/{someone}/status", json={"status": "locked"}, headers=clerk)
    assert missing.status_code == existing.status_code == 403
    admin = staff(client, rt, Role.PLATFORM_ADMIN)
    assert_problem(client.put(f"{API}/users/nobody.here/status", json={"status": "locked"}, headers=admin), 404)
    clerk_name = next(u.username for u in rt.identity.store.all_users() if u.role is Role.STATION_CLERK)
    refused = client.put(f"{API}/users/{clerk_name}/device", json={"device_id": "handset-0002"}, headers=admin)
    assert assert_problem(refused, 422)["errors"] == [
        {"field": "username", "reason": "only courier accounts are bound to a device"}
    ]
