"""The personal-data fields of a waybill, declared once.

The vault seals exactly these, storage keeps one ciphertext column for each, and no
other column, response schema or log line may carry their plaintext. Tests check the
storage model against this tuple, so adding a field here without a column fails loudly.
"""

from __future__ import annotations

SENSITIVE_FIELDS: tuple[str, ...] = (
    "recipient_name",
    "recipient_phone",
    "recipient_address",
    "sender_name",
    "sender_phone",
    "sender_address",
    "remark",
    "items",
    "id_number",
)
