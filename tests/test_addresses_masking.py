"""Issue 6 §3: a label keeps recognised divisions, then a road only when it is a road name on
its own; villages, compounds, POIs, names, numbers and all of Hong Kong, Macao and Taiwan
below their district or city stay hidden. Row by row, then by properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_waybill.addresses.divisions import load_divisions
from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.errors import FieldError
from privacy_waybill.masking import FULLY_HIDDEN, get_rule, load_masking_policy
from privacy_waybill.validation.names import parse_person_name

LABEL_LEVELS = {"levels": ["province", "city", "district", "town", "road"]}


def label(value: str | ParsedAddress) -> str:
    return get_rule("address_allow_list").apply(value, LABEL_LEVELS)


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("浙江省温州市乐清市柳市镇长虹村象阳路5号", "浙江省温州市乐清市柳市镇象阳路****"),
        ("浙江省温州市乐清市柳市镇长虹村5组", "浙江省温州市乐清市柳市镇****"),
        ("浙江省杭州市西湖区翠苑社区12幢", "浙江省杭州市西湖区****"),
        ("浙江省杭州市西湖区西溪湿地紫金港路1号", "浙江省杭州市西湖区紫金港路****"),
        ("浙江省杭州市余杭区科技园区创新路8号", "浙江省杭州市余杭区创新路****"),
        ("浙江省杭州市余杭区经济开发区兴国路8号", "浙江省杭州市余杭区兴国路****"),
        ("浙江省杭州市西湖区实验中学文三路1号", "浙江省杭州市西湖区文三路****"),
        ("浙江省杭州市西湖区农贸市场文三路1号", "浙江省杭州市西湖区文三路****"),
        ("浙江省杭州市西湖区万达广场文三路1号", "浙江省杭州市西湖区文三路****"),
        ("浙江省杭州市西湖区如家酒店文三路1号", "浙江省杭州市西湖区文三路****"),
        ("北京市朝阳区欧阳璇玑家建国路88号", "北京市朝阳区建国路****"),
        ("北京市朝阳区顺达贸易有限公司建国路88号", "北京市朝阳区建国路****"),
        ("浙江省杭州市余杭区翠苑社区路1号", "浙江省杭州市余杭区****"),
        ("北京市海淀区中关村大街1号", "北京市海淀区中关村大街****"),
        ("浙江省杭州市余杭区五常街道文一西路969号西溪花园3幢2单元1203室", "浙江省杭州市余杭区五常街道文一西路****"),
        ("委托件浙江省-杭州市-西湖区文三路1号", "浙江省杭州市西湖区文三路****"),
        ("杭州市江干区秋涛路1号", "浙江省杭州市上城区秋涛路****"),
        ("杭州市江干区人民路1号", "浙江省杭州市人民路****"),
        ("苏州工业园区星湖街328号", "江苏省苏州市星湖街****"),
        ("香港九龙城区太子道西1号", "香港特别行政区九龙城区****"),
        ("香港皇后大道中99号", "香港特别行政区****"),
        ("澳门氹仔新濠天地2座", "澳门特别行政区氹仔****"),
        ("台湾省台北市大安区忠孝东路四段1号", "台湾省台北市****"),
        ("台北市大安区忠孝东路四段1号", "台湾省台北市****"),
    ],
)
def test_label_keeps_divisions_and_a_road_on_its_own(written: str, shown: str) -> None:
    assert label(written) == shown
    assert label(shown) == shown


def test_a_road_that_is_no_road_name_is_hidden_even_when_given_parsed() -> None:
    parsed = ParsedAddress(province="浙江省", city="杭州市", district="西湖区", road="长虹村象阳路")
    assert label(parsed) == "浙江省杭州市西湖区****"


def test_every_label_view_of_the_standard_profile_hides_below_the_road() -> None:
    policy = load_masking_policy()
    written = "北京市朝阳区欧阳璇玑家建国路88号"
    views = {policy.mask_field("standard", audience, "address", written) for audience in ("label", "courier_before_reveal")}
    assert views == {"北京市朝阳区建国路****"}
    assert policy.mask_field("standard", "tracking", "address", written) == "北京市朝阳区****"
    assert policy.mask_field("standard", "station", "address", written) == FULLY_HIDDEN


# Han characters that make no road suffix (so the drawn text cannot end a road by itself)
# and no building word (号, 幢 and 栋 end the search for a road: the road came before them).
NAME_CHARACTERS = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5).filter(
    lambda c: c not in "路街巷弄道大胡同号幢栋"
)
BEFORE_ROAD_WORDS = st.sampled_from(["村", "社区", "小区", "花园", "大厦", "中学", "市场", "商场", "酒店", "园区", "开发区", "家", "有限公司"])
ROADS = st.sampled_from(["文三路", "建国路", "象阳路", "紫金港路", "天目山路", "解放大道", "延安路", "人民大街"])


@settings(max_examples=300, deadline=None)
@given(st.text(NAME_CHARACTERS, min_size=1, max_size=6), BEFORE_ROAD_WORDS, ROADS, st.integers(1, 999))
def test_text_before_the_road_never_reaches_a_label(name: str, word: str, road: str, number: int) -> None:
    before_road = name + word
    shown = label(f"浙江省杭州市西湖区{before_road}{road}{number}号")
    assert before_road not in shown
    assert shown == "浙江省杭州市西湖区" + road + FULLY_HIDDEN
    assert label(shown) == shown


def party_label(name: str, written: str) -> str:
    policy = load_masking_policy()
    return policy.mask_party("standard", "label", parse_person_name(name), "13800001111", parse_address(written)).address


@pytest.mark.parametrize(
    ("name", "written", "shown"),
    [
        # The party's own name typed before the road: the road goes with it.
        ("王伟", "北京市朝阳区王伟建国路88号", "北京市朝阳区****"),
        ("张建国", "浙江省杭州市西湖区张建国文三路100号", "浙江省杭州市西湖区****"),
        ("欧阳娜娜", "上海市浦东新区欧阳娜娜张江路88号", "上海市浦东新区****"),
        # The road keeps its name when the name is not in it, wherever else it was written.
        ("王伟", "北京市朝阳区建国路88号", "北京市朝阳区建国路****"),
        ("张建国", "浙江省杭州市西湖区文三路100号张建国收", "浙江省杭州市西湖区文三路****"),
        # A given name that is part of a road only (建国路 for 张建国) does not hide it.
        ("张建国", "北京市朝阳区建国路88号", "北京市朝阳区建国路****"),
    ],
)
def test_a_partys_own_name_in_the_road_hides_the_road(name: str, written: str, shown: str) -> None:
    assert party_label(name, written) == shown


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["王", "李", "张", "刘", "陈", "欧阳", "司马"]), st.text(NAME_CHARACTERS, min_size=1, max_size=2), ROADS)
def test_a_name_typed_before_the_road_never_reaches_its_label(surname: str, given: str, road: str) -> None:
    name = surname + given
    shown = party_label(name, f"浙江省杭州市西湖区{name}{road}8号")
    assert name not in shown
    assert shown.startswith("浙江省杭州市西湖区") and shown.endswith(FULLY_HIDDEN)


def test_a_county_that_became_its_city_keeps_the_city() -> None:
    parsed = parse_address("山东省日照县黄海一路1号")
    assert (parsed.city_code, parsed.district, parsed.road) == ("371100", None, "黄海一路")
    assert label("河南濮阳工业园区") == "河南省濮阳市"
    assert label("河南省濮阳市") == "河南省濮阳市"


def _division_pieces() -> list[str]:
    data = load_divisions()
    names = [d.name for d in (*data.provinces.values(), *data.cities.values())]
    names += [d.name for d in list(data.districts.values())[::7]] + [z.name for z in data.zones[::4]]
    names += [r.name for r in data.retired[::9]] + [a.written for a in data.region_areas]
    names += [t.name for t in data.towns[::400]]
    return names + ["null", "其它区", "无", "-", "【急】", "委托件", "中国", "文三路", "1号", "阳光小区", "长虹村", "区", "路"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_division_pieces()), min_size=1, max_size=6))
def test_any_mix_of_division_names_parses_or_is_refused_and_masks_idempotently(pieces: list[str]) -> None:
    text = "".join(pieces)
    try:
        parse_address(text)
    except FieldError as error:
        assert error.field == "address"
    once = label(text)
    assert label(once) == once
