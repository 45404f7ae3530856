"""Binding look-ups in Redis (`PWB_REDIS_URL`), shared by every API process and node.

The database stays the source of truth; Redis holds, per virtual number X, what routing and
the one-A-or-B-per-X rule need, under keys that carry only X, the keyed hash of a phone and
ids (never a phone):

- `<prefix>:{X}:a:<keyed A>` and `<prefix>:{X}:b:<keyed B>`: "binding|waybill|side|expiry-ms",
  with a TTL that ends with the binding;
- `<prefix>:{X}:live`: a sorted set of the live binding ids of X, scored by expiry, for capacity.

Expiry is decided by the service's clock (passed in, so tests inject it), the TTL only reclaims
memory. Each operation is one Lua script on X's keys, so it is atomic on the server, and the
{X} hash tag puts them in one Redis Cluster slot. A lost key (a restart without persistence,
an eviction) is never a refusal: a miss is confirmed by the database and written back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.engine import Connection

from privacy_waybill.storage.telephony import BINDINGS, TelephonyStore, binding_from_row, purge_bindings
from privacy_waybill.storage.waybills import PurgeHook
from privacy_waybill.telephony.model import (
    Binding,
    BindingStoreUnavailable,
    CallerLookup,
    CallerMatch,
    NumberLoad,
)

log = logging.getLogger("privacy_waybill.telephony.redis")

# Shared by the scripts: whether a held value names ARGV's binding, a value's expiry, and the
# one way a binding's A, B and live-set entries are written.
_HELPERS = """
local function expiry(held) return tonumber(string.match(held, '(%d+)$')) end
local function names(held, binding) return string.sub(held, 1, #binding + 1) == binding .. '|' end
local function keep_live_set(key, ttl)
  local left = redis.call('PTTL', key)
  if left < tonumber(ttl) then redis.call('PEXPIRE', key, ttl) end
end
local function write_binding(keys, binding, waybill, expiry_ms, ttl)
  local value = binding .. '|' .. waybill .. '|'
  redis.call('SET', keys[1], value .. 'a|' .. expiry_ms, 'PX', ttl)
  redis.call('SET', keys[2], value .. 'b|' .. expiry_ms, 'PX', ttl)
  redis.call('ZADD', keys[3], expiry_ms, binding)
  keep_live_set(keys[3], ttl)
end
"""

# KEYS: A key, B key, live set. ARGV: now, capacity, binding, waybill, expiry, ttl (ms).
# Returns 0 (claimed), 1 (A or B already live on X) or 2 (X full).
_CLAIM = _HELPERS + """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
for i = 1, 2 do
  local held = redis.call('GET', KEYS[i])
  if held and expiry(held) > now then return 1 end
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[2]) then return 2 end
write_binding(KEYS, ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return 0
"""

# KEYS: A key, B key, live set. ARGV: binding, waybill, expiry, ttl. Writes the database's truth.
_PUT = _HELPERS + """
write_binding(KEYS, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return 0
"""

# KEYS: A key, B key, live set. ARGV: binding, expiry, ttl. Only this binding's entries move.
_MOVE_END = _HELPERS + """
for i = 1, 2 do
  local held = redis.call('GET', KEYS[i])
  if held and names(held, ARGV[1]) then
    local moved = string.gsub(held, '%d+$', ARGV[2])
    redis.call('SET', KEYS[i], moved, 'PX', ARGV[3])
  end
end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1]) end
return 0
"""

# KEYS: A key, B key, live set. ARGV: binding. Leaves a newer binding's entries alone.
_RELEASE = _HELPERS + """
for i = 1, 2 do
  local held = redis.call('GET', KEYS[i])
  if held and names(held, ARGV[1]) then redis.call('DEL', KEYS[i]) end
end
redis.call('ZREM', KEYS[3], ARGV[1])
return 0
"""

# KEYS: A key, B key, live set. ARGV: now. Returns {value of the live A or B entry or '', live count}.
_LOOKUP = _HELPERS + """
local now = tonumber(ARGV[1])
for i = 1, 2 do
  local held = redis.call('GET', KEYS[i])
  if held and expiry(held) > now then return {held, 1} end
