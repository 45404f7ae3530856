"""Terminals, print jobs and the labels handed to terminals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.labels.model import LabelFormat, LabelSize


class JobStatus(StrEnum):
    PENDING = "pending"
    PULLED = "pulled"
    PRINTED = "printed"


@dataclass(frozen=True, slots=True)
class PrintSettings:
    format: LabelFormat
    size: LabelSize
    dpi: int


@dataclass(frozen=True, slots=True)
class Terminal:
    terminal_id: str
    tenant_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewTerminal:
    """A freshly registered terminal: its token is shown once and only its SHA-256 is kept."""

    terminal_id: str
    token_hash: bytes
    token: str

    def __repr__(self) -> str:  # the token is a credential: keep it out of logs and tracebacks
        return f"NewTerminal(terminal_id={self.terminal_id!r})"


@dataclass(frozen=True, slots=True)
class PrintJob:
    job_id: str
    tenant_id: str
    waybill_id: str
    waybill_no: str
    settings: PrintSettings
    status: JobStatus
    requested_by: str
    created_at: datetime
    pulled_by: str | None = None
    pulled_at: datetime | None = None
    printed_at: datetime | None = None
    reprints: int = 0


@dataclass(frozen=True, slots=True)
class PrintedLabel:
    """What a terminal receives: the rendered masked label of one job."""

    job: PrintJob
    body: bytes


class ReprintLimitReached(PrivacyWaybillError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"this waybill was already reprinted the maximum of {limit} times")
        self.limit = limit
