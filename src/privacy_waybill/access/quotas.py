"""Quota windows: a disclosure counts once in its hour and once in its day."""

from __future__ import annotations

from datetime import datetime

from privacy_waybill.access.policy import Quota


def quota_windows(quota: Quota, now: datetime) -> list[tuple[str, int]]:
    """(window key, limit) pairs for the windows `now` falls in; keys are UTC calendar slots."""
    windows = []
    if quota.per_hour is not None:
        windows.append((now.strftime("h%Y-%m-%dT%H"), quota.per_hour))
    if quota.per_day is not None:
        windows.append((now.strftime("d%Y-%m-%d"), quota.per_day))
    return windows
