"""The tracking limits as data (policies/tracking.yaml), validated at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from privacy_waybill import yaml_data
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.ratelimit import Limit

LIMIT_KEYS = ("per_client", "per_waybill", "last4_per_waybill", "enumeration")


class TrackingPolicyError(PrivacyWaybillError):
    pass


@dataclass(frozen=True, slots=True)
class TrackingPolicy:
    per_client: Limit
    per_waybill: Limit
    last4_per_waybill: Limit
    enumeration: Limit
    # One enumeration alert per client per enumeration window.
    alert_once: Limit


def parse_tracking_policy(document: Any) -> TrackingPolicy:
    if not isinstance(document, dict) or document.get("version") != 1:
        raise TrackingPolicyError("tracking policy: version must be 1")
    if extra := set(document) - {"version", *LIMIT_KEYS}:
        raise TrackingPolicyError(f"tracking policy: unknown key(s) {', '.join(sorted(extra))}")
    limits: dict[str, Limit] = {}
    for key in LIMIT_KEYS:
        spec = document.get(key)
        if not isinstance(spec, dict) or set(spec) != {"max_hits", "window_seconds"}:
            raise TrackingPolicyError(f"tracking policy, {key}: give max_hits and window_seconds")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in spec.values()):
            raise TrackingPolicyError(f"tracking policy, {key}: limits are positive whole numbers")
        limits[key] = Limit(f"track.{key.replace('_', '-')}", spec["max_hits"], spec["window_seconds"])
    alert_once = Limit("track.enumeration-alert", 1, limits["enumeration"].window_seconds)
    return TrackingPolicy(**limits, alert_once=alert_once)


def load_tracking_policy(path: str | Path | None = None) -> TrackingPolicy:
    source = Path(path) if path else files("privacy_waybill.policies") / "tracking.yaml"
    try:
        document = yaml_data.safe_load(source.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TrackingPolicyError(f"tracking policy {source}: cannot be read as YAML ({type(error).__name__})") from None
    return parse_tracking_policy(document)
