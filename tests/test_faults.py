"""Fault injection: a batch killed with SIGKILL and re-run, the database going away and coming
back, Redis gone, a full disk while writing labels, and clock skew for TOTP and expiry."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from api_support import API, add_merchant, assert_problem, bearer, personal_order
from conftest import POSTGRES_URL, postgres_problem
from delivery_support import STATION, issue_route, route_call, sign_in_staff
from redis_support import REDIS_URL, redis_client
from privacy_waybill.access.model import Role
from privacy_waybill.audit.model import Outcome
from privacy_waybill.api.app import create_app
from privacy_waybill.cli.main import app as pwb_app
from privacy_waybill.demo import demo_orders
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.storage.db import make_engine, migrate
from privacy_waybill.storage.redis_bindings import RedisBackedTelephonyStore, RedisBindingLookup
from privacy_waybill.storage.telephony import TelephonyStore
from privacy_waybill.telephony import BindingStoreUnavailable, RouteAction

PWB = [sys.executable, "-m", "privacy_waybill.cli.main"]
PASSWORD = "correct horse battery staple"


def write_orders(path: Path, count: int, prefix: str) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for order in demo_orders(count, seed=11, prefix=prefix):
            out.write(json.dumps(order, ensure_ascii=False) + "\n")
    return path


def result_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


# --- kill -9 mid-batch, then the same batch again ------------------------------------------------


def _processes_naming(path: Path, within_s: float) -> list[int]:
    """Live processes whose command line names `path`, once none are left or `within_s` passed."""
    deadline = time.monotonic() + within_s
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and str(path).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:  # the process ended while we looked
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_batch_killed_with_sigkill_mid_way_and_re_run_gives_the_same_waybills_once(pwb_home: Path) -> None:
    env = {**os.environ, "PWB_HOME": str(pwb_home), "PWB_BATCH_CHUNK_SIZE": "100"}
    env.pop("PWB_DATABASE_URL", None)
    subprocess.run([*PWB, "init"], env=env, check=True, capture_output=True)
    orders = write_orders(pwb_home.parent / "orders.jsonl", 4000, "K")
    victim = subprocess.Popen([*PWB, "issue", str(orders)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    seen = b""
    assert victim.stdout is not None
    while seen.count(b"\n") < 150:
        ready, _, _ = select.select([victim.stdout], [], [], 60)
        assert ready, "the batch printed nothing within a minute"
        seen += os.read(victim.stdout.fileno(), 65536)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    assert _processes_naming(orders, within_s=10) == [], "the killed batch left worker processes behind"
    complete_lines = seen.decode(errors="ignore").rsplit("\n", 1)[0]
    before_kill = {r["order_id"]: r.get("waybill_no") for r in result_lines(complete_lines)}
    assert 150 <= len(before_kill) < 4000

    rerun = subprocess.run([*PWB, "issue", str(orders)], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode in (0, 1), rerun.stderr[-500:]  # 1: some demo records are rejected on purpose
    after = {r["order_id"]: r.get("waybill_no") for r in result_lines(rerun.stdout)}
    issued = sum(1 for number in after.values() if number)
    assert len(after) == 4000 and issued > 3000
    assert all(after[order_id] == number for order_id, number in before_kill.items())  # same result, replayed
    rt = open_runtime(Settings(database_url=None))  # the SQLite file the killed batch wrote, in every pass
    try:
        with rt.engine.connect() as conn:
            count, distinct = conn.execute(text("select count(*), count(distinct order_id) from waybills")).one()
            unsealed = conn.execute(
                text(
                    "select count(*) from waybills w left join vault_records v on v.waybill_id = w.id"
                    " where v.wrapped_dek is null"
                )
            ).scalar()
        assert (count, distinct, unsealed) == (issued, issued, 0)  # no duplicate, no half-written row
        assert rt.audit.verify().intact
    finally:
        rt.close()


# --- the database goes away and comes back ------------------------------------------------------


class TcpRelay:
    """A relay between the app and PostgreSQL that the test can cut and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.open = True
        self.links: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.links += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.open = False
        for link in self.links:
            try:
                link.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.links.clear()

    def restore(self) -> None:
        self.open = True


