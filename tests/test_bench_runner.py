"""`make bench`'s runner (benchmarks/run.py): a partial run updates the full report, never
shrinks it; and every benchmark still runs through and reports, checked at a tiny size."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEST_DATABASE
from script_support import REPO, load_script

RUNNER = load_script("benchmarks/run.py")


def test_a_partial_run_replaces_only_its_own_benchmarks_and_says_when_it_ran(tmp_path: Path) -> None:
    latest = tmp_path / "latest.json"
    full = {
        "conditions": {"date": "full-run"},
        "benchmarks": {"bench_vault": {"figures": [1]}, "bench_issuance": {"figures": [2]}},
        "plots": ["a.png"],
    }
    latest.write_text(json.dumps(full))
    partial = {"conditions": {"date": "partial"}, "benchmarks": {"bench_issuance": {"figures": [3]}}, "plots": []}

    merged = RUNNER.merged_into_full_run(partial, latest)

    assert merged["conditions"] == {"date": "full-run"}
    assert merged["benchmarks"]["bench_vault"] == {"figures": [1]}
    assert merged["benchmarks"]["bench_issuance"] == {"figures": [3], "conditions": {"date": "partial"}}
    assert merged["plots"] == ["a.png"]


def test_a_partial_run_without_an_earlier_report_is_the_report(tmp_path: Path) -> None:
    partial = {"conditions": {"date": "partial"}, "benchmarks": {"bench_issuance": {}}, "plots": []}
    assert RUNNER.merged_into_full_run(partial, tmp_path / "latest.json") == partial


def _results_stamps() -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (REPO / "benchmarks" / "results").iterdir()}


@pytest.mark.slow
@pytest.mark.skipif(
    TEST_DATABASE == "postgresql", reason="benchmarks make their own databases: run once, in the SQLite pass"
)
def test_every_benchmark_runs_through_at_a_tiny_size_and_reports_figures(tmp_path: Path) -> None:
    """`benchmarks/run.py --smoke`: no benchmark may rot unseen between two `make bench` runs
    (three once did). The figures of a tiny run mean nothing; that each is there does."""
    before = _results_stamps()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWB_")}
    done = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--smoke", "--results", str(tmp_path), "--timeout", "600"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    report = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    failed = {
        name: (tmp_path / f"{name}.txt").read_text(encoding="utf-8")[-3000:]
        for name, result in report["benchmarks"].items()
        if result["exit_code"] != 0
    }
    assert not failed, failed
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert set(report["benchmarks"]) == {p.stem for p in (REPO / "benchmarks").glob("bench_*.py")}
    for name, result in report["benchmarks"].items():
        if name == "bench_instructions" and shutil.which("valgrind") is None:
            assert "valgrind is not installed" in (tmp_path / f"{name}.txt").read_text(encoding="utf-8")
            continue
        assert result["figures"], f"{name} reported no figure"
        for figure in result["figures"]:
            numbers = [figure["value"]] + ([figure["baseline_value"]] if figure["baseline_value"] is not None else [])
            assert all(math.isfinite(n) and n >= 0 for n in numbers), (name, figure)
    assert "benchmark" in done.stdout and "baseline (same run)" in done.stdout
    assert _results_stamps() == before, "a smoke run must leave benchmarks/results alone"
