"""The risk engine wired to the audit log, on SQLite and PostgreSQL: alerts with evidence,
automatic freeze and step-up enforced by the access service and by sign-in, reversal by an
administrator only, canaries naming where they were planted. Every restriction is audited."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient

from api_support import API, assert_problem, personal_order
from privacy_waybill.access.model import Role, Subject
from privacy_waybill.access.service import Forbidden
from privacy_waybill.api.app import create_app
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.risk.engine import RiskEngine
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.risk import RestrictionStore

PASSWORD = "correct horse battery staple"
DEVICE = "device-7f3a"
TENANT = "risk-shop"


class Clock:
    def __init__(self, rt: Runtime) -> None:
        self.now = rt.clock()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@pytest.fixture
def clock(rt: Runtime) -> Clock:
    clock = Clock(rt)
    rt.clock = clock
    return clock


@pytest.fixture
def client(rt: Runtime, identity: IdentityService, clock: Clock) -> TestClient:
    return TestClient(create_app(rt))


def parcels(rt: Runtime, courier: str, count: int) -> list[IssuedWaybill]:
    rt.tenants.ensure(TENANT, "Risk shop", rt.clock())
    orders = [personal_order(f"R-{uuid.uuid4().hex[:10]}") for _ in range(count)]
    issued = [o.waybill for o in rt.issuance().issue(TENANT, records_from_objects(orders), actor="test")]
    moved = []
    for waybill in issued:
        for status in (WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT):
            waybill = rt.waybills.transition(waybill, status, "test", rt.clock())
        moved.append(
            rt.waybills.transition(waybill, WaybillStatus.OUT_FOR_DELIVERY, "test", rt.clock(), courier=courier)
        )
    return moved


def courier_subject(rt: Runtime) -> Subject:
    user = rt.identity.add_user(f"c-{uuid.uuid4().hex[:8]}", PASSWORD, Role.COURIER, rt.clock()).user
    return Subject(actor=f"user:{user.id}", role=Role.COURIER, device=DEVICE)


def compact(detail: dict[str, str]) -> str:
    """An audit entry's detail as stored: canonical JSON."""
    return json.dumps(detail, separators=(",", ":"), sort_keys=True)


def reveal(rt: Runtime, subject: Subject, waybill: IssuedWaybill):  # type: ignore[no-untyped-def]
    return rt.access.view(subject, "waybill.reveal", waybill, rt.access.context(purpose="deliver"))


def test_reveals_without_deliveries_freeze_the_account_with_evidence_and_an_admin_unfreezes_it(
    rt: Runtime, identity: IdentityService, clock: Clock
) -> None:
    courier = courier_subject(rt)
    harvested = parcels(rt, courier.actor, 12)
    for waybill in harvested:
        reveal(rt, courier, waybill)
    reveal_seqs = [e.seq for e in rt.audit.events(actor=courier.actor, action="waybill.reveal", limit=50)]
    clock.now += timedelta(minutes=31)
    [alert_id] = rt.risk.tick(clock.now)

    assert rt.restrictions.kinds(courier.actor) == {"freeze"}
    [alert] = [a for a in rt.alerts.recent() if a["id"] == alert_id]
    assert (alert["kind"], alert["severity"], alert["actor"], alert["evidence"]) == (
        "reveal_without_delivery", "high", courier.actor, reveal_seqs,
    )  # fmt: skip
    assert (alert["detail"]["observed"], alert["detail"]["threshold"], alert["detail"]["respond"]) == (
        "12", "12", "notify,freeze",
    )  # fmt: skip
    [frozen] = rt.audit.events(action="account.freeze")
    assert (frozen.actor, frozen.rule, frozen.detail) == (
        "risk:engine", "risk:reveal_without_delivery",
        compact({"account": courier.actor, "alert": str(alert_id), "signal": "reveal_without_delivery"}),
    )  # fmt: skip

    with pytest.raises(Forbidden, match="risk:frozen"):
        reveal(rt, courier, harvested[0])
    [refused] = rt.audit.events(actor=courier.actor, outcome=None, action="waybill.reveal", after_seq=reveal_seqs[-1])
    assert (refused.outcome, refused.rule) == ("denied", "risk:frozen")

    admin = Subject(actor="user:admin", role=Role.PLATFORM_ADMIN)
    rt.risk_responder.lift(courier.actor, "freeze", clock.now, admin.actor, admin.role.value, "admin-unfreeze")
    assert rt.restrictions.kinds(courier.actor) == frozenset()
    assert reveal(rt, courier, harvested[0]).address is not None
    [unfrozen] = rt.audit.events(action="account.unfreeze")
    assert (unfrozen.actor, unfrozen.detail) == (
        "user:admin",
        compact({"account": courier.actor}),
    )


