"""Free text through the allow-list: row by row, the vocabulary file's checks, and properties."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy_waybill.masking import get_rule
from privacy_waybill.masking.free_text import (
    ACCESS_REASONS,
    DELIVERY_INSTRUCTIONS,
    DISPLAY_SEPARATOR,
    VocabularyError,
    display_text,
    load_vocabularies,
    load_vocabulary,
    parse_vocabularies,
)
from privacy_waybill.masking.rules import RuleParamsError
from privacy_waybill.masking.scrub import DEFAULT_CATEGORY, category_keywords, contents_category

HIDDEN = "[已隐藏]"
INSTRUCTIONS = load_vocabulary(DELIVERY_INSTRUCTIONS)


@pytest.mark.parametrize(
    ("remark", "shown"),
    [
        ("欧阳娜娜本人不在家，交给她丈夫司马光明", HIDDEN),
        ("放门口", "放门口"),
        ("请放门口，谢谢！", "放门口"),
        ("放在门口就行", "放门口"),
        ("家里没人的话放快递柜", "家中无人，放快递柜"),
        ("不要放快递柜", "勿放快递柜"),
        ("别放门口，放驿站", "勿放门口，放驿站"),
        ("工作日送货", "工作日派送"),
        ("周末不在家", "周末不在家"),
        ("送货前打电话", "送货前电话联系"),
        ("到了打电话，放驿站", "送货前电话联系，放驿站"),
        ("易碎 轻拿轻放", "易碎"),
        ("ＦＲＡＧＩＬＥ，leave at  door please", "易碎，放门口"),
        ("急急急", "尽快派送"),
        ("送到菜鸟驿站", "放驿站"),
        # A name, a place or a number anywhere in a clause hides the whole clause.
        ("放王芳家门口", HIDDEN),
        ("放门口，交给张伟", "放门口，[已隐藏]"),
        ("请电话联系13900001111再送", HIDDEN),
        ("西溪花园3幢放门口", HIDDEN),
        ("交给隔壁王阿姨，易碎，别告诉李明", "[已隐藏]，易碎"),
        ("张三，李四，放门口", "[已隐藏]，放门口"),
        ("谢谢", ""),
        ("", ""),
        ("[已隐藏]，放门口", "[已隐藏]，放门口"),
    ],
)
def test_remarks_keep_only_recognised_instructions(remark: str, shown: str) -> None:
    assert display_text(remark, INSTRUCTIONS) == shown


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("客户投诉", "客户投诉"),
        ("客户投诉 电话打不通", "客户投诉，电话错误"),
        ("收件人李娜说没收到", HIDDEN),
        ("拨打13900001111未接通", HIDDEN),
        ("公安协查，工单见系统", "监管调查，[已隐藏]"),
    ],
)
def test_break_glass_reasons_keep_only_recognised_reasons(reason: str, shown: str) -> None:
    assert display_text(reason, ACCESS_REASONS) == shown


def test_the_shipped_vocabularies_load_and_are_distinct() -> None:
    vocabularies = load_vocabularies()
    # Other features (leak reports) add vocabularies of their own beside these two.
    assert {ACCESS_REASONS, DELIVERY_INSTRUCTIONS} <= set(vocabularies)
    assert len(INSTRUCTIONS.canonical) >= 40 and len(INSTRUCTIONS.phrases) >= 400
    named_in_the_issue = {"放门口", "放快递柜", "放驿站", "送货前电话联系", "工作日派送", "周末派送", "易碎"}
    assert named_in_the_issue <= INSTRUCTIONS.canonical
    assert display_text("放门口", ACCESS_REASONS) == HIDDEN


def _document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "version": 1,
        "hidden": HIDDEN,
        "fillers": ["请"],
        "vocabularies": {"v": {"放门口": ["放在门口"]}},
    }
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (["not a mapping"], "src: expected a mapping at the top level"),
        (_document(version=2), "src: 'version' must be 1"),
        (_document(hidden=" "), "src: 'hidden' must be a non-empty string"),
        (_document(fillers=[]), "src: fillers: expected a non-empty list of words"),
        (_document(vocabularies={}), "src: 'vocabularies' must be a non-empty mapping"),
        (_document(vocabularies={"v": ["放门口"]}), "src: vocabulary 'v': expected a mapping of canonical"),
        (_document(vocabularies={"v": {"放门口，谢谢": ["x"]}}), "phrase '放门口，谢谢': a canonical phrase is one"),
        (_document(vocabularies={"v": {"放门口": ["放在，门口"]}}), "'放在，门口' contains a clause break"),
        (_document(vocabularies={"v": {"放门口": ["请"]}}), "phrase '放门口': variant '请' is also a filler"),
        (
            _document(vocabularies={"v": {"放门口": ["门口"], "放门外": ["门口"]}}),
            "phrase '放门外': variant '门口' also belongs to '放门口'",
        ),
        (_document(vocabularies={"v": {f"指令{n:03d}": ["x" + str(n)] for n in range(120)}}), "exceed 600"),
    ],
)
def test_a_broken_vocabulary_is_refused_naming_the_entry(document: object, message: str) -> None:
    with pytest.raises(VocabularyError) as raised:
        parse_vocabularies(document, "src")
    assert message in str(raised.value)


def test_the_masking_rule_names_a_shipped_vocabulary() -> None:
    rule = get_rule("free_text_allow_list")
    rule.validate({"vocabulary": DELIVERY_INSTRUCTIONS})
    with pytest.raises(RuleParamsError) as raised:
        rule.validate({"vocabulary": "remarks"})
    known = ", ".join(sorted(load_vocabularies()))
    assert str(raised.value) == f"rule 'free_text_allow_list': unknown vocabulary 'remarks'; known: {known}"
    assert rule.apply("放门口，交给张伟", {"vocabulary": DELIVERY_INSTRUCTIONS}) == "放门口，[已隐藏]"


settings.register_profile("free_text", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VARIANTS = sorted(INSTRUCTIONS.phrases)
FILLERS = sorted(INSTRUCTIONS.fillers)
NAMES_AND_PLACES = [
    "欧阳娜娜",
    "司马光明",
    "王芳",
    "西溪花园",
    "文一西路",
    "3幢2单元",
    "13900001111",
    "李",
    "Zhang Wei",
]
SEPARATORS = ["，", "。", " ", "", "!", "、", "\n", "[已隐藏]"]
# Any Unicode text at all, plus text built from the vocabulary's own pieces, names and places
# glued in every way: the cases where a fail-open matcher would slip.
PIECES = st.one_of(
    st.sampled_from(VARIANTS),
    st.sampled_from(FILLERS),
    st.sampled_from(NAMES_AND_PLACES),
    st.sampled_from(SEPARATORS),
    st.text(max_size=6),
)
REMARKS = st.one_of(st.text(max_size=80), st.lists(PIECES, max_size=12).map("".join))


def _pieces(shown: str) -> list[str]:
    return shown.split(DISPLAY_SEPARATOR) if shown else []


@settings(settings.get_profile("free_text"))
@given(REMARKS)
def test_no_text_outside_the_vocabulary_is_ever_shown(remark: str) -> None:
    shown = display_text(remark, INSTRUCTIONS)
    pieces = _pieces(shown)
    assert set(pieces) <= INSTRUCTIONS.canonical | {HIDDEN}
    assert len(pieces) == len(set(pieces))
    assert len(shown) <= 600
    assert display_text(shown, INSTRUCTIONS) == shown


@settings(settings.get_profile("free_text"))
@given(st.lists(st.sampled_from(VARIANTS), min_size=1, max_size=6), st.sampled_from(NAMES_AND_PLACES))
def test_a_name_inside_a_clause_hides_that_clause(variants: list[str], name: str) -> None:
    clause = "".join(variants)
    assert display_text(clause, INSTRUCTIONS) != HIDDEN
    for position in range(len(clause) + 1):
        assert display_text(clause[:position] + name + clause[position:], INSTRUCTIONS) == HIDDEN


@settings(settings.get_profile("free_text"))
@given(
    st.lists(st.one_of(st.text(max_size=30), st.sampled_from([*NAMES_AND_PLACES, "纯棉T恤", "蓝牙耳机"])), min_size=1)
)
def test_item_names_reach_a_label_only_as_a_fixed_category(items: list[str]) -> None:
    assert contents_category(items) in {*category_keywords(), DEFAULT_CATEGORY}
