"""Batch intake of CSV and JSON Lines files: good records pass, bad ones are reported one by one."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.issuance.intake import (
    IntakeRecord,
    UnreadRecord,
    UnusableInput,
    detect_format,
    parse_items_cell,
    read_orders,
    records_from_objects,
)
from privacy_waybill.issuance.orders import AddressParts

NAME = "欧阳娜娜"
PHONE = "13812345678"
ADDRESS = "浙江省杭州市余杭区文一西路969号"
HEADER = (
    "order_id,recipient_name,recipient_phone,recipient_address,"
    "sender_name,sender_phone,sender_address,items,remark,weight_g,service,id_number"
)


def row(order_id: str = "A1", **cells: str) -> str:
    values = {
        "recipient_name": NAME,
        "recipient_phone": PHONE,
        "recipient_address": ADDRESS,
        "sender_name": "李四",
        "sender_phone": "13900139000",
        "sender_address": "杭州市西湖区文三路1号",
        "items": "T恤*2;袜子*3",
        "remark": "",
        "weight_g": "500",
        "service": "",
        "id_number": "",
    }
    values.update(cells)
    return ",".join([order_id, *values.values()])


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def records(path: Path, **options: Any) -> list[IntakeRecord]:
    return list(read_orders(path, **options))


def summary(found: list[IntakeRecord]) -> list[tuple[int, str | None, str | None]]:
    return [(r.position, r.order_id, r.error.field if r.error else None) for r in found]


def order_object(order_id: str = "J1", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": order_id,
        "recipient": {"name": NAME, "phone": PHONE, "address": ADDRESS},
        "sender": {
            "name": "李四",
            "phone": "13900139000",
            "address": {"province": "浙江省", "district": "西湖区", "detail": "文三路1号"},
        },
        "items": [{"name": "书", "quantity": 1}],
    }
    data.update(changes)
    return data


def test_good_csv_with_bom(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        "\ufeff" + HEADER + "\n" + row("A1") + "\n" + row("A2", service="express") + "\n",
    )
    found = records(path)
    assert summary(found) == [(2, "A1", None), (3, "A2", None)]
    first = found[0].order
    assert first is not None
    assert [(i.name, i.quantity) for i in first.items] == [("T恤", 2), ("袜子", 3)]
    assert first.recipient.phone == PHONE and first.weight_g == 500
    assert found[1].order is not None and found[1].order.service == "express"


def test_bad_rows_are_reported_one_by_one_and_good_ones_pass(tmp_path: Path) -> None:
    lines = [
        HEADER,
        row("A1"),
        row("A2", recipient_phone=""),
        row("A3", items="T恤*0"),
        row("A4", items="T恤*two"),
        "",
        row("A5", weight_g="heavy"),
        row("bad id"),
        row("A7") + ",extra",
        row("A8", items='"[{""name"": ""书"", ""quantity"": 2}]"'),
        row("A9", items='"[{""name"": ""书"""'),
        row("A10", recipient_address='"多行\n地址"'),
        ",,,,,,,,,,,",
    ]
    found = records(write(tmp_path, "orders.csv", "\n".join(lines) + "\n"))
    assert summary(found) == [
        (2, "A1", None),
        (3, "A2", "recipient.phone"),
        (4, "A3", "items.0.quantity"),
        (5, "A4", "items.0.quantity"),
        (7, "A5", "weight_g"),
        (8, None, "order_id"),
        (9, "A7", "record"),
        (10, "A8", None),
        (11, "A9", "items"),
        (12, "A10", None),
    ]
    assert found[9].order is not None and found[9].order.recipient.address == "多行\n地址"


