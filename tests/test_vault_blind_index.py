"""Blind indexes: deterministic per tenant and kind, separate across them, keyed as documented."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_waybill.vault import INDEX_BYTES, BlindIndexer, LocalKeyManager
from privacy_waybill.vault.blind_index import KeyedSha256, derive_kind_key


@pytest.fixture(scope="module")
def key_manager(tmp_path_factory: pytest.TempPathFactory) -> LocalKeyManager:
    folder: Path = tmp_path_factory.mktemp("blind-index") / "keys"
    return LocalKeyManager.create(folder, secrets.token_urlsafe(48).encode())


@pytest.fixture(scope="module")
def indexer(key_manager: LocalKeyManager) -> BlindIndexer:
    return BlindIndexer(key_manager)


values = st.text(min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(value=values)
def test_index_is_deterministic_and_16_bytes(key_manager: LocalKeyManager, indexer: BlindIndexer, value: str) -> None:
    index = indexer.index("tenant-a", "phone", value)

    assert len(index) == INDEX_BYTES == 16
    assert indexer.index("tenant-a", "phone", value) == index
    assert BlindIndexer(key_manager).index("tenant-a", "phone", value) == index


@settings(max_examples=200, deadline=None)
@given(value=values)
def test_tenants_and_kinds_index_the_same_value_differently(indexer: BlindIndexer, value: str) -> None:
    indexes = {
        indexer.index("tenant-a", "phone", value),
        indexer.index("tenant-b", "phone", value),
        indexer.index("tenant-a", "name", value),
    }

    assert len(indexes) == 3


@settings(max_examples=200, deadline=None)
@given(first=values, second=values)
def test_different_values_get_different_indexes(indexer: BlindIndexer, first: str, second: str) -> None:
    if first != second:
        assert indexer.index("tenant-a", "phone", first) != indexer.index("tenant-a", "phone", second)


def test_index_is_truncated_hmac_sha256_under_the_hkdf_derived_kind_key(
    key_manager: LocalKeyManager, indexer: BlindIndexer
) -> None:
    kind_key = derive_kind_key(key_manager.blind_index_key("tenant-a"), "tenant-a", "phone")
    expected = hmac.new(kind_key, b"+8613800138000", hashlib.sha256).digest()[:16]

    assert indexer.index("tenant-a", "phone", "+8613800138000") == expected
    assert kind_key != key_manager.blind_index_key("tenant-a").material


def test_derived_kind_keys_differ_per_tenant_and_kind(
    key_manager: LocalKeyManager,
) -> None:
    root = key_manager.blind_index_key("tenant-a")

    keys = {
        derive_kind_key(root, "tenant-a", "phone"),
        derive_kind_key(root, "tenant-a", "name"),
        derive_kind_key(root, "tenant-b", "phone"),
        derive_kind_key(root, "tenant-aphone", ""),
    }
    assert len(keys) == 4


@pytest.mark.parametrize(("kind", "value"), [("", "13800138000"), ("phone", "")])
def test_empty_kind_or_value_is_refused(indexer: BlindIndexer, kind: str, value: str) -> None:
    with pytest.raises(ValueError) as failure:
        indexer.index("tenant-a", kind, value)
    assert "13800138000" not in str(failure.value)


@settings(max_examples=300, deadline=None)
@given(key=st.binary(min_size=0, max_size=200), messages=st.lists(st.binary(max_size=300), min_size=1, max_size=4))
def test_keyed_sha256_is_hmac_sha256_for_any_key_and_message(key: bytes, messages: list[bytes]) -> None:
    # Keys shorter than, exactly and longer than SHA-256's 64-byte block, reused for several messages.
    keyed = KeyedSha256(key)
    for message in messages:
        assert keyed.digest(message) == hmac.new(key, message, hashlib.sha256).digest()
    assert repr(keyed) == "KeyedSha256(<key hidden>)"
