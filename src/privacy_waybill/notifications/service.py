"""Sending: render, write to the outbox, hand to the provider, retry with backoff.

The outbox row is written before the provider is called (a transactional outbox), so a crash
or an outage loses no message and an idempotency key sends each message once: a second send
with the same key returns the first message untouched. Delivery claims a row with a
conditional update, so two workers never hand the same message over at once.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from privacy_waybill.errors import Conflict, NotFound
from privacy_waybill.notifications.model import (
    Channel,
    DeliveryState,
    NotificationProvider,
    OutboxMessage,
    ProviderRejected,
    ProviderUnavailable,
    Rendered,
    StoredMessage,
)
from privacy_waybill.notifications.retry import DEFAULT_RETRY, RetryPolicy
from privacy_waybill.notifications.templates import Templates
from privacy_waybill.vault.aead import BrokenSeal, frame
from privacy_waybill.vault.keyring import KeySource, VersionedSeal

log = logging.getLogger("privacy_waybill.notifications")


class OutboxPort(Protocol):
    def add(self, message: StoredMessage) -> bool:
        """Insert; False when the idempotency key is already taken (nothing written)."""
        ...

    def by_key(self, idempotency_key: str) -> StoredMessage | None: ...
    def get(self, message_id: str) -> StoredMessage | None: ...
    def claim_due(self, now: datetime, until: datetime, limit: int) -> list[StoredMessage]: ...
    def claim(self, message_id: str, now: datetime, until: datetime) -> bool: ...
    def mark_sent(self, message_id: str, provider_message_id: str, now: datetime, keep_body: bool) -> None: ...
    def mark_retry(self, message_id: str, attempts: int, next_attempt_at: datetime, error: str) -> None: ...
    def mark_failed(self, message_id: str, attempts: int, error: str) -> None: ...
    def recent(self, limit: int, to_index: bytes | None, template: str | None) -> list[StoredMessage]: ...


def address_hint(address: str) -> str:
    """What an operator may see of an address: its last four characters (a phone's last 4)."""
    return address[-4:]


def mask_waybill_no(waybill_no: str) -> str:
    """A waybill number for a message: carrier prefix and last four digits (PW*********2345)."""
    return waybill_no[:2] + "*" * (len(waybill_no) - 6) + waybill_no[-4:]


class OutboxSeals:
    """Seals bodies and addresses under the outbox key, each bound to its message id and naming its key version."""

    def __init__(self, keys: KeySource) -> None:
        self._seal = VersionedSeal(keys)

    def seal_body(self, message_id: str, body: Rendered) -> bytes:
        payload = json.dumps({"text": body.text, "data": dict(body.data)}, ensure_ascii=False).encode()
        return self._seal.seal(payload, frame(b"pwb outbox body", message_id.encode()))

    def open_body(self, message_id: str, sealed: bytes) -> Rendered:
        payload = json.loads(self._seal.open(sealed, frame(b"pwb outbox body", message_id.encode())))
        return Rendered(text=payload["text"], data=payload["data"])

    def seal_address(self, message_id: str, address: str) -> bytes:
        return self._seal.seal(address.encode(), frame(b"pwb outbox address", message_id.encode()))

    def open_address(self, message_id: str, sealed: bytes) -> str:
        return self._seal.open(sealed, frame(b"pwb outbox address", message_id.encode())).decode()

    def reseal_body(self, message_id: str, sealed: bytes) -> bytes | None:
        """The body sealed under the current key version; None when it already is."""
        return self._seal.reseal(sealed, frame(b"pwb outbox body", message_id.encode()))

    def reseal_address(self, message_id: str, sealed: bytes) -> bytes | None:
        return self._seal.reseal(sealed, frame(b"pwb outbox address", message_id.encode()))


class NotificationService:
    def __init__(
        self,
        *,
        store: OutboxPort,
        provider: NotificationProvider,
        templates: Templates,
        seals: OutboxSeals,
        address_index: Callable[[Channel, str], bytes],
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._store = store
        self.provider = provider
        self.templates = templates
        self._seals = seals
        self._address_index = address_index
        self._retry = retry

    def index_of(self, channel: Channel, address: str) -> bytes:
        """The keyed hash the outbox files an address under (to list one recipient's messages)."""
        return self._address_index(channel, address)

    def send(
        self, template: str, to: str, params: Mapping[str, str], idempotency_key: str, now: datetime
    ) -> OutboxMessage:
        """Queue one message and try to deliver it at once.

        `to` is an E.164 phone for SMS templates, an app registration id for push ones. A
        failed first attempt leaves the message pending for `deliver_due`; the same key
        again returns the message already queued and sends nothing.
        """
        existing = self._store.by_key(idempotency_key)
        if existing is not None:
            return self._view(existing)
        spec = self.templates.get(template)
        body = self.templates.render(template, params)
        message_id = f"m_{secrets.token_hex(8)}"
        stored = StoredMessage(
            id=message_id,
            idempotency_key=idempotency_key,
            channel=spec.channel,
            template=template,
            to_index=self._address_index(spec.channel, to),
            to_hint=address_hint(to),
            body_sealed=self._seals.seal_body(message_id, body),
            address_sealed=self._seals.seal_address(message_id, to),
            state=DeliveryState.PENDING,
            attempts=0,
            provider=self.provider.name,
            provider_message_id=None,
            last_error=None,
            created_at=now,
            # Claimed by this call for one lease: a concurrent deliver_due leaves it alone.
            next_attempt_at=now + self._retry.lease,
            sent_at=None,
            expires_at=now + spec.ttl if spec.ttl else None,
        )
        if not self._store.add(stored):
            raced = self._store.by_key(idempotency_key)
            if raced is None:
                raise Conflict("a message with this idempotency key was being written; send again")
            return self._view(raced)
        log.info("message %s queued (template %s)", message_id, template)
        self._attempt(stored, to, body, now)
        return self.message(message_id)

    def deliver_due(self, now: datetime, limit: int = 100) -> int:
        """Retry pending messages whose backoff has passed; returns how many were sent."""
        sent = 0
        for stored in self._store.claim_due(now, now + self._retry.lease, limit):
            if stored.address_sealed is None or stored.body_sealed is None:
                self._store.mark_failed(stored.id, stored.attempts, "nothing left to deliver")
                continue
            if stored.expires_at is not None and stored.expires_at <= now:
                self._store.mark_failed(stored.id, stored.attempts, "expired before delivery")
                log.info("message %s expired before delivery", stored.id)
                continue
            address = self._seals.open_address(stored.id, stored.address_sealed)
            body = self._seals.open_body(stored.id, stored.body_sealed)
            sent += self._attempt(stored, address, body, now)
        return sent

    def _attempt(self, stored: StoredMessage, address: str, body: Rendered, now: datetime) -> bool:
        attempts = stored.attempts + 1
        try:
            provider_id = self.provider.deliver(stored.channel, address, body, stored.idempotency_key)
        except ProviderRejected as error:
            self._store.mark_failed(stored.id, attempts, f"rejected: {error}")
            log.warning("message %s rejected by %s", stored.id, self.provider.name)
            return False
        except ProviderUnavailable as error:
            retry_at = self._retry.next_attempt(attempts, now, stored.expires_at)
            if retry_at is None:
                self._store.mark_failed(stored.id, attempts, f"unavailable: {error}")
                log.warning("message %s failed after %d attempts", stored.id, attempts)
            else:
                self._store.mark_retry(stored.id, attempts, retry_at, f"unavailable: {error}")
                log.info("message %s: attempt %d failed, retry at %s", stored.id, attempts, retry_at.isoformat())
            return False
        self._store.mark_sent(stored.id, provider_id, now, keep_body=self.provider.keeps_copy)
        log.info("message %s sent via %s", stored.id, self.provider.name)
        return True

    def message(self, message_id: str) -> OutboxMessage:
        stored = self._store.get(message_id)
        if stored is None:
            raise NotFound("no such message")
        return self._view(stored)

    def recent(self, limit: int = 50, to: str | None = None, template: str | None = None) -> list[OutboxMessage]:
        """The newest messages first, optionally only those to one address or of one template."""
        channel = self.templates.get(template).channel if template else Channel.SMS
        to_index = self._address_index(channel, to) if to is not None else None
        return [self._view(m) for m in self._store.recent(limit, to_index, template)]

    def _view(self, stored: StoredMessage) -> OutboxMessage:
        body = None
        if stored.body_sealed is not None:
            try:
                body = self._seals.open_body(stored.id, stored.body_sealed)
            except BrokenSeal:
                log.warning("message %s: body does not unseal", stored.id)
        return OutboxMessage(
            id=stored.id,
            idempotency_key=stored.idempotency_key,
            channel=stored.channel,
            template=stored.template,
            to_index=stored.to_index,
            to_hint=stored.to_hint,
            body=body,
            state=stored.state,
            attempts=stored.attempts,
            provider=stored.provider,
            provider_message_id=stored.provider_message_id,
            last_error=stored.last_error,
            created_at=stored.created_at,
            next_attempt_at=stored.next_attempt_at,
            sent_at=stored.sent_at,
            expires_at=stored.expires_at,
        )
