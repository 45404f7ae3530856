"""Cloud print routes: merchants queue waybills, their print terminals pull masked labels.

Mounted under /api/v1. Who may act is asked of the policy (`authorize`); the print service
keeps every caller inside its own merchant's jobs and audits each pull, report and reprint.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel, Field

from privacy_waybill.access.model import Context, Decision, Resource, Subject
from privacy_waybill.access.service import waybill_resource
from privacy_waybill.api.problems import Problem
from privacy_waybill.audit.model import AuditUnavailable, Outcome
from privacy_waybill.audit.noise import NoiseKind
from privacy_waybill.labels.model import LabelFormat, LabelSize
from privacy_waybill.printing import PrintedLabel, PrintJob, PrintService, PrintSettings, ReprintLimitReached
from privacy_waybill.printing.service import NotAllowed
from privacy_waybill.runtime import Runtime

Authorize = Callable[[Subject, str, Resource, Context], Decision]
SubjectDependency = Callable[..., Subject]

# The actions this router asks the policy about (policies/access.yaml).
QUEUE = "print_job.create"
PULL = "print_job.pull"
REPORT_PRINTED = "print_job.report"
REPRINT = "print_job.reprint"

MEDIA_TYPES = {LabelFormat.PDF: "application/pdf", LabelFormat.PNG: "image/png", LabelFormat.ZPL: "application/zpl"}
MAX_WAYBILLS_PER_REQUEST = 500
MAX_PULL = 50

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer pwt_...` (terminal) or `pwb_...` (merchant)")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Merchant API key")


class PrintRequestIn(BaseModel):
    waybill_nos: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        min_length=1, max_length=MAX_WAYBILLS_PER_REQUEST
    )
    format: LabelFormat = LabelFormat.PDF
    size: LabelSize = LabelSize.STANDARD_100X180
    dpi: Literal[203, 300] = 203


class PrintJobOut(BaseModel):
    job_id: str
    waybill_no: str
    status: str
    format: LabelFormat
    size: LabelSize
    dpi: int
    created_at: datetime
    pulled_at: datetime | None
    printed_at: datetime | None
    reprints: int

    @classmethod
    def of(cls, job: PrintJob) -> PrintJobOut:
        return cls(
            job_id=job.job_id,
            waybill_no=job.waybill_no,
            status=job.status.value,
            format=job.settings.format,
            size=job.settings.size,
            dpi=job.settings.dpi,
            created_at=job.created_at,
            pulled_at=job.pulled_at,
            printed_at=job.printed_at,
            reprints=job.reprints,
        )


class PrintJobsOut(BaseModel):
    jobs: list[PrintJobOut]


class LabelOut(BaseModel):
    """One rendered, masked label: the only thing a terminal ever receives about an order."""

    job_id: str
    waybill_no: str
    format: LabelFormat
    size: LabelSize
    dpi: int
    media_type: str
    label_base64: str

    @classmethod
    def of(cls, label: PrintedLabel) -> LabelOut:
        job = label.job
        return cls(
            job_id=job.job_id,
            waybill_no=job.waybill_no,
            format=job.settings.format,
            size=job.settings.size,
            dpi=job.settings.dpi,
            media_type=MEDIA_TYPES[job.settings.format],
            label_base64=base64.b64encode(label.body).decode("ascii"),
        )


class LabelsOut(BaseModel):
    labels: list[LabelOut]


@contextmanager
def _print_problems() -> Iterator[None]:
    try:
        yield
    except NotAllowed:
        raise Problem(403, "Forbidden", "The access policy does not allow this.") from None
    except ReprintLimitReached as error:
        raise Problem(429, "Reprint limit reached", str(error)) from None
    except AuditUnavailable as error:
        raise Problem(503, "Audit log unavailable", str(error), headers={"Retry-After": "30"}) from None


def print_router(
    rt: Runtime,
    service: PrintService,
    authorize: Authorize,
    terminal: SubjectDependency,
    merchant: SubjectDependency,
) -> APIRouter:
    """The /print-jobs routes; `terminal` and `merchant` resolve the caller from its credentials."""
    router = APIRouter(tags=["printing"])
    as_terminal = Depends(terminal)
    as_merchant = Depends(merchant)

    def decide(subject: Subject, action: str, resource: Resource) -> Decision:
        return authorize(subject, action, resource, Context(now=rt.clock()))

    def decide_on_job(subject: Subject, action: str, job_id: str) -> Decision:
        _, waybill = service.find(subject, job_id)
        return decide(subject, action, waybill_resource(waybill))

    @router.post("/print-jobs", response_model=PrintJobsOut, status_code=status.HTTP_201_CREATED)
    def queue(request: PrintRequestIn, subject: Subject = as_merchant) -> PrintJobsOut:
        """Queue the merchant's waybills for its print terminals; a waybill already queued keeps its job."""
        settings = PrintSettings(request.format, request.size, request.dpi)
        with _print_problems():
            tenant = Resource(kind="tenant", id=subject.tenant_id, tenant_id=subject.tenant_id)
            jobs = service.queue(subject, decide(subject, QUEUE, tenant), request.waybill_nos, settings)
        return PrintJobsOut(jobs=[PrintJobOut.of(job) for job in jobs])

    @router.get("/print-jobs/next", response_model=LabelsOut)
    def pull(
        subject: Subject = as_terminal,
        limit: Annotated[int, Query(ge=1, le=MAX_PULL)] = 10,
    ) -> LabelsOut:
        """Take the merchant's oldest pending jobs: rendered masked labels, audited before they are sent."""
        with _print_problems():
            labels = service.pull(subject, lambda waybill: decide(subject, PULL, waybill_resource(waybill)), limit)
            if not labels:
                # An empty poll is an access attempt too; terminals poll often, so it is counted
                # per minute (each label handed over has an entry of its own).
                empty = NoiseKind(PULL, Outcome.ALLOWED, "print:empty-poll", subject.tenant_id, subject.actor,
                                  subject.role.value)  # fmt: skip
                rt.noise.count(empty, rt.clock())
        return LabelsOut(labels=[LabelOut.of(label) for label in labels])

    @router.post("/print-jobs/{job_id}/printed", response_model=PrintJobOut)
    def report_printed(job_id: str, subject: Subject = as_terminal) -> PrintJobOut:
        """Report the label printed; the waybill moves from created to printed."""
        with _print_problems():
            return PrintJobOut.of(
                service.report_printed(subject, decide_on_job(subject, REPORT_PRINTED, job_id), job_id)
            )

    @router.post(
        "/print-jobs/{job_id}/reprint",
        response_model=LabelOut,
        responses={429: {"description": "The waybill's reprint limit is reached"}},
    )
    def reprint(job_id: str, subject: Subject = as_terminal) -> LabelOut:
        """The job's label again; counted per waybill and refused beyond the limit."""
        with _print_problems():
            return LabelOut.of(service.reprint(subject, decide_on_job(subject, REPRINT, job_id), job_id))

    return router
