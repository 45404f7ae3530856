"""What every `pwb` command shares: one-line errors, the opened runtime, the operator subject.

The CLI's credential is shell access to the data folder (it holds the master secret), but
every command still asks the policy for the act it performs, in the role that act needs,
and is audited as cli:<os user>.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console

from privacy_waybill.access.model import Resource, Role, Subject
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.runtime import TENANT_ID_PATTERN, Runtime, open_runtime
from privacy_waybill.settings import Settings, load_settings

EXIT_UNUSABLE = 2
PLATFORM = Resource(kind="platform")

stderr = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = EXIT_UNUSABLE) -> typer.Exit:
    stderr.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def settings() -> Settings:
    try:
        return load_settings()
    except ValueError as error:
        raise fail(f"bad PWB_* setting: {error}") from None


@contextmanager
def runtime() -> Iterator[Runtime]:
    """The opened runtime; any domain error becomes one line and exit code 2."""
    try:
        rt = open_runtime(settings())
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
    if not TENANT_ID_PATTERN.match(value):
        raise typer.BadParameter("a tenant id is 1-64 lowercase letters, digits and dashes")
    return value


TenantOption = Annotated[str, typer.Option("--tenant", "-t", callback=_tenant_option, help="Merchant (tenant) id.")]
TenantArgument = Annotated[str, typer.Argument(callback=_tenant_option, help="Tenant id.")]
