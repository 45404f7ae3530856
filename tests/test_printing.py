"""Cloud printing: terminals, queue, pull, print report, reprint limit, audit and tenant scoping.

Storage-backed flows run on SQLite and PostgreSQL (the `rt` fixture); the rest share one
SQLite runtime. The audit log is an
in-memory sink here: these tests check which events printing writes, not how they are stored.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdfium2
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli_support import use_test_database
from privacy_waybill.access.model import Decision, Role, Subject
from privacy_waybill.audit.model import AuditEvent, AuditUnavailable, Outcome
from privacy_waybill.cli.terminals import terminals_app
from privacy_waybill.errors import Conflict, FieldError, NotFound
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.issuance.service import Issued
from privacy_waybill.labels.model import LabelFormat, LabelSize
from privacy_waybill.printing import (
    JobStatus,
    PrintService,
    PrintSettings,
    ReprintLimitReached,
    new_terminal,
    terminal_subject,
)
from privacy_waybill.printing.service import NotAllowed
from privacy_waybill.printing.terminals import split_terminal_token
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.storage.models import WaybillEvent
from privacy_waybill.storage.printing import PrintStore, TerminalStore

def ALLOW_EVERY(_: object) -> Decision:  # noqa: N802 - a stand-in decision, named like ALLOW
    return ALLOW


ALLOW = Decision(
    allowed=True, rule="test.print_terminal", fields={"name": "label", "phone": "label", "address": "label"}
)
PDF_203 = PrintSettings(LabelFormat.PDF, LabelSize.ONE_PLY_76X130, 203)

RECIPIENT = {
    "name": "欧阳震华",
    "phone": "13812345678",
    "address": "浙江省杭州市余杭区五常街道文一西路969号西溪园区5号楼3单元1201室",
}
SENDER = {"name": "司马翊瑄", "phone": "13987654321", "address": "北京市海淀区中关村街道中关村大街27号华芯大厦8层806室"}
# What the order carries that a label must not show: full and given names, the phone beyond
# its last four digits, the address below the road, the item names.
PERSONAL_VALUES = (
    "欧阳震华", "震华", "13812345678", "1381234", "969号", "西溪园区", "1201室",
    "司马翊瑄", "翊瑄", "13987654321", "1398765", "27号", "华芯大厦", "806室", "机密样品",
)  # fmt: skip


@dataclass
class AuditLog:
    """An in-memory AuditSink that keeps every event."""

    events: list[AuditEvent] = field(default_factory=list)

    def record(self, event: AuditEvent) -> int:
        self.events.append(event)
        return len(self.events)

    def actions(self) -> list[tuple[str, Outcome, str | None]]:
        return [(e.action, e.outcome, e.waybill_id) for e in self.events]


class BrokenAuditLog:
    """An AuditSink whose storage is gone."""

    def record(self, event: AuditEvent) -> int:
        raise AuditUnavailable()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture(scope="module")
def sqlite_rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One SQLite runtime for the module, for tests that are not about storage; each test
    works on merchants of its own."""
    yield from shared_sqlite_runtime(tmp_path_factory.mktemp("printing-home"))


def shared_sqlite_runtime(home: Path) -> Iterator[Runtime]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PWB_HOME", str(home))
        env.delenv("PWB_MASTER_SECRET", raising=False)
        use_test_database(env, home)
        settings = Settings()
        initialise(settings)
        runtime = open_runtime(settings)
    yield runtime
    runtime.close()


def personal_order(order_id: str) -> dict[str, object]:
    return {
        "order_id": order_id,
        "recipient": dict(RECIPIENT),
        "sender": dict(SENDER),
        "items": [{"name": "机密样品XJ42", "quantity": 2}],
        "weight_g": 1200,
    }