def test_what_the_responder_audits_while_the_clock_runs_the_engine_reaches_the_engine_too(
    rt: Runtime, clock: Clock
) -> None:
    courier = courier_subject(rt)
    for waybill in parcels(rt, courier.actor, 12):
        reveal(rt, courier, waybill)
    seen, last = rt.risk.engine.events_seen, rt.audit.verify().entries
    clock.now += timedelta(minutes=31)
    assert rt.risk.tick(clock.now)
    written = rt.audit.events(after_seq=last, limit=50)
    assert [e.action for e in written] == ["account.freeze"]
    # The freeze's own entry was queued while the tick held the engine; it is not left waiting
    # for the next request.
    assert rt.risk.engine.events_seen == seen + len(written)


def staff(client: TestClient, rt: Runtime, role: Role) -> tuple[str, dict[str, str], str, str | None]:
    """A signed-in user of `role`: (username, session headers, actor, TOTP URI)."""
    username = f"{role.value.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    created = rt.identity.add_user(username, PASSWORD, role, rt.clock())
    headers = {}
    if role is Role.COURIER:
        rt.identity.bind_device(username, DEVICE, rt.clock())
        headers["X-Device-Id"] = DEVICE
    response = login(client, username, created.totp_uri, headers)
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    return username, {**headers, "Authorization": f"Bearer {token}"}, response.json()["actor"], created.totp_uri


