"""The rule: a sliding window estimated from two fixed windows.

The estimate weighs the previous window by the part of it still inside the sliding window
(Cloudflare's and nginx's approach): constant memory per key, no burst of twice the limit
at a window edge as plain fixed windows allow. Every attempt counts, refused ones too, so a
client that keeps hammering stays refused until it pauses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

LIMIT_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Limit:
    """At most `max_hits` attempts per `window_seconds`, counted under `name` per key."""

    name: str
    max_hits: int
    window_seconds: int

    def __post_init__(self) -> None:
        if not LIMIT_NAME.match(self.name):
            raise ValueError("limit name: lower-case letters, digits, '.', '_' or '-', at most 64")
        if self.max_hits < 1 or self.window_seconds < 1:
            raise ValueError("limit: max_hits and window_seconds must be at least 1")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int


def window_index(limit: Limit, now: datetime) -> int:
    """Which fixed window `now` (time-zone aware) falls in."""
    if now.tzinfo is None:
        raise ValueError("rate limit clock must be time-zone aware")
    return math.floor(now.timestamp()) // limit.window_seconds


def elapsed_fraction(limit: Limit, now: datetime) -> float:
    """How far into its fixed window `now` is, in [0, 1)."""
    return (now.timestamp() % limit.window_seconds) / limit.window_seconds


def decide(limit: Limit, previous: int, current: int, now: datetime) -> Verdict:
    """The verdict for an attempt, given the counts *including* this attempt."""
    fraction = elapsed_fraction(limit, now)
    estimate = previous * (1.0 - fraction) + current
    allowed = estimate <= limit.max_hits
    remaining = max(0, math.floor(limit.max_hits - estimate))
    retry_after = 0 if allowed else _retry_after(limit, previous, current, fraction)
    return Verdict(allowed, limit.max_hits, remaining, retry_after)


def _retry_after(limit: Limit, previous: int, current: int, fraction: float) -> int:
    """Seconds until one more attempt would fit (assuming no attempts meanwhile)."""
    window = limit.window_seconds
    if current + 1 > limit.max_hits:
        # Only once this window becomes "previous" and decays enough.
        needed = 1.0 - (limit.max_hits - 1) / current  # fraction into the next window
        return math.ceil((1.0 - fraction) * window + max(0.0, needed) * window)
    needed = 1.0 - (limit.max_hits - current - 1) / previous
    return max(1, math.ceil((needed - fraction) * window))
