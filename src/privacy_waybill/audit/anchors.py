"""Signed heads kept outside the database, where a database-only insider cannot reach them.

A `Witness` receives every signed checkpoint and gives back what it holds. The shipped one is
an append-only file in PWB_HOME (owner-only, each line fsynced); a WORM bucket or a
transparency log plugs in through the same two methods.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from privacy_waybill.audit.checkpoints import Checkpoint

log = logging.getLogger("privacy_waybill.audit")
ANCHOR_FORMAT = "pwb-audit-anchor/1"


class Witness(Protocol):
    name: str

    def publish(self, checkpoint: Checkpoint) -> None:
        """Keep `checkpoint` durably; raise OSError (or the adapter's error) when it cannot."""
        ...

    def anchors(self) -> list[Checkpoint]:
        """Every checkpoint published so far."""
        ...


class AnchorFileDamaged(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(f"anchor file line {line} is not a signed head")
        self.line = line


def anchor_line(checkpoint: Checkpoint) -> str:
    return json.dumps(
        {
            "format": ANCHOR_FORMAT,
            "seq": checkpoint.seq,
            "head_hash": checkpoint.head_hash.hex(),
            "at": checkpoint.at,
            "key_id": checkpoint.key_id,
            "public_key": checkpoint.public_key.hex(),
            "signature": checkpoint.signature.hex(),
        },
        sort_keys=True,
    )


def parse_anchor_line(text: str, line: int) -> Checkpoint:
    try:
        value = json.loads(text)
        if value["format"] != ANCHOR_FORMAT:
            raise ValueError(value["format"])
        return Checkpoint(
            seq=int(value["seq"]),
            head_hash=bytes.fromhex(value["head_hash"]),
            at=str(value["at"]),
            key_id=str(value["key_id"]),
            public_key=bytes.fromhex(value["public_key"]),
            signature=bytes.fromhex(value["signature"]),
        )
    except (ValueError, KeyError, TypeError):
        raise AnchorFileDamaged(line) from None


@dataclass
class FileWitness:
    """One JSON line per signed head, appended with O_APPEND and fsynced; never rewritten."""

    path: Path
    name: str = "anchor-file"

    def publish(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, (anchor_line(checkpoint) + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def anchors(self) -> list[Checkpoint]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [parse_anchor_line(text, number) for number, text in enumerate(lines, start=1) if text.strip()]


def publish_to_all(witnesses: list[Witness], checkpoints: list[Checkpoint]) -> None:
    """Hand signed heads to every witness; a failing witness is logged, not fatal to the append.

    The entry is already committed by then (fail-closed is about the database), and the next
    signed head re-covers everything before it.
    """
    for checkpoint in checkpoints:
        for witness in witnesses:
            try:
                witness.publish(checkpoint)
            except Exception as error:  # noqa: BLE001 - any adapter's failure, by design
                log.error("audit anchor to %s failed: %s", witness.name, type(error).__name__)
