"""Delivery with privacy labels against plain labels, and reveal latency under 50 couriers.

Part 1 simulates one courier's day (150 parcels to 40 buildings in 12 compounds on 4 roads)
worked three ways, on the real address parser, delivery-point keys and stop ordering:
  plain labels      the courier reads name, phone and full address off each label and groups
                    the van by building himself; the phone is printed, so one scan per parcel;
  privacy labels,   the label shows only the road: parcels grouped by road, in van order
  no manifest       within it, and a second scan at each door to see the address and phone;
  manifest          stops by keyed delivery point in route order; one out-for-delivery scan.
Figures: buildings revisited (coming back to a building already left), walking stops (building
visits) and scans per parcel.

Part 2 serves the real app (SQLite) and lets 50 couriers reveal their parcels concurrently,
reporting p50/p99 and throughput next to GET /api/v1/health on the same server.
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pyotp
import uvicorn

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.delivery.ordering import ParcelPlace, order_stops, revisits, route_order
from privacy_waybill.delivery.points import DeliveryPointKeyer, normalised_parts
from privacy_waybill.vault.keyring import KeyVersions
from report import figure, sized

PARCELS, BUILDINGS, TOWN = 150, 40, "浙江省杭州市余杭区五常街道"
ROADS = (
    ("文一西路", (969, 998, 1818)),
    ("五常大道", (181, 175, 166)),
    ("荆长大道", (8, 18, 28)),
    ("西溪路", (1, 3, 5)),
)
COMPOUND_NAMES = (
    "西溪园区",
    "海创园",
    "科技城",
    "诚园",
    "西溪里",
    "紫金港苑",
    "和家园",
    "溪语苑",
    "荆长苑",
    "云栖苑",
    "翠苑",
    "丹桂苑",
)


def day_of_parcels(rng: random.Random) -> list[str]:
    """150 addresses in 40 buildings: 12 compounds (3 or 4 buildings each) on 4 roads."""
    compounds = [
        (road, number, COMPOUND_NAMES[i * 3 + j])
        for i, (road, numbers) in enumerate(ROADS)
        for j, number in enumerate(numbers)
    ]
    buildings = [(c, b) for k, c in enumerate(compounds) for b in range(1, (4 if k < 4 else 3) + 1)][:BUILDINGS]
    addresses = [
        f"{TOWN}{road}{number}号{name}{b}号楼{rng.randrange(1, 4)}单元{rng.randrange(1, 30)}01室"
        for (road, number, name), b in buildings
    ]
    return addresses + [rng.choice(addresses) for _ in range(PARCELS - len(addresses))]


def walk_metrics(walk: list[bytes], scans: int) -> tuple[int, int, float]:
    stops = sum(1 for i, point in enumerate(walk) if i == 0 or walk[i - 1] != point)
    return revisits(walk), stops, scans / len(walk)


def simulate(seed: int = 7) -> None:
    rng = random.Random(seed)
    keyer = DeliveryPointKeyer(KeyVersions.single(os.urandom(32)))
    addresses = day_of_parcels(rng)
    rng.shuffle(addresses)  # the van's order
    parsed = [parse_address(a) for a in addresses]
    buildings = [normalised_parts(p)[3:] for p in parsed]  # (compound, building) as the label would show it
    roads = [p.road or "" for p in parsed]
    keys = [keyer.keys(p) for p in parsed]

    road_order = {road: i for i, (road, _) in enumerate(ROADS)}
    plain = sorted(range(len(parsed)), key=lambda i: (road_order[roads[i]], buildings[i]))
    no_manifest = sorted(range(len(parsed)), key=lambda i: road_order[roads[i]])  # stable: van order within a road
    places = [ParcelPlace(str(i), k.point, k.site, k.road) for i, k in enumerate(keys) if k]
    route = route_order([keyer.road_key(road) for road, _ in ROADS])
    manifest = [int(i) for stop in order_stops(places, route, {}) for i in stop.waybill_ids]

    def walk(order: list[int]) -> list[bytes]:
        return [repr(buildings[i]).encode() for i in order]

    rows = [
        ("plain labels (courier groups by label)", walk_metrics(walk(plain), len(plain))),
        ("privacy labels, van order, no manifest", walk_metrics(walk(no_manifest), 2 * len(no_manifest))),
        ("privacy labels + manifest", walk_metrics(walk(manifest), len(manifest))),
    ]
    distinct = len(set(buildings))
    print(f"simulated day: {len(parsed)} parcels, {distinct} buildings (seed {seed})")
    print(f"  {'way of working':42} {'revisits':>9} {'walking stops':>14} {'scans/parcel':>13}")
    for name, (again, stops, scans) in rows:
        print(f"  {name:42} {again:>9} {stops:>14} {scans:>13.2f}")
    (_, (_, plain_stops, plain_scans)), _, (_, (revisits, manifest_stops, manifest_scans)) = rows
    figure(f"courier walking stops, privacy labels + manifest, {len(parsed)} parcels", manifest_stops, "stops",
           baseline="plain labels, grouped by the courier", baseline_value=plain_stops, higher_is_better=False,
           note=f"{revisits} revisits, {manifest_scans:.2f} scans/parcel (plain labels: {plain_scans:.2f})")  # fmt: skip


# --- part 2: reveal latency ---------------------------------------------------------------

COURIERS, REVEALS_EACH = sized(50, 3), sized(10, 2)
PASSWORD = "correct horse battery staple"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def serve_app(rt) -> tuple[uvicorn.Server, str]:  # type: ignore[no-untyped-def]
    from privacy_waybill.api.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(rt), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


def reveal_latency() -> None:
    os.environ["PWB_HOME"] = tempfile.mkdtemp(prefix="pwb-bench-delivery-")
    os.environ.pop("PWB_DATABASE_URL", None)
    from privacy_waybill.issuance.intake import records_from_objects
    from privacy_waybill.issuance.model import WaybillStatus
    from privacy_waybill.runtime import initialise, open_runtime
    from privacy_waybill.settings import Settings

    settings = Settings()
    initialise(settings)
    rt = open_runtime(settings)
    now = rt.clock()
    orders = [
        {
            "order_id": f"B-{i}",
            "recipient": {"name": "张三", "phone": f"139{i:08d}", "address": f"{TOWN}文一西路969号{i % 9 + 1}幢"},
            "sender": {"name": "杭州小店", "phone": "13512345678", "address": "浙江省杭州市西湖区文三路90号"},
            "items": [{"name": "书", "quantity": 1}],
        }
        for i in range(COURIERS)
    ]  # fmt: skip
    waybills = [o.waybill for o in rt.issuance().issue("default", records_from_objects(orders), actor="bench")]  # type: ignore[union-attr]
    clerk = rt.identity.add_user("bench.clerk", PASSWORD, Role.STATION_CLERK, now, station="HZ10")
    clerk_subject = Subject(actor=f"user:{clerk.user.id}", role=Role.STATION_CLERK, station="HZ10")
    server, base = serve_app(rt)
    sessions = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for i, waybill in enumerate(waybills):
            for status in (WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT):
                waybill = rt.waybills.transition(waybill, status, "bench", now)
            name, device = f"bench.courier{i}", f"bench-device-{uuid.uuid4().hex[:8]}"
            user = rt.identity.add_user(name, PASSWORD, Role.COURIER, now, station="HZ10")
            rt.identity.bind_device(name, device, now)
            rt.delivery.assign(clerk_subject, [waybill.waybill_no], f"user:{user.user.id}", rt.access.context())
            code = pyotp.TOTP(pyotp.parse_uri(user.totp_uri).secret).now()  # type: ignore[arg-type]
            # Signed in through the service: the HTTP sign-in's per-client throttle (one client
            # here for every courier) is not what this measures.
            token = rt.identity.sign_in(name, PASSWORD, code, device, now).token
            headers = {"Authorization": f"Bearer {token}", "X-Device-Id": device}
            assert (
                http.post("/api/v1/delivery/scan", json={"code": waybill.waybill_no}, headers=headers).status_code
                == 200
            )
            sessions.append((waybill.waybill_no, headers))

    def run(request) -> tuple[list[float], float]:  # type: ignore[no-untyped-def]
        def courier(session) -> list[float]:  # type: ignore[no-untyped-def]
            latencies = []
            with httpx.Client(base_url=base, timeout=30) as http:
                for _ in range(REVEALS_EACH):
                    start = time.perf_counter()
                    response = request(http, *session)
                    latencies.append(time.perf_counter() - start)
                    assert response.status_code == 200, response.text
            return latencies

        started = time.perf_counter()
        with ThreadPoolExecutor(COURIERS) as pool:
            results = [lat for part in pool.map(courier, sessions) for lat in part]
        return results, time.perf_counter() - started

    def reveal(http: httpx.Client, waybill_no: str, headers: dict[str, str]) -> httpx.Response:
        return http.post(f"/api/v1/delivery/parcels/{waybill_no}/reveal", json={"purpose": "deliver"}, headers=headers)

    def health(http: httpx.Client, waybill_no: str, headers: dict[str, str]) -> httpx.Response:
        return http.get("/api/v1/health")

    print(
        f"reveal under {COURIERS} concurrent couriers, {REVEALS_EACH} each"
        f" ({rt.engine.dialect.name}, one uvicorn worker)"
    )
    p99s = []
    for label, request in (
        ("POST .../reveal (decide, quota, audit, decrypt)", reveal),
        ("baseline: GET /api/v1/health", health),
    ):
        latencies, elapsed = run(request)
        p99s.append(percentile(latencies, 0.99) * 1000)
        print(
            f"  {label:48} p50 {percentile(latencies, 0.5) * 1000:7.1f} ms"
            f"   p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   {len(latencies) / elapsed:7.0f} req/s"
            f"   (mean {statistics.mean(latencies) * 1000:.1f} ms)"
        )
    figure(f"reveal p99, {COURIERS} couriers at once on one worker", p99s[0], "ms",
           baseline="GET /api/v1/health, same load", baseline_value=p99s[1], higher_is_better=False)  # fmt: skip
    server.should_exit = True
    rt.close()


def main() -> None:
    simulate()
    reveal_latency()


if __name__ == "__main__":
    main()
