"""The load test: `pwb serve` on PostgreSQL and Redis, seeded, driven by locust on loopback.

Starts the server (fresh PostgreSQL schema, Redis at PWB_REDIS_URL), seeds couriers,
station clerks, parcels and tracking tokens, and runs benchmarks/load/locustfile.py headless.

A fixed run (`--users N --minutes M`) samples the server's memory and CPU (all its processes)
and the machine's load average every 5 s, and writes benchmarks/results/load-<M>min.json and
.md: requests/s, p50/p99 per request kind, errors, memory over the run. Exit code 1 when any
request failed or memory grew by 10% or more between the end of the warm-up (first fifth)
and the end.

A ramp (`--ramp 20,40,80,120,160,240`) steps the users up on one server, one step every
`--step-seconds`, and records per step throughput, p50/p99, errors, the server's and locust's
CPU and the load average; it writes benchmarks/results/load-ramp.json and .md with the highest
step that sustains (see `sustains`). With `--minutes M` as well, a fixed run of M minutes at
that step follows on a fresh server, and its report carries the ramp.
Run: .venv/bin/python benchmarks/load/run_load.py [--minutes 1] [--users 60] [--workers 2]
     .venv/bin/python benchmarks/load/run_load.py --ramp 20,40,80,120,160,240 [--minutes 10]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from load_support import running_server, seed, server_env  # noqa: E402
from privacy_waybill.storage.db import make_engine  # noqa: E402

RESULTS = HERE.parent / "results"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/3"
SAMPLE_EVERY_S = 5.0
RAMP_SAMPLE_EVERY_S = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1

# What "sustains" means, for a step of the ramp: no failed request, p99 within the bound, and
# the added users still buy throughput (at least half their share: +50% users, +25% req/s).
# Past that the server is saturated: more users only queue.
P99_BOUND_MS = 2000.0
MIN_SCALING = 0.5


def _processes() -> dict[int, tuple[int, int, float]]:
    """Every process: its parent, resident KiB and CPU seconds (user + system), from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        # Fields after the command name (which may hold spaces) start after the last ')'.
        after = stat.rsplit(")", 1)[1].split()
        cpu_s = (int(after[11]) + int(after[12])) / CLOCK_TICKS
        found[int(entry.name)] = (int(fields["PPid"].strip()), int(fields.get("VmRSS", "0 kB").split()[0]), cpu_s)
    return found


def _tree(root: int, processes: dict[int, tuple[int, int, float]]) -> set[int]:
    members, frontier = {root}, [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, (parent, _, _) in processes.items() if parent == current and pid not in members]
        members.update(children)
        frontier.extend(children)
    return members & processes.keys()


def tree_usage(root: int | None) -> tuple[float, float]:
    """Resident memory (MiB) and CPU seconds of `root` and every descendant."""
    if root is None:
        return 0.0, 0.0
    processes = _processes()
    members = _tree(root, processes)
    return sum(processes[p][1] for p in members) / 1024, sum(processes[p][2] for p in members)


