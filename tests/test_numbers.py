"""Waybill numbers: shape, randomness and the Damm check digit's error detection; internal ids and public ids."""

from __future__ import annotations

import time
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import damm

from privacy_waybill.issuance import numbers
from privacy_waybill.issuance.numbers import WaybillIdentifiers, damm_check_digit, is_valid_waybill_no


def new_number(prefix: str = "PW") -> str:
    return WaybillIdentifiers(prefix).draw()[1]


def issued(body: int, prefix: str = "PW") -> str:
    digits = f"{body:014d}"
    return f"{prefix}{digits}{damm.calc_check_digit(digits)}"


def test_new_number_has_prefix_fourteen_digits_and_check_digit() -> None:
    number = new_number()
    assert number.startswith("PW") and len(number) == 17 and number[2:].isdigit()
    assert is_valid_waybill_no(number)


def test_custom_prefix() -> None:
    assert new_number("ZT").startswith("ZT")


@pytest.mark.parametrize("prefix", ["", "P", "pw", "PWX", "P1", "Ü1"])
def test_bad_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError):
        WaybillIdentifiers(prefix)


def test_numbers_are_not_sequential() -> None:
    identifiers = WaybillIdentifiers()
    bodies = sorted(int(identifiers.draw()[1][2:16]) for _ in range(1000))
    assert len(set(bodies)) == 1000
    # Random draws from 10^14 are far apart; a counter would give gaps of 1.
    assert min(b - a for a, b in pairwise(bodies)) > 1000


@pytest.mark.parametrize(
    "number",
    [
        "",
        "PW",
        "PW1234567890123",
        "pw" + issued(5)[2:],
        issued(5) + "0",
        issued(5)[:-1] + "x",
        "P1" + issued(5)[2:],
        "PW１２３４５６７８９０１２３４５",
    ],
)
def test_malformed_numbers_are_invalid(number: str) -> None:
    assert not is_valid_waybill_no(number)


@given(st.integers(0, 10**14 - 1))
def test_every_issued_number_validates(body: int) -> None:
    assert is_valid_waybill_no(issued(body))


@given(st.integers(0, 10**14 - 1), st.integers(2, 16), st.integers(1, 9))
def test_every_single_digit_change_is_detected(body: int, position: int, shift: int) -> None:
    number = issued(body)
    changed = str((int(number[position]) + shift) % 10)
    assert not is_valid_waybill_no(number[:position] + changed + number[position + 1 :])


@given(st.integers(0, 10**14 - 1), st.integers(2, 15))
def test_every_adjacent_transposition_is_detected(body: int, position: int) -> None:
    number = issued(body)
    a, b = number[position], number[position + 1]
    swapped = number[:position] + b + a + number[position + 2 :]
    assert swapped == number or not is_valid_waybill_no(swapped)


def test_new_numbers_survive_every_single_error_exhaustively() -> None:
    number = new_number()
    for position in range(2, 17):
        for digit in "0123456789":
            if digit != number[position]:
                assert not is_valid_waybill_no(number[:position] + digit + number[position + 1 :])


def test_waybill_ids_grow_with_time_and_stay_unique_within_a_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    identifiers = WaybillIdentifiers()
    ids = [identifiers.draw()[0] for _ in range(10_000)]
    after = time.time_ns() // 1_000_000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert len(set(ids)) == len(ids)
    stamps = [int(i[:12], 16) for i in ids]
    assert stamps == sorted(stamps) and before <= stamps[0] and stamps[-1] <= after
    # The 80-bit tails are random, not a counter: ids of one millisecond are far apart.
    tails = sorted(int(i[12:], 16) for i in ids)
    assert min(b - a for a, b in pairwise(tails)) > 2**32


def test_one_source_hands_out_distinct_values_across_many_draws() -> None:
    # 3,000 waybills' worth of bytes: the source draws from the system about 23 times.
    identifiers = WaybillIdentifiers()
    drawn = [identifiers.draw() for _ in range(3000)]
    ids, waybill_numbers, refs = (list(column) for column in zip(*drawn, strict=True))
    assert len(set(ids)) == len(set(waybill_numbers)) == len(set(refs)) == 3000
    assert all(len(ref) == 12 for ref in refs) and all(map(is_valid_waybill_no, waybill_numbers))


def test_separate_sources_draw_separately() -> None:
    first, second = WaybillIdentifiers(), WaybillIdentifiers()
    assert first.draw()[2] != second.draw()[2]


def test_a_draw_beyond_the_last_whole_multiple_of_the_number_space_is_drawn_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Eight bytes of 0xff lie above the unbiased bound; the next eight, zeros, give body 0.
    monkeypatch.setattr(numbers, "urandom", lambda count: b"\xff" * 8 + bytes(count - 8))
    number = new_number()
    assert number == issued(0)


def test_the_bound_keeps_every_body_equally_likely() -> None:
    bound = numbers._UNBIASED_BELOW
    assert bound % 10**14 == 0 and 2**64 - 10**14 < bound <= 2**64


def test_the_description_holds_no_drawn_bytes() -> None:
    identifiers = WaybillIdentifiers("ZT")
    identifiers.draw()
    assert repr(identifiers) == "WaybillIdentifiers('ZT')"


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_the_check_digit_is_the_one_python_stdnum_computes(digits: str) -> None:
    assert damm_check_digit(digits) == damm.calc_check_digit(digits)


@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_a_number_is_valid_exactly_when_python_stdnum_says_so(digits: str) -> None:
    assert is_valid_waybill_no(f"PW{digits}") == damm.is_valid(digits)
