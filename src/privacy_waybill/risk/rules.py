"""The risk rules as data: policies/risk.yaml, loaded and checked once at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from privacy_waybill import yaml_data
from privacy_waybill.errors import PrivacyWaybillError


class RiskRulesError(PrivacyWaybillError):
    """The risk rules file is unusable."""


class Detector(StrEnum):
    COUNT = "count"
    DISTINCT = "distinct"
    BASELINE = "baseline"
    UNFOLLOWED = "unfollowed"
    CANARY = "canary"


class Response(StrEnum):
    NOTIFY = "notify"
    STEP_UP = "step_up"
    FREEZE = "freeze"


SEVERITIES = ("low", "medium", "high", "critical")
PLAIN_KEYS = ("actor", "device", "tenant_id", "waybill_id")
OUTCOMES = ("allowed", "denied", "any")
ANY_ACTION = "*"
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

# Which settings each detector needs (beyond the common ones), and which it may take.
_REQUIRED: dict[Detector, tuple[str, ...]] = {
    Detector.COUNT: ("key", "window", "threshold"),
    Detector.DISTINCT: ("key", "of", "window", "threshold"),
    Detector.BASELINE: (
        "key",
        "bucket",
        "baseline_days",
        "min_history_buckets",
        "sigmas",
        "min_count",
        "cold_start_count",
    ),
    Detector.UNFOLLOWED: ("key", "follow_up", "grace", "window", "threshold"),
    Detector.CANARY: (),
}
_COMMON = ("id", "detector", "actions", "outcome", "roles", "hours", "severity", "respond", "cooldown")


@dataclass(frozen=True, slots=True)
class HourSpan:
    """Local times from `start` (inclusive) to `end` (exclusive); wraps midnight when end <= start."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class Signal:
    id: str
    detector: Detector
    actions: frozenset[str]
    severity: str
    respond: tuple[Response, ...]
    outcome: str = "any"
    roles: frozenset[str] | None = None
    hours: HourSpan | None = None
    key: str = "actor"
    of: str | None = None
    window: timedelta = timedelta(hours=1)
    threshold: int = 1
    cooldown: timedelta | None = None
    follow_up: frozenset[str] = frozenset()
    grace: timedelta = timedelta(0)
    bucket: timedelta = timedelta(hours=1)
    baseline_days: int = 14
    min_history_buckets: int = 24
    sigmas: float = 4.0
    min_count: int = 1
    cold_start_count: int = 1

    @property
    def quiet_for(self) -> timedelta:
        return self.cooldown if self.cooldown is not None else self.window

    def feeds_on(self, action: str) -> bool:
        return ANY_ACTION in self.actions or action in self.actions


@dataclass(frozen=True, slots=True)
class RiskRules:
    version: int
    local_utc_offset: timedelta
    signals: tuple[Signal, ...]
    unattributed_actors: frozenset[str] = frozenset()

    def signal(self, signal_id: str) -> Signal:
        for candidate in self.signals:
            if candidate.id == signal_id:
                return candidate
        raise KeyError(signal_id)


