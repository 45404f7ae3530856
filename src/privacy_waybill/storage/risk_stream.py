"""The risk engine scaled out: audit entries through a Redis stream to a consumer group.

API nodes publish each committed audit entry (ids and keyed hashes only, as in the log) to the
stream `pwb:audit`; one `pwb risk consume` worker per consumer group reads them in order,
runs the engine and acknowledges. An entry is acknowledged only after the engine and the
responder handled it, so a crashed worker's pending entries are read again by its successor.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

import redis

from privacy_waybill.audit.model import AuditEvent, Outcome

STREAM = "pwb:audit"
GROUP = "risk"
# Redis keeps roughly this many entries; the audit log in the database is the record.
STREAM_MAX_LENGTH = 1_000_000


def encode_event(seq: int, event: AuditEvent) -> dict[str, str]:
    return {
        "seq": str(seq),
        "event": json.dumps(
            {
                "at": event.at.isoformat(),
                "actor": event.actor,
                "role": event.role,
                "action": event.action,
                "outcome": event.outcome.value,
                "rule": event.rule,
                "tenant_id": event.tenant_id,
                "waybill_id": event.waybill_id,
                "purpose": event.purpose,
                "fields": list(event.fields),
                "device": event.device,
                "detail": dict(event.detail),
            },
            ensure_ascii=False,
        ),
    }


def decode_event(fields: dict[str, str]) -> tuple[int, AuditEvent]:
    data = json.loads(fields["event"])
    return int(fields["seq"]), AuditEvent(
        at=datetime.fromisoformat(data["at"]),
        actor=data["actor"],
        role=data["role"],
        action=data["action"],
        outcome=Outcome(data["outcome"]),
        rule=data["rule"],
        tenant_id=data["tenant_id"],
        waybill_id=data["waybill_id"],
        purpose=data["purpose"],
        fields=tuple(data["fields"]),
        device=data["device"],
        detail=data["detail"],
    )


class RedisAuditPublisher:
    """An audit-log observer that appends each committed entry to the stream."""

    def __init__(self, client: redis.Redis, stream: str = STREAM) -> None:
        self._client = client
        self._stream = stream

    @classmethod
    def connect(cls, url: str, stream: str = STREAM) -> RedisAuditPublisher:
        return cls(redis.Redis.from_url(url, decode_responses=True), stream)

    def __call__(self, entries: Sequence[tuple[int, AuditEvent]]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for seq, event in entries:
            pipe.xadd(self._stream, cast(Any, encode_event(seq, event)), maxlen=STREAM_MAX_LENGTH, approximate=True)
        pipe.execute()


class RedisRiskConsumer:
    """Reads the stream as one member of a consumer group and hands each entry to `handle`."""

    def __init__(
        self,
        client: redis.Redis,
        handle: Callable[[int, AuditEvent], None],
        consumer: str,
        stream: str = STREAM,
        group: str = GROUP,
    ) -> None:
        self._client = client
        self._handle = handle
        self._consumer = consumer
        self._stream = stream
        self._group = group
        try:
            client.xgroup_create(stream, group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def run_once(self, block_ms: int = 1000, count: int = 500) -> int:
        """Handle this consumer's unacknowledged entries first, then new ones; returns how many."""
        handled = 0
        for start in ("0", ">"):
            response = self._client.xreadgroup(
                self._group,
                self._consumer,
                {self._stream: start},
                count=count,
                block=None if start == "0" else block_ms,
            )
            for _, messages in cast(list[tuple[str, list[tuple[str, dict[str, str]]]]], response or []):
                for message_id, fields in messages:
                    if not fields:
                        continue
                    self._handle(*decode_event(fields))
                    self._client.xack(self._stream, self._group, message_id)
                    handled += 1
        return handled

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.run_once()

    def first_seq_to_deliver(self) -> int | None:
        """The audit sequence number of the first entry this consumer will still be handed
        (its oldest read but unacknowledged one, else the first after the group's last read),
        or None when the stream holds nothing more. Replaying the log up to there and taking
        the rest from the stream sees every entry once."""
        mine = cast(
            list[dict[str, Any]],
            self._client.xpending_range(self._stream, self._group, "-", "+", 1, consumername=self._consumer),
        )
        if mine:
            start = str(mine[0]["message_id"])
        else:
            groups = cast(list[dict[str, Any]], self._client.xinfo_groups(self._stream))
            last = next(g["last-delivered-id"] for g in groups if g["name"] == self._group)
            start = f"({last}"
        first = cast(list[tuple[str, dict[str, str]]], self._client.xrange(self._stream, min=start, count=1))
        return int(first[0][1]["seq"]) if first else None
