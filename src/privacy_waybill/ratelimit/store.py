"""What a counter back end provides; the rule itself lives in `rules`."""

from __future__ import annotations

from typing import Protocol

from privacy_waybill.errors import PrivacyWaybillError


class RateLimiterUnavailable(PrivacyWaybillError):
    """The counter back end cannot be reached; callers fail closed or degrade on purpose."""

    def __init__(self) -> None:
        super().__init__("the rate-limit store is unavailable")


class CounterStore(Protocol):
    def increment(self, name: str, key: str, window: int, ttl_seconds: int) -> tuple[int, int]:
        """Atomically add one to window `window` and return (count of window-1, new count)."""
        ...

    def clear(self, name: str, key: str, window: int) -> None:
        """Forget the counts of `window` and the one before it (e.g. after a good sign-in)."""
        ...


class Throttled(PrivacyWaybillError):
    """An attempt over a rate limit; `retry_after_seconds` says when one more would fit."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many attempts; try again later")
        self.retry_after_seconds = max(1, retry_after_seconds)