end
return {'', redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[1], '+inf')}
"""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class RedisBindingLookup:
    """The Redis side of the bindings; every Redis failure is a BindingStoreUnavailable."""

    def __init__(self, client: redis.Redis, prefix: str = "pwb:axb") -> None:
        self._client = client
        self._prefix = prefix
        self._claim = client.register_script(_CLAIM)
        self._put = client.register_script(_PUT)
        self._move_end = client.register_script(_MOVE_END)
        self._release = client.register_script(_RELEASE)
        self._lookup = client.register_script(_LOOKUP)

    @classmethod
    def from_url(cls, url: str, prefix: str = "pwb:axb") -> RedisBindingLookup:
        return cls(redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0), prefix)

    def _keys(self, x_number: str, a_index: bytes, b_index: bytes) -> list[str]:
        x = f"{self._prefix}:{{{x_number}}}"
        return [f"{x}:a:{a_index.hex()}", f"{x}:b:{b_index.hex()}", f"{x}:live"]

    def _run(self, script: Callable[..., Any], keys: list[str], args: list[object]) -> Any:
        try:
            return script(keys=keys, args=args)
        except redis.RedisError:
            raise BindingStoreUnavailable() from None

    def claim(self, binding: Binding, capacity: int, now: datetime) -> bool:
        """Take A and B on X for this binding, atomically, unless either is live there or X is full."""
        expires = _ms(binding.expires_at)
        keys = self._keys(binding.x_number, binding.a_index, binding.b_index)
        args: list[object] = [_ms(now), capacity, binding.id, binding.waybill_id, expires, max(1, expires - _ms(now))]
        return int(self._run(self._claim, keys, args)) == 0

    def put(self, binding: Binding, now: datetime) -> None:
        """Write a live binding as the database has it."""
        expires = _ms(binding.expires_at)
        keys = self._keys(binding.x_number, binding.a_index, binding.b_index)
        self._run(self._put, keys, [binding.id, binding.waybill_id, expires, max(1, expires - _ms(now))])

    def move_end(self, binding: Binding, expires_at: datetime, now: datetime) -> None:
        """The binding now ends at `expires_at`; at or before `now`, its entries go."""
        if expires_at <= now:
            self.release(binding)
            return
        expires = _ms(expires_at)
        keys = self._keys(binding.x_number, binding.a_index, binding.b_index)
        self._run(self._move_end, keys, [binding.id, expires, max(1, expires - _ms(now))])

    def release(self, binding: Binding) -> None:
        self._run(self._release, self._keys(binding.x_number, binding.a_index, binding.b_index), [binding.id])

    def lookup(self, x_number: str, caller_index: bytes, now: datetime) -> CallerLookup:
        """The caller's live binding on X, from Redis alone (the A side first, as the database does)."""
        held, live = self._run(self._lookup, self._keys(x_number, caller_index, caller_index), [_ms(now)])
        if not held:
            return CallerLookup(None, int(live) > 0)
        binding_id, waybill_id, side, _ = held.decode().split("|")
        return CallerLookup(CallerMatch(binding_id, waybill_id, side), True)


