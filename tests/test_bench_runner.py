"""`make bench`'s runner (benchmarks/run.py): a partial run updates the full report, never shrinks it."""

from __future__ import annotations

import json
from pathlib import Path

from script_support import load_script

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
