"""Virtual-number bindings behave the same with the database alone (the default) and with the
look-ups in Redis (PWB_REDIS_URL): routing both ways, the end at sign-off + 2 h and at 72 h
(injected clock), refusal after the end, never two live bindings with the same A or B on one X,
each X's capacity, races, the retention purge. Then what only Redis has: no phone in it, lost
entries confirmed by the database, stale ones rewritten from it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import redis

from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.redis_bindings import RedisBackedTelephonyStore, RedisBindingLookup
from privacy_waybill.storage.telephony import BINDINGS, TelephonyStore, build_telephony, purge_bindings
from privacy_waybill.telephony import (
    DEFAULT_TELEPHONY_POLICY,
    BindingStoreUnavailable,
    NoNumberFree,
    RouteAction,
    SimulatedTelephony,
    TelephonyService,
)
from redis_support import redis_client

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
X1, X2, X3 = "+8617100009001", "+8617100009002", "+8617100009003"
COURIER_A, OTHER_A = "13700001111", "13700002222"
RECIPIENT_B, OTHER_B, STRANGER = "13900003333", "13900004444", "13600005555"


class Stores:
    """The service under test and, for the Redis kind, the client and key prefix it writes."""

    def __init__(self, rt: Runtime, kind: str, redis_side: tuple[object, str] | None) -> None:
        sql = TelephonyStore(rt.engine)
        self.redis_side = redis_side
        if redis_side is None:
            self.store: TelephonyStore | RedisBackedTelephonyStore = sql
        else:
            client, prefix = redis_side
            self.store = RedisBackedTelephonyStore(sql, RedisBindingLookup(client, prefix))  # type: ignore[arg-type]
        self.kind = kind
        self.sql = sql
        self.service: TelephonyService = build_telephony(
            rt.engine, rt.purpose_keys, rt.blind_index, SimulatedTelephony(), rt.audit, DEFAULT_TELEPHONY_POLICY, self.store
        )


@pytest.fixture(params=["database", "redis"])
def stores(request: pytest.FixtureRequest, rt: Runtime) -> Iterator[Stores]:
    if request.param == "redis":
        for client, prefix in redis_client():
            yield Stores(rt, "redis", (client, f"{prefix}:axb"))
        return
    yield Stores(rt, "database", None)


def pool(stores: Stores, *numbers: str, capacity: int = 200) -> None:
    stores.service.add_numbers(numbers, capacity, "test", T0)


def routes(stores: Stores, caller: str, x: str, now: datetime) -> RouteAction:
    return stores.service.route(caller, x, now).action


def test_a_binding_connects_a_to_b_and_b_to_a_and_refuses_anyone_else(stores: Stores, rt: Runtime) -> None:
    pool(stores, X1, X2)
    binding = stores.service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    other_x = X2 if binding.x_number == X1 else X1
    assert stores.service.route(COURIER_A, binding.x_number, T0).binding_id == binding.id
    assert routes(stores, COURIER_A, binding.x_number, T0) is RouteAction.CONNECT_TO_B
    assert routes(stores, RECIPIENT_B, binding.x_number, T0) is RouteAction.CONNECT_TO_A
    assert stores.service.route(STRANGER, binding.x_number, T0).reason == "unknown-caller"
    assert stores.service.route(COURIER_A, other_x, T0).reason == "no-live-binding"
    assert stores.service.route("not a phone", binding.x_number, T0).reason == "no-live-binding"
    rules = [e.event().rule for e in rt.audit.events(action="telephony.route", limit=100)]
    assert sorted(rules) == sorted(
        ["telephony:a-to-b"] * 2 + ["telephony:b-to-a", "telephony:unknown-caller"] + ["telephony:no-live-binding"] * 2
    )


def test_a_binding_ends_at_72_hours_and_calls_are_refused_afterwards(stores: Stores) -> None:
    pool(stores, X1)
    binding = stores.service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    assert binding.expires_at == T0 + timedelta(hours=72)
    assert routes(stores, COURIER_A, X1, T0 + timedelta(hours=72) - SECOND) is RouteAction.CONNECT_TO_B
    for caller in (COURIER_A, RECIPIENT_B):
        decision = stores.service.route(caller, X1, T0 + timedelta(hours=72))
        assert (decision.action, decision.reason) == (RouteAction.REFUSE, "no-live-binding")


def test_sign_off_ends_the_binding_two_hours_later_never_after_72_hours(stores: Stores) -> None:
    pool(stores, X1, X2)
    early = stores.service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    late = stores.service.bind("w_2", "user:c2", OTHER_A, OTHER_B, T0)
    signed = T0 + timedelta(hours=5)
    assert stores.service.end_after_sign_off("w_1", signed) == 1
    assert routes(stores, RECIPIENT_B, early.x_number, signed + timedelta(hours=2) - SECOND) is RouteAction.CONNECT_TO_A
    assert routes(stores, RECIPIENT_B, early.x_number, signed + timedelta(hours=2)) is RouteAction.REFUSE
    # Signed off an hour before the hard maximum: the binding still ends at 72 h.
    stores.service.end_after_sign_off("w_2", T0 + timedelta(hours=71))
    assert routes(stores, OTHER_A, late.x_number, T0 + timedelta(hours=72) - SECOND) is RouteAction.CONNECT_TO_B
    assert routes(stores, OTHER_A, late.x_number, T0 + timedelta(hours=72)) is RouteAction.REFUSE


def test_a_binding_ended_at_once_refuses_at_once_and_frees_its_a_and_b(stores: Stores) -> None:
    pool(stores, X1)
    stores.service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    assert stores.service.end_now("w_1", T0 + SECOND) == 1
    assert routes(stores, COURIER_A, X1, T0 + SECOND) is RouteAction.REFUSE
    # The same A and B may be bound again on the same X once the first binding has ended.
    again = stores.service.bind("w_1", "user:c2", COURIER_A, RECIPIENT_B, T0 + 2 * SECOND)
    assert again.x_number == X1
    assert routes(stores, COURIER_A, X1, T0 + 2 * SECOND) is RouteAction.CONNECT_TO_B


def test_never_two_live_bindings_with_the_same_a_or_the_same_b_on_one_x(stores: Stores) -> None:
    pool(stores, X1)
    stores.service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    with pytest.raises(NoNumberFree):
        stores.service.bind("w_2", "user:c1", COURIER_A, OTHER_B, T0)  # same A
    with pytest.raises(NoNumberFree):
        stores.service.bind("w_3", "user:c2", OTHER_A, RECIPIENT_B, T0)  # same B
    pool(stores, X2)
    assert stores.service.bind("w_2", "user:c1", COURIER_A, OTHER_B, T0).x_number == X2
    # Once the first binding has ended, X1 takes the same A again.
    after = T0 + timedelta(hours=72)
    assert stores.service.bind("w_4", "user:c1", COURIER_A, STRANGER, after).x_number == X1


def test_an_x_carries_no_more_live_bindings_than_its_capacity(stores: Stores) -> None:
    pool(stores, X1, capacity=2)
    stores.service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    stores.service.bind("w_2", "user:c2", OTHER_A, OTHER_B, T0)
    with pytest.raises(NoNumberFree):
        stores.service.bind("w_3", "user:c3", "13700003333", STRANGER, T0)
    stores.service.end_after_sign_off("w_1", T0)
    with pytest.raises(NoNumberFree):  # still live for its two hours of grace
        stores.service.bind("w_3", "user:c3", "13700003333", STRANGER, T0 + timedelta(hours=2) - SECOND)
    assert stores.service.bind("w_3", "user:c3", "13700003333", STRANGER, T0 + timedelta(hours=2)).x_number == X1


def test_racing_binds_of_one_courier_never_share_an_x_nor_exceed_capacity(stores: Stores) -> None:
    pool(stores, X1, X2, X3, capacity=2)

    def bind(n: int) -> str | None:
        try:
            return stores.service.bind(f"w_{n}", "user:c1", COURIER_A, f"139{n:08d}", T0).x_number
        except NoNumberFree:
            return None

    with ThreadPoolExecutor(8) as threads:
        taken = [x for x in threads.map(bind, range(12)) if x is not None]
    assert taken and len(taken) == len(set(taken)) <= 3  # one live binding of A per X
    live = [b for n in range(12) for b in stores.service.live_bindings(f"w_{n}", T0)]
    assert sorted(b.x_number for b in live) == sorted(taken)
    for binding in live:
        assert stores.service.route(COURIER_A, binding.x_number, T0).binding_id == binding.id


def test_the_retention_purge_ends_the_binding_everywhere(stores: Stores, rt: Runtime) -> None:
    pool(stores, X1)
    stores.service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    hook = stores.store.purge_hook() if isinstance(stores.store, RedisBackedTelephonyStore) else purge_bindings
    with rt.engine.begin() as conn:
        hook(conn, ["w_1"], T0 + SECOND)
    for caller in (COURIER_A, RECIPIENT_B):
        assert routes(stores, caller, X1, T0 + SECOND) is RouteAction.REFUSE
    if stores.redis_side is not None:
        assert redis_entries(stores) == {}


# --- what only the Redis look-up has -------------------------------------------------------------


@pytest.fixture
def redis_stores(rt: Runtime) -> Iterator[Stores]:
    for client, prefix in redis_client():
        yield Stores(rt, "redis", (client, f"{prefix}:axb"))


def redis_entries(stores: Stores) -> dict[bytes, bytes]:
    client: redis.Redis = stores.redis_side[0]  # type: ignore[index,assignment]
    prefix = stores.redis_side[1]  # type: ignore[index]
    entries = {}
    for key in client.scan_iter(f"{prefix}:*"):
        is_string = client.type(key) == b"string"
        entries[key] = client.get(key) if is_string else b" ".join(client.zrange(key, 0, -1))
    return entries


def test_redis_holds_keyed_hashes_and_ids_never_a_phone(redis_stores: Stores) -> None:
    pool(redis_stores, X1)
    binding = redis_stores.service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    entries = redis_entries(redis_stores)
    assert len(entries) == 3  # A's entry, B's entry, X's live set
    written = b" ".join([*entries, *entries.values()])
    for phone in (COURIER_A, RECIPIENT_B):
        assert phone.encode() not in written and phone[3:].encode() not in written
    assert binding.a_index.hex().encode() in written and binding.id.encode() in written


def test_entries_lost_from_redis_are_confirmed_by_the_database_and_written_back(redis_stores: Stores) -> None:
    pool(redis_stores, X1)
    redis_stores.service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    client, _ = redis_stores.redis_side  # type: ignore[misc]
    client.delete(*redis_entries(redis_stores))  # type: ignore[attr-defined]
    assert routes(redis_stores, RECIPIENT_B, X1, T0) is RouteAction.CONNECT_TO_A
    assert len(redis_entries(redis_stores)) == 3


def test_a_stale_end_in_redis_is_rewritten_from_the_database_by_resync(redis_stores: Stores, rt: Runtime) -> None:
    pool(redis_stores, X1)
    binding = redis_stores.service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    # The database ends the binding behind Redis's back (as a process that died before telling it).
    redis_stores.sql.shorten(binding, T0 + SECOND, None, erase=True, now=T0 + SECOND)
    assert routes(redis_stores, COURIER_A, X1, T0 + 2 * SECOND) is RouteAction.CONNECT_TO_B  # Redis is stale
    assert isinstance(redis_stores.store, RedisBackedTelephonyStore)
    assert redis_stores.store.resync(T0 - timedelta(hours=72), T0 + 2 * SECOND) == 1
    assert routes(redis_stores, COURIER_A, X1, T0 + 2 * SECOND) is RouteAction.REFUSE
    with rt.engine.connect() as conn:
        assert conn.execute(BINDINGS.select()).mappings().one()["expires_at"].replace(tzinfo=UTC) == T0 + SECOND


class RecordingProvider(SimulatedTelephony):
    def __init__(self) -> None:
        self.bound: list[str] = []
        self.unbound: list[str] = []

    def bind(self, x_number: str, a_phone: str, b_phone: str, expires_at: datetime, out_id: str) -> str:
        self.bound.append(super().bind(x_number, a_phone, b_phone, expires_at, out_id))
        return self.bound[-1]

    def unbind(self, provider_binding_id: str, x_number: str) -> None:
        self.unbound.append(provider_binding_id)


def test_redis_unreachable_refuses_the_binding_and_the_provider_keeps_none(rt: Runtime) -> None:
    provider = RecordingProvider()
    store = RedisBackedTelephonyStore(TelephonyStore(rt.engine), RedisBindingLookup.from_url("redis://127.0.0.1:1/0"))
    service = build_telephony(rt.engine, rt.purpose_keys, rt.blind_index, provider, rt.audit, DEFAULT_TELEPHONY_POLICY, store)
    service.add_numbers([X1], 200, "test", T0)
    with pytest.raises(BindingStoreUnavailable):
        service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
    assert provider.bound and provider.unbound == provider.bound
    assert service.live_bindings("w_1", T0) == []
    decision = service.route(COURIER_A, X1, T0)
    assert (decision.action, decision.reason) == (RouteAction.REFUSE, "binding-store-unavailable")


class FailingMoves(RedisBindingLookup):
    """Redis that refuses the next `failures` moves of a binding's end, as when it is away."""

    failures = 0

    def move_end(self, binding, expires_at, now):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise BindingStoreUnavailable()
        super().move_end(binding, expires_at, now)