class RedisBackedTelephonyStore:
    """The TelephonyStorePort with routing and the uniqueness claim in Redis, the database as truth.

    A binding is claimed in Redis before it is written to the database, and released if the
    database refuses it. An end moved in the database that Redis could not take is kept here
    and written at the next operation; `resync` (at `pwb serve` start) rewrites every recent
    binding from the database.
    """

    def __init__(self, sql: TelephonyStore, lookup: RedisBindingLookup) -> None:
        self._sql = sql
        self._redis = lookup
        self._pending: dict[str, tuple[Binding, datetime]] = {}
        self._pending_lock = threading.Lock()

    def add_number(self, x_number: str, pool: str, capacity: int, now: datetime) -> bool:
        return self._sql.add_number(x_number, pool, capacity, now)

    def loads(self, now: datetime) -> list[NumberLoad]:
        return self._sql.loads(now)

    def viewers_of(self, b_index: bytes) -> dict[str, str]:
        return self._sql.viewers_of(b_index)

    def live_binding(self, waybill_id: str, viewer: str, now: datetime) -> Binding | None:
        return self._sql.live_binding(waybill_id, viewer, now)

    def live_for_waybill(self, waybill_id: str, now: datetime) -> list[Binding]:
        return self._sql.live_for_waybill(waybill_id, now)

    def erase_expired(self, now: datetime) -> int:
        return self._sql.erase_expired(now)

    def remember_nonce(self, nonce: str, now: datetime, keep_until: datetime) -> bool:
        return self._sql.remember_nonce(nonce, now, keep_until)

    def add_binding(self, binding: Binding, a_sealed: bytes, b_sealed: bytes, now: datetime) -> bool:
        self._write_pending(now)
        if not self._redis.claim(binding, self._sql.capacity_of(binding.x_number), now):
            return False
        try:
            added = self._sql.add_binding(binding, a_sealed, b_sealed, now)
        except Exception:
            self._redis.release(binding)
            raise
        if not added:
            self._redis.release(binding)
        return added

    def lookup(self, x_number: str, caller_index: bytes, now: datetime) -> CallerLookup:
        self._write_pending(now)
        found = self._redis.lookup(x_number, caller_index, now)
        if found.match is not None:
            return found
        confirmed = self._sql.lookup(x_number, caller_index, now)
        if confirmed.match is not None:
            binding = self._sql.binding(confirmed.match.binding_id)
            if binding is not None:
                log.warning("binding %s was missing from Redis; written back", binding.id)
                self._redis.put(binding, now)
        return confirmed

    def shorten(
        self, binding: Binding, expires_at: datetime, signed_off_at: datetime | None, erase: bool, now: datetime
    ) -> None:
        self._sql.shorten(binding, expires_at, signed_off_at, erase, now)
        try:
            self._redis.move_end(binding, expires_at, now)
        except BindingStoreUnavailable:
            # The database has the new end; routing is refused while Redis is away, and the
            # new end is written before the next look-up once it is back.
            log.warning("binding %s: new end not yet in Redis; kept to write later", binding.id)
            with self._pending_lock:
                self._pending[binding.id] = (binding, expires_at)

    def _write_pending(self, now: datetime) -> None:
        with self._pending_lock:
            pending, self._pending = list(self._pending.items()), {}
        for written, (_, (binding, expires_at)) in enumerate(pending):
            try:
                self._redis.move_end(binding, expires_at, now)
            except BindingStoreUnavailable:
                # This end and every one after it stay to be written; a newer end kept
                # meanwhile for the same binding wins.
                with self._pending_lock:
                    for binding_id, entry in pending[written:]:
                        self._pending.setdefault(binding_id, entry)
                raise

    def resync(self, since: datetime, now: datetime) -> int:
        """Rewrite from the database every binding live at or after `since`: the live ones as they
        are, the ended ones removed. Returns how many bindings were written."""
        self._write_pending(now)
        bindings = self._sql.live_since(since)
        for binding in bindings:
            if binding.is_live(now):
                self._redis.put(binding, now)
            else:
                self._redis.release(binding)
        return len(bindings)

    def purge_hook(self) -> PurgeHook:
        """The retention purge hook with Redis: the waybills' entries leave Redis before the
        database forgets their keyed A and B (after which no entry could be found to remove).
        Redis away: the shred's transaction rolls back and the purge job tries again later."""

        def purge(conn: Connection, waybill_ids: Sequence[str], now: datetime) -> None:
            rows = conn.execute(
                select(BINDINGS).where(BINDINGS.c.waybill_id.in_(list(waybill_ids)), BINDINGS.c.a_index != b"")
            ).mappings()
            for row in rows:
                self._redis.release(binding_from_row(row))
            purge_bindings(conn, waybill_ids, now)

        return purge
