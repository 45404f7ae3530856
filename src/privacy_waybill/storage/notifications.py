"""Repository of the notification outbox (the OutboxPort of notifications.service) and the
wiring of a NotificationService from a runtime's database and keys."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, RowMapping, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from privacy_waybill.notifications.model import Channel, DeliveryState, NotificationProvider, StoredMessage
from privacy_waybill.notifications.retry import DEFAULT_RETRY, RetryPolicy
from privacy_waybill.notifications.service import NotificationService, OutboxSeals
from privacy_waybill.notifications.templates import Templates, load_templates
from privacy_waybill.storage.notification_tables import NotificationOutbox
from privacy_waybill.vault.blind_index import BlindIndexer
from privacy_waybill.vault.platform_keys import PLATFORM_KEY_TENANT
from privacy_waybill.vault.purpose_keys import PurposeKeys

OUTBOX = cast(Table, NotificationOutbox.__table__)


def _message(row: RowMapping) -> StoredMessage:
    return StoredMessage(
        **{**row, "channel": Channel(row["channel"]), "state": DeliveryState(row["state"])}  # type: ignore[arg-type]
    )


def _values(message: StoredMessage) -> dict[str, Any]:
    values = {f.name: getattr(message, f.name) for f in fields(message)}
    values["channel"], values["state"] = message.channel.value, message.state.value
    return values


class OutboxStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, message: StoredMessage) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(OUTBOX).values(_values(message)))
        except IntegrityError:
            return False
        return True

    def _one(self, condition: Any) -> StoredMessage | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(OUTBOX).where(condition)).mappings().first()
        return _message(row) if row else None

    def by_key(self, idempotency_key: str) -> StoredMessage | None:
        return self._one(OUTBOX.c.idempotency_key == idempotency_key)

    def get(self, message_id: str) -> StoredMessage | None:
        return self._one(OUTBOX.c.id == message_id)

    def claim(self, message_id: str, now: datetime, until: datetime) -> bool:
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    update(OUTBOX)
                    .where(
                        OUTBOX.c.id == message_id,
                        OUTBOX.c.state == DeliveryState.PENDING.value,
                        OUTBOX.c.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=until)
                ).rowcount
                == 1
            )

    def claim_due(self, now: datetime, until: datetime, limit: int) -> list[StoredMessage]:
        with self.engine.connect() as conn:
            due = list(
                conn.execute(
                    select(OUTBOX.c.id)
                    .where(OUTBOX.c.state == DeliveryState.PENDING.value, OUTBOX.c.next_attempt_at <= now)
                    .order_by(OUTBOX.c.next_attempt_at)
                    .limit(limit)
                ).scalars()
            )
        # Each row is taken by a conditional update: of two workers, only one gets it.
        claimed = [self.get(message_id) for message_id in due if self.claim(message_id, now, until)]
        return [m for m in claimed if m is not None]

    def mark_sent(self, message_id: str, provider_message_id: str, now: datetime, keep_body: bool) -> None:
        values: dict[str, Any] = {
            "state": DeliveryState.SENT.value,
            "provider_message_id": provider_message_id,
            "sent_at": now,
            "next_attempt_at": None,
            "address_sealed": None,
            "attempts": OUTBOX.c.attempts + 1,
        }
        if not keep_body:
            values["body_sealed"] = None
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == message_id).values(**values))

    def mark_retry(self, message_id: str, attempts: int, next_attempt_at: datetime, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == message_id)
                .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=error[:200])
            )

    def mark_failed(self, message_id: str, attempts: int, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == message_id)
                .values(
                    state=DeliveryState.FAILED.value,
                    attempts=attempts,
                    next_attempt_at=None,
                    address_sealed=None,
                    last_error=error[:200],
                )
            )

    def recent(self, limit: int, to_index: bytes | None, template: str | None) -> list[StoredMessage]:
        stmt = select(OUTBOX).order_by(OUTBOX.c.created_at.desc(), OUTBOX.c.id).limit(limit)
        if to_index is not None:
            stmt = stmt.where(OUTBOX.c.to_index == to_index)
        if template is not None:
            stmt = stmt.where(OUTBOX.c.template == template)
        with self.engine.connect() as conn:
            return [_message(r) for r in conn.execute(stmt).mappings()]


def build_notifications(
    engine: Engine,
    keys: PurposeKeys,
    blind_index: BlindIndexer,
    provider: NotificationProvider,
    templates: Templates | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> NotificationService:
    """The notification service on `engine`; addresses are indexed per channel under the
    platform's key-store tenant, apart from every merchant's recipient index."""
    return NotificationService(
        store=OutboxStore(engine),
        provider=provider,
        templates=templates or load_templates(),
        seals=OutboxSeals(keys.ring("outbox")),
        address_index=lambda channel, address: blind_index.index(PLATFORM_KEY_TENANT, f"notify-{channel}", address),
        retry=retry,
    )
