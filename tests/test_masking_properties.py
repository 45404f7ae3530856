"""Property tests: masking hides what its profile hides, is idempotent and never fails open."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy_waybill.addresses.model import ADDRESS_LEVELS, ParsedAddress
from privacy_waybill.masking import FULLY_HIDDEN, get_rule, scrub_free_text
from privacy_waybill.validation.names import compound_surnames

# Applied per test: loading a profile here would change every other module's tests too.
MASKING_EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
# Single surnames that begin no compound (刘 begins 刘付), so the written split is the only one.
SINGLE_SURNAMES = st.sampled_from(
    [c for c in "王李张刘陈杨黄吴赵周徐孙马朱胡林郭何高罗" if not any(s.startswith(c) for s in compound_surnames())]
)
COMPOUND_SURNAMES = st.sampled_from(sorted(compound_surnames()))
ROAD_LEVELS = {"levels": ["province", "city", "district", "town", "road"]}


def mask(rule: str, value: object, params: dict[str, object] | None = None) -> str:
    return get_rule(rule).apply(value, params or {})  # type: ignore[arg-type]


@st.composite
def han_names(draw: st.DrawFn) -> tuple[str, str]:
    surname = draw(st.one_of(SINGLE_SURNAMES, COMPOUND_SURNAMES))
    given_name = draw(st.text(HAN, min_size=1, max_size=3))
    return surname, given_name


@MASKING_EXAMPLES
@given(han_names())
def test_keep_surname_masks_every_given_name_position(name: tuple[str, str]) -> None:
    surname, given_name = name
    masked = mask("keep_surname", surname + given_name)
    assert masked == surname + "*" * len(given_name)


@MASKING_EXAMPLES
@given(st.lists(st.text(HAN, min_size=1, max_size=5), min_size=2, max_size=4))
def test_dotted_names_show_only_the_initial(parts: list[str]) -> None:
    masked = mask("keep_surname", "·".join(parts))
    assert masked[0] == parts[0][0]
    assert set(masked[1:]) <= {"*", "·"}


@st.composite
def phones(draw: st.DrawFn) -> str:
    subscriber = draw(st.from_regex(r"1(3[0-9]|5[0-35-9]|8[0-9]|9[189])[0-9]{8}", fullmatch=True))
    separator = draw(st.sampled_from(["", " ", "-"]))
    number = f"{subscriber[:3]}{separator}{subscriber[3:7]}{separator}{subscriber[7:]}"
    prefix = draw(st.sampled_from(["", "+86 ", "0086", "86-"]))
    extension = draw(st.sampled_from(["", "-1234", "转88", "#9"]))
    return prefix + number + extension


@MASKING_EXAMPLES
@given(st.one_of(phones(), st.from_regex(r"0(10|2[0-9]|571|755)-?[2-8][0-9]{7}", fullmatch=True), st.text()))
def test_phone_masking_shows_at_most_four_digits(raw: str) -> None:
    assert sum(c.isdigit() for c in mask("phone_last4", raw)) <= 4


@MASKING_EXAMPLES
@given(phones())
def test_phone_masking_keeps_the_base_numbers_last_four(raw: str) -> None:
    base = re.sub(r"(-1234|转88|#9)$", "", raw)
    assert mask("phone_last4", raw) == "*******" + re.sub(r"\D", "", base)[-4:]


# Each level draws from its own alphabet, so text leaking from a hidden level is detectable.
LEVEL_ALPHABETS = {
    level: "".join(chr(0x4E00 + 40 * i + k) for k in range(40)) for i, level in enumerate(ADDRESS_LEVELS)
}


@st.composite
def addresses_and_allow_lists(draw: st.DrawFn) -> tuple[ParsedAddress, list[str]]:
    present = draw(st.sets(st.sampled_from(ADDRESS_LEVELS), min_size=1))
    values = {
        level: draw(st.text(st.sampled_from(LEVEL_ALPHABETS[level]), min_size=1, max_size=6)) for level in present
    }
    allowed = draw(st.lists(st.sampled_from(ADDRESS_LEVELS), min_size=1, unique=True))
    return ParsedAddress(**values), allowed


@MASKING_EXAMPLES
@given(addresses_and_allow_lists())
def test_address_masking_shows_nothing_outside_the_allow_list(case: tuple[ParsedAddress, list[str]]) -> None:
    address, allowed = case
    masked = mask("address_allow_list", address, {"levels": allowed})
    hidden_characters = set("".join(LEVEL_ALPHABETS[level] for level in ADDRESS_LEVELS if level not in allowed))
    assert not set(masked) & hidden_characters
    if set(address.present_levels()) - set(allowed):
        assert masked.endswith(FULLY_HIDDEN)


DETAILS = st.sampled_from(["", "969号", "969号3幢2单元501室", "88号阿里巴巴西溪园区", "1号楼", "甲12号"])
BASES = st.sampled_from(
    [
        "浙江省杭州市余杭区五常街道文一西路",
        "北京市朝阳区建国路",
        "广东省深圳市南山区粤海街道科技园路",
        "杭州市西湖区文三路",
    ]
)


@MASKING_EXAMPLES
@given(BASES, DETAILS, st.sampled_from([ROAD_LEVELS, {"levels": ["province", "city", "district"]}]))
def test_address_masking_is_idempotent(base: str, detail: str, params: dict[str, object]) -> None:
    once = mask("address_allow_list", base + detail, params)
    assert mask("address_allow_list", once, params) == once


FREE_TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(
            ["送到", "文一西路969号", "13800138000", "，", "a@b.cn", "谢谢", "330106199001011234", "3幢", " "]
        ),
        max_size=8,
    ).map("".join),
)


@MASKING_EXAMPLES
@given(han_names().map("".join) | st.text(max_size=12))
def test_keep_surname_is_idempotent(raw: str) -> None:
    once = mask("keep_surname", raw)
    assert mask("keep_surname", once) == once


@MASKING_EXAMPLES
@given(phones() | st.text(max_size=20))
def test_phone_last4_is_idempotent(raw: str) -> None:
    once = mask("phone_last4", raw)
    assert mask("phone_last4", once) == once


@MASKING_EXAMPLES
@given(FREE_TEXT)
def test_redact_and_scrub_are_idempotent(raw: str) -> None:
    for rule in ("redact", "scrub_free_text"):
        once = mask(rule, raw)
        assert mask(rule, once) == once


@st.composite
def disguised_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """A mobile number with separators between any of its digits, inside other text."""
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    separators = draw(st.lists(st.sampled_from(["", " ", ".", "-"]), min_size=10, max_size=10))
    written = digits[0] + "".join(sep + digit for sep, digit in zip(separators, digits[1:]))
    before = draw(st.text(HAN, max_size=5))
    after = draw(st.text(HAN, max_size=5))
    return digits, f"{before}电话{written}{after}"


@MASKING_EXAMPLES
@given(disguised_mobiles())
def test_scrubbing_hides_a_mobile_however_its_digits_are_separated(case: tuple[str, str]) -> None:
    digits, text = case
    scrubbed = scrub_free_text(text)
    assert digits not in re.sub(r"\D", "", scrubbed), scrubbed


@MASKING_EXAMPLES
@given(FREE_TEXT)
def test_scrubbed_text_keeps_no_long_digit_run(raw: str) -> None:
    assert not re.search(r"\d{7}", scrub_free_text(raw))


# Other symbols (So) are left out: CJK radicals such as ⻳ fold to Han characters (龟), a valid name.
GARBAGE = st.text(st.characters(categories=["P", "Sm", "Sc", "Sk", "Nd", "Zs"]), min_size=1, max_size=30).filter(
    str.strip
)


@MASKING_EXAMPLES
@given(GARBAGE)
def test_garbage_is_fully_hidden(raw: str) -> None:
    # Digits and symbols make no name and no address; a phone can only come back as its last four.
    assert mask("keep_surname", raw) == FULLY_HIDDEN
    assert mask("address_allow_list", raw, ROAD_LEVELS) == FULLY_HIDDEN
    assert re.fullmatch(r"\*{4}|\*{7}[0-9]{4}", mask("phone_last4", raw))
