"""Validators for phones, names and resident ID numbers, row by row."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from privacy_waybill.errors import FieldError
from privacy_waybill.validation import normalise_phone, parse_person_name, validate_resident_id
from privacy_waybill.validation.phones import mobile_segments
from privacy_waybill.validation.id_numbers import check_character
from privacy_waybill.validation.names import compound_surnames

# --- phones -----------------------------------------------------------------------------

VALID_PHONES = [
    # raw, kind, number, extension, last4
    ("13800138000", "mobile", "+8613800138000", None, "8000"),
    ("+86 138 0013 8000", "mobile", "+8613800138000", None, "8000"),
    ("0086-138-0013-8000", "mobile", "+8613800138000", None, "8000"),
    ("8613800138000", "mobile", "+8613800138000", None, "8000"),
    ("86 138 0013 8000", "mobile", "+8613800138000", None, "8000"),
    ("138-0013-8000", "mobile", "+8613800138000", None, "8000"),
    ("１３８００１３８０００", "mobile", "+8613800138000", None, "8000"),
    ("17012345678", "mobile", "+8617012345678", None, "5678"),
    ("19212345678", "mobile", "+8619212345678", None, "5678"),
    ("010-12345678", "landline", "+861012345678", None, "5678"),
    ("0571-8888 8888", "landline", "+8657188888888", None, "8888"),
    ("0571-8888-8888", "landline", "+8657188888888", None, "8888"),
    ("(0571)88888888", "landline", "+8657188888888", None, "8888"),
    ("+86 571 8888 8888", "landline", "+8657188888888", None, "8888"),
    ("0571-88888888-123", "landline", "+8657188888888", "123", "8888"),
    ("0571-88888888转123", "landline", "+8657188888888", "123", "8888"),
    ("0571-88888888分机123", "landline", "+8657188888888", "123", "8888"),
    ("0571-88888888 ext.123", "landline", "+8657188888888", "123", "8888"),
    ("0571-88888888 EXT 123", "landline", "+8657188888888", "123", "8888"),
    ("0571-88888888#123", "landline", "+8657188888888", "123", "8888"),
    ("13800138000-1234", "virtual", "+8613800138000", "1234", "8000"),
    ("13800138000转1234", "virtual", "+8613800138000", "1234", "8000"),
    ("138 0013 8000 转 1234", "virtual", "+8613800138000", "1234", "8000"),
    ("95013转1234", "virtual", "95013", "1234", "5013"),
    ("950138-12345678", "virtual", "950138", "12345678", "0138"),
    ("96110转123", "virtual", "96110", "123", "6110"),
    # Segments libphonenumber 9.0.43 rejects but MIIT has allocated.
    ("14912345678", "mobile", "+8614912345678", None, "5678"),
    ("+86 149 1234 5678", "mobile", "+8614912345678", None, "5678"),
    ("16212345678", "mobile", "+8616212345678", None, "5678"),
    ("13491234567", "mobile", "+8613491234567", None, "4567"),  # Tiantong satellite, 1349
    ("19712345678", "mobile", "+8619712345678", None, "5678"),
    # Hong Kong, Macao, Taiwan: only with their country code (bare they read as mainland numbers).
    ("+852 5123 4567", "mobile", "+85251234567", None, "4567"),
    ("00852-2123-4567", "landline", "+85221234567", None, "4567"),
    ("+853 6612 3456", "mobile", "+85366123456", None, "3456"),
    ("+886 912 345 678", "mobile", "+886912345678", None, "5678"),
    ("+886-2-2345-6789", "landline", "+886223456789", None, "6789"),
    ("+852 2123 4567 转 88", "landline", "+85221234567", "88", "4567"),
]


@pytest.mark.parametrize(("raw", "kind", "number", "extension", "last4"), VALID_PHONES)
def test_normalise_phone_accepts(raw: str, kind: str, number: str, extension: str | None, last4: str) -> None:
    phone = normalise_phone(raw)
    assert (phone.kind, phone.number, phone.extension, phone.last4) == (kind, number, extension, last4)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("88888888", "not a valid Chinese mobile or landline number"),  # no area code
        ("1380013800", "not a valid Chinese mobile or landline number"),  # 10 digits
        ("138001380001", "not a valid Chinese mobile or landline number"),  # 12 digits
        ("4008001234", "a 400/800 business number cannot reach a recipient: give the recipient's own phone"),
        ("800-820-8820", "a 400/800 business number cannot reach a recipient: give the recipient's own phone"),
        ("14012345678", "not a valid Chinese mobile or landline number"),  # 13-digit IoT segment's prefix
        ("14812345678", "not a valid Chinese mobile or landline number"),  # IoT
        ("12012345678", "not a valid Chinese mobile or landline number"),  # never allocated
        ("19412345678", "not a valid Chinese mobile or landline number"),  # not allocated
        ("+852 1234", "not a valid Chinese mobile or landline number"),
        ("+1 650 253 0000", "not a valid Chinese mobile or landline number"),
        ("138ABCD8000", "not a valid Chinese mobile or landline number"),  # no vanity letters
        ("13800138000转", "not a valid Chinese mobile or landline number"),
        ("电话13800138000", "not a valid Chinese mobile or landline number"),
        ("95013", "a 95xxx/96xxx service number needs the person's extension"),
        ("96110", "a 95xxx/96xxx service number needs the person's extension"),
    ],
)
def test_normalise_phone_rejects_without_quoting(raw: str, reason: str) -> None:
    with pytest.raises(FieldError) as caught:
        normalise_phone(raw)
    assert (caught.value.field, caught.value.reason) == ("phone", reason)
    if raw.strip():
        assert raw not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "number"), [("4008001234", "4008001234"), ("400-800-1234", "4008001234"), ("800 820 8820", "8008208820")]
)
def test_a_sender_may_give_a_business_number(raw: str, number: str) -> None:
    phone = normalise_phone(raw, business=True)
    assert (phone.kind, phone.number, phone.extension, phone.last4) == ("business", number, None, number[-4:])


def test_every_allocated_segment_is_accepted_and_its_neighbours_are_not() -> None:
    segments = mobile_segments()
    assert {"149", "1349", "1740", "162", "190", "192", "195", "196", "197"} <= set(segments)
    for prefix in segments:
        number = prefix + "0" * (11 - len(prefix))
        assert normalise_phone(number).number == "+86" + number, prefix
    unallocated = [f"1{d}{e}" for d in "0123456789" for e in "0123456789"]
    unallocated = [p for p in unallocated if p not in segments and not any(s.startswith(p) for s in segments)]
    assert {"140", "141", "144", "146", "148", "154", "194"} <= set(unallocated)
    for prefix in unallocated:
        with pytest.raises(FieldError):
            normalise_phone(prefix + "12345678")


def test_phone_canonical_form_carries_the_extension() -> None:
    assert normalise_phone("0571-88888888转123").canonical == "+8657188888888;ext=123"
    assert normalise_phone("13800138000").canonical == "+8613800138000"


def test_phone_repr_hides_the_number() -> None:
    text = repr(normalise_phone("13800138000-1234"))
    assert "8000" not in text and "1234" not in text and "virtual" in text


# --- names ------------------------------------------------------------------------------

VALID_NAMES = [
    # raw, surname, given, kind
    ("张三丰", "张", "三丰", "han"),
    ("张三", "张", "三", "han"),
    ("张", "张", "", "han"),
    ("张 三", "张", "三", "han"),
    ("欧阳娜娜", "欧阳", "娜娜", "han"),
    ("欧阳娜", "欧阳", "娜", "han"),
    ("欧阳", "欧", "阳", "han"),  # a compound surname needs a given name after it
    ("司马懿", "司马", "懿", "han"),
    ("令狐冲", "令狐", "冲", "han"),
    ("冷狐冲", "冷", "狐冲", "han"),  # 冷狐 is a misspelt row, not a surname
    ("夏侯惇", "夏侯", "惇", "han"),
    ("百里守约", "百里", "守约", "han"),  # frequency list only
    ("纳兰性德", "纳兰", "性德", "han"),
    ("买买提·艾力", "买", "买提·艾力", "han_dotted"),
    ("买买提 • 艾力", "买", "买提·艾力", "han_dotted"),
    ("阿卜杜拉・买买提・艾力", "阿", "卜杜拉·买买提·艾力", "han_dotted"),
    ("John Smith", "Smith", "John", "latin"),
    ("  John   Smith ", "Smith", "John", "latin"),
    ("O'Brien", "O'Brien", "", "latin"),
    ("Jean-Luc Picard", "Picard", "Jean-Luc", "latin"),
    ("Zoë Ångström", "Ångström", "Zoë", "latin"),
    ("ＪＯＨＮ", "JOHN", "", "latin"),
]


@pytest.mark.parametrize(("raw", "surname", "given", "kind"), VALID_NAMES)
def test_parse_person_name(raw: str, surname: str, given: str, kind: str) -> None:
    name = parse_person_name(raw)
    assert (name.surname, name.given, name.kind) == (surname, given, kind)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "is empty"),
        (" \t", "is empty"),
        ("张" * 41, "is longer than 40 characters"),
        ("张三Smith", "contains characters not allowed in a name or mixes Chinese and Latin letters"),
        ("张三3", "contains characters not allowed in a name or mixes Chinese and Latin letters"),
        ("John_Smith", "contains characters not allowed in a name or mixes Chinese and Latin letters"),
        ("<script>", "contains characters not allowed in a name or mixes Chinese and Latin letters"),
        ("张**", "contains characters not allowed in a name or mixes Chinese and Latin letters"),
        ("·艾力", "has an empty or non-Chinese part around the name dot"),
        ("买买提··艾力", "has an empty or non-Chinese part around the name dot"),
        ("买买提·", "has an empty or non-Chinese part around the name dot"),
    ],
)
def test_parse_person_name_rejects_without_quoting(raw: str, reason: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_person_name(raw)
    assert (caught.value.field, caught.value.reason) == ("name", reason)
    if raw.strip():
        assert raw.strip() not in str(caught.value)


def test_forty_characters_is_still_a_name() -> None:
    assert parse_person_name("张" * 40).kind == "han"


def test_compound_surnames_merge_both_lists_without_misspellings() -> None:
    surnames = compound_surnames()
    assert {"欧阳", "司马", "诸葛", "上官", "单于", "百里", "纳兰", "刘付"} <= surnames
    assert not surnames & {"冷狐", "殴阳", "夏候"}


def test_person_name_repr_hides_the_name() -> None:
    text = repr(parse_person_name("欧阳娜娜"))
    assert "欧" not in text and "娜" not in text


# --- resident ID numbers ------------------------------------------------------------------

RIC_VECTORS = json.loads((Path(__file__).parent / "data" / "ric_vectors.json").read_text("utf-8"))

# Where our verdict differs from the vector file, and why.
RIC_DEVIATIONS = {
    # stdnum rejects codes created after the birth year; a card's code is assigned at first
    # issue (房山区 since 1986 for someone born in 1980 is normal), so GB 11643 accepts it.
    "110111198012010078": True,
    # A worked checksum example: 340524 was never a division code in the ministry's
    # 1981-2024 list, so the number cannot be a real card.
    "34052419800101001X": False,
}


@pytest.mark.parametrize("vector", RIC_VECTORS, ids=[v["id"] for v in RIC_VECTORS])
def test_resident_id_vectors(vector: dict[str, object]) -> None:
    raw = str(vector["id"])
    expected_valid = RIC_DEVIATIONS.get(raw, vector["valid"])
    if expected_valid:
        assert validate_resident_id(raw) == vector.get("normalized", raw.upper())
    else:
        with pytest.raises(FieldError) as caught:
            validate_resident_id(raw)
        assert caught.value.field == "id_number"
        assert raw not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("11010519491231002", "must be 17 digits followed by a digit or X"),
        ("1101051949123100200", "must be 17 digits followed by a digit or X"),
        ("T60426199101010078", "must be 17 digits followed by a digit or X"),
        ("110105491231002", "15-digit first-generation numbers are no longer accepted"),
        ("110105194912310021", "check character does not match"),
        ("360426199113010079", "birth date is not a real date"),
        ("990426199112010074", "division code is not a known area code"),
    ],
)
def test_resident_id_rejections(raw: str, reason: str) -> None:
    with pytest.raises(FieldError) as caught:
        validate_resident_id(raw)
    assert (caught.value.field, caught.value.reason) == ("id_number", reason)


def test_resident_id_birth_date_in_the_future_is_rejected() -> None:
    first17 = "11010520300101001"
    number = first17 + check_character(first17)
    with pytest.raises(FieldError, match="birth date is in the future"):
        validate_resident_id(number, today=date(2026, 1, 1))
    assert validate_resident_id(number, today=date(2030, 1, 1)) == number


def test_resident_id_is_normalised() -> None:
    assert validate_resident_id(" 11010519491231002x ") == "11010519491231002X"
    assert validate_resident_id("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"


def test_check_character_matches_the_standard_example() -> None:
    # GB 11643-1999 appendix: 11010519491231002 -> X
    assert check_character("11010519491231002") == "X"
