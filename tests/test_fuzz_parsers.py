"""Parser fuzzing: intake files, addresses, phones, names, masking and QR references take any
input without crashing or hanging, and masking never shows more than its profile allows.

Seeded (derandomize) so a failure reproduces; `make fuzz` raises the example count with
PWB_PARSER_EXAMPLES. A parser may refuse input only with the domain's own errors.
"""

from __future__ import annotations

import io
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.errors import FieldError, PrivacyWaybillError
from privacy_waybill.issuance.intake import UnusableInput, read_orders
from privacy_waybill.issuance.references import InvalidReference, make_reference, verify_reference
from privacy_waybill.masking import FULLY_HIDDEN, get_rule
from privacy_waybill.validation.names import parse_person_name
from privacy_waybill.validation.phones import normalise_phone
from privacy_waybill.vault.keyring import KeyVersions

EXAMPLES = int(os.environ.get("PWB_PARSER_EXAMPLES", "150"))
# 2 s per example: generous on a loaded 2-core machine, yet a quadratic blow-up on a few KB fails it.
PARSER_FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
KEY = KeyVersions.single(bytes(range(32)))
MOBILE_WRITTEN_SOMEHOW = r"(\+?86)?[\s-]?1[3-9]\d[\s.-]?\d{4}[\s.-]?\d{4}"

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
ADDRESS_WORDS = st.sampled_from(
    ["浙江省", "杭州市", "余杭区", "五常街道", "文一西路", "969号", "5号楼", "3单元", "1201室", "北区", "东区",
     "湖畔花园", "莱芜区", "临平区", "市", "区", "路", "号", " ", "，", "#", "-", "0", "９"]
)  # fmt: skip
TEXTISH = st.one_of(
    st.text(max_size=200),
    st.lists(ADDRESS_WORDS, max_size=20).map("".join),
    st.text(st.one_of(HAN, st.characters(categories=["Nd", "P", "Zs"])), max_size=120),
)


@PARSER_FUZZ
@given(TEXTISH)
def test_address_parser_answers_or_refuses_with_a_field_error(text: str) -> None:
    try:
        parsed = parse_address(text)
    except FieldError as error:
        assert error.field.startswith("address")
        return
    masked = get_rule("address_allow_list").apply(parsed, {"levels": ["province", "city", "district", "town", "road"]})
    # Nothing below the road: no house, building, unit or room number survives masking.
    for detail in (parsed.road_number, parsed.building, parsed.unit, parsed.floor, parsed.room):
        if detail and re.search(r"\d", detail):
            assert detail not in masked


@PARSER_FUZZ
@given(st.one_of(st.text(max_size=60), st.from_regex(MOBILE_WRITTEN_SOMEHOW, fullmatch=True)))
def test_phone_parser_answers_or_refuses_and_masking_shows_at_most_four_digits(raw: str) -> None:
    try:
        phone = normalise_phone(raw)
    except FieldError:
        return
    masked = get_rule("phone_last4").apply(phone, {})
    assert len(re.findall(r"\d", masked)) <= 4
    assert masked == FULLY_HIDDEN or masked.endswith(re.sub(r"\D", "", phone.number)[-4:])


@PARSER_FUZZ
@given(st.one_of(st.text(max_size=40), st.text(HAN, min_size=1, max_size=6)))
def test_name_parser_answers_or_refuses_and_masking_keeps_the_surname_only(raw: str) -> None:
    try:
        name = parse_person_name(raw)
    except FieldError:
        return
    masked = get_rule("keep_surname").apply(name, {})
    # What shows is the surname (Han) or one initial (Latin); everything else is stars or dots.
    shown = re.sub(r"[*·]", "", masked)
    assert shown == (name.surname if name.kind != "latin" else name.written[0]), (name.kind, len(masked))


@PARSER_FUZZ
@given(st.binary(max_size=2000), st.sampled_from(["csv", "jsonl"]))
def test_intake_reads_any_bytes_as_records_or_refuses_the_file(data: bytes, kind: str) -> None:
    try:
        records = list(read_orders(io.BytesIO(data), format=kind, max_bytes=4096))
    except PrivacyWaybillError:
        return
    for record in records:
        assert (record.order is None) != (record.error is None)


@PARSER_FUZZ
@given(st.text(max_size=120))
def test_any_forged_qr_reference_is_refused_with_invalid_reference(token: str) -> None:
    genuine = make_reference(b"0123456789abcdef", KEY)
    try:
        found = verify_reference(token, KEY)
    except InvalidReference:
        return
    assert token == genuine and found == b"0123456789abcdef"


def test_a_carriage_return_inside_the_header_is_an_unusable_file_not_a_crash() -> None:
    # Found by the intake fuzzer: csv.Error escaped from the header row.
    with pytest.raises(UnusableInput) as refused:
        list(read_orders(io.BytesIO(b"order_id\rrecipient\n"), format="csv"))
    assert str(refused.value) == "line 1: header row is not valid CSV"
