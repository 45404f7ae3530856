"""A month of synthetic platform traffic with three insiders, to calibrate and prove the rules.

Stations each have couriers, two clerks sharing one desk device, and a hub of sorting
operators; merchants' print terminals print every label. Each day: labels are printed at
night, sorted before dawn, checked in at the station, scanned out and delivered by the
courier (most after a reveal, a few with no delivery event at all). The insiders:

- `harvester`: a courier who from `harvest_day` 09:00 also reveals 500 parcels a day and
  delivers none of them (his quota refuses what goes over it);
- `renter`: a courier whose account from `rent_day` 10:00 is used on six other devices;
- `photographer`: a station clerk who photographs labels and reveals nothing; the leaked list
  of `leak()` is drawn from the parcels that passed through their hands.

Events are audit events exactly as the platform writes them (ids only); times are UTC.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.risk.engine import RiskEngine
from privacy_waybill.risk.rules import Response
from privacy_waybill.tracing.exposure import AuditWarehouse
from privacy_waybill.tracing.matching import MaskedView

LOCAL = timedelta(hours=8)
COURIER_QUOTA_HOUR, COURIER_QUOTA_DAY = 60, 300


@dataclass(frozen=True, slots=True)
class SimulatedWaybill:
    waybill_id: str
    waybill_no: str
    station: str


@dataclass
class Month:
    """The generated traffic: the events in time order plus who is who."""

    start: datetime
    days: int
    couriers: list[str]
    clerks: dict[str, str]  # clerk actor -> station
    harvester: str
    renter: str
    photographer: str
    photographer_station: str
    harvest_starts: datetime
    rent_starts: datetime
    waybills: list[SimulatedWaybill] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)
    photographed: list[str] = field(default_factory=list)  # waybill ids that passed the photographer

    def numbered(self) -> Iterator[tuple[int, AuditEvent]]:
        return ((i + 1, e) for i, e in enumerate(self.events))

    def leak(self, size: int, seed: int = 3) -> list[SimulatedWaybill]:
        """A leaked list drawn from the photographer's parcels."""
        by_id = {w.waybill_id: w for w in self.waybills}
        chosen = random.Random(seed).sample(self.photographed, min(size, len(self.photographed)))
        return [by_id[w] for w in chosen]


def _at(day_start: datetime, rng: random.Random, from_hour: float, to_hour: float) -> datetime:
    return day_start + timedelta(hours=rng.uniform(from_hour, to_hour))