@pytest.fixture
def relayed_postgres(pwb_home: Path) -> Iterator[tuple[Runtime, TcpRelay]]:
    problem = postgres_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL unreachable under CI: {problem}")
        pytest.skip(f"PostgreSQL UNREACHABLE ({problem})")
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    relay = TcpRelay((url.host or "127.0.0.1", url.port or 5432))
    schema = f"pwb_fault_{os.getpid()}_{int(time.time() * 1000) % 100000}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    engine = make_engine(relayed, connect_args={"options": f"-csearch_path={schema}", "connect_timeout": 2})
    migrate(engine)
    settings = Settings()
    initialise(settings, engine)
    rt = open_runtime(settings, engine)
    try:
        yield rt, relay
    finally:
        relay.restore()
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_database_gone_is_a_clear_503_nothing_is_lost_and_it_recovers_without_restart(
    relayed_postgres: tuple[Runtime, TcpRelay],
) -> None:
    rt, relay = relayed_postgres
    client = TestClient(create_app(rt))
    token = add_merchant(rt)
    kept = client.post(f"{API}/orders", json=personal_order(), headers=bearer(token))
    assert kept.status_code == 201
    relay.cut()
    for _ in range(3):
        gone = client.post(f"{API}/orders", json=personal_order(), headers=bearer(token))
        body = assert_problem(gone, 503)
        assert body["type"] == "urn:privacy-waybill:problem:database-unavailable" and gone.headers["Retry-After"]
        assert_problem(client.get(f"{API}/health"), 503)
    relay.restore()
    assert client.get(f"{API}/health").status_code == 200
    assert client.get(f"{API}/waybills/{kept.json()['waybill_no']}", headers=bearer(token)).status_code == 200
    assert client.post(f"{API}/orders", json=personal_order(), headers=bearer(token)).status_code == 201
    assert len(client.get(f"{API}/waybills", headers=bearer(token)).json()) == 2  # the refused ones left nothing


# --- Redis gone --------------------------------------------------------------------------------


def test_redis_gone_fails_sign_in_closed_and_tracking_keeps_answering(
    rt: Runtime, identity: IdentityService
) -> None:
    rt.settings.redis_url = "redis://127.0.0.1:1/0"  # nothing listens there
    client = TestClient(create_app(rt))
    identity.add_user("clerk.redis", "correct horse battery staple", Role.STATION_CLERK, rt.clock(), station="HZ10")
    credentials = {"username": "clerk.redis", "password": "correct horse battery staple"}
    refused = client.post(f"{API}/auth/login", json=credentials)
    body = assert_problem(refused, 503)
    assert body["title"] == "Rate limits unavailable"
    assert_problem(client.post(f"{API}/auth/otp/verify", json={"phone": "13912340000", "code": "000000"}), 503)
    created = client.post(f"{API}/orders", json=personal_order(), headers=bearer(add_merchant(rt))).json()
    token = created["tracking_url"].rsplit("/t/", 1)[1]
    assert client.get(f"{API}/tracking/{token}").status_code == 200


@pytest.fixture
def relayed_redis(rt: Runtime) -> Iterator[tuple[Runtime, TcpRelay, redis.Redis, str]]:
    """The runtime with its binding look-ups in a Redis behind a relay the test can cut."""
    for client, prefix in redis_client():  # skips (or fails under CI) without a Redis
        relay = TcpRelay(("127.0.0.1", 6379))
        through_relay = redis.Redis.from_url(
            REDIS_URL.replace("127.0.0.1:6379", f"127.0.0.1:{relay.port}"), socket_timeout=1, socket_connect_timeout=1
        )
        # The runtime builds its store when first asked; the test's own prefix keeps runs apart.
        rt.__dict__["redis_bindings"] = RedisBackedTelephonyStore(
            TelephonyStore(rt.engine), RedisBindingLookup(through_relay, f"{prefix}:axb")
        )
        try:
            yield rt, relay, client, f"{prefix}:axb"
        finally:
            relay.restore()
            through_relay.close()


def test_redis_gone_refuses_calls_audited_and_new_bindings_and_a_sign_off_meanwhile_still_lands(
    relayed_redis: tuple[Runtime, TcpRelay, redis.Redis, str],
) -> None:
    rt, relay, direct, prefix = relayed_redis
    client = TestClient(create_app(rt))
    now = rt.clock()
    rt.telephony.add_numbers(["+8617100008001", "+8617100008002"], 200, "fault", now)
    binding = rt.telephony.bind("w_fault", "user:courier", "13700001111", "13900003333", now)
    assert route_call(client, rt, "13900003333", binding.x_number).json()["action"] == "connect_to_a"

    relay.cut()
    refused = route_call(client, rt, "13900003333", binding.x_number)
    assert refused.status_code == 200 and refused.json() == {"action": "refuse", "binding_id": None}
    [audited] = [
        e.event() for e in rt.audit.events(action="telephony.route", limit=10)
        if e.event().rule == "telephony:binding-store-unavailable"
    ]  # fmt: skip
    assert audited.outcome is Outcome.DENIED and audited.detail["x"] == binding.x_number
    with pytest.raises(BindingStoreUnavailable):
        rt.telephony.bind("w_other", "user:courier2", "13700002222", "13900004444", now)
    assert rt.telephony.live_bindings("w_other", now) == []  # nothing half-made in the database
    # Signed off while Redis is away: the database has the new end, Redis gets it once back.
    rt.telephony.end_after_sign_off("w_fault", now)

    relay.restore()
    grace = rt.telephony.policy.grace_after_sign_off
    assert route_call(client, rt, "13900003333", binding.x_number).json()["action"] == "connect_to_a"
    [entry] = [direct.get(key) for key in direct.scan_iter(f"{prefix}:*:a:*")]
    assert entry is not None and entry.endswith(str(int((now + grace).timestamp() * 1000)).encode())
    assert rt.telephony.route("13900003333", binding.x_number, now + grace).action is RouteAction.REFUSE


