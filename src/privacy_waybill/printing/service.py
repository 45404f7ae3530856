"""The print queue: merchants queue waybills, their terminals pull masked labels and report.

Each act is written to the audit log before its effect is visible, and refused when the log
cannot be written: a terminal never holds label bytes that the log does not know about.
Whether a subject may act at all is the policy's call (a `Decision` is passed in); this
service only keeps every subject inside its own merchant's jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from privacy_waybill import labels
from privacy_waybill.access.model import Decision, Subject
from privacy_waybill.audit.model import AuditEvent, AuditSink, Outcome
from privacy_waybill.errors import Conflict, NotFound, PrivacyWaybillError
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.labels.model import LabelContent
from privacy_waybill.printing.model import (
    JobStatus,
    PrintedLabel,
    PrintJob,
    PrintSettings,
    ReprintLimitReached,
)

DEFAULT_REPRINT_LIMIT = 3
REPRINT_LIMIT_RULE = "printing.reprint_limit"


class NotAllowed(PrivacyWaybillError):
    """The policy's decision for this act was a denial."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"not allowed by the access policy (rule {rule})")
        self.rule = rule


class PrintStorePort(Protocol):
    def queue(
        self, tenant_id: str, waybill_nos: Sequence[str], settings: PrintSettings, requested_by: str, now: datetime
    ) -> list[PrintJob]: ...

    def claim_pending(
        self, tenant_id: str, pulled_by: str, limit: int, now: datetime
    ) -> list[tuple[PrintJob, IssuedWaybill]]: ...

    def release(self, job_ids: Sequence[str]) -> None: ...

    def job(self, tenant_id: str, job_id: str) -> tuple[PrintJob, IssuedWaybill] | None: ...

    def mark_printed(self, job_id: str, actor: str, now: datetime) -> PrintJob: ...

    def take_reprint(self, job_id: str, limit: int) -> int | None: ...

    def give_back_reprint(self, job_id: str) -> None: ...

    def reprint_count(self, waybill_id: str) -> int: ...


