"""Batch intake: stream orders out of CSV or JSON Lines files, one record at a time.

Each record becomes an `IntakeRecord` holding either a structurally valid `OrderIn` or a
`FieldError`, so one bad row never stops the batch. Only problems with the file as a whole
(wrong kind of file, no usable header, too large, not UTF-8) raise `UnusableInput`. Files are
read as bytes and decoded one physical line at a time, so a single damaged line costs only
its own record and memory stays flat however large the file is.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple

from pydantic import ValidationError

from privacy_waybill.errors import FieldError, PrivacyWaybillError
from privacy_waybill.issuance.orders import ORDER_ID_PATTERN, OrderIn, order_errors, order_from_json

BatchFormat = Literal["csv", "jsonl"]
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
# No valid order comes near this; a longer line means the file is not an order file.
MAX_LINE_BYTES = 1024 * 1024

_FORMAT_NAMES: dict[str, BatchFormat] = {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl"}
PARTIES: tuple[str, ...] = ("recipient", "sender")
ADDRESS_PART_COLUMNS: tuple[str, ...] = ("province", "city", "district", "town", "detail")
_PARTY_COLUMNS: tuple[str, ...] = ("name", "phone", "address", *ADDRESS_PART_COLUMNS)
_ORDER_COLUMNS: tuple[str, ...] = (
    "order_id",
    "items",
    "remark",
    "weight_g",
    "service",
    "id_number",
)
CSV_COLUMNS: frozenset[str] = frozenset(_ORDER_COLUMNS + tuple(f"{p}_{c}" for p in PARTIES for c in _PARTY_COLUMNS))
_REQUIRED_COLUMNS: tuple[str, ...] = (
    "order_id",
    *(f"{p}_{c}" for p in PARTIES for c in ("name", "phone")),
    "items",
)
_ORDER_ID = re.compile(ORDER_ID_PATTERN)
# Column names are quoted in errors only when they look like our snake_case names: a header
# row of pasted data (a name, a phone) is referred to by its position instead.
_NAME_LIKE = re.compile(r"[a-z][a-z_]{0,39}")
_ITEM_SEPARATORS = re.compile(r"[;；]")
_QUANTITY = re.compile(r"(.*)[*＊×](.*)", re.DOTALL)
_NOT_JSON = object()


class UnusableInput(PrivacyWaybillError):
    """The batch file cannot be read as orders at all; nothing in it was taken."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {reason}" if line is not None else reason)
        self.reason = reason
        self.line = line


# The records of a batch are named tuples rather than frozen dataclasses: as immutable, and
# made in a fifth of the time, which counts at one or two per record in each process.


class UnreadRecord(NamedTuple):
    """A JSON Lines record whose JSON is read later, by `read_record`.

    Reading and validating the JSON is the costliest part of intake; deferred, it runs in
    the worker process that prepares the record instead of in the one that stores it.
    `raw` is the whole line as read, not decoded yet: pydantic reads the bytes themselves
    (refusing any that are not UTF-8), which spares decoding the line, pickling it as text
    and pydantic encoding it back (16,000 instructions per record, cachegrind). `position`
    is its line number.
    """

    position: int
    raw: bytes

    def __repr__(self) -> str:
        return f"UnreadRecord(position={self.position!r})"  # the text is personal data


class IntakeRecord(NamedTuple):
    """One record of a batch: `order` when it is usable, otherwise `error`.

    `position` is the 1-based line where the record starts in a file, or the 0-based index
    in the list given to `records_from_objects`. `order_id` is the merchant's id whenever
    it is well-formed, even for rejected records, so error lines can name the order.
    """

    position: int
    order_id: str | None
    order: OrderIn | None
    error: FieldError | None

    @property
    def ok(self) -> bool:
        return self.error is None


