"""Running the real `pwb` console script in a subprocess, as a user would."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from privacy_waybill.storage.db import make_engine

CLI_SCHEMA_PREFIX = "pwb_cli_"

PWB = Path(sys.executable).parent / "pwb"


def run_pwb(
    home: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`pwb ARGS` with PWB_HOME=home; `env` adds PWB_* settings (e.g. a database URL)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PWB_")}
    environment["PWB_HOME"] = str(home)
    database = cli_database_url(home)
    if database:
        environment["PWB_DATABASE_URL"] = database
    environment.update(env or {})
    return subprocess.run(
        [str(PWB), *args], env=environment, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def cli_database_url(home: Path) -> str | None:
    """Under PWB_TEST_DATABASE=postgresql, one PostgreSQL schema per PWB_HOME (created here,
    dropped at the end of the session); otherwise None: the home's own SQLite file."""
    if os.environ.get("PWB_TEST_DATABASE") != "postgresql":
        return None
    server = os.environ.get("PWB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = CLI_SCHEMA_PREFIX + hashlib.sha256(str(home).encode()).hexdigest()[:16]
    engine = make_engine(server)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    return f"{server}?options=" + quote(f"-csearch_path={schema}")


def use_test_database(env: pytest.MonkeyPatch, home: Path) -> None:
    """Point PWB_DATABASE_URL at the backend PWB_TEST_DATABASE selects for runtimes opened on `home`."""
    database = cli_database_url(home)
    if database:
        env.setenv("PWB_DATABASE_URL", database)
    else:
        env.delenv("PWB_DATABASE_URL", raising=False)


def drop_cli_schemas(server: str) -> None:
    """Drop the CLI schemas, one transaction each: dropping hundreds of schemas' tables in one
    transaction runs out of PostgreSQL's lock table (max_locks_per_transaction)."""
    engine = make_engine(server)
    with engine.connect() as conn:
        schemas = list(
            conn.execute(
                text("select nspname from pg_namespace where nspname like :prefix"), {"prefix": CLI_SCHEMA_PREFIX + "%"}
            ).scalars()
        )
    for schema in schemas:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


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
