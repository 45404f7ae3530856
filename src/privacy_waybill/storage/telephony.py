"""Repository of virtual numbers (the TelephonyStorePort) and the wiring of a TelephonyService."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, RowMapping, Table, case, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from privacy_waybill.audit.model import AuditSink
from privacy_waybill.storage.telephony_tables import Binding as BindingRow
from privacy_waybill.storage.telephony_tables import CallbackNonce, VirtualNumber
from privacy_waybill.telephony.model import (
    Binding,
    CallerLookup,
    CallerMatch,
    NumberLoad,
    TelephonyPolicy,
    TelephonyProvider,
)
from privacy_waybill.telephony.service import PhoneSeals, TelephonyService, TelephonyStorePort
from privacy_waybill.tracing.matching import VirtualNumberViewer
from privacy_waybill.vault.blind_index import BlindIndexer
from privacy_waybill.vault.platform_keys import PLATFORM_KEY_TENANT
from privacy_waybill.vault.purpose_keys import PurposeKeys

NUMBERS = cast(Table, VirtualNumber.__table__)
BINDINGS = cast(Table, BindingRow.__table__)
NONCES = cast(Table, CallbackNonce.__table__)
_BINDING_FIELDS = (
    "id", "waybill_id", "viewer", "x_number", "a_index", "b_index", "provider",
    "provider_binding_id", "created_at", "expires_at", "signed_off_at",
)  # fmt: skip


def binding_from_row(row: RowMapping) -> Binding:
    return Binding(**{f: row[f] for f in _BINDING_FIELDS})


class TelephonyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_number(self, x_number: str, pool: str, capacity: int, now: datetime) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(NUMBERS).values(x_number=x_number, pool=pool, capacity=capacity, added_at=now))
        except IntegrityError:
            return False
        return True

    def loads(self, now: datetime) -> list[NumberLoad]:
        with self.engine.connect() as conn:
            numbers = conn.execute(select(NUMBERS.c.x_number, NUMBERS.c.capacity)).all()
            live = conn.execute(
                select(BINDINGS.c.x_number, BINDINGS.c.a_index, BINDINGS.c.b_index).where(BINDINGS.c.expires_at > now)
            ).all()
        sides: dict[str, tuple[set[bytes], set[bytes]]] = {n.x_number: (set(), set()) for n in numbers}
        counts: dict[str, int] = dict.fromkeys(sides, 0)
        for row in live:
            if row.x_number in sides:
                sides[row.x_number][0].add(row.a_index)
                sides[row.x_number][1].add(row.b_index)
                counts[row.x_number] += 1
        return [
            NumberLoad(
                n.x_number,
                n.capacity,
                counts[n.x_number],
                frozenset(sides[n.x_number][0]),
                frozenset(sides[n.x_number][1]),
            )
            for n in numbers
        ]

    def viewers_of(self, b_index: bytes) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(BINDINGS.c.x_number, BINDINGS.c.viewer).where(BINDINGS.c.b_index == b_index)
            ).all()
        return {row.x_number: row.viewer for row in rows}

    def live_binding(self, waybill_id: str, viewer: str, now: datetime) -> Binding | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(BINDINGS).where(
                        BINDINGS.c.waybill_id == waybill_id, BINDINGS.c.viewer == viewer, BINDINGS.c.expires_at > now
                    )
                )
                .mappings()
                .first()
            )
        return binding_from_row(row) if row else None

    def capacity_of(self, x_number: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(NUMBERS.c.capacity).where(NUMBERS.c.x_number == x_number)).scalar_one())

    def add_binding(self, binding: Binding, a_sealed: bytes, b_sealed: bytes, now: datetime) -> bool:
        """Insert, then look for a clash: of two racing inserts the later check sees the other,
        so at worst both step back, and never do two clashing bindings both stay."""
        values: dict[str, Any] = {f: getattr(binding, f) for f in _BINDING_FIELDS}
        with self.engine.begin() as conn:
            conn.execute(insert(BINDINGS).values(**values, a_sealed=a_sealed, b_sealed=b_sealed))
        if not self._clashes(binding, now):
            return True
        with self.engine.begin() as conn:
            conn.execute(delete(BINDINGS).where(BINDINGS.c.id == binding.id))
        return False

    def _clashes(self, binding: Binding, now: datetime) -> bool:
        """Whether another live binding on the same X has the same A or B, or X is over capacity."""
        same_x = (BINDINGS.c.x_number == binding.x_number, BINDINGS.c.expires_at > now)
        with self.engine.connect() as conn:
            clash = conn.execute(
                select(func.count()).where(
                    *same_x,
                    BINDINGS.c.id != binding.id,
                    (BINDINGS.c.a_index == binding.a_index) | (BINDINGS.c.b_index == binding.b_index),
                )
            ).scalar_one()
            live = conn.execute(select(func.count()).where(*same_x)).scalar_one()
            capacity = conn.execute(
                select(NUMBERS.c.capacity).where(NUMBERS.c.x_number == binding.x_number)
            ).scalar_one()
        return clash > 0 or live > capacity

    def lookup(self, x_number: str, caller_index: bytes, now: datetime) -> CallerLookup:
        live_on_x = (BINDINGS.c.x_number == x_number, BINDINGS.c.expires_at > now)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(BINDINGS.c.id, BINDINGS.c.waybill_id, BINDINGS.c.a_index).where(
                    *live_on_x, (BINDINGS.c.a_index == caller_index) | (BINDINGS.c.b_index == caller_index)
                )
            ).all()
            if not rows:
                any_live = conn.execute(select(BINDINGS.c.id).where(*live_on_x).limit(1)).first()
                return CallerLookup(None, any_live is not None)
        # A phone that is A of one binding and B of another on this X calls as the courier.
        row = next((r for r in rows if r.a_index == caller_index), rows[0])
        return CallerLookup(CallerMatch(row.id, row.waybill_id, "a" if row.a_index == caller_index else "b"), True)

    def binding(self, binding_id: str) -> Binding | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(BINDINGS).where(BINDINGS.c.id == binding_id)).mappings().first()
        return binding_from_row(row) if row else None

    def live_since(self, since: datetime) -> list[Binding]:
        """Bindings live at or after `since` whose keyed A and B are still kept (not purged)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(BINDINGS).where(BINDINGS.c.expires_at > since, BINDINGS.c.a_index != b"")
            ).mappings()
            return [binding_from_row(r) for r in rows]

    def live_for_waybill(self, waybill_id: str, now: datetime) -> list[Binding]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(BINDINGS).where(BINDINGS.c.waybill_id == waybill_id, BINDINGS.c.expires_at > now)
            ).mappings()
            return [binding_from_row(r) for r in rows]

    def shorten(
        self, binding: Binding, expires_at: datetime, signed_off_at: datetime | None, erase: bool, now: datetime
    ) -> None:
        values: dict[str, Any] = {"expires_at": expires_at, "signed_off_at": signed_off_at}
        if erase:
            values.update(a_sealed=None, b_sealed=None)
        with self.engine.begin() as conn:
            conn.execute(update(BINDINGS).where(BINDINGS.c.id == binding.id).values(**values))

    def erase_expired(self, now: datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                update(BINDINGS)
                .where(BINDINGS.c.expires_at <= now, BINDINGS.c.a_sealed.is_not(None))
                .values(a_sealed=None, b_sealed=None)
            ).rowcount

    def remember_nonce(self, nonce: str, now: datetime, keep_until: datetime) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(NONCES).where(NONCES.c.expires_at < now))
                conn.execute(insert(NONCES).values(nonce=nonce, expires_at=keep_until))
        except IntegrityError:
            return False
        return True