def machine_jiffies() -> tuple[int, int]:
    """Busy and total CPU time of the whole machine so far (all cores, every process), in ticks."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle and iowait
    return sum(values) - idle, sum(values)


class Sampler(threading.Thread):
    """Every `every_s`: wall time, the server's memory and CPU, locust's CPU, load average."""

    def __init__(self, server_pid: int, every_s: float) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.locust_pid: int | None = None
        self.every_s = every_s
        self.samples: list[dict[str, float]] = []
        self.stop = threading.Event()
        self.started_at = time.time()

    def run(self) -> None:
        while not self.stop.is_set():
            now = time.time()
            rss, cpu = tree_usage(self.server_pid)
            _, locust_cpu = tree_usage(self.locust_pid)
            busy, total = machine_jiffies()
            self.samples.append(
                {
                    "t": round(now, 2),
                    "s": round(now - self.started_at, 1),
                    "rss_mib": round(rss, 1),
                    "server_cpu_s": round(cpu, 2),
                    "locust_cpu_s": round(locust_cpu, 2),
                    "load1": os.getloadavg()[0],
                    "machine_busy": busy,
                    "machine_total": total,
                }
            )
            self.stop.wait(self.every_s)


def usage_between(samples: list[dict[str, float]], start: float, end: float) -> dict[str, float]:
    """Cores the server and locust used between two wall times, and the load average then."""
    inside = [s for s in samples if start <= s["t"] <= end]
    if len(inside) < 2:
        return {"server_cores": 0.0, "locust_cores": 0.0, "machine_busy_percent": 0.0, "load_average": 0.0,
                "load_average_max": 0.0}  # fmt: skip
    first, last = inside[0], inside[-1]
    span = last["t"] - first["t"]
    machine_ticks = max(1, last["machine_total"] - first["machine_total"])
    return {
        "server_cores": round((last["server_cpu_s"] - first["server_cpu_s"]) / span, 2),
        "locust_cores": round((last["locust_cpu_s"] - first["locust_cpu_s"]) / span, 2),
        "machine_busy_percent": round(100 * (last["machine_busy"] - first["machine_busy"]) / machine_ticks, 1),
        "load_average": round(sum(s["load1"] for s in inside) / len(inside), 2),
        "load_average_max": round(max(s["load1"] for s in inside), 2),
    }


def sustains(step: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    """Why this step of the ramp is not sustained (nothing: it is)."""
    reasons = []
    if step["failures"]:
        reasons.append(f"{step['failures']} failed requests")
    if step["p99_ms"] > P99_BOUND_MS:
        reasons.append(f"p99 {step['p99_ms']:.0f} ms over {P99_BOUND_MS:.0f} ms")
    if previous is not None and previous["requests_per_s"] > 0:
        wanted = 1 + MIN_SCALING * (step["users"] / previous["users"] - 1)
        got = step["requests_per_s"] / previous["requests_per_s"]
        if got < wanted:
            added = step["users"] / previous["users"]
            reasons.append(f"throughput x{got:.2f} for x{added:.2f} users (wanted x{wanted:.2f})")
    return reasons


def highest_sustained(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last step of the unbroken run of sustained steps from the bottom of the ramp."""
    best = None
    for step in steps:
        if step["not_sustained_because"]:
            break
        best = step
    return best


def postgres_schema(url: str) -> tuple[str, str]:
    schema = f"pwb_load_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema, f"{url}?options=-csearch_path%3D{schema}"


