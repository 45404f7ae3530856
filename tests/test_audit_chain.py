"""The pure audit core: canonical encoding, hash chain, signed checkpoints, the verifier."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from privacy_waybill.audit.chain import (
    GENESIS_HASH,
    StoredEntry,
    canonical_time,
    chain_entry,
    encode_content,
    stored_entry_hash,
    unkeyed_entry_hash,
)
from privacy_waybill.audit.checkpoints import AuditKeys, Checkpoint, CheckpointSigner, signature_valid
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.audit.verify import ChainHead, ProblemKind, verify_chain

T0 = datetime(2026, 11, 23, 8, 30, 0, 123456, tzinfo=UTC)
SIGNER = CheckpointSigner(bytes(range(32)))
TRUSTED = {SIGNER.key_id: SIGNER.public_key}
KEY = SIGNER.chain_key


def event(n: int = 0, **changes: object) -> AuditEvent:
    base = AuditEvent(
        at=T0 + timedelta(seconds=n),
        actor=f"user:u_{n}",
        role="courier",
        action="reveal",
        outcome=Outcome.ALLOWED if n % 3 else Outcome.DENIED,
        rule="courier.reveal.assigned",
        tenant_id="acme",
        waybill_id=f"wb{n:04d}",
        purpose="deliver",
        fields=("recipient_address", "recipient_phone"),
        device=None,
        detail={"quota_left": str(59 - n), "ticket": "CS-1"},
    )
    return dataclasses.replace(base, **changes)


def build_chain(count: int) -> list[StoredEntry]:
    entries: list[StoredEntry] = []
    prev = GENESIS_HASH
    for n in range(count):
        entry = chain_entry(n + 1, prev, event(n), KEY)
        entries.append(entry)
        prev = entry.entry_hash
    return entries


def checkpoint_at(entries: list[StoredEntry], seq: int, signer: CheckpointSigner = SIGNER) -> Checkpoint:
    return signer.sign(seq, entries[seq - 1].entry_hash, canonical_time(T0))


# --- encoding -------------------------------------------------------------------------------


def test_canonical_time_is_utc_with_microseconds_whatever_the_input_zone() -> None:
    beijing = timezone(timedelta(hours=8))
    assert canonical_time(datetime(2026, 11, 23, 16, 30, tzinfo=beijing)) == "2026-11-23T08:30:00.000000Z"
    assert canonical_time("2026-11-23 08:30:00.000000") == "2026-11-23T08:30:00.000000Z"


def test_canonical_time_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        canonical_time(datetime(2026, 11, 23, 8, 30))


@pytest.mark.parametrize("stored", ["garbage", "2026-11-23T08:30:00.000000", "2026-11-23T08:30:00.000000Z"])
def test_stored_time_text_in_another_layout_never_equals_a_canonical_time(stored: str) -> None:
    assert canonical_time(stored) == "unreadable:" + stored


def test_the_same_event_always_encodes_to_the_same_bytes_and_detail_order_does_not_matter() -> None:
    first = chain_entry(1, GENESIS_HASH, event(detail={"a": "1", "b": "2"}), KEY)
    second = chain_entry(1, GENESIS_HASH, event(detail={"b": "2", "a": "1"}), KEY)
    assert first == second
    assert first.detail == '{"a":"1","b":"2"}'


def test_encoding_keeps_null_apart_from_empty_text() -> None:
    columns = ("t", "a", "r", "x", "allowed", "rule", None, None, None, "[]", None, "{}")
    with_empty = columns[:6] + ("",) + columns[7:]
    assert encode_content(columns) != encode_content(with_empty)


@pytest.mark.parametrize("control", ["\x1f", "\x00"])
def test_columns_holding_the_separator_or_nul_cannot_be_encoded(control: str) -> None:
    columns = ("t", "a", "r", "x", "allowed", "rule", None, None, None, "[]", None, "{}")
    assert encode_content(columns[:1] + (f"a{control}b",) + columns[2:]) is None
    with pytest.raises(ValueError, match="control characters") as raised:
        chain_entry(1, GENESIS_HASH, event(actor=f"user:{control}x"), KEY)
    assert "user:" not in str(raised.value)


def test_control_characters_in_detail_are_escaped_and_encodable() -> None:
    entry = chain_entry(1, GENESIS_HASH, event(detail={"reason": "a\x1fb\x00c"}), KEY)
    assert entry.event().detail == {"reason": "a\x1fb\x00c"}


def test_a_null_turned_into_a_nul_character_is_detected() -> None:
    entries = build_chain(2)
    entries[1] = entries[1]._replace(device="\x00")
    problem = verify(entries).problem
    assert (problem.seq, problem.kind) == (2, ProblemKind.CHANGED)


def test_stored_entry_decodes_back_to_the_recorded_event() -> None:
    original = event(4, device="dev:pda-9", fields=("recipient_phone",))
    assert chain_entry(1, GENESIS_HASH, original, KEY).event() == original


# --- chain ------------------------------------------------------------------------------------


def test_entry_hash_is_hmac_sha256_under_the_chain_key_over_sequence_previous_hash_and_content() -> None:
    entry = build_chain(1)[0]
    content = encode_content(
        (entry.at, entry.actor, entry.role, entry.action, entry.outcome, entry.rule,
         entry.tenant_id, entry.waybill_id, entry.purpose, entry.fields, entry.device, entry.detail)
    )  # fmt: skip
    assert content is not None and content.startswith(b"pwb-audit/1\x1f")
    message = (1).to_bytes(8, "big") + GENESIS_HASH + content
    assert entry.entry_hash == hmac.new(KEY, message, hashlib.sha256).digest()
    assert stored_entry_hash(entry, KEY) == entry.entry_hash
    assert stored_entry_hash(entry, bytes(32)) != entry.entry_hash


def test_each_entry_links_to_its_predecessor() -> None:
    entries = build_chain(4)
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.entry_hash for earlier, later in zip(entries, entries[1:]))


# --- checkpoints ------------------------------------------------------------------------------


def test_checkpoint_signature_verifies_only_with_the_trusted_key() -> None:
    entries = build_chain(3)
    signed = checkpoint_at(entries, 3)
    assert signature_valid(signed, TRUSTED)
    assert not signature_valid(signed, {})
    forger = CheckpointSigner(os.urandom(32))
    forged = checkpoint_at(entries, 3, forger)
    assert not signature_valid(forged, TRUSTED)
    assert not signature_valid(dataclasses.replace(forged, key_id=SIGNER.key_id), TRUSTED)


def test_signer_repr_shows_the_key_id_only() -> None:
    assert repr(SIGNER) == f"CheckpointSigner(key_id={SIGNER.key_id!r})"


def test_signer_comes_from_the_audit_purpose_key_and_is_stable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from privacy_waybill.vault import LocalKeyManager
    from privacy_waybill.vault.purpose_keys import PurposeKeys

    def audit_keys(store: LocalKeyManager) -> AuditKeys:
        return AuditKeys(PurposeKeys(store).ring("audit"))

    secret = os.urandom(48).hex().encode()
    keys = LocalKeyManager.create(tmp_path / "keys", secret)
    first = audit_keys(keys).current().public_key
    reopened = LocalKeyManager.open(tmp_path / "keys", secret)
    assert audit_keys(reopened).current().public_key == first
    other = LocalKeyManager.create(tmp_path / "other", os.urandom(48).hex().encode())
    assert audit_keys(other).current().public_key != first


# --- verifier: one test per problem kind -----------------------------------------------------


def verify(  # type: ignore[no-untyped-def]
    entries: list[StoredEntry],
    checkpoints: list[Checkpoint] = (),  # type: ignore[assignment]
    head: ChainHead | None = None,
    anchors: list[Checkpoint] = (),  # type: ignore[assignment]
):
    return verify_chain(iter(entries), checkpoints, TRUSTED, head, chain_keys={1: KEY}, anchors=anchors)


def test_an_intact_chain_verifies_and_reports_its_size() -> None:
    entries = build_chain(10)
    result = verify(
        entries, [checkpoint_at(entries, 5), checkpoint_at(entries, 10)], ChainHead(10, entries[-1].entry_hash)
    )
    assert result.intact
    assert (result.entries, result.checkpoints, result.head_hash) == (10, 2, entries[-1].entry_hash)


def test_an_empty_log_is_intact() -> None:
    assert verify([], head=ChainHead(0, GENESIS_HASH)).intact


def test_a_changed_field_is_named_changed_at_its_sequence() -> None:
    entries = build_chain(6)
    entries[3] = entries[3]._replace(waybill_id="wb9999")
    problem = verify(entries).problem
    assert (problem.seq, problem.kind) == (4, ProblemKind.CHANGED)
    assert str(problem) == "entry 4: changed (its hash does not match its content)"


def test_a_rewritten_and_rehashed_entry_is_named_changed_at_its_sequence() -> None:
    entries = build_chain(6)
    entries[2] = chain_entry(3, entries[1].entry_hash, event(2, action="export"), KEY)
    problem = verify(entries).problem
    assert (problem.seq, problem.kind) == (3, ProblemKind.CHANGED)


def test_a_deleted_entry_is_named_missing() -> None:
    entries = build_chain(6)
    del entries[2]
    problem = verify(entries).problem
    assert (problem.seq, problem.kind) == (3, ProblemKind.MISSING)


def test_swapped_entries_are_named_reordered() -> None:
    entries = build_chain(6)
    fourth, fifth = entries[3], entries[4]
    entries[3] = fifth._replace(seq=4)
    entries[4] = fourth._replace(seq=5)
    problem = verify(entries).problem
    assert (problem.seq, problem.kind) == (4, ProblemKind.REORDERED)


def test_an_entry_delivered_again_later_in_the_stream_is_named_reordered() -> None:
    entries = build_chain(6)
    stream = entries[:4] + [entries[1]] + entries[4:]
    problem = verify(stream).problem
    assert (problem.seq, problem.kind) == (2, ProblemKind.REORDERED)


def test_a_first_entry_not_linked_to_genesis_is_changed() -> None:
    entries = build_chain(3)
    entries[0] = chain_entry(1, b"\x01" * 32, event(0), KEY)
    problem = verify(entries).problem
    assert (problem.seq, problem.kind) == (1, ProblemKind.CHANGED)


def test_a_forged_checkpoint_signature_is_named() -> None:
    entries = build_chain(6)
    forged = checkpoint_at(entries, 4, CheckpointSigner(os.urandom(32)))
    problem = verify(entries, [checkpoint_at(entries, 2), forged]).problem
    assert (problem.seq, problem.kind) == (4, ProblemKind.BAD_SIGNATURE)


def test_a_checkpoint_that_does_not_match_the_chain_is_named() -> None:
    entries = build_chain(6)
    # The whole chain rewritten from entry 2 on and re-hashed: only the signed head catches it.
    signed = checkpoint_at(entries, 5)
    rewritten = entries[:1]
    for n in range(1, 6):
        rewritten.append(chain_entry(n + 1, rewritten[-1].entry_hash, event(n, action="export"), KEY))
    problem = verify(rewritten, [signed]).problem
    assert (problem.seq, problem.kind) == (5, ProblemKind.CHECKPOINT_MISMATCH)


def test_entries_cut_below_a_checkpoint_are_named_truncated() -> None:
    entries = build_chain(8)
    problem = verify(entries[:5], [checkpoint_at(entries, 4), checkpoint_at(entries, 8)]).problem
    assert (problem.seq, problem.kind) == (6, ProblemKind.TRUNCATED)


def test_a_forged_checkpoint_beyond_the_tail_is_a_bad_signature_not_a_truncation() -> None:
    entries = build_chain(8)
    problem = verify(entries[:5], [checkpoint_at(entries, 8, CheckpointSigner(os.urandom(32)))]).problem
    assert (problem.seq, problem.kind) == (8, ProblemKind.BAD_SIGNATURE)


def test_entries_cut_after_the_last_checkpoint_are_caught_by_the_head() -> None:
    entries = build_chain(8)
    head = ChainHead(8, entries[-1].entry_hash)
    problem = verify(entries[:6], [checkpoint_at(entries, 4)], head).problem
    assert (problem.seq, problem.kind) == (7, ProblemKind.TRUNCATED)


def test_a_rehashed_last_entry_is_caught_by_the_head() -> None:
    entries = build_chain(4)
    head = ChainHead(4, entries[-1].entry_hash)
    entries[3] = chain_entry(4, entries[2].entry_hash, event(3, action="export"), KEY)
    problem = verify(entries, head=head).problem
    assert (problem.seq, problem.kind) == (4, ProblemKind.CHANGED)


def test_an_entry_appended_behind_the_logs_back_is_named() -> None:
    entries = build_chain(4)
    head = ChainHead(3, entries[2].entry_hash)
    problem = verify(entries, head=head).problem
    assert (problem.seq, problem.kind) == (4, ProblemKind.CHANGED)


# --- a database-only insider (no chain key, no signing key) ---------------------------------


def unkeyed_chain(entries: list[StoredEntry]) -> list[StoredEntry]:
    """The chain recomputed with plain SHA-256, as someone with only the database could."""
    rechained: list[StoredEntry] = []
    prev = GENESIS_HASH
    for seq, entry in enumerate(entries, start=1):
        linked = entry._replace(seq=seq, prev_hash=prev)
        linked = linked._replace(entry_hash=unkeyed_entry_hash(linked))
        rechained.append(linked)
        prev = linked.entry_hash
    return rechained


def test_deleting_an_entry_and_renumbering_the_rest_is_named_renumbered() -> None:
    entries = build_chain(8)
    kept = entries[:3] + [e._replace(seq=e.seq - 2) for e in entries[5:]]
    problem = verify(kept).problem
    assert (problem.seq, problem.kind) == (4, ProblemKind.RENUMBERED)
    assert str(problem) == "entry 4: renumbered (it was written as entry 6: 2 entries before it were deleted)"


def test_deleting_and_recomputing_an_unkeyed_chain_is_named_re_chained() -> None:
    entries = build_chain(8)
    forged = unkeyed_chain(entries[:2] + entries[3:])
    problem = verify(forged, head=ChainHead(7, forged[-1].entry_hash)).problem
    assert (problem.seq, problem.kind) == (1, ProblemKind.RECHAINED)


def test_a_checkpoint_deleted_from_the_database_is_named_by_its_anchor() -> None:
    entries = build_chain(8)
    anchor = checkpoint_at(entries, 4)
    problem = verify(entries, [], ChainHead(8, entries[-1].entry_hash), anchors=[anchor]).problem
    assert (problem.seq, problem.kind) == (4, ProblemKind.CHECKPOINT_DELETED)


def test_a_checkpoint_replaced_in_the_database_is_named_re_signed() -> None:
    entries = build_chain(8)
    anchor = checkpoint_at(entries, 4)
    later = SIGNER.sign(4, entries[3].entry_hash, canonical_time(T0 + timedelta(hours=1)))
    problem = verify(entries, [later], ChainHead(8, entries[-1].entry_hash), anchors=[anchor]).problem
    assert (problem.seq, problem.kind) == (4, ProblemKind.RESIGNED)


def test_a_tail_cut_with_checkpoints_and_head_moved_back_is_caught_by_an_anchor() -> None:
    entries = build_chain(8)
    anchors = [checkpoint_at(entries, 4), checkpoint_at(entries, 8)]
    problem = verify(entries[:5], anchors[:1], ChainHead(5, entries[4].entry_hash), anchors=anchors).problem
    assert (problem.seq, problem.kind) == (6, ProblemKind.TRUNCATED)


def test_an_anchor_signed_by_another_key_is_named() -> None:
    entries = build_chain(4)
    forged = checkpoint_at(entries, 4, CheckpointSigner(os.urandom(32)))
    problem = verify(entries, anchors=[forged]).problem
    assert (problem.seq, problem.kind) == (4, ProblemKind.BAD_ANCHOR)


def test_matching_anchors_leave_an_intact_chain_intact() -> None:
    entries = build_chain(8)
    signed = [checkpoint_at(entries, 4), checkpoint_at(entries, 8)]
    assert verify(entries, signed, ChainHead(8, entries[-1].entry_hash), anchors=signed).intact


# --- properties -------------------------------------------------------------------------------

CHAIN = build_chain(5)
CHECKPOINT = checkpoint_at(CHAIN, 5)
ENTRY_FIELDS = list(StoredEntry._fields)
CHECKPOINT_FIELDS = [f.name for f in dataclasses.fields(Checkpoint)]


def change_one_byte(value: object, position: int, new_byte: int) -> object:
    """`value` with the byte at `position` (modulo its length) of its stored form replaced."""
    if value is None:
        return ""
    if isinstance(value, int):
        width = 8
        shift = 8 * (position % width)
        return (value & ~(0xFF << shift)) | (new_byte << shift)
    raw = bytearray(value.encode() if isinstance(value, str) else value)  # type: ignore[union-attr]
    raw[position % len(raw)] = new_byte
    return raw.decode(errors="replace") if isinstance(value, str) else bytes(raw)


@given(
    index=st.integers(0, len(CHAIN) - 1),
    field=st.sampled_from(ENTRY_FIELDS),
    position=st.integers(0, 200),
    new_byte=st.integers(0, 255),
)
def test_any_single_byte_change_to_any_stored_entry_field_is_detected(
    index: int, field: str, position: int, new_byte: int
) -> None:
    original = getattr(CHAIN[index], field)
    changed = change_one_byte(original, position, new_byte)
    assume(changed != original)
    entries = list(CHAIN)
    entries[index] = entries[index]._replace(**{field: changed})
    assert not verify(entries).intact


@given(field=st.sampled_from(CHECKPOINT_FIELDS), position=st.integers(0, 100), new_byte=st.integers(0, 255))
def test_any_single_byte_change_to_a_checkpoint_is_detected(field: str, position: int, new_byte: int) -> None:
    original = getattr(CHECKPOINT, field)
    changed = change_one_byte(original, position, new_byte)
    assume(changed != original)
    tampered = dataclasses.replace(CHECKPOINT, **{field: changed})
    assert not verify(CHAIN, [tampered]).intact
