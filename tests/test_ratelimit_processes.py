"""Rate limits in Redis hold exactly when several processes (API workers) count at once."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

from privacy_waybill.ratelimit import Limit, RateLimiter
from privacy_waybill.ratelimit.redis_store import RedisCounters
from privacy_waybill.ratelimit.rules import window_index
from redis_support import REDIS_URL, redis_client

NOW = datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)
LIMIT = Limit("tracking", max_hits=150, window_seconds=3600)
HITS_PER_PROCESS = 100


def hit_many(prefix: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    limiter = RateLimiter(RedisCounters.from_url(REDIS_URL, prefix))
    allowed = sum(limiter.hit(LIMIT, "client:a", NOW).allowed for _ in range(HITS_PER_PROCESS))
    results.put(allowed)


def test_two_processes_share_one_limit_exactly() -> None:
    for client, prefix in redis_client():
        context = multiprocessing.get_context("spawn")  # as uvicorn starts its workers
        results = context.Queue()
        processes = [context.Process(target=hit_many, args=(prefix, results)) for _ in range(2)]
        for process in processes:
            process.start()
        allowed = [results.get(timeout=120) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        assert [p.exitcode for p in processes] == [0, 0]
        assert sum(allowed) == LIMIT.max_hits
        # Every attempt was counted once, refused ones too.
        assert int(client.get(f"{prefix}:tracking:client:a:{window_index(LIMIT, NOW)}")) == 2 * HITS_PER_PROCESS
