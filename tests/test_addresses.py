"""Address parsing: division resolution, renamed districts, known traps, detail levels."""

from __future__ import annotations

import random
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from privacy_waybill.addresses.divisions import known_area_codes, load_divisions
from privacy_waybill.addresses.generate import generate_address, generate_addresses
from privacy_waybill.addresses.model import ADDRESS_FIELD_NAMES, ParsedAddress
from privacy_waybill.addresses.parser import (
    _INVISIBLE,
    DETAIL_LEVELS,
    leading_noise_length,
    normalise_text,
    parse_address,
    parse_address_parts,
    split_detail,
)
from privacy_waybill.errors import FieldError

FULL = "浙江省杭州市余杭区五常街道文一西路969号西溪花园3幢2单元1203室"


def test_parsed_address_fields_are_in_the_order_the_parser_passes_them() -> None:
    # The parser builds ParsedAddress positionally: divisions, the detail levels, then codes.
    assert ADDRESS_FIELD_NAMES == (
        "province", "city", "district", "town", *DETAIL_LEVELS,
        "province_code", "city_code", "district_code", "town_code", "district_renamed_from",
    )  # fmt: skip


def test_present_levels_and_text_of_follow_the_written_order() -> None:
    parsed = ParsedAddress(province="浙江省", district="余杭区", road="文一西路", room="", remainder="东门")
    assert parsed.present_levels() == ("province", "district", "road", "remainder")
    assert parsed.text_of(["remainder", "province", "city", "room", "unknown"]) == "浙江省东门"
    assert parsed.text_of(()) == ""
    assert (parsed.text_of(["road"]), parsed.text_of(["room"]), parsed.text_of(["unknown"])) == ("文一西路", "", "")


def test_written_joins_every_present_level_and_hides_the_text_from_the_repr() -> None:
    parsed = parse_address(FULL)
    assert parsed.written() == parsed.text_of(parsed.present_levels()) == FULL
    assert ParsedAddress(province="浙江省", room="", remainder="东门").written() == "浙江省东门"
    # A named tuple: its repr, str and formatting show the levels present, never their text.
    for shown in (repr(parsed), str(parsed), f"{parsed}", repr([parsed])):
        assert "余杭" not in shown and "969" not in shown and "330110" in shown


def test_what_normalise_text_drops_is_never_printable_but_the_space() -> None:
    # normalise_text returns printable text without " " as it is, nothing to drop in it.
    characters = map(chr, range(sys.maxunicode + 1))
    assert not [c for c in characters if c != " " and c.isprintable() and (c.isspace() or _INVISIBLE.match(c))]
    assert normalise_text("浙江省 杭州市\u3000余杭区\u200b１２号\u00a8") == "浙江省杭州市余杭区12号\u0308"


def test_a_two_character_road_suffix_may_end_past_the_first_40_characters() -> None:
    # Only the suffix must start within them: 大道 starts at 39 and the road ends at 41.
    detail = "甲乙丙丁戊己庚辛壬癸" * 3 + "甲乙丙丁戊花园新华大道88号"
    assert split_detail(detail)["road"] == "新华大道"


def test_full_address_fills_every_level_with_official_codes() -> None:
    parsed = parse_address(FULL)
    assert (parsed.province, parsed.city, parsed.district, parsed.town) == ("浙江省", "杭州市", "余杭区", "五常街道")
    assert (parsed.province_code, parsed.city_code, parsed.district_code) == ("330000", "330100", "330110")
    assert parsed.town_code == "330110005000"
    assert (parsed.road, parsed.road_number, parsed.poi) == ("文一西路", "969号", "西溪花园")
    assert (parsed.building, parsed.unit, parsed.room, parsed.remainder) == ("3幢", "2单元", "1203室", None)


@pytest.mark.parametrize(
    "text",
    [
        "杭州市余杭区五常街道文一西路969号",
        "余杭区五常街道文一西路969号",
        "浙江杭州余杭区五常街道文一西路969号",
        "浙江省　杭州市　余杭区　五常街道文一西路９６９号",
        "浙江省,杭州市,余杭区,五常街道文一西路969号",
        "浙江杭州余杭五常街道文一西路969号",
    ],
)
def test_missing_or_short_upper_levels_and_full_width_text(text: str) -> None:
    parsed = parse_address(text)
    assert parsed.district_code == "330110"
    assert parsed.town == "五常街道"
    assert (parsed.road, parsed.road_number) == ("文一西路", "969号")


