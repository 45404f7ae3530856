"""Anonymous look-ups, counted per minute and written to the audit log as one entry each minute.

One row per anonymous look-up would let a scraper fill the audit log (and its hash chain)
with noise; a per-minute tally keeps what matters for review (how many, how many missed or
throttled) at a fixed cost. Signed-in callers are still audited one entry per look-up.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime, timedelta

from privacy_waybill.audit.model import AuditEvent, AuditSink, AuditUnavailable, Outcome

log = logging.getLogger("privacy_waybill.tracking")

OUTCOMES = ("found", "verified", "missed", "throttled")
WINDOW = timedelta(minutes=1)


def window_start(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


class LookupTally:
    def __init__(self, audit: AuditSink) -> None:
        self._audit = audit
        self._lock = threading.Lock()
        self._window: datetime | None = None
        self._counts: Counter[str] = Counter()

    def count(self, at: datetime, outcome: str) -> None:
        """Count one anonymous look-up; a look-up in a later minute first writes the earlier one."""
        start = window_start(at)
        with self._lock:
            if self._window is not None and start != self._window:
                self._write_locked()
            self._window = start
            self._counts[outcome] += 1

    def flush(self) -> None:
        """Write the current minute now (at shutdown, or for a test)."""
        with self._lock:
            self._write_locked()

    def _write_locked(self) -> None:
        if self._window is None or not self._counts:
            return
        counts, start = self._counts, self._window
        self._counts, self._window = Counter(), None
        event = AuditEvent(
            at=start + WINDOW,
            actor="anonymous",
            role="anonymous",
            action="tracking.read",
            outcome=Outcome.ALLOWED,
            rule="public-tracking:tally",
            detail={
                "window_start": start.isoformat(),
                "lookups": str(sum(counts.values())),
                **{name: str(counts[name]) for name in OUTCOMES},
            },
        )
        try:
            self._audit.record(event)
        except AuditUnavailable:
            # Status look-ups disclose nothing personal: the answer was not held back for this
            # entry, and its loss is logged (as a count only) rather than failing the next caller.
            log.error("tracking tally of %d look-ups could not be audited", sum(counts.values()))
