"""`pwb audit`: verify the tamper-evident audit log, sign a checkpoint on demand.

`verify` exits 0 with a one-line summary when the chain is intact, 1 naming the first
changed, missing or reordered entry, 2 when the log cannot be opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from privacy_waybill.access.model import Role
from privacy_waybill.audit.model import AuditUnavailable
from privacy_waybill.cli.common import allow, fail, operator, runtime

if TYPE_CHECKING:
    from privacy_waybill.storage.audit_log import SqlAuditLog

EXIT_TAMPERED = 1

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@contextmanager
def _audit_log() -> Iterator[SqlAuditLog]:
    with runtime() as rt:
        allow(rt, operator(Role.SECURITY_AUDITOR), "audit.read")
        yield rt.audit


@audit_app.command("verify")
def verify() -> None:
    """Check every entry's keyed hash and link, every checkpoint's signature and every anchor
    outside the database; name the first problem (truncated, missing, renumbered, re-chained,
    checkpoint deleted, re-signed...)."""
    from sqlalchemy.exc import SQLAlchemyError

    from privacy_waybill.audit.anchors import AnchorFileDamaged

    with _audit_log() as audit_log:
        try:
            result = audit_log.verify()
        except SQLAlchemyError as error:
            raise fail(f"cannot read the audit log ({type(error).__name__})") from None
        except AnchorFileDamaged as damaged:
            typer.echo(f"pwb audit verify: TAMPERED: {damaged}")
            raise typer.Exit(EXIT_TAMPERED) from None
    if result.problem is not None:
        typer.echo(f"pwb audit verify: TAMPERED: {result.problem}")
        raise typer.Exit(EXIT_TAMPERED)
    typer.echo(
        f"pwb audit verify: intact: {result.entries} entries, {result.checkpoints} signed checkpoints, "
        f"{result.anchors} anchors outside the database, head {result.head_hash.hex()[:16]}"
    )


@audit_app.command("prove")
def prove(seq: int = typer.Argument(..., min=1, help="The entry's sequence number")) -> None:
    """Print a signed RFC 6962 tree head and the inclusion proof of one entry (JSON), for an outside auditor."""
    from privacy_waybill.audit.merkle import inclusion_proof, leaf_hash

    with _audit_log() as audit_log:
        entry_hashes = audit_log.entry_hashes()
        leaves = [leaf_hash(h) for h in entry_hashes]
        if seq > len(leaves):
            raise fail(f"seq: the log has {len(leaves)} entries")
        head = audit_log.signed_tree_head(leaves)
    proof = inclusion_proof(leaves, seq - 1)
    typer.echo(
        json.dumps(
            {
                "tree_size": head.size,
                "root": head.root.hex(),
                "at": head.at,
                "key_id": head.key_id,
                "public_key": head.public_key.hex(),
                "signature": head.signature.hex(),
                "leaf_index": seq - 1,
                "entry_hash": entry_hashes[seq - 1].hex(),
                "leaf_hash": leaves[seq - 1].hex(),
                "proof": [p.hex() for p in proof],
                "hashing": "RFC 6962: leaf = SHA-256(0x00 || entry_hash), node = SHA-256(0x01 || left || right)",
            },
            indent=2,
        )
    )


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Sign a checkpoint over the current head now (besides the automatic ones)."""
    with _audit_log() as audit_log:
        try:
            signed = audit_log.checkpoint()
        except AuditUnavailable as error:
            raise fail(str(error)) from None
    if signed is None:
        typer.echo("pwb audit checkpoint: the log is empty; nothing to sign")
    else:
        typer.echo(f"pwb audit checkpoint: signed entry {signed.seq} with {signed.key_id}")