@pytest.mark.parametrize("text", ["北京市朝阳区建国路88号", "北京市北京市朝阳区建国路88号", "北京朝阳区建国路88号"])
def test_municipality_forms_have_no_prefecture_city(text: str) -> None:
    parsed = parse_address(text)
    assert (parsed.province, parsed.city, parsed.district) == ("北京市", None, "朝阳区")
    assert parsed.district_code == "110105"


def test_duplicate_district_name_resolved_by_context_or_rejected() -> None:
    assert parse_address("吉林省长春市朝阳区红旗街100号").district_code == "220104"
    assert parse_address("吉林朝阳区红旗街100号").district_code == "220104"
    with pytest.raises(FieldError) as error:
        parse_address("朝阳区建国路88号")
    assert error.value.field == "address"
    assert "ambiguous" in error.value.reason


@pytest.mark.parametrize(
    ("text", "district_code"),
    [
        ("新疆维吾尔自治区伊犁哈萨克自治州伊宁市解放路1号", "654002"),
        ("新疆伊犁伊宁市解放路1号", "654002"),
        ("吉林延边州延吉市人民路5号", "222401"),
        ("浙江省金华市义乌市稠城街道工人北路3号", "330782"),
        ("浙江义乌稠城街道工人北路3号", "330782"),
        ("重庆市城口县葛城街道", "500229"),
    ],
)
def test_autonomous_regions_prefectures_and_county_level_cities(text: str, district_code: str) -> None:
    assert parse_address(text).district_code == district_code


def test_province_level_county_city_has_no_prefecture() -> None:
    parsed = parse_address("湖北省仙桃市干河街道")
    assert (parsed.province, parsed.city, parsed.district) == ("湖北省", None, "仙桃市")


def test_city_without_counties_resolves_to_its_towns() -> None:
    parsed = parse_address("广东省东莞市南城街道鸿福路1号")
    assert (parsed.city_code, parsed.district, parsed.town_code) == ("441900", None, "441900004000")


def test_current_linping_district_is_not_a_rename() -> None:
    parsed = parse_address("浙江省杭州市临平区南苑街道人民大道1号")
    assert (parsed.district, parsed.district_code, parsed.district_renamed_from) == ("临平区", "330113", None)


@pytest.mark.parametrize(
    ("text", "district", "renamed_from"),
    [
        ("山东省莱芜市莱城区凤城街道", "莱芜区", "莱城区"),
        ("上海市闸北区天目西路1号", "静安区", "闸北区"),
        ("湖南省长沙市北区湘雅路1号", "开福区", "北区"),
        ("北京市崇文区天坛路1号", "东城区", "崇文区"),
    ],
)
def test_renamed_districts_map_to_successor(text: str, district: str, renamed_from: str) -> None:
    parsed = parse_address(text)
    assert (parsed.district, parsed.district_renamed_from) == (district, renamed_from)


def test_laiwu_district_today_is_plain() -> None:
    parsed = parse_address("山东省济南市莱芜区凤城街道花园路2号")
    assert (parsed.district_code, parsed.district_renamed_from) == ("370116", None)


def test_split_district_is_decided_by_its_town_else_kept_at_the_city() -> None:
    # 莱芜市 (the old prefecture) went to both 莱芜区 and 钢城区, both in 济南市.
    city_only = parse_address("山东省莱芜市花园路2号")
    assert (city_only.city_code, city_only.district, city_only.road) == ("370100", None, "花园路")
    assert parse_address("山东省莱芜市凤城街道花园路2号").district_code == "370116"


def test_compound_sub_area_is_never_a_district() -> None:
    parsed = parse_address("浙江省杭州市西湖区湖畔花园北区5幢")
    assert (parsed.district, parsed.poi, parsed.building) == ("西湖区", "湖畔花园北区", "5幢")
    with pytest.raises(FieldError):
        parse_address("湖畔花园北区5幢")


def test_east_district_of_another_city_is_not_panzhihua() -> None:
    zhongshan = parse_address("广东省中山市东区街道中山路1号")
    assert (zhongshan.city, zhongshan.district, zhongshan.town) == ("中山市", None, "东区街道")
    with pytest.raises(FieldError):
        parse_address("四川省成都市东区1号")
    assert parse_address("东区攀枝花大道1号").city == "攀枝花市"


def test_short_district_needs_a_following_town() -> None:
    with pytest.raises(FieldError):
        parse_address("杭州余杭塘路1号")


def test_official_town_name_that_repeats_its_district() -> None:
    parsed = parse_address("广东省肇庆市端州区端州区睦岗街道凤凰街304号")
    assert (parsed.town, parsed.road) == ("端州区睦岗街道", "凤凰街")