def detect_format(name: str | os.PathLike[str]) -> BatchFormat:
    """The batch format named by a file extension (.csv, .jsonl, .ndjson)."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in _FORMAT_NAMES:
        raise UnusableInput("file name must end in .csv, .jsonl or .ndjson")
    return _FORMAT_NAMES[suffix]


def read_orders(
    source: str | os.PathLike[str] | BinaryIO,
    format: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    defer_json: bool = False,
) -> Iterator[IntakeRecord | UnreadRecord]:
    """Stream the records of a batch from a path or a binary stream.

    `format` is "csv", "jsonl" or "ndjson"; without it the file name decides. Raises
    UnusableInput while iterating when the file as a whole cannot be used. With
    `defer_json`, a JSON Lines record that starts as a JSON object comes as an
    `UnreadRecord` (`read_record` makes it an `IntakeRecord`, with the same outcome as
    reading it here); everything else is read here as before.
    """
    with ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            kind = _resolve_format(format, source)
            size = os.stat(source).st_size
            if size > max_bytes:
                raise UnusableInput(f"file is {size} bytes, over the limit of {max_bytes} bytes")
            stream: BinaryIO = stack.enter_context(open(source, "rb"))
        else:
            kind = _resolve_format(format, getattr(source, "name", None))
            stream = source
        if kind == "csv":
            yield from _csv_records(_decoded_lines(stream, max_bytes))
        elif defer_json:
            yield from _jsonl_unread_records(_raw_lines(stream, max_bytes))
        else:
            yield from _jsonl_records(_decoded_lines(stream, max_bytes))


def records_from_objects(objects: Iterable[Any]) -> list[IntakeRecord]:
    """Check orders that arrived already parsed (an API body): one record per object."""
    records = []
    for index, data in enumerate(objects):
        if isinstance(data, dict):
            records.append(_validate(index, data))
        else:
            records.append(IntakeRecord(index, None, None, FieldError("record", "must be a JSON object")))
    return records


def _resolve_format(format: str | None, name: str | os.PathLike[str] | None) -> BatchFormat:
    if format is not None:
        if format.lower() not in _FORMAT_NAMES:
            raise UnusableInput("format must be csv, jsonl or ndjson")
        return _FORMAT_NAMES[format.lower()]
    if name is None:
        raise UnusableInput("cannot tell the file format: give csv, jsonl or ndjson")
    return detect_format(name)


class _Line(NamedTuple):
    number: int
    text: str
    # False when the bytes were not UTF-8; `text` then holds replacement characters
    # that keep the CSV structure (quotes, commas are ASCII) but must never be used.
    utf8: bool


def _raw_lines(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every physical line, checked against the limits."""
    total = 0
    for number in itertools.count(1):
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        total += len(raw)
        if total > max_bytes:
            raise UnusableInput(f"file is over the limit of {max_bytes} bytes", number)
        if len(raw) > MAX_LINE_BYTES:
            raise UnusableInput("line is longer than 1 MiB; this is not an order file", number)
        if number == 1:
            if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise UnusableInput("file is UTF-16 text; save it as UTF-8", number)
            raw = raw.removeprefix(codecs.BOM_UTF8)
        yield number, raw


def _decoded(number: int, raw: bytes) -> _Line:
    try:
        return _Line(number, raw.decode("utf-8"), True)
    except UnicodeDecodeError:
        return _Line(number, raw.decode("utf-8", errors="replace"), False)


def _decoded_lines(stream: BinaryIO, max_bytes: int) -> Iterator[_Line]:
    for number, raw in _raw_lines(stream, max_bytes):
        yield _decoded(number, raw)


def _not_utf8(line: int) -> FieldError:
    return FieldError("record", f"line {line} is not valid UTF-8 text; the record was skipped")


def _first_record_not_utf8(line: int) -> UnusableInput:
    # A damaged first record almost always means the whole file is in another encoding
    # (GBK from a spreadsheet), which would otherwise fail row by row.
    return UnusableInput("text is not UTF-8 (GBK?); save the file as UTF-8", line)


def _jsonl_records(lines: Iterator[_Line]) -> Iterator[IntakeRecord]:
    first = True
    last_line = 0
    for line in lines:
        last_line = line.number
        record = _jsonl_record(line, first)
        if record is not None:
            first = False
            yield record
    if first:
        raise _no_records(last_line)


