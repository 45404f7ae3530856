"""Messages to phones and apps: what a message is, where it stands, and the provider port.

A message has a human text and a small machine-readable part (`data`), both rendered from a
template that names every value it may carry, so no message says more than its template allows.
Recipients are held only as a keyed hash and a 4-character hint; the address itself is sealed
for as long as delivery needs it and erased after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from privacy_waybill.errors import PrivacyWaybillError


class Channel(StrEnum):
    SMS = "sms"
    # App push: the address is the app's registration id on the push service.
    PUSH = "push"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    # No attempt left, the provider refused it for good, or it outlived its template's ttl.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A template filled in: the text a person reads and the JSON part an app reads."""

    text: str = field(repr=False)
    data: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message as the outbox holds it. `body` is None once a real provider has it."""

    id: str
    idempotency_key: str
    channel: Channel
    template: str
    to_index: bytes = field(repr=False)
    to_hint: str
    body: Rendered | None
    state: DeliveryState
    attempts: int
    provider: str
    provider_message_id: str | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    expires_at: datetime | None


class ProviderUnavailable(PrivacyWaybillError):
    """The provider could not take the message now (timeout, 5xx, throttled): try again later."""


class ProviderRejected(PrivacyWaybillError):
    """The provider refused the message for good (bad number, blocked content): do not retry."""


class NotificationProvider(Protocol):
    """An SMS gateway or push service.

    `keeps_copy` is True only for the simulator: its "handset" is the outbox itself, so the
    message body stays readable there for an operator; a real provider's copy is the
    recipient's, and the outbox erases its own once the provider has accepted it.
    """

    name: str
    keeps_copy: bool

    def deliver(self, channel: Channel, address: str, message: Rendered, idempotency_key: str) -> str:
        """Hand one message over; returns the provider's message id.

        Raises ProviderUnavailable (transient) or ProviderRejected (permanent). The
        idempotency key goes to the provider (Aliyun SMS `OutId`, push `request_id`), so a
        retry after a lost answer does not text the same person twice.
        """
        ...


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """An outbox row: the body and the address sealed (AES-GCM, bound to the message id)."""

    id: str
    idempotency_key: str
    channel: Channel
    template: str
    to_index: bytes = field(repr=False)
    to_hint: str
    body_sealed: bytes | None = field(repr=False)
    address_sealed: bytes | None = field(repr=False)
    state: DeliveryState
    attempts: int
    provider: str
    provider_message_id: str | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    expires_at: datetime | None
