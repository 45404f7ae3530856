"""The complete schema: every table module, imported so Base.metadata knows all tables.

Alembic's environment and the schema tests use `metadata` from here.
"""

from __future__ import annotations

from privacy_waybill.storage import (  # noqa: F401  (imported for their tables)
    access_tables,
    audit_tables,
    delivery_tables,
    identity_tables,
    notification_tables,
    printing_tables,
    risk_tables,
    station_tables,
    telephony_tables,
    ticket_tables,
)
from privacy_waybill.storage.models import Base

metadata = Base.metadata