def build_telephony(
    engine: Engine, keys: PurposeKeys, blind_index: BlindIndexer, provider: TelephonyProvider, audit: AuditSink,
    policy: TelephonyPolicy, store: TelephonyStorePort | None = None,
) -> TelephonyService:  # fmt: skip
    """`store` replaces the database-only store (the Redis-backed one when PWB_REDIS_URL is set)."""
    return TelephonyService(
        store=store or TelephonyStore(engine),
        provider=provider,
        phone_index=lambda canonical: blind_index.index(PLATFORM_KEY_TENANT, "telephony-phone", canonical),
        seals=PhoneSeals(keys.ring("axb-phone")),
        audit=audit,
        policy=policy,
    )


def purge_bindings(conn: Connection, waybill_ids: Sequence[str], now: datetime) -> None:
    """Retention purge hook (run in the shred's transaction): the waybills' bindings end, their
    sealed numbers and keyed hashes of A and B are erased; X, viewer and times stay."""
    conn.execute(
        update(BINDINGS)
        .where(BINDINGS.c.waybill_id.in_(list(waybill_ids)))
        .values(
            a_sealed=None,
            b_sealed=None,
            a_index=b"",
            b_index=b"",
            expires_at=case((BINDINGS.c.expires_at > now, now), else_=BINDINGS.c.expires_at),
        )
    )


class BindingViewers:
    """Leak tracing's view of the bindings (the VirtualNumbers port): every viewer a virtual
    number X was given to, with the waybill, live or ended (a purge keeps X and the viewer)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def viewers(self, number: str) -> list[VirtualNumberViewer]:
        x_number = _as_e164(number)
        if x_number is None:
            return []
        query = (
            select(BINDINGS.c.viewer, BINDINGS.c.waybill_id)
            .where(BINDINGS.c.x_number == x_number)
            .distinct()
            .order_by(BINDINGS.c.viewer, BINDINGS.c.waybill_id)
        )
        with self.engine.connect() as conn:
            return [VirtualNumberViewer(row.viewer, row.waybill_id) for row in conn.execute(query)]


def _as_e164(number: str) -> str | None:
    """A leaked X as written (17100000001, +86 171 0000 0001, 86-171...) in the stored E.164 form."""
    digits = "".join(c for c in number if c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    if len(digits) == 13 and digits.startswith("861"):
        return "+" + digits
    return None
