"""Instructions per waybill of `pwb issue`, counted by Valgrind's cachegrind: figures that the
speed of the machine does not move.

Timings on these shared 2-core machines vary by up to twofold from one session to the next
(the raw insert of bench_issuance ran at 13,000-32,000 rows/s on different days) and by a
fifth from one run to the next, so a change of a few per cent cannot be timed. Counted
instructions of runs of the same code on the same orders differed by at most 0.3%.

a. `pwb issue` of 1,000 and of 3,000 orders (no labels, SQLite, the worker processes of a
   normal run) under cachegrind with every process counted. The difference over the 2,000
   extra orders is the cost per order, in the parent (reading, storing, output) and in the
   workers (preparing); the parent's remainder is start-up. A forked worker's count begins
   with its parent's, which the difference cancels.
b. Baseline: a plain DB-API insert of the very rows the 3,000-order run wrote (three tables,
   one transaction per 2,500 waybills, as bench_issuance's raw insert), counted the same way as
   a run that inserts minus a run that only reads the rows.
Needs `valgrind` on the PATH (`make bench` installs it from Debian); without it nothing is counted.
Run: .venv/bin/python benchmarks/bench_instructions.py
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_issuance import (
    PWB,
    accepted_orders,
    copy_rows,
    fresh_schema,
    pwb,
    raw_insert,
    sqlite_database,
    write_jsonl,
)
from report import figure, sized

# Two chunks (500 orders each) at the least, so that worker processes prepare them.
FEWER, MORE = sized(1_000, 1_000), sized(3_000, 1_500)
PACKAGE = Path(__file__).resolve().parent.parent / "src" / "privacy_waybill"
_TOTAL = re.compile(r"^==(\d+)== I\s+refs:\s+([\d,]+)$", re.MULTILINE)


def counted(command: list[str], env: dict[str, str]) -> dict[int, int]:
    """Instructions of `command` and of every process it starts, by process id (the first is `command`)."""
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "valgrind.log"
        subprocess.run(
            [
                "valgrind",
                "--tool=cachegrind",
                "--cache-sim=no",
                "--trace-children=yes",
                "--cachegrind-out-file=/dev/null",
                f"--log-file={log}.%p",
                *command,
            ],
            env={**env, "PYTHONHASHSEED": "0"},
            stdout=subprocess.DEVNULL,
            check=True,
        )
        totals = {}
        for part in Path(scratch).glob("valgrind.log.*"):
            for pid, refs in _TOTAL.findall(part.read_text()):
                totals[int(pid)] = int(refs.replace(",", ""))
    return dict(sorted(totals.items()))


def issue_counts(folder: Path, orders: list[dict[str, object]], count: int) -> tuple[int, int, Path]:
    """(parent, workers) instructions of `pwb issue` of the first `count` orders, and its database."""
    home = folder / f"home-{count}"
    pwb(home, "init")
    orders_file = write_jsonl(folder / f"orders-{count}.jsonl", orders[:count])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWB_")}
    env["PWB_HOME"] = str(home)
    totals = counted([sys.executable, str(PWB), "issue", str(orders_file)], env)
    parent, *workers = totals.values()  # the lowest id is the command itself
    return parent, sum(workers), home / "pwb.sqlite3"


def insert_counts(issued: Path, folder: Path) -> int:
    """Instructions of inserting `issued`'s rows into a fresh database, reading them not counted."""
    runs = {}
    for mode in ("read", "insert"):
        command = [sys.executable, __file__, "--copy", str(issued), str(folder / f"raw-{mode}.sqlite3"), mode]
        runs[mode] = sum(counted(command, dict(os.environ)).values())
    return runs["insert"] - runs["read"]


def copy_into(issued: Path, target: Path, mode: str) -> None:
    """Run under valgrind: read `issued`'s rows, and in "insert" mode insert them into `target`."""
    with sqlite_database(issued) as source, sqlite_database(target) as destination:
        fresh_schema(destination)
        copied = copy_rows(source)
        if mode == "insert":
            raw_insert(destination, copied)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copy", nargs=3, metavar=("ISSUED_DB", "TARGET_DB", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.copy:
        copy_into(Path(args.copy[0]), Path(args.copy[1]), args.copy[2])
        return
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind): no instructions were counted")
        return
    # Stale bytecode would be compiled again in every counted process, as part of the count.
    compileall.compile_dir(PACKAGE, quiet=1)
    orders = accepted_orders(MORE)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        fewer_parent, fewer_workers, _ = issue_counts(folder, orders, FEWER)
        more_parent, more_workers, issued = issue_counts(folder, orders, MORE)
        extra = MORE - FEWER
        parent, workers = (more_parent - fewer_parent) / extra, (more_workers - fewer_workers) / extra
        start_up = fewer_parent - FEWER * parent
        raw = insert_counts(issued, folder) / MORE
    per_waybill = parent + workers
    print(f"`pwb issue`, instructions counted by cachegrind ({FEWER:,} and {MORE:,} orders)")
    print(f"  per waybill, all processes  {per_waybill:>14,.0f}   (parent {parent:,.0f}, workers {workers:,.0f})")
    print(f"  start-up (parent)           {start_up:>14,.0f}")
    print(f"  raw insert, per waybill     {raw:>14,.0f}   (baseline: the same rows by DB-API executemany)")
    print(f"  ratio raw / issuance        {raw / per_waybill:>14.3f}")
    figure(
        "issuance instructions per waybill (cachegrind)",
        per_waybill,
        "instructions",
        baseline="raw insert of the same rows",
        baseline_value=raw,
        higher_is_better=False,
        note=f"parent {parent:,.0f}, workers {workers:,.0f}; start-up {start_up / 1e9:.2f} G instructions",
    )


if __name__ == "__main__":
    main()
