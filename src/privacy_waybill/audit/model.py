"""What the audit log records about every access, and the port it is recorded through.

Entries hold ids, roles, actions, rules and keyed hashes only: the log proves who saw what
without itself becoming a copy of the data it protects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from privacy_waybill.errors import PrivacyWaybillError


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One access decision or disclosure.

    `actor` names the caller as `<kind>:<id>` (``user:u_12``, ``key:3f9a...``,
    ``terminal:t_7``, ``recipient:<blind index hex>``). `fields` lists the personal fields
    disclosed (empty when nothing was). `detail` holds non-personal extras such as a ticket
    reference or a counter; never a name, phone or address.
    """

    at: datetime
    actor: str
    role: str
    action: str
    outcome: Outcome
    rule: str
    tenant_id: str | None = None
    waybill_id: str | None = None
    purpose: str | None = None
    fields: tuple[str, ...] = ()
    device: str | None = None
    detail: Mapping[str, str] = field(default_factory=dict)


class AuditUnavailable(PrivacyWaybillError):
    """The audit log could not commit an entry; the access it describes must not happen."""

    def __init__(self) -> None:
        super().__init__("the audit log cannot be written; access to personal data is refused")


class AuditSink(Protocol):
    def record(self, event: AuditEvent) -> int:
        """Append `event` durably and return its sequence number.

        Returns only after the entry is committed; raises AuditUnavailable otherwise, so a
        caller that discloses data after `record` returns has its audit entry on disk.
        """
        ...
