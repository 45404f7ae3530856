"""Notifications: SMS and app push through a provider adapter, with a persistent outbox.

Templates are data (policies/notifications.yaml); recipients are stored only as keyed hashes
plus a 4-character hint; the embedded simulator keeps delivered messages readable in the
outbox for an operator (`pwb outbox`, /operator/outbox).
"""

from privacy_waybill.notifications.model import (
    Channel,
    DeliveryState,
    NotificationProvider,
    OutboxMessage,
    ProviderRejected,
    ProviderUnavailable,
    Rendered,
)
from privacy_waybill.notifications.retry import DEFAULT_RETRY, RetryPolicy
from privacy_waybill.notifications.service import NotificationService, OutboxSeals, address_hint, mask_waybill_no
from privacy_waybill.notifications.simulator import SimulatedProvider
from privacy_waybill.notifications.templates import Template, Templates, load_templates

__all__ = [
    "DEFAULT_RETRY",
    "Channel",
    "DeliveryState",
    "NotificationProvider",
    "NotificationService",
    "OutboxMessage",
    "OutboxSeals",
    "ProviderRejected",
    "ProviderUnavailable",
    "Rendered",
    "RetryPolicy",
    "SimulatedProvider",
    "Template",
    "Templates",
    "address_hint",
    "load_templates",
    "mask_waybill_no",
]
