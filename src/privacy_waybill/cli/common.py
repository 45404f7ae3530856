"""What every `pwb` command shares: one-line errors, the opened runtime, the operator subject.

The CLI's credential is shell access to the data folder (it holds the master secret), but
every command still asks the policy for the act it performs, in the role that act needs,
and is audited as cli:<os user>.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from privacy_waybill.access.model import Resource, Role, Subject
from privacy_waybill.errors import PrivacyWaybillError

if TYPE_CHECKING:
    from rich.console import Console

    from privacy_waybill.core import Core
    from privacy_waybill.runtime import Runtime
    from privacy_waybill.settings import Settings

EXIT_UNUSABLE = 2
PLATFORM = Resource(kind="platform")


class _Stderr:
    """rich's console on stderr, made when first used: importing rich is about 75 million
    instructions (12 ms in a fast hour) of a command's start, and most commands print nothing
    there until they fail."""

    @cached_property
    def console(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, soft_wrap=True)

    def print(self, *objects: object, **options: object) -> None:
        self.console.print(*objects, **options)  # type: ignore[arg-type]

    @property
    def is_terminal(self) -> bool:
        return self.console.is_terminal


stderr = _Stderr()


def fail(message: str, code: int = EXIT_UNUSABLE) -> typer.Exit:
    # One line, whatever the message holds: a wrapped or multi-line error is not one line to grep.
    one_line = re.sub(r"\s*\n\s*", "; ", message.strip())
    stderr.print(f"[red]error:[/red] {one_line}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def file_problem(what: str, path: Path, error: OSError) -> str:
    """``cannot write out/x.pdf: No such file or directory (the folder out does not exist)``."""
    reason = error.strerror or type(error).__name__
    if isinstance(error, FileNotFoundError) and path.parent != path and not path.parent.exists():
        reason += f" (the folder {path.parent} does not exist)"
    return f"{what} {path}: {reason}"


def settings() -> Settings:
    from privacy_waybill.settings import load_settings

    try:
        return load_settings()
    except ValueError as error:
        raise fail(f"bad PWB_* setting: {error}") from None


@contextmanager
def runtime(core: Core | None = None) -> Iterator[Runtime]:
    """The opened runtime (on `core`, if already opened); any domain error becomes one line
    and exit code 2."""
    from privacy_waybill.runtime import open_runtime

    try:
        rt = open_runtime(core.settings if core else settings(), core=core)
    except PrivacyWaybillError as error:
        raise fail(str(error)) from None
    try:
        yield rt
    except PrivacyWaybillError as error:
        raise fail(str(error)) from None
    finally:
        rt.close()


def operator(role: Role, tenant_id: str | None = None) -> Subject:
    """The local operator acting in the role a command needs."""
    return Subject(actor=f"cli:{getpass.getuser()}", role=role, tenant_id=tenant_id)


def allow(rt: Runtime, subject: Subject, action: str, resource: Resource = PLATFORM) -> None:
    """Ask the policy and audit the act; a denial ends the command with one line."""
    rt.access.permit(subject, action, resource, rt.access.context())


def _tenant_option(value: str) -> str:
    # The core's, not the runtime's: parsing an option must not import the storage.
    from privacy_waybill.core import TENANT_ID_PATTERN

    if not TENANT_ID_PATTERN.match(value):
        raise typer.BadParameter("a tenant id is 1-64 lowercase letters, digits and dashes")
    return value


TenantOption = Annotated[str, typer.Option("--tenant", "-t", callback=_tenant_option, help="Merchant (tenant) id.")]
TenantArgument = Annotated[str, typer.Argument(callback=_tenant_option, help="Tenant id.")]
