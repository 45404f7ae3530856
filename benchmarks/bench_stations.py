"""Station desk and tracking throughput, each next to the bare operation it wraps (same run,
same SQLite database):

  check-in      shelf code + pickup code + status + event in one transaction, audit entry,
                recipient notice through the outbox (vault open, sealed message)
                baseline: the plain lifecycle scan to at_station (status + event)
  hand-over     pickup-code look-up, wrong-code guard, sign-off through the delivery module,
                shelf place released; baseline: the plain transition to delivered
  tracking      GET /track logic with limits, the policy and the per-minute tally
                baseline: the waybill look-up by number alone
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.issuance.service import Issued
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.stations.codes import parse_shelf
from privacy_waybill.stations.model import StationKind
from report import figure, sized

PARCELS = int(os.environ.get("PWB_BENCH_STATION_PARCELS", str(sized(300, 20))))
LOOKUPS = sized(3000, 100)
STATION = "HZ10"
CLERK = Subject(actor="user:bench-clerk", role=Role.STATION_CLERK, station=STATION)


def order(n: int) -> dict[str, object]:
    return {
        "order_id": f"B-{uuid.uuid4().hex[:10]}",
        "recipient": {
            "name": "欧阳震华",
            "phone": f"1381234{n % 10_000:04d}",
            "address": f"浙江省杭州市余杭区五常街道文一西路{100 + n % 800}号西溪园区1201室",
        },
        "sender": {"name": "司马翊瑄", "phone": "13987654321", "address": "北京市海淀区中关村街道中关村大街27号"},
        "items": [{"name": "茶叶", "quantity": 1}],
    }


def in_transit(rt: Runtime, count: int) -> list[IssuedWaybill]:
    outcomes = rt.issuance().issue("bench", records_from_objects([order(n) for n in range(count)]), actor="bench")
    parcels = []
    for outcome in outcomes:
        assert isinstance(outcome, Issued)
        waybill = outcome.waybill
        for status in (WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT):
            waybill = rt.waybills.transition(waybill, status, "bench", rt.clock())
        parcels.append(waybill)
    return parcels


def rate(count: int, run) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    run()
    return count / (time.perf_counter() - start)


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ["PWB_HOME"] = home
        os.environ.pop("PWB_DATABASE_URL", None)
        os.environ.pop("PWB_REDIS_URL", None)
        settings = Settings()
        initialise(settings)
        rt = open_runtime(settings)
        rt.tenants.ensure("bench", "Bench", rt.clock())
        rt.stations.register(STATION, "bench", StationKind.STATION, [parse_shelf(f"{s}:4:2000") for s in "AB"])
        shelved, plain = in_transit(rt, PARCELS), in_transit(rt, PARCELS)

        held = []
        check_in = rate(PARCELS, lambda: held.extend(rt.stations.check_in(CLERK, w.waybill_no) for w in shelved))
        scanned: list[IssuedWaybill] = []
        at_station = rate(
            PARCELS,
            lambda: scanned.extend(
                rt.waybills.transition(w, WaybillStatus.AT_STATION, CLERK.actor, rt.clock(), place=STATION) for w in plain
            ),
        )
        numbers = [w.waybill_no for w in shelved]
        track = rate(
            LOOKUPS,
            lambda: [
                rt.tracking.track(numbers[n % PARCELS], client_address=f"10.0.{n // 250}.{n % 250}", subject=Subject("anonymous", Role.ANONYMOUS))
                for n in range(LOOKUPS)
            ],
        )
        lookup = rate(LOOKUPS, lambda: [rt.waybills.get_by_number(None, numbers[n % PARCELS]) for n in range(LOOKUPS)])
        hand_over = rate(PARCELS, lambda: [rt.stations.hand_over_by_code(CLERK, p.pickup_code) for p in held])
        delivered = rate(
            PARCELS, lambda: [rt.waybills.transition(w, WaybillStatus.DELIVERED, CLERK.actor, rt.clock()) for w in scanned]
        )
        rt.tracking.flush()
        rt.close()
    print(f"station desk, SQLite, {PARCELS} parcels each; tracking {LOOKUPS:,} look-ups")
    print(f"  check-in (codes, audit, notice)     {check_in:>8,.0f} parcels/s")
    print(f"  baseline: lifecycle scan            {at_station:>8,.0f} parcels/s")
    print(f"  hand-over by pickup code + sign-off {hand_over:>8,.0f} parcels/s")
    print(f"  baseline: transition to delivered   {delivered:>8,.0f} parcels/s")
    print(f"  tracking by number (limits, tally)  {track:>8,.0f} look-ups/s")
    print(f"  baseline: waybill look-up by number {lookup:>8,.0f} look-ups/s")
    for name, value, unit, baseline, baseline_value in (
        ("station check-in (codes, audit, notice)", check_in, "parcels/s", "lifecycle scan", at_station),
        ("hand-over by pickup code + sign-off", hand_over, "parcels/s", "transition to delivered", delivered),
        ("public tracking by number (limits, tally)", track, "look-ups/s", "waybill look-up by number", lookup),
    ):
        figure(name, value, unit, baseline=baseline, baseline_value=baseline_value, note=f"SQLite, {PARCELS} parcels")


if __name__ == "__main__":
    main()