@pytest.mark.parametrize("text", ["", "   ", "文一西路969号", "hello world", "浙江省"])
def test_unresolvable_district_raises_without_quoting(text: str) -> None:
    with pytest.raises(FieldError) as error:
        parse_address(text)
    assert error.value.reason.startswith("district not recognised: ")
    assert "add" in error.value.reason
    assert not text.strip() or text not in str(error.value)


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (
            "文一西路969号西溪花园3幢2单元1203室",
            {
                "road": "文一西路",
                "road_number": "969号",
                "poi": "西溪花园",
                "building": "3幢",
                "unit": "2单元",
                "room": "1203室",
            },
        ),
        ("长乐路123弄4号", {"road": "长乐路", "road_number": "123弄4号"}),
        (
            "解放大道1号金色大厦A座12层1201",
            {
                "road": "解放大道",
                "road_number": "1号",
                "poi": "金色大厦",
                "building": "A座",
                "floor": "12层",
                "room": "1201",
            },
        ),
        ("阳光小区3号楼2单元502", {"poi": "阳光小区", "building": "3号楼", "unit": "2单元", "room": "502"}),
        ("李家村5组", {"poi": "李家村", "remainder": "5组"}),
        ("放门卫", {"remainder": "放门卫"}),
    ],
)
def test_detail_levels(detail: str, expected: dict[str, str]) -> None:
    assert {k: v for k, v in split_detail(detail).items() if v} == expected


def test_parts_resolve_and_strip_repeated_divisions() -> None:
    parsed = parse_address_parts("浙江省", "杭州市", "余杭区", "五常街道", "文一西路969号")
    assert parsed == parse_address("浙江省杭州市余杭区五常街道文一西路969号")
    repeated = parse_address_parts("浙江", "杭州", "余杭区", None, "浙江省杭州市余杭区五常街道文一西路969号")
    assert (repeated.town, repeated.road, repeated.remainder) == ("五常街道", "文一西路", None)
    assert parse_address_parts(None, None, None, None, FULL) == parse_address(FULL)
    assert parse_address_parts("北京市", "北京市", "朝阳区", None, "建国路88号").district_code == "110105"


def test_parts_unknown_town_is_kept_in_detail() -> None:
    parsed = parse_address_parts("浙江省", "杭州市", "余杭区", "未来科技城", "文一西路969号")
    assert parsed.town is None
    assert parsed.text_of(DETAIL_LEVELS) == "未来科技城文一西路969号"


@pytest.mark.parametrize(
    ("parts", "reason"),
    [
        (("浙江省", "长春市", "朝阳区"), "city does not belong to the province or city given"),
        (("浙江省", "杭州市", "朝阳区"), "district does not belong to the province or city given"),
        (("浙江省", "杭州市", "不存在区"), "district not recognised"),
        (("火星省", None, "余杭区"), "province not recognised"),
    ],
)
def test_parts_that_contradict_or_are_unknown(parts: tuple[str | None, ...], reason: str) -> None:
    with pytest.raises(FieldError) as error:
        parse_address_parts(*parts, None, "文一西路969号")
    assert (error.value.field, error.value.reason) == ("address", reason)


def test_known_area_codes_cover_current_and_retired_codes() -> None:
    codes = known_area_codes()
    assert {"330110", "330113", "371202", "371200", "110103", "110000"} <= codes
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert set(load_divisions().districts) <= codes


def test_division_counts_match_the_ministry_list() -> None:
    data = load_divisions()
    assert (len(data.provinces), len(data.cities), len(data.districts)) == (34, 333, 2846)


def test_generator_is_deterministic_and_varied() -> None:
    first = generate_addresses(50, seed=7)
    assert first == generate_addresses(50, seed=7)
    assert len({g.text for g in first}) == 50
    assert any(g.expected.town is None for g in first) and any(g.expected.building is None for g in first)


def test_round_trip_over_generated_addresses() -> None:
    rng = random.Random(2024)
    mismatches = []
    for _ in range(2000):
        generated = generate_address(rng)
        if parse_address(generated.text) != generated.expected:
            mismatches.append(generated.text)
    assert mismatches == []


_PREFIX = "浙江省杭州市余杭区"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_raises_only_field_errors(text: str) -> None:
    try:
        parse_address(text)
    except FieldError as error:
        assert error.field == "address"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_no_detail_text_is_lost(suffix: str) -> None:
    detail = normalise_text(_PREFIX + suffix)[len(_PREFIX) :]
    # A division already read, written again, is dropped like the noise (浙江省温州市浙江省温州市).
    assume(not detail[leading_noise_length(detail) :].startswith(("浙江省", "杭州市", "余杭区")))
    parsed = parse_address(_PREFIX + suffix)
    assert parsed.district_code == "330110"
    # Separators and placeholders (null, 其它区) before a town or the detail are the only
    # text the parser may skip.
    assert parsed.text_of(("town", *DETAIL_LEVELS)) in (detail, detail[leading_noise_length(detail) :])


