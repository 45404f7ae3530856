"""`make bench`: run every benchmarks/bench_*.py, print one table of figures beside their
baselines, write benchmarks/results/latest.json and plot the curves.

Each benchmark runs in its own process (as `python benchmarks/bench_x.py`) with
PWB_BENCH_FIGURES pointing at a scratch file its `report.figure()` calls append to; its own
printout is kept in benchmarks/results/bench_x.txt. A benchmark that fails is reported as
failed and the others still run; the exit code is then 1.
`--smoke` runs every benchmark at a tiny size (report.sized) into a scratch folder, leaving
benchmarks/results alone: the test suite does, so that no benchmark stops working unseen.
Run: .venv/bin/python benchmarks/run.py [--only issuance reveal ...] [--timeout SECONDS]
     [--smoke [--results FOLDER]]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from report import FIGURES_ENV, SMOKE_ENV  # noqa: E402  (benchmarks/ is not a package)


def conditions() -> dict[str, Any]:
    """What the figures depend on: the machine, its load, the code."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_benchmark(script: Path, timeout: float, results: Path, smoke: bool = False) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as scratch:
        figures_file = Path(scratch.name)
    env = {**os.environ, FIGURES_ENV: str(figures_file), SMOKE_ENV: "1" if smoke else "0"}
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    try:
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent
        )
        exit_code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        exit_code, output = -1, f"{expired.stdout or ''}\ntimed out after {timeout:.0f} s"
    seconds = time.perf_counter() - started
    (results / f"{script.stem}.txt").write_text(
        output if isinstance(output, str) else output.decode(), encoding="utf-8"
    )
    entries = [json.loads(line) for line in figures_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    figures_file.unlink()
    return {
        "exit_code": exit_code,
        "seconds": round(seconds, 1),
        "load_average_at_start": round(load_before, 2),
        "figures": [e for e in entries if e["kind"] == "figure"],
        "series": [e for e in entries if e["kind"] == "series"],
    }


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"


def table(results: dict[str, dict[str, Any]]) -> str:
    rows = [("benchmark", "figure", "value", "unit", "baseline (same run)", "baseline value", "ratio")]
    for name, result in results.items():
        if result["exit_code"] != 0:
            rows.append((name, f"FAILED (exit {result['exit_code']}), see results/{name}.txt", "", "", "", "", ""))
        for f in result["figures"]:
            ratio = ""
            if f["baseline_value"]:
                ratio = _number(f["value"] / f["baseline_value"])
            rows.append(
                (
                    name,
                    f["name"],
                    _number(f["value"]),
                    f["unit"],
                    f["baseline"] or "",
                    _number(f["baseline_value"]),
                    ratio,
                )
            )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    right = {2, 5, 6}
    lines = []
    for index, row in enumerate(rows):
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot(results: dict[str, dict[str, Any]], folder: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (bench extra): no plots", file=sys.stderr)
        return []
    written = []
    for result in results.values():
        for curve in result["series"]:
            figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
            for label, ys in curve["y"].items():
                axes.plot(curve["x"], ys, marker="o", label=label)
            axes.set_xlabel(curve["x_label"])
            axes.set_ylabel(curve["y_label"])
            axes.set_title(curve["name"])
            axes.grid(True, alpha=0.3)
            axes.legend()
            if max(curve["x"]) / max(min(curve["x"]), 1e-9) >= 50:
                axes.set_xscale("log")
            figure.tight_layout()
            path = folder / f"{_slug(curve['name'])}.png"
            figure.savefig(path)
            plt.close(figure)
            written.append(path)
    return written


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-").replace("--", "-")


def _shown(path: Path) -> str:
    """A path as the repository names it (benchmarks/results/...), or in full outside it."""
    return str(path.relative_to(HERE.parent)) if path.is_relative_to(HERE.parent) else str(path)


def merged_into_full_run(partial: dict[str, Any], latest: Path) -> dict[str, Any]:
    """A partial run (`--only`) replaces its own benchmarks in the last full report, not the
    whole file: each replaced entry carries the conditions it was measured under."""
    if not latest.exists():
        return partial
    full: dict[str, Any] = json.loads(latest.read_text(encoding="utf-8"))
    for name, result in partial["benchmarks"].items():
        full["benchmarks"][name] = {**result, "conditions": partial["conditions"]}
    full["plots"] = sorted(set(full.get("plots", [])) | set(partial["plots"]))
    return full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="benchmark names without bench_ (e.g. issuance vault)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per benchmark")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, into a scratch folder: does every one run?")
    parser.add_argument("--results", type=Path, help="with --smoke: the folder to write into (default: a new one)")
    args = parser.parse_args()
    if args.results and not args.smoke:
        parser.error("--results goes with --smoke: real figures are kept in benchmarks/results")
    results = (args.results or Path(tempfile.mkdtemp(prefix="pwb-bench-smoke-"))) if args.smoke else RESULTS
    results.mkdir(parents=True, exist_ok=True)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    report: dict[str, Any] = {"conditions": conditions(), "benchmarks": {}}
    for script in scripts:
        print(f"== {script.name}", file=sys.stderr, flush=True)
        report["benchmarks"][script.stem] = run_benchmark(script, args.timeout, results, args.smoke)
    report["conditions"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["plots"] = [_shown(p) for p in plot(report["benchmarks"], results)]
    latest = results / "latest.json"
    saved = merged_into_full_run(report, latest) if args.only and not args.smoke else report
    latest.write_text(json.dumps(saved, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    c = report["conditions"]
    print(
        f"\nprivacy-waybill benchmarks, {c['date']}, commit {c['commit']}, {c['cpus']} CPUs, "
        f"load average {c['load_average_1_5_15'][0]} before / {c['load_average_after'][0]} after\n"
    )
    print(table(report["benchmarks"]))
    print(f"\nwritten: {_shown(latest)}, {', '.join(report['plots']) or 'no plots'}")
    if any(r["exit_code"] != 0 for r in report["benchmarks"].values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