class PrintService:
    def __init__(
        self,
        store: PrintStorePort,
        label_content: Callable[[IssuedWaybill], LabelContent],
        audit: AuditSink,
        clock: Callable[[], datetime],
        reprint_limit: int = DEFAULT_REPRINT_LIMIT,
    ) -> None:
        if reprint_limit < 0:
            raise ValueError("reprint_limit must not be negative")
        self.store = store
        self.label_content = label_content
        self.audit = audit
        self.clock = clock
        self.reprint_limit = reprint_limit

    def queue(
        self, subject: Subject, decision: Decision, waybill_nos: Sequence[str], settings: PrintSettings
    ) -> list[PrintJob]:
        """One job per waybill of the subject's merchant; a waybill already queued keeps its job.

        Raises FieldError (``waybill_nos.<i>``) when a number is not a live waybill of the merchant.
        """
        _require(decision)
        numbers = [number.strip().upper() for number in waybill_nos]
        return self.store.queue(_tenant_of(subject), numbers, settings, subject.actor, self.clock())

    def pull(
        self, subject: Subject, decide: Callable[[IssuedWaybill], Decision], limit: int
    ) -> list[PrintedLabel]:
        """Claim up to `limit` pending jobs of the subject's merchant and hand over their labels.

        Each label is authorised against its real waybill (status included) by `decide`; the
        store claims only jobs whose waybill may still be printed (lifecycle rules).
        """
        tenant_id = _tenant_of(subject)
        claimed = self.store.claim_pending(tenant_id, subject.actor, limit, self.clock())
        try:
            decided = [(job, waybill, decide(waybill)) for job, waybill in claimed]
            for _, _, decision in decided:
                _require(decision)
            labels = [(PrintedLabel(job, self._render(job, waybill)), d) for job, waybill, d in decided]
            for label, decision in labels:
                self._record(subject, decision, "print_job.pull", label.job, _disclosed(decision))
        except Exception:
            # Nothing leaves without its audit entry; the jobs go back to the queue.
            self.store.release([job.job_id for job, _ in claimed])
            raise
        return [label for label, _ in labels]

    def report_printed(self, subject: Subject, decision: Decision, job_id: str) -> PrintJob:
        """Record that the job's label came out of the printer; the waybill becomes `printed`."""
        _require(decision)
        job, _ = self.find(subject, job_id)
        if job.status is JobStatus.PENDING:
            raise Conflict("the print job has not been pulled yet")
        self._record(subject, decision, "print_job.printed", job, ())
        return self.store.mark_printed(job.job_id, subject.actor, self.clock())

    def reprint(self, subject: Subject, decision: Decision, job_id: str) -> PrintedLabel:
        """The job's label again, counted against the per-waybill reprint limit."""
        _require(decision)
        job, waybill = self.find(subject, job_id)
        if job.status is JobStatus.PENDING:
            raise Conflict("the print job has not been pulled yet; pull it instead of reprinting")
        count = self.store.take_reprint(job.job_id, self.reprint_limit)
        limit = {"limit": str(self.reprint_limit)}
        if count is None:
            self.audit.record(
                self._event(subject, "print_job.reprint", job, Outcome.DENIED, REPRINT_LIMIT_RULE, (), limit)
            )
            raise ReprintLimitReached(self.reprint_limit)
        try:
            body = self._render(job, waybill)
            detail = {"reprint": str(count), **limit}
            self._record(subject, decision, "print_job.reprint", job, _disclosed(decision), detail)
        except Exception:
            self.store.give_back_reprint(job.job_id)
            raise
        return PrintedLabel(job, body)

    def reprint_count(self, waybill_id: str) -> int:
        """How often the waybill's label was reprinted (a signal for the risk engine)."""
        return self.store.reprint_count(waybill_id)

    def find(self, subject: Subject, job_id: str) -> tuple[PrintJob, IssuedWaybill]:
        """The job and its waybill, if they belong to the subject's merchant (else NotFound)."""
        found = self.store.job(_tenant_of(subject), job_id)
        if found is None:
            raise NotFound("no such print job for this merchant")
        return found

    def _render(self, job: PrintJob, waybill: IssuedWaybill) -> bytes:
        settings = job.settings
        # Through the package: its renderers (reportlab, Pillow) load on the first label, not at start-up.
        return labels.render_label(self.label_content(waybill), settings.format, settings.size, settings.dpi)

    def _record(
        self,
        subject: Subject,
        decision: Decision,
        action: str,
        job: PrintJob,
        fields: tuple[str, ...],
        detail: dict[str, str] | None = None,
    ) -> None:
        self.audit.record(self._event(subject, action, job, Outcome.ALLOWED, decision.rule, fields, detail or {}))

    def _event(
        self,
        subject: Subject,
        action: str,
        job: PrintJob,
        outcome: Outcome,
        rule: str,
        fields: tuple[str, ...],
        detail: dict[str, str],
    ) -> AuditEvent:
        return AuditEvent(
            at=self.clock(),
            actor=subject.actor,
            role=subject.role.value,
            action=action,
            outcome=outcome,
            rule=rule,
            tenant_id=job.tenant_id,
            waybill_id=job.waybill_id,
            fields=fields,
            device=subject.device,
            detail={"job": job.job_id, "format": job.settings.format.value, **detail},
        )


def _require(decision: Decision) -> None:
    if not decision.allowed:
        raise NotAllowed(decision.rule)


def _tenant_of(subject: Subject) -> str:
    # A subject bound to no merchant has no print queue; saying "not found" reveals nothing.
    if subject.tenant_id is None:
        raise NotFound("no print jobs are visible to this caller")
    return subject.tenant_id


def _disclosed(decision: Decision) -> tuple[str, ...]:
    """The personal fields a label shows to this caller, in their policy view (e.g. `label`)."""
    return tuple(sorted(field for field, view in decision.fields.items() if view != "none"))