# Issue 6 §2, row by row: the written form, then the division it must reach (a district,
# or the city when the form determines no more), its town and its road.
@pytest.mark.parametrize(
    ("text", "code", "town", "road"),
    [
        # short names without their suffix, with or without the city
        ("宁波北仑新碶街道明州路818号", "330206", "新碶街道", "明州路"),
        ("绍兴诸暨暨阳街道人民路1号", "330681", "暨阳街道", "人民路"),
        ("温州乐清柳市镇象阳路5号", "330382", "柳市镇", "象阳路"),
        ("苏州昆山玉山镇前进路2号", "320583", "玉山镇", "前进路"),
        ("义乌稠城街道工人北路3号", "330782", "稠城街道", "工人北路"),
        ("萧山区人民路1号", "330109", None, "人民路"),
        ("杭州西湖文三路1号", "330106", None, "文三路"),  # inside a city, a road confirms it too
        ("江苏苏州姑苏平江路1号", "320508", None, "平江路"),
        ("清远清新禾云镇望江路1号", "441803", "禾云镇", "望江路"),
        ("大同林源镇滨江路53号", "230606", "林源镇", "滨江路"),
        # retired and merged districts
        ("杭州市江干区凯旋街道凤起东路1号", "330102", "凯旋街道", "凤起东路"),
        ("杭州市江干区下沙街道1号大街", "330114", "下沙街道", "1号大街"),
        ("杭州市江干区秋涛路1号", "330102", None, "秋涛路"),
        ("杭州市江干区学源街8号", "330114", None, "学源街"),
        ("杭州市江干区人民路1号", "330100", None, "人民路"),
        ("杭州市下城区武林街道延安路1号", "330105", "武林街道", "延安路"),
        ("宁波市江东区百丈街道中山东路1号", "330212", "百丈街道", "中山东路"),
        ("绍兴上虞市百官街道人民路", "330604", "百官街道", "人民路"),
        ("临安市锦城街道钱王街1号", "330112", "锦城街道", "钱王街"),
        ("莱芜市凤城街道花园路2号", "370116", "凤城街道", "花园路"),
        ("北京市崇文区天坛路1号", "110101", None, "天坛路"),
        ("上海市闸北区天目西路1号", "310106", None, "天目西路"),
        ("上海市卢湾区淮海中路1号", "310101", None, "淮海中路"),
        # development and statistical zones, routed to what contains them
        ("杭州下沙经济开发区2号大街", "330114", None, "2号大街"),
        ("浙江省杭州市高新区江南大道1号", "330108", None, "江南大道"),
        ("杭州高新区江南大道1号", "330108", None, "江南大道"),
        ("苏州工业园区星湖街328号", "320500", None, "星湖街"),
        ("宁波保税区港东大道1号", "330206", None, "港东大道"),
        ("石家庄高新区长江大道1号", "130100", None, "长江大道"),
        # noise
        ("浙江省-台州市-路桥区路桥街道银安街1号", "331004", "路桥街道", "银安街"),
        ("江苏省_苏州市_吴中区长桥街道宝带西路1号", "320506", "长桥街道", "宝带西路"),
        ("浙江省温州市浙江省温州市鹿城区五马街道解放街1号", "330302", "五马街道", "解放街"),
        ("null浙江省杭州市西湖区文三路1号", "330106", None, "文三路"),
        ("浙江省杭州市其它区西湖区文三路1号", "330106", None, "文三路"),
        ("浙江省杭州市西湖区无锡路1号", "330106", None, "无锡路"),  # 无 is a placeholder only alone
        ("委托件浙江省杭州市西湖区文三路1号", "330106", None, "文三路"),
        ("【急】浙江省杭州市西湖区文三路1号", "330106", None, "文三路"),
        ("[加急]中国浙江省杭州市西湖区文三路1号", "330106", None, "文三路"),
        ("浙江平阳鳌江镇建设路1号", "330326", "鳌江镇", "建设路"),
        ("浙 江 省 杭 州 市 西 湖 区 文 三 路", "330106", None, "文三路"),
        ("山东枣庄市中区文化路街道长江巷9号", "370402", "文化路街道", "长江巷"),
        # a district unique in the country, or in the province given
        ("鹿城区五马街道解放街1号", "330302", "五马街道", "解放街"),
        ("浙江鹿城区解放街1号", "330302", None, "解放街"),
    ],
)
def test_addresses_as_people_write_them(text: str, code: str, town: str | None, road: str | None) -> None:
    parsed = parse_address(text)
    assert (parsed.district_code or parsed.city_code, parsed.town, parsed.road) == (code, town, road)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("朝阳区建国路88号", "district name is ambiguous (北京市朝阳区, 吉林省长春市朝阳区); add the province or city"),
        ("文三路1号", "district not recognised: add the province, city and district (区/县) before the street"),
        ("浙江省杭州市文三路1号", "district not recognised: add the district (区/县) after the city"),
        ("浙江省杭州市其它区文三路1号", "district not recognised: add the district (区/县) after the city"),
        ("台湾大安区忠孝东路1号", "address in Taiwan without a city or county: add it (台北市, 新北市, 高雄市 ...)"),
    ],
)
def test_undeterminable_addresses_say_what_to_add_or_name_the_candidates(text: str, reason: str) -> None:
    with pytest.raises(FieldError) as error:
        parse_address(text)
    assert (error.value.field, error.value.reason) == ("address", reason)


