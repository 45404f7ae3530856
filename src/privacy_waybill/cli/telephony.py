"""`pwb telephony`: the pool of virtual numbers (X) that couriers' calls go through."""

from __future__ import annotations

from typing import Annotated

import typer

from privacy_waybill.access.model import Role
from privacy_waybill.cli.common import allow, fail, operator, runtime, stderr
from privacy_waybill.errors import FieldError

telephony_app = typer.Typer(help="Virtual numbers (AXB) for couriers' calls.", no_args_is_help=True)


@telephony_app.command("add-numbers")
def add_numbers(
    numbers: Annotated[list[str], typer.Argument(help="X numbers from the provider's pool.")],
    capacity: Annotated[
        int, typer.Option(min=1, max=100_000, help="Live bindings per X (Aliyun ~200, Huawei up to 5,000).")
    ] = 200,
    pool: Annotated[str, typer.Option(help="The provider's pool name (Aliyun PoolKey).")] = "default",
) -> None:
    """Add X numbers to the pool; numbers already there are left as they are."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "key.manage")
        try:
            added = rt.telephony.add_numbers(numbers, capacity, pool, rt.clock())
        except FieldError as error:
            raise fail(f"{error.field}: {error.reason}") from None
    stderr.print(f"pwb telephony add-numbers: {added} new of {len(numbers)}", highlight=False)
