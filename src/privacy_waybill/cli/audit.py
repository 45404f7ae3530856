"""`pwb audit`: verify the tamper-evident audit log, sign a checkpoint on demand.

`verify` exits 0 with a one-line summary when the chain is intact, 1 naming the first
changed, missing or reordered entry, 2 when the log cannot be opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from privacy_waybill.access.model import Role
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
    """Check every entry's hash and link and every checkpoint's signature; name the first problem."""
    from sqlalchemy.exc import SQLAlchemyError

    with _audit_log() as audit_log:
        try:
            result = audit_log.verify()
        except SQLAlchemyError as error:
            raise fail(f"cannot read the audit log ({type(error).__name__})") from None
    if result.problem is not None:
        typer.echo(f"pwb audit verify: TAMPERED: {result.problem}")
        raise typer.Exit(EXIT_TAMPERED)
    typer.echo(
        f"pwb audit verify: intact: {result.entries} entries, {result.checkpoints} signed checkpoints, "
        f"head {result.head_hash.hex()[:16]}"
    )


@audit_app.command("checkpoint")
def checkpoint() -> None:
    """Sign a checkpoint over the current head now (besides the automatic ones)."""
    from privacy_waybill.audit.model import AuditUnavailable

    with _audit_log() as audit_log:
        try:
            signed = audit_log.checkpoint()
        except AuditUnavailable as error:
            raise fail(str(error)) from None
    if signed is None:
        typer.echo("pwb audit checkpoint: the log is empty; nothing to sign")
    else:
        typer.echo(f"pwb audit checkpoint: signed entry {signed.seq} with {signed.key_id}")
