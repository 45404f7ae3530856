"""`pwb outbox`: what the notification simulator "delivered", for an operator running a demo.

Recipients show as their last 4 digits only; a message's text is shown only while the
outbox still holds it (the simulator keeps it; a real provider's messages are erased once
handed over).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from privacy_waybill.access.model import Role
from privacy_waybill.cli.common import allow, fail, operator, runtime, stderr
from privacy_waybill.errors import FieldError

if TYPE_CHECKING:
    from privacy_waybill.runtime import Runtime

log = logging.getLogger("privacy_waybill.cli.outbox")


def outbox(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many messages, newest first.")] = 20,
    template: Annotated[str | None, typer.Option(help="Only messages of this template.")] = None,
    deliver: Annotated[bool, typer.Option(help="First retry pending messages whose backoff has passed.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List the notification outbox: time, id, template, recipient (last 4), state, text."""
    with runtime() as rt:
        allow(rt, operator(Role.PLATFORM_ADMIN), "outbox.read")
        if deliver:
            sent = rt.notifications.deliver_due(rt.clock())
            stderr.print(f"pwb outbox: {sent} pending messages delivered", highlight=False)
        try:
            messages = rt.notifications.recent(limit, template=template)
        except FieldError as error:
            raise fail(f"--template: {error.reason}") from None
    for m in messages:
        text = m.body.text if m.body else "(handed to the provider; not kept)"
        if as_json:
            line = {
                "id": m.id, "created_at": m.created_at.isoformat(), "channel": m.channel.value,
                "template": m.template, "to": f"****{m.to_hint}", "state": m.state.value,
                "attempts": m.attempts, "text": m.body.text if m.body else None,
                "data": dict(m.body.data) if m.body else None,
            }  # fmt: skip
            typer.echo(json.dumps(line, ensure_ascii=False))
        else:
            when = m.created_at.strftime("%Y-%m-%d %H:%M:%S")
            typer.echo(f"{when}  {m.id}  {m.template}  ****{m.to_hint}  {m.state.value}/{m.attempts}  {text}")


def start_outbox_relay(rt: Runtime, every_seconds: float = 5.0) -> threading.Event:
    """Retry pending messages in the background while `pwb serve` runs; set the event to stop."""
    stop = threading.Event()

    def relay() -> None:
        while not stop.wait(every_seconds):
            try:
                rt.notifications.deliver_due(rt.clock())
            except Exception as error:  # noqa: BLE001 - a relay round that fails is retried next round
                log.warning("outbox relay round failed: %s", type(error).__name__)

    threading.Thread(target=relay, name="outbox-relay", daemon=True).start()
    return stop
