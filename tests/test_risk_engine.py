"""The risk engine's detectors with exact figures, on hand-made event streams and hand-made rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.risk.engine import RiskEngine
from privacy_waybill.risk.rules import Response, parse_risk_rules

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in China
MIN = timedelta(minutes=1)


def rules(*signals: dict) -> RiskEngine:
    return RiskEngine(parse_risk_rules({"version": 1, "unattributed_actors": ["anonymous"], "signals": list(signals)}))


def ev(at: datetime, action: str = "waybill.reveal", actor: str = "user:c1", waybill: str | None = "w1",
       device: str | None = "d1", outcome: Outcome = Outcome.ALLOWED, role: str = "courier") -> AuditEvent:  # fmt: skip
    return AuditEvent(at=at, actor=actor, role=role, action=action, outcome=outcome, rule="r", waybill_id=waybill,
                      device=device)  # fmt: skip


def feed(engine: RiskEngine, events: list[AuditEvent]) -> list:
    return engine.observe_all(enumerate(events, start=1))


COUNT = {"id": "denied", "detector": "count", "actions": ["*"], "outcome": "denied", "key": "actor",
         "window": "1h", "threshold": 3, "severity": "medium", "respond": ["notify", "step_up"]}  # fmt: skip


def test_count_alerts_at_the_threshold_within_the_window_with_its_evidence_then_stays_quiet() -> None:
    engine = rules(COUNT)
    events = [ev(T0 + i * 25 * MIN, outcome=Outcome.DENIED) for i in range(3)]  # 0, 25, 50 min
    events += [ev(T0 + 51 * MIN, outcome=Outcome.ALLOWED), ev(T0 + 55 * MIN, outcome=Outcome.DENIED)]
    alerts = feed(engine, events)
    [alert] = alerts  # the fifth event is within the cooldown
    assert (alert.signal, alert.actor, alert.evidence, alert.observed, alert.threshold, alert.at) == (
        "denied", "user:c1", (1, 2, 3), 3.0, 3.0, T0 + 50 * MIN,
    )  # fmt: skip
    assert alert.respond == (Response.NOTIFY, Response.STEP_UP)


def test_count_forgets_events_older_than_the_window() -> None:
    engine = rules(COUNT)
    events = [ev(T0 + i * 40 * MIN, outcome=Outcome.DENIED) for i in range(4)]  # never 3 within an hour
    assert feed(engine, events) == []


def test_unattributed_actors_are_not_counted_per_account() -> None:
    engine = rules(COUNT)
    assert feed(engine, [ev(T0 + i * MIN, actor="anonymous", outcome=Outcome.DENIED) for i in range(5)]) == []


DISTINCT = {"id": "hop", "detector": "distinct", "actions": ["*"], "key": "actor", "of": "device",
            "window": "1h", "threshold": 3, "severity": "high", "respond": ["notify", "freeze"]}  # fmt: skip


def test_distinct_devices_per_account() -> None:
    engine = rules(DISTINCT)
    events = [ev(T0, device="d1"), ev(T0 + MIN, device="d1"), ev(T0 + 2 * MIN, device="d2"),
              ev(T0 + 3 * MIN, device=None), ev(T0 + 4 * MIN, device="d3")]  # fmt: skip
    [alert] = feed(engine, events)
    assert (alert.observed, alert.evidence, alert.detail, alert.at) == (
        3.0, (2, 3, 5), {"distinct_device": "d1,d2,d3"}, T0 + 4 * MIN,
    )  # fmt: skip


def test_distinct_values_expire_after_the_window() -> None:
    engine = rules(DISTINCT)
    events = [ev(T0, device="d1"), ev(T0 + 30 * MIN, device="d2"), ev(T0 + 70 * MIN, device="d3")]
    assert feed(engine, events) == []


UNFOLLOWED = {"id": "unfollowed", "detector": "unfollowed", "actions": ["waybill.reveal"], "outcome": "allowed",
              "follow_up": ["waybill.sign_off"], "key": "actor", "grace": "30m", "window": "1h", "threshold": 2,
              "severity": "high", "respond": ["notify", "freeze"]}  # fmt: skip


def test_reveals_followed_by_a_delivery_in_time_are_fine_and_the_rest_count_once_their_grace_is_over() -> None:
    engine = rules(UNFOLLOWED)
    events = [
        ev(T0, waybill="w1"), ev(T0 + 10 * MIN, "waybill.sign_off", waybill="w1"),  # followed
        ev(T0 + MIN, waybill="w2"), ev(T0 + 2 * MIN, waybill="w3"),  # never followed
        ev(T0 + 40 * MIN, "waybill.sign_off", waybill="w3"),  # too late: the grace ended at 32 min
        ev(T0 + 45 * MIN, "waybill.scan", waybill="w9"),
    ]  # fmt: skip
    [alert] = feed(engine, events)
    assert (alert.evidence, alert.at, alert.actor) == ((3, 4), T0 + 32 * MIN, "user:c1")


def test_advance_lets_time_pass_without_events() -> None:
    engine = rules(UNFOLLOWED)
    assert feed(engine, [ev(T0, waybill="w1"), ev(T0 + MIN, waybill="w2")]) == []
    assert engine.advance(T0 + 30 * MIN) == []
    [alert] = engine.advance(T0 + 31 * MIN)
    assert alert.evidence == (1, 2)


BASELINE = {"id": "volume", "detector": "baseline", "actions": ["waybill.reveal"], "outcome": "allowed",
            "key": "actor", "bucket": "1h", "baseline_days": 14, "min_history_buckets": 3, "sigmas": 3,
            "min_count": 5, "cold_start_count": 20, "severity": "high", "respond": ["notify", "step_up"]}  # fmt: skip


def test_baseline_uses_the_cold_start_count_until_enough_history() -> None:
    engine = rules(BASELINE)
    alerts = feed(engine, [ev(T0 + i * MIN) for i in range(25)])
    [alert] = alerts
    assert (alert.observed, alert.threshold, alert.evidence[-1]) == (20.0, 20.0, 20)


def test_baseline_alerts_above_the_accounts_own_mean_plus_sigmas() -> None:
    engine = rules(BASELINE)
    events = []
    for hour, count in enumerate([4, 6, 4, 6]):  # mean 5, standard deviation 1
        events += [ev(T0 + hour * 60 * MIN + i * MIN) for i in range(count)]
    events += [ev(T0 + 4 * 60 * MIN + i * MIN) for i in range(9)]  # limit max(5, 5 + 3 x 1) = 8
    [alert] = feed(engine, events)
    assert (alert.observed, alert.threshold, alert.detail) == (8.0, 8.0, {"baseline_buckets": "4"})


def test_hours_restrict_a_signal_to_local_time() -> None:
    night = {**COUNT, "id": "night", "outcome": "allowed", "hours": {"from": "23:00", "to": "06:00"}, "threshold": 2}
    engine = rules(night)
    midnight_in_china = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
    assert feed(engine, [ev(T0), ev(T0 + MIN)]) == []  # 10:00 and 10:01
    [alert] = engine.observe_all([(3, ev(midnight_in_china)), (4, ev(midnight_in_china + MIN))])
    assert alert.evidence == (3, 4)


def test_a_canary_names_where_it_was_planted_on_every_touch() -> None:
    canary = {"id": "canary", "detector": "canary", "actions": ["waybill.reveal", "tracking.read"],
              "severity": "high", "respond": ["notify"]}  # fmt: skip
    engine = RiskEngine(parse_risk_rules({"version": 1, "signals": [canary]}), {"wc": "station:st01"}.get)
    alerts = feed(engine, [ev(T0, waybill="w1"), ev(T0 + MIN, waybill="wc"),
                           ev(T0 + 2 * MIN, "tracking.read", actor="anonymous", waybill="wc")])  # fmt: skip
    assert [(a.actor, a.key_value, a.evidence, a.detail) for a in alerts] == [
        ("user:c1", "wc", (2,), {"planted_at": "station:st01", "action": "waybill.reveal"}),
        ("anonymous", "wc", (3,), {"planted_at": "station:st01", "action": "tracking.read"}),
    ]