def test_redis_gone_a_courier_call_is_a_clear_503_and_no_binding_is_made(
    relayed_redis: tuple[Runtime, TcpRelay, redis.Redis, str],
) -> None:
    rt, relay, _, _ = relayed_redis
    client = TestClient(create_app(rt))
    rt.telephony.add_numbers(["+8617100008001"], 200, "fault", rt.clock())
    [parcel] = issue_route(rt, buildings_per_compound=1, parcels_per_building=1)[:1]
    clerk = sign_in_staff(client, rt, Role.STATION_CLERK, station=STATION)
    courier = sign_in_staff(client, rt, Role.COURIER, device="device-fault", station=STATION)
    assigned = {"waybills": [parcel.no], "courier": courier["X-Actor"]}
    assert client.post(f"{API}/delivery/assignments", json=assigned, headers=clerk).status_code == 200
    assert client.post(f"{API}/delivery/scan", json={"code": parcel.no}, headers=courier).status_code == 200
    relay.cut()
    call = client.post(f"{API}/delivery/parcels/{parcel.no}/call", json={"phone": "13700001111"}, headers=courier)
    body = assert_problem(call, 503)
    assert body["title"] == "Binding store unavailable"
    assert rt.telephony.live_bindings(parcel.waybill.waybill_id, rt.clock()) == []
    relay.restore()
    again = client.post(f"{API}/delivery/parcels/{parcel.no}/call", json={"phone": "13700001111"}, headers=courier)
    assert again.status_code == 200 and again.json()["x_number"] == "+8617100008001"


# --- a full disk while writing labels ------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "labels"
    mount.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"cannot mount a small tmpfs here ({type(error).__name__}); disk-full test not run")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False, capture_output=True)


def test_a_full_disk_while_writing_labels_is_one_readable_line_and_leaves_no_half_label(
    pwb_home: Path, tiny_disk: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(pwb_app, ["init"]).exit_code == 0
    orders = write_orders(pwb_home.parent / "orders.jsonl", 30, "D")
    result = runner.invoke(pwb_app, ["issue", str(orders), "--labels", str(tiny_disk)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == f"error: cannot read or write {tiny_disk}: No space left on device"
    written = sorted(tiny_disk.iterdir())
    assert written, "some labels fit before the disk was full"
    for label in written:
        data = label.read_bytes()
        assert not label.name.startswith(".") and data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    # Space again: the re-run replays the same waybills and writes every label whole.
    roomy = pwb_home.parent / "roomy"
    again = runner.invoke(pwb_app, ["issue", str(orders), "--labels", str(roomy)])
    assert again.exit_code in (0, 1), again.output
    numbers = {r["waybill_no"] for r in result_lines(again.stdout) if "waybill_no" in r}
    assert {p.stem for p in roomy.glob("*.pdf")} == numbers and {p.stem for p in written} <= numbers
    shutil.rmtree(roomy)


# --- clock skew ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("skew_seconds", "status"), [(-30, 200), (0, 200), (30, 200), (-75, 401), (75, 401)])
def test_totp_tolerates_one_step_of_clock_skew_and_no_more(
    rt: Runtime, identity: IdentityService, skew_seconds: int, status: int
) -> None:
    created = identity.add_user("clerk.skew", PASSWORD, Role.STATION_CLERK, rt.clock(), station="HZ10")
    now = rt.clock()
    rt.clock = lambda: now  # type: ignore[method-assign]
    code = pyotp.parse_uri(created.totp_uri).at(now + timedelta(seconds=skew_seconds))  # type: ignore[union-attr]
    response = TestClient(create_app(rt)).post(
        f"{API}/auth/login", json={"username": "clerk.skew", "password": "correct horse battery staple", "totp": code}
    )
    assert response.status_code == status


def test_a_session_ends_at_its_expiry_by_the_servers_clock_whatever_the_client_says(
    rt: Runtime, identity: IdentityService
) -> None:
    created = identity.add_user("clerk.exp", PASSWORD, Role.STATION_CLERK, rt.clock(), station="HZ10")
    now = rt.clock()
    signed_in = identity.sign_in(
        "clerk.exp", PASSWORD, pyotp.parse_uri(created.totp_uri).at(now), None, now  # type: ignore[union-attr]
    )
    client = TestClient(create_app(rt))
    headers = {**bearer(signed_in.token), "Date": "Mon, 01 Jan 2024 00:00:00 GMT"}
    rt.clock = lambda: signed_in.expires_at - timedelta(seconds=1)  # type: ignore[method-assign]
    assert client.get(f"{API}/auth/session", headers=headers).status_code == 200
    rt.clock = lambda: signed_in.expires_at  # type: ignore[method-assign]
    assert client.get(f"{API}/auth/session", headers=headers).status_code == 401