def simulate_month(
    couriers: int = 200,
    days: int = 30,
    parcels_per_day: int = 25,
    couriers_per_station: int = 10,
    stations_per_hub: int = 5,
    merchants: int = 10,
    harvest_day: int = 20,
    rent_day: int = 22,
    seed: int = 1,
) -> Month:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC) - LOCAL  # midnight in China
    stations = [f"st{i:02d}" for i in range(max(1, couriers // couriers_per_station))]
    courier_ids = [f"user:courier-{i:03d}" for i in range(couriers)]
    courier_station = {c: stations[i // couriers_per_station] for i, c in enumerate(courier_ids)}
    clerks = {f"user:clerk-{s}-{k}": s for s in stations for k in range(2)}
    hub_of = {s: f"hub{i // stations_per_hub}" for i, s in enumerate(stations)}
    operators = {h: [f"user:sorter-{h}-{k}" for k in range(3)] for h in set(hub_of.values())}
    terminals = [f"terminal:t-{m:02d}" for m in range(merchants)]
    harvester, renter = courier_ids[7], courier_ids[min(42, couriers - 1)]
    photographer_station = stations[min(5, len(stations) - 1)]
    photographer = f"user:clerk-{photographer_station}-0"
    month = Month(
        start=start, days=days, couriers=courier_ids, clerks=clerks, harvester=harvester, renter=renter,
        photographer=photographer, photographer_station=photographer_station,
        harvest_starts=start + timedelta(days=harvest_day - 1, hours=9),
        rent_starts=start + timedelta(days=rent_day - 1, hours=10),
    )  # fmt: skip
    serial = 0

    def event(
        at: datetime,
        actor: str,
        role: str,
        action: str,
        waybill: str | None,
        device: str | None,
        outcome: Outcome = Outcome.ALLOWED,
        rule: str = "sim",
        fields: tuple[str, ...] = (),
    ) -> AuditEvent:
        return AuditEvent(at=at, actor=actor, role=role, action=action, outcome=outcome, rule=rule,
                          tenant_id="sim", waybill_id=waybill, device=device, fields=fields)  # fmt: skip

    for day in range(days):
        day_start = start + timedelta(days=day)
        today: list[AuditEvent] = []
        reveals: dict[str, list[datetime]] = {}
        for courier in courier_ids:
            station = courier_station[courier]
            device = f"phone-{courier.removeprefix('user:')}"
            for _ in range(rng.randint(parcels_per_day * 3 // 4, parcels_per_day * 5 // 4)):
                serial += 1
                waybill = f"w{serial:08d}"
                month.waybills.append(SimulatedWaybill(waybill, f"PW{7_000_000_000_000 + serial * 7919:013d}", station))
                clerk = f"user:clerk-{station}-{rng.randint(0, 1)}"
                if clerk == photographer and 5 <= day <= 25:
                    month.photographed.append(waybill)
                today.append(
                    event(
                        _at(day_start, rng, 0.5, 1.5),
                        rng.choice(terminals),
                        "print_terminal",
                        "print_job.pull",
                        waybill,
                        None,
                        fields=("name", "phone", "address"),
                    )
                )
                today.append(
                    event(
                        _at(day_start, rng, 2, 6),
                        rng.choice(operators[hub_of[station]]),
                        "sorting_operator",
                        "waybill.sort",
                        waybill,
                        f"scanner-{hub_of[station]}",
                    )
                )
                today.append(
                    event(
                        _at(day_start, rng, 6.5, 7.5),
                        clerk,
                        "station_clerk",
                        "waybill.check_in",
                        waybill,
                        f"desk-{station}",
                    )
                )
                today.append(event(_at(day_start, rng, 7.6, 8.3), courier, "courier", "waybill.scan", waybill, device))
                delivered = _at(day_start, rng, 8.5, 19.0)
                if rng.random() < 0.01:
                    delivered = _at(day_start, rng, 19.0, 21.5)  # a late round now and then
                if rng.random() < 0.7:
                    revealed = delivered - timedelta(minutes=rng.uniform(1, 20))
                    reveals.setdefault(courier, []).append(revealed)
                    today.append(
                        event(revealed, courier, "courier", "waybill.reveal", waybill, device, fields=("address",))
                    )
                if rng.random() < 0.97:
                    today.append(event(delivered, courier, "courier", "waybill.sign_off", waybill, device))
                if rng.random() < 0.005:
                    # A courier scans a parcel that was handed to a colleague: refused.
                    today.append(
                        event(
                            delivered,
                            courier,
                            "courier",
                            "waybill.read",
                            waybill,
                            device,
                            Outcome.DENIED,
                            "default-deny",
                        )
                    )
        if day_start + timedelta(days=1) > month.harvest_starts:
            device = f"phone-{harvester.removeprefix('user:')}"
            used_today = len(reveals.get(harvester, []))
            per_hour: dict[int, int] = {}
            for at in reveals.get(harvester, []):
                per_hour[int((at - day_start).total_seconds() // 3600)] = (
                    per_hour.get(int((at - day_start).total_seconds() // 3600), 0) + 1
                )
            for i in range(500):
                serial += 1
                waybill = f"w{serial:08d}"
                month.waybills.append(
                    SimulatedWaybill(waybill, f"PW{7_000_000_000_000 + serial * 7919:013d}", courier_station[harvester])
                )
                at = day_start + timedelta(hours=9 + 10 * i / 500)
                hour = int((at - day_start).total_seconds() // 3600)
                if used_today < COURIER_QUOTA_DAY and per_hour.get(hour, 0) < COURIER_QUOTA_HOUR:
                    used_today += 1
                    per_hour[hour] = per_hour.get(hour, 0) + 1
                    today.append(
                        event(at, harvester, "courier", "waybill.reveal", waybill, device, fields=("address",))
                    )
                else:
                    today.append(
                        event(
                            at,
                            harvester,
                            "courier",
                            "waybill.reveal",
                            waybill,
                            device,
                            Outcome.DENIED,
                            "quota:courier_reveal",
                        )
                    )
        if day_start + timedelta(days=1) > month.rent_starts:
            for renter_device in range(6):
                for _ in range(15):
                    at = day_start + timedelta(hours=rng.uniform(10, 18))
                    serial += 1
                    waybill = f"w{serial:08d}"
                    month.waybills.append(
                        SimulatedWaybill(
                            waybill, f"PW{7_000_000_000_000 + serial * 7919:013d}", courier_station[renter]
                        )
                    )
                    today.append(
                        event(
                            at,
                            renter,
                            "courier",
                            "waybill.reveal",
                            waybill,
                            f"rented-{renter_device}",
                            fields=("address",),
                        )
                    )
                    if rng.random() < 0.5:
                        today.append(
                            event(
                                at + timedelta(minutes=5),
                                renter,
                                "courier",
                                "waybill.sign_off",
                                waybill,
                                f"rented-{renter_device}",
                            )
                        )
            if day == rent_day - 1:
                # The rental begins at 10:00 on its first day, not earlier.
                today = [
                    e
                    for e in today
                    if not (
                        e.actor == renter and e.device and e.device.startswith("rented-") and e.at < month.rent_starts
                    )
                ]
        today.sort(key=lambda e: e.at)
        month.events.extend(today)
    return month


@dataclass
class MonthOutcome:
    """What the engine made of a month: first alert and freeze per insider, false alerts."""

    first_alert: dict[str, datetime]
    first_freeze: dict[str, datetime]
    false_alerts_on_couriers: int
    false_alerted_couriers: int
    false_alerts_on_others: int
    alerts_by_signal: dict[str, int]
    events: int


def run_month(engine: RiskEngine, month: Month) -> MonthOutcome:
    """Feed the month through `engine`; a frozen account's later requests are refused (as the
    access service does), so they reach the engine as denials."""
    insiders = {month.harvester, month.renter}
    first_alert: dict[str, datetime] = {}
    first_freeze: dict[str, datetime] = {}
    frozen: set[str] = set()
    couriers = set(month.couriers)
    false_on_couriers: list[str] = []
    false_on_others = 0
    by_signal: dict[str, int] = {}
    for seq, event in month.numbered():
        if event.actor in frozen and event.outcome is Outcome.ALLOWED:
            event = replace(event, outcome=Outcome.DENIED, rule="risk:frozen", fields=())
        for alert in engine.observe(seq, event):
            by_signal[alert.signal] = by_signal.get(alert.signal, 0) + 1
            if alert.actor in insiders:
                first_alert.setdefault(alert.actor, alert.at)
                if Response.FREEZE in alert.respond:
                    first_freeze.setdefault(alert.actor, alert.at)
                    frozen.add(alert.actor)
            elif alert.actor in couriers:
                false_on_couriers.append(alert.actor)
            else:
                false_on_others += 1
    return MonthOutcome(
        first_alert=first_alert,
        first_freeze=first_freeze,
        false_alerts_on_couriers=len(false_on_couriers),
        false_alerted_couriers=len(set(false_on_couriers)),
        false_alerts_on_others=false_on_others,
        alerts_by_signal=by_signal,
        events=len(month.events),
    )


class MonthDirectory:
    """The month's waybills for leak matching (waybill numbers only: the simulation has no
    personal data, so phone and masked look-ups find nothing)."""

    def __init__(self, month: Month) -> None:
        self._ids = {w.waybill_no: w.waybill_id for w in month.waybills}

    def ids_by_number(self, numbers: Iterable[str]) -> dict[str, str]:
        return {n: self._ids[n] for n in numbers if n in self._ids}

    def ids_by_phone(self, canonical_phone: str) -> list[str]:
        return []

    def views_by_last4(self, last4s: set[str]) -> dict[str, list[MaskedView]]:
        return {}

    def views_of(self, waybill_ids: Iterable[str]) -> dict[str, MaskedView]:
        return {}


def fill_warehouse(month: Month, warehouse: AuditWarehouse, batch_size: int = 200_000) -> None:
    """Copy the month's allowed waybill accesses and the waybills' stations into `warehouse`."""
    rows: list[tuple[int, datetime, str, str, str, str, str | None]] = []
    for seq, e in month.numbered():
        if e.outcome is Outcome.ALLOWED and e.waybill_id:
            rows.append((seq, e.at, e.actor, e.role, e.action, e.waybill_id, e.device))
            if len(rows) >= batch_size:
                warehouse.append_events(rows)
                rows = []
    warehouse.append_events(rows)
    warehouse.put_places((w.waybill_id, w.station, None) for w in month.waybills)
