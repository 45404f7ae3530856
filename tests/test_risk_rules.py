"""policies/risk.yaml row by row against a table written here by hand, and the validator's refusals."""

from __future__ import annotations

import copy
from datetime import time, timedelta

import pytest
import yaml

from privacy_waybill.risk.rules import (
    Detector,
    HourSpan,
    Response,
    RiskRulesError,
    load_risk_rules,
    parse_duration,
    parse_risk_rules,
)

RULES = load_risk_rules()
N, S, F = Response.NOTIFY, Response.STEP_UP, Response.FREEZE
H = timedelta(hours=1)

# signal -> (detector, key, threshold, window, severity, responses, some actions it must feed on)
EXPECTED = {
    "volume_above_baseline": (Detector.BASELINE, "actor", 1, H, "high", (N, S), {"waybill.reveal", "waybill.decrypt"}),
    "reveal_without_delivery": (Detector.UNFOLLOWED, "actor", 12, H, "high", (N, F), {"waybill.reveal"}),
    "denied_attempts": (Detector.COUNT, "actor", 15, H, "medium", (N, S), {"waybill.read", "session.sign_in"}),
    "off_hours_access": (Detector.COUNT, "actor", 5, H, "medium", (N,), {"waybill.break_glass"}),
    "shared_device": (Detector.DISTINCT, "device", 2, 24 * H, "high", (N, S), {"waybill.scan"}),
    "device_hopping": (Detector.DISTINCT, "actor", 3, H, "high", (N, F), {"waybill.reveal", "session.sign_in"}),
    "tracking_enumeration": (Detector.COUNT, "device", 60, timedelta(minutes=10), "medium", (N,), {"tracking.read"}),
    "reprints": (Detector.COUNT, "actor", 20, 24 * H, "medium", (N,), {"print_job.reprint"}),
    "refused_calls": (Detector.COUNT, "waybill_id", 5, H, "medium", (N,), {"telephony.route"}),
    "canary_touched": (
        Detector.CANARY,
        "actor",
        1,
        H,
        "high",
        (N,),
        {"waybill.reveal", "tracking.read", "telephony.route", "trace.match"},
    ),
}


@pytest.mark.parametrize("signal_id", sorted(EXPECTED))
def test_each_shipped_signal_is_as_documented(signal_id: str) -> None:
    detector, key, threshold, window, severity, respond, actions = EXPECTED[signal_id]
    signal = RULES.signal(signal_id)
    assert (signal.detector, signal.key, signal.threshold, signal.window, signal.severity, signal.respond) == (
        detector, key, threshold, window, severity, respond,
    )  # fmt: skip
    assert all(signal.feeds_on(a) for a in actions)


def test_the_shipped_file_has_exactly_the_expected_signals_and_settings() -> None:
    assert [s.id for s in RULES.signals] == list(EXPECTED)
    assert RULES.local_utc_offset == timedelta(hours=8)
    assert RULES.unattributed_actors == {"anonymous"}
    unfollowed = RULES.signal("reveal_without_delivery")
    assert (unfollowed.grace, "waybill.sign_off" in unfollowed.follow_up) == (timedelta(minutes=30), True)
    baseline = RULES.signal("volume_above_baseline")
    settings = (baseline.bucket, baseline.baseline_days, baseline.sigmas, baseline.min_count, baseline.cold_start_count)
    assert settings == (
        H, 14, 4.0, 30, 80,
    )  # fmt: skip
    assert RULES.signal("off_hours_access").hours == HourSpan(time(23), time(6))
    assert RULES.signal("shared_device").roles == {"courier", "crowd_courier"}


def test_an_hour_span_may_wrap_midnight() -> None:
    span = HourSpan(time(23), time(6))
    assert [span.contains(time(h)) for h in (22, 23, 0, 5, 6, 12)] == [False, True, True, True, False, False]
    assert [HourSpan(time(9), time(17)).contains(time(h)) for h in (8, 9, 16, 17)] == [False, True, True, False]


def test_durations() -> None:
    assert [parse_duration(v, "x") for v in ("30s", "10m", "2h", "14d")] == [
        timedelta(seconds=30), timedelta(minutes=10), timedelta(hours=2), timedelta(days=14),
    ]  # fmt: skip
    for bad in ("0m", "1w", "h", "10"):
        with pytest.raises(RiskRulesError, match="is not a duration"):
            parse_duration(bad, "x")


def _document() -> dict:
    from importlib.resources import files

    return yaml.safe_load(files("privacy_waybill.policies").joinpath("risk.yaml").read_text("utf-8"))


def _with(change, index: int = 2) -> dict:
    document = copy.deepcopy(_document())
    change(document["signals"][index])
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.update(detector="magic"), "signal denied_attempts: detector must be one of"),
        (lambda s: s.update(severity="urgent"), "severity must be one of"),
        (lambda s: s.update(respond=["email"]), "respond may hold only"),
        (lambda s: s.update(key="name"), "key 'name' is not one of"),
        (lambda s: s.pop("threshold"), "threshold missing"),
        (lambda s: s.update(threshold=0), "threshold must be a whole number of at least 1"),
        (lambda s: s.update(window="soon"), "window: 'soon' is not a duration"),
        (lambda s: s.update(grace="5m"), "grace do not apply to the count detector"),
        (lambda s: s.update(hours={"from": "25:00", "to": "06:00"}), "hours.from '25:00' is not HH:MM"),
        (lambda s: s.update(actions=[]), "actions must be a non-empty list"),
        (lambda s: s.update(outcome="maybe"), "outcome must be one of"),
    ],
)
def test_a_broken_signal_stops_start_up_naming_it(change, message: str) -> None:
    with pytest.raises(RiskRulesError, match=message):
        parse_risk_rules(_with(change))


def test_file_level_refusals() -> None:
    with pytest.raises(RiskRulesError, match="version must be 1"):
        parse_risk_rules({**_document(), "version": 2})
    with pytest.raises(RiskRulesError, match="signal denied_attempts is defined twice"):
        document = _document()
        parse_risk_rules({**document, "signals": document["signals"] + [document["signals"][2]]})
    with pytest.raises(RiskRulesError, match="grace must be shorter than window"):
        parse_risk_rules(_with(lambda s: s.update(grace="2h"), index=1))
