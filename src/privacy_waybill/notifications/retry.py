"""When to try a failing provider again: exponential backoff, capped, with a last attempt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt n (1-based) that fails waits first_delay * 2**(n-1), at most max_delay.

    The defaults give 10 s, 20 s, 40 s, 80 s, 160 s between six attempts (about 5 minutes,
    an OTP's lifetime); a message with a ttl is given up as soon as the next try would be late.
    """

    first_delay: timedelta = timedelta(seconds=10)
    max_delay: timedelta = timedelta(minutes=10)
    max_attempts: int = 6
    # How long one delivery attempt may hold a claimed message before another worker may retry.
    lease: timedelta = timedelta(seconds=60)

    def delay_after(self, attempts: int) -> timedelta:
        return min(self.first_delay * (2 ** (attempts - 1)), self.max_delay)

    def next_attempt(self, attempts: int, now: datetime, expires_at: datetime | None) -> datetime | None:
        """When to try again after `attempts` failed attempts; None to give up."""
        if attempts >= self.max_attempts:
            return None
        at = now + self.delay_after(attempts)
        if expires_at is not None and at >= expires_at:
            return None
        return at


DEFAULT_RETRY = RetryPolicy()
