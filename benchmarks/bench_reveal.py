"""Reveal API latency and throughput under concurrent couriers, next to a trivial endpoint.

A real `pwb serve` (SQLite, the embedded default) is seeded with couriers, each with parcels
out for delivery to them. At each concurrency level, that many client threads (one
keep-alive connection each) post reveals, spread over the couriers so none reaches its
hourly quota; then the same threads call GET /api/v1/health (one `select 1`) on the same
server, the baseline for what HTTP, the framework and the client cost by themselves.
The client runs on the same 2 cores as the server, so the figures are a floor.
Run: .venv/bin/python benchmarks/bench_reveal.py [--workers N] [--requests N]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from load_support import API, running_server, seed, server_env
from report import SMOKE, figure, series, sized

LEVELS = (1, 2, 4, 8, 16) if not SMOKE else (1, 2)


def measure(
    concurrency: int, requests: int, call: Callable[[httpx.Client, int], int]
) -> tuple[float, float, float, int]:
    """(p50 ms, p99 ms, requests/s, errors) of `requests` calls spread over `concurrency` threads."""
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0

    def worker() -> None:
        nonlocal errors
        with httpx.Client(timeout=60) as client:
            while True:
                with lock:
                    n = next(counter)
                if n >= requests:
                    return
                started = time.perf_counter()
                status = call(client, n)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed * 1000)
                    errors += status >= 400

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, requests / wall, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    parser.add_argument("--requests", type=int, default=sized(120, 6), help="reveals per concurrency level (default 120)")
    args = parser.parse_args()
    couriers = max(4, (args.requests * len(LEVELS)) // 50 + 1)  # under 60 reveals per courier per hour
    with tempfile.TemporaryDirectory() as folder:
        # Several workers share rate-limit and quota counters through Redis.
        env = server_env(Path(folder) / "home", redis_url="redis://127.0.0.1:6379/3" if args.workers > 1 else None)
        with running_server(env, workers=args.workers) as (base, _server):
            seeded = seed(base, env, couriers=couriers, parcels_per_courier=1, clerk_parcels=0)
            targets = [(c.headers, c.waybills[0]) for c in seeded.couriers]
            spread = itertools.count()

            def reveal(client: httpx.Client, _n: int) -> int:
                headers, waybill_no = targets[next(spread) % len(targets)]
                response = client.post(
                    f"{base}{API}/waybills/{waybill_no}/reveal", json={"purpose": "deliver"}, headers=headers
                )
                return response.status_code

            def health(client: httpx.Client, _n: int) -> int:
                return client.get(f"{base}{API}/health").status_code

            curves: dict[str, list[float]] = {"reveal p50": [], "reveal p99": [], "health p50": [], "health p99": []}
            print(
                f"reveal against GET /health on the same server ({args.workers} worker(s), SQLite), "
                f"{args.requests} requests per level"
            )
            print(
                f"{'clients':>8} {'reveal p50':>11} {'p99':>8} {'req/s':>8} {'errors':>7}   "
                f"{'health p50':>11} {'p99':>8} {'req/s':>8}"
            )
            for level in LEVELS:
                r50, r99, rrate, rerr = measure(level, args.requests, reveal)
                h50, h99, hrate, herr = measure(level, args.requests, health)
                print(
                    f"{level:>8} {r50:>9.1f}ms {r99:>6.1f}ms {rrate:>8.0f} {rerr:>7}   "
                    f"{h50:>9.1f}ms {h99:>6.1f}ms {hrate:>8.0f}"
                )
                for key, value in zip(curves, (r50, r99, h50, h99), strict=True):
                    curves[key].append(value)
                if level in (1, LEVELS[-1]):
                    figure(
                        f"reveal p50 latency, {level} client(s)",
                        r50,
                        "ms",
                        baseline="GET /health",
                        baseline_value=h50,
                        higher_is_better=False,
                    )
                    figure(
                        f"reveal p99 latency, {level} client(s)",
                        r99,
                        "ms",
                        baseline="GET /health",
                        baseline_value=h99,
                        higher_is_better=False,
                    )
                    figure(
                        f"reveal throughput, {level} client(s)",
                        rrate,
                        "requests/s",
                        baseline="GET /health",
                        baseline_value=hrate,
                        note=f"{rerr} errors",
                    )
            series("Reveal latency against concurrency", "concurrent clients", LEVELS, "latency (ms)", curves)


if __name__ == "__main__":
    main()
