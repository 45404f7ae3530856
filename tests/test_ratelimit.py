"""The rate limiter behaves the same in-process and in Redis (one suite over both)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from privacy_waybill.ratelimit import Limit, MemoryCounters, RateLimiter, RateLimiterUnavailable, decide
from privacy_waybill.ratelimit.redis_store import RedisCounters

REDIS_URL = os.environ.get("PWB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)  # on a window edge for windows dividing 3600
LOGIN = Limit("login", max_hits=3, window_seconds=60)


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI: {exc}")
        pytest.skip(f"Redis UNREACHABLE ({exc})")
    return client


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    if request.param == "memory":
        yield RateLimiter(MemoryCounters())
        return
    client = _redis_or_skip()
    prefix = f"pwb-test:{uuid.uuid4().hex[:12]}"
    yield RateLimiter(RedisCounters(client, prefix))
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_allows_up_to_the_limit_then_refuses(limiter: RateLimiter) -> None:
    verdicts = [limiter.hit(LOGIN, "client-a", T0 + timedelta(seconds=i)) for i in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    # 4 hits, 3 s in: one more fits once 4 * (1 - f) + 1 <= 3 in the next window, f = 1/2.
    assert verdicts[3].retry_after_seconds == 57 + 30


def test_keys_and_limits_are_independent(limiter: RateLimiter) -> None:
    for i in range(3):
        limiter.hit(LOGIN, "client-a", T0 + timedelta(seconds=i))
    assert limiter.hit(LOGIN, "client-a", T0 + timedelta(seconds=5)).allowed is False
    assert limiter.hit(LOGIN, "client-b", T0 + timedelta(seconds=5)).allowed is True
    other = Limit("otp", max_hits=3, window_seconds=60)
    assert limiter.hit(other, "client-a", T0 + timedelta(seconds=5)).allowed is True


def test_previous_window_decays_instead_of_resetting_at_the_edge(limiter: RateLimiter) -> None:
    for i in range(3):
        limiter.hit(LOGIN, "k", T0 + timedelta(seconds=50 + i))
    # 1 s into the next window: 3 * (59/60) + 1 > 3, refused (a fixed window would allow a burst).
    assert limiter.hit(LOGIN, "k", T0 + timedelta(seconds=61)).allowed is False
    # 40 s in: the previous 3 hits weigh 1/3, plus 2 in this window (the refused one counts): 3.
    verdict = limiter.hit(LOGIN, "k", T0 + timedelta(seconds=100))
    assert verdict == decide(LOGIN, previous=3, current=2, now=T0 + timedelta(seconds=100))
    assert verdict.allowed is True


def test_refused_attempts_count_so_hammering_stays_refused(limiter: RateLimiter) -> None:
    for i in range(10):
        limiter.hit(LOGIN, "k", T0 + timedelta(seconds=i))
    # Next window, 30 s in: 10 * 0.5 > 3.
    assert limiter.hit(LOGIN, "k", T0 + timedelta(seconds=90)).allowed is False
    # Two windows later everything has aged out.
    assert limiter.hit(LOGIN, "k", T0 + timedelta(seconds=180)).allowed is True


def test_reset_forgets_the_key(limiter: RateLimiter) -> None:
    for i in range(4):
        limiter.hit(LOGIN, "k", T0 + timedelta(seconds=i))
    limiter.reset(LOGIN, "k", T0 + timedelta(seconds=5))
    assert limiter.hit(LOGIN, "k", T0 + timedelta(seconds=6)).remaining == 2


def test_concurrent_hits_are_counted_exactly(limiter: RateLimiter) -> None:
    limit = Limit("burst", max_hits=50, window_seconds=3600)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            verdict = limiter.hit(limit, "shared", T0 + timedelta(seconds=1))
            with lock:
                results.append(verdict.allowed)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 50
    assert results.count(False) == 50


def test_naive_clock_is_refused(limiter: RateLimiter) -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        limiter.hit(LOGIN, "k", datetime(2026, 12, 1, 9, 0))


def test_unreachable_redis_raises_a_domain_error() -> None:
    dead = RateLimiter(RedisCounters.from_url("redis://127.0.0.1:1/0"))
    with pytest.raises(RateLimiterUnavailable):
        dead.hit(LOGIN, "k", T0)


def test_memory_counters_stay_bounded_under_a_flood_of_keys() -> None:
    counters = MemoryCounters(max_keys=100)
    limiter = RateLimiter(counters)
    for i in range(1000):
        limiter.hit(LOGIN, f"k{i}", T0)
    assert len(counters._counts) <= 100


@pytest.mark.parametrize(
    ("name", "max_hits", "window"), [("Bad Name", 1, 1), ("ok", 0, 1), ("ok", 1, 0)]
)
def test_limit_definitions_are_validated(name: str, max_hits: int, window: int) -> None:
    with pytest.raises(ValueError):
        Limit(name, max_hits, window)
