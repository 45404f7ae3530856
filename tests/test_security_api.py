"""The security console's API over HTTP, on SQLite and PostgreSQL: exact coverage and reveal
counts, trace cases and their report, canaries, audit verification, and who may call it."""

from __future__ import annotations

import uuid

import pyotp
import pytest
from fastapi.testclient import TestClient

from api_support import API, assert_problem, personal_order
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.runtime import Runtime

PASSWORD = "correct horse battery staple"
TENANT = "sec-shop"


@pytest.fixture
def client(rt: Runtime, identity: IdentityService) -> TestClient:
    return TestClient(create_app(rt))


def signed_in(client: TestClient, rt: Runtime, role: Role) -> dict[str, str]:
    username = f"{role.value.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    created = rt.identity.add_user(username, PASSWORD, role, rt.clock())
    code = pyotp.parse_uri(created.totp_uri).now() if created.totp_uri else None  # type: ignore[union-attr]
    body = {"username": username, "password": PASSWORD, "totp": code}
    return {"Authorization": f"Bearer {client.post(f'{API}/auth/login', json=body).json()['token']}"}


def test_coverage_and_reveals_count_exactly(client: TestClient, rt: Runtime) -> None:
    rt.tenants.ensure(TENANT, "Sec shop", rt.clock())
    orders = [personal_order(f"S-{i}") for i in range(3)]
    waybills = [o.waybill for o in rt.issuance().issue(TENANT, records_from_objects(orders), actor="test")]
    rt.audit.record_many(
        [
            AuditEvent(at=rt.clock(), actor="user:c", role=role, action=action, outcome=outcome, rule="r",
                       waybill_id=waybills[0].waybill_id)
            for role, action, outcome in [
                ("courier", "waybill.reveal", Outcome.ALLOWED), ("courier", "waybill.reveal", Outcome.ALLOWED),
                ("courier", "waybill.reveal", Outcome.DENIED), ("merchant", "waybill.decrypt", Outcome.ALLOWED),
                ("courier", "waybill.read", Outcome.ALLOWED),
            ]
        ]
    )  # fmt: skip
    auditor = signed_in(client, rt, Role.SECURITY_AUDITOR)
    today = rt.clock().date().isoformat()
    coverage = client.get(f"{API}/security/coverage", headers=auditor).json()
    assert [c for c in coverage if c["tenant_id"] == TENANT] == [
        {"tenant_id": TENANT, "day": today, "issued": 3, "masked": 3, "sealed": 3}
    ]
    reveals = client.get(f"{API}/security/reveals", headers=auditor).json()
    assert reveals == [
        {"day": today, "role": "courier", "action": "waybill.reveal", "count": 2},
        {"day": today, "role": "merchant", "action": "waybill.decrypt", "count": 1},
    ]


def test_trace_cases_canaries_and_verification(client: TestClient, rt: Runtime) -> None:
    auditor = signed_in(client, rt, Role.SECURITY_AUDITOR)
    files = {"file": ("leak.csv", "运单号\nPW000000000000000\n".encode(), "text/csv")}
    created = client.post(f"{API}/security/traces", files=files, headers=auditor)
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    cases = client.get(f"{API}/security/traces", headers=auditor).json()
    assert [(c["id"], c["leak_rows"], c["matched"]) for c in cases] == [(case_id, 1, 0)]
    assert client.get(f"{API}/security/traces/{case_id}", headers=auditor).json()["leak"]["unmatched"] == 1
    page = client.get(f"{API}/security/traces/{case_id}/report.html", headers=auditor)
    assert page.status_code == 200 and "泄露溯源报告" in page.text
    assert_problem(client.get(f"{API}/security/traces/tc_nope", headers=auditor), 404)
    unusable = {"file": ("leak.csv", b"colour\nblue\n", "text/csv")}
    bad = assert_problem(client.post(f"{API}/security/traces", files=unusable, headers=auditor), 422)
    assert [e["field"] for e in bad["errors"]] == ["header"]

    assert client.get(f"{API}/security/canaries", headers=auditor).json() == []
    assert client.get(f"{API}/security/audit/verify", headers=auditor).json()["checked_at"] is None
    verified = client.post(f"{API}/security/audit/verify", headers=auditor).json()
    assert verified["intact"] is True and verified["entries"] > 0 and verified["problem"] is None
    assert client.get(f"{API}/security/audit/verify", headers=auditor).json() == verified


def test_only_auditors_use_the_console_api(client: TestClient, rt: Runtime) -> None:
    courier = signed_in(client, rt, Role.CUSTOMER_SERVICE)
    for path in ("/security/coverage", "/security/reveals", "/security/accounts", "/security/traces"):
        assert_problem(client.get(f"{API}{path}", headers=courier), 403)
    assert_problem(client.get(f"{API}/security/coverage"), 401)
    assert_problem(client.post(f"{API}/security/accounts/freeze", json={"actor": "not an actor"}, headers=courier), 422)
