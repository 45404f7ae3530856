"""QR references: round trip, tamper rejection and URL form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy_waybill.issuance.references import (
    InvalidReference,
    make_reference,
    reference_url,
    verify_reference,
)
from privacy_waybill.vault.keyring import KeyVersions

KEY = KeyVersions.single(b"k" * 32)
ROTATED = KeyVersions({1: b"k" * 32, 2: b"r" * 32})
ids = st.binary(min_size=1, max_size=32)


def test_sixteen_byte_id_gives_a_32_character_url_safe_token() -> None:
    token = make_reference(bytes(range(16)), KEY)
    assert len(token) == 32
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(ids)
def test_round_trip(public_id: bytes) -> None:
    assert verify_reference(make_reference(public_id, KEY), KEY) == public_id


@given(ids, st.data())
def test_any_changed_character_is_rejected(public_id: bytes, data: st.DataObject) -> None:
    token = make_reference(public_id, KEY)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != token[position]))
    with pytest.raises(InvalidReference):
        verify_reference(token[:position] + replacement + token[position + 1 :], KEY)


@given(ids, st.text(max_size=3).filter(bool))
def test_appended_or_truncated_tokens_are_rejected(public_id: bytes, extra: str) -> None:
    token = make_reference(public_id, KEY)
    for forged in (token + extra, token[: -len(extra)]):
        with pytest.raises(InvalidReference):
            verify_reference(forged, KEY)


@given(ids, st.binary(min_size=16, max_size=64).filter(lambda k: k != KEY))
def test_token_from_another_key_is_rejected(public_id: bytes, other_key: bytes) -> None:
    with pytest.raises(InvalidReference):
        verify_reference(make_reference(public_id, KeyVersions.single(other_key)), KEY)


@pytest.mark.parametrize("token", ["", "=", "不是令牌", "AAAA", "A" * 200, "AAAAAAAAAAAAAAAAAAAAAA=="])
def test_garbage_is_rejected(token: str) -> None:
    with pytest.raises(InvalidReference):
        verify_reference(token, KEY)


def test_short_key_and_bad_id_length_are_refused() -> None:
    with pytest.raises(ValueError):
        make_reference(b"id", KeyVersions.single(b"short"))
    with pytest.raises(ValueError):
        make_reference(b"", KEY)
    with pytest.raises(ValueError):
        make_reference(bytes(33), KEY)


def test_a_label_printed_before_a_rotation_still_resolves_and_new_ones_name_their_version() -> None:
    public_id = bytes(range(16))
    printed = make_reference(public_id, KEY)
    assert verify_reference(printed, ROTATED) == public_id
    fresh = make_reference(public_id, ROTATED)
    assert fresh.startswith("2.") and fresh != "2." + printed
    assert verify_reference(fresh, ROTATED) == public_id
    # The version named picks the key: a version-2 token is no version-1 token and vice versa.
    with pytest.raises(InvalidReference):
        verify_reference(fresh.removeprefix("2."), ROTATED)
    with pytest.raises(InvalidReference):
        verify_reference("2." + printed, ROTATED)


@pytest.mark.parametrize("prefix", ["1.", "02.", "3.", "-2.", "２.", "9999999."])
def test_a_version_that_is_not_spelt_canonically_or_never_existed_is_rejected(prefix: str) -> None:
    body = make_reference(bytes(range(16)), ROTATED).removeprefix("2.")
    with pytest.raises(InvalidReference):
        verify_reference(prefix + body, ROTATED)


@given(ids, st.data())
def test_any_changed_character_of_a_versioned_token_is_rejected(public_id: bytes, data: st.DataObject) -> None:
    token = make_reference(public_id, ROTATED)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != token[position]))
    with pytest.raises(InvalidReference):
        verify_reference(token[:position] + replacement + token[position + 1 :], ROTATED)


@pytest.mark.parametrize("base", ["http://127.0.0.1:8000", "http://127.0.0.1:8000/"])
def test_reference_url(base: str) -> None:
    assert reference_url(base, "abc") == "http://127.0.0.1:8000/t/abc"
