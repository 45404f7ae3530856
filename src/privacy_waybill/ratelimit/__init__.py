"""Rate limits: a pure sliding-window rule over counters kept in-process or in Redis.

Use `limiter_for(redis_url)` once per process and `RateLimiter.hit(limit, key, now)` per
attempt. Keys must not hold personal data: pass ids or keyed hashes.
"""

from privacy_waybill.ratelimit.limiter import RateLimiter, limiter_for
from privacy_waybill.ratelimit.memory import MemoryCounters
from privacy_waybill.ratelimit.rules import Limit, Verdict, decide
from privacy_waybill.ratelimit.store import CounterStore, RateLimiterUnavailable, Throttled

__all__ = [
    "CounterStore",
    "Limit",
    "MemoryCounters",
    "RateLimiter",
    "RateLimiterUnavailable",
    "Throttled",
    "Verdict",
    "decide",
    "limiter_for",
]
