"""Routing table loading, validation and longest-prefix sort codes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.errors import FieldError
from privacy_waybill.issuance.routing import (
    DEMO_TABLE,
    RoutingTable,
    RoutingTableError,
    SortCode,
    address_division_code,
    normalise_division_code,
)

HEADER = "division_code,hub,station,route,road\n"


def table(tmp_path: Path, body: str, header: str = HEADER) -> RoutingTable:
    path = tmp_path / "routing.csv"
    path.write_text(header + body, encoding="utf-8")
    return RoutingTable.load(path)


@pytest.fixture(scope="module")
def demo() -> RoutingTable:
    return RoutingTable.load()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("33", "33"),
        ("330000", "33"),
        ("3301", "3301"),
        ("330100", "3301"),
        ("330110", "330110"),
        ("330110005", "330110005"),
        ("330110005000", "330110005"),
        ("330110005001", None),
        ("3", None),
        ("33011", None),
        ("33a1", None),
        ("", None),
    ],
)
def test_normalise_division_code(code: str, expected: str | None) -> None:
    assert normalise_division_code(code) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (
            ParsedAddress(
                province_code="330000",
                city_code="330100",
                district_code="330110",
                town_code="330110005000",
            ),
            "330110005",
        ),
        (ParsedAddress(district_code="330110", town_code="330110005"), "330110005"),
        (
            ParsedAddress(province_code="330000", city_code="330100", district_code="330110"),
            "330110",
        ),
        (ParsedAddress(province_code="330000", city_code="330100"), "3301"),
        (ParsedAddress(province_code="33"), "33"),
        (ParsedAddress(province="浙江省"), None),
    ],
)
def test_address_division_code_takes_the_most_specific(address: ParsedAddress, expected: str | None) -> None:
    assert address_division_code(address) == expected


def test_each_segment_comes_from_its_own_longest_prefix(tmp_path: Path) -> None:
    routes = table(
        tmp_path,
        "33,571,,,\n3301,,HZ00,,\n330110,,HZ10,,\n330110005,,,12,\n330110,,,90,\n",
    )
    five_roads = ParsedAddress(district_code="330110", town_code="330110005")
    assert routes.sort_code(five_roads) == SortCode("571", "HZ10", "12")
    other_town = ParsedAddress(district_code="330110", town_code="330110012")
    assert routes.sort_code(other_town) == SortCode("571", "HZ10", "90")
    other_district = ParsedAddress(district_code="330106")
    code = routes.sort_code(other_district)
    assert (str(code), code.derived) == ("571-HZ00-000", ("route",))


def test_road_row_beats_plain_rows_and_only_matches_its_road(tmp_path: Path) -> None:
    routes = table(tmp_path, "33,571,HZ,,\n330110005,,,12,\n330110,,,13,文一西路\n")
    on_road = ParsedAddress(town_code="330110005", road="文一西路")
    elsewhere = ParsedAddress(town_code="330110005", road="五常大道")
    assert routes.sort_code(on_road).route == "13"
    assert routes.sort_code(elsewhere).route == "12"


def test_fallbacks_are_derived_from_the_codes(tmp_path: Path) -> None:
    routes = table(tmp_path, "11,010,,,\n")
    code = routes.sort_code(ParsedAddress(town_code="330110005000"))
    assert str(code) == "33-0110-005"
    assert code.derived == ("hub", "station", "route")
    assert str(routes.sort_code(ParsedAddress(city_code="330100"))) == "33-0000-000"


def test_address_without_codes_cannot_be_routed(demo: RoutingTable) -> None:
    with pytest.raises(FieldError) as caught:
        demo.sort_code(ParsedAddress(province="浙江省", road="文一西路"))
    assert caught.value.field == "address"
    assert "文一西路" not in str(caught.value)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (
            ParsedAddress(district_code="330110", town_code="330110005000", road="文一西路"),
            "571-HZ10-13",
        ),
        (
            ParsedAddress(district_code="330110", town_code="330110012", road="文一西路"),
            "571-HZ10-16",
        ),
        (ParsedAddress(district_code="330110", town_code="330110005"), "571-HZ10-12"),
        (ParsedAddress(district_code="440305"), "755-SZ05-000"),
        (ParsedAddress(district_code="440106"), "020-GZ06-000"),
        (ParsedAddress(district_code="110105"), "010-BJ05-000"),
        (ParsedAddress(district_code="310115"), "021-SH15-000"),
        (ParsedAddress(province_code="650000"), "991-0000-000"),
    ],
)
def test_demo_table(demo: RoutingTable, address: ParsedAddress, expected: str) -> None:
    assert str(demo.sort_code(address)) == expected


def division_rows(name: str) -> list[dict[str, str]]:
    path = DEMO_TABLE.parent.parent / "divisions" / name
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


def test_demo_table_covers_every_province_and_the_five_cities(demo: RoutingTable) -> None:
    for row in division_rows("nbs2023_provinces.csv"):
        assert "hub" not in demo.sort_code(ParsedAddress(province_code=row["code"])).derived
    for row in division_rows("nbs2023_areas.csv"):
        if row["cityCode"] in {"1101", "3101", "3301", "4401", "4403"}:
            code = demo.sort_code(ParsedAddress(district_code=row["code"]))
            assert "station" not in code.derived, row["code"]


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        ("3,571,,,\n", 2, "division_code"),
        ("33011x,571,,,\n", 2, "division_code"),
        ("33,,,,\n", 2, None),
        ("33,57-1,,,\n", 2, "hub"),
        ("33,571,hz,,\n", 2, "station"),
        ("33,571,,1234567,\n", 2, "route"),
        ("33,571,,,\n3301,,HZ,,\n33,572,,,\n", 4, "hub"),
        ("3301,,,12,文一西路\n", 2, "road"),
        ("330110,,HZ10,12,文一西路\n", 2, "road"),
        ("330110,,,,文一西路\n", 2, "road"),
        ("330110,,,12,文一西路\n330110,,,13,文一西路\n", 3, "route"),
        ("33,571,,\n", 2, None),
    ],
)
def test_invalid_rows_name_line_and_column(tmp_path: Path, body: str, line: int, column: str | None) -> None:
    with pytest.raises(RoutingTableError) as caught:
        table(tmp_path, body)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert f"line {line}" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("division_code,hub,station\n", "route"),
        ("division_code,hub,station,route,colour\n", "colour"),
        ("division_code,hub,hub,station,route\n", "hub"),
    ],
)
def test_invalid_header(tmp_path: Path, header: str, column: str) -> None:
    with pytest.raises(RoutingTableError) as caught:
        table(tmp_path, "", header=header)
    assert (caught.value.line, caught.value.column) == (1, column)


def test_comments_blank_lines_and_bom_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "routing.csv"
    path.write_bytes("\ufeff# operators' notes\n\n".encode() + HEADER.encode() + b"# hubs\n33,571,,,\n")
    assert RoutingTable.load(path).sort_code(ParsedAddress(province_code="33")).hub == "571"


def test_empty_and_non_utf8_tables_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(RoutingTableError, match="no header"):
        RoutingTable.load(empty)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + "330110,,,12,文一西路\n").encode("gbk"))
    with pytest.raises(RoutingTableError, match="not UTF-8"):
        RoutingTable.load(gbk)
