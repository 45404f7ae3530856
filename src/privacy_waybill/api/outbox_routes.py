"""The notification outbox for operators (platform administrators): recipients as last 4 digits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from privacy_waybill.access.model import Resource, Subject
from privacy_waybill.api.deps import caller
from privacy_waybill.notifications import OutboxMessage
from privacy_waybill.runtime import Runtime

PLATFORM = Resource(kind="platform")


class OutboxEntryOut(BaseModel):
    id: str
    created_at: datetime
    channel: str
    template: str
    to: str
    state: str
    attempts: int
    provider: str
    sent_at: datetime | None
    text: str | None
    data: dict[str, str] | None

    @classmethod
    def of(cls, m: OutboxMessage) -> OutboxEntryOut:
        return cls(
            id=m.id,
            created_at=m.created_at,
            channel=m.channel.value,
            template=m.template,
            to=f"****{m.to_hint}",
            state=m.state.value,
            attempts=m.attempts,
            provider=m.provider,
            sent_at=m.sent_at,
            text=m.body.text if m.body else None,
            data=dict(m.body.data) if m.body else None,
        )


def outbox_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["notifications"])
    who = Depends(caller(rt))

    @router.get("/outbox", response_model=list[OutboxEntryOut])
    def outbox(
        subject: Subject = who,
        template: Annotated[str | None, Query(max_length=50)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[OutboxEntryOut]:
        """Newest messages first. Text is shown while the outbox keeps it (the simulator does)."""
        rt.access.permit(subject, "outbox.read", PLATFORM, rt.access.context())
        return [OutboxEntryOut.of(m) for m in rt.notifications.recent(limit, template=template)]

    return router