def drop_schema(url: str, schema: str) -> None:
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def read_stats(prefix: Path) -> list[dict[str, str]]:
    with Path(f"{prefix}_stats.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def summarise(rows: list[dict[str, str]]) -> list[dict[str, object]]:
    return [
        {
            "name": row["Name"],
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "requests_per_s": round(float(row["Requests/s"]), 1),
            "p50_ms": float(row["50%"] or 0),
            "p99_ms": float(row["99%"] or 0),
        }
        for row in rows
    ]


def locust_command(locustfile: str, base: str, *options: str) -> list[str]:
    return [
        str(Path(sys.executable).parent / "locust"),
        "-f",
        str(HERE / locustfile),
        "--headless",
        "--host",
        base,
        "--only-summary",
        "--stop-timeout",
        "10",
        *options,
    ]


def run_locust(command: list[str], env: dict[str, str], sampler: Sampler) -> str:
    """Run locust to its end while `sampler` also watches it; returns what it wrote to stderr."""
    locust = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler.locust_pid = locust.pid
    _, errors = locust.communicate()
    sampler.stop.set()
    sampler.join()
    return errors


@contextmanager
def seeded_server(
    args: argparse.Namespace, folder: Path, users: int, minutes: float
) -> Iterator[tuple[str, Any, Path]]:
    """A started, seeded server in a fresh schema: its base URL, its process and the seed file."""
    schema, database_url = postgres_schema(args.postgres)
    try:
        env = server_env(folder / "home", database_url, args.redis)
        with running_server(env, workers=args.workers) as (base, server):
            seeded = seed(
                base,
                env,
                # Enough couriers that none reveals past its hourly quota at these users.
                couriers=max(args.couriers, users * 2 // 5),
                parcels_per_courier=3,
                clerk_parcels=int(400 * max(1.0, minutes)),
            )
            seed_file = folder / "seed.json"
            seeded.save(seed_file)
            yield base, server, seed_file
    finally:
        drop_schema(args.postgres, schema)


def run_ramp(args: argparse.Namespace, steps_users: list[int]) -> dict[str, Any]:
    ramp_minutes = len(steps_users) * args.step_seconds / 60
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with seeded_server(args, folder, max(steps_users), ramp_minutes) as (base, server, seed_file):
            sampler = Sampler(server.pid, RAMP_SAMPLE_EVERY_S)
            sampler.start()
            out = folder / "steps.json"
            env = {
                **os.environ,
                "PWB_LOAD_SEED": str(seed_file),
                "PWB_LOAD_STEPS": ",".join(map(str, steps_users)),
                "PWB_LOAD_STEP_S": str(args.step_seconds),
                "PWB_LOAD_STEPS_OUT": str(out),
            }
            errors = run_locust(locust_command("ramp_locustfile.py", base), env, sampler)
            if not out.exists():
                raise SystemExit(f"locust failed:\n{errors[-3000:]}")
            steps = json.loads(out.read_text(encoding="utf-8"))
    previous = None
    for step in steps:
        step.update(usage_between(sampler.samples, step["measured_from"], step["ended_at"]))
        step["server_memory_mib"] = next(
            (s["rss_mib"] for s in reversed(sampler.samples) if s["t"] <= step["ended_at"]), 0.0
        )
        step["not_sustained_because"] = sustains(step, previous)
        previous = step
    best = highest_sustained(steps)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "workers": args.workers,
        "database": "PostgreSQL",
        "cores": CORES,
        "step_seconds": args.step_seconds,
        "settle_seconds": 10,
        "definition": {
            "p99_bound_ms": P99_BOUND_MS,
            "min_scaling": MIN_SCALING,
            "text": (
                "A step sustains when no request fails, its p99 is at most "
                f"{P99_BOUND_MS / 1000:g} s, and its throughput grew by at least {MIN_SCALING:g} of the "
                "users it added over the step before (users x1.5 -> req/s at least x1.25). The highest "
                "sustained load is the last step of the unbroken run of sustained steps from the bottom."
            ),
        },
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "steps": steps,
        "highest_sustained_users": best["users"] if best else None,
    }


def run_fixed(args: argparse.Namespace, users: int, minutes: float) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with seeded_server(args, folder, users, minutes) as (base, server, seed_file):
            sampler = Sampler(server.pid, SAMPLE_EVERY_S)
            sampler.start()
            prefix = folder / "locust"
            length = f"{int(minutes * 60)}s"
            options = ["-u", str(users), "-r", str(args.spawn_rate), "-t", length, "--csv", str(prefix)]
            errors = run_locust(
                locust_command("locustfile.py", base, *options), {**os.environ, "PWB_LOAD_SEED": str(seed_file)}, sampler
            )
            if not Path(f"{prefix}_stats.csv").exists():
                raise SystemExit(f"locust failed:\n{errors[-3000:]}")
            rows = summarise(read_stats(prefix))
    samples = sampler.samples
    warm = samples[max(0, len(samples) // 5)]["rss_mib"]
    end = samples[-1]["rss_mib"]
    total = next(r for r in rows if r["name"] == "Aggregated")
    growth = round((end - warm) / warm * 100, 1)
    loads = [s["load1"] for s in samples]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "minutes": minutes,
        "users": users,
        "workers": args.workers,
        "database": "PostgreSQL",
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "load_average_during": {
            "min": round(min(loads), 2),
            "mean": round(sum(loads) / len(loads), 2),
            "max": round(max(loads), 2),
        },
        "usage": usage_between(samples, samples[0]["t"], samples[-1]["t"]),
        "requests": rows,
        "total_requests_per_s": total["requests_per_s"],
        "failures": total["failures"],
        "memory": {
            "after_warm_up_mib": warm,
            "end_mib": end,
            "peak_mib": max(s["rss_mib"] for s in samples),
            "growth_percent": growth,
            "samples_s_mib": [[s["s"], s["rss_mib"]] for s in samples],
        },
        "passed": total["failures"] == 0 and growth < 10,
    }


def ramp_markdown(ramp: dict[str, Any]) -> list[str]:
    lines = [
        f"## Ramp, {ramp['date']}",
        "",
        f"`pwb serve --workers {ramp['workers']}` on {ramp['database']} and Redis, {ramp['cores']} cores shared "
        f"with locust (loopback), PostgreSQL, Redis and other agents' work (server cores: the `pwb serve` "
        f"processes; machine busy: all cores, every process); steps of {ramp['step_seconds']:g} s, the first "
        f"{ramp['settle_seconds']} s of each (users starting) not measured. Load average (1, 5, 15 min) before "
        f"{ramp['load_average_before']}, after {ramp['load_average_after']}.",
        "",
        "| users | requests | failures | req/s | p50 ms | p99 ms | server cores | locust cores | machine busy | "
        "load avg | sustains |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for step in ramp["steps"]:
        verdict = "yes" if not step["not_sustained_because"] else "no: " + "; ".join(step["not_sustained_because"])
        lines.append(
            f"| {step['users']} | {step['requests']:,} | {step['failures']} | {step['requests_per_s']} | "
            f"{step['p50_ms']:.0f} | {step['p99_ms']:.0f} | {step['server_cores']} | {step['locust_cores']} | "
            f"{step['machine_busy_percent']}% | {step['load_average']} | {verdict} |"
        )
    best = ramp["highest_sustained_users"]
    lines += [
        "",
        f"Sustains: {ramp['definition']['text']}",
        "",
        f"**Highest sustained load: {best} users.**" if best else "**No step sustained.**",
    ]
    return lines


def fixed_markdown(report: dict[str, Any]) -> list[str]:
    during = report["load_average_during"]
    lines = [
        f"## Run, {report['minutes']:g} min at {report['users']} users, {report['date']}",
        "",
        f"`pwb serve --workers {report['workers']}` on {report['database']} and Redis; locust with "
        f"{report['users']} users on the same machine over loopback. Load average before "
        f"{report['load_average_before']}, during min {during['min']} / mean {during['mean']} / max {during['max']}, "
        f"after {report['load_average_after']}; the server's processes used {report['usage']['server_cores']} "
        f"cores, locust {report['usage']['locust_cores']}, the whole machine was "
        f"{report['usage']['machine_busy_percent']}% busy.",
        "",
        "| request | requests | failures | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["requests"]:
        lines.append(
            f"| {row['name']} | {row['requests']:,} | {row['failures']} | {row['requests_per_s']} | "
            f"{row['p50_ms']:.0f} | {row['p99_ms']:.0f} |"
        )
    memory = report["memory"]
    per_minute = [s for s in memory["samples_s_mib"] if s[0] % 60 < SAMPLE_EVERY_S] + [memory["samples_s_mib"][-1]]
    lines += [
        "",
        "Server memory (all processes) over the run:",
        "",
        "| minute | " + " | ".join(f"{s[0] / 60:.0f}" for s in per_minute) + " |",
        "|---|" + "---:|" * len(per_minute),
        "| MiB | " + " | ".join(f"{s[1]:.0f}" for s in per_minute) + " |",
        "",
        f"{memory['after_warm_up_mib']} MiB after warm-up (first fifth), {memory['end_mib']} MiB at the end, "
        f"peak {memory['peak_mib']} MiB: growth {memory['growth_percent']}%.",
        "",
        f"Verdict: {'PASS' if report['passed'] else 'FAIL'} (zero failures and memory growth under 10%).",
    ]
    return lines


def write(name: str, report: dict[str, Any], lines: list[str]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=None, help="A fixed run of this length (default 1).")
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--ramp", default=None, help="Users of each step, e.g. 20,40,80,120,160,240.")
    parser.add_argument("--step-seconds", type=float, default=60.0)
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--couriers", type=int, default=40)
    args = parser.parse_args()
    ramp = None
    users = args.users
    if args.ramp:
        ramp = run_ramp(args, [int(u) for u in args.ramp.split(",")])
        write("load-ramp", ramp, ["# Load ramp", "", *ramp_markdown(ramp)])
        if args.minutes is None:
            return
        if ramp["highest_sustained_users"] is None:
            raise SystemExit("no step of the ramp sustained; no fixed run")
        users = ramp["highest_sustained_users"]
    minutes = args.minutes if args.minutes is not None else 1.0
    report = run_fixed(args, users, minutes)
    lines = [f"# Load test, {minutes:g} min at {users} users", "", *fixed_markdown(report)]
    if ramp is not None:
        report["ramp"] = ramp
        lines += ["", "The load was chosen by the ramp run just before it:", "", *ramp_markdown(ramp)]
    write(f"load-{minutes:g}min", report, lines)
    if not report["passed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
