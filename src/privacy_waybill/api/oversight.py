"""Security auditors: the audit log and alerts. Ids, roles, rules and hashes; no personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from privacy_waybill.access.model import Resource, Subject
from privacy_waybill.api.deps import caller
from privacy_waybill.api.schemas import AlertOut, AuditEntryOut
from privacy_waybill.audit.chain import StoredEntry
from privacy_waybill.audit.model import Outcome
from privacy_waybill.errors import FieldError
from privacy_waybill.runtime import Runtime

PLATFORM = Resource(kind="platform")
MAX_SEQ = 2**62  # within BIGINT on every backend


def oversight_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["oversight"])
    who = Depends(caller(rt))

    @router.get("/audit/events", response_model=list[AuditEntryOut])
    def audit_events(
        subject: Subject = who,
        actor: str | None = None,
        action: str | None = None,
        waybill_id: str | None = None,
        tenant_id: str | None = None,
        outcome: Outcome | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AuditEntryOut]:
        """Audit entries matching every filter, oldest first; page with `after_seq`."""
        rt.access.permit(subject, "audit.read", PLATFORM, rt.access.context())
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise FieldError(name, "must carry a time zone (e.g. Z or +08:00)")
        entries = rt.audit.events(
            actor=actor, action=action, waybill_id=waybill_id, tenant_id=tenant_id,
            outcome=outcome, since=since, until=until, after_seq=after_seq, limit=limit,
        )  # fmt: skip
        return [_entry_out(e) for e in entries]

    @router.get("/alerts", response_model=list[AlertOut])
    def alerts(
        subject: Subject = who,
        kind: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AlertOut]:
        """The newest alerts first."""
        rt.access.permit(subject, "alert.read", PLATFORM, rt.access.context())
        return [AlertOut.model_validate(dict(row)) for row in rt.alerts.recent(limit=limit, kind=kind)]

    return router


def _entry_out(entry: StoredEntry) -> AuditEntryOut:
    event = entry.event()
    return AuditEntryOut(
        seq=entry.seq,
        at=event.at,
        actor=event.actor,
        role=event.role,
        action=event.action,
        outcome=event.outcome.value,
        rule=event.rule,
        tenant_id=event.tenant_id,
        waybill_id=event.waybill_id,
        purpose=event.purpose,
        fields=list(event.fields),
        device=event.device,
        detail=dict(event.detail),
        entry_hash=entry.entry_hash.hex(),
    )
