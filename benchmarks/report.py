"""How a benchmark reports its figures to `make bench` (benchmarks/run.py).

Each bench_*.py keeps printing its own human-readable lines and also calls `figure()` for
every SPEC 12 number, with the baseline measured in the same run, and `series()` for curves
worth plotting. When run by the runner, PWB_BENCH_FIGURES names a JSON Lines file the calls
append to; run on its own, a benchmark reports nothing extra.

With PWB_BENCH_SMOKE=1 (`benchmarks/run.py --smoke`, run by the test suite) each benchmark
runs at a tiny size: its figures mean nothing then, but every benchmark still has to run
through and report, so none rots unseen between two `make bench` runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

FIGURES_ENV = "PWB_BENCH_FIGURES"
SMOKE_ENV = "PWB_BENCH_SMOKE"
SMOKE = os.environ.get(SMOKE_ENV) == "1"


def sized(full: int, smoke: int) -> int:
    """`full` in a real run, `smoke` in a smoke run."""
    return smoke if SMOKE else full


def _append(entry: dict[str, object]) -> None:
    target = os.environ.get(FIGURES_ENV)
    if not target:
        return
    with Path(target).open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: str | None = None,
    baseline_value: float | None = None,
    higher_is_better: bool = True,
    note: str = "",
) -> None:
    """One figure (e.g. "issuance end to end, SQLite", 9100, "waybills/s") beside its baseline."""
    _append(
        {
            "kind": "figure",
            "name": name,
            "value": value,
            "unit": unit,
            "baseline": baseline,
            "baseline_value": baseline_value,
            "higher_is_better": higher_is_better,
            "note": note,
        }
    )


def series(name: str, x_label: str, xs: Sequence[float], y_label: str, ys: dict[str, Sequence[float]]) -> None:
    """A curve to plot: one or more named y series over the same x values."""
    _append({"kind": "series", "name": name, "x_label": x_label, "x": list(xs), "y_label": y_label, "y": dict(ys)})