def test_ends_redis_could_not_take_are_all_written_once_it_is_back(rt: Runtime) -> None:
    for client, prefix in redis_client():
        lookup = FailingMoves(client, f"{prefix}:axb")  # type: ignore[arg-type]
        store = RedisBackedTelephonyStore(TelephonyStore(rt.engine), lookup)
        service = build_telephony(
            rt.engine, rt.purpose_keys, rt.blind_index, SimulatedTelephony(), rt.audit, DEFAULT_TELEPHONY_POLICY, store
        )
        service.add_numbers([X1], 200, "test", T0)
        service.bind("w_1", "user:c1", COURIER_A, RECIPIENT_B, T0)
        service.bind("w_2", "user:c2", OTHER_A, OTHER_B, T0)
        lookup.failures = 2  # both ends are kept to write later
        assert service.end_now("w_1", T0 + SECOND) == 1 and service.end_now("w_2", T0 + SECOND) == 1
        lookup.failures = 1  # the first of them fails again: the call is refused, none is dropped
        assert service.route(COURIER_A, X1, T0 + 2 * SECOND).reason == "binding-store-unavailable"
        assert service.route(COURIER_A, X1, T0 + 2 * SECOND).reason == "no-live-binding"
        # Redis alone (no database confirmation) now has both ends: neither binding routes.
        for caller in (COURIER_A, OTHER_A):
            assert lookup.lookup(X1, service.index_of(caller), T0 + 2 * SECOND).match is None
