"""Sign-in over HTTP: login, logout, the current session, phone-OTP sign-in, problem bodies,
429 when throttled, and no credential or phone number in any body or log line."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.identity.credentials import Passwords
from privacy_waybill.identity.model import SignInFailed
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


def test_guessing_is_throttled_alike_for_real_and_made_up_usernames(
    client: TestClient, identity: IdentityService, clock: Clock
) -> None:
    totp = pyotp.parse_uri(identity.add_user("shop.owner", PASSWORD, Role.MERCHANT, NOW, tenant_id="default").totp_uri)
    real = [login(client, "shop.owner", "wrong password!") for _ in range(6)]
    made_up = [login(client, "nobody.here", "wrong password!") for _ in range(6)]
    assert [r.status_code for r in real] == [r.status_code for r in made_up] == [401] * 5 + [429]
    assert real[-1].json() == made_up[-1].json()
    assert real[-1].headers["Retry-After"] == made_up[-1].headers["Retry-After"] == "1200"
    # The right password from this client waits too, until the window has slid by.
    assert login(client, "shop.owner", totp=totp.at(NOW)).status_code == 429
    clock.now = NOW + timedelta(minutes=30)
    assert login(client, "shop.owner", totp=totp.at(clock.now)).status_code == 200


def test_a_stranger_guessing_elsewhere_cannot_lock_the_real_user_out(
    client: TestClient, identity: IdentityService, rt: Runtime
) -> None:
    totp = pyotp.parse_uri(identity.add_user("shop.owner", PASSWORD, Role.MERCHANT, NOW, tenant_id="default").totp_uri)
    stranger = TestClient(client.app, client=("203.0.113.9", 50000))
    assert [login(stranger, "shop.owner", "wrong password!").status_code for _ in range(8)][-1] == 429
    assert login(client, "shop.owner", totp=totp.at(NOW)).status_code == 200


def test_password_spraying_from_one_client_is_throttled_across_usernames(client: TestClient) -> None:
    statuses = [login(client, f"user.{n:03d}", "Winter2026!").status_code for n in range(31)]
    assert statuses == [401] * 30 + [429]


class CountingHasher(PasswordHasher):
    """Counts argon2id verifications and the parameters of each hash verified."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 - argon2's name
        self.verified.append(str(hash).rsplit("$", 2)[0])  # "$argon2id$v=19$m=...,t=...,p=..."
        return super().verify(hash, password)


@pytest.mark.parametrize("username", ["shop.owner", "nobody.here", "clerk.three"])
def test_every_credential_failure_costs_one_argon2id_verification_with_the_same_parameters(
    rt: Runtime, identity: IdentityService, username: str
) -> None:
    # Timing cannot tell a made-up username from a real one: each failure does exactly the
    # same expensive work (counted, not timed, so the test cannot fail by chance).
    hasher = CountingHasher()
    identity.passwords = Passwords(hasher)
    identity.add_user("shop.owner", PASSWORD, Role.MERCHANT, NOW, tenant_id="default")
    identity.add_user("clerk.three", PASSWORD, Role.STATION_CLERK, NOW, station="HZ10")
    hasher.verified.clear()
    password = PASSWORD if username == "clerk.three" else "wrong password!"  # right password, no TOTP
    with pytest.raises(SignInFailed) as refused:
        identity.sign_in(username, password, None, None, NOW)
    assert str(refused.value) == "the credentials are not valid"
    assert hasher.verified == ["$argon2id$v=19$m=1024,t=1,p=1"]


def test_a_totp_code_used_by_two_parallel_sign_ins_opens_one_session(
    rt: Runtime, identity: IdentityService
) -> None:
    created = identity.add_user("clerk.two", PASSWORD, Role.STATION_CLERK, NOW, station="HZ10")
    code = pyotp.parse_uri(created.totp_uri).at(NOW)  # type: ignore[arg-type, union-attr]
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            identity.sign_in("clerk.two", PASSWORD, code, None, NOW)
            outcomes.append("signed in")
        except SignInFailed:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "refused", "refused", "signed in"]


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
        created = identity.add_user("shop.owner", PASSWORD, Role.MERCHANT, NOW, tenant_id="default")
        login(client, "shop.owner", "wrong password!")
        token = login(client, "shop.owner", totp=pyotp.parse_uri(created.totp_uri).at(NOW)).json()["token"]
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


def test_otp_guessing_across_phones_from_one_client_is_throttled(client: TestClient) -> None:
    statuses = [
        client.post(f"{API}/auth/otp/verify", json={"phone": f"1391234{n:04d}", "code": "000000"}).status_code
        for n in range(11)
    ]
    assert statuses == [401] * 10 + [429]


def test_otp_requests_from_one_client_are_throttled(client: TestClient) -> None:
    statuses = [
        client.post(f"{API}/auth/otp/request", json={"phone": f"1391234{n:04d}"}).status_code for n in range(11)
    ]
    assert statuses == [202] * 10 + [429]
