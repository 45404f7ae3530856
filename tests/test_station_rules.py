"""The station's pure rules row by row: shelf specs and layouts, shelf codes, placement,
pickup codes, last-4 checks; identity codes; the anonymous look-up tally."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from privacy_waybill.audit.model import AuditEvent, AuditUnavailable
from privacy_waybill.errors import FieldError
from privacy_waybill.recipients.identity_code import IdentityCodes, InvalidIdentityCode
from privacy_waybill.stations import codes
from privacy_waybill.stations.model import Shelf, Station, StationFull, StationKind
from privacy_waybill.tracking.tally import LookupTally
from privacy_waybill.vault.keyring import KeyVersions

NOW = datetime(2026, 12, 1, 9, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "shelf"),
    [("A:4:80", Shelf("A", 4, 80)), ("3:2:40", Shelf("3", 2, 40)), (" b:6 ", Shelf("B", 6, 6)), ("AB1:1:1", Shelf("AB1", 1, 1))],
)
def test_shelf_specs(spec: str, shelf: Shelf) -> None:
    assert codes.parse_shelf(spec) == shelf


@pytest.mark.parametrize("spec", ["A", "A:x:3", "ABCD:1:1", "A-1:2:3", "A:1:2:3", ""])
def test_bad_shelf_specs(spec: str) -> None:
    with pytest.raises(FieldError) as error:
        codes.parse_shelf(spec)
    assert error.value.field == "shelf"


@pytest.mark.parametrize(
    ("kind", "shelves", "reason"),
    [
        (StationKind.STATION, (), "a station needs at least one shelf"),
        (StationKind.STATION, (Shelf("A", 1, 1), Shelf("A", 2, 2)), "shelf labels must be distinct"),
        (StationKind.STATION, (Shelf("A", 100, 1),), "a shelf has 1 to 99 layers"),
        (StationKind.STATION, (Shelf("A", 1, 0),), "a shelf holds at least one parcel"),
        (StationKind.LOCKER, (Shelf("A", 4, 8),), "a locker column holds one parcel per compartment"),
        (StationKind.STATION, (Shelf("A", 9, 3000), Shelf("B", 9, 2001)), "a station holds at most 5000 parcels"),
    ],
)
def test_bad_layouts(kind: StationKind, shelves: tuple[Shelf, ...], reason: str) -> None:
    with pytest.raises(FieldError) as error:
        codes.check_layout(kind, shelves)
    assert (error.value.field, error.value.reason) == ("shelves", reason)


@pytest.mark.parametrize(
    ("shelf", "layer", "serial", "code"),
    [("A", 3, 172, "A-3-0172"), ("3", 1, 3001, "3-1-3001"), ("B", 12, 1, "B-12-0001"), ("C", 1, 9999, "C-1-9999")],
)
def test_shelf_codes_are_shelf_layer_serial(shelf: str, layer: int, serial: int, code: str) -> None:
    assert codes.shelf_code(shelf, layer, serial) == code
    assert codes.SHELF_CODE.match(code)


@pytest.mark.parametrize(("current", "following"), [(0, 1), (1, 2), (9998, 9999), (9999, 1)])
def test_serials_wrap_after_9999(current: int, following: int) -> None:
    assert codes.next_serial(current) == following


def station(kind: StationKind, *shelves: Shelf) -> Station:
    return Station("HZ10", "test", kind, shelves, NOW)


@pytest.mark.parametrize(
    ("occupancy", "wanted", "place"),
    [
        ({}, None, ("A", 1)),
        ({("A", 1): 1}, None, ("A", 2)),
        ({("A", 1): 1, ("A", 2): 1, ("A", 3): 1}, None, ("A", 1)),
        ({("A", 1): 2, ("A", 2): 2, ("A", 3): 2}, None, ("B", 1)),
        ({}, "b", ("B", 1)),
        ({("A", 1): 2, ("A", 2): 1, ("A", 3): 2}, None, ("A", 2)),
    ],
)
def test_a_station_fills_the_least_loaded_board_of_the_first_shelf_with_room(
    occupancy: dict[tuple[str, int], int], wanted: str | None, place: tuple[str, int]
) -> None:
    layout = station(StationKind.STATION, Shelf("A", 3, 6), Shelf("B", 2, 4))
    assert codes.choose_place(layout, occupancy, wanted) == place


def test_a_locker_takes_its_first_empty_compartment_and_a_full_one_says_so() -> None:
    locker = station(StationKind.LOCKER, Shelf("C", 3, 3))
    assert codes.choose_place(locker, {("C", 1): 1, ("C", 3): 1}) == ("C", 2)
    with pytest.raises(StationFull) as error:
        codes.choose_place(locker, {("C", 1): 1, ("C", 2): 1, ("C", 3): 1})
    assert str(error.value) == "the station has no free place; check parcels out or choose another shelf"
    with pytest.raises(FieldError):
        codes.choose_place(locker, {}, "Z")


def test_pickup_codes_are_six_digits_and_skip_taken_ones() -> None:
    draws = iter([482913, 7, 482913])
    taken = {"482913"}
    assert codes.new_pickup_code(taken.__contains__, lambda _: next(draws)) == "000007"


@pytest.mark.parametrize(("typed", "code"), [("482913", "482913"), (" 482 913 ", "482913"), ("482-913", "482913")])
def test_pickup_codes_as_typed(typed: str, code: str) -> None:
    assert codes.check_pickup_code(typed) == code


@pytest.mark.parametrize("typed", ["48291", "4829134", "48291x", ""])
def test_bad_pickup_codes(typed: str) -> None:
    with pytest.raises(FieldError):
        codes.check_pickup_code(typed)


@pytest.mark.parametrize(("masked", "last4"), [("*******5678", "5678"), ("138****5678", "5678"), ("***", ""), ("", "")])
def test_last4_of_a_masked_phone(masked: str, last4: str) -> None:
    assert codes.phone_last4(masked) == last4


KEY = bytes(range(32))


def test_an_identity_code_opens_to_its_phone_for_two_minutes_only() -> None:
    identity = IdentityCodes(KeyVersions.single(KEY))
    token, expires_at = identity.mint("+8613812345678", NOW)
    assert expires_at == NOW + timedelta(minutes=2)
    assert token.startswith("pwid1.") and "13812345678" not in token and "5678" not in token
    assert identity.open(token, NOW + timedelta(seconds=119)) == "+8613812345678"
    with pytest.raises(InvalidIdentityCode):
        identity.open(token, NOW + timedelta(minutes=2, seconds=1))
    with pytest.raises(InvalidIdentityCode):
        IdentityCodes(KeyVersions.single(bytes(32))).open(token, NOW)


@pytest.mark.parametrize("token", ["", "pwid1.", "pwid1.!!!", "nope", "pwid1.AAAA", "pwid1." + "A" * 80])
def test_anything_else_is_not_an_identity_code(token: str) -> None:
    with pytest.raises(InvalidIdentityCode):
        IdentityCodes(KeyVersions.single(KEY)).open(token, NOW)


def test_a_moved_expiry_breaks_the_seal() -> None:
    token, _ = IdentityCodes(KeyVersions.single(KEY)).mint("+8613812345678", NOW)
    raw = bytearray(base64.urlsafe_b64decode(token.removeprefix("pwid1.") + "=" * (-len(token) % 4)))
    raw[7] ^= 0x7F  # a later expiry
    forged = "pwid1." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(InvalidIdentityCode):
        IdentityCodes(KeyVersions.single(KEY)).open(forged, NOW)


class ListSink:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[AuditEvent] = []
        self.fail = fail

    def record(self, event: AuditEvent) -> int:
        if self.fail:
            raise AuditUnavailable()
        self.events.append(event)
        return len(self.events)


def test_the_tally_writes_one_entry_per_minute() -> None:
    sink = ListSink()
    tally = LookupTally(sink)
    for second, outcome in [(0, "found"), (10, "missed"), (20, "missed"), (59, "throttled"), (61, "verified")]:
        tally.count(NOW.replace(second=0) + timedelta(seconds=second), outcome)
    assert len(sink.events) == 1
    tally.flush()
    tally.flush()
    first, second = sink.events
    assert (first.actor, first.action, first.rule, first.at) == (
        "anonymous",
        "tracking.read",
        "public-tracking:tally",
        datetime(2026, 12, 1, 9, 31, tzinfo=UTC),
    )
    assert first.detail == {
        "window_start": "2026-12-01T09:30:00+00:00",
        "lookups": "4",
        "found": "1",
        "verified": "0",
        "missed": "2",
        "throttled": "1",
    }
    assert second.detail["lookups"] == "1" and second.detail["verified"] == "1"


def test_a_tally_the_audit_log_refuses_is_dropped_without_failing_the_caller() -> None:
    sink = ListSink(fail=True)
    tally = LookupTally(sink)
    tally.count(NOW, "found")
    tally.flush()
    sink.fail = False
    tally.count(NOW, "missed")
    tally.flush()
    [written] = sink.events
    assert (written.detail["lookups"], written.detail["found"], written.detail["missed"]) == ("1", "0", "1")
