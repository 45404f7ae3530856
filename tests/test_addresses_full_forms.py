"""Districts written in full after their province and city are read ahead of time: whatever
follows such a form, parsing gives what reading every division one by one gives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_waybill.addresses import parser
from privacy_waybill.addresses.corpus import messy_addresses
from privacy_waybill.addresses.divisions import load_divisions
from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.errors import FieldError

Outcome = ParsedAddress | tuple[str, str]
DATA = load_divisions()
DISTRICTS = sorted(DATA.districts)
# What people write after the district: towns, roads, compounds, zones, noise, and text that
# begins another division's or a longer name's characters.
FOLLOWING = [
    "",
    "五常街道文一西路969号",
    "长江大道252号云栖小镇17号楼2单元2006室",
    "经济技术开发区科技路8号",
    "高新区创业大道1号",
    "市中区建设路3号",
    "城关镇人民路12号",
    "新区",
    "区",
    "县",
    "街道",
    ",幸福巷852号",
    " / 中山路1号",
    "无",
    "其他",
    "【急】",
    "北区花园3栋",
    "风景名胜区",
]
FOLLOWING_CHARACTERS = "".join(sorted(set("".join(FOLLOWING) + "省市区县镇乡街道路号东南西北中新城开发")))


def _outcome(parse: Callable[[str], ParsedAddress], text: str) -> Outcome:
    try:
        return parse(text)
    except FieldError as error:
        return (error.field, error.reason)


@contextmanager
def _one_by_one() -> Iterator[None]:
    """Parsing without the full forms read ahead."""
    read_ahead = parser._read_full_form
    parser._read_full_form = lambda text: (parser._Reading(), 0)  # type: ignore[assignment]
    try:
        yield
    finally:
        parser._read_full_form = read_ahead  # type: ignore[assignment]


def _both_ways(text: str) -> tuple[list[Outcome], list[Outcome]]:
    parses = (parser.parse_address, parser.parse_label_address)
    ahead = [_outcome(parse, text) for parse in parses]
    with _one_by_one():
        one_by_one = [_outcome(parse, text) for parse in parses]
    return ahead, one_by_one


def test_most_districts_have_a_full_form_read_ahead() -> None:
    forms = {
        form
        for start in parser._districts_by_province_start()
        for form in parser._full_forms(start)[0]
    }
    assert len(forms) >= 0.9 * len(DISTRICTS)
    assert "山东省潍坊市奎文区" in forms and "北京市朝阳区" in forms


def test_a_form_read_ahead_leaves_the_reading_one_by_one_leaves() -> None:
    for code in DISTRICTS:
        written = parser._full_name(code)
        forms, _lengths = parser._full_forms(written[:2])
        if written not in forms:
            continue
        reading = parser._Reading()
        assert parser._read_divisions(written, 0, reading) == len(written)
        assert reading == forms[written], code


@pytest.mark.parametrize("following", FOLLOWING)
def test_every_district_in_full_then_anything_parses_as_one_by_one(following: str) -> None:
    for code in DISTRICTS:
        ahead, one_by_one = _both_ways(parser._full_name(code) + following)
        assert ahead == one_by_one, code


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(DISTRICTS), st.text(alphabet=FOLLOWING_CHARACTERS + "0123456789", max_size=12))
def test_a_full_form_followed_by_any_text_parses_as_one_by_one(code: str, following: str) -> None:
    ahead, one_by_one = _both_ways(parser._full_name(code) + following)
    assert ahead == one_by_one


def test_messy_addresses_parse_as_one_by_one() -> None:
    for messy in messy_addresses(2000, seed=7):
        ahead, one_by_one = _both_ways(messy.text)
        assert ahead == one_by_one


def test_a_watched_text_tells_when_reading_it_looked_past_its_end() -> None:
    inside = parser._Watched("浙江省杭州市")
    assert inside[:3] == "浙江省" and inside.startswith("杭州", 3) and not inside.startswith("杭州湾", 3)
    assert not inside.looked_past_end
    for look in (
        lambda text: text[4:8],
        lambda text: text[2:],
        lambda text: text.startswith("杭州市西湖区", 3),
        lambda text: text.startswith(("江苏", "杭州市西湖区"), 3),
        lambda text: text[-1],
        lambda text: text[:-1],
        lambda text: text[-3:5],
    ):
        watched = parser._Watched("浙江省杭州市")
        look(watched)
        assert watched.looked_past_end
    watched = parser._Watched("浙江省杭州市")
    with pytest.raises(IndexError):
        watched[6]
    assert watched.looked_past_end
