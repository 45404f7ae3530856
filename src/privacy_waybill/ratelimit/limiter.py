"""The limiter: the pure rule over a counter store, clock passed in per call."""

from __future__ import annotations

from datetime import datetime

from privacy_waybill.ratelimit.memory import MemoryCounters
from privacy_waybill.ratelimit.rules import Limit, Verdict, decide, window_index
from privacy_waybill.ratelimit.store import CounterStore


class RateLimiter:
    def __init__(self, store: CounterStore) -> None:
        self.store = store

    def hit(self, limit: Limit, key: str, now: datetime) -> Verdict:
        """Count one attempt under `key` and say whether it is within `limit`.

        Raises RateLimiterUnavailable when the store cannot be reached.
        """
        window = window_index(limit, now)
        # Two windows' worth of expiry: the previous window is still read while it decays.
        previous, current = self.store.increment(limit.name, key, window, 2 * limit.window_seconds)
        return decide(limit, previous, current, now)

    def reset(self, limit: Limit, key: str, now: datetime) -> None:
        """Forget `key`'s attempts under `limit` (a failure counter after a success)."""
        self.store.clear(limit.name, key, window_index(limit, now))


def limiter_for(redis_url: str | None, prefix: str = "pwb:rl") -> RateLimiter:
    """Redis counters when a URL is configured, else counters in this process."""
    if redis_url:
        from privacy_waybill.ratelimit.redis_store import RedisCounters

        return RateLimiter(RedisCounters.from_url(redis_url, prefix))
    return RateLimiter(MemoryCounters())