def merchant(rt: Runtime, orders: int = 3) -> tuple[Subject, list[IssuedWaybill]]:
    """A new tenant with `orders` issued waybills, and the subject of a merchant key of it."""
    tenant_id = f"m-{uuid.uuid4().hex[:10]}"
    rt.tenants.ensure(tenant_id, "Test merchant", rt.clock())
    outcomes = rt.issuance().issue(
        tenant_id, records_from_objects([personal_order(f"P-{i}") for i in range(orders)]), actor="test"
    )
    waybills = [o.waybill for o in outcomes if isinstance(o, Issued)]
    assert len(waybills) == orders
    return Subject(actor=f"key:{tenant_id}", role=Role.MERCHANT, tenant_id=tenant_id), waybills


def terminal(rt: Runtime, tenant_id: str | None) -> Subject:
    registered = new_terminal()
    TerminalStore(rt.engine).add(tenant_id or "", registered, "仓库1号机", rt.clock())
    resolved = TerminalStore(rt.engine).authenticate(registered.token)
    assert resolved is not None
    return terminal_subject(resolved)


def service(rt: Runtime, audit: object | None = None, reprint_limit: int = 3) -> PrintService:
    return PrintService(PrintStore(rt.engine), rt.label_content, audit or AuditLog(), Clock(), reprint_limit)  # type: ignore[arg-type]


def pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return re.sub(r"\s+", "", document[0].get_textpage().get_text_range())
    finally:
        document.close()


def waybill_status(rt: Runtime, waybill_no: str) -> WaybillStatus:
    found = rt.waybills.get_by_number(None, waybill_no)
    assert found is not None
    return found.status


# --- terminals -------------------------------------------------------------------------


def test_terminal_tokens_are_random_and_only_their_hash_is_kept() -> None:
    first, second = new_terminal(), new_terminal()
    assert first.token != second.token
    parts = split_terminal_token(first.token)
    assert parts is not None and parts[0] == first.terminal_id
    assert first.token not in repr(first) and parts[1] not in repr(first)
    assert len(first.token_hash) == 32 and parts[1].encode() not in first.token_hash


def test_a_terminal_token_resolves_to_a_print_terminal_of_its_merchant(rt: Runtime) -> None:
    tenant_subject, _ = merchant(rt, orders=0)
    store = TerminalStore(rt.engine)
    registered = new_terminal()
    store.add(tenant_subject.tenant_id or "", registered, "仓库1号机", rt.clock())

    resolved = store.authenticate(registered.token)
    assert resolved is not None
    subject = terminal_subject(resolved)
    assert subject == Subject(
        actor=f"terminal:{registered.terminal_id}", role=Role.PRINT_TERMINAL, tenant_id=tenant_subject.tenant_id
    )
    assert [t.terminal_id for t in store.list_for_tenant(tenant_subject.tenant_id or "")] == [registered.terminal_id]


def test_a_wrong_or_malformed_token_resolves_to_nothing(sqlite_rt: Runtime) -> None:
    tenant_subject, _ = merchant(sqlite_rt, orders=0)
    registered = new_terminal()
    TerminalStore(sqlite_rt.engine).add(tenant_subject.tenant_id or "", registered, "t", sqlite_rt.clock())
    last = registered.token[-1]
    for token in (registered.token[:-1] + ("A" if last != "A" else "B"), "pwb" + registered.token[3:], ""):
        assert TerminalStore(sqlite_rt.engine).authenticate(token) is None


def test_a_revoked_terminal_is_refused(rt: Runtime) -> None:
    tenant_subject, _ = merchant(rt, orders=0)
    store = TerminalStore(rt.engine)
    registered = new_terminal()
    store.add(tenant_subject.tenant_id or "", registered, "t", rt.clock())
    assert store.revoke(registered.terminal_id, rt.clock()) is True
    assert store.authenticate(registered.token) is None
    assert store.revoke(registered.terminal_id, rt.clock()) is False


# --- queue and pull ----------------------------------------------------------------------