def test_address_part_columns(tmp_path: Path) -> None:
    header = (
        "order_id,recipient_name,recipient_phone,recipient_province,recipient_city,"
        "recipient_district,recipient_town,recipient_detail,sender_name,sender_phone,"
        "sender_detail,items"
    )
    body = [
        f"P1,{NAME},{PHONE},浙江省,杭州市,余杭区,五常街道,文一西路969号,李四,13900139000,文三路1号,书",
        f"P2,{NAME},{PHONE},浙江省,杭州市,,,,李四,13900139000,文三路1号,书",
    ]
    found = records(write(tmp_path, "parts.csv", "\n".join([header, *body])))
    assert summary(found) == [(2, "P1", None), (3, "P2", "recipient.address")]
    order = found[0].order
    assert order is not None and isinstance(order.recipient.address, AddressParts)
    assert order.recipient.address.town == "五常街道"
    assert order.items[0].quantity == 1


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("T恤*2;袜子*3", [{"name": "T恤", "quantity": "2"}, {"name": "袜子", "quantity": "3"}]),
        (
            "T恤 ＊ 2；袜子×3;",
            [{"name": "T恤 ", "quantity": "2"}, {"name": "袜子", "quantity": "3"}],
        ),
        ("书", [{"name": "书", "quantity": 1}]),
        ("2*4 木板*5", [{"name": "2*4 木板", "quantity": "5"}]),
        ('[{"name": "书", "quantity": 2}]', [{"name": "书", "quantity": 2}]),
    ],
)
def test_parse_items_cell(cell: str, expected: list[dict[str, Any]]) -> None:
    assert parse_items_cell(cell) == expected


def test_invalid_utf8_line_is_a_record_error_and_the_rest_continues(tmp_path: Path) -> None:
    damaged = row("A2").encode().replace(NAME.encode(), b"\xe6\xac\xff")
    content = b"\n".join([HEADER.encode(), row("A1").encode(), damaged, row("A3").encode()])
    found = records(write(tmp_path, "orders.csv", content))
    assert summary(found) == [(2, "A1", None), (3, "A2", "record"), (4, "A3", None)]
    assert found[1].error is not None and "line 3 is not valid UTF-8" in found[1].error.reason


def test_invalid_utf8_inside_a_multiline_field_names_the_damaged_line(tmp_path: Path) -> None:
    content = (
        (HEADER + "\n" + row("A1") + "\n").encode()
        + row("A2", remark='"第一行\n').encode()
        + b'\xff"\n'
        + row("A3").encode()
    )
    found = records(write(tmp_path, "orders.csv", content))
    assert summary(found) == [(2, "A1", None), (3, "A2", "record"), (5, "A3", None)]
    assert found[1].error is not None and "line 4" in found[1].error.reason


