"""The keyed hash chain: each audit entry's HMAC-SHA256 covers its sequence number, its
predecessor's hash and a canonical encoding of its content, so changing, removing or moving
any entry breaks every hash after it, and nobody without the audit chain key (kept in the key
store, never in the database) can recompute the chain after a deletion or an edit.

Each entry records the version of the audit key that chained it (`key_version`): the key is
chosen by that column, so after a rotation entries before and after it all verify, and a
column changed to another version no longer matches its hash.

Entries are kept in their stored text form (`StoredEntry`) and hashed exactly as stored: the
verifier never re-normalises what it reads, so even a change that would parse back to the
same value (extra whitespace in `detail`) is caught.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import NamedTuple

from privacy_waybill.audit.model import AuditEvent, Outcome

HASH_BYTES = 32
GENESIS_HASH = bytes(HASH_BYTES)
ENCODING_TAG = "pwb-audit/1"
COLUMN_SEPARATOR = "\x1f"
NULL_MARK = "\x00"
SQLITE_TIME_SHAPE = "2026-11-23 08:30:00.123456"
UNREADABLE_TIME_MARK = "unreadable:"


def canonical_time(value: datetime | str) -> str:
    """RFC 3339 UTC with microseconds (``2026-11-23T08:30:00.123456Z``).

    Text comes from SQLite, which keeps TIMESTAMP as naive UTC text in one fixed layout. Text
    in any other layout was not written by the log: it is marked so that it can never equal a
    canonical time, and the verifier reports the entry as changed (even when the text would
    parse to the same instant: the stored bytes changed).
    """
    if isinstance(value, str):
        if len(value) == len(SQLITE_TIME_SHAPE) and value[10] == " ":
            # Mapped position by position, without parsing: this runs for every row verified,
            # and a changed text still maps to a different canonical text.
            return f"{value[:10]}T{value[11:]}Z"
        return UNREADABLE_TIME_MARK + value
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def canonical_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class StoredEntry(NamedTuple):
    """One audit entry as the log stores it: content columns in canonical text, plus links.

    A named tuple rather than a frozen dataclass: the verifier builds one per stored row, and
    a frozen dataclass's field-by-field `__init__` cost a third of the verification time.
    """

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
    key_version: int = 1

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


ContentColumns = tuple[str | None, ...]


def content_columns(event: AuditEvent) -> ContentColumns:
    """The event as the text columns that are stored and hashed, in StoredEntry's order."""
    return (
        canonical_time(event.at),
        event.actor,
        str(event.role),
        event.action,
        str(event.outcome),
        event.rule,
        event.tenant_id,
        event.waybill_id,
        event.purpose,
        canonical_json(list(event.fields)),
        event.device,
        canonical_json(dict(event.detail)),
    )


def encode_content(columns: ContentColumns) -> bytes | None:
    """Deterministic bytes of an entry's content, or None when the columns cannot be encoded.

    A version tag and the columns joined by the ASCII unit separator, NULL written as NUL.
    This is one-to-one for columns that contain neither character, and only such columns are
    encodable: both counts below would be off otherwise. Valid entries never contain them (ids
    and names are printable; JSON escapes control characters in `fields` and `detail`). It costs
    a quarter of a JSON encoding, and the verifier pays it for every entry.
    """
    text = COLUMN_SEPARATOR.join([ENCODING_TAG, *[NULL_MARK if c is None else c for c in columns]])
    if text.count(COLUMN_SEPARATOR) != len(columns) or text.count(NULL_MARK) != columns.count(None):
        return None
    return text.encode()


def keyed_hash(chain_key: bytes, seq: int, prev_hash: bytes, content: bytes) -> bytes:
    return hmac.digest(chain_key, seq.to_bytes(8, "big") + prev_hash + content, "sha256")


def stored_entry_hash(entry: StoredEntry, chain_key: bytes, seq: int | None = None) -> bytes | None:
    """The hash `entry` should carry, recomputed from its stored columns (at `seq`, by default its own).

    None when the stored columns are not encodable: no entry ever written has such columns,
    so that entry was changed after it was written.
    """
    content = encode_content(entry[1:13])
    if content is None:
        return None
    return keyed_hash(chain_key, entry.seq if seq is None else seq, entry.prev_hash, content)


def unkeyed_entry_hash(entry: StoredEntry) -> bytes | None:
    """The plain SHA-256 a forger without the chain key would compute (to name a re-chaining)."""
    content = encode_content(entry[1:13])
    if content is None:
        return None
    return hashlib.sha256(entry.seq.to_bytes(8, "big") + entry.prev_hash + content).digest()


def chain_entry(seq: int, prev_hash: bytes, event: AuditEvent, chain_key: bytes, key_version: int = 1) -> StoredEntry:
    """The entry that appends `event` at `seq` after an entry hashed `prev_hash`, chained under `key_version`."""
    columns = content_columns(event)
    content = encode_content(columns)
    if content is None:
        raise ValueError("audit event text must not contain the control characters U+0000 or U+001F")
    return StoredEntry._make((seq, *columns, prev_hash, keyed_hash(chain_key, seq, prev_hash, content), key_version))
