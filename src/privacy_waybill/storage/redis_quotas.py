"""Quota counters in Redis (`PWB_REDIS_URL`), shared by every API process and node.

Same contract as the SQL `QuotaStore`: a use counts in every window or, when any window is
full, in none, and that window is named. One Lua script checks and increments all windows,
so it is atomic on the server: concurrent requests on any number of nodes cannot both take
the last unit. Keys expire two days after their last use; window keys name a calendar slot,
so an expired key is one no request can ask for again.
"""

from __future__ import annotations

import redis

from privacy_waybill.errors import PrivacyWaybillError

KEY_TTL_S = 2 * 24 * 3600

# KEYS: one counter per window; ARGV: the limits in the same order, then the TTL.
_CONSUME = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[#KEYS + 1])
end
return 0
"""


class QuotaStoreUnavailable(PrivacyWaybillError):
    """The quota counters cannot be reached; a counted disclosure must not happen."""

    def __init__(self) -> None:
        super().__init__("the quota store is unavailable; access to personal data is refused")


class RedisQuotaStore:
    def __init__(self, client: redis.Redis, prefix: str = "pwb:quota") -> None:
        self._client = client
        self._prefix = prefix
        self._consume = client.register_script(_CONSUME)

    @classmethod
    def from_url(cls, url: str, prefix: str = "pwb:quota") -> RedisQuotaStore:
        return cls(redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0), prefix)

    def _key(self, actor: str, quota: str, window: str) -> str:
        # Actors are ids (user:..., key:...), never personal data. The {hash tag} puts every
        # window of one actor's quota in one Redis Cluster slot, as a multi-key script needs.
        return f"{self._prefix}:{{{quota}:{actor}}}:{window}"

    def consume(self, actor: str, quota: str, windows: list[tuple[str, int]]) -> str | None:
        """Count one use in every window, or in none when any is full (then name that window)."""
        if not windows:
            return None
        keys = [self._key(actor, quota, window) for window, _ in windows]
        try:
            full = int(self._consume(keys=keys, args=[*(limit for _, limit in windows), KEY_TTL_S]))
        except redis.RedisError:
            raise QuotaStoreUnavailable() from None
        return windows[full - 1][0] if full else None

    def used(self, actor: str, quota: str, window: str) -> int:
        try:
            count = self._client.get(self._key(actor, quota, window))
        except redis.RedisError:
            raise QuotaStoreUnavailable() from None
        return int(count or 0)
