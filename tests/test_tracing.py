"""Leak tracing on the platform's own data, on SQLite and PostgreSQL: every way a leaked row is
matched, the ranking, the report files, a canary in the list, and refusals of unusable files."""

from __future__ import annotations

import json

import pytest

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.errors import FieldError
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.printing.terminals import new_terminal
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.printing import PrintStore
from privacy_waybill.storage.tracing import sync_warehouse
from privacy_waybill.tracing.leak import read_leak
from privacy_waybill.tracing.matching import Masker, VirtualNumberViewer, match_leak
from privacy_waybill.tracing.report import report_html

TENANT = "trace-shop"
AUDITOR = Subject(actor="user:auditor", role=Role.SECURITY_AUDITOR)
NAMES = ("欧阳震华", "王建国", "李娜", "张伟", "陈静", "刘洋", "赵敏", "孙磊")
ADDRESSES = (
    "浙江省杭州市余杭区五常街道文一西路969号西溪园区5号楼1201室",
    "上海市浦东新区张江镇祖冲之路887弄香楠苑12号302室",
    "北京市海淀区中关村街道中关村大街27号华芯大厦806室",
    "广东省深圳市南山区粤海街道科技园南区8栋101室",
)


def issue(rt: Runtime, count: int) -> list[IssuedWaybill]:
    rt.tenants.ensure(TENANT, "Trace shop", rt.clock())
    orders = [
        {
            "order_id": f"TR-{i:04d}",
            "recipient": {
                "name": NAMES[i % len(NAMES)],
                "phone": f"1381234{1000 + i:04d}",
                "address": ADDRESSES[i % 4],
            },
            "sender": {"name": "司马翊瑄", "phone": "13987654321", "address": ADDRESSES[2]},
            "items": [{"name": "茶叶", "quantity": 1}],
        }
        for i in range(count)
    ]
    return [o.waybill for o in rt.issuance().issue(TENANT, records_from_objects(orders), actor="test")]


def saw(rt: Runtime, actor: str, waybills: list[IssuedWaybill], role: str = "station_clerk") -> None:
    rt.audit.record_many(
        [
            AuditEvent(at=rt.clock(), actor=actor, role=role, action="waybill.check_in", outcome=Outcome.ALLOWED,
                       rule="station-check-in", tenant_id=TENANT, waybill_id=w.waybill_id, device="desk-1")
            for w in waybills
        ]
    )  # fmt: skip


def test_every_kind_of_leaked_row_is_matched_and_the_accessor_that_saw_them_ranks_first(rt: Runtime) -> None:
    waybills = issue(rt, 24)
    saw(rt, "user:clerk-a", waybills[:8])
    saw(rt, "user:clerk-b", waybills[8:])
    saw(rt, "user:courier-c", waybills[::3], role="courier")
    leak = "\n".join(
        [
            "运单号,手机号,姓名,地址",
            f"{waybills[0].waybill_no},,,",  # the number
            ",+86 138 1234 1001,,",  # a full phone: the blind index
            f",{waybills[2].recipient.phone},{waybills[2].recipient.name},{waybills[2].recipient.address}",  # masked
            f",138****1003,{NAMES[3]},{ADDRESSES[3]}",  # partial phone with plaintext name and address
            ",*******1004,,",  # last four digits alone fit nobody for sure
            "PW000000000000000,,,",  # an unknown number
        ]
    ).encode()
    report = rt.trace_case(AUDITOR, leak)

    assert report["leak"] == {
        "rows": 6, "matched": 4, "distinct_waybills": 4, "ambiguous": 0, "unmatched": 2, "in_population": 4,
        "methods": {"waybill_no": 1, "phone_index": 1, "masked": 2, "virtual_number": 0},
    }  # fmt: skip
    assert report["population"] == 24
    first = report["ranking"][0]
    assert (first["kind"], first["accessor"], first["seen"], first["hits"]) == ("account", "user:clerk-a", 8, 4)
    assert first["expected"] == round(4 * 8 / 24, 3)
    assert {(e["accessor"], e["hits"]) for e in report["ranking"] if e["kind"] == "account"} == {
        ("user:clerk-a", 4), ("user:courier-c", 2),
    }  # fmt: skip
    stored = rt.trace_cases.get(report["case_id"])
    assert stored is not None and stored["report"] == json.loads(json.dumps(report))
    page = report_html(report)
    assert "user:clerk-a" in page and "<svg" in page
    for value in ("欧阳震华", "王建国", "13812341001", "文一西路969号", "1001"):
        assert value not in json.dumps(report, ensure_ascii=False) + page


