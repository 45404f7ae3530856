"""Walks the stored chain once, in sequence order, and names the first problem found.

Entries are streamed (memory stays flat for any log size); checkpoints are few and come as
a list. Each problem carries the sequence number an operator should look at and its kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from privacy_waybill.audit.chain import GENESIS_HASH, StoredEntry, stored_entry_hash
from privacy_waybill.audit.checkpoints import Checkpoint, signature_valid


class ProblemKind(StrEnum):
    CHANGED = "changed"
    MISSING = "missing"
    REORDERED = "reordered"
    BAD_SIGNATURE = "bad checkpoint signature"
    CHECKPOINT_MISMATCH = "checkpoint does not match the chain"
    TRUNCATED = "truncated"


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

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_chain(
    entries: Iterable[StoredEntry],
    checkpoints: Iterable[Checkpoint],
    trusted_keys: Mapping[str, bytes],
    head: ChainHead | None = None,
) -> Verification:
    """Check links, hashes, checkpoint signatures and heads; stop at the first problem."""
    pending = sorted(checkpoints, key=lambda c: c.seq)
    next_checkpoint = 0
    expected_seq = 1
    prev_hash = GENESIS_HASH

    def outcome(problem: Problem | None) -> Verification:
        return Verification(expected_seq - 1, next_checkpoint, prev_hash, problem)

    no_more_checkpoints = float("inf")
    next_checkpoint_seq = pending[0].seq if pending else no_more_checkpoints
    for entry in entries:
        # One combined test for the common case (an intact, linked entry) keeps the loop cheap;
        # _entry_problem then names what is wrong.
        intact = entry.seq == expected_seq and entry.prev_hash == prev_hash
        if not (intact and stored_entry_hash(entry) == entry.entry_hash):
            return outcome(_entry_problem(entry, expected_seq, prev_hash))
        prev_hash = entry.entry_hash
        expected_seq += 1
        while next_checkpoint_seq <= entry.seq:
            problem = _checkpoint_problem(pending[next_checkpoint], entry, trusted_keys)
            if problem:
                return outcome(problem)
            next_checkpoint += 1
            next_checkpoint_seq = (
                pending[next_checkpoint].seq if next_checkpoint < len(pending) else no_more_checkpoints
            )

    last_seq = expected_seq - 1
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


def _entry_problem(entry: StoredEntry, expected_seq: int, prev_hash: bytes) -> Problem:
    if entry.seq > expected_seq:
        return Problem(expected_seq, ProblemKind.MISSING, f"the next stored entry is {entry.seq}")
    if entry.seq < expected_seq:
        return Problem(entry.seq, ProblemKind.REORDERED, f"appears after entry {expected_seq - 1}")
    intact = stored_entry_hash(entry) == entry.entry_hash
    linked = entry.prev_hash == prev_hash
    if not intact:
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
    checkpoint: Checkpoint, entry: StoredEntry, trusted_keys: Mapping[str, bytes]
) -> Problem | None:
    if not signature_valid(checkpoint, trusted_keys):
        return Problem(checkpoint.seq, ProblemKind.BAD_SIGNATURE, "signature does not verify")
    if checkpoint.seq != entry.seq or checkpoint.head_hash != entry.entry_hash:
        return Problem(checkpoint.seq, ProblemKind.CHECKPOINT_MISMATCH, "signed head hash differs from the chain")
    return None
