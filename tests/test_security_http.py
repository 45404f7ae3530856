"""Findings of the loopback probe about HTTP answers, files, keys and tickets: security headers,
body limits, owner-only files, the access log, no 5xx, opaque vault faults, API keys, the
existence oracle, per-purpose keys and `pwb tickets open`."""

from __future__ import annotations

import ast
import logging
import os
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.testclient import TestClient
from sqlalchemy import select

import privacy_waybill
from api_support import API, add_merchant, assert_problem, bearer, personal_order
from privacy_waybill.access.api_keys import Scope, new_api_key
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.api.guards import CONTENT_SECURITY_POLICY
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.logs import ScrubPersonalData
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.storage.tickets import REASONS
from privacy_waybill.vault.aead import unseal
from privacy_waybill.vault.errors import KeyStoreError
from privacy_waybill.vault.local_keys import RELOAD_INTERVAL_S
from privacy_waybill.vault.purpose_keys import ROTATABLE_PURPOSES, PurposeKeys
from security_support import staff


@pytest.fixture(scope="module")
def sqlite_rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PWB_HOME", str(tmp_path_factory.mktemp("security-home")))
        env.delenv("PWB_MASTER_SECRET", raising=False)
        env.delenv("PWB_DATABASE_URL", raising=False)
        settings = Settings()
        initialise(settings)
        runtime = open_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def client(sqlite_rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_rt)) as test_client:
        yield test_client


# --- finding 12: security headers and no-store ------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/t/anything", f"{API}/health", f"{API}/waybills", "/static/app.css"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def test_api_responses_with_personal_data_are_never_cached(client: TestClient, sqlite_rt: Runtime) -> None:
    token = add_merchant(sqlite_rt)
    created = client.post(f"{API}/orders", json=personal_order(), headers=bearer(token))
    assert created.status_code == 201
    decrypted = client.post(
        f"{API}/waybills/{created.json()['waybill_no']}/decrypt", json={"purpose": "customer_service"},
        headers=bearer(token),
    )  # fmt: skip
    assert decrypted.status_code == 200, decrypted.text
    for response in (created, decrypted, client.get(f"{API}/health")):
        assert response.headers.get_list("cache-control") == ["no-store"]


def test_the_docs_page_may_run_its_one_inline_script_and_nothing_else_may(client: TestClient) -> None:
    docs_policy = client.get("/docs").headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline'" in docs_policy
    assert "'unsafe-inline'" not in client.get("/").headers["content-security-policy"].split("style-src")[0]


# --- finding 10: JSON body size limits per route ------------------------------------------------


def test_a_declared_body_over_the_route_limit_is_refused_with_413_before_it_is_read(
    client: TestClient, sqlite_rt: Runtime
) -> None:
    token = add_merchant(sqlite_rt)
    big = b'{"orders": [' + b'{"order_id": "x"},' * 600_000 + b'{}]}'  # ~11 MB, over the 8 MiB batch limit
    response = client.post(
        f"{API}/orders/batch", content=big, headers={**bearer(token), "Content-Type": "application/json"}
    )
    body = assert_problem(response, 413)
    assert body["detail"] == f"The request body is over the limit of {sqlite_rt.settings.max_batch_bytes} bytes."


def test_a_single_order_route_has_a_small_limit(client: TestClient, sqlite_rt: Runtime) -> None:
    order = personal_order()
    order["remark"] = "x" * (sqlite_rt.settings.max_json_bytes + 1)
    response = client.post(f"{API}/orders", json=order, headers=bearer(add_merchant(sqlite_rt)))
    assert_problem(response, 413)


