"""Issue 10's month: 200 couriers working normally for 30 days and three insiders.

The harvester and the renter are alerted and frozen within one simulated hour; leak tracing
of a list drawn from the photographing clerk's parcels ranks that station and clerk first
with p < 0.001; false alerts on the normal couriers are counted (and printed for the report).
The shipped rules run unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from privacy_waybill.risk.engine import RiskEngine
from privacy_waybill.risk.rules import load_risk_rules
from privacy_waybill.risk.simulation import Month, MonthDirectory, fill_warehouse, run_month, simulate_month
from privacy_waybill.tracing.exposure import AuditWarehouse
from privacy_waybill.tracing.matching import Masker
from privacy_waybill.tracing.service import TraceService

ONE_HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def month() -> Month:
    return simulate_month(couriers=200, days=30, parcels_per_day=20)


def test_harvester_and_renter_are_alerted_and_frozen_within_an_hour_without_false_alerts(month: Month) -> None:
    outcome = run_month(RiskEngine(load_risk_rules()), month)
    harvest = outcome.first_freeze[month.harvester] - month.harvest_starts
    rent = outcome.first_freeze[month.renter] - month.rent_starts
    harvest_alert = outcome.first_alert[month.harvester] - month.harvest_starts
    rent_alert = outcome.first_alert[month.renter] - month.rent_starts
    print(
        f"\nsimulated {outcome.events} events; harvester alerted after {harvest_alert},"
        f" frozen after {harvest}; renter alerted after {rent_alert},"
        f" frozen after {rent}; false alerts: {outcome.false_alerts_on_couriers} on normal couriers,"
        f" {outcome.false_alerts_on_others} on others; by signal {outcome.alerts_by_signal}"
    )
    assert timedelta(0) < outcome.first_alert[month.harvester] - month.harvest_starts <= harvest < ONE_HOUR
    assert timedelta(0) < outcome.first_alert[month.renter] - month.rent_starts <= rent < ONE_HOUR
    assert set(outcome.first_alert) == {month.harvester, month.renter}  # the photographer raises nothing
    assert (outcome.false_alerts_on_couriers, outcome.false_alerts_on_others) == (0, 0)


def test_leak_tracing_ranks_the_photographers_clerk_account_and_station_first(month: Month) -> None:
    warehouse = AuditWarehouse()
    fill_warehouse(month, warehouse)
    leak = month.leak(500)
    csv = ("运单号\n" + "\n".join(w.waybill_no for w in leak) + "\n").encode()
    identity = Masker(name=str, address=str)
    service = TraceService(MonthDirectory(month), lambda: warehouse, identity, lambda _: None)
    report = service.run(csv, "tc_sim", datetime(2026, 12, 1, tzinfo=UTC), "test")

    assert report["leak"] == {
        "rows": 500, "matched": 500, "distinct_waybills": 500, "ambiguous": 0, "unmatched": 0, "in_population": 500,
        "methods": {"waybill_no": 500, "phone_index": 0, "masked": 0, "virtual_number": 0},
    }  # fmt: skip
    first = report["ranking"][0]
    assert (first["kind"], first["accessor"], first["hits"]) == ("account", month.photographer, 500)
    station = report["top_by_kind"]["station"]
    assert (station["accessor"], station["hits"]) == (month.photographer_station, 500)
    # The station ties with its desk device (both saw exactly the station's parcels); nobody else comes close.
    top_three = {(e["kind"], e["accessor"]) for e in report["ranking"][:3]}
    assert top_three == {("account", month.photographer), ("station", month.photographer_station),
                         ("device", f"desk-{month.photographer_station}")}  # fmt: skip
    assert first["p_adjusted"] < 0.001 and station["p_adjusted"] < 0.001
    fourth = report["ranking"][3]
    assert fourth["log10_p"] > station["log10_p"] / 2
