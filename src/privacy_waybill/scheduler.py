"""Periodic jobs of `pwb serve` in one background thread: retention purges, the risk engine's clock.

A job that fails is logged (its type only) and tried again at its next turn; the thread stops
with the server.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("privacy_waybill.scheduler")


@dataclass
class Job:
    name: str
    every_s: float
    run: Callable[[], object]
    due: float = field(default=0.0)


class PeriodicJobs:
    def __init__(self, jobs: list[Job], monotonic: Callable[[], float] = time.monotonic) -> None:
        self._jobs = jobs
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pwb-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run_due(self) -> list[str]:
        """Run every job whose turn has come; returns their names."""
        now = self._monotonic()
        ran = []
        for job in self._jobs:
            if now < job.due:
                continue
            job.due = now + job.every_s
            try:
                job.run()
            except Exception as error:
                log.error("job %s failed: %s", job.name, type(error).__name__)
            ran.append(job.name)
        return ran

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            self._stop.wait(1.0)
