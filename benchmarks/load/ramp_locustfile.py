"""The scenario of locustfile.py with the number of users stepped up (the ramp of run_load.py).

PWB_LOAD_STEPS lists the users of each step ("20,40,80"), PWB_LOAD_STEP_S how long each step
lasts; the first PWB_LOAD_SETTLE_S seconds of a step (its users starting) are not measured.
Every request of the measured part of a step is kept, so the step's p50 and p99 are exact;
at the end the steps are written as JSON to PWB_LOAD_STEPS_OUT, with wall-clock bounds the
runner matches against its CPU and memory samples.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from locust import LoadTestShape, events

# Locust runs the User classes it finds in this module: the scenario's own, unchanged.
from locustfile import Courier, Merchant, Recipient, StationClerk  # noqa: F401

STEPS = [int(users) for users in os.environ["PWB_LOAD_STEPS"].split(",")]
STEP_S = float(os.environ.get("PWB_LOAD_STEP_S", "60"))
SETTLE_S = float(os.environ.get("PWB_LOAD_SETTLE_S", "10"))


class Step:
    def __init__(self, users: int) -> None:
        self.users = users
        self.started_at = 0.0
        self.measured_from = 0.0
        self.ended_at = 0.0
        self.times_ms: list[float] = []
        self.failures = 0
        self.failure_kinds: dict[str, int] = {}

    def report(self) -> dict[str, Any]:
        ordered = sorted(self.times_ms)
        measured_s = self.ended_at - self.measured_from

        def percentile(share: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1) if ordered else 0.0

        return {
            "users": self.users,
            "started_at": self.started_at,
            "measured_from": self.measured_from,
            "ended_at": self.ended_at,
            "requests": len(ordered),
            "failures": self.failures,
            "failure_kinds": self.failure_kinds,
            "requests_per_s": round(len(ordered) / measured_s, 1) if measured_s > 0 else 0.0,
            "p50_ms": percentile(0.50),
            "p99_ms": percentile(0.99),
        }


RAMP = [Step(users) for users in STEPS]


class StepShape(LoadTestShape):
    """Each step holds its users for STEP_S seconds; they start within a few seconds."""

    def tick(self) -> tuple[int, float] | None:
        index = int(self.get_run_time() // STEP_S)
        now = time.time()
        if index >= len(RAMP):
            RAMP[-1].ended_at = RAMP[-1].ended_at or now
            return None
        step = RAMP[index]
        if not step.started_at:
            if index:
                RAMP[index - 1].ended_at = now
            step.started_at = now
            step.measured_from = now + SETTLE_S
        added = step.users - (RAMP[index - 1].users if index else 0)
        return step.users, max(1.0, added / (SETTLE_S / 2))


def _current() -> Step | None:
    now = time.time()
    for step in RAMP:
        if step.measured_from and step.measured_from <= now and not step.ended_at:
            return step
    return None


@events.request.add_listener
def _record(
    name: str, response_time: float, exception: BaseException | None, response: Any = None, **_: Any
) -> None:
    step = _current()
    if step is None:
        return
    step.times_ms.append(response_time)
    if exception is not None:
        step.failures += 1
        status = getattr(response, "status_code", None)
        kind = f"{name}: {status or type(exception).__name__}"
        step.failure_kinds[kind] = step.failure_kinds.get(kind, 0) + 1


@events.quitting.add_listener
def _write(**_: Any) -> None:
    for step in RAMP:
        if step.started_at and not step.ended_at:
            step.ended_at = time.time()
    out = Path(os.environ["PWB_LOAD_STEPS_OUT"])
    out.write_text(json.dumps([s.report() for s in RAMP if s.started_at], indent=2) + "\n", encoding="utf-8")
