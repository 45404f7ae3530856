"""Findings 3, 6, 9 and 13 on SQLite and PostgreSQL: what reaches the audit log from hostile
requests: validated headers only and as keyed hashes, counted device guesses, every refused
request accounted for, and anonymous floods aggregated instead of one row each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_support import API, add_merchant, assert_problem, bearer, personal_order
from privacy_waybill.access.api_keys import Scope
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.runtime import Runtime
from security_support import DEVICE, staff

NOW = datetime(2026, 11, 24, 9, 0, 10, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(rt: Runtime) -> Clock:
    clock = Clock()
    rt.clock = clock  # type: ignore[method-assign]
    return clock


@pytest.fixture
def client(rt: Runtime, identity: IdentityService, clock: Clock) -> TestClient:
    return TestClient(create_app(rt))


def entries(rt: Runtime, **filters: Any) -> list[Any]:
    return [e.event() for e in rt.audit.events(limit=10_000, **filters)]


def stored_text(rt: Runtime) -> str:
    return " ".join(repr(e) for e in rt.audit.events(limit=10_000))


# --- finding 3: recorded headers are validated and hashed ---------------------------------------


def test_arbitrary_text_in_x_device_id_is_refused_and_never_reaches_the_audit_log(
    client: TestClient, rt: Runtime
) -> None:
    hostile = ("欧阳震华 13812345678 " + "A" * 3040).encode()
    token = add_merchant(rt)
    for device in (hostile, b"13812345678:" + b"A" * 200, b"138 1234 5678"):
        for headers in ({"X-Device-Id": device}, {"X-Device-Id": device, **bearer(token)}):
            assert_problem(client.get(f"{API}/waybills", headers=headers), 422)
    text = stored_text(rt)
    assert "13812345678" not in text and "欧阳" not in text and "AAAA" not in text


def test_a_valid_device_id_is_recorded_as_a_keyed_hash_only(client: TestClient, rt: Runtime) -> None:
    courier = staff(client, rt, Role.COURIER)
    assert client.get(f"{API}/waybills/PW000000000000", headers=courier).status_code == 404
    sign_in = entries(rt, action="session.sign_in")[-1]
    assert sign_in.device == rt.device_tag(DEVICE)
    assert sign_in.device.startswith("dev:") and DEVICE not in stored_text(rt)


# --- finding 6: device-binding guesses are counted and end the session ---------------------------


def test_wrong_device_ids_on_a_courier_session_are_counted_and_end_it(client: TestClient, rt: Runtime) -> None:
    courier = staff(client, rt, Role.COURIER)
    for guess in ("guess-0001", "guess-0002", "guess-0003", "guess-0004"):
        assert client.get(f"{API}/waybills/PW1", headers={**courier, "X-Device-Id": guess}).status_code == 401
    checks = entries(rt, action="session.device_check")
    assert [e.rule for e in checks] == ["device-binding:mismatch"] * 3 + ["device-binding:session-ended"]
    assert {e.actor for e in checks} == {courier["X-Actor"]}
    # The right device no longer helps: the session was ended after the fourth guess.
    assert client.get(f"{API}/auth/session", headers=courier).status_code == 401


# --- finding 13: every refused request is audited ------------------------------------------------


def test_requests_refused_before_the_policy_are_audited(client: TestClient, rt: Runtime, clock: Clock) -> None:
    read_only = add_merchant(rt, scopes=(Scope.ORDERS_READ,))
    assert_problem(client.get(f"{API}/waybills"), 401)
    assert_problem(client.get(f"{API}/waybills", headers=bearer("pwb_not-a-key")), 401)
    assert_problem(client.get(f"{API}/waybills?limit=0", headers=bearer(read_only)), 422)
    assert_problem(client.post(f"{API}/orders", json=personal_order(), headers=bearer(read_only)), 403)
    refused = entries(rt, action="request.refused")
    assert [(e.actor, e.rule) for e in refused] == [
        ("anonymous", "credentials:missing"),
        ("anonymous", "credentials:invalid"),
        ("anonymous", "invalid-request"),
        (refused[3].actor, "scope:orders:write"),
    ]
    assert refused[3].actor.startswith("key:")


def test_anonymous_refusals_are_aggregated_per_minute_not_one_row_each(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    for _ in range(40):
        client.get(f"{API}/waybills")
    assert [e.detail["aggregate"] for e in entries(rt, action="request.refused")] == ["first"]
    clock.now = NOW + timedelta(minutes=1)
    client.get(f"{API}/waybills")
    refused = entries(rt, action="request.refused")
    assert [(e.detail["aggregate"], e.detail.get("count")) for e in refused] == [
        ("first", None), ("rest", "39"), ("first", None)
    ]  # fmt: skip


# --- finding 9: anonymous tracking look-ups are aggregated ---------------------------------------


def test_tracking_look_ups_do_not_write_one_audit_row_each(client: TestClient, rt: Runtime, clock: Clock) -> None:
    created = client.post(f"{API}/orders", json=personal_order(), headers=bearer(add_merchant(rt))).json()
    token = created["tracking_url"].rsplit("/t/", 1)[1]
    before = len(entries(rt))
    for _ in range(30):
        assert client.get(f"{API}/tracking/{token}").status_code == 200
    tracked = entries(rt, action="tracking.read")
    assert len(entries(rt)) - before == 1 and [e.detail["aggregate"] for e in tracked] == ["first"]
    clock.now = NOW + timedelta(minutes=2)
    rt.noise.flush()
    assert [e.detail.get("count") for e in entries(rt, action="tracking.read")] == [None, "29"]
