"""The quota counters behave the same in SQL (SQLite, PostgreSQL) and in Redis."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import BACKENDS, database_engine
from privacy_waybill.storage.access import QuotaStore
from privacy_waybill.storage.redis_quotas import QuotaStoreUnavailable, RedisQuotaStore
from redis_support import redis_client

HOUR, DAY = "h2026-12-01T09", "d2026-12-01"


@pytest.fixture(params=[*BACKENDS, "redis"])
def quotas(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QuotaStore | RedisQuotaStore]:
    if request.param == "redis":
        for client, prefix in redis_client():
            yield RedisQuotaStore(client, prefix=f"{prefix}:quota")
        return
    for engine in database_engine(request.param, tmp_path):
        yield QuotaStore(engine)


def test_uses_count_until_a_window_is_full_then_that_window_is_named(quotas) -> None:  # type: ignore[no-untyped-def]
    windows = [(HOUR, 3), (DAY, 5)]
    assert [quotas.consume("user:a", "courier_reveal", windows) for _ in range(4)] == [None, None, None, HOUR]
    assert (quotas.used("user:a", "courier_reveal", HOUR), quotas.used("user:a", "courier_reveal", DAY)) == (3, 3)


def test_a_full_window_counts_the_use_in_no_window(quotas) -> None:  # type: ignore[no-untyped-def]
    assert [quotas.consume("user:a", "q", [(DAY, 2)]) for _ in range(2)] == [None, None]
    # The next hour has room, the day has none: nothing is counted anywhere.
    assert quotas.consume("user:a", "q", [("h2026-12-01T10", 10), (DAY, 2)]) == DAY
    assert quotas.used("user:a", "q", "h2026-12-01T10") == 0


def test_actors_and_quotas_are_counted_apart(quotas) -> None:  # type: ignore[no-untyped-def]
    quotas.consume("user:a", "q", [(DAY, 5)])
    quotas.consume("user:a", "other", [(DAY, 5)])
    quotas.consume("user:b", "q", [(DAY, 5)])
    assert [quotas.used(a, q, DAY) for a, q in (("user:a", "q"), ("user:a", "other"), ("user:b", "q"))] == [1, 1, 1]
    assert quotas.used("user:c", "q", DAY) == 0


def test_concurrent_uses_never_take_more_than_the_limit(quotas) -> None:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: quotas.consume("user:a", "q", [(HOUR, 25), (DAY, 100)]), range(60)))
    assert results.count(None) == 25
    assert results.count(HOUR) == 35
    assert quotas.used("user:a", "q", DAY) == 25


def test_unreachable_redis_refuses_instead_of_counting_nothing() -> None:
    store = RedisQuotaStore.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(QuotaStoreUnavailable):
        store.consume("user:a", "q", [(DAY, 5)])
