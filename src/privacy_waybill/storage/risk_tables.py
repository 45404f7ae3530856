"""Tables of the risk domain: account restrictions, canary waybills, leak-trace cases.

Ids, signal names and counts only; a trace case keeps its report (accessor ids, counts and
statistics), never the leaked list itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from privacy_waybill.storage.models import TIMESTAMP, Base


class AccountRestriction(Base):
    """An account the risk engine or an auditor restricted: `freeze` or `step_up`.

    Lifting deletes the row; the audit log keeps the history of both."""

    __tablename__ = "account_restrictions"

    actor: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    since: Mapped[datetime] = mapped_column(TIMESTAMP)
    signal: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    set_by: Mapped[str] = mapped_column(String(100))


class CanaryWaybill(Base):
    """A planted waybill whose every use raises an alert naming where it was planted."""

    __tablename__ = "canary_waybills"

    waybill_id: Mapped[str] = mapped_column(ForeignKey("waybills.id"), primary_key=True)
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(100))
    planted_on: Mapped[datetime] = mapped_column(TIMESTAMP)
    planted_by: Mapped[str] = mapped_column(String(100))


class TraceCase(Base):
    __tablename__ = "trace_cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    created_by: Mapped[str] = mapped_column(String(100))
    leak_rows: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