def test_a_chunked_body_is_counted_as_it_arrives(client: TestClient, sqlite_rt: Runtime) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"username": "'
        for _ in range(100):
            yield b"a" * 1024
        yield b'", "password": "x"}'

    response = client.post(f"{API}/auth/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert_problem(response, 413)


def test_a_content_length_that_is_not_a_number_is_a_400(client: TestClient) -> None:
    response = client.post(f"{API}/auth/login", content=b"{}", headers={"Content-Length": "12x"})
    assert response.status_code == 400


# --- finding 12: owner-only files ---------------------------------------------------------------


def test_pwb_home_database_wal_logs_and_anchors_are_owner_only(pwb_home, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    # The files in question are the embedded database's: this runs on SQLite in every pass.
    monkeypatch.delenv("PWB_DATABASE_URL", raising=False)
    from privacy_waybill.cli.main import app

    previous = os.umask(0o022)  # a typical login umask: files would be 0644 without the fix
    try:
        assert CliRunner().invoke(app, ["init"]).exit_code == 0
        assert CliRunner().invoke(app, ["demo", "--orders", "3"]).exit_code == 0
        assert CliRunner().invoke(app, ["audit", "verify"]).exit_code == 0
    finally:
        os.umask(previous)
    modes = {p.name: p.stat().st_mode & 0o777 for p in [pwb_home, *pwb_home.rglob("*")]}
    assert modes["home"] == 0o700
    for name in ("pwb.sqlite3", "pwb.log", "audit-anchors.jsonl", "master.key"):
        assert modes[name] == 0o600, (name, oct(modes[name]))
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes


# --- finding 15: the access log ----------------------------------------------------------------


def access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip


def test_the_access_log_keeps_paths_without_their_queries() -> None:
    record = access_record(f"{API}/audit/events?actor=%E6%AC%A7%E9%98%B3%E9%9C%87%E5%8D%8E&limit=5")
    ScrubPersonalData().filter(record)
    assert record.getMessage() == f'127.0.0.1:5000 - "GET {API}/audit/events HTTP/1.1" 200'


@pytest.mark.parametrize(
    "encoded",
    [
        "%31%33%38%31%32%33%34%35%36%37%38",
        "138%2E1234%2E5678",
        "138+1234+5678",
        "%E6%96%87%E4%B8%80%E8%A5%BF%E8%B7%AF969%E5%8F%B7",
    ],
)
def test_percent_encoded_personal_data_never_reaches_the_log(encoded: str) -> None:
    record = logging.LogRecord("privacy_waybill.api", logging.INFO, __file__, 1, "path /x/%s", (encoded,), None)
    ScrubPersonalData().filter(record)
    message = record.getMessage()
    assert "13812345678" not in message.replace(".", "").replace(" ", "")
    assert "969" not in message
    assert message.startswith("path ") and "[" in message


# --- findings 8 and 16: no request produces a 5xx -----------------------------------------------


def test_customer_service_listing_waybills_is_a_403_not_a_500(client: TestClient, sqlite_rt: Runtime) -> None:
    agent = staff(client, sqlite_rt, Role.CUSTOMER_SERVICE)
    body = assert_problem(client.get(f"{API}/waybills", headers=agent), 403)
    assert body["detail"] == "Only a merchant lists its own tenant's waybills."


@pytest.mark.parametrize(
    ("path", "field"),
    [("/waybills?offset=99999999999999999999999", "offset"),
     ("/audit/events?after_seq=99999999999999999999", "after_seq"),
     ("/audit/events?since=2026-11-23T08:00:00", "since"), ("/audit/events?until=2026-11-23T08:00:00", "until")],
)  # fmt: skip
def test_out_of_range_numbers_and_naive_times_are_a_422(
    client: TestClient, sqlite_rt: Runtime, path: str, field: str
) -> None:
    headers = bearer(add_merchant(sqlite_rt)) if path.startswith("/waybills") else staff(
        client, sqlite_rt, Role.SECURITY_AUDITOR
    )
    body = assert_problem(client.get(f"{API}{path}", headers=headers), 422)
    assert [e["field"] for e in body["errors"]] == [field]


def test_product_code_has_no_assert_statements() -> None:
    # `assert` vanishes under python -O and is a 500 otherwise: checks raise domain errors.
    package = Path(privacy_waybill.__file__).parent
    found = [
        f"{path.relative_to(package)}:{node.lineno}"
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


# --- finding 19: opaque vault and key-store faults ----------------------------------------------


def test_a_key_store_fault_is_an_opaque_503_with_an_incident_id_and_the_detail_only_in_the_log(
    client: TestClient, sqlite_rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = add_merchant(sqlite_rt)
    created = client.post(f"{API}/orders", json=personal_order(), headers=bearer(token)).json()

    def broken(*_: object, **__: object) -> None:
        raise KeyStoreError("key store /srv/pwb/keys/keys.json is unreadable")

    monkeypatch.setattr(sqlite_rt.vault, "open", broken)
    with caplog.at_level(logging.ERROR, logger="privacy_waybill.api"):
        response = client.post(
            f"{API}/waybills/{created['waybill_no']}/decrypt",
            json={"purpose": "customer_service"},
            headers=bearer(token),
        )
    body = assert_problem(response, 503)
    assert body["type"] == "urn:privacy-waybill:problem:vault-fault"
    assert "/srv" not in response.text and "keys.json" not in response.text
    incident = body["instance"].rsplit(":", 1)[1]
    assert re.fullmatch(r"[a-z]{12}", incident)
    logged = [ScrubPersonalData().filter(r) and r.getMessage() for r in caplog.records if incident in r.getMessage()]
    assert logged == [f"vault fault {incident}: KeyStoreError: key store /srv/pwb/keys/keys.json is unreadable"]


# --- finding 11: API keys, print scope, no existence oracle ---------------------------------------


def merchant_with_key_id(rt: Runtime) -> tuple[str, str, str]:
    token = add_merchant(rt)
    key_id = token.split("_")[1]
    tenant_id = rt.tenants.authenticate(token).tenant_id  # type: ignore[union-attr]
    return token, key_id, tenant_id


def test_a_merchant_lists_and_revokes_its_own_keys_only(client: TestClient, sqlite_rt: Runtime) -> None:
    token, key_id, tenant_id = merchant_with_key_id(sqlite_rt)
    spare = new_api_key()
    sqlite_rt.tenants.add_api_key(tenant_id, spare, (Scope.ORDERS_READ,), "spare", sqlite_rt.clock())
    listed = client.get(f"{API}/api-keys", headers=bearer(token))
    assert listed.status_code == 200
    assert sorted((k["key_id"], k["label"], k["revoked_at"]) for k in listed.json()) == sorted(
        [(key_id, "test", None), (spare.key_id, "spare", None)]
    )
    assert "secret" not in listed.text and spare.token not in listed.text
    other_token, other_key, _ = merchant_with_key_id(sqlite_rt)
    assert_problem(client.post(f"{API}/api-keys/{other_key}/revoke", headers=bearer(token)), 404)
    revoked = client.post(f"{API}/api-keys/{spare.key_id}/revoke", headers=bearer(token))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert sqlite_rt.tenants.authenticate(spare.token) is None
    assert sqlite_rt.tenants.authenticate(other_token) is not None
    assert [e.event().rule for e in sqlite_rt.audit.events(action="key.manage", tenant_id=tenant_id)] == [
        "merchant-keys", "merchant-keys", "merchant-keys"
    ]  # fmt: skip


def test_a_platform_admin_manages_any_tenants_keys_naming_the_tenant(client: TestClient, sqlite_rt: Runtime) -> None:
    _, key_id, tenant_id = merchant_with_key_id(sqlite_rt)
    admin = staff(client, sqlite_rt, Role.PLATFORM_ADMIN)
    assert_problem(client.get(f"{API}/api-keys", headers=admin), 422)
    listed = client.get(f"{API}/api-keys", params={"tenant_id": tenant_id}, headers=admin)
    assert [k["key_id"] for k in listed.json()] == [key_id]
    revoked = client.post(f"{API}/api-keys/{key_id}/revoke", params={"tenant_id": tenant_id}, headers=admin)
    assert revoked.status_code == 200


def test_another_tenants_waybill_answers_exactly_like_a_missing_one(client: TestClient, sqlite_rt: Runtime) -> None:
    owner, stranger = add_merchant(sqlite_rt), add_merchant(sqlite_rt)
    waybill_no = client.post(f"{API}/orders", json=personal_order(), headers=bearer(owner)).json()["waybill_no"]
    for path in ("", "/label"):
        foreign = client.get(f"{API}/waybills/{waybill_no}{path}", headers=bearer(stranger))
        missing = client.get(f"{API}/waybills/PW999999999999{path}", headers=bearer(stranger))
        assert (foreign.status_code, foreign.content) == (missing.status_code, missing.content)
        assert foreign.status_code == 404
    decrypt = client.post(
        f"{API}/waybills/{waybill_no}/decrypt", json={"purpose": "customer_service"}, headers=bearer(stranger)
    )
    assert (decrypt.status_code, decrypt.json()["detail"]) == (404, "no such waybill")
    denied = [e.event() for e in sqlite_rt.audit.events(waybill_id=None, action="waybill.decrypt", outcome=None)]
    assert any(e.outcome == "denied" and e.detail.get("unmet") == "own_tenant" for e in denied)


# --- finding 19: one rotatable key per purpose --------------------------------------------------


def test_each_purpose_has_its_own_key_and_rotating_one_leaves_the_others(sqlite_rt: Runtime) -> None:
    keys = PurposeKeys(sqlite_rt.keys)
    before = {p: keys.current(p) for p in ROTATABLE_PURPOSES}
    materials = [key for _, key in before.values()]
    platform_root = sqlite_rt.keys.blind_index_key("_platform").material
    assert len(set(materials)) == len(materials) and platform_root not in materials
    assert keys.rotate("device-id") == before["device-id"][0] + 1
    after = {p: keys.current(p) for p in ROTATABLE_PURPOSES}
    assert after["device-id"][1] != before["device-id"][1]
    assert keys.key("device-id", before["device-id"][0]) == before["device-id"][1]  # old version still readable
    assert {p: after[p] for p in ("rate-limit", "break-glass-reason")} == {
        p: before[p] for p in ("rate-limit", "break-glass-reason")
    }
    with pytest.raises(ValueError, match="unknown key purpose"):
        keys.current("no-such-purpose")


def test_a_running_server_follows_a_rate_limit_or_reason_key_rotation_made_by_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The throttle and the break-glass reasons take their key's current version at each use,
    as every other purpose does: a rotation made beside a running server applies within the
    key store's reload interval, not at its next restart."""
    monkeypatch.setenv("PWB_HOME", str(tmp_path))
    monkeypatch.delenv("PWB_MASTER_SECRET", raising=False)
    monkeypatch.delenv("PWB_DATABASE_URL", raising=False)
    settings = Settings()
    initialise(settings)
    serving = open_runtime(settings)
    try:
        # Built once per process, before the rotation.
        throttle, tickets = serving.throttle, serving.tickets
        client_tag = throttle.tag("client", "203.0.113.7")
        now = serving.clock()
        before = tickets.keep_reason("T-20261201-0001", "agent:1", "W1", "caller asked twice", now)
        elsewhere = open_runtime(settings)
        try:
            for purpose in ("rate-limit", "break-glass-reason"):
                assert elsewhere.rotate_purpose_key(purpose, "cli:test").version == 2
        finally:
            elsewhere.close()
        time.sleep(RELOAD_INTERVAL_S + 0.2)
        assert throttle.tag("client", "203.0.113.7") != client_tag
        after = tickets.keep_reason("T-20261201-0001", "agent:1", "W1", "caller asked twice", now)
        with serving.engine.connect() as conn:
            sealed = dict(conn.execute(select(REASONS.c.id, REASONS.c.sealed)).all())
        keys = PurposeKeys(serving.keys)
        associated = b"pwb break-glass reason/1|T-20261201-0001|W1"
        for reason_id, version in ((before, 1), (after, 2)):
            blob = sealed[reason_id]
            assert int.from_bytes(blob[:2], "big") == version
            opened = unseal(AESGCM(keys.key("break-glass-reason", version)), blob[2:], associated)
            assert opened == "caller asked twice".encode()
    finally:
        serving.close()


def test_pwb_tickets_open_names_a_tenants_waybills_and_refuses_a_bad_ticket_id(pwb_home) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from privacy_waybill.cli.main import app
    from privacy_waybill.storage.tickets import SqlTicketSystem

    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    rt = open_runtime(Settings())
    try:
        [outcome] = rt.issuance().issue("default", records_from_objects([personal_order()]), actor="test")
        number = outcome.waybill.waybill_no  # type: ignore[union-attr]
        refused = runner.invoke(app, ["tickets", "open", "13812345678", "--tenant", "default", "--waybill", number])
        assert refused.exit_code == 2 and "does not have the configured shape" in refused.output
        assert "13812345678" not in refused.output
        unknown = runner.invoke(app, ["tickets", "open", "T-20261201-0001", "--tenant", "default", "--waybill", "PW1"])
        assert unknown.exit_code == 2 and "--waybill 1: not a waybill of tenant 'default'" in unknown.output
        opened = runner.invoke(
            app, ["tickets", "open", "T-20261201-0001", "--tenant", "default", "--waybill", number, "--hours", "2"]
        )
        assert opened.exit_code == 0, opened.output
        ticket = SqlTicketSystem(rt.engine).ticket("T-20261201-0001")
        assert ticket is not None and ticket.tenant_id == "default"
        assert ticket.waybill_ids == {outcome.waybill.waybill_id}  # type: ignore[union-attr]
        assert ticket.expires_at - ticket.opened_at == timedelta(hours=2)
    finally:
        rt.close()
