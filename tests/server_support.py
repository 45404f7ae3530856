"""A real `pwb serve` in a subprocess on a free loopback port, pointed at a test database."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis
from sqlalchemy import Engine, text

from cli_support import PWB


def database_url(engine: Engine) -> str:
    """A URL for another process that reaches the same database (and schema) as `engine`."""
    url = engine.url
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("select current_schema()")).scalar_one()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_pids(server_pid: int) -> set[int]:
    """uvicorn's worker processes (spawned children of `server_pid`), read from /proc."""
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # multiprocessing's resource tracker is a child too, but serves no requests.
        if int(fields[1]) == server_pid and b"spawn_main" in command:
            children.add(int(entry.name))
    return children


@contextmanager
def running_server(
    home: Path, database: str, workers: int, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `pwb serve --workers N`, wait until /api/v1/health answers, stop it afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PWB_")}
    # A stream of its own unless the test names one: the local Redis is shared by every run.
    stream = f"pwb-test-{uuid.uuid4().hex[:10]}:audit"
    env.update({"PWB_HOME": str(home), "PWB_DATABASE_URL": database, "PWB_RISK_STREAM": stream})
    env.update(extra_env or {})
    process = subprocess.Popen(
        [str(PWB), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if (
                    httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
                    and len(worker_pids(process.pid)) >= workers
                ):
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pwb serve did not start (exit code {process.poll()})")
            time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if env.get("PWB_REDIS_URL"):
            with redis.Redis.from_url(env["PWB_REDIS_URL"]) as client:
                client.delete(env["PWB_RISK_STREAM"])
