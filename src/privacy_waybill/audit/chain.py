"""The hash chain: each audit entry's hash covers its sequence number, its predecessor's hash
and a canonical encoding of its content, so changing, removing or moving any entry breaks
every hash after it.

Entries are kept in their stored text form (`StoredEntry`) and hashed exactly as stored: the
verifier never re-normalises what it reads, so even a change that would parse back to the
same value (extra whitespace in `detail`) is caught.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from privacy_waybill.audit.model import AuditEvent, Outcome

HASH_BYTES = 32
GENESIS_HASH = bytes(HASH_BYTES)
ENCODING_TAG = "pwb-audit/1"


def canonical_time(value: datetime | str) -> str:
    """UTC ISO 8601 with microseconds; a stored text that is not a time is passed on as-is.

    Passing unreadable text through (instead of raising) lets the verifier report the entry
    as changed rather than stop.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        value = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    elif value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One audit entry as the log stores it: content columns in canonical text, plus links."""

    seq: int
    at: str
    actor: str
    role: str
    action: str
    outcome: str
    rule: str
    tenant_id: str | None
    waybill_id: str | None
    purpose: str | None
    fields: str
    device: str | None
    detail: str
    prev_hash: bytes
    entry_hash: bytes

    def event(self) -> AuditEvent:
        """The recorded event, decoded for readers (auditors' queries, the API)."""
        return AuditEvent(
            at=datetime.fromisoformat(self.at),
            actor=self.actor,
            role=self.role,
            action=self.action,
            outcome=Outcome(self.outcome),
            rule=self.rule,
            tenant_id=self.tenant_id,
            waybill_id=self.waybill_id,
            purpose=self.purpose,
            fields=tuple(json.loads(self.fields)),
            device=self.device,
            detail=json.loads(self.detail),
        )


def content_columns(event: AuditEvent) -> dict[str, str | None]:
    """The event as the text columns that are stored and hashed."""
    return {
        "at": canonical_time(event.at),
        "actor": event.actor,
        "role": str(event.role),
        "action": event.action,
        "outcome": str(event.outcome),
        "rule": event.rule,
        "tenant_id": event.tenant_id,
        "waybill_id": event.waybill_id,
        "purpose": event.purpose,
        "fields": canonical_json(list(event.fields)),
        "device": event.device,
        "detail": canonical_json(dict(event.detail)),
    }


def encode_content(
    at: str,
    actor: str,
    role: str,
    action: str,
    outcome: str,
    rule: str,
    tenant_id: str | None,
    waybill_id: str | None,
    purpose: str | None,
    fields: str,
    device: str | None,
    detail: str,
) -> bytes:
    """Deterministic bytes of an entry's content: a JSON array in a fixed order.

    An array (not an object) keeps the encoder on its fast path; the tag versions the layout.
    """
    return json.dumps(
        [ENCODING_TAG, at, actor, role, action, outcome, rule, tenant_id, waybill_id, purpose, fields, device, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def entry_hash(seq: int, prev_hash: bytes, content: bytes) -> bytes:
    return hashlib.sha256(seq.to_bytes(8, "big") + prev_hash + content).digest()


def stored_entry_hash(entry: StoredEntry) -> bytes:
    """The hash `entry` should carry, recomputed from its stored columns."""
    content = encode_content(
        entry.at,
        entry.actor,
        entry.role,
        entry.action,
        entry.outcome,
        entry.rule,
        entry.tenant_id,
        entry.waybill_id,
        entry.purpose,
        entry.fields,
        entry.device,
        entry.detail,
    )
    return entry_hash(entry.seq, entry.prev_hash, content)


def chain_entry(seq: int, prev_hash: bytes, event: AuditEvent) -> StoredEntry:
    """The entry that appends `event` at `seq` after an entry hashed `prev_hash`."""
    columns = content_columns(event)
    digest = entry_hash(seq, prev_hash, encode_content(**columns))  # type: ignore[arg-type]
    return StoredEntry(seq=seq, prev_hash=prev_hash, entry_hash=digest, **columns)  # type: ignore[arg-type]