def login(client: TestClient, username: str, totp_uri: str | None, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    code = pyotp.parse_uri(totp_uri).at(client.app.state.runtime.clock()) if totp_uri else None  # type: ignore[union-attr]
    return client.post(
        f"{API}/auth/login", json={"username": username, "password": PASSWORD, "totp": code}, headers=headers
    )


def test_a_frozen_account_is_refused_by_sign_in_and_its_sessions_end_until_an_admin_unfreezes_it(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    username, courier, actor, totp_uri = staff(client, rt, Role.COURIER)
    _, auditor, _, _ = staff(client, rt, Role.SECURITY_AUDITOR)
    _, admin, _, _ = staff(client, rt, Role.PLATFORM_ADMIN)
    assert client.get(f"{API}/auth/session", headers=courier).status_code == 200

    frozen = client.post(f"{API}/security/accounts/freeze", json={"actor": actor}, headers=auditor)
    assert frozen.status_code == 200 and [(r["actor"], r["kind"], r["signal"]) for r in frozen.json()] == [
        (actor, "freeze", "manual")
    ]
    assert_problem(client.get(f"{API}/waybills/PW000000000000000", headers=courier), 401)
    clock.now += timedelta(seconds=31)  # a TOTP code is good once: the next step's code
    refused = assert_problem(login(client, username, totp_uri, {"X-Device-Id": DEVICE}), 403)
    assert "frozen" in refused["detail"]

    assert_problem(client.post(f"{API}/security/accounts/unfreeze", json={"actor": actor}, headers=auditor), 403)
    assert client.post(f"{API}/security/accounts/unfreeze", json={"actor": actor}, headers=admin).json() == []
    clock.now += timedelta(seconds=31)
    assert login(client, username, totp_uri, {"X-Device-Id": DEVICE}).status_code == 200
    sign_ins = [(e.outcome, e.rule) for e in rt.audit.events(actor=actor, action="session.sign_in")]
    assert sign_ins == [("allowed", "sign-in:password"), ("denied", "risk:frozen"), ("allowed", "sign-in:password")]


def test_step_up_refuses_disclosures_until_the_account_signs_in_again(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    username, courier, actor, totp_uri = staff(client, rt, Role.COURIER)
    [waybill] = parcels(rt, actor, 1)
    rt.risk_responder.restrict(actor, "step_up", rt.clock(), "volume_above_baseline", None, "risk:engine", "system")
    path = f"{API}/waybills/{waybill.waybill_no}"
    assert client.get(path, headers=courier).status_code == 200  # masked views need no step-up
    refused = assert_problem(client.post(f"{path}/reveal", json={"purpose": "deliver"}, headers=courier), 403)
    assert "risk:step-up-required" in refused["detail"]

    clock.now += timedelta(seconds=31)  # a TOTP code is good once: the next step's code
    again = login(client, username, totp_uri, {"X-Device-Id": DEVICE})
    assert again.status_code == 200
    fresh = {"X-Device-Id": DEVICE, "Authorization": f"Bearer {again.json()['token']}"}
    assert client.post(f"{path}/reveal", json={"purpose": "deliver"}, headers=fresh).status_code == 200
    assert [e.detail for e in rt.audit.events(action="account.step_up_cleared")] == [compact({"account": actor})]


def test_a_canary_touched_on_the_tracking_page_raises_a_high_alert_naming_where_it_was_planted(
    client: TestClient, rt: Runtime
) -> None:
    rt.tenants.ensure(TENANT, "Risk shop", rt.clock())
    station = "BJ05"
    canary = rt.plant_canary(TENANT, "station", station, "user:auditor")
    assert canary.sort_code.split("-")[1] == station
    token = rt.tracking_url(canary).rsplit("/", 1)[1]
    assert client.get(f"{API}/tracking/{token}").status_code == 200
    [alert] = rt.alerts.recent(kind="canary_touched")
    assert (alert["severity"], alert["actor"], alert["detail"]["planted_at"], alert["detail"]["action"]) == (
        "high", "anonymous", f"station:{station}", "tracking.read",
    )  # fmt: skip


def test_a_restarted_engine_is_warmed_up_from_the_audit_log_without_raising_again(rt: Runtime, clock: Clock) -> None:
    courier = courier_subject(rt)
    for waybill in parcels(rt, courier.actor, 3):
        reveal(rt, courier, waybill)
    alerts_before = len(rt.alerts.recent())
    seen_before = rt.risk.engine.events_seen
    rt.risk.engine = RiskEngine(rt.risk_rules, rt.canaries.planted_at)  # as after a restart
    replayed = rt.warm_up_risk()
    assert replayed == len(rt.audit.events(limit=1000)) and rt.risk.engine.events_seen == replayed >= seen_before
    assert len(rt.alerts.recent()) == alerts_before


def test_a_restriction_made_by_another_node_applies_within_the_refresh_interval(rt: Runtime) -> None:
    now = [0.0]
    here = RestrictionStore(rt.engine, refresh_s=1.0, monotonic=lambda: now[0])
    elsewhere = RestrictionStore(rt.engine)
    assert here.kinds("user:u_far") == frozenset()
    elsewhere.restrict("user:u_far", "freeze", rt.clock(), "manual", None, "user:auditor")
    now[0] = 0.9
    assert here.kinds("user:u_far") == frozenset()
    now[0] = 1.0
    assert here.kinds("user:u_far") == {"freeze"}
    here.lift("user:u_far", "freeze")  # this node's own change applies at once
    assert here.kinds("user:u_far") == frozenset()
