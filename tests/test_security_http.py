"""Findings of the loopback probe that concern every HTTP response: headers, body limits."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api_support import API, add_merchant, assert_problem, bearer, personal_order
from privacy_waybill.api.app import create_app
from privacy_waybill.api.guards import CONTENT_SECURITY_POLICY
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings


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
        f"{API}/waybills/{created.json()['waybill_no']}/decrypt", json={"purpose": "customer_contact"},
        headers=bearer(token),
    )  # fmt: skip
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


def test_pwb_home_database_wal_logs_and_anchors_are_owner_only(pwb_home) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

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