def _jsonl_unread_records(lines: Iterator[tuple[int, bytes]]) -> Iterator[IntakeRecord | UnreadRecord]:
    """As `_jsonl_records`, with every line that starts as a JSON object left unread. Only
    the first record is decoded here (a first record that is not UTF-8 makes the whole file
    unusable), and the lines that do not start with "{", blank ones among them: the rare
    ones, read as text here."""
    first = True
    last_line = 0
    for number, raw in lines:
        last_line = number
        if raw.lstrip(b" \t").startswith(b"{") and (not first or _decoded(number, raw).utf8):
            first = False
            yield UnreadRecord(number, raw)
            continue
        record = _jsonl_record(_decoded(number, raw), first)
        if record is not None:
            first = False
            yield record
    if first:
        raise _no_records(last_line)


def _jsonl_record(line: _Line, first: bool) -> IntakeRecord | None:
    """The record of one line read as text, or None for a blank line."""
    if not line.text or line.text.isspace():  # what strip() would empty, without copying the line
        return None
    if not line.utf8:
        if first:
            raise _first_record_not_utf8(line.number)
        return _not_utf8_record(line)
    return read_record(UnreadRecord(line.number, line.text.encode()))


def _not_utf8_record(line: _Line) -> IntakeRecord:
    data = _json_or_not(line.text)
    # As in CSV, a well-formed id read around the damage is the merchant's own.
    order_id = _readable_order_id(data.get("order_id")) if isinstance(data, dict) else None
    return IntakeRecord(line.number, order_id, None, _not_utf8(line.number))


def _no_records(last_line: int) -> UnusableInput:
    return UnusableInput(f"file holds no records ({last_line} blank lines)" if last_line else "file is empty")


def read_record(record: IntakeRecord | UnreadRecord) -> IntakeRecord:
    """The record read and checked: an `UnreadRecord`'s JSON parsed and validated."""
    if isinstance(record, IntakeRecord):
        return record
    try:
        # pydantic's own JSON parser validates a well-formed order in about two thirds of
        # the time of json.loads and then validating the objects; anything it refuses is
        # read again below, so every rejection keeps its field and reason.
        order = order_from_json(record.raw)
        return IntakeRecord(record.position, order.order_id, order, None)
    except ValidationError:
        pass
    line = _decoded(record.position, record.raw)
    if not line.utf8:
        return _not_utf8_record(line)
    data = _json_or_not(line.text)
    if data is _NOT_JSON:
        return IntakeRecord(record.position, None, None, FieldError("record", "line is not valid JSON"))
    if not isinstance(data, dict):
        return IntakeRecord(record.position, None, None, FieldError("record", "line is not a JSON object"))
    return _validate(record.position, data)


