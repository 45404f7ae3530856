"""Walks the stored chain once, in sequence order, and names the first problem found.

Entries are streamed (memory stays flat for any log size); checkpoints are few and come as
a list. Each problem carries the sequence number an operator should look at and its kind.

Anchors are signed heads kept outside the database (an append-only file, an external
witness). A database-only insider can delete rows, renumber them or recompute hashes, but
cannot recompute the keyed chain, sign a head, or take back an anchor: each of these shows as
a named problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from privacy_waybill.audit.chain import GENESIS_HASH, StoredEntry, stored_entry_hash, unkeyed_entry_hash
from privacy_waybill.audit.checkpoints import Checkpoint, signature_valid


class ProblemKind(StrEnum):
    CHANGED = "changed"
    MISSING = "missing"
    REORDERED = "reordered"
    BAD_SIGNATURE = "bad checkpoint signature"
    CHECKPOINT_MISMATCH = "checkpoint does not match the chain"
    TRUNCATED = "truncated"
    RENUMBERED = "renumbered"
    RECHAINED = "re-chained"
    CHECKPOINT_DELETED = "checkpoint deleted"
    RESIGNED = "re-signed"
    BAD_ANCHOR = "bad anchor"


# How far ahead of its stored position an entry's written position is searched for, to tell a
# renumbering (entries deleted before it) from any other change; only on the problem path.
RENUMBER_SEARCH = 10_000


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    kind: ProblemKind
    explanation: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.kind} ({self.explanation})"


@dataclass(frozen=True, slots=True)
class ChainHead:
    """What the log believes its last entry is (kept next to the chain, updated per append)."""

    seq: int
    head_hash: bytes


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    checkpoints: int
    head_hash: bytes
    problem: Problem | None
    anchors: int = 0

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_chain(
    entries: Iterable[StoredEntry],
    checkpoints: Iterable[Checkpoint],
    trusted_keys: Mapping[str, bytes],
    head: ChainHead | None = None,
    *,
    chain_keys: Mapping[int, bytes],
    anchors: Iterable[Checkpoint] = (),
) -> Verification:
    """Check links, keyed hashes, checkpoint signatures, anchors and heads; stop at the first problem.

    `chain_keys` maps each audit key version to its chain key; an entry is checked under the
    version it records.
    """
    stored = list(checkpoints)
    anchored = list(anchors)
    for anchor in anchored:
        if not signature_valid(anchor, trusted_keys):
            forged = Problem(anchor.seq, ProblemKind.BAD_ANCHOR, "an anchor's signature does not verify")
            return Verification(0, 0, GENESIS_HASH, forged)
    by_seq = {c.seq: c for c in stored}
    anchored_ids = {id(a) for a in anchored}
    pending = sorted([*stored, *anchored], key=lambda c: c.seq)
    next_checkpoint = 0
    expected_seq = 1
    prev_hash = GENESIS_HASH

    def outcome(problem: Problem | None) -> Verification:
        checked = pending[:next_checkpoint]
        anchors_checked = sum(1 for c in checked if id(c) in anchored_ids)
        return Verification(expected_seq - 1, len(checked) - anchors_checked, prev_hash, problem, anchors_checked)

    no_more_checkpoints = float("inf")
    next_checkpoint_seq = pending[0].seq if pending else no_more_checkpoints
    stream = iter(entries)
    for entry in stream:
        # One combined test for the common case (an intact, linked entry) keeps the loop cheap;
        # _entry_problem then names what is wrong.
        intact = entry.seq == expected_seq and entry.prev_hash == prev_hash
        chain_key = chain_keys.get(entry.key_version)
        if not (intact and chain_key is not None and stored_entry_hash(entry, chain_key) == entry.entry_hash):
            return outcome(_entry_problem(entry, next(stream, None), expected_seq, prev_hash, chain_keys))
        prev_hash = entry.entry_hash
        expected_seq += 1
        while next_checkpoint_seq <= entry.seq:
            problem = _checkpoint_problem(
                pending[next_checkpoint], entry, trusted_keys, id(pending[next_checkpoint]) in anchored_ids
            )
            if problem:
                return outcome(problem)
            next_checkpoint += 1
            next_checkpoint_seq = (
                pending[next_checkpoint].seq if next_checkpoint < len(pending) else no_more_checkpoints
            )

    last_seq = expected_seq - 1
    anchor_problem = _anchor_problem(anchored, by_seq, last_seq)
    if anchor_problem:
        return outcome(anchor_problem)
    if next_checkpoint < len(pending):
        beyond = pending[next_checkpoint]
        if not signature_valid(beyond, trusted_keys):
            return outcome(Problem(beyond.seq, ProblemKind.BAD_SIGNATURE, "signature does not verify"))
        return outcome(
            Problem(expected_seq, ProblemKind.TRUNCATED, f"a signed checkpoint covers entries up to {beyond.seq}")
        )
    if head is not None:
        if head.seq > last_seq:
            return outcome(Problem(expected_seq, ProblemKind.TRUNCATED, f"the log's head is at entry {head.seq}"))
        if head.seq < last_seq:
            return outcome(Problem(head.seq + 1, ProblemKind.CHANGED, "entry lies beyond the log's recorded head"))
        if head.head_hash != prev_hash:
            return outcome(Problem(last_seq, ProblemKind.CHANGED, "the log's recorded head hash differs"))
    return outcome(None)


def _anchor_problem(anchored: list[Checkpoint], stored: Mapping[int, Checkpoint], last_seq: int) -> Problem | None:
    """Anchors the database no longer agrees with: a deleted or a replaced checkpoint."""
    for anchor in sorted(anchored, key=lambda a: a.seq):
        if anchor.seq > last_seq:
            return None  # reported as truncation by the caller
        in_database = stored.get(anchor.seq)
        if in_database is None:
            explanation = "a head anchored outside the database has no checkpoint in it"
            return Problem(anchor.seq, ProblemKind.CHECKPOINT_DELETED, explanation)
        if (in_database.head_hash, in_database.key_id, in_database.signature) != (
            anchor.head_hash,
            anchor.key_id,
            anchor.signature,
        ):
            explanation = "the database's checkpoint differs from the one anchored outside it"
            return Problem(anchor.seq, ProblemKind.RESIGNED, explanation)
    return None


def _written_position(entry: StoredEntry, chain_key: bytes) -> int | None:
    """The later sequence number this entry's keyed hash was computed for, if any."""
    for seq in range(entry.seq + 1, entry.seq + 1 + RENUMBER_SEARCH):
        if stored_entry_hash(entry, chain_key, seq) == entry.entry_hash:
            return seq
    return None


