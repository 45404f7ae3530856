"""Public tracking by number (issue 9, part 4): status and coarse location for anyone, the
masked name and station with the phone's last 4 digits, limits per client and per waybill, a
risk event for enumeration, anonymous look-ups tallied in the audit log, and a signed-in
recipient tracking their own parcel never throttled."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api_support import API, assert_problem
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.issuance.numbers import WaybillIdentifiers
from privacy_waybill.ratelimit import limiter_for
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.storage.db import make_engine, migrate
from privacy_waybill.tracking.policy import TrackingPolicyError, parse_tracking_policy
from station_support import STATION, parcels_in_transit, phone, recipient_session, register_station, staff

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ENUMERATOR = ("203.0.113.9", 40000)
NEIGHBOUR = ("198.51.100.7", 40001)
REDIS_URL = os.environ.get("PWB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sqlite_rt(tmp_path: Path, pwb_home: Path, clock: Clock) -> Iterator[Runtime]:
    """A runtime on SQLite only: the enumeration run is long, and storage is tested on both elsewhere."""
    engine: Engine = make_engine(f"sqlite:///{tmp_path / 'track.sqlite3'}")
    migrate(engine)
    settings = Settings()
    initialise(settings, engine)
    rt = open_runtime(settings, engine)
    rt.clock = clock
    yield rt
    rt.close()


def app_client(rt: Runtime, client: tuple[str, int]) -> TestClient:
    return TestClient(create_app(rt), client=client)


def test_enumerating_ten_thousand_numbers_finds_none_is_throttled_and_raises_a_risk_event(
    sqlite_rt: Runtime, clock: Clock
) -> None:
    rt = sqlite_rt
    register_station(rt)
    own = parcels_in_transit(rt, [7])[0]
    enumerator, neighbour = app_client(rt, ENUMERATOR), app_client(rt, ENUMERATOR)
    recipient = recipient_session(neighbour, rt, 7)  # same address as the enumerator: a shared NAT

    outcomes: Counter[int] = Counter()
    own_answers = []
    guesses = WaybillIdentifiers()
    for n in range(10_000):
        clock.advance(0.1)
        outcomes[enumerator.get(f"{API}/track/{guesses.draw()[1]}").status_code] += 1
        if n % 500 == 0:
            mine = neighbour.get(f"{API}/track/{own.waybill_no}", headers=recipient)
            own_answers.append(mine.status_code)
            assert mine.json()["verified"] is True and mine.json()["recipient_name"] == own.recipient.name
    assert set(outcomes) == {404, 429}
    assert outcomes[200] == 0
    # 30 look-ups a minute get an answer, the rest of the 600 a minute are throttled.
    assert outcomes[429] > 9_000
    assert own_answers == [200] * 20

    alerts = rt.alerts.recent(kind="tracking_enumeration")
    # One risk event per client per 10-minute window over the run's ~17 minutes.
    assert 1 <= len(alerts) <= 3
    assert {a["actor"] for a in alerts} == {f"client:{rt.tracking.client_id(ENUMERATOR[0])}"}
    assert alerts[-1]["detail"]["misses_at_least"] == "50"

    # Anonymous look-ups are tallied per minute in the audit log, not written one by one.
    rt.tracking.flush()
    tallies = [e.event() for e in rt.audit.events(action="tracking.read", limit=10_000) if e.rule == "public-tracking:tally"]
    assert sum(int(t.detail["lookups"]) for t in tallies) == 10_000
    assert sum(int(t.detail["throttled"]) for t in tallies) == outcomes[429]
    assert sum(int(t.detail["missed"]) for t in tallies) == outcomes[404]
    assert len(tallies) <= 18


def test_tracking_shows_status_then_more_with_the_last_four_digits(sqlite_rt: Runtime, clock: Clock) -> None:
    rt = sqlite_rt
    register_station(rt)
    [waybill] = parcels_in_transit(rt, [8])
    client = app_client(rt, NEIGHBOUR)
    plain = client.get(f"{API}/track/{waybill.waybill_no.lower()}")
    assert plain.status_code == 200
    assert plain.json() == {
        "waybill_no": waybill.waybill_no,
        "status": "in_transit",
        "updated_at": plain.json()["updated_at"],
        "location": None,
        "verified": False,
        "recipient_name": None,
        "station": None,
    }
    clerk = staff(client, rt, Role.STATION_CLERK, station=STATION)
    assert client.post(f"{API}/stations/check-ins", json={"waybill_no": waybill.waybill_no}, headers=clerk).status_code == 201

    at_station = client.get(f"{API}/track/{waybill.waybill_no}").json()
    assert (at_station["status"], at_station["location"], at_station["station"]) == ("at_station", None, None)
    verified = client.get(f"{API}/track/{waybill.waybill_no}", params={"last4": phone(8)[-4:]}).json()
    assert verified["verified"] is True
    assert verified["recipient_name"] == waybill.recipient.name
    assert verified["station"] == {"name": "文一西路驿站", "kind": "station"}
    assert_problem(client.get(f"{API}/track/{waybill.waybill_no}", params={"last4": "12"}), 422)

    # Five wrong answers an hour per waybill; after that even the right one is not checked.
    wrong = "0000" if phone(8)[-4:] != "0000" else "1111"
    for _ in range(5):
        assert client.get(f"{API}/track/{waybill.waybill_no}", params={"last4": wrong}).json()["verified"] is False
    assert client.get(f"{API}/track/{waybill.waybill_no}", params={"last4": phone(8)[-4:]}).json()["verified"] is False
    clock.advance(3600 * 2)
    assert client.get(f"{API}/track/{waybill.waybill_no}", params={"last4": phone(8)[-4:]}).json()["verified"] is True


@pytest.mark.parametrize("counters", ["memory", "redis"])
def test_one_waybill_is_limited_across_clients(sqlite_rt: Runtime, clock: Clock, counters: str) -> None:
    """The same limits whether the counters live in this process or in Redis (PWB_REDIS_URL)."""
    rt = sqlite_rt
    if counters == "redis":
        rt.limiter = limiter_for(REDIS_URL, prefix=f"pwb:test:{uuid.uuid4().hex}")  # type: ignore[misc]
    [waybill] = parcels_in_transit(rt, [9])
    app = create_app(rt)
    answers = Counter(
        TestClient(app, client=(f"192.0.2.{n}", 1000)).get(f"{API}/track/{waybill.waybill_no}").status_code
        for n in range(70)
    )
    assert answers == {200: 60, 429: 10}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"version": 2}, "version must be 1"),
        ({"version": 1, "per_client": {"max_hits": 30}}, "per_client: give max_hits and window_seconds"),
        (
            {
                "version": 1,
                **{k: {"max_hits": 1, "window_seconds": 1} for k in ("per_client", "per_waybill", "last4_per_waybill")},
                "enumeration": {"max_hits": 0, "window_seconds": 60},
            },
            "enumeration: limits are positive whole numbers",
        ),
        ({"version": 1, "per_ip": {}}, "unknown key(s) per_ip"),
    ],
)
def test_a_broken_tracking_policy_is_refused_with_its_place(document: dict[str, object], message: str) -> None:
    with pytest.raises(TrackingPolicyError) as error:
        parse_tracking_policy(document)
    assert message in str(error.value)