def test_gbk_file_is_unusable(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", (HEADER + "\n" + row("A1") + "\n").encode("gbk"))
    with pytest.raises(UnusableInput, match="not UTF-8") as caught:
        records(path)
    assert caught.value.line == 2


def test_utf16_file_is_unusable(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", (HEADER + "\n").encode("utf-16"))
    with pytest.raises(UnusableInput, match="UTF-16"):
        records(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        (row("A1") + "\n", "not a header"),
        (HEADER + ",colour\n", "unknown column 'colour'"),
        (HEADER + f",{PHONE}\n", "unknown column number 13"),
        (HEADER + ",order_id\n", "appears twice"),
        (HEADER.replace("order_id,", "") + "\n", "missing required column(s): order_id"),
        (HEADER.replace(",items", "") + "\n", "missing required column(s): items"),
        (
            HEADER.replace("sender_address", "sender_city") + "\n",
            "sender_address (or sender_district / sender_detail)",
        ),
        (HEADER + ",recipient_district\n", "either recipient_address or its part columns"),
    ],
)
def test_unusable_csv_headers(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(UnusableInput) as caught:
        records(write(tmp_path, "orders.csv", content))
    assert message in str(caught.value)
    assert PHONE not in str(caught.value) and NAME not in str(caught.value)


def test_oversized_file_is_unusable(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.csv", HEADER + "\n" + row("A1") + "\n")
    with pytest.raises(UnusableInput, match="limit of 100 bytes"):
        records(path, max_bytes=100)


def test_oversized_stream_stops_at_the_limit() -> None:
    stream = io.BytesIO((HEADER + "\n" + "\n".join(row(f"A{n}") for n in range(100))).encode())
    with pytest.raises(UnusableInput, match="limit of 2000 bytes") as caught:
        list(read_orders(stream, "csv", max_bytes=2000))
    assert caught.value.line is not None and caught.value.line > 2


def test_overlong_line_is_unusable(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.jsonl", "x" * (1024 * 1024 + 10) + "\n")
    with pytest.raises(UnusableInput, match="longer than 1 MiB"):
        records(path)


def test_reading_is_streamed() -> None:
    body = "\n".join(row(f"A{n}") for n in range(5000))
    stream = io.BytesIO((HEADER + "\n" + body).encode())
    first = next(read_orders(stream, "csv"))
    assert first.order_id == "A0"
    assert stream.tell() < len(stream.getvalue()) / 100


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.csv", "csv"), ("a.CSV", "csv"), ("a.jsonl", "jsonl"), ("dir.x/a.ndjson", "jsonl")],
)
def test_detect_format(name: str, expected: str) -> None:
    assert detect_format(name) == expected


@pytest.mark.parametrize("name", ["a.xlsx", "a.json", "a"])
def test_unknown_extension_is_unusable(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnusableInput, match=r"\.csv, \.jsonl or \.ndjson"):
        records(write(tmp_path, name, HEADER))


def test_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "upload.txt", json.dumps(order_object(), ensure_ascii=False) + "\n")
    assert summary(records(path, format="ndjson")) == [(1, "J1", None)]
    with pytest.raises(UnusableInput, match="format must be"):
        records(path, format="xml")
    with pytest.raises(UnusableInput, match="cannot tell"):
        list(read_orders(io.BytesIO(b""), None))


def test_unusable_input_is_a_project_error() -> None:
    assert issubclass(UnusableInput, PrivacyWaybillError)
    assert str(UnusableInput("header is broken", 3)) == "line 3: header is broken"


def test_jsonl_records(tmp_path: Path) -> None:
    lines = [
        json.dumps(order_object("J1"), ensure_ascii=False).encode(),
        b"",
        b"   ",
        b"{not json",
        b"[1, 2]",
        json.dumps(order_object("J5", items=[{"name": "书", "quantity": 0}]), ensure_ascii=False).encode(),
        json.dumps(order_object("J6")).encode().replace(b"\\u6b27", b"\xff"),
        json.dumps(order_object("J7", service="rocket")).encode(),
        json.dumps(order_object(None)).encode(),
        b"[" * 100_000,
        b"null",
    ]
    found = records(write(tmp_path, "orders.jsonl", b"\xef\xbb\xbf" + b"\n".join(lines)))
    assert summary(found) == [
        (1, "J1", None),
        (4, None, "record"),
        (5, None, "record"),
        (6, "J5", "items.0.quantity"),
        (7, "J6", "record"),
        (8, "J7", "service"),
        (9, None, "order_id"),
        (10, None, "record"),
        (11, None, "record"),
    ]
    assert [r.error.reason for r in found if r.error and r.error.field == "record"] == [
        "line is not valid JSON",
        "line is not a JSON object",
        "line 7 is not valid UTF-8 text; the record was skipped",
        "line is not valid JSON",
        "line is not a JSON object",
    ]


def test_jsonl_first_record_not_utf8_is_unusable(tmp_path: Path) -> None:
    path = write(tmp_path, "orders.jsonl", json.dumps(order_object(), ensure_ascii=False).encode("gbk"))
    with pytest.raises(UnusableInput, match="not UTF-8"):
        records(path)


def test_records_from_objects() -> None:
    found = records_from_objects([order_object("O1"), "text", order_object("O3", weight_g=0)])
    assert summary(found) == [(0, "O1", None), (1, None, "record"), (2, "O3", "weight_g")]


def test_no_error_reason_contains_input_values(tmp_path: Path) -> None:
    secret_row = row("S1", recipient_phone=PHONE * 5, items=f"{NAME}*{PHONE}", weight_g=PHONE)
    content = "\n".join(
        [
            HEADER,
            secret_row,
            row("S2", recipient_name=NAME * 11),
            row("S3", service=NAME),
            row("S4", items=f'"[{{""{NAME}"": ""{PHONE}""}}]"'),
            row(f"{NAME}{PHONE}"),
            row("S6") + f",{PHONE}",
        ]
    )
    found = records(write(tmp_path, "orders.csv", content))
    jsonl = records(
        write(
            tmp_path,
            "orders.jsonl",
            "\n".join(
                [
                    json.dumps(order_object("J1", **{PHONE: NAME}), ensure_ascii=False),
                    json.dumps(
                        order_object("J2", recipient={"name": NAME, "phone": [PHONE], "address": ADDRESS}),
                        ensure_ascii=False,
                    ),
                    json.dumps(order_object(f"{NAME}-{PHONE}"), ensure_ascii=False),
                    f'{{"order_id": "{PHONE}"',
                ]
            ),
        )
    )
    errors = [str(r.error) for r in found + jsonl]
    assert len(errors) == 10 and all(r.error for r in found + jsonl)
    for message in errors:
        for secret in (NAME, PHONE, ADDRESS, "5678"):
            assert secret not in message


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # The quote never closes: every line after it is named, none is taken as an order.
        (
            [row("A1", remark='"放门口'), row("A2"), row("A3")],
            [(2, None, "a quote opened on line 2 is not closed; lines 2-4 were not read")],
        ),
        # A later quote closes it in the middle of a cell: the rows after that one are read again.
        (
            [row("A1", remark='"放门口'), row("A2", items='"T恤*1;袜子*2"'), row("A3")],
            [(2, None, "a quote opened on line 2 is not closed; lines 2-3 were not read"), (4, "A3", None)],
        ),
        (
            [row("A1"), row("A2", remark='"放门口')],
            [(2, "A1", None), (3, None, "a quote opened on line 3 is not closed before the end of the file")],
        ),
        # A quoted cell may hold a line break; the record after it keeps its own line number.
        ([row("A1", remark='"放门口\n易碎"'), row("A2")], [(2, "A1", None), (4, "A2", None)]),
    ],
)
def test_an_unclosed_quote_is_an_error_naming_its_line(
    tmp_path: Path, lines: list[str], expected: list[tuple[int, str | None, str | None]]
) -> None:
    found = records(write(tmp_path, "orders.csv", HEADER + "\n" + "\n".join(lines) + "\n"))
    assert [(r.position, r.order_id, r.error.reason if r.error else None) for r in found] == expected


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("orders.csv", HEADER + "\n", "file holds no records: it has a header row only"),
        ("orders.csv", HEADER + "\n\n,,,\n", "file holds no records: it has a header row only"),
        ("orders.jsonl", "", "file is empty"),
        ("orders.jsonl", "\n \n", "file holds no records (2 blank lines)"),
    ],
)
def test_a_file_without_records_says_so(tmp_path: Path, name: str, content: str, message: str) -> None:
    with pytest.raises(UnusableInput) as caught:
        records(write(tmp_path, name, content))
    assert str(caught.value) == message


def test_a_record_without_an_order_id_is_named_by_its_line(tmp_path: Path) -> None:
    csv_found = records(write(tmp_path, "orders.csv", "\n".join([HEADER, row("A1"), row(""), row("A3")]) + "\n"))
    assert [(r.position, r.order_id, str(r.error) if r.error else None) for r in csv_found] == [
        (2, "A1", None),
        (3, None, "order_id: is required"),
        (4, "A3", None),
    ]
    without_id = {k: v for k, v in order_object().items() if k != "order_id"}
    jsonl = "\n".join(json.dumps(o, ensure_ascii=False) for o in (order_object("J1"), without_id)) + "\n"
    assert summary(records(write(tmp_path, "orders.jsonl", jsonl))) == [(1, "J1", None), (2, None, "order_id")]


def test_a_record_read_later_shows_its_line_but_not_its_text() -> None:
    line = json.dumps({"order_id": "A1", "recipient": {"name": "张伟"}}, ensure_ascii=False) + "\n"
    [unread] = read_orders(io.BytesIO(line.encode()), "jsonl", defer_json=True)
    assert isinstance(unread, UnreadRecord) and unread.position == 1
    for shown in (repr(unread), str(unread), f"{unread}"):
        assert shown == "UnreadRecord(position=1)"
