"""Running the real `pwb` console script in a subprocess, as a user would."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

PWB = Path(sys.executable).parent / "pwb"


def run_pwb(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWB_")}
    env["PWB_HOME"] = str(home)
    return subprocess.run(
        [str(PWB), *args], env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def json_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def write_jsonl(path: Path, orders: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in orders), encoding="utf-8")
    return path


def flat_csv_row(order: dict) -> dict[str, object]:  # type: ignore[type-arg]
    """An API-shaped order as a row of the flat CSV intake format."""
    row: dict[str, object] = {"order_id": order["order_id"], "items": json.dumps(order["items"], ensure_ascii=False)}
    for party in ("recipient", "sender"):
        for key in ("name", "phone", "address"):
            row[f"{party}_{key}"] = order[party][key]
    for key in ("remark", "weight_g", "service"):
        row[key] = order.get(key, "")
    return row


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