def test_queue_pull_and_report_printed_moves_the_waybill_to_printed(rt: Runtime) -> None:
    owner, waybills = merchant(rt, orders=2)
    device = terminal(rt, owner.tenant_id)
    audit = AuditLog()
    printing = service(rt, audit)

    jobs = printing.queue(owner, ALLOW, [w.waybill_no.lower() for w in waybills], PDF_203)
    assert [j.waybill_no for j in jobs] == [w.waybill_no for w in waybills]
    assert {j.status for j in jobs} == {JobStatus.PENDING}

    labels = printing.pull(device, ALLOW_EVERY, limit=10)
    assert [label.job.job_id for label in labels] == [j.job_id for j in jobs]
    assert all(label.body.startswith(b"%PDF") for label in labels)
    assert all(label.job.status is JobStatus.PULLED and label.job.pulled_by == device.actor for label in labels)
    assert printing.pull(device, ALLOW_EVERY, limit=10) == []

    printed = printing.report_printed(device, ALLOW, jobs[0].job_id)
    assert printed.status is JobStatus.PRINTED and printed.printed_at is not None
    assert waybill_status(rt, waybills[0].waybill_no) is WaybillStatus.PRINTED
    assert waybill_status(rt, waybills[1].waybill_no) is WaybillStatus.CREATED
    with rt.engine.connect() as conn:
        events = conn.execute(
            select(WaybillEvent.status, WaybillEvent.actor).where(WaybillEvent.waybill_id == waybills[0].waybill_id)
        ).all()
    assert [tuple(e) for e in events] == [("created", "test"), ("printed", device.actor)]

    # A repeated report is audited but changes nothing.
    printing.report_printed(device, ALLOW, jobs[0].job_id)
    with rt.engine.connect() as conn:
        assert (
            len(conn.execute(select(WaybillEvent.id).where(WaybillEvent.waybill_id == waybills[0].waybill_id)).all())
            == 2
        )
    assert audit.actions() == [
        ("print_job.pull", Outcome.ALLOWED, waybills[0].waybill_id),
        ("print_job.pull", Outcome.ALLOWED, waybills[1].waybill_id),
        ("print_job.printed", Outcome.ALLOWED, waybills[0].waybill_id),
        ("print_job.printed", Outcome.ALLOWED, waybills[0].waybill_id),
    ]


def test_audit_events_name_the_terminal_rule_and_job_and_hold_no_personal_data(sqlite_rt: Runtime) -> None:
    owner, [waybill] = merchant(sqlite_rt, orders=1)
    device = terminal(sqlite_rt, owner.tenant_id)
    audit = AuditLog()
    printing = service(sqlite_rt, audit)
    [job] = printing.queue(owner, ALLOW, [waybill.waybill_no], PDF_203)
    printing.pull(device, ALLOW_EVERY, limit=1)

    [event] = audit.events
    assert event.actor == device.actor and event.role == "print_terminal"
    assert event.rule == ALLOW.rule and event.tenant_id == owner.tenant_id and event.waybill_id == waybill.waybill_id
    assert event.fields == ("address", "name", "phone")
    assert event.detail == {"job": job.job_id, "format": "pdf"}
    assert not any(value in repr(event) for value in PERSONAL_VALUES)


def test_pull_respects_the_limit_and_serves_oldest_first(rt: Runtime) -> None:
    owner, waybills = merchant(rt, orders=5)
    device = terminal(rt, owner.tenant_id)
    printing = service(rt)
    for waybill in waybills:
        printing.queue(owner, ALLOW, [waybill.waybill_no], PDF_203)

    first = printing.pull(device, ALLOW_EVERY, limit=2)
    rest = printing.pull(device, ALLOW_EVERY, limit=10)
    assert [label.job.waybill_no for label in first + rest] == [w.waybill_no for w in waybills]


def test_queueing_a_waybill_twice_keeps_its_one_job(sqlite_rt: Runtime) -> None:
    owner, [waybill] = merchant(sqlite_rt, orders=1)
    printing = service(sqlite_rt)
    [job] = printing.queue(owner, ALLOW, [waybill.waybill_no], PDF_203)
    again = printing.queue(owner, ALLOW, [waybill.waybill_no, waybill.waybill_no], PDF_203)
    assert [j.job_id for j in again] == [job.job_id, job.job_id]