def parse_duration(value: object, where: str) -> timedelta:
    match = _DURATION.match(str(value))
    if not match or int(match.group(1)) == 0:
        raise RiskRulesError(f"{where}: {value!r} is not a duration like 30m, 1h or 14d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _hour_span(value: object, where: str) -> HourSpan:
    if not isinstance(value, dict) or set(value) != {"from", "to"}:
        raise RiskRulesError(f"{where}: hours must be {{from: 'HH:MM', to: 'HH:MM'}}")
    parsed = []
    for name in ("from", "to"):
        match = _HHMM.match(str(value[name]))
        if not match:
            raise RiskRulesError(f"{where}: hours.{name} {value[name]!r} is not HH:MM")
        parsed.append(time(int(match.group(1)), int(match.group(2))))
    if parsed[0] == parsed[1]:
        raise RiskRulesError(f"{where}: hours.from and hours.to are the same time")
    return HourSpan(parsed[0], parsed[1])


def _key(value: object, where: str) -> str:
    text = str(value)
    if text in PLAIN_KEYS or re.match(r"^detail\.[a-z_][a-z0-9_]*$", text):
        return text
    raise RiskRulesError(f"{where}: key {text!r} is not one of {', '.join(PLAIN_KEYS)} or detail.<name>")


def _positive_int(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise RiskRulesError(f"{where} must be a whole number of at least 1")
    return value


def _names(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise RiskRulesError(f"{where} must be a non-empty list of names")
    return frozenset(value)


def _signal(spec: object, position: int) -> Signal:
    if not isinstance(spec, dict) or "id" not in spec:
        raise RiskRulesError(f"signal #{position + 1} has no id")
    where = f"signal {spec['id']}"
    try:
        detector = Detector(spec.get("detector"))
    except ValueError:
        raise RiskRulesError(f"{where}: detector must be one of {', '.join(Detector)}") from None
    allowed = set(_COMMON) | set(_REQUIRED[detector])
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise RiskRulesError(f"{where}: {', '.join(unknown)} do not apply to the {detector} detector")
    missing = [name for name in _REQUIRED[detector] if name not in spec]
    if missing:
        raise RiskRulesError(f"{where}: {', '.join(missing)} missing")
    severity = spec.get("severity")
    if severity not in SEVERITIES:
        raise RiskRulesError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    outcome = spec.get("outcome", "any")
    if outcome not in OUTCOMES:
        raise RiskRulesError(f"{where}: outcome must be one of {', '.join(OUTCOMES)}")
    try:
        respond = tuple(Response(r) for r in spec.get("respond", []))
    except ValueError:
        raise RiskRulesError(f"{where}: respond may hold only {', '.join(Response)}") from None
    values: dict[str, Any] = {
        "id": str(spec["id"]),
        "detector": detector,
        "actions": _names(spec.get("actions"), f"{where}: actions"),
        "severity": severity,
        "respond": respond,
        "outcome": outcome,
    }
    if "roles" in spec:
        values["roles"] = _names(spec["roles"], f"{where}: roles")
    if "hours" in spec:
        values["hours"] = _hour_span(spec["hours"], where)
    if "key" in spec:
        values["key"] = _key(spec["key"], where)
    if "of" in spec:
        values["of"] = _key(spec["of"], where)
        if values["of"] == values["key"]:
            raise RiskRulesError(f"{where}: of and key must differ")
    for name in ("window", "cooldown", "grace", "bucket"):
        if name in spec:
            values[name] = parse_duration(spec[name], f"{where}: {name}")
    for name in ("threshold", "baseline_days", "min_history_buckets", "min_count", "cold_start_count"):
        if name in spec:
            values[name] = _positive_int(spec[name], f"{where}: {name}")
    if "sigmas" in spec:
        if not isinstance(spec["sigmas"], int | float) or spec["sigmas"] <= 0:
            raise RiskRulesError(f"{where}: sigmas must be a positive number")
        values["sigmas"] = float(spec["sigmas"])
    if "follow_up" in spec:
        values["follow_up"] = _names(spec["follow_up"], f"{where}: follow_up")
    if detector is Detector.UNFOLLOWED and values["grace"] >= values["window"]:
        raise RiskRulesError(f"{where}: grace must be shorter than window")
    return Signal(**values)


def parse_risk_rules(document: object, source: str = "risk rules") -> RiskRules:
    if not isinstance(document, dict):
        raise RiskRulesError(f"{source}: not a mapping")
    if document.get("version") != 1:
        raise RiskRulesError(f"{source}: version must be 1")
    offset = document.get("local_utc_offset_hours", 8)
    if not isinstance(offset, int) or not -12 <= offset <= 14:
        raise RiskRulesError(f"{source}: local_utc_offset_hours must be a whole number from -12 to 14")
    raw_signals = document.get("signals")
    if not isinstance(raw_signals, list) or not raw_signals:
        raise RiskRulesError(f"{source}: signals must be a non-empty list")
    signals = tuple(_signal(spec, i) for i, spec in enumerate(raw_signals))
    seen: set[str] = set()
    for signal in signals:
        if signal.id in seen:
            raise RiskRulesError(f"{source}: signal {signal.id} is defined twice")
        seen.add(signal.id)
    unattributed = document.get("unattributed_actors", [])
    if not isinstance(unattributed, list) or not all(isinstance(a, str) and a for a in unattributed):
        raise RiskRulesError(f"{source}: unattributed_actors must be a list of actor names")
    return RiskRules(
        version=1,
        local_utc_offset=timedelta(hours=offset),
        signals=signals,
        unattributed_actors=frozenset(unattributed),
    )


def load_risk_rules(path: str | Path | None = None) -> RiskRules:
    if path is None:
        text = files("privacy_waybill.policies").joinpath("risk.yaml").read_text(encoding="utf-8")
        source = "policies/risk.yaml"
    else:
        text = Path(path).read_text(encoding="utf-8")
        source = str(path)
    try:
        document = yaml_data.safe_load(text)
    except yaml.YAMLError as error:
        raise RiskRulesError(f"{source}: not valid YAML ({error.__class__.__name__})") from None
    return parse_risk_rules(document, source)
