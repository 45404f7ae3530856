"""`pwb audit`: verify the tamper-evident audit log, sign a checkpoint on demand.

`verify` exits 0 with a one-line summary when the chain is intact, 1 naming the first
changed, missing or reordered entry, 2 when the log cannot be opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from privacy_waybill.audit.model import AuditUnavailable
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.runtime import open_runtime
from privacy_waybill.settings import load_settings
from privacy_waybill.storage.audit_log import SqlAuditLog

EXIT_TAMPERED, EXIT_UNUSABLE = 1, 2

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
stderr = Console(stderr=True, soft_wrap=True, highlight=False)


@contextmanager
def _audit_log() -> Iterator[SqlAuditLog]:
    try:
        rt = open_runtime(load_settings())
    except (PrivacyWaybillError, ValueError) as error:
        stderr.print(f"error: {error}")
        raise typer.Exit(EXIT_UNUSABLE) from None
    try:
        yield rt.audit
    finally:
        rt.close()


@audit_app.command("verify")
def verify() -> None:
    """Check every entry's hash and link and every checkpoint's signature; name the first problem."""
    with _audit_log() as audit_log:
        try:
            result = audit_log.verify()
        except SQLAlchemyError as error:
            stderr.print(f"error: cannot read the audit log ({type(error).__name__})")
            raise typer.Exit(EXIT_UNUSABLE) from None
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
    with _audit_log() as audit_log:
        try:
            signed = audit_log.checkpoint()
        except AuditUnavailable as error:
            stderr.print(f"error: {error}")
            raise typer.Exit(EXIT_UNUSABLE) from None
    if signed is None:
        typer.echo("pwb audit checkpoint: the log is empty; nothing to sign")
    else:
        typer.echo(f"pwb audit checkpoint: signed entry {signed.seq} with {signed.key_id}")