@pytest.mark.parametrize(
    ("text", "province", "city", "district", "remainder"),
    [
        ("香港九龙城区太子道西1号", "香港特别行政区", None, "九龙城区", "太子道西1号"),
        ("中国香港沙田區沙田正街11号", "香港特别行政区", None, "沙田区", "沙田正街11号"),
        ("香港特别行政区皇后大道中99号", "香港特别行政区", None, None, "皇后大道中99号"),
        ("澳门氹仔新濠天地2座", "澳门特别行政区", None, "氹仔", "新濠天地2座"),
        ("台湾省台北市大安区忠孝东路四段1号", "台湾省", "台北市", None, "大安区忠孝东路四段1号"),
        ("臺灣高雄市前镇区中山二路2号", "台湾省", "高雄市", None, "前镇区中山二路2号"),
        ("新北市板桥区县民大道1号", "台湾省", "新北市", None, "板桥区县民大道1号"),
    ],
)
def test_hong_kong_macao_and_taiwan_are_read_to_their_district_or_city(
    text: str, province: str, city: str | None, district: str | None, remainder: str
) -> None:
    parsed = parse_address(text)
    assert (parsed.province, parsed.city, parsed.district, parsed.road, parsed.remainder) == (
        province,
        city,
        district,
        None,
        remainder,
    )


@pytest.mark.parametrize(
    ("detail", "before_road", "road"),
    [
        ("长虹村象阳路5号", "长虹村", "象阳路"),
        ("西溪湿地紫金港路", "西溪湿地", "紫金港路"),
        ("科技园区创新路8号", "科技园区", "创新路"),
        ("欧阳璇玑家建国路88号", "欧阳璇玑家", "建国路"),
        ("杭州某某科技有限公司建国路1号", "杭州某某科技有限公司", "建国路"),
        ("阳光小区学院路971号", "阳光小区", "学院路"),
        ("实验中学花园路2号", "实验中学", "花园路"),
        ("北街村象阳路", "北街村", "象阳路"),
        ("学院路", None, "学院路"),
        ("鼓楼东大街1号", None, "鼓楼东大街"),
        ("1号大街8号", None, "1号大街"),
        ("中关村大街1号", None, "中关村大街"),  # one road named after a village
        ("李家村东路1号", None, "李家村东路"),
        ("翠苑社区路1号", None, None),  # named after a community: hidden whole
        ("翠苑社区5组", None, None),
        ("一二三四五六七路", None, None),  # too long to be told from a name before a road
    ],
)
def test_what_is_written_before_the_road_is_never_the_road(
    detail: str, before_road: str | None, road: str | None
) -> None:
    parts = split_detail(detail)
    assert (parts["before_road"], parts["road"]) == (before_road, road)
    assert "".join(parts[level] or "" for level in DETAIL_LEVELS) == detail


def test_parts_decide_a_split_district_by_what_follows_and_take_regions() -> None:
    assert parse_address_parts("浙江省", "杭州市", "江干区", None, "秋涛路1号").district == "上城区"
    assert parse_address_parts("浙江省", "杭州市", "江干区", "下沙街道", "1号大街").district == "钱塘区"
    undecided = parse_address_parts("浙江省", "杭州市", "江干区", None, "人民路1号")
    assert (undecided.city_code, undecided.district) == ("330100", None)
    hong_kong = parse_address_parts("香港特别行政区", None, "九龙城区", None, "太子道西1号")
    assert (hong_kong.province, hong_kong.district, hong_kong.remainder) == ("香港特别行政区", "九龙城区", "太子道西1号")