def _json_or_not(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _csv_records(lines: Iterator[_Line]) -> Iterator[IntakeRecord]:
    undecodable: list[int] = []

    def texts() -> Iterator[str]:
        for line in lines:
            if not line.utf8:
                undecodable.append(line.number)
            yield line.text

    # strict: a quote left open makes an error instead of quietly taking in the rows after it.
    reader = csv.reader(texts(), strict=True)
    columns = _read_header(reader, undecodable)
    first_record = True
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            if first_record:
                raise UnusableInput("file holds no records: it has a header row only") from None
            return
        except csv.Error as error:
            end = reader.line_num
            yield IntakeRecord(start, None, None, _bad_csv(start, end, at_end="end of data" in str(error)))
            first_record = False
            continue
        end = reader.line_num
        damaged = [n for n in undecodable if start <= n <= end]
        undecodable.clear()
        if not any(cell.strip() for cell in cells):
            continue
        # Replacement characters never match the order id pattern, so an id read from a
        # damaged row is one the merchant really wrote.
        order_id = _readable_order_id(dict(zip(columns, cells, strict=False)).get("order_id"))
        if damaged:
            if first_record:
                raise _first_record_not_utf8(damaged[0])
            yield IntakeRecord(start, order_id, None, _not_utf8(damaged[0]))
            continue
        first_record = False
        if len(cells) != len(columns):
            error = FieldError("record", f"row has {len(cells)} cells, the header has {len(columns)}")
            yield IntakeRecord(start, order_id, None, error)
            continue
        yield _csv_record(start, dict(zip(columns, cells, strict=True)))


def _bad_csv(start: int, end: int, at_end: bool) -> FieldError:
    # The parser ran on past the line, or into the end of the file: a quote opened on the
    # record's line was never closed where a cell ends, and every line it took is named.
    if end > start:
        return FieldError("record", f"a quote opened on line {start} is not closed; lines {start}-{end} were not read")
    if at_end:
        return FieldError("record", f"a quote opened on line {start} is not closed before the end of the file")
    return FieldError("record", f"line {start} is not valid CSV (a stray quote?)")


def _read_header(reader: Any, undecodable: list[int]) -> list[str]:
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            # A lone carriage return or a broken quote before any header: not a CSV file.
            raise UnusableInput("header row is not valid CSV", reader.line_num or 1) from None
        if not any(cell.strip() for cell in cells):
            continue
        if undecodable:
            raise UnusableInput("header is not UTF-8 text; save the file as UTF-8", undecodable[0])
        return _check_columns(reader.line_num, [cell.strip() for cell in cells])
    raise UnusableInput("file is empty: expected a header row naming the columns")


def _check_columns(line: int, columns: list[str]) -> list[str]:
    if not CSV_COLUMNS.intersection(columns):
        raise UnusableInput(
            "first row is not a header: it must name the columns (order_id, recipient_name, ...)",
            line,
        )
    for index, name in enumerate(columns, start=1):
        if name not in CSV_COLUMNS:
            label = f"{name!r}" if _NAME_LIKE.fullmatch(name) else f"number {index}"
            raise UnusableInput(f"unknown column {label}", line)
        if columns.count(name) > 1:
            raise UnusableInput(f"column {name!r} appears twice", line)
    missing = [name for name in _REQUIRED_COLUMNS if name not in columns]
    for party in PARTIES:
        parts = [f"{party}_{p}" for p in ADDRESS_PART_COLUMNS if f"{party}_{p}" in columns]
        if f"{party}_address" in columns and parts:
            raise UnusableInput(f"give either {party}_address or its part columns, not both", line)
        if f"{party}_address" not in columns and not ({f"{party}_district", f"{party}_detail"} & set(parts)):
            missing.append(f"{party}_address (or {party}_district / {party}_detail)")
    if missing:
        raise UnusableInput(f"missing required column(s): {', '.join(missing)}", line)
    return columns


def _csv_record(position: int, row: dict[str, str]) -> IntakeRecord:
    cells = {name: value.strip() for name, value in row.items() if value.strip()}
    data: dict[str, Any] = {name: cells[name] for name in _ORDER_COLUMNS if name in cells and name != "items"}
    for party in PARTIES:
        person: dict[str, Any] = {
            key: cells[f"{party}_{key}"] for key in ("name", "phone") if f"{party}_{key}" in cells
        }
        parts = {p: cells[f"{party}_{p}"] for p in ADDRESS_PART_COLUMNS if f"{party}_{p}" in cells}
        if f"{party}_address" in cells:
            person["address"] = cells[f"{party}_address"]
        elif parts:
            person["address"] = parts
        data[party] = person
    if "items" in cells:
        try:
            data["items"] = parse_items_cell(cells["items"])
        except FieldError as error:
            return IntakeRecord(position, _readable_order_id(data.get("order_id")), None, error)
    return _validate(position, data)


def parse_items_cell(cell: str) -> Any:
    """Items from a CSV cell: ``T恤*2;袜子*3`` (no ``*n`` means 1) or a JSON array.

    Quantities stay text so the order model reports a bad one at ``items.N.quantity``.
    """
    if cell.lstrip().startswith("["):
        try:
            return json.loads(cell)
        except (ValueError, RecursionError):
            raise FieldError("items", "is not a valid JSON array") from None
    items: list[dict[str, str | int]] = []
    for entry in _ITEM_SEPARATORS.split(cell):
        if not entry.strip():
            continue
        counted = _QUANTITY.fullmatch(entry)
        if counted:
            items.append({"name": counted.group(1), "quantity": counted.group(2).strip()})
        else:
            items.append({"name": entry, "quantity": 1})
    return items


def _readable_order_id(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if 0 < len(value) <= 64 and _ORDER_ID.fullmatch(value) else None


def _validate(position: int, data: dict[str, Any]) -> IntakeRecord:
    order_id = _readable_order_id(data.get("order_id"))
    try:
        order = OrderIn.model_validate(data)
    except ValidationError as exc:
        return IntakeRecord(position, order_id, None, order_errors(exc))
    return IntakeRecord(position, order.order_id, order, None)
