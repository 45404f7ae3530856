"""Virtual numbers (AXB): a courier A and a recipient B reach each other only through X.

A binding links A and B through X for one waybill and one viewer (the courier who asked).
A call from A to X reaches B, from B to X reaches A; any other caller is refused. Bindings
end at sign-off plus a grace period and at a hard maximum after creation, whichever is first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from privacy_waybill.errors import PrivacyWaybillError


@dataclass(frozen=True, slots=True)
class TelephonyPolicy:
    grace_after_sign_off: timedelta = timedelta(hours=2)
    hard_maximum: timedelta = timedelta(hours=72)
    # How far a provider callback's timestamp may be from our clock.
    callback_skew: timedelta = timedelta(minutes=5)


DEFAULT_TELEPHONY_POLICY = TelephonyPolicy()


@dataclass(frozen=True, slots=True)
class Binding:
    id: str
    waybill_id: str
    viewer: str
    x_number: str
    a_index: bytes = field(repr=False)
    b_index: bytes = field(repr=False)
    provider: str
    provider_binding_id: str
    created_at: datetime
    expires_at: datetime
    signed_off_at: datetime | None

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at


@dataclass(frozen=True, slots=True)
class NumberLoad:
    """One X of the pool as the chooser sees it."""

    x_number: str
    capacity: int
    live: int
    # Keyed hashes of the A and B sides of its live bindings.
    live_a: frozenset[bytes] = field(repr=False)
    live_b: frozenset[bytes] = field(repr=False)


@dataclass(frozen=True, slots=True)
class CallerMatch:
    """The live binding a caller belongs to on one X, and its side ("a" the courier, "b" the recipient)."""

    binding_id: str
    waybill_id: str
    side: str


@dataclass(frozen=True, slots=True)
class CallerLookup:
    match: CallerMatch | None
    # Whether X carries any live binding: a refusal says "unknown-caller" rather than "no-live-binding".
    x_has_live: bool


class RouteAction(StrEnum):
    CONNECT_TO_B = "connect_to_b"
    CONNECT_TO_A = "connect_to_a"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class RouteDecision:
    action: RouteAction
    # Why: "a-to-b", "b-to-a", "no-live-binding", "unknown-caller", "binding-store-unavailable".
    reason: str
    binding_id: str | None = None
    waybill_id: str | None = None


class NoNumberFree(PrivacyWaybillError):
    def __init__(self) -> None:
        super().__init__("no virtual number is free for this call; add numbers to the pool or try later")


class BindingStoreUnavailable(PrivacyWaybillError):
    """The shared binding look-up (Redis) cannot be reached: no call is connected, no binding made."""

    def __init__(self) -> None:
        super().__init__("the virtual-number binding store is unavailable; calls are refused until it is back")


class CallbackRejected(PrivacyWaybillError):
    """A provider callback is unsigned, badly signed, stale or replayed."""


class TelephonyProvider(Protocol):
    """A number-protection service (Alibaba Cloud Phone Number Protection, Huawei PrivateNumber).

    See docs/telephony.md for how BindAxb / CreateAXBBinding map onto these calls.
    """

    name: str

    def bind(self, x_number: str, a_phone: str, b_phone: str, expires_at: datetime, out_id: str) -> str:
        """Create the binding at the provider; returns its binding id (Aliyun SubsId)."""
        ...

    def unbind(self, provider_binding_id: str, x_number: str) -> None:
        """End a binding early (Aliyun UnbindSubscription, Huawei DeleteAXBBinding)."""
        ...

    def update_expiry(self, provider_binding_id: str, x_number: str, expires_at: datetime) -> None:
        """Move a binding's end (Aliyun UpdateSubscription; Huawei UpdateAXBBinding duration)."""
        ...
