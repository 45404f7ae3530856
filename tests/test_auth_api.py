"""Sign-in over HTTP: login, logout, the current session, phone-OTP sign-in, problem bodies,
429 on lock-out, and no credential or phone number in any body or log line."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient

from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.identity.notify import SimulatedNotifier
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.runtime import Runtime

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
PASSWORD = "correct horse battery"
PHONE = "13812345678"
HANDSET = "handset-0001"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(rt: Runtime, identity: IdentityService, clock: Clock) -> TestClient:
    rt.clock = clock
    return TestClient(create_app(rt))


def login(
    client: TestClient, username: str, password: str = PASSWORD, totp: str | None = None, device: str | None = None
):  # type: ignore[no-untyped-def]
    headers = {"X-Device-Id": device} if device else {}
    return client.post(
        f"{API}/auth/login", json={"username": username, "password": password, "totp": totp}, headers=headers
    )


def bearer(token: str, device: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **({"X-Device-Id": device} if device else {})}


def test_login_session_and_logout(client: TestClient, identity: IdentityService) -> None:
    created = identity.add_user("clerk.one", PASSWORD, Role.STATION_CLERK, NOW, station="HZ10")
    code = pyotp.parse_uri(created.totp_uri).at(NOW)  # type: ignore[arg-type, union-attr]
    response = login(client, "clerk.one", totp=code)
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "station_clerk" and body["actor"] == f"user:{created.user.id}"
    token = body["token"]
    session = client.get(f"{API}/auth/session", headers=bearer(token))
    assert session.status_code == 200 and session.json()["station"] == "HZ10"
    assert client.post(f"{API}/auth/logout", headers=bearer(token)).status_code == 204
    gone = client.get(f"{API}/auth/session", headers=bearer(token))
    assert gone.status_code == 401 and gone.headers["content-type"] == PROBLEM_JSON


def test_unknown_user_and_wrong_password_get_the_same_answer(client: TestClient, identity: IdentityService) -> None:
    identity.add_user("shop.owner", PASSWORD, Role.MERCHANT, NOW, tenant_id="default")
    unknown = login(client, "nobody.here", "wrong password!")
    wrong = login(client, "shop.owner", "wrong password!")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert "shop.owner" not in wrong.text and "wrong password!" not in wrong.text


def test_lockout_answers_429_with_retry_after(client: TestClient, identity: IdentityService, clock: Clock) -> None:
    identity.add_user("shop.owner", PASSWORD, Role.MERCHANT, NOW, tenant_id="default")
    statuses = [login(client, "shop.owner", "wrong password!").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    clock.now = NOW + timedelta(minutes=5)
    locked = login(client, "shop.owner")
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "600"
    clock.now = NOW + timedelta(minutes=15)
    assert login(client, "shop.owner").status_code == 200


def test_couriers_are_bound_to_their_device(client: TestClient, identity: IdentityService) -> None:
    created = identity.add_user("courier.one", PASSWORD, Role.COURIER, NOW)
    totp = pyotp.parse_uri(created.totp_uri)  # type: ignore[arg-type]
    assert login(client, "courier.one", totp=totp.at(NOW), device=HANDSET).status_code == 403
    identity.bind_device("courier.one", HANDSET, NOW)
    response = login(client, "courier.one", totp=totp.at(NOW, counter_offset=1), device=HANDSET)
    assert response.status_code == 200
    token = response.json()["token"]
    assert client.get(f"{API}/auth/session", headers=bearer(token, HANDSET)).status_code == 200
    assert client.get(f"{API}/auth/session", headers=bearer(token, "handset-0002")).status_code == 401
    assert client.get(f"{API}/auth/session", headers=bearer(token)).status_code == 401


def test_crowd_courier_otp_sign_in(client: TestClient, identity: IdentityService, notifier: SimulatedNotifier) -> None:
    identity.create_pass(PHONE, "HZ10-13", date(2026, 11, 24), "user:u_admin", NOW)
    with_pass = client.post(f"{API}/auth/otp/request", json={"phone": PHONE})
    without_pass = client.post(f"{API}/auth/otp/request", json={"phone": "13912345678"})
    assert with_pass.status_code == without_pass.status_code == 202
    assert with_pass.json() == without_pass.json()
    assert len(notifier.sent) == 1
    code = notifier.last_code_for("+86" + PHONE)
    assert code is not None
    wrong = client.post(f"{API}/auth/otp/verify", json={"phone": PHONE, "code": f"{(int(code) + 1) % 10**6:06d}"})
    assert wrong.status_code == 401 and wrong.headers["content-type"] == PROBLEM_JSON
    right = client.post(f"{API}/auth/otp/verify", json={"phone": PHONE, "code": code})
    assert right.status_code == 200 and right.json()["role"] == "crowd_courier"
    session = client.get(f"{API}/auth/session", headers=bearer(right.json()["token"])).json()
    assert (session["route"], session["pass_day"]) == ("HZ10-13", "2026-11-24")


def test_bad_input_names_the_field_not_the_value(client: TestClient) -> None:
    response = client.post(f"{API}/auth/otp/request", json={"phone": "12345"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "phone", "reason": "not a valid Chinese mobile or landline number"}]
    assert "12345" not in response.text
    assert client.post(f"{API}/auth/logout").status_code == 401


def test_no_credential_or_phone_reaches_the_logs(
    client: TestClient, identity: IdentityService, notifier: SimulatedNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        identity.add_user("shop.owner", PASSWORD, Role.MERCHANT, NOW, tenant_id="default")
        login(client, "shop.owner", "wrong password!")
        token = login(client, "shop.owner").json()["token"]
        identity.create_pass(PHONE, "HZ10-13", date(2026, 11, 24), "user:u_admin", NOW)
        client.post(f"{API}/auth/otp/request", json={"phone": PHONE})
        code = notifier.last_code_for("+86" + PHONE)
        assert code is not None
        client.post(f"{API}/auth/otp/verify", json={"phone": PHONE, "code": code})
    for secret in (PASSWORD, "wrong password!", "shop.owner", token, PHONE[-8:], code):
        assert secret not in caplog.text


def test_every_sign_in_is_audited_without_the_username(
    client: TestClient, rt: Runtime, identity: IdentityService
) -> None:
    created = identity.add_user("audit.clerk", PASSWORD, Role.STATION_CLERK, NOW, station="HZ10")
    totp = pyotp.parse_uri(created.totp_uri).at(NOW)  # type: ignore[union-attr]
    assert login(client, "audit.clerk", "wrong password 123").status_code == 401
    assert login(client, "audit.clerk", totp=totp).status_code == 200
    entries = [e.event() for e in rt.audit.events(action="session.sign_in")]
    assert [(e.outcome.value, e.rule) for e in entries] == [
        ("denied", "sign-in:bad-credentials"),
        ("allowed", "sign-in:password"),
    ]
    assert entries[1].actor == f"user:{created.user.id}" and entries[0].actor == "anonymous"
    assert not any("audit.clerk" in str(e) for e in rt.audit.events(action="session.sign_in"))