def _entry_problem(
    entry: StoredEntry,
    following: StoredEntry | None,
    expected_seq: int,
    prev_hash: bytes,
    chain_keys: Mapping[int, bytes],
) -> Problem:
    if entry.seq > expected_seq:
        return Problem(expected_seq, ProblemKind.MISSING, f"the next stored entry is {entry.seq}")
    if entry.seq < expected_seq:
        return Problem(entry.seq, ProblemKind.REORDERED, f"appears after entry {expected_seq - 1}")
    chain_key = chain_keys.get(entry.key_version)
    if chain_key is None:
        explanation = f"it names audit key version {entry.key_version}, which never existed"
        return Problem(entry.seq, ProblemKind.CHANGED, explanation)
    following_key = chain_keys.get(following.key_version) if following is not None else None
    intact = stored_entry_hash(entry, chain_key) == entry.entry_hash
    linked = entry.prev_hash == prev_hash
    if not intact:
        if unkeyed_entry_hash(entry) == entry.entry_hash:
            return Problem(entry.seq, ProblemKind.RECHAINED, "its hash was recomputed without the audit chain key")
        written_at = _written_position(entry, chain_key)
        # Renumbered: the entries after it moved down by the same gap (a swap moves one up).
        if written_at is not None and (
            following is None
            or (
                following_key is not None
                and stored_entry_hash(following, following_key, following.seq + written_at - entry.seq)
                == following.entry_hash
            )
        ):
            return Problem(
                entry.seq,
                ProblemKind.RENUMBERED,
                f"it was written as entry {written_at}: {written_at - entry.seq} entries before it were deleted",
            )
        if linked:
            return Problem(entry.seq, ProblemKind.CHANGED, "its hash does not match its content")
        # Content and link both foreign to this position: an entry moved here from elsewhere.
        return Problem(entry.seq, ProblemKind.REORDERED, "it does not belong at this position in the chain")
    if not linked and entry.seq == 1:
        return Problem(1, ProblemKind.CHANGED, "the first entry does not start from the genesis hash")
    if not linked:
        # A self-consistent entry whose recorded predecessor hash differs: the predecessor was
        # rewritten and re-hashed.
        return Problem(entry.seq - 1, ProblemKind.CHANGED, "its successor recorded a different hash for it")
    raise AssertionError("called for an entry that verifies")


def _checkpoint_problem(
    checkpoint: Checkpoint, entry: StoredEntry, trusted_keys: Mapping[str, bytes], anchored: bool
) -> Problem | None:
    if not signature_valid(checkpoint, trusted_keys):
        return Problem(checkpoint.seq, ProblemKind.BAD_SIGNATURE, "signature does not verify")
    if anchored and checkpoint.head_hash != entry.entry_hash:
        # Every entry up to here carries a valid keyed hash, yet the head anchored outside
        # differs: the log was cut back below this entry and appended to again.
        explanation = "the head anchored outside the database differs: cut back and re-appended"
        return Problem(checkpoint.seq, ProblemKind.TRUNCATED, explanation)
    if checkpoint.seq != entry.seq or checkpoint.head_hash != entry.entry_hash:
        return Problem(checkpoint.seq, ProblemKind.CHECKPOINT_MISMATCH, "signed head hash differs from the chain")
    return None
