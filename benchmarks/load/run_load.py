"""The load test: `pwb serve` on PostgreSQL and Redis, seeded, driven by locust on loopback.

Starts the server (fresh PostgreSQL schema, Redis at PWB_REDIS_URL), seeds couriers,
station clerks, parcels and tracking tokens, runs benchmarks/load/locustfile.py headless for
a bounded time, samples the server's memory (all its processes) every 5 s, and writes
benchmarks/results/load-<minutes>min.json and .md: requests/s, p50/p99 per request kind,
errors, memory over the run. Exit code 1 when any request failed or memory grew by 10% or
more between the end of the warm-up (first fifth) and the end.
Run: .venv/bin/python benchmarks/load/run_load.py [--minutes 1] [--users 60] [--workers 2]
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
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from load_support import running_server, seed, server_env  # noqa: E402
from privacy_waybill.storage.db import make_engine  # noqa: E402

RESULTS = HERE.parent / "results"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/3"
SAMPLE_EVERY_S = 5.0


def tree_rss_mib(root: int) -> float:
    """Resident memory of `root` and every descendant, in MiB (from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parents[int(entry.name)] = int(fields["PPid"].strip())
        rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    members, frontier = {root}, [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, parent in parents.items() if parent == current and pid not in members]
        members.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in members) / 1024


class MemorySampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((round(time.monotonic() - self.started_at, 1), round(tree_rss_mib(self.pid), 1)))
            self.stop.wait(SAMPLE_EVERY_S)


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


def markdown(report: dict[str, object]) -> str:
    lines = [
        f"# Load test, {report['minutes']} min, {report['date']}",
        "",
        f"`pwb serve --workers {report['workers']}` on {report['database']} and Redis; locust with "
        f"{report['users']} users on the same 2-core machine over loopback; load average before "
        f"{report['load_average_before']}, after {report['load_average_after']}.",
        "",
        "| request | requests | failures | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["requests"]:  # type: ignore[attr-defined]
        lines.append(
            f"| {row['name']} | {row['requests']:,} | {row['failures']} | {row['requests_per_s']} | "
            f"{row['p50_ms']:.0f} | {row['p99_ms']:.0f} |"
        )
    memory = report["memory"]
    lines += [
        "",
        f"Server memory (all processes): {memory['after_warm_up_mib']} MiB after warm-up, "  # type: ignore[index]
        f"{memory['end_mib']} MiB at the end, peak {memory['peak_mib']} MiB: "  # type: ignore[index]
        f"growth {memory['growth_percent']}%.",  # type: ignore[index]
        "",
        f"Verdict: {'PASS' if report['passed'] else 'FAIL'} (zero failures and memory growth under 10%).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--couriers", type=int, default=40)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    schema, database_url = postgres_schema(args.postgres)
    load_before = os.getloadavg()[0]
    try:
        with tempfile.TemporaryDirectory() as folder:
            env = server_env(Path(folder) / "home", database_url, args.redis)
            with running_server(env, workers=args.workers) as (base, server):
                seeded = seed(
                    base,
                    env,
                    couriers=args.couriers,
                    parcels_per_courier=3,
                    clerk_parcels=int(400 * max(1.0, args.minutes)),
                )
                seed_file = Path(folder) / "seed.json"
                seeded.save(seed_file)
                sampler = MemorySampler(server.pid)
                sampler.start()
                prefix = Path(folder) / "locust"
                locust = [
                    str(Path(sys.executable).parent / "locust"),
                    "-f",
                    str(HERE / "locustfile.py"),
                    "--headless",
                    "-u",
                    str(args.users),
                    "-r",
                    str(args.spawn_rate),
                    "-t",
                    f"{int(args.minutes * 60)}s",
                    "--host",
                    base,
                    "--csv",
                    str(prefix),
                    "--only-summary",
                    "--stop-timeout",
                    "10",
                ]
                done = subprocess.run(
                    locust, env={**os.environ, "PWB_LOAD_SEED": str(seed_file)}, capture_output=True, text=True
                )
                sampler.stop.set()
                sampler.join()
                if not Path(f"{prefix}_stats.csv").exists():
                    raise SystemExit(f"locust failed:\n{done.stderr[-3000:]}")
                rows = summarise(read_stats(prefix))
    finally:
        drop_schema(args.postgres, schema)
    samples = sampler.samples
    warm = samples[max(0, len(samples) // 5)][1]
    end = samples[-1][1]
    total = next(r for r in rows if r["name"] == "Aggregated")
    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "minutes": args.minutes,
        "users": args.users,
        "workers": args.workers,
        "database": "PostgreSQL",
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "requests": rows,
        "total_requests_per_s": total["requests_per_s"],
        "failures": total["failures"],
        "memory": {
            "after_warm_up_mib": warm,
            "end_mib": end,
            "peak_mib": max(s[1] for s in samples),
            "growth_percent": round((end - warm) / warm * 100, 1),
            "samples_s_mib": samples,
        },
    }
    growth = report["memory"]["growth_percent"]  # type: ignore[index]
    report["passed"] = total["failures"] == 0 and growth < 10
    name = f"load-{args.minutes:g}min"
    (RESULTS / f"{name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (RESULTS / f"{name}.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    if not report["passed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
