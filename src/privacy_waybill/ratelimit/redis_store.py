"""Counters in Redis, shared by every API node (`PWB_REDIS_URL`).

One MULTI/EXEC transaction increments the current window, sets its expiry and reads the
previous window, so concurrent nodes never lose or double a count.
"""

from __future__ import annotations

import redis

from privacy_waybill.ratelimit.store import RateLimiterUnavailable


class RedisCounters:
    def __init__(self, client: redis.Redis, prefix: str = "pwb:rl") -> None:
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = "pwb:rl") -> RedisCounters:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return cls(client, prefix)

    def _key(self, name: str, key: str, window: int) -> str:
        return f"{self._prefix}:{name}:{key}:{window}"

    def increment(self, name: str, key: str, window: int, ttl_seconds: int) -> tuple[int, int]:
        current_key = self._key(name, key, window)
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.incr(current_key)
            pipe.expire(current_key, ttl_seconds)
            pipe.get(self._key(name, key, window - 1))
            current, _, previous = pipe.execute()
        except redis.RedisError:
            raise RateLimiterUnavailable() from None
        return int(previous or 0), int(current)

    def clear(self, name: str, key: str, window: int) -> None:
        try:
            self._client.delete(self._key(name, key, window), self._key(name, key, window - 1))
        except redis.RedisError:
            raise RateLimiterUnavailable() from None
