"""Rate limits as data: policies/ratelimits.yaml, validated once at start-up."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from privacy_waybill import yaml_data
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.ratelimit.rules import Limit

DEFAULT_FILE = "ratelimits.yaml"
# Limits the code asks for by name; the file must define each of them.
REQUIRED = (
    "sign_in.user_client",
    "sign_in.client",
    "otp_verify.client",
    "otp_verify.phone",
    "otp_request.client",
    "device_mismatch.session",
)


class RateLimitPolicyError(PrivacyWaybillError):
    pass


def parse_rate_limits(document: Any) -> dict[str, Limit]:
    if not isinstance(document, dict) or document.get("version") != 1 or set(document) != {"version", "limits"}:
        raise RateLimitPolicyError("rate limits: expected `version: 1` and `limits`")
    limits: dict[str, Limit] = {}
    for name, spec in (document["limits"] or {}).items():
        if not isinstance(spec, dict) or set(spec) != {"max", "window_seconds"}:
            raise RateLimitPolicyError(f"rate limit {name}: expected exactly `max` and `window_seconds`")
        if not all(isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in spec):
            raise RateLimitPolicyError(f"rate limit {name}: `max` and `window_seconds` must be whole numbers")
        try:
            limits[name] = Limit(name, spec["max"], spec["window_seconds"])
        except ValueError as error:
            raise RateLimitPolicyError(f"rate limit {name}: {error}") from None
    missing = [name for name in REQUIRED if name not in limits]
    if missing:
        raise RateLimitPolicyError(f"rate limits: missing {', '.join(missing)}")
    return limits


def load_rate_limits(path: str | Path | None = None) -> dict[str, Limit]:
    source = Path(path) if path else files("privacy_waybill.policies") / DEFAULT_FILE
    try:
        document = yaml_data.safe_load(source.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RateLimitPolicyError(f"rate limits {source}: cannot be read as YAML ({type(error).__name__})") from None
    return parse_rate_limits(document)
