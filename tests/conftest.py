"""Shared fixtures: a migrated database on SQLite and on PostgreSQL.

PostgreSQL tests run against PWB_TEST_POSTGRES_URL (default: the local server on these
machines). When it is unreachable they are skipped and the run ends with a loud banner;
under CI (CI=true) an unreachable server fails the run instead.

PWB_TEST_DATABASE picks the backends of every database fixture: `both` (default), `sqlite`
or `postgresql`. `make test` runs the suite once per backend; with `postgresql` the `pwb`
commands the CLI tests run get a PostgreSQL schema of their own too (cli_support.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, text

from cli_support import drop_cli_schemas, use_test_database
from privacy_waybill.demo import demo_orders
from privacy_waybill.identity.credentials import Passwords
from privacy_waybill.identity.notify import SimulatedNotifier
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.storage.db import make_engine, migrate
from privacy_waybill.storage.identity import build_identity

CHEAP_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
POSTGRES_URL = os.environ.get("PWB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_DATABASE = os.environ.get("PWB_TEST_DATABASE", "both")
if TEST_DATABASE not in ("both", "sqlite", "postgresql"):
    raise pytest.UsageError("PWB_TEST_DATABASE must be both, sqlite or postgresql")
BACKENDS = [
    backend if backend == "sqlite" else pytest.param(backend, marks=pytest.mark.postgres)
    for backend in ("sqlite", "postgresql")
    if TEST_DATABASE in ("both", backend)
]
_POSTGRES_UNREACHABLE: list[str] = []


@cache
def postgres_problem() -> str | None:
    """None when PostgreSQL answers, else a one-line reason."""
    try:
        probe = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as conn:
            conn.execute(text("select 1"))
        probe.dispose()
        return None
    except Exception as exc:  # any driver error means "unreachable" for this purpose
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _postgres_engine() -> Iterator[Engine]:
    problem = postgres_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable under CI: {problem}")
        _POSTGRES_UNREACHABLE.append(problem)
        pytest.skip(f"PostgreSQL UNREACHABLE ({problem}); PostgreSQL storage tests did not run")
    schema = f"pwb_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def database_engine(backend: str, folder: Path) -> Iterator[Engine]:
    """A freshly migrated database on `backend` (sqlite: a file in `folder`)."""
    if backend == "sqlite":
        sqlite_engine = make_engine(f"sqlite:///{folder / 'test.sqlite3'}")
        migrate(sqlite_engine)
        yield sqlite_engine
        sqlite_engine.dispose()
    else:
        yield from _postgres_engine()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A freshly migrated database, once per backend PWB_TEST_DATABASE selects."""
    yield from database_engine(request.param, tmp_path)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if TEST_DATABASE == "postgresql" and not postgres_problem():
        drop_cli_schemas(POSTGRES_URL)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _POSTGRES_UNREACHABLE:
        terminalreporter.write_sep("!", "POSTGRESQL WAS UNREACHABLE: PostgreSQL storage tests were SKIPPED", red=True)
        terminalreporter.write_line(_POSTGRES_UNREACHABLE[0], red=True)


@pytest.fixture
def pwb_home(tmp_path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    """An empty PWB_HOME with the master secret taken from its file, not the environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("PWB_HOME", str(home))
    monkeypatch.delenv("PWB_MASTER_SECRET", raising=False)
    use_test_database(monkeypatch, home)  # SQLite in `home`, or a PostgreSQL schema of its own
    return home


@pytest.fixture
def rt(engine: Engine, pwb_home: Path) -> Iterator[Runtime]:
    """An initialised runtime on each backend."""
    settings = Settings()
    initialise(settings, engine)
    runtime = open_runtime(settings, engine)
    yield runtime


@pytest.fixture(scope="session")
def demo_order_dicts() -> list[dict[str, object]]:
    return list(demo_orders(60, seed=7, prefix="T"))


@pytest.fixture
def notifier() -> SimulatedNotifier:
    return SimulatedNotifier()


@pytest.fixture
def identity(rt: Runtime, notifier: SimulatedNotifier) -> IdentityService:
    """The runtime's sign-in service with cheap argon2id parameters, to keep the suite fast."""
    service = build_identity(rt.engine, rt.purpose_keys, rt.blind_index, notifier, passwords=CHEAP_PASSWORDS)
    rt.identity = service  # type: ignore[misc]  (replaces the cached production service)
    return service
