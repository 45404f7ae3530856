"""Issue 3's promises over HTTP, with real staff sessions, on SQLite and PostgreSQL.

A courier reads only parcels assigned to them; a station clerk never gets more than the
last four digits; customer service sees masked data unless it breaks glass; a security
auditor sees no personal data; quotas stop a user with 429 and an alert; and when the audit
log cannot be written nothing is disclosed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api_support import API, PERSONAL_VALUES, add_merchant, assert_problem, bearer, personal_order
from privacy_waybill.access.model import Role
from privacy_waybill.access.service import waybill_resource
from privacy_waybill.api.app import create_app
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.issuance.model import WaybillStatus
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.tickets import SqlTicketSystem
from privacy_waybill.tickets import Ticket

PASSWORD = "correct horse battery staple"
MASKED_NAME = "欧阳**"  # the surname of 欧阳震华 only
# The middle of the current hour: hourly quota windows never cross a boundary during the test,
# and the time stays within the risk engine's 30-minute grace of the entries the `parcel`
# fixture wrote on the wall clock, so no reveal looks like one left without its delivery.
MID_HOUR = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
TICKET = "T-20261123-0042"
DEVICE = "device-7f3a"


@pytest.fixture
def client(rt: Runtime, identity: IdentityService) -> TestClient:
    return TestClient(create_app(rt))


def staff(client: TestClient, rt: Runtime, role: Role, **scope: str) -> dict[str, str]:
    """Create a user of `role`, sign in over the API (password + TOTP, bound device) and
    return the request headers of the session."""
    username = f"{role.value}-{uuid.uuid4().hex[:8]}"
    created = rt.identity.add_user(username, PASSWORD, role, rt.clock(), **scope)
    headers = {}
    if role in (Role.COURIER,):
        rt.identity.bind_device(username, DEVICE, rt.clock())
        headers["X-Device-Id"] = DEVICE
    code = pyotp.parse_uri(created.totp_uri).at(rt.clock()) if created.totp_uri else None  # type: ignore[union-attr]
    response = client.post(
        f"{API}/auth/login", json={"username": username, "password": PASSWORD, "totp": code}, headers=headers
    )
    assert response.status_code == 200, response.text
    return {**headers, "Authorization": f"Bearer {response.json()['token']}", "X-Actor": response.json()["actor"]}


def actor(headers: dict[str, str]) -> str:
    return headers["X-Actor"]


@pytest.fixture
def parcel(client: TestClient, rt: Runtime) -> dict[str, Any]:
    """An issued waybill moved along to the destination station, not yet dispatched."""
    created = client.post(f"{API}/orders", json=personal_order(), headers=bearer(add_merchant(rt)))
    assert created.status_code == 201
    waybill = rt.waybills.get_by_number(None, created.json()["waybill_no"])
    for status in (WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT):
        waybill = rt.waybills.transition(waybill, status, "test", rt.clock())
    return {"no": waybill.waybill_no, "id": waybill.waybill_id, "station": waybill_resource(waybill).station}


def dispatch(client: TestClient, rt: Runtime, parcel: dict[str, Any], courier: dict[str, str]) -> None:
    clerk = staff(client, rt, Role.STATION_CLERK, station=parcel["station"])
    response = client.post(
        f"{API}/waybills/{parcel['no']}/events",
        json={"status": "out_for_delivery", "courier": actor(courier)},
        headers=clerk,
    )
    assert response.status_code == 200, response.text


def audit_entries(client: TestClient, rt: Runtime, **filters: str) -> list[dict[str, Any]]:
    auditor = staff(client, rt, Role.SECURITY_AUDITOR)
    response = client.get(f"{API}/audit/events", params={**filters, "limit": 1000}, headers=auditor)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_courier_reads_only_assigned_parcels_and_every_denial_is_audited(
    client: TestClient, rt: Runtime, parcel
) -> None:
    courier = staff(client, rt, Role.COURIER, station=parcel["station"])
    other = staff(client, rt, Role.COURIER, station=parcel["station"])
    denied = assert_problem(client.get(f"{API}/waybills/{parcel['no']}", headers=courier), 403)
    assert "assigned_to_subject" in denied["detail"]

    dispatch(client, rt, parcel, courier)
    seen = client.get(f"{API}/waybills/{parcel['no']}", headers=courier).json()
    assert seen["recipient"]["name"] == MASKED_NAME
    assert seen["recipient"]["phone"] is None  # a virtual number only, never the real one
    assert seen["recipient"]["address"].endswith("****")
    revealed = client.post(f"{API}/waybills/{parcel['no']}/reveal", json={"purpose": "deliver"}, headers=courier)
    assert revealed.status_code == 200 and "969号" in revealed.json()["recipient"]["address"]
    assert revealed.json()["recipient"]["phone"] is None
    # The whole remark comes with the reveal (it is stored elsewhere only allow-listed).
    assert revealed.json()["remark"] == personal_order()["remark"]
    assert_problem(client.get(f"{API}/waybills/{parcel['no']}", headers=other), 403)
    assert_problem(
        client.post(f"{API}/waybills/{parcel['no']}/reveal", json={"purpose": "curiosity"}, headers=courier), 403
    )

    entries = audit_entries(client, rt, waybill_id=parcel["id"])
    denials = [e for e in entries if e["outcome"] == "denied"]
    assert {(e["actor"], e["rule"]) for e in denials} >= {
        (actor(courier), "courier-read-assigned"),
        (actor(other), "courier-read-assigned"),
    }
    [reveal] = [e for e in entries if e["action"] == "waybill.reveal" and e["outcome"] == "allowed"]
    assert (reveal["actor"], reveal["purpose"], reveal["fields"]) == (
        actor(courier),
        "deliver",
        ["address", "remark"],
    )

    # Sign-off ends the courier's access.
    assert (
        client.post(f"{API}/waybills/{parcel['no']}/events", json={"status": "delivered"}, headers=courier).status_code
        == 200
    )
    assert_problem(client.get(f"{API}/waybills/{parcel['no']}", headers=courier), 403)


def test_a_station_clerk_never_receives_more_than_the_last_four_digits(client: TestClient, rt: Runtime, parcel) -> None:
    clerk = staff(client, rt, Role.STATION_CLERK, station=parcel["station"])
    seen = client.get(f"{API}/waybills/{parcel['no']}", headers=clerk)
    assert seen.status_code == 200
    assert seen.json()["recipient"] == {"name": "欧阳**", "phone": "*******5678", "address": None}
    for action in ("reveal", "decrypt"):
        assert_problem(
            client.post(f"{API}/waybills/{parcel['no']}/{action}", json={"purpose": "deliver"}, headers=clerk), 403
        )
    elsewhere = staff(client, rt, Role.STATION_CLERK, station="XX99")
    assert_problem(client.get(f"{API}/waybills/{parcel['no']}", headers=elsewhere), 403)


def test_customer_service_sees_masked_data_unless_it_breaks_glass_with_a_reason(
    client: TestClient, rt: Runtime, parcel
) -> None:
    agent = staff(client, rt, Role.CUSTOMER_SERVICE)
    masked = client.get(f"{API}/waybills/{parcel['no']}", headers=agent).json()["recipient"]
    assert masked["phone"] == "*******5678" and "969号" not in masked["address"]
    assert_problem(
        client.post(f"{API}/waybills/{parcel['no']}/break-glass", json={"ticket": TICKET}, headers=agent), 422
    )
    waybill = rt.waybills.get_by_number(None, parcel["no"])
    now = rt.clock()
    SqlTicketSystem(rt.engine).open(
        Ticket(
            TICKET, waybill.tenant_id, frozenset({parcel["id"]}), "test", now, now + timedelta(hours=1)  # type: ignore[union-attr]
        )
    )
    full = client.post(
        f"{API}/waybills/{parcel['no']}/break-glass",
        json={"ticket": TICKET, "reason": "recipient asks to correct the address"},
        headers=agent,
    )
    assert full.status_code == 200 and full.json()["recipient"]["phone"] == "+8613812345678"
    auditor = staff(client, rt, Role.SECURITY_AUDITOR)
    [alert] = client.get(f"{API}/alerts", params={"kind": "break_glass"}, headers=auditor).json()
    assert alert["severity"] == "review" and alert["actor"] == actor(agent) and alert["detail"]["ticket"] == TICKET


def test_a_security_auditor_sees_no_personal_data_at_all(client: TestClient, rt: Runtime, parcel) -> None:
    auditor = staff(client, rt, Role.SECURITY_AUDITOR)
    assert_problem(client.get(f"{API}/waybills/{parcel['no']}", headers=auditor), 403)
    for action, body in (
        ("reveal", {"purpose": "deliver"}),
        ("decrypt", {"purpose": "return"}),
        ("break-glass", {"ticket": "T-1", "reason": "just looking"}),
    ):
        assert_problem(client.post(f"{API}/waybills/{parcel['no']}/{action}", json=body, headers=auditor), 403)
    entries = client.get(f"{API}/audit/events", params={"limit": 1000}, headers=auditor)
    assert entries.status_code == 200 and entries.json()
    for value in PERSONAL_VALUES:
        assert value not in entries.text
    merchant = bearer(add_merchant(rt))
    assert_problem(client.get(f"{API}/audit/events", headers=merchant), 403)


def test_quotas_stop_a_courier_at_the_limit_with_429_and_an_alert(client: TestClient, rt: Runtime, parcel) -> None:
    rt.clock = lambda: MID_HOUR  # type: ignore[method-assign]  (hourly windows: never across an hour boundary)
    courier = staff(client, rt, Role.COURIER, station=parcel["station"])
    dispatch(client, rt, parcel, courier)
    limit = rt.access_policy.quotas["courier_reveal"].per_hour
    for _ in range(limit):
        assert (
            client.post(
                f"{API}/waybills/{parcel['no']}/reveal", json={"purpose": "deliver"}, headers=courier
            ).status_code
            == 200
        )
    over = assert_problem(
        client.post(f"{API}/waybills/{parcel['no']}/reveal", json={"purpose": "deliver"}, headers=courier), 429
    )
    assert "969号" not in str(over)
    auditor = staff(client, rt, Role.SECURITY_AUDITOR)
    alerts = client.get(f"{API}/alerts", params={"kind": "quota_exceeded"}, headers=auditor).json()
    assert [(a["actor"], a["severity"], a["detail"]["quota"]) for a in alerts] == [
        (actor(courier), "high", "courier_reveal")
    ]


def test_nothing_is_disclosed_when_the_audit_log_cannot_be_written(client: TestClient, rt: Runtime, parcel) -> None:
    courier = staff(client, rt, Role.COURIER, station=parcel["station"])
    dispatch(client, rt, parcel, courier)
    with rt.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER audit_frozen BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'frozen'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION audit_frozen() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'frozen'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER audit_frozen BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_frozen()"
                )
            )
    refused = client.post(f"{API}/waybills/{parcel['no']}/reveal", json={"purpose": "deliver"}, headers=courier)
    body = assert_problem(refused, 503)
    assert "969号" not in refused.text and "audit" in body["detail"]


def test_a_merchants_decrypt_returns_the_whole_remark_that_is_stored_only_allow_listed(
    client: TestClient, rt: Runtime
) -> None:
    merchant = bearer(add_merchant(rt))
    order = personal_order()
    created = client.post(f"{API}/orders", json=order, headers=merchant)
    assert created.status_code == 201, created.text
    number = created.json()["waybill_no"]
    masked = client.get(f"{API}/waybills/{number}", headers=merchant).json()
    assert masked["remark"] == "[已隐藏]"
    full = client.post(f"{API}/waybills/{number}/decrypt", json={"purpose": "return"}, headers=merchant)
    assert full.status_code == 200, full.text
    assert full.json()["remark"] == order["remark"]
