"""`pwb demo` leaves a station to try every role on: demo accounts whose sign-in codes
`pwb demo code` prints, parcels dispatched to the demo courier (a manifest by building) and
parcels waiting for the desk. Run as a visitor would: the CLI, then the API on that home."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cli_support import run_pwb, use_test_database
from privacy_waybill.api.app import create_app
from privacy_waybill.delivery.service import CHINA_STANDARD_TIME as CHINA
from privacy_waybill.demo import DEMO_STATION, route_phone
from privacy_waybill.runtime import Runtime, open_runtime
from privacy_waybill.settings import Settings

API = "/api/v1"
DEVICE = "visitor-phone-01"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo") / "home"
    assert run_pwb(home, "init").returncode == 0
    first, second = run_pwb(home, "demo", "--orders", "5"), run_pwb(home, "demo", "--orders", "5")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "12 parcels dispatched to demo.courier, 12 waiting for check-in" in second.stderr
    assert "6 for the hub" in second.stderr
    return home


@pytest.fixture
def rt(home: Path) -> Iterator[Runtime]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PWB_HOME", str(home))
        env.delenv("PWB_MASTER_SECRET", raising=False)
        use_test_database(env, home)
        runtime = open_runtime(Settings())
    yield runtime
    runtime.close()


def accounts(home: Path) -> dict[str, dict[str, str]]:
    return json.loads((home / "demo-accounts.json").read_text(encoding="utf-8"))["accounts"]


def sign_in(client: TestClient, home: Path, username: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    code = run_pwb(home, "demo", "code", username)
    assert code.returncode == 0 and code.stdout.strip().isdigit(), code.stderr
    body = {"username": username, "password": accounts(home)[username]["password"], "totp": code.stdout.strip()}
    response = client.post(f"{API}/auth/login", json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    return {**(headers or {}), "Authorization": f"Bearer {response.json()['token']}"}


def test_the_accounts_file_is_owner_only_and_seeding_twice_keeps_the_accounts(home: Path) -> None:
    assert (home / "demo-accounts.json").stat().st_mode & 0o077 == 0
    assert {name: a["role"] for name, a in accounts(home).items()} == {
        "demo.sorter": "sorting_operator",
        "demo.clerk": "station_clerk",
        "demo.courier": "courier",
        "demo.support": "customer_service",
        "demo.auditor": "security_auditor",
        "demo.admin": "platform_admin",
    }
    unknown = run_pwb(home, "demo", "code", "li.courier")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: 'li.courier' is not a demo account")


def test_a_visitor_works_the_station_and_the_courier_route(home: Path, rt: Runtime) -> None:
    client = TestClient(create_app(rt))
    clerk = sign_in(client, home, "demo.clerk")
    couriers = client.get(f"{API}/delivery/couriers", headers=clerk).json()
    assert [c["username"] for c in couriers] == ["demo.courier"]

    # The courier's first sign-in names the unbound device; binding it is the visitor's step.
    assert run_pwb(home, "users", "bind-device", "demo.courier", DEVICE).returncode == 0
    courier = sign_in(client, home, "demo.courier", {"X-Device-Id": DEVICE})
    manifest = client.get(f"{API}/delivery/manifest", headers=courier).json()
    assert manifest["parcels"] == 12
    assert 1 < len(manifest["stops"]) < 12  # grouped by building
    first = manifest["stops"][0]["parcels"][0]["waybill_no"]
    scanned = client.post(f"{API}/delivery/scan", json={"code": first}, headers=courier)
    assert scanned.status_code == 200 and scanned.json()["moved"] is True

    # The other half waits for the desk, listed in the accounts file: they check in at HZ10.
    listed = json.loads((home / "demo-accounts.json").read_text(encoding="utf-8"))["waiting_for_check_in"]
    waiting = rt.waybills.find_by_order_ids("demo", [f"DEMO-R13-{n:03d}" for n in range(13, 25)]).values()
    assert sorted(listed) == sorted(w.waybill_no for w in waiting)
    assert {w.sort_code.split("-")[1] for w in waiting} == {DEMO_STATION}
    checked_in = client.post(f"{API}/stations/check-ins", json={"waybill_no": listed[0]}, headers=clerk)
    assert checked_in.status_code == 201, checked_in.text

    # The day's demo ticket names them: customer service opens one with a reason.
    support = sign_in(client, home, "demo.support")
    ticket = f"T-{rt.clock().astimezone(CHINA).strftime('%Y%m%d')}-0001"
    opened = client.post(
        f"{API}/waybills/{listed[1]}/break-glass", json={"ticket": ticket, "reason": "改约送货时间"}, headers=support
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["recipient"]["phone"].startswith("+86139001300")

    # The last six wait at the hub, printed: the sorter's scan sorts them on to the station.
    at_the_hub = json.loads((home / "demo-accounts.json").read_text(encoding="utf-8"))["waiting_at_the_hub"]
    sorter = sign_in(client, home, "demo.sorter")
    for status in ("collected", "in_transit"):
        moved = client.post(f"{API}/waybills/{at_the_hub[0]}/events", json={"status": status}, headers=sorter)
        assert moved.status_code == 200, moved.text

    # Their recipients are the documented demo numbers: the portal's code goes to the outbox.
    assert client.post(f"{API}/recipient/otp/request", json={"phone": route_phone(13)}).status_code == 202
    assert rt.notifications.recent(template="recipient.otp", to="+86" + route_phone(13))
