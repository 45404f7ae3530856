"""Virtual numbers as a service: the pool, bindings on demand, call routing, expiry.

Every routing decision is audited (action `telephony.route`); refusals carry outcome
`denied` and rule `telephony:<reason>`, so the risk engine counts them like other denials.
A and B are kept as keyed hashes for routing and sealed for the provider adapter; nothing
here ever returns a real number.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from privacy_waybill.audit.model import AuditEvent, AuditSink, Outcome
from privacy_waybill.errors import FieldError
from privacy_waybill.telephony.model import (
    DEFAULT_TELEPHONY_POLICY,
    Binding,
    BindingStoreUnavailable,
    CallerLookup,
    NoNumberFree,
    NumberLoad,
    RouteAction,
    RouteDecision,
    TelephonyPolicy,
    TelephonyProvider,
)
from privacy_waybill.telephony.pool import choose_x
from privacy_waybill.validation.phones import normalise_phone
from privacy_waybill.vault.aead import frame
from privacy_waybill.vault.keyring import KeySource, VersionedSeal

log = logging.getLogger("privacy_waybill.telephony")
ROUTE_ACTION = "telephony.route"
_BIND_ATTEMPTS = 3


class TelephonyStorePort(Protocol):
    def add_number(self, x_number: str, pool: str, capacity: int, now: datetime) -> bool: ...
    def loads(self, now: datetime) -> list[NumberLoad]: ...
    def viewers_of(self, b_index: bytes) -> dict[str, str]: ...
    def live_binding(self, waybill_id: str, viewer: str, now: datetime) -> Binding | None: ...
    def add_binding(self, binding: Binding, a_sealed: bytes, b_sealed: bytes, now: datetime) -> bool:
        """Add the binding unless X already carries a live one with the same A or B, or is full."""
        ...
    def lookup(self, x_number: str, caller_index: bytes, now: datetime) -> CallerLookup: ...
    def live_for_waybill(self, waybill_id: str, now: datetime) -> list[Binding]: ...
    def shorten(
        self, binding: Binding, expires_at: datetime, signed_off_at: datetime | None, erase: bool, now: datetime
    ) -> None: ...
    def erase_expired(self, now: datetime) -> int: ...
    def remember_nonce(self, nonce: str, now: datetime, keep_until: datetime) -> bool: ...


class PhoneSeals:
    """A and B sealed for the provider adapter, each bound to its binding and side, naming its key version."""

    def __init__(self, keys: KeySource) -> None:
        self._seal = VersionedSeal(keys)

    def seal(self, binding_id: str, side: str, phone: str) -> bytes:
        return self._seal.seal(phone.encode(), _axb_context(binding_id, side))

    def open(self, binding_id: str, side: str, sealed: bytes) -> str:
        return self._seal.open(sealed, _axb_context(binding_id, side)).decode()

    def reseal(self, binding_id: str, side: str, sealed: bytes) -> bytes | None:
        """The phone sealed under the current key version; None when it already is."""
        return self._seal.reseal(sealed, _axb_context(binding_id, side))


def _axb_context(binding_id: str, side: str) -> bytes:
    return frame(b"pwb axb", binding_id.encode(), side.encode())


class TelephonyService:
    def __init__(
        self,
        *,
        store: TelephonyStorePort,
        provider: TelephonyProvider,
        phone_index: Callable[[str], bytes],
        seals: PhoneSeals,
        audit: AuditSink,
        policy: TelephonyPolicy = DEFAULT_TELEPHONY_POLICY,
    ) -> None:
        self._store = store
        self.provider = provider
        self._phone_index = phone_index
        self._seals = seals
        self._audit = audit
        self.policy = policy

    def index_of(self, phone: str) -> bytes:
        """The keyed hash of a phone in E.164 or national form; FieldError if it is no number."""
        return self._phone_index(normalise_phone(phone).canonical)

    def add_numbers(self, numbers: Sequence[str], capacity: int, pool: str, now: datetime) -> int:
        """Add X numbers to the pool; returns how many were new."""
        if capacity < 1:
            raise FieldError("capacity", "must be at least 1")
        added = 0
        for number in numbers:
            canonical = normalise_phone(number).canonical
            added += self._store.add_number(canonical, pool, capacity, now)
        return added

    def bind(self, waybill_id: str, viewer: str, a_phone: str, b_phone: str, now: datetime) -> Binding:
        """The live binding of this viewer for this waybill, created when there is none."""
        existing = self._store.live_binding(waybill_id, viewer, now)
        if existing is not None:
            return existing
        a_index, b_index = self.index_of(a_phone), self.index_of(b_phone)
        for _ in range(_BIND_ATTEMPTS):
            others = {x: v for x, v in self._store.viewers_of(b_index).items() if v != viewer}
            x_number = choose_x(self._store.loads(now), a_index, b_index, others)
            if x_number is None:
                raise NoNumberFree()
            binding_id = f"b_{secrets.token_hex(8)}"
            expires_at = now + self.policy.hard_maximum
            binding = Binding(
                id=binding_id, waybill_id=waybill_id, viewer=viewer, x_number=x_number,
                a_index=a_index, b_index=b_index, provider=self.provider.name,
                provider_binding_id=self.provider.bind(x_number, a_phone, b_phone, expires_at, binding_id),
                created_at=now, expires_at=expires_at, signed_off_at=None,
            )  # fmt: skip
            try:
                added = self._store.add_binding(
                    binding, self._seals.seal(binding_id, "a", a_phone), self._seals.seal(binding_id, "b", b_phone), now
                )
            except BindingStoreUnavailable:
                # The provider must not keep connecting a binding the platform never recorded.
                self.provider.unbind(binding.provider_binding_id, x_number)
                raise
            # Two binds racing for one X: the one that loses steps back and chooses again.
            if added:
                log.info("binding %s on %s for waybill %s", binding_id, x_number, waybill_id)
                return binding
            self.provider.unbind(binding.provider_binding_id, x_number)
        raise NoNumberFree()

    def route(self, caller: str, x_number: str, now: datetime) -> RouteDecision:
        """Where a call from `caller` to `x_number` goes: to B, to A, or nowhere (audited)."""
        try:
            caller_index: bytes | None = self.index_of(caller)
            x = normalise_phone(x_number).canonical
        except FieldError:
            caller_index, x = None, x_number
        if caller_index is None:
            decision = RouteDecision(RouteAction.REFUSE, "no-live-binding")
        else:
            try:
                decision = _decide(self._store.lookup(x, caller_index, now))
            except BindingStoreUnavailable:
                # Fail closed: without the shared look-up no call may be connected.
                decision = RouteDecision(RouteAction.REFUSE, "binding-store-unavailable")
        self._record(decision, x, caller_index, now)
        return decision

    def _record(self, decision: RouteDecision, x_number: str, caller_index: bytes | None, now: datetime) -> None:
        detail = {"x": x_number, "caller": caller_index.hex() if caller_index else "unparseable"}
        if decision.binding_id:
            detail["binding"] = decision.binding_id
        self._audit.record(
            AuditEvent(
                at=now,
                actor=f"telephony:{self.provider.name}",
                role="telephony_provider",
                action=ROUTE_ACTION,
                outcome=Outcome.DENIED if decision.action is RouteAction.REFUSE else Outcome.ALLOWED,
                rule=f"telephony:{decision.reason}",
                waybill_id=decision.waybill_id,
                detail=detail,
            )
        )

    def end_after_sign_off(self, waybill_id: str, now: datetime) -> int:
        """Schedule every live binding of the waybill to end at sign-off plus the grace period."""
        until = now + self.policy.grace_after_sign_off
        changed = 0
        for binding in self._store.live_for_waybill(waybill_id, now):
            ends = min(binding.expires_at, until)
            self._store.shorten(binding, ends, now, erase=False, now=now)
            self.provider.update_expiry(binding.provider_binding_id, binding.x_number, ends)
            changed += 1
        # Bindings whose grace is over no longer need the sealed numbers.
        self._store.erase_expired(now)
        return changed

    def end_now(self, waybill_id: str, now: datetime) -> int:
        """End every live binding of the waybill at once (a parcel taken back from a courier)."""
        ended = 0
        for binding in self._store.live_for_waybill(waybill_id, now):
            self._store.shorten(binding, now, binding.signed_off_at, erase=True, now=now)
            self.provider.unbind(binding.provider_binding_id, binding.x_number)
            ended += 1
        return ended

    def live_bindings(self, waybill_id: str, now: datetime) -> list[Binding]:
        return self._store.live_for_waybill(waybill_id, now)

    def remember_nonce(self, nonce: str, now: datetime, keep_until: datetime) -> bool:
        return self._store.remember_nonce(nonce, now, keep_until)


def _decide(lookup: CallerLookup) -> RouteDecision:
    match = lookup.match
    if match is None:
        return RouteDecision(RouteAction.REFUSE, "unknown-caller" if lookup.x_has_live else "no-live-binding")
    if match.side == "a":
        return RouteDecision(RouteAction.CONNECT_TO_B, "a-to-b", match.binding_id, match.waybill_id)
    return RouteDecision(RouteAction.CONNECT_TO_A, "b-to-a", match.binding_id, match.waybill_id)
