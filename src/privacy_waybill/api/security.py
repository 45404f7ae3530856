"""The security console's API: privacy coverage, reveals per role, account freezes, trace
cases, canaries and the state of audit verification. Ids, counts and keyed hashes only."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from privacy_waybill.access.model import Resource, Subject
from privacy_waybill.api.deps import caller
from privacy_waybill.api.problems import Problem
from privacy_waybill.risk.service import FREEZE
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.audit_log import ENTRIES
from privacy_waybill.storage.waybills import VAULT, WAYBILLS
from privacy_waybill.tracing.report import report_html

PLATFORM = Resource(kind="platform")
DISCLOSURES = ("waybill.reveal", "waybill.decrypt", "waybill.break_glass")
MAX_LEAK_BYTES = 64 * 1024 * 1024


class CoverageOut(BaseModel):
    tenant_id: str
    day: str
    issued: int
    masked: int = Field(description="Issued with a masking profile: labels show masked views only")
    sealed: int = Field(description="Personal data sealed in the vault (or already crypto-shredded)")


class RevealsOut(BaseModel):
    day: str
    role: str
    action: str
    count: int


class AccountIn(BaseModel):
    actor: str = Field(max_length=100, pattern=r"^[a-z]+:[A-Za-z0-9._@-]{1,90}$", description="e.g. user:u_12ab")


class RestrictionOut(BaseModel):
    actor: str
    kind: str
    since: datetime
    signal: str
    alert_id: int | None
    set_by: str


class TraceCaseOut(BaseModel):
    id: str
    created_at: datetime
    created_by: str
    leak_rows: int
    matched: int


class VerifyOut(BaseModel):
    checked_at: datetime | None
    intact: bool | None
    entries: int
    checkpoints: int
    problem: str | None


def security_router(rt: Runtime) -> APIRouter:
    router = APIRouter(prefix="/security", tags=["security"])
    who = Depends(caller(rt))
    last_verify: dict[str, Any] = {}
    verify_lock = threading.Lock()

    def allow(subject: Subject, action: str) -> None:
        rt.access.permit(subject, action, PLATFORM, rt.access.context())

    @router.get("/coverage", response_model=list[CoverageOut])
    def coverage(subject: Subject = who, days: Annotated[int, Query(ge=1, le=90)] = 14) -> list[CoverageOut]:
        """Privacy coverage per tenant and day: waybills issued, masked on the label, and sealed."""
        allow(subject, "audit.read")
        since = rt.clock() - timedelta(days=days)
        stmt = (
            select(WAYBILLS.c.tenant_id, WAYBILLS.c.created_at, WAYBILLS.c.masking_profile,
                   WAYBILLS.c.purged_at, VAULT.c.wrapped_dek.is_not(None))
            .join(VAULT, VAULT.c.waybill_id == WAYBILLS.c.id, isouter=True)
            .where(WAYBILLS.c.created_at >= since)
        )  # fmt: skip
        totals: dict[tuple[str, str], list[int]] = {}
        profiles = set(rt.masking.profiles)
        with rt.engine.connect() as conn:
            for tenant_id, created_at, profile, purged_at, has_key in conn.execute(stmt):
                counts = totals.setdefault((tenant_id, created_at.date().isoformat()), [0, 0, 0])
                counts[0] += 1
                counts[1] += profile in profiles
                counts[2] += bool(has_key) or purged_at is not None
        return [
            CoverageOut(tenant_id=t, day=d, issued=c[0], masked=c[1], sealed=c[2])
            for (t, d), c in sorted(totals.items())
        ]

    @router.get("/reveals", response_model=list[RevealsOut])
    def reveals(subject: Subject = who, days: Annotated[int, Query(ge=1, le=90)] = 14) -> list[RevealsOut]:
        """Disclosures of full personal data (reveals, decrypts, break-glass) per role and day."""
        allow(subject, "audit.read")
        since = rt.clock() - timedelta(days=days)
        stmt = select(ENTRIES.c.at, ENTRIES.c.role, ENTRIES.c.action).where(
            ENTRIES.c.at >= since, ENTRIES.c.action.in_(DISCLOSURES), ENTRIES.c.outcome == "allowed"
        )
        with rt.engine.connect() as conn:
            counted = Counter((at.date().isoformat(), role, action) for at, role, action in conn.execute(stmt))
        return [RevealsOut(day=d, role=r, action=a, count=n) for (d, r, a), n in sorted(counted.items())]

    @router.get("/accounts", response_model=list[RestrictionOut])
    def restricted_accounts(subject: Subject = who) -> list[RestrictionOut]:
        """Accounts frozen or under step-up, newest first."""
        allow(subject, "account.read")
        return [RestrictionOut.model_validate(r, from_attributes=True) for r in rt.restrictions.all()]

    @router.post("/accounts/freeze", response_model=list[RestrictionOut])
    def freeze(body: AccountIn, subject: Subject = who) -> list[RestrictionOut]:
        """Freeze an account at once (audited): every request refused, its sessions ended."""
        # The responder audits the freeze itself (with the account); the decision needs no second entry.
        rt.access.require(subject, "account.freeze", PLATFORM, rt.access.context())
        rt.risk_responder.restrict(body.actor, FREEZE, rt.clock(), "manual", None, subject.actor, subject.role.value)
        return restricted_accounts(subject)

    @router.post("/accounts/unfreeze", response_model=list[RestrictionOut])
    def unfreeze(body: AccountIn, subject: Subject = who) -> list[RestrictionOut]:
        """Lift a freeze: an administrator's act, audited."""
        rt.access.require(subject, "account.unfreeze", PLATFORM, rt.access.context())
        rt.risk_responder.lift(body.actor, FREEZE, rt.clock(), subject.actor, subject.role.value, "admin-unfreeze")
        return restricted_accounts(subject)

    @router.post("/traces", status_code=201)
    def new_trace(file: UploadFile, subject: Subject = who) -> dict[str, Any]:
        """Upload a leaked list (CSV); the report ranks the accessors that saw it beyond chance."""
        data = file.file.read(MAX_LEAK_BYTES + 1)
        if len(data) > MAX_LEAK_BYTES:
            raise Problem(413, "Too large", f"A leaked list may be at most {MAX_LEAK_BYTES} bytes.")
        return rt.trace_case(subject, data)

    @router.get("/traces", response_model=list[TraceCaseOut])
    def trace_cases(subject: Subject = who) -> list[TraceCaseOut]:
        allow(subject, "audit.read")
        return [TraceCaseOut.model_validate(c) for c in rt.trace_cases.recent()]

    @router.get("/traces/{case_id}")
    def trace_case(case_id: str, subject: Subject = who) -> dict[str, Any]:
        allow(subject, "audit.read")
        return _case(case_id)["report"]

    @router.get("/traces/{case_id}/report.html", response_class=HTMLResponse)
    def trace_report(case_id: str, subject: Subject = who) -> HTMLResponse:
        allow(subject, "audit.read")
        return HTMLResponse(report_html(_case(case_id)["report"]))

    def _case(case_id: str) -> dict[str, Any]:
        case = rt.trace_cases.get(case_id)
        if case is None:
            raise Problem(404, "Not found", "No such trace case.")
        return case

    @router.get("/canaries")
    def canaries(subject: Subject = who) -> list[dict[str, Any]]:
        allow(subject, "alert.read")
        return rt.canaries.all()

    @router.get("/audit/verify", response_model=VerifyOut)
    def verify_state(subject: Subject = who) -> VerifyOut:
        """The outcome of the last verification of the audit chain (run one with POST)."""
        allow(subject, "audit.read")
        return VerifyOut(**last_verify) if last_verify else VerifyOut(
            checked_at=None, intact=None, entries=0, checkpoints=0, problem=None
        )  # fmt: skip

    @router.post("/audit/verify", response_model=VerifyOut)
    def verify_now(subject: Subject = who) -> VerifyOut:
        """Verify every entry's hash and link and every checkpoint's signature now."""
        allow(subject, "audit.read")
        with verify_lock:
            result = rt.audit.verify()
            last_verify.update(
                checked_at=rt.clock(), intact=result.intact, entries=result.entries,
                checkpoints=result.checkpoints, problem=str(result.problem) if result.problem else None,
            )  # fmt: skip
        return VerifyOut(**last_verify)

    return router
