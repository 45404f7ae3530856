"""Masking rules, the policy file and free-text scrubbing, row by row."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.labels.model import MaskedParty
from privacy_waybill.masking import (
    AUDIENCES,
    FIELDS,
    FULLY_HIDDEN,
    MaskingPolicyError,
    contents_category,
    get_rule,
    load_masking_policy,
    parse_masking_policy,
    rule_names,
    scrub_free_text,
)
from privacy_waybill.masking.rules import RuleParamsError

ROAD_LEVELS = {"levels": ["province", "city", "district", "town", "road"]}
DISTRICT_LEVELS = {"levels": ["province", "city", "district"]}
FULL_ADDRESS = "浙江省杭州市余杭区五常街道文一西路969号阿里巴巴西溪园区3幢2单元501室"


def mask(rule: str, value: str | ParsedAddress | None, params: dict[str, object] | None = None) -> str:
    return get_rule(rule).apply(value, params or {})


# --- rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("张三丰", "张**"),
        ("张三", "张*"),
        ("张", "张"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳娜", "欧阳*"),
        ("司马懿", "司马*"),
        ("买买提·艾力", "买*·**"),
        ("阿卜杜拉·买买提·艾力", "阿*·**·**"),
        ("John Smith", "J***"),
        ("o'brien", "o***"),
        # already masked: unchanged
        ("张**", "张**"),
        ("欧阳*", "欧阳*"),
        ("买*·**", "买*·**"),
        ("J***", "J***"),
        # cannot be parsed: hidden
        ("张三3", FULLY_HIDDEN),
        ("张三*", FULLY_HIDDEN),
        ("李四**", FULLY_HIDDEN),  # looks masked, but 李四 is no surname
        ("13800138000", FULLY_HIDDEN),
        ("<b>x</b>", FULLY_HIDDEN),
        ("", ""),
        (None, ""),
    ],
)
def test_keep_surname(raw: str | None, masked: str) -> None:
    assert mask("keep_surname", raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812345678", "*******5678"),
        ("+86 138 1234 5678", "*******5678"),
        ("0571-8888 1234", "*******1234"),
        ("010-62345678转99", "*******5678"),
        ("13800138000-1234", "*******8000"),
        ("95013转1234", "*******5013"),
        ("*******5678", "*******5678"),
        ("***5678", FULLY_HIDDEN),
        ("12345", FULLY_HIDDEN),
        ("call me", FULLY_HIDDEN),
        ("", ""),
    ],
)
def test_phone_last4(raw: str, masked: str) -> None:
    assert mask("phone_last4", raw) == masked


@pytest.mark.parametrize(
    ("raw", "params", "masked"),
    [
        (FULL_ADDRESS, ROAD_LEVELS, "浙江省杭州市余杭区五常街道文一西路****"),
        (FULL_ADDRESS, DISTRICT_LEVELS, "浙江省杭州市余杭区****"),
        ("浙江省杭州市余杭区五常街道文一西路", ROAD_LEVELS, "浙江省杭州市余杭区五常街道文一西路"),
        ("浙江省杭州市余杭区五常街道文一西路****", ROAD_LEVELS, "浙江省杭州市余杭区五常街道文一西路****"),
        ("北京市朝阳区建国路88号", ROAD_LEVELS, "北京市朝阳区建国路****"),
        ("上海市浦东新区", DISTRICT_LEVELS, "上海市浦东新区"),
        ("浙江省杭州市余杭区****", DISTRICT_LEVELS, "浙江省杭州市余杭区****"),
        ("文一西路969号", ROAD_LEVELS, FULLY_HIDDEN),  # no district: unparseable
        ("****", ROAD_LEVELS, FULLY_HIDDEN),
        ("asdf 1234", ROAD_LEVELS, FULLY_HIDDEN),
        ("浙江省杭州市余杭区文一西路969号", {"levels": ["room"]}, FULLY_HIDDEN),  # nothing to keep
    ],
)
def test_address_allow_list(raw: str, params: dict[str, object], masked: str) -> None:
    assert mask("address_allow_list", raw, params) == masked


def test_address_allow_list_takes_a_parsed_address() -> None:
    parsed = ParsedAddress(province="浙江省", city="杭州市", district="余杭区", road="文一西路", room="501室")
    assert mask("address_allow_list", parsed, ROAD_LEVELS) == "浙江省杭州市余杭区文一西路****"
    assert mask("address_allow_list", parsed, {"levels": ["province", "room"]}) == "浙江省501室****"


@pytest.mark.parametrize(
    ("params", "masked"),
    [({}, "****"), ({"replacement": "***"}, "***")],
)
def test_redact(params: dict[str, object], masked: str) -> None:
    assert mask("redact", "张三 13800138000", params) == masked
    assert mask("redact", masked, params) == masked


@pytest.mark.parametrize(
    ("rule", "params", "message"),
    [
        ("address_allow_list", {}, "needs 'levels'"),
        ("address_allow_list", {"levels": []}, "needs 'levels'"),
        ("address_allow_list", {"levels": "province"}, "needs 'levels'"),
        ("address_allow_list", {"levels": ["province", "street"]}, "unknown level(s) street"),
        ("redact", {"replacement": "xxx"}, "1 to 8 '*'"),
        ("redact", {"replacement": "*" * 9}, "1 to 8 '*'"),
        ("keep_surname", {"levels": ["city"]}, "does not take parameter(s) levels"),
        ("phone_last4", {"keep": 6}, "does not take parameter(s) keep"),
    ],
)
def test_rule_params_are_checked(rule: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(RuleParamsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        get_rule(rule).validate(params)


def test_registry_lists_the_rules_and_names_unknown_ones() -> None:
    assert set(rule_names()) >= {"keep_surname", "phone_last4", "address_allow_list", "redact", "scrub_free_text"}
    with pytest.raises(KeyError, match="unknown masking rule 'shuffle'"):
        get_rule("shuffle")


def test_rule_repr_is_only_its_name() -> None:
    assert repr(get_rule("keep_surname")) == "<masking rule keep_surname>"


def test_a_crashing_rule_hides_the_value() -> None:
    # A params mapping that blows up inside operate() must not let the value through.
    class Exploding(dict[str, object]):
        def __getitem__(self, key: str) -> object:
            raise RuntimeError("boom")

    assert mask("address_allow_list", FULL_ADDRESS, Exploding()) == FULLY_HIDDEN


# --- policy -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_masking_policy()


def test_shipped_policy_covers_every_audience_and_field(policy) -> None:  # type: ignore[no-untyped-def]
    for profile in ("standard", "strict"):
        for audience in AUDIENCES:
            for field_name in FIELDS:
                assert policy.masking_for(profile, audience, field_name).rule.name in rule_names()


def test_standard_label_matches_the_spec(policy) -> None:  # type: ignore[no-untyped-def]
    party = policy.mask_party("standard", "label", "欧阳娜娜", "13812345678", FULL_ADDRESS)
    assert party == MaskedParty("欧阳**", "*******5678", "浙江省杭州市余杭区五常街道文一西路****")


def test_strict_stops_addresses_at_the_district(policy) -> None:  # type: ignore[no-untyped-def]
    for audience in AUDIENCES:
        masked = policy.mask_field("strict", audience, "address", FULL_ADDRESS)
        assert "五常" not in masked and "文一" not in masked


@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_audience_sees_a_full_value(policy, audience: str) -> None:  # type: ignore[no-untyped-def]
    party = policy.mask_party("standard", audience, "张三丰", "13812345678", FULL_ADDRESS)
    assert "三丰" not in party.name and "138" not in party.phone and "969" not in party.address


def test_tracking_page_shows_no_remark(policy) -> None:  # type: ignore[no-untyped-def]
    assert policy.mask_field("standard", "tracking", "remark", "放门口") == FULLY_HIDDEN


def test_unknown_profile_is_refused(policy) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MaskingPolicyError, match="no profile 'lenient'"):
        policy.mask_field("lenient", "label", "name", "张三")
    with pytest.raises(MaskingPolicyError, match="unknown audience 'public'"):
        policy.mask_field("standard", "public", "name", "张三")


def _shipped_document() -> dict:  # type: ignore[type-arg]
    path = Path(__file__).parents[1] / "src" / "privacy_waybill" / "policies" / "masking.yaml"
    return yaml.safe_load(path.read_text("utf-8"))


def _broken(edit) -> dict:  # type: ignore[no-untyped-def, type-arg]
    document = _shipped_document()
    edit(document)
    return document


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(version=2), "'version' must be 1"),
        (lambda d: d.pop("profiles"), "'profiles' must be a mapping that includes 'standard'"),
        (lambda d: d["profiles"].pop("standard"), "'profiles' must be a mapping that includes 'standard'"),
        (
            lambda d: d["profiles"]["strict"].pop("station"),
            "profile 'strict': audience 'station' is missing",
        ),
        (
            lambda d: d["profiles"]["strict"].update(public={}),
            "profile 'strict': unknown audience(s) public",
        ),
        (
            lambda d: d["profiles"]["standard"]["label"].pop("phone"),
            "profile 'standard', audience 'label', field 'phone' is missing",
        ),
        (
            lambda d: d["profiles"]["standard"]["label"].update(email={"rule": "redact"}),
            "profile 'standard', audience 'label': unknown field(s) email",
        ),
        (
            lambda d: d["profiles"]["standard"]["tracking"].update(name={"rule": "shuffle"}),
            "profile 'standard', audience 'tracking', field 'name': unknown masking rule 'shuffle'",
        ),
        (
            lambda d: d["profiles"]["strict"]["label"]["address"].update(levels=["province", "street"]),
            "profile 'strict', audience 'label', field 'address': rule 'address_allow_list': unknown level(s) street",
        ),
        (
            lambda d: d["profiles"]["strict"]["label"].update(remark="redact"),
            "profile 'strict', audience 'label', field 'remark': expected a mapping with a 'rule' key",
        ),
    ],
)
def test_broken_policy_names_where_it_is_broken(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MaskingPolicyError) as caught:
        parse_masking_policy(_broken(edit), "masking.yaml")
    assert message in str(caught.value)


def test_broken_policy_file_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "masking.yaml"
    path.write_text("version: 1\nprofiles: [", encoding="utf-8")
    with pytest.raises(MaskingPolicyError, match="not valid YAML"):
        load_masking_policy(path)
    path.write_text(yaml.safe_dump(_broken(lambda d: d.update(version=0))), encoding="utf-8")
    with pytest.raises(MaskingPolicyError, match=f"{path}: 'version' must be 1"):
        load_masking_policy(path)


# --- free text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "scrubbed"),
    [
        ("送到文一西路969号3幢", "送到[地址]"),
        ("请送到浙江省杭州市余杭区五常街道文一西路969号，谢谢", "请送到[地址]，谢谢"),
        ("收货地址改为中山北路100号A座2001室,谢谢", "收货地址改为[地址],谢谢"),
        ("放湖畔花园3幢1单元门口", "放[地址]"),
        ("和平路12号", "[地址]"),
        ("送到临平区南苑街道10号", "送到[地址]"),
        ("电话13800138000", "电话[电话]"),
        ("电话 138 0013 8000 或 0571-88888888转123", "电话 [电话] 或 [电话]"),
        ("+86-138-0013-8000", "[电话]"),
        ("打(0571)88888888", "打[电话]"),
        ("95013转1234联系", "[电话]联系"),
        ("QQ 123456789", "QQ [电话]"),
        ("身份证330106199001011234，邮箱a.b@qq.com", "身份证[证件号]，邮箱[邮箱]"),
        ("证件 33010619900101123x", "证件 [证件号]"),
        ("老证 330106900101123", "老证 [证件号]"),
        # nothing personal: unchanged
        ("送到杭州市余杭区就行", "送到杭州市余杭区就行"),
        ("我在杭州市出差", "我在杭州市出差"),
        ("工作日送达，周末不在家", "工作日送达，周末不在家"),
        ("2024-01-05前送到", "2024-01-05前送到"),
        ("放门口，不用打电话", "放门口，不用打电话"),
    ],
)
def test_scrub_free_text(raw: str, scrubbed: str) -> None:
    assert scrub_free_text(raw) == scrubbed
    assert scrub_free_text(scrubbed) == scrubbed


@pytest.mark.parametrize(
    ("items", "category"),
    [
        (["iPhone 15 Pro"], "数码"),
        (["婴儿奶粉 3段"], "母婴"),
        (["牛仔裤", "T恤", "坚果礼盒"], "服饰"),
        (["兰蔻口红"], "美妆"),
        (["Python编程从入门到实践 书"], "图书"),
        (["戴森吹风机"], "家电"),
        (["劳动合同"], "文件"),
        (["三只松鼠坚果"], "食品"),
        (["螺丝刀套装"], "日用品"),
        ([], "日用品"),
    ],
)
def test_contents_category(items: list[str], category: str) -> None:
    assert contents_category(items) == category