def test_queueing_names_the_position_of_a_foreign_or_unknown_number(rt: Runtime) -> None:
    owner, [own] = merchant(rt, orders=1)
    _, [foreign] = merchant(rt, orders=1)
    printing = service(rt)
    with pytest.raises(FieldError) as error:
        printing.queue(owner, ALLOW, [own.waybill_no, foreign.waybill_no], PDF_203)
    assert error.value.field == "waybill_nos.1"
    assert foreign.waybill_no not in str(error.value)
    # Nothing was queued from the refused request.
    assert printing.pull(terminal(rt, owner.tenant_id), ALLOW_EVERY, limit=10) == []


def test_a_purged_waybill_cannot_be_queued_and_its_pending_job_is_never_served(rt: Runtime) -> None:
    owner, [queued_then_purged, purged] = merchant(rt, orders=2)
    printing = service(rt)
    printing.queue(owner, ALLOW, [queued_then_purged.waybill_no], PDF_203)
    rt.waybills.shred_created_before(rt.clock() + timedelta(days=1), rt.clock())

    with pytest.raises(FieldError) as error:
        printing.queue(owner, ALLOW, [purged.waybill_no], PDF_203)
    assert error.value.field == "waybill_nos.0"
    assert printing.pull(terminal(rt, owner.tenant_id), ALLOW_EVERY, limit=10) == []


# --- tenant isolation ----------------------------------------------------------------------


def test_a_terminal_never_gets_or_touches_another_merchants_jobs(rt: Runtime) -> None:
    shop_a, [waybill_a] = merchant(rt, orders=1)
    shop_b, [waybill_b] = merchant(rt, orders=1)
    terminal_a, terminal_b = terminal(rt, shop_a.tenant_id), terminal(rt, shop_b.tenant_id)
    printing = service(rt)
    [job_a] = printing.queue(shop_a, ALLOW, [waybill_a.waybill_no], PDF_203)
    printing.queue(shop_b, ALLOW, [waybill_b.waybill_no], PDF_203)

    assert [label.job.waybill_id for label in printing.pull(terminal_b, ALLOW_EVERY, limit=10)] == [waybill_b.waybill_id]
    with pytest.raises(NotFound):
        printing.report_printed(terminal_b, ALLOW, job_a.job_id)
    with pytest.raises(NotFound):
        printing.reprint(terminal_b, ALLOW, job_a.job_id)
    assert [label.job.waybill_id for label in printing.pull(terminal_a, ALLOW_EVERY, limit=10)] == [waybill_a.waybill_id]


def test_a_merchant_cannot_queue_another_merchants_waybill(sqlite_rt: Runtime) -> None:
    shop_a, _ = merchant(sqlite_rt, orders=0)
    _, [waybill_b] = merchant(sqlite_rt, orders=1)
    with pytest.raises(FieldError):
        service(sqlite_rt).queue(shop_a, ALLOW, [waybill_b.waybill_no], PDF_203)


def test_a_subject_bound_to_no_merchant_sees_no_jobs(sqlite_rt: Runtime) -> None:
    admin = Subject(actor="user:admin", role=Role.PLATFORM_ADMIN)
    with pytest.raises(NotFound):
        service(sqlite_rt).pull(admin, ALLOW_EVERY, limit=1)


def test_a_denied_decision_stops_every_act(sqlite_rt: Runtime) -> None:
    owner, [waybill] = merchant(sqlite_rt, orders=1)
    device = terminal(sqlite_rt, owner.tenant_id)
    audit = AuditLog()
    printing = service(sqlite_rt, audit)
    [job] = printing.queue(owner, ALLOW, [waybill.waybill_no], PDF_203)
    deny = Decision(allowed=False, rule="test.deny")
    for act in (
        lambda: printing.queue(owner, deny, [waybill.waybill_no], PDF_203),
        lambda: printing.pull(device, lambda _: deny, 1),
        lambda: printing.report_printed(device, deny, job.job_id),
        lambda: printing.reprint(device, deny, job.job_id),
    ):
        with pytest.raises(NotAllowed):
            act()
    assert audit.events == []


# --- reprints -------------------------------------------------------------------------------


