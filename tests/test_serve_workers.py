"""`pwb serve --workers 2`: quotas and rate limits (in Redis), binding uniqueness (claimed in
Redis, kept in the database) and the audit chain (in the database, SQLite or PostgreSQL) hold
exactly across worker processes."""

from __future__ import annotations

import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pyotp
import pytest
import redis
from sqlalchemy import Engine

from api_support import API, add_merchant, bearer, personal_order
from cli_support import run_pwb
from privacy_waybill.access.model import Role
from privacy_waybill.access.service import waybill_resource
from privacy_waybill.audit.model import Outcome
from privacy_waybill.issuance.model import WaybillStatus
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.redis_quotas import RedisQuotaStore
from redis_support import REDIS_URL, redis_client
from server_support import database_url, running_server, worker_pids

PASSWORD = "correct horse battery staple"
DEVICE = "device-2w"
pytestmark = pytest.mark.slow


def sign_in(base: str, rt: Runtime, role: Role, **scope: str) -> dict[str, str]:
    username = f"{role.value}-{uuid.uuid4().hex[:8]}"
    created = rt.identity.add_user(username, PASSWORD, role, rt.clock(), **scope)
    headers = {}
    if role is Role.COURIER:
        rt.identity.bind_device(username, DEVICE, rt.clock())
        headers["X-Device-Id"] = DEVICE
    code = pyotp.parse_uri(created.totp_uri).now() if created.totp_uri else None  # type: ignore[union-attr]
    response = httpx.post(
        f"{base}{API}/auth/login",
        json={"username": username, "password": PASSWORD, "totp": code},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {**headers, "Authorization": f"Bearer {response.json()['token']}", "X-Actor": response.json()["actor"]}


def reveal(base: str, courier: dict[str, str], waybill_no: str, purpose: str) -> int:
    with httpx.Client(timeout=60) as client:
        response = client.post(f"{base}{API}/waybills/{waybill_no}/reveal", json={"purpose": purpose}, headers=courier)
    return response.status_code


def courier_with_parcel(base: str, rt: Runtime) -> tuple[dict[str, str], str]:
    """A courier of the parcel's destination station, signed in, and the parcel dispatched to them."""
    courier, numbers = courier_with_parcels(base, rt, 1)
    return courier, numbers[0]


def test_more_than_one_worker_needs_redis_for_shared_rate_limits(rt: Runtime, engine: Engine, pwb_home: Path) -> None:
    result = run_pwb(pwb_home, "serve", "--workers", "2", env={"PWB_DATABASE_URL": database_url(engine)})
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "error: --workers above 1 needs PWB_REDIS_URL: rate limits must be counted in one place"
    )


def test_two_workers_grant_exactly_the_quota_and_keep_one_audit_chain(
    rt: Runtime, engine: Engine, pwb_home: Path
) -> None:
    limit = rt.access_policy.quotas["courier_reveal"].per_hour
    assert limit is not None
    for client, _prefix in redis_client():  # skips (or fails under CI) without a Redis
        client.close()
    quotas = RedisQuotaStore.from_url(REDIS_URL)
    extra_env = {"PWB_REDIS_URL": REDIS_URL}
    with running_server(pwb_home, database_url(engine), workers=2, extra_env=extra_env) as (base, server):
        assert len(worker_pids(server.pid)) == 2
        courier, waybill_no = courier_with_parcel(base, rt)
        # Ten refusals: enough to race for the last units, fewer than the risk engine's
        # denied-attempts threshold (15 an hour), whose step-up would answer 403 instead.
        attempts = limit + 10

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda _: reveal(base, courier, waybill_no, "deliver"), range(attempts)))

    assert sorted(set(statuses)) == [200, 429]
    assert statuses.count(200) == limit
    assert statuses.count(429) == attempts - limit
    window = rt.clock().strftime("h%Y-%m-%dT%H")
    assert quotas.used(courier["X-Actor"], "courier_reveal", window) == limit
    verification = rt.audit.verify()
    assert verification.intact, verification.problem
    reveals = rt.audit.events(action="waybill.reveal", limit=10 * attempts)
    assert len(reveals) == attempts
    assert sum(e.outcome == Outcome.ALLOWED for e in reveals) == limit
    assert [e.seq for e in rt.audit.events(limit=100_000)] == list(range(1, verification.entries + 1))