def test_a_canary_in_a_leaked_list_raises_its_alert(rt: Runtime) -> None:
    rt.tenants.ensure(TENANT, "Trace shop", rt.clock())
    canary = rt.plant_canary(TENANT, "route", "12", "user:auditor")
    report = rt.trace_case(AUDITOR, f"waybill_no\n{canary.waybill_no}\n".encode())
    assert report["canaries"] == [{"waybill_id": canary.waybill_id, "planted_at": "route:12"}]
    [alert] = rt.alerts.recent(kind="canary_touched")
    assert (alert["actor"], alert["detail"]["planted_at"], alert["detail"]["action"]) == (
        "user:auditor", "route:12", "trace.match",
    )  # fmt: skip


def test_a_trace_is_itself_audited_and_only_for_auditors(rt: Runtime) -> None:
    rt.trace_case(AUDITOR, b"waybill_no\nPW1\n")
    [entry] = rt.audit.events(action="trace.run")
    assert (entry.actor, entry.outcome) == ("user:auditor", "allowed")
    with pytest.raises(Exception, match="not allowed by rule default-deny"):
        rt.trace_case(Subject(actor="user:c", role=Role.COURIER), b"waybill_no\nPW1\n")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file: is empty"),
        (b"foo,bar\n1,2\n", "header: names none of the known columns"),
        (b"\xff\xfe\x00bad", "neither UTF-8 nor GB18030"),
    ],
)
def test_unusable_leak_files_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        read_leak(data)


def test_gb18030_files_and_english_headers_are_read() -> None:
    records = read_leak("Phone,Name\n138****5678,张**\n".encode("gb18030"))
    assert [(r.row, r.phone, r.name) for r in records] == [(2, "138****5678", "张**")]


def test_the_warehouse_copies_each_new_access_once_with_its_waybills_station(rt: Runtime) -> None:
    waybills = issue(rt, 4)
    saw(rt, "user:clerk-a", waybills[:2])
    assert sync_warehouse(rt.engine, rt.warehouse) == 2
    assert sync_warehouse(rt.engine, rt.warehouse) == 0
    saw(rt, "user:clerk-b", waybills[2:])
    rt.audit.record(
        AuditEvent(at=rt.clock(), actor="cli:ops", role="platform_admin", action="data.purge",
                   outcome=Outcome.ALLOWED, rule="retention", waybill_id=waybills[0].waybill_id)
    )  # fmt: skip
    assert sync_warehouse(rt.engine, rt.warehouse) == 2  # a purge shows nobody anything
    rows = rt.warehouse.con.execute("SELECT waybill_id, station FROM waybill_places ORDER BY waybill_id").fetchall()
    assert rows == sorted((w.waybill_id, w.sort_code.split("-")[1]) for w in waybills)


def test_a_canary_planted_for_a_terminal_is_queued_for_it_and_named_when_it_leaks(rt: Runtime) -> None:
    rt.tenants.ensure(TENANT, "Trace shop", rt.clock())
    terminal = new_terminal()
    rt.terminals.add(TENANT, terminal, "仓库1号机", rt.clock())
    canary = rt.plant_canary(TENANT, "terminal", terminal.terminal_id, "user:auditor")
    [(job, queued)] = PrintStore(rt.engine).claim_pending(TENANT, f"terminal:{terminal.terminal_id}", 10, rt.clock())
    assert queued.waybill_id == canary.waybill_id
    report = rt.trace_case(AUDITOR, f"waybill_no\n{canary.waybill_no}\n".encode())
    assert report["canaries"] == [{"waybill_id": canary.waybill_id, "planted_at": f"terminal:{terminal.terminal_id}"}]
    with pytest.raises(FieldError, match="no live print terminal of this tenant"):
        rt.plant_canary(TENANT, "terminal", "t_nope", "user:auditor")


class Bindings:
    """The courier module's answer to "who was given X", as the port expects it."""

    def viewers(self, number: str) -> list[VirtualNumberViewer]:
        return [VirtualNumberViewer("user:courier-x", "w-bound")] if number == "17100001111-0042" else []


def test_a_virtual_number_names_the_account_it_was_given_to() -> None:
    class Nothing:
        def ids_by_number(self, numbers):  # type: ignore[no-untyped-def]
            return {}

    records = read_leak("虚拟号\n17100001111-0042\n17100009999-0001\n".encode())
    matches = match_leak(records, Nothing(), Masker(name=str, address=str), Bindings())  # type: ignore[arg-type]
    assert (matches.waybill_ids, matches.named_by_virtual_number, matches.unmatched) == (
        {2: "w-bound"}, [VirtualNumberViewer("user:courier-x", "w-bound")], 1,
    )  # fmt: skip