def test_reprints_are_counted_audited_and_capped(rt: Runtime) -> None:
    owner, [waybill] = merchant(rt, orders=1)
    device = terminal(rt, owner.tenant_id)
    audit = AuditLog()
    printing = service(rt, audit, reprint_limit=2)
    [job] = printing.queue(owner, ALLOW, [waybill.waybill_no], PDF_203)
    with pytest.raises(Conflict):
        printing.reprint(device, ALLOW, job.job_id)  # not pulled yet
    [original] = printing.pull(device, ALLOW_EVERY, limit=1)

    assert printing.reprint_count(waybill.waybill_id) == 0
    assert printing.reprint(device, ALLOW, job.job_id).body == original.body
    # Any terminal of the merchant may reprint (the first one may have jammed).
    printing.reprint(terminal(rt, owner.tenant_id), ALLOW, job.job_id)
    assert printing.reprint_count(waybill.waybill_id) == 2
    with pytest.raises(ReprintLimitReached):
        printing.reprint(device, ALLOW, job.job_id)
    assert printing.reprint_count(waybill.waybill_id) == 2

    reprints = [e for e in audit.events if e.action == "print_job.reprint"]
    assert [(e.outcome, e.detail.get("reprint")) for e in reprints] == [
        (Outcome.ALLOWED, "1"),
        (Outcome.ALLOWED, "2"),
        (Outcome.DENIED, None),
    ]
    assert reprints[-1].rule == "printing.reprint_limit" and reprints[-1].fields == ()
    assert all(e.detail["limit"] == "2" for e in reprints)


def test_a_waybill_never_queued_has_no_reprints(sqlite_rt: Runtime) -> None:
    assert service(sqlite_rt).reprint_count("no-such-waybill") == 0


# --- fail closed ------------------------------------------------------------------------------


def test_without_an_audit_log_no_label_leaves_and_the_jobs_stay_queued(rt: Runtime) -> None:
    owner, waybills = merchant(rt, orders=2)
    device = terminal(rt, owner.tenant_id)
    service(rt).queue(owner, ALLOW, [w.waybill_no for w in waybills], PDF_203)

    with pytest.raises(AuditUnavailable):
        service(rt, BrokenAuditLog()).pull(device, ALLOW_EVERY, limit=10)

    # Once the log is back, the same jobs are served: nothing was lost or handed out.
    served = service(rt).pull(device, ALLOW_EVERY, limit=10)
    assert [label.job.waybill_id for label in served] == [w.waybill_id for w in waybills]


def test_without_an_audit_log_no_reprint_leaves_and_none_is_counted(rt: Runtime) -> None:
    owner, [waybill] = merchant(rt, orders=1)
    device = terminal(rt, owner.tenant_id)
    printing = service(rt)
    [job] = printing.queue(owner, ALLOW, [waybill.waybill_no], PDF_203)
    printing.pull(device, ALLOW_EVERY, limit=1)

    with pytest.raises(AuditUnavailable):
        service(rt, BrokenAuditLog()).reprint(device, ALLOW, job.job_id)
    assert printing.reprint_count(waybill.waybill_id) == 0


def test_without_an_audit_log_a_print_report_changes_nothing(rt: Runtime) -> None:
    owner, [waybill] = merchant(rt, orders=1)
    device = terminal(rt, owner.tenant_id)
    printing = service(rt)
    [job] = printing.queue(owner, ALLOW, [waybill.waybill_no], PDF_203)
    printing.pull(device, ALLOW_EVERY, limit=1)

    with pytest.raises(AuditUnavailable):
        service(rt, BrokenAuditLog()).report_printed(device, ALLOW, job.job_id)
    assert waybill_status(rt, waybill.waybill_no) is WaybillStatus.CREATED


# --- what a terminal receives -------------------------------------------------------------------


@pytest.mark.parametrize("size", list(LabelSize))
def test_pulled_labels_show_only_masked_data(sqlite_rt: Runtime, size: LabelSize) -> None:
    owner, [waybill] = merchant(sqlite_rt, orders=1)
    device = terminal(sqlite_rt, owner.tenant_id)
    printing = service(sqlite_rt)
    printing.queue(owner, ALLOW, [waybill.waybill_no], PrintSettings(LabelFormat.PDF, size, 203))
    [label] = printing.pull(device, ALLOW_EVERY, limit=1)
    text = pdf_text(label.body)
    assert waybill.waybill_no in text and "欧阳*" in text and "5678" in text
    for value in PERSONAL_VALUES:
        assert value not in text, f"label leaks {value!r}"