def test_two_workers_never_give_one_courier_or_one_recipient_two_live_bindings_on_one_x(
    rt: Runtime, engine: Engine, pwb_home: Path
) -> None:
    for client, _prefix in redis_client():  # skips (or fails under CI) without a Redis
        client.close()
    direct = redis.Redis.from_url(REDIS_URL)
    # Numbers of this run only: the server's Redis prefix is shared with other runs.
    pool = [f"+86171{secrets.randbelow(10**8):08d}" for _ in range(3)]
    rt.telephony.add_numbers(pool, 200, "two-workers", rt.clock())
    try:
        with running_server(pwb_home, database_url(engine), workers=2, extra_env={"PWB_REDIS_URL": REDIS_URL}) as (
            base,
            server,
        ):
            assert len(worker_pids(server.pid)) == 2
            # One courier (one A), eight parcels to one recipient (one B): one live binding per X.
            courier, numbers = courier_with_parcels(base, rt, 8)

            def call(waybill_no: str) -> tuple[int, str | None]:
                with httpx.Client(timeout=60) as http:
                    response = http.post(
                        f"{base}{API}/delivery/parcels/{waybill_no}/call", json={"phone": COURIER_LINE}, headers=courier
                    )
                return response.status_code, response.json().get("x_number")

            first = call(numbers[0])  # registers the courier's line
            assert first[0] == 200, first
            with ThreadPoolExecutor(max_workers=16) as threads:
                answers = [first, *threads.map(call, [n for n in numbers[1:] for _ in range(2)])]
        assert {status for status, _ in answers} <= {200, 503}
        now = rt.clock()
        live = [b for n in numbers for b in rt.telephony.live_bindings(_waybill_id(rt, n), now)]
        assert 1 <= len(live) <= len(pool)
        assert len({b.x_number for b in live}) == len(live)  # never two live bindings on one X
        assert {x for status, x in answers if status == 200} == {b.x_number for b in live}
        # Redis holds exactly the live bindings, under their keyed A and B.
        for binding in live:
            for side, index in (("a", binding.a_index), ("b", binding.b_index)):
                held = direct.get(f"pwb:axb:{{{binding.x_number}}}:{side}:{index.hex()}")
                assert held is not None and held.startswith(f"{binding.id}|".encode())
            assert direct.zrange(f"pwb:axb:{{{binding.x_number}}}:live", 0, -1) == [binding.id.encode()]
    finally:
        for x in pool:
            for key in direct.scan_iter(f"pwb:axb:{{{x}}}:*"):
                direct.delete(key)
        direct.close()


def test_two_workers_feed_one_risk_engine(rt: Runtime, engine: Engine, pwb_home: Path) -> None:
    for client, _prefix in redis_client():  # skips (or fails under CI) without a Redis
        client.close()
    direct = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    stream = f"pwb-test-{uuid.uuid4().hex[:10]}:audit"
    threshold = int(next(s.threshold for s in rt.risk_rules.signals if s.id == "denied_attempts"))
    extra_env = {"PWB_REDIS_URL": REDIS_URL, "PWB_RISK_STREAM": stream}
    try:
        with running_server(pwb_home, database_url(engine), workers=2, extra_env=extra_env) as (base, server):
            assert len(worker_pids(server.pid)) == 2
            courier, waybill_no = courier_with_parcel(base, rt)

            # A purpose couriers never have: refused and audited as a denial, by either worker.
            with ThreadPoolExecutor(max_workers=8) as pool:
                refused = set(pool.map(lambda _: reveal(base, courier, waybill_no, "support_ticket"), range(threshold)))
            assert refused == {403}
            # Engines in each worker would each count a share and stay under the threshold.
            deadline = time.monotonic() + 20
            while "step_up" not in rt.restrictions.kinds(courier["X-Actor"]) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert "step_up" in rt.restrictions.kinds(courier["X-Actor"])
            # Each worker reads restrictions again within its refresh interval (1 s).
            time.sleep(1.5)
            assert reveal(base, courier, waybill_no, "deliver") == 403
            # Every worker's entries went through the stream and the engine acknowledged them.
            assert direct.xlen(stream) >= threshold
            deadline = time.monotonic() + 10
            while direct.xpending(stream, "risk")["pending"] and time.monotonic() < deadline:
                time.sleep(0.2)
            assert direct.xpending(stream, "risk")["pending"] == 0
        denials = rt.audit.events(action="waybill.reveal", limit=10 * threshold)
        assert sum(e.outcome == Outcome.DENIED for e in denials) >= threshold
    finally:
        direct.close()


COURIER_LINE = "13700007777"


def _waybill_id(rt: Runtime, waybill_no: str) -> str:
    waybill = rt.waybills.get_by_number(None, waybill_no)
    assert waybill is not None
    return waybill.waybill_id


def courier_with_parcels(base: str, rt: Runtime, count: int) -> tuple[dict[str, str], list[str]]:
    """One courier signed in and `count` parcels of one merchant dispatched to them."""
    merchant = bearer(add_merchant(rt))
    waybills = []
    for _ in range(count):
        created = httpx.post(f"{base}{API}/orders", json=personal_order(), headers=merchant, timeout=30)
        assert created.status_code == 201, created.text
        waybill = rt.waybills.get_by_number(None, created.json()["waybill_no"])
        assert waybill is not None
        for status in (WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT):
            waybill = rt.waybills.transition(waybill, status, "test", rt.clock())
        waybills.append(waybill)
    station = waybill_resource(waybills[0]).station or ""
    courier = sign_in(base, rt, Role.COURIER, station=station)
    clerk = sign_in(base, rt, Role.STATION_CLERK, station=station)
    for waybill in waybills:
        dispatched = httpx.post(
            f"{base}{API}/waybills/{waybill.waybill_no}/events",
            json={"status": "out_for_delivery", "courier": courier["X-Actor"]},
            headers=clerk,
            timeout=30,
        )
        assert dispatched.status_code == 200, dispatched.text
    return courier, [w.waybill_no for w in waybills]
