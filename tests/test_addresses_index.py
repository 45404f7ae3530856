"""The prebuilt division index: current with its sources, and the same data as they give."""

from __future__ import annotations

import json
from importlib import resources

from privacy_waybill.addresses import divisions
from privacy_waybill.addresses.divisions import build_from_sources, build_index, index_is_current, load_divisions

INDEX = resources.files("privacy_waybill") / "data" / "divisions" / "index.json"


def test_shipped_index_was_built_from_the_shipped_sources() -> None:
    # When this fails, a source table changed: rebuild with
    # `python -m privacy_waybill.addresses.divisions` and commit data/divisions/index.json.
    assert index_is_current()
    assert INDEX.read_bytes() == build_index()


def test_index_gives_the_same_division_data_as_the_sources() -> None:
    assert load_divisions() == build_from_sources()


def test_an_index_built_from_other_sources_is_not_used(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(divisions, "source_digest", lambda: "0" * 64)
    assert not index_is_current()


def test_an_index_of_another_format_falls_back_to_the_sources(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert json.loads(INDEX.read_bytes())["format"] == divisions.INDEX_FORMAT
    monkeypatch.setattr(divisions, "INDEX_FORMAT", divisions.INDEX_FORMAT + 1)
    assert not index_is_current()
    divisions.load_divisions.cache_clear()
    try:
        assert divisions.load_divisions() == build_from_sources()
    finally:
        divisions.load_divisions.cache_clear()


def test_zone_and_region_tables_point_at_real_divisions() -> None:
    data = load_divisions()
    assert all(data.division(zone.contains) for zone in data.zones)
    assert all(data.districts.get(road.successor) for road in data.successor_roads)
    assert {area.region_code for area in data.region_areas} == {"710000", "810000", "820000"}
    assert len({area.name for area in data.region_areas if area.region_code == "810000"}) == 21
