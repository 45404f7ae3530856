"""Delivery's pure rules: delivery-point keys, stop ordering (route order, learned order, never
back to a building), and the choice of a virtual number."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.delivery.ordering import ParcelPlace, order_stops, revisits, route_order
from privacy_waybill.delivery.points import DeliveryPointKeyer, _clean, _clean_again
from privacy_waybill.telephony.model import NumberLoad
from privacy_waybill.telephony.pool import choose_x
from privacy_waybill.vault.keyring import KeyVersions

KEYER = DeliveryPointKeyer(KeyVersions.single(b"k" * 32))
BASE = "浙江省杭州市余杭区五常街道"


def keys(address: str):  # type: ignore[no-untyped-def]
    found = KEYER.keys(parse_address(BASE + address))
    assert found is not None
    return found


@pytest.mark.parametrize(
    "spelling",
    [
        "文一西路969号西溪园区5号楼3单元1201室",
        "文一西路969号西溪园区5幢1单元301室",
        "文一西路969号西溪园区五栋",
        "西溪园区5号楼",
    ],
)
def test_one_building_written_many_ways_is_one_delivery_point(spelling: str) -> None:
    reference = keys("文一西路969号西溪园区5号楼")
    assert keys(spelling).point == reference.point and keys(spelling).site == reference.site


def test_neighbouring_buildings_and_compounds_are_different_points() -> None:
    five, six = keys("文一西路969号西溪园区5号楼"), keys("文一西路969号西溪园区6号楼")
    other = keys("文一西路998号海创园5幢")
    assert five.point != six.point and five.site == six.site and five.road == six.road
    assert other.site != five.site and other.road == five.road
    assert keys("文一西路1000号").site == KEYER.site_key("文一西路1000号")
    assert five.site == KEYER.site_key("西溪园区") and five.road == KEYER.road_key("文一西路")
    assert DeliveryPointKeyer(KeyVersions.single(b"x" * 32)).keys(parse_address(BASE + "文一西路969号西溪园区5号楼")).point != five.point  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("address", "point", "site", "road"),
    [
        ("文一西路969号西溪园区5号楼", "28ba97adcb464a85eb7ad4ec05572669", "2b856e277bf7f96fa8f372273897d67c",
         "9ba42d14d7af7f73ba30dcaffee28dba"),
        ("文一西路 1000 号", "038b2583f8c1d487972b1f89256cf8db", "b291da20468aa6dbe95ebb968cc582bf",
         "9ba42d14d7af7f73ba30dcaffee28dba"),
        ("西溪园区十二幢", "f38799899b32335e5002e7332f3f5daf", "2b856e277bf7f96fa8f372273897d67c",
         "2b856e277bf7f96fa8f372273897d67c"),
    ],
)  # fmt: skip
def test_keys_keep_their_values(address: str, point: str, site: str, road: str) -> None:
    # Stored waybills group with new ones only while the same place hashes to the same key.
    found = keys(address)
    assert (found.point.hex(), found.site.hex(), found.road.hex()) == (point, site, road)
    assert KEYER.road_key("文一西路").hex() == "9ba42d14d7af7f73ba30dcaffee28dba"
    assert KEYER.site_key("文一西路1000号").hex() == "b291da20468aa6dbe95ebb968cc582bf"


def test_upper_casing_is_idempotent_and_makes_no_whitespace_for_every_code_point() -> None:
    # What _clean_again stands on: only NFKC can change a cleaned text again.
    for code_point in range(sys.maxunicode + 1):
        if 0xD800 <= code_point <= 0xDFFF:
            continue
        upper = chr(code_point).upper()
        assert upper.upper() == upper, hex(code_point)
        assert chr(code_point).isspace() or not any(c.isspace() for c in upper), hex(code_point)


@settings(max_examples=500)
@given(st.text(max_size=12) | st.sampled_from(["ΐ路", "ΰ大街", "ß大街", "ｆｉ花园", "Ⅻ号楼", "ﬀ 里"]))
def test_cleaning_again_is_cleaning_twice(text: str) -> None:
    # ΐ and ΰ upper-case to letters NFKC composes differently: there cleaning twice differs.
    cleaned = _clean(text)
    assert _clean_again(cleaned) == _clean(cleaned)


def place(waybill_id: str, building: str, site: str, road: str = "R") -> ParcelPlace:
    return ParcelPlace(waybill_id, building.encode(), site.encode(), road.encode())


def test_stops_group_buildings_and_follow_the_route_from_its_start() -> None:
    parcels = [
        place("w1", "A1", "A"), place("w2", "B1", "B"), place("w3", "A1", "A"),
        place("w4", "C1", "C"), place("w5", "A2", "A"), place("w6", "B1", "B"),
    ]  # fmt: skip
    route = route_order([b"A", b"B", b"C"], start=1)  # B, C, then A
    stops = order_stops(parcels, route, {})
    assert [(s.number, s.point, s.waybill_ids) for s in stops] == [
        (1, b"B1", ("w2", "w6")),
        (2, b"C1", ("w4",)),
        (3, b"A1", ("w1", "w3")),
        (4, b"A2", ("w5",)),
    ]


def test_learned_sign_off_order_orders_buildings_within_a_compound() -> None:
    parcels = [place("w1", "A1", "A"), place("w2", "A2", "A"), place("w3", "A3", "A")]
    stops = order_stops(parcels, route_order([]), {b"A3": 0.0, b"A1": 2.0, b"A2": 1.0})
    assert [s.point for s in stops] == [b"A3", b"A2", b"A1"]


def test_no_order_of_parcels_makes_the_manifest_revisit_a_building() -> None:
    rng = random.Random(5)
    parcels = [
        place(f"w{i}", f"{s}{rng.randrange(4)}", s, rng.choice("RS"))
        for i in range(150)
        for s in [rng.choice("ABCDEFGH")]
    ]
    for _ in range(20):
        rng.shuffle(parcels)
        learned = {p.point: rng.random() * 10 for p in parcels if rng.random() < 0.5}
        walk = [
            p
            for stop in order_stops(parcels, route_order([b"C", b"A"]), learned)
            for p in [stop.point] * len(stop.waybill_ids)
        ]
        assert revisits(walk) == 0
        sites = [point[:1] for point in dict.fromkeys(walk)]
        assert revisits(sites) == 0  # compounds are contiguous too
    assert revisits([b"1", b"2", b"1"]) == 1 and revisits([b"1", b"1", b"2"]) == 0


NOW = datetime(2026, 12, 1, tzinfo=UTC)


def load(
    x: str, capacity: int = 200, live: int = 0, a: set[bytes] | None = None, b: set[bytes] | None = None
) -> NumberLoad:
    return NumberLoad(x, capacity, live, frozenset(a or set()), frozenset(b or set()))


def test_an_x_never_carries_two_live_bindings_with_the_same_a_or_b() -> None:
    pool = [load("x1", live=1, a={b"A"}), load("x2", live=5, b={b"B"}), load("x3", live=9)]
    assert choose_x(pool, b"A", b"B", {}) == "x3"
    assert choose_x(pool[:2], b"A", b"B", {}) is None


def test_capacity_is_respected_and_the_least_loaded_x_wins() -> None:
    assert choose_x([load("x1", capacity=2, live=2), load("x2", capacity=5000, live=4000)], b"A", b"B", {}) == "x2"
    assert choose_x([load("x1", live=3), load("x2", live=1)], b"A", b"B", {}) == "x2"
    assert choose_x([load("x1", capacity=1, live=1)], b"A", b"B", {}) is None


def test_each_viewer_of_a_recipient_gets_its_own_x_where_the_pool_allows() -> None:
    pool = [load("x1"), load("x2", live=50)]
    assert choose_x(pool, b"A2", b"B", {"x1": "user:first"}) == "x2"
    assert choose_x(pool[:1], b"A2", b"B", {"x1": "user:first"}) == "x1"  # no other X: shared rather than refused
