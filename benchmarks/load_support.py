"""A real `pwb serve` seeded with merchants, couriers, station clerks and parcels, for the
reveal benchmark and the locust load test.

Set-up that is not under test (issuing the parcels, moving them along the sorting network,
creating accounts) goes through the runtime directly; every sign-in goes over HTTP, so the
sessions are the server's own.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import pyotp

from privacy_waybill.access.api_keys import MERCHANT_SCOPES, new_api_key
from privacy_waybill.access.model import Role
from privacy_waybill.access.service import waybill_resource
from privacy_waybill.demo import demo_orders
from privacy_waybill.errors import FieldError
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.issuance.service import Issued
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.validation.phones import normalise_phone

PWB = Path(sys.executable).parent / "pwb"
API = "/api/v1"
PASSWORD = "load test password 2026"
TENANT = "load"
SIGN_INS_PER_ADDRESS = 20
_sign_ins = itertools.count()


@dataclass
class Staff:
    actor: str
    headers: dict[str, str]
    waybills: list[str] = field(default_factory=list)


@dataclass
class Seed:
    base_url: str
    merchant_key: str
    couriers: list[Staff]
    clerks: list[Staff]
    tracking_tokens: list[str]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Seed:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["couriers"] = [Staff(**s) for s in data["couriers"]]
        data["clerks"] = [Staff(**s) for s in data["clerks"]]
        return cls(**data)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env(home: Path, database_url: str | None = None, redis_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWB_")}
    env["PWB_HOME"] = str(home)
    if database_url:
        env["PWB_DATABASE_URL"] = database_url
    if redis_url:
        env["PWB_REDIS_URL"] = redis_url
    return env


@contextmanager
def running_server(env: dict[str, str], workers: int = 1) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`pwb init` then `pwb serve --workers N` on a free loopback port until the block ends."""
    subprocess.run([str(PWB), "init"], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [str(PWB), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}{API}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"pwb serve did not start (exit code {process.poll()})")
            time.sleep(0.3)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def runtime_for(env: dict[str, str]) -> Runtime:
    settings = Settings(home=Path(env["PWB_HOME"]), database_url=env.get("PWB_DATABASE_URL"))
    initialise(settings)
    return open_runtime(settings)


def _accepted(count: int, prefix: str) -> list[dict[str, object]]:
    orders = []
    for order in demo_orders(count * 2, seed=99, prefix=prefix):
        try:
            for party in ("recipient", "sender"):
                normalise_phone(order[party]["phone"])  # type: ignore[index]
        except FieldError:
            continue
        orders.append(order)
        if len(orders) == count:
            break
    return orders


def _sign_in(base: str, rt: Runtime, role: Role, device: str | None = None, **scope: str) -> Staff:
    username = f"{role.value}-{uuid.uuid4().hex[:8]}"
    created = rt.identity.add_user(username, PASSWORD, role, rt.clock(), **scope)
    headers: dict[str, str] = {}
    if device:
        rt.identity.bind_device(username, device, rt.clock())
        headers["X-Device-Id"] = device
    code = pyotp.parse_uri(created.totp_uri).now() if created.totp_uri else None  # type: ignore[union-attr]
    # Staff sign in from their own handsets: a few sign-ins per loopback address keep the seed
    # under the per-client sign-in limit (ratelimits.yaml, sign_in.client), as real clients are.
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{2 + next(_sign_ins) // SIGN_INS_PER_ADDRESS}")
    with httpx.Client(transport=transport, timeout=60) as client:
        response = client.post(
            f"{base}{API}/auth/login",
            json={"username": username, "password": PASSWORD, "totp": code},
            headers=headers,
        )
    response.raise_for_status()
    body = response.json()
    return Staff(actor=body["actor"], headers={**headers, "Authorization": f"Bearer {body['token']}"})


def _move(rt: Runtime, waybill: IssuedWaybill, *statuses: WaybillStatus, courier: str | None = None) -> IssuedWaybill:
    for status in statuses:
        waybill = rt.waybills.transition(waybill, status, "load-seed", rt.clock(), courier=courier)
    return waybill


def seed(
    base: str, env: dict[str, str], couriers: int = 16, parcels_per_courier: int = 2, clerk_parcels: int = 400
) -> Seed:
    """Couriers with parcels out for delivery to them, station clerks with parcels arriving."""
    rt = runtime_for(env)
    try:
        rt.tenants.ensure(TENANT, "Load-test merchant", rt.clock())
        key = new_api_key()
        rt.tenants.add_api_key(TENANT, key, MERCHANT_SCOPES, "load", rt.clock())
        orders = _accepted(couriers * parcels_per_courier * 4 + clerk_parcels, prefix=f"SEED{uuid.uuid4().hex[:6]}")
        issued = [
            o.waybill
            for o in rt.issuance().issue(TENANT, records_from_objects(orders), actor="load-seed", chunk_size=500)
            if isinstance(o, Issued)
        ]
        in_transit = [
            _move(rt, w, WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT) for w in issued
        ]
        # Couriers work at one station: each gets parcels bound for that station.
        by_destination: dict[str, list[IssuedWaybill]] = {}
        for waybill in in_transit[: couriers * parcels_per_courier * 4]:
            by_destination.setdefault(waybill_resource(waybill).station or "", []).append(waybill)
        groups = [
            parcels[i : i + parcels_per_courier]
            for parcels in by_destination.values()
            for i in range(0, len(parcels), parcels_per_courier)
        ][:couriers]
        couriers = len(groups)
        taken = {w.waybill_id for group in groups for w in group}
        with ThreadPoolExecutor(4) as pool:
            staff = list(
                pool.map(
                    lambda n: _sign_in(
                        base,
                        rt,
                        Role.COURIER,
                        device=f"handset-{n:04d}",
                        station=waybill_resource(groups[n][0]).station or "",
                    ),
                    range(couriers),
                )
            )
        for courier, group in zip(staff, groups, strict=True):
            for waybill in group:
                _move(rt, waybill, WaybillStatus.OUT_FOR_DELIVERY, courier=courier.actor)
                courier.waybills.append(waybill.waybill_no)
        arriving = [w for w in in_transit if w.waybill_id not in taken]
        by_station: dict[str, list[str]] = {}
        for waybill in arriving:
            by_station.setdefault(waybill_resource(waybill).station or "", []).append(waybill.waybill_no)
        busiest = sorted(by_station.items(), key=lambda item: -len(item[1]))[:8]
        clerks = []
        for station, numbers in busiest:
            clerk = _sign_in(base, rt, Role.STATION_CLERK, station=station)
            clerk.waybills = numbers
            clerks.append(clerk)
        tokens = [rt.tracking_url(w).rsplit("/", 1)[1] for w in issued]
        return Seed(base, key.token, staff, clerks, tokens)
    finally:
        rt.close()
