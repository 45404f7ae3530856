"""The /api/v1/print-jobs routes: merchant queues, terminal pulls, reports and reprints.

Storage behaviour is tested on both backends in test_printing.py; these HTTP tests share one
SQLite runtime (the module's `rt`), each with merchants of its own. The policy is the lead's;
here `authorize` is a stand-in that allows (or denies) everything, so these tests check the
routes, scoping, audit and problem bodies.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from privacy_waybill.access.api_keys import MERCHANT_SCOPES, Scope, new_api_key
from privacy_waybill.access.model import Context, Decision, Resource, Subject
from privacy_waybill.api.deps import caller
from privacy_waybill.api.print_routes import print_router
from privacy_waybill.api.problems import install_problem_handlers
from privacy_waybill.audit.model import AuditSink
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.printing import PrintService, new_terminal
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.printing import PrintStore, TerminalStore
from test_printing import PERSONAL_VALUES, AuditLog, BrokenAuditLog, merchant, pdf_text, shared_sqlite_runtime

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"


def allow_all(subject: Subject, action: str, resource: Resource, context: Context) -> Decision:
    return Decision(
        allowed=True, rule=f"test.allow.{action}", fields={"name": "label", "phone": "label", "address": "label"}
    )


def deny_all(subject: Subject, action: str, resource: Resource, context: Context) -> Decision:
    return Decision(allowed=False, rule="test.deny")


def app_with(
    rt: Runtime,
    audit: AuditSink,
    authorize: Callable[[Subject, str, Resource, Context], Decision] = allow_all,
    reprint_limit: int = 3,
) -> FastAPI:
    """Only the print routes, with a stand-in policy and audit sink; callers resolve as in production."""
    app = FastAPI()
    install_problem_handlers(app)
    service = PrintService(PrintStore(rt.engine), rt.label_content, audit, rt.clock, reprint_limit)
    router = print_router(rt, service, authorize, terminal=caller(rt), merchant=caller(rt, Scope.LABELS_PRINT))
    app.include_router(router, prefix=API)
    return app


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    yield from shared_sqlite_runtime(tmp_path_factory.mktemp("print-api-home"))


@pytest.fixture
def audit() -> AuditLog:
    return AuditLog()


@pytest.fixture
def api(rt: Runtime, audit: AuditLog) -> Iterator[TestClient]:
    with TestClient(app_with(rt, audit)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def merchant_key(rt: Runtime, tenant_id: str, scopes: tuple[Scope, ...] = MERCHANT_SCOPES) -> dict[str, str]:
    key = new_api_key()
    rt.tenants.add_api_key(tenant_id, key, scopes, "test", rt.clock())
    return bearer(key.token)


def terminal_token(rt: Runtime, tenant_id: str) -> dict[str, str]:
    registered = new_terminal()
    TerminalStore(rt.engine).add(tenant_id, registered, "仓库1号机", rt.clock())
    return bearer(registered.token)


def shop(rt: Runtime, orders: int = 2) -> tuple[dict[str, str], dict[str, str], list[IssuedWaybill]]:
    """A merchant with issued waybills: (merchant headers, terminal headers, waybills)."""
    subject, waybills = merchant(rt, orders)
    tenant_id = subject.tenant_id or ""
    return merchant_key(rt, tenant_id), terminal_token(rt, tenant_id), waybills


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert_no_personal_values(response.text)
    return response.json()


def assert_no_personal_values(body: str) -> None:
    for value in PERSONAL_VALUES:
        assert value not in body and json.dumps(value)[1:-1] not in body, f"response leaks {value!r}"


def queue(
    api: TestClient, headers: dict[str, str], waybills: list[IssuedWaybill], **settings: object
) -> list[dict[str, Any]]:
    response = api.post(
        f"{API}/print-jobs", json={"waybill_nos": [w.waybill_no for w in waybills], **settings}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()["jobs"]


def test_queue_pull_print_and_reprint_over_http(rt: Runtime, api: TestClient, audit: AuditLog) -> None:
    merchant_headers, terminal_headers, waybills = shop(rt)
    jobs = queue(api, merchant_headers, waybills, format="pdf", size="76x130")
    assert [(j["waybill_no"], j["status"], j["size"]) for j in jobs] == [
        (w.waybill_no, "pending", "76x130") for w in waybills
    ]

    pulled = api.get(f"{API}/print-jobs/next", params={"limit": 5}, headers=terminal_headers)
    assert pulled.status_code == 200
    labels = pulled.json()["labels"]
    assert [label["job_id"] for label in labels] == [j["job_id"] for j in jobs]
    assert_no_personal_values(pulled.text)
    for label, waybill in zip(labels, waybills, strict=True):
        assert label["media_type"] == "application/pdf"
        text = pdf_text(base64.b64decode(label["label_base64"]))
        assert waybill.waybill_no in text
        assert not any(value in text for value in PERSONAL_VALUES)

    job_id = jobs[0]["job_id"]
    printed = api.post(f"{API}/print-jobs/{job_id}/printed", headers=terminal_headers)
    assert printed.status_code == 200 and printed.json()["status"] == "printed"
    assert rt.waybills.get_by_number(None, waybills[0].waybill_no).status.value == "printed"

    for count in (1, 2, 3):
        again = api.post(f"{API}/print-jobs/{job_id}/reprint", headers=terminal_headers)
        assert again.status_code == 200 and again.json()["label_base64"] == labels[0]["label_base64"], count
    refused = assert_problem(api.post(f"{API}/print-jobs/{job_id}/reprint", headers=terminal_headers), 429)
    assert "label_base64" not in refused

    assert [(e.action, e.outcome.value, e.rule) for e in audit.events] == [
        ("print_job.pull", "allowed", "test.allow.print_job.pull"),
        ("print_job.pull", "allowed", "test.allow.print_job.pull"),
        ("print_job.printed", "allowed", "test.allow.print_job.report"),
        *[("print_job.reprint", "allowed", "test.allow.print_job.reprint")] * 3,
        ("print_job.reprint", "denied", "printing.reprint_limit"),
    ]


def test_a_terminal_sees_and_touches_only_its_merchants_jobs(rt: Runtime, api: TestClient) -> None:
    merchant_a, _, waybills_a = shop(rt, orders=1)
    merchant_b, terminal_b, waybills_b = shop(rt, orders=1)
    [job_a] = queue(api, merchant_a, waybills_a)
    queue(api, merchant_b, waybills_b)

    pulled = api.get(f"{API}/print-jobs/next", headers=terminal_b).json()["labels"]
    assert [label["waybill_no"] for label in pulled] == [waybills_b[0].waybill_no]
    assert_problem(api.post(f"{API}/print-jobs/{job_a['job_id']}/printed", headers=terminal_b), 404)
    assert_problem(api.post(f"{API}/print-jobs/{job_a['job_id']}/reprint", headers=terminal_b), 404)
    # Nor can merchant B queue A's waybill; the problem names the position, not the number.
    body = assert_problem(
        api.post(f"{API}/print-jobs", json={"waybill_nos": [waybills_a[0].waybill_no]}, headers=merchant_b), 422
    )
    assert body["errors"] == [{"field": "waybill_nos.0", "reason": "is not a waybill of this merchant"}]
    assert waybills_a[0].waybill_no not in json.dumps(body)


def test_each_route_requires_its_own_kind_of_credential(rt: Runtime, audit: AuditLog) -> None:
    """No or bad credentials: 401. A valid credential of the wrong kind: the policy says 403."""
    merchant_headers, terminal_headers, waybills = shop(rt, orders=1)
    with TestClient(app_with(rt, audit, authorize=rt.access.require)) as api:
        [job] = queue(api, merchant_headers, waybills)
        body = {"waybill_nos": [waybills[0].waybill_no]}
        for bad in ({}, bearer("pwb_0123456789abcdef_" + "A" * 43)):
            assert_problem(api.post(f"{API}/print-jobs", json=body, headers=bad), 401)
        assert_problem(api.post(f"{API}/print-jobs", json=body, headers=terminal_headers), 403)
        for bad in ({}, bearer("pwt_0123456789abcdef_" + "A" * 43)):
            assert_problem(api.get(f"{API}/print-jobs/next", headers=bad), 401)
            assert_problem(api.post(f"{API}/print-jobs/{job['job_id']}/printed", headers=bad), 401)
        assert_problem(api.get(f"{API}/print-jobs/next", headers=merchant_headers), 403)
        assert_problem(api.post(f"{API}/print-jobs/{job['job_id']}/reprint", headers=merchant_headers), 403)
        for scopes in ((Scope.ORDERS_WRITE,), (Scope.LABELS_READ,), (Scope.ORDERS_READ, Scope.LABELS_READ)):
            without_print = merchant_key(rt, waybills[0].tenant_id, scopes)
            assert_problem(api.post(f"{API}/print-jobs", json=body, headers=without_print), 403)


def test_a_revoked_terminal_is_turned_away(rt: Runtime, api: TestClient) -> None:
    subject, _ = merchant(rt, orders=0)
    registered = new_terminal()
    store = TerminalStore(rt.engine)
    store.add(subject.tenant_id or "", registered, "t", rt.clock())
    store.revoke(registered.terminal_id, rt.clock())
    assert_problem(api.get(f"{API}/print-jobs/next", headers=bearer(registered.token)), 401)


def test_without_an_audit_log_no_label_is_sent(rt: Runtime, api: TestClient) -> None:
    merchant_headers, terminal_headers, waybills = shop(rt, orders=1)
    queue(api, merchant_headers, waybills)
    with TestClient(app_with(rt, BrokenAuditLog())) as blind:
        refused = assert_problem(blind.get(f"{API}/print-jobs/next", headers=terminal_headers), 503)
    assert "labels" not in refused
    # The job went back to the queue and is served once the log works.
    assert len(api.get(f"{API}/print-jobs/next", headers=terminal_headers).json()["labels"]) == 1


def test_a_policy_denial_is_a_403_problem(rt: Runtime, audit: AuditLog) -> None:
    merchant_headers, terminal_headers, waybills = shop(rt, orders=1)
    body = {"waybill_nos": [waybills[0].waybill_no]}
    with TestClient(app_with(rt, audit, authorize=deny_all)) as denied:
        assert_problem(denied.post(f"{API}/print-jobs", json=body, headers=merchant_headers), 403)
    with TestClient(app_with(rt, audit)) as allowed:
        assert allowed.post(f"{API}/print-jobs", json=body, headers=merchant_headers).status_code == 201
    with TestClient(app_with(rt, audit, authorize=deny_all)) as denied:
        # Each label is authorised against its real waybill; denied, the job goes back to the queue.
        assert_problem(denied.get(f"{API}/print-jobs/next", headers=terminal_headers), 403)
    assert audit.events == []
    with TestClient(app_with(rt, audit)) as allowed:
        assert len(allowed.get(f"{API}/print-jobs/next", headers=terminal_headers).json()["labels"]) == 1


def test_request_limits_are_problems_naming_the_field(rt: Runtime, api: TestClient) -> None:
    merchant_headers, terminal_headers, waybills = shop(rt, orders=1)
    no = waybills[0].waybill_no
    cases = [
        ({"waybill_nos": []}, "waybill_nos"),
        ({"waybill_nos": [no], "dpi": 600}, "dpi"),
        ({"waybill_nos": [no], "format": "tiff"}, "format"),
        ({"waybill_nos": [no] * 501}, "waybill_nos"),
    ]
    for body, field in cases:
        problem = assert_problem(api.post(f"{API}/print-jobs", json=body, headers=merchant_headers), 422)
        assert [e["field"] for e in problem["errors"]] == [field], body
    assert_problem(api.get(f"{API}/print-jobs/next", params={"limit": 51}, headers=terminal_headers), 422)


def test_the_shipped_access_policy_lets_merchants_queue_and_their_terminals_print(rt: Runtime, audit: AuditLog) -> None:
    merchant_headers, terminal_headers, waybills = shop(rt, orders=1)
    with TestClient(app_with(rt, audit, authorize=rt.access_policy.authorize)) as api:
        [job] = queue(api, merchant_headers, waybills)
        assert len(api.get(f"{API}/print-jobs/next", headers=terminal_headers).json()["labels"]) == 1
        assert api.post(f"{API}/print-jobs/{job['job_id']}/printed", headers=terminal_headers).status_code == 200
        assert api.post(f"{API}/print-jobs/{job['job_id']}/reprint", headers=terminal_headers).status_code == 200
    assert {e.rule for e in audit.events} == {"terminal-print"}
    assert audit.events[0].fields == ("address", "name", "phone")


def test_a_collected_waybill_is_neither_queued_nor_pulled_and_printing_follows_the_lifecycle(
    rt: Runtime, api: TestClient
) -> None:
    merchant_headers, terminal_headers, waybills = shop(rt, orders=2)
    queued = api.post(
        f"{API}/print-jobs", json={"waybill_nos": [w.waybill_no for w in waybills]}, headers=merchant_headers
    )
    assert queued.status_code == 201
    # One parcel is printed elsewhere and collected before the terminal pulls its job.
    moved = rt.waybills.transition(waybills[0], WaybillStatus.PRINTED, "test", rt.clock())
    rt.waybills.transition(moved, WaybillStatus.COLLECTED, "test", rt.clock())
    labels = api.get(f"{API}/print-jobs/next", headers=terminal_headers).json()["labels"]
    assert [label["waybill_no"] for label in labels] == [waybills[1].waybill_no]
    again = api.post(f"{API}/print-jobs", json={"waybill_nos": [waybills[0].waybill_no]}, headers=merchant_headers)
    problem = assert_problem(again, 422)
    assert problem["errors"] == [
        {"field": "waybill_nos.0", "reason": "is past printing in its lifecycle (already collected)"}
    ]
