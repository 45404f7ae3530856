"""Reading a leaked list: CSV with a header naming any of the columns below (English or Chinese).

The values are personal data: they are kept in memory only while matching, never logged,
stored or echoed back; a row that cannot be used is counted, not quoted.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from privacy_waybill.errors import FieldError

MAX_LEAK_ROWS = 1_000_000
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "waybill_no": ("waybill_no", "waybill", "waybill_number", "tracking_no", "运单号", "快递单号", "单号"),
    "phone": ("phone", "mobile", "tel", "recipient_phone", "电话", "手机", "手机号", "收件人电话"),
    "name": ("name", "recipient_name", "姓名", "收件人", "收件人姓名"),
    "address": ("address", "recipient_address", "地址", "收件地址", "收件人地址"),
    "virtual_number": ("virtual_number", "x_number", "虚拟号", "隐私号"),
}


@dataclass(frozen=True, slots=True)
class LeakRecord:
    row: int
    waybill_no: str | None = None
    phone: str | None = field(default=None, repr=False)
    name: str | None = field(default=None, repr=False)
    address: str | None = field(default=None, repr=False)
    virtual_number: str | None = field(default=None, repr=False)


def _column_map(header: list[str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for position, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff").lower()
        for column, aliases in COLUMN_ALIASES.items():
            if name in aliases:
                mapping[position] = column
    return mapping


def read_leak(data: bytes) -> list[LeakRecord]:
    """The usable rows of a leaked list; FieldError (naming the column problem) when none can be read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise FieldError("file", "is neither UTF-8 nor GB18030 text") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise FieldError("file", "is empty")
    columns = _column_map(header)
    if not columns:
        known = ", ".join(aliases[0] for aliases in COLUMN_ALIASES.values())
        raise FieldError("header", f"names none of the known columns ({known})")
    records: list[LeakRecord] = []
    for row_number, row in enumerate(reader, start=2):
        if len(records) >= MAX_LEAK_ROWS:
            raise FieldError("file", f"has more than {MAX_LEAK_ROWS} rows")
        values = {columns[i]: v.strip() for i, v in enumerate(row) if i in columns and v.strip()}
        if values:
            records.append(LeakRecord(row=row_number, **values))
    return records