@pytest.mark.parametrize("label_format", [LabelFormat.ZPL, LabelFormat.PNG])
def test_other_formats_are_rendered_as_queued(sqlite_rt: Runtime, label_format: LabelFormat) -> None:
    owner, [waybill] = merchant(sqlite_rt, orders=1)
    printing = service(sqlite_rt)
    printing.queue(owner, ALLOW, [waybill.waybill_no], PrintSettings(label_format, LabelSize.ONE_PLY_76X130, 300))
    [label] = printing.pull(terminal(sqlite_rt, owner.tenant_id), ALLOW_EVERY, limit=1)
    assert label.job.settings.dpi == 300
    assert label.body.startswith(b"^XA" if label_format is LabelFormat.ZPL else b"\x89PNG")
    if label_format is LabelFormat.ZPL:
        assert not any(value.encode() in label.body for value in PERSONAL_VALUES)


# --- `pwb terminals` ----------------------------------------------------------------------------


def test_cli_registers_lists_and_revokes_terminals(pwb_home) -> None:  # type: ignore[no-untyped-def]
    initialise(Settings())
    runner = CliRunner()
    added = runner.invoke(terminals_app, ["add", "--tenant", "default", "--name", "仓库1号机"])
    assert added.exit_code == 0, added.output
    token = added.stdout.strip()
    parts = split_terminal_token(token)
    assert parts is not None
    terminal_id = parts[0]

    rt = open_runtime(Settings())
    try:
        resolved = TerminalStore(rt.engine).authenticate(token)
        assert resolved is not None and resolved.tenant_id == "default" and resolved.name == "仓库1号机"
        listed = runner.invoke(terminals_app, ["list", "--tenant", "default"])
        assert listed.stdout.startswith(f"{terminal_id}\tactive\t") and token not in listed.stdout

        assert runner.invoke(terminals_app, ["revoke", terminal_id]).exit_code == 0
        assert TerminalStore(rt.engine).authenticate(token) is None
        assert runner.invoke(terminals_app, ["revoke", terminal_id]).exit_code == 2
    finally:
        rt.close()


def test_cli_refuses_an_unknown_tenant(pwb_home) -> None:  # type: ignore[no-untyped-def]
    initialise(Settings())
    result = CliRunner().invoke(terminals_app, ["add", "--tenant", "nobody", "--name", "x"])
    assert result.exit_code == 2 and result.stdout == ""


# --- concurrency -----------------------------------------------------------------------------


def test_terminals_pulling_at_once_never_get_the_same_job(rt: Runtime) -> None:
    owner, waybills = merchant(rt, orders=12)
    devices = [terminal(rt, owner.tenant_id) for _ in range(4)]
    printing = service(rt)
    printing.queue(owner, ALLOW, [w.waybill_no for w in waybills], PDF_203)

    def drain(device: Subject) -> list[str]:
        got: list[str] = []
        while batch := printing.pull(device, ALLOW_EVERY, limit=2):
            got.extend(label.job.waybill_id for label in batch)
        return got

    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        served = [waybill_id for got in pool.map(drain, devices) for waybill_id in got]
    assert sorted(served) == sorted(w.waybill_id for w in waybills)


def test_concurrent_reprints_never_pass_the_limit(rt: Runtime) -> None:
    owner, [waybill] = merchant(rt, orders=1)
    device = terminal(rt, owner.tenant_id)
    printing = service(rt, reprint_limit=3)
    [job] = printing.queue(owner, ALLOW, [waybill.waybill_no], PDF_203)
    printing.pull(device, ALLOW_EVERY, limit=1)

    def try_reprint(_: int) -> bool:
        try:
            printing.reprint(device, ALLOW, job.job_id)
        except ReprintLimitReached:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(try_reprint, range(8)))
    assert outcomes.count(True) == 3
    assert printing.reprint_count(waybill.waybill_id) == 3
