"""The load ramp's definition of "sustains" (benchmarks/load/run_load.py): no failure, p99
within its bound, and added users still buying throughput; the highest sustained step is the
top of the unbroken run from the bottom."""

from __future__ import annotations

from typing import Any

from script_support import load_script

RAMP = load_script("benchmarks/load/run_load.py")


def step(users: int, rps: float, p99: float = 300.0, failures: int = 0) -> dict[str, Any]:
    return {"users": users, "requests_per_s": rps, "p99_ms": p99, "failures": failures}


def judged(*steps: dict[str, Any]) -> list[dict[str, Any]]:
    previous = None
    for current in steps:
        current["not_sustained_because"] = RAMP.sustains(current, previous)
        previous = current
    return list(steps)


def test_a_step_that_scales_without_failures_within_the_bound_sustains() -> None:
    assert RAMP.sustains(step(40, 26.0), step(20, 14.0)) == []
    assert RAMP.sustains(step(20, 14.0), None) == []


def test_failures_a_slow_p99_or_flat_throughput_each_break_it() -> None:
    assert RAMP.sustains(step(40, 28.0, failures=3), step(20, 14.0)) == ["3 failed requests"]
    assert RAMP.sustains(step(40, 28.0, p99=2400.0), step(20, 14.0)) == ["p99 2400 ms over 2000 ms"]
    # Twice the users need at least 1.5 times the requests per second.
    assert RAMP.sustains(step(40, 20.0), step(20, 14.0)) == ["throughput x1.43 for x2.00 users (wanted x1.50)"]


def test_the_highest_sustained_step_is_the_top_of_the_unbroken_run_from_the_bottom() -> None:
    steps = judged(step(20, 14.0), step(40, 27.0), step(80, 30.0), step(120, 60.0))
    assert RAMP.highest_sustained(steps)["users"] == 40  # 120 scales over 80, but 80 broke the run
    assert RAMP.highest_sustained(judged(step(20, 14.0, failures=1), step(40, 28.0))) is None
