"""Envelope encryption: round trips, tamper detection, binding, rotation, shredding."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_waybill.vault import (
    DataKey,
    DecryptionFailed,
    FieldNotSealed,
    KeyShredded,
    LocalKeyManager,
    SealedRecord,
    UnknownKey,
    Vault,
    shredded,
)
from privacy_waybill.vault.aead import NONCE_BYTES, TAG_BYTES, frame
from privacy_waybill.vault.envelope import dek_associated_data
from privacy_waybill.vault.keys import KekRef

FIELDS = {
    "recipient_name": "欧阳娜娜",
    "recipient_phone": "13800138000",
    "recipient_address": "浙江省杭州市余杭区五常街道文一西路969号3幢2单元501室",
    "sender_name": "买买提·艾力",
    "sender_phone": "+86 10 6552 9988 ext. 12",
    "sender_address": "北京市朝阳区建国路88号",
    "remark": "放门口, 别打电话",
    "items": '[{"name": "书", "quantity": 2}]',
}


@pytest.fixture(scope="module")
def key_manager(tmp_path_factory: pytest.TempPathFactory) -> LocalKeyManager:
    folder: Path = tmp_path_factory.mktemp("vault") / "keys"
    return LocalKeyManager.create(folder, secrets.token_urlsafe(48).encode())


@pytest.fixture(scope="module")
def vault(key_manager: LocalKeyManager) -> Vault:
    return Vault(key_manager)


def flip_bit(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


field_names = st.text(min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(fields=st.dictionaries(field_names, st.text(), max_size=10))
def test_round_trip_of_arbitrary_unicode_fields(vault: Vault, fields: dict[str, str]) -> None:
    record = vault.seal("tenant-a", "wb-1", fields)

    assert vault.open("tenant-a", "wb-1", record, fields) == fields


def test_ciphertext_is_version_nonce_ciphertext_and_tag(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-1", FIELDS)

    for name, value in FIELDS.items():
        blob = record.ciphertexts[name]
        assert blob[0] == 1
        assert len(blob) == 1 + NONCE_BYTES + len(value.encode()) + TAG_BYTES
        assert value.encode() not in blob
    assert record.wrapped_dek is not None
    assert len(record.wrapped_dek) == 1 + NONCE_BYTES + 32 + TAG_BYTES


def test_every_seal_uses_a_fresh_data_key_and_nonces(vault: Vault) -> None:
    first = vault.seal("tenant-a", "wb-1", FIELDS)
    second = vault.seal("tenant-a", "wb-1", FIELDS)

    assert first.wrapped_dek != second.wrapped_dek
    assert all(first.ciphertexts[name] != second.ciphertexts[name] for name in FIELDS)
    # A ciphertext from one sealing does not open under the other sealing's data key.
    mixed = second._replace(ciphertexts={**second.ciphertexts, "remark": first.ciphertexts["remark"]})
    with pytest.raises(DecryptionFailed):
        vault.open("tenant-a", "wb-1", mixed, ["remark"])


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_flipped_bit_in_a_field_ciphertext_is_detected(vault: Vault, data: st.DataObject) -> None:
    record = vault.seal("tenant-a", "wb-2", {"recipient_phone": "13800138000"})
    blob = record.ciphertexts["recipient_phone"]
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    tampered = record._replace(ciphertexts={"recipient_phone": flip_bit(blob, bit)})

    with pytest.raises(DecryptionFailed) as failure:
        vault.open("tenant-a", "wb-2", tampered, ["recipient_phone"])
    assert failure.value.field == "recipient_phone"


def test_every_flipped_bit_in_the_wrapped_data_key_is_detected(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-3", {"recipient_name": "张三"})
    assert record.wrapped_dek is not None

    for bit in range(len(record.wrapped_dek) * 8):
        tampered = record._replace(wrapped_dek=flip_bit(record.wrapped_dek, bit))
        with pytest.raises(DecryptionFailed) as failure:
            vault.open("tenant-a", "wb-3", tampered, ["recipient_name"])
        assert failure.value.field == "wrapped_dek"


@pytest.mark.parametrize("length", [0, 1, 13, 28])
def test_truncated_ciphertext_is_refused(vault: Vault, length: int) -> None:
    record = vault.seal("tenant-a", "wb-4", {"remark": "x"})
    truncated = record._replace(ciphertexts={"remark": record.ciphertexts["remark"][:length]})

    with pytest.raises(DecryptionFailed):
        vault.open("tenant-a", "wb-4", truncated, ["remark"])


def test_ciphertexts_swapped_between_fields_fail(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-5", FIELDS)
    swapped = record._replace(
        ciphertexts={
            **record.ciphertexts,
            "recipient_name": record.ciphertexts["sender_name"],
            "sender_name": record.ciphertexts["recipient_name"],
        },
    )

    with pytest.raises(DecryptionFailed) as failure:
        vault.open("tenant-a", "wb-5", swapped, ["recipient_name"])
    assert failure.value.field == "recipient_name"


def test_a_record_opened_as_another_waybill_fails(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-6", FIELDS)

    with pytest.raises(DecryptionFailed) as failure:
        vault.open("tenant-a", "wb-7", record, ["recipient_phone"])
    assert failure.value.waybill_id == "wb-7"


def test_a_ciphertext_moved_to_another_waybill_fails(vault: Vault) -> None:
    source = vault.seal("tenant-a", "wb-8", FIELDS)
    target = vault.seal("tenant-a", "wb-9", FIELDS)
    moved = target._replace(
        ciphertexts={
            **target.ciphertexts,
            "recipient_phone": source.ciphertexts["recipient_phone"],
        },
    )

    with pytest.raises(DecryptionFailed):
        vault.open("tenant-a", "wb-9", moved, ["recipient_phone"])


def test_a_record_opened_under_another_tenant_fails(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-10", FIELDS)
    vault.seal("tenant-b", "wb-10", FIELDS)  # tenant-b exists and has keys of its own

    with pytest.raises(UnknownKey):
        vault.open("tenant-b", "wb-10", record, ["recipient_phone"])


def test_associated_data_framing_is_unambiguous() -> None:
    assert frame(b"tenant-a", b"wb-1") != frame(b"tenant-awb-1", b"")
    assert frame(b"ab", b"c") != frame(b"a", b"bc")


@pytest.mark.parametrize(
    "other",
    [
        ("tenant-b", "wb-1", KekRef("local/1", 1)),
        ("tenant-a", "wb-2", KekRef("local/1", 1)),
        ("tenant-a", "wb-1", KekRef("local/2", 1)),
        ("tenant-a", "wb-1", KekRef("local/1", 2)),
    ],
)
def test_dek_associated_data_differs_in_every_part(
    other: tuple[str, str, KekRef],
) -> None:
    assert dek_associated_data(*other) != dek_associated_data("tenant-a", "wb-1", KekRef("local/1", 1))


def test_errors_name_field_and_waybill_but_never_the_value(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-11", FIELDS)
    tampered = record._replace(
        ciphertexts={
            **record.ciphertexts,
            "recipient_phone": flip_bit(record.ciphertexts["recipient_phone"], 200),
        },
    )

    with pytest.raises(DecryptionFailed) as failure:
        vault.open("tenant-a", "wb-11", tampered, ["recipient_name", "recipient_phone"])
    message = str(failure.value)
    assert "wb-11" in message and "recipient_phone" in message
    assert all(value not in message for value in FIELDS.values())


def test_text_that_cannot_be_encoded_is_refused_without_quoting_it(
    vault: Vault,
) -> None:
    with pytest.raises(ValueError) as failure:
        vault.seal("tenant-a", "wb-12", {"remark": "abc\ud800"})
    assert "remark" in str(failure.value)
    assert "\\ud800" not in str(failure.value) and "\ud800" not in str(failure.value)


def test_empty_ids_are_refused(vault: Vault) -> None:
    with pytest.raises(ValueError):
        vault.seal("", "wb-1", FIELDS)
    with pytest.raises(ValueError):
        vault.seal("tenant-a", "", FIELDS)


def test_asking_for_a_field_that_was_not_sealed_fails(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-13", {"recipient_name": "张三"})

    with pytest.raises(FieldNotSealed) as failure:
        vault.open("tenant-a", "wb-13", record, ["id_number"])
    assert failure.value.field == "id_number"


def test_opening_no_fields_returns_nothing(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-14", FIELDS)

    assert vault.open("tenant-a", "wb-14", record, []) == {}


def test_open_returns_only_the_fields_asked_for(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-15", FIELDS)

    assert vault.open("tenant-a", "wb-15", record, ["recipient_phone"]) == {
        "recipient_phone": FIELDS["recipient_phone"]
    }


def test_shredded_record_keeps_key_ids_but_no_key_or_ciphertext(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-16", FIELDS)

    gone = shredded(record)

    assert gone.is_shredded
    assert gone.wrapped_dek is None and gone.ciphertexts == {}
    assert (gone.kek_id, gone.kek_version) == (record.kek_id, record.kek_version)
    with pytest.raises(KeyShredded) as failure:
        vault.open("tenant-a", "wb-16", gone, ["recipient_name"])
    assert "wb-16" in str(failure.value) and "recipient_name" in str(failure.value)


def test_ciphertexts_left_behind_a_destroyed_key_never_open(vault: Vault) -> None:
    record = vault.seal("tenant-a", "wb-17", FIELDS)
    key_destroyed = record._replace(wrapped_dek=None)

    for name in FIELDS:
        with pytest.raises(KeyShredded):
            vault.open("tenant-a", "wb-17", key_destroyed, [name])


def test_records_sealed_before_rotation_still_open_and_rewrap_moves_them(
    tmp_path: Path,
) -> None:
    key_manager = LocalKeyManager.create(tmp_path / "keys", secrets.token_urlsafe(48).encode())
    vault = Vault(key_manager)
    old = vault.seal("tenant-r", "wb-1", FIELDS)
    assert old.kek_version == 1

    assert key_manager.rotate("tenant-r").version == 2

    assert vault.open("tenant-r", "wb-1", old, FIELDS) == FIELDS
    assert vault.seal("tenant-r", "wb-2", FIELDS).kek_version == 2
    moved = vault.rewrap("tenant-r", "wb-1", old)
    assert (moved.kek_id, moved.kek_version) == (old.kek_id, 2)
    assert moved.wrapped_dek != old.wrapped_dek
    assert moved.ciphertexts == old.ciphertexts
    assert vault.open("tenant-r", "wb-1", moved, FIELDS) == FIELDS
    assert vault.rewrap("tenant-r", "wb-1", moved) is moved


def test_rewrap_leaves_shredded_records_alone(vault: Vault, key_manager: LocalKeyManager) -> None:
    gone = shredded(vault.seal("tenant-s", "wb-1", FIELDS))
    key_manager.rotate("tenant-s")

    assert vault.rewrap("tenant-s", "wb-1", gone) is gone


def test_rewrap_refuses_a_tampered_wrapped_key(tmp_path: Path) -> None:
    key_manager = LocalKeyManager.create(tmp_path / "keys", secrets.token_urlsafe(48).encode())
    vault = Vault(key_manager)
    record = vault.seal("tenant-r", "wb-1", FIELDS)
    assert record.wrapped_dek is not None
    key_manager.rotate("tenant-r")

    with pytest.raises(DecryptionFailed):
        vault.rewrap(
            "tenant-r",
            "wb-1",
            record._replace(wrapped_dek=flip_bit(record.wrapped_dek, 120)),
        )


def test_sealed_record_repr_shows_no_plaintext(vault: Vault) -> None:
    record: SealedRecord = vault.seal("tenant-a", "wb-18", FIELDS)

    text = repr(record)
    assert all(value not in text for value in FIELDS.values())


def test_vault_and_key_objects_do_not_print_key_bytes(vault: Vault) -> None:
    dek = DataKey.generate()

    for shown in (repr(dek), str(dek), f"{dek}", repr(vault), repr([dek])):
        assert dek.material.hex() not in shown
        assert repr(dek.material)[2:-1] not in shown


def _framed(*parts: bytes) -> bytes:
    # Written out here rather than taken from aead.frame, so the test pins the stored format.
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def test_sealed_bytes_keep_the_stored_format(vault: Vault, key_manager: LocalKeyManager) -> None:
    # Records sealed by earlier releases must keep opening, and the other way round: the
    # associated data of fields and data keys is fixed by the format, not by the code.
    record = vault.seal("tenant-f", "wb-1", FIELDS)
    dek_ad = _framed(b"pwb/dek", b"\x01", b"tenant-f", record.kek_id.encode(), b"1", b"wb-1")
    assert record.wrapped_dek is not None
    dek = key_manager.unwrap_dek("tenant-f", record.kek, record.wrapped_dek, dek_ad)
    cipher = AESGCM(dek.material)
    for name, value in FIELDS.items():
        blob = record.ciphertexts[name]
        field_ad = _framed(b"pwb/field", b"\x01", b"tenant-f", b"wb-1", name.encode())
        assert cipher.decrypt(blob[1:13], blob[13:], field_ad) == value.encode()


def test_a_sealer_seals_like_seal_under_the_kek_current_when_it_was_made(tmp_path: Path) -> None:
    key_manager = LocalKeyManager.create(tmp_path / "keys", secrets.token_urlsafe(48).encode())
    vault = Vault(key_manager)
    sealer = vault.sealer("tenant-c")
    first = sealer.seal("wb-1", FIELDS)
    key_manager.rotate("tenant-c")
    # A chunk started before the rotation finishes under the KEK it started with.
    second = sealer.seal("wb-2", FIELDS)
    later = vault.sealer("tenant-c").seal("wb-3", FIELDS)

    assert (first.kek_version, second.kek_version, later.kek_version) == (1, 1, 2)
    for waybill_id, record in (("wb-1", first), ("wb-2", second), ("wb-3", later)):
        assert vault.open("tenant-c", waybill_id, record, FIELDS) == FIELDS
    with pytest.raises(DecryptionFailed):
        vault.open("tenant-c", "wb-2", first, ["remark"])
    with pytest.raises(ValueError, match="must not be empty"):
        sealer.seal("", FIELDS)
    assert "tenant-c" in repr(sealer) and FIELDS["recipient_name"] not in repr(sealer)


def test_no_nonce_repeats_across_the_fields_and_records_of_a_chunk(vault: Vault) -> None:
    sealer = vault.sealer("tenant-a")
    records = [sealer.seal(f"wb-{i}", FIELDS) for i in range(50)]
    nonces = [blob[1 : 1 + NONCE_BYTES] for record in records for blob in record.ciphertexts.values()]

    assert len(set(nonces)) == len(nonces) == 50 * len(FIELDS)
