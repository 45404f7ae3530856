"""HTTP API tests: routes, RFC 9457 problems, auth, batches, labels, tracking, and no leaks.

Flows that touch storage run on SQLite and PostgreSQL (the `rt` fixture); pure HTTP-shape
tests share one SQLite runtime per module, each test with a merchant of its own.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_support import (
    API,
    ID_NUMBER,
    PERSONAL_VALUES,
    PROBLEM_JSON,
    RECIPIENT_ADDRESS,
    add_merchant,
    assert_no_personal_values,
    assert_problem,
    bearer,
    personal_order,
)
from cli_support import use_test_database
from conftest import TEST_DATABASE
from privacy_waybill.access.api_keys import Scope
from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.api.app import create_app
from privacy_waybill.audit.model import Outcome
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings


def fields_of(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem.get("errors", [])]


@pytest.fixture(scope="module")
def sqlite_rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One SQLite runtime for the module: tests that only check HTTP shapes share it."""
    with pytest.MonkeyPatch.context() as env:
        home = tmp_path_factory.mktemp("api-home")
        env.setenv("PWB_HOME", str(home))
        env.delenv("PWB_MASTER_SECRET", raising=False)
        use_test_database(env, home)
        runtime_settings = Settings()
        initialise(runtime_settings)
        runtime = open_runtime(runtime_settings)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def client(sqlite_rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_rt)) as test_client:
        yield test_client


@pytest.fixture
def auth(sqlite_rt: Runtime) -> dict[str, str]:
    """Headers of a fresh merchant on the shared SQLite runtime."""
    return bearer(add_merchant(sqlite_rt))


@pytest.fixture
def api(rt: Runtime) -> Iterator[TestClient]:
    """A client on each backend."""
    with TestClient(create_app(rt)) as test_client:
        yield test_client


# --- system routes ---------------------------------------------------------------------


def test_health_names_the_database(client: TestClient) -> None:
    response = client.get(f"{API}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    # The shared runtime is on the backend the run selects (PWB_TEST_DATABASE, see conftest).
    assert response.json()["database"] == ("postgresql" if TEST_DATABASE == "postgresql" else "sqlite")


def test_docs_serve_html(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/api/v1/openapi.json" in response.text


def test_openapi_lists_every_api_route(client: TestClient) -> None:
    paths = set(client.get(f"{API}/openapi.json").json()["paths"])
    api_routes = {
        route.path  # type: ignore[attr-defined]
        for route in client.app.routes  # type: ignore[attr-defined]
        if getattr(route, "path", "").startswith(API) and getattr(route, "include_in_schema", False)
    }
    assert api_routes - {f"{API}/openapi.json"} <= paths
    assert all(path.startswith(API) for path in paths)
    assert {
        f"{API}/orders",
        f"{API}/orders/batch",
        f"{API}/orders/upload",
        f"{API}/waybills/{{waybill_no}}/label",
        f"{API}/tracking/{{token}}",
    } <= paths


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/nothing-here"), 404)


# --- single orders (both backends) -----------------------------------------------------


def test_order_is_issued_masked_then_replayed(api: TestClient, rt: Runtime) -> None:
    headers = bearer(add_merchant(rt))
    order = personal_order()
    created = api.post(f"{API}/orders", json=order, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["order_id"] == order["order_id"]
    assert body["masked"]["recipient"] == {
        "name": "欧阳**",
        "phone": "*******5678",
        "address": "浙江省杭州市余杭区五常街道文一西路****",
    }
    assert body["masked"]["sender"]["phone"] == "*******4321"
    assert body["label_url"] == f"{API}/waybills/{body['waybill_no']}/label"
    assert_no_personal_values(created.text)

    replayed = api.post(f"{API}/orders", json=order, headers=headers)
    assert replayed.status_code == 200
    assert replayed.json()["waybill_no"] == body["waybill_no"]


def test_same_order_id_with_other_content_is_a_conflict(api: TestClient, rt: Runtime) -> None:
    headers = bearer(add_merchant(rt))
    order = personal_order()
    assert api.post(f"{API}/orders", json=order, headers=headers).status_code == 201
    changed = {**order, "weight_g": 1300}
    problem = assert_problem(api.post(f"{API}/orders", json=changed, headers=headers), 409)
    assert fields_of(problem) == ["order_id"]


def test_invalid_phone_is_named_by_field(api: TestClient, rt: Runtime) -> None:
    order = personal_order()
    order["recipient"]["phone"] = "12345"
    problem = assert_problem(api.post(f"{API}/orders", json=order, headers=bearer(add_merchant(rt))), 422)
    assert fields_of(problem) == ["recipient.phone"]
    assert problem["errors"][0]["reason"]


def test_unknown_district_is_named_by_field(api: TestClient, rt: Runtime) -> None:
    order = personal_order()
    order["recipient"]["address"] = "火星省奥林匹斯市无名区幸福路1号"
    problem = assert_problem(api.post(f"{API}/orders", json=order, headers=bearer(add_merchant(rt))), 422)
    assert fields_of(problem) == ["recipient.address"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda o: o["sender"].pop("name"), "sender.name"),
        (lambda o: o["items"][0].update(quantity=0), "items.0.quantity"),
        (lambda o: o.update(service="teleport"), "service"),
        (lambda o: o.update(order_id="has space"), "order_id"),
        (lambda o: o["recipient"].update(nickname="x"), "recipient.nickname"),
    ],
)
def test_structural_errors_name_the_field(client: TestClient, auth: dict[str, str], change: Any, field: str) -> None:
    order = personal_order()
    change(order)
    problem = assert_problem(client.post(f"{API}/orders", json=order, headers=auth), 422)
    assert field in fields_of(problem)


def test_malformed_json_is_a_problem_about_the_body(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        f"{API}/orders", content=b'{"order_id": ', headers={**auth, "Content-Type": "application/json"}
    )
    problem = assert_problem(response, 422)
    assert fields_of(problem) == ["body"]


def test_unexpected_error_is_a_bare_500_and_logs_only_its_type(
    sqlite_rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(sqlite_rt)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("failed for 欧阳震华 13812345678")

    # The default TestClient re-raises whatever reaches the server: here nothing may.
    with TestClient(app) as test_client:
        response = test_client.get("/boom")
    assert_problem(response, 500)
    assert_no_personal_values(response.text)
    assert "RuntimeError" in caplog.text
    assert_no_personal_values(caplog.text)


# --- no submitted value in any problem -------------------------------------------------


def _with(path: tuple[str | int, ...], value: Any, order_id: str | None = None) -> dict[str, Any]:
    order = personal_order(order_id)
    target: Any = order
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return order


_LONG = "欧阳震华13812345678文一西路969号西溪园区1201室" * 400
INVALID_ORDERS: dict[str, Any] = {
    "name too long": _with(("recipient", "name"), "欧阳震华" * 11),
    "phone invalid": _with(("recipient", "phone"), "13812345678-欧阳震华"),
    "phone not a phone": _with(("sender", "phone"), "13987654321司马翊瑄"),
    "district unknown": _with(("recipient", "address"), "火星省欧阳震华市文一西路969号西溪园区1201室"),
    "id number invalid": _with(("id_number",), ID_NUMBER[:-1] + "5"),
    "phone as number": _with(("recipient", "phone"), 13812345678),
    "name as list": _with(("recipient", "name"), ["欧阳震华", "13812345678"]),
    "address as number": _with(("sender", "address"), 13987654321),
    "address parts with junk": _with(
        ("recipient", "address"), {"district": "欧阳震华区", "detail": "文一西路969号西溪园区1201室"}
    ),
    "items as text": _with(("items",), "机密样品XJ42*2"),
    "weight as text": _with(("weight_g",), "欧阳震华"),
    "service as personal": _with(("service",), "13812345678"),
    "extra field": _with(("recipient", "nickname"), "欧阳震华"),
    "extra personal key": _with(("sender", "司马翊瑄13987654321"), "x"),
    "oversized address": _with(("recipient", "address"), _LONG),
    "oversized remark": _with(("remark",), _LONG),
    "oversized item": _with(("items",), [{"name": _LONG, "quantity": 1}]),
    "body is a list": [personal_order()],
    "body is a string": "欧阳震华 13812345678 " + RECIPIENT_ADDRESS,
}
_VALID_TEXT = json.dumps(personal_order("P-broken"), ensure_ascii=False)
MALFORMED_BODIES: dict[str, bytes] = {
    "truncated": _VALID_TEXT[: len(_VALID_TEXT) // 2].encode(),
    "trailing junk": (_VALID_TEXT + "欧阳震华").encode(),
    "single quotes": _VALID_TEXT.replace('"', "'").encode(),
    "gbk bytes": _VALID_TEXT.encode("gbk"),
}


@pytest.mark.parametrize("order", INVALID_ORDERS.values(), ids=INVALID_ORDERS.keys())
def test_invalid_order_problem_quotes_no_value(client: TestClient, auth: dict[str, str], order: Any) -> None:
    response = client.post(f"{API}/orders", json=order, headers=auth)
    assert_problem(response, 422)
    assert_no_personal_values(response.text)


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_malformed_body_problem_quotes_no_value(client: TestClient, auth: dict[str, str], body: bytes) -> None:
    response = client.post(f"{API}/orders", content=body, headers={**auth, "Content-Type": "application/json"})
    # Bytes that are not UTF-8 fail before JSON parsing: FastAPI answers 400, not 422.
    assert_problem(response, 400 if body == MALFORMED_BODIES["gbk bytes"] else 422)
    assert_no_personal_values(response.text)


def test_batch_and_upload_results_quote_no_value(client: TestClient, auth: dict[str, str]) -> None:
    orders = [o for o in INVALID_ORDERS.values() if isinstance(o, dict)] + [personal_order()]
    batch = client.post(f"{API}/orders/batch", json={"orders": orders}, headers=auth)
    assert batch.status_code == 200
    assert batch.json()["rejected"] == len(orders) - 1
    assert_no_personal_values(batch.text)

    lines = [json.dumps(o, ensure_ascii=False) for o in orders] + [_VALID_TEXT[:40], '["欧阳震华"]']
    upload = client.post(
        f"{API}/orders/upload", files={"file": ("orders.jsonl", "\n".join(lines).encode())}, headers=auth
    )
    assert upload.status_code == 200
    assert upload.json()["rejected"] == len(lines) - 1
    assert_no_personal_values(upload.text)


def test_lookups_by_personal_value_quote_no_value(client: TestClient, auth: dict[str, str]) -> None:
    for url in (
        f"{API}/waybills/13812345678",
        f"{API}/waybills/欧阳震华/label",
        f"{API}/tracking/13812345678",
        f"{API}/waybills?limit=13812345678",
    ):
        response = client.get(url, headers=auth)
        assert response.status_code in (404, 422)
        assert response.headers["content-type"] == PROBLEM_JSON
        assert_no_personal_values(response.text)
    response = client.get(f"{API}/waybills", headers=bearer("13812345678"))
    assert_problem(response, 401)
    assert_no_personal_values(response.text)


_PERSONAL_TEXT = st.sampled_from(PERSONAL_VALUES)
_JUNK = st.recursive(
    st.one_of(
        _PERSONAL_TEXT,
        _PERSONAL_TEXT.map(lambda v: v * 60),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(_PERSONAL_TEXT | st.sampled_from(["name", "phone", "district", "detail"]), inner, max_size=3)
    ),
    max_leaves=6,
)
_FIELD_PATHS: tuple[tuple[str | int, ...], ...] = (
    ("recipient",),
    ("recipient", "name"),
    ("recipient", "phone"),
    ("recipient", "address"),
    ("sender", "name"),
    ("sender", "phone"),
    ("sender", "address"),
    ("items",),
    ("items", 0),
    ("items", 0, "name"),
    ("items", 0, "quantity"),
    ("remark",),
    ("id_number",),
    ("weight_g",),
    ("service",),
    ("extra",),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_FIELD_PATHS), value=_JUNK)
def test_no_response_ever_quotes_a_personal_value(
    client: TestClient, auth: dict[str, str], path: tuple[str | int, ...], value: Any
) -> None:
    # The merchant's own order id is echoed by design; every other field may hold anything.
    response = client.post(f"{API}/orders", json=_with(path, value), headers=auth)
    assert response.status_code in (201, 422), response.text
    assert_no_personal_values(response.text)


# --- authentication and tenants --------------------------------------------------------


def test_missing_key_is_401_with_challenge(client: TestClient) -> None:
    response = client.get(f"{API}/waybills")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("token", ["pwb_0123456789abcdef_" + "A" * 43, "not-a-key", ""])
def test_bad_key_is_401(client: TestClient, token: str) -> None:
    assert_problem(client.get(f"{API}/waybills", headers=bearer(token)), 401)


def test_x_api_key_header_authenticates(client: TestClient, sqlite_rt: Runtime) -> None:
    response = client.get(f"{API}/waybills", headers={"X-API-Key": add_merchant(sqlite_rt)})
    assert response.status_code == 200
    assert response.json() == []


def test_key_without_scope_is_403(client: TestClient, sqlite_rt: Runtime) -> None:
    reader = bearer(add_merchant(sqlite_rt, scopes=(Scope.ORDERS_READ,)))
    problem = assert_problem(client.post(f"{API}/orders", json=personal_order(), headers=reader), 403)
    assert "orders:write" in problem["detail"]


def test_tenant_cannot_see_another_tenants_waybill(api: TestClient, rt: Runtime) -> None:
    owner, other = bearer(add_merchant(rt)), bearer(add_merchant(rt))
    waybill_no = api.post(f"{API}/orders", json=personal_order(), headers=owner).json()["waybill_no"]
    assert api.get(f"{API}/waybills/{waybill_no}", headers=owner).status_code == 200
    # Refused by the policy and audited, but answered like a missing waybill: a 403 would
    # confirm that the number exists (issue 7, finding 11).
    assert assert_problem(api.get(f"{API}/waybills/{waybill_no}", headers=other), 404)["detail"] == "no such waybill"
    assert_problem(api.get(f"{API}/waybills/{waybill_no}/label", headers=other), 404)
    assert api.get(f"{API}/waybills", headers=other).json() == []
    denials = [e.event() for e in rt.audit.events(action="waybill.read", outcome=Outcome.DENIED, limit=1000)]
    assert any(e.detail.get("unmet") == "own_tenant" for e in denials)


def test_order_ids_are_per_tenant(api: TestClient, rt: Runtime) -> None:
    order = personal_order()
    first = api.post(f"{API}/orders", json=order, headers=bearer(add_merchant(rt)))
    second = api.post(f"{API}/orders", json=order, headers=bearer(add_merchant(rt)))
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["waybill_no"] != second.json()["waybill_no"]


# --- batches and uploads ---------------------------------------------------------------


def test_batch_reports_each_record(api: TestClient, rt: Runtime, demo_order_dicts: list[dict[str, object]]) -> None:
    headers = bearer(add_merchant(rt))
    broken = copy.deepcopy(demo_order_dicts[1])
    broken["recipient"]["phone"] = "123"  # type: ignore[index]
    orders = [demo_order_dicts[0], broken, {"order_id": "X-1"}, demo_order_dicts[2]]
    response = api.post(f"{API}/orders/batch", json={"orders": orders}, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["issued"], body["replayed"], body["rejected"]) == (2, 0, 2)
    results = body["results"]
    assert [r["outcome"] for r in results] == ["issued", "rejected", "rejected", "issued"]
    assert results[1]["error"] == {"field": "recipient.phone", "reason": results[1]["error"]["reason"]}
    assert results[1]["order_id"] == broken["order_id"]
    assert results[2]["error"]["field"] == "recipient"
    assert results[0]["waybill"]["masked"]["recipient"]["phone"].startswith("*")

    again = api.post(f"{API}/orders/batch", json={"orders": orders[:1]}, headers=headers).json()
    assert (again["issued"], again["replayed"]) == (0, 1)


def test_empty_batch_is_a_problem(client: TestClient, auth: dict[str, str]) -> None:
    problem = assert_problem(client.post(f"{API}/orders/batch", json={"orders": []}, headers=auth), 422)
    assert fields_of(problem) == ["orders"]


CSV_HEADER = (
    "order_id,recipient_name,recipient_phone,recipient_address,sender_name,sender_phone,sender_address,items,weight_g\n"
)


def _csv_row(order: dict[str, Any]) -> str:
    r, s = order["recipient"], order["sender"]
    items = ";".join(f"{i['name']}*{i['quantity']}" for i in order["items"])
    return f"{order['order_id']},{r['name']},{r['phone']},{r['address']},{s['name']},{s['phone']},{s['address']},{items},{order['weight_g']}\n"


def test_csv_upload_issues_and_rejects_per_row(
    client: TestClient, auth: dict[str, str], demo_order_dicts: list[dict[str, Any]]
) -> None:
    bad = copy.deepcopy(demo_order_dicts[4])
    bad["items"] = [{"name": "茶", "quantity": "many"}]
    text = CSV_HEADER + _csv_row(demo_order_dicts[3]) + _csv_row(bad) + "only,three,cells\n"
    response = client.post(
        f"{API}/orders/upload", files={"file": ("orders.csv", text.encode(), "text/csv")}, headers=auth
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["issued"], body["rejected"]) == (1, 2)
    issued, bad_items, short_row = body["results"]
    assert (issued["position"], issued["outcome"]) == (2, "issued")
    assert bad_items["error"]["field"] == "items.0.quantity"
    assert (short_row["position"], short_row["error"]["field"]) == (4, "record")


def test_jsonl_upload_issues_orders(
    client: TestClient, auth: dict[str, str], demo_order_dicts: list[dict[str, Any]]
) -> None:
    text = "\n".join(json.dumps(o, ensure_ascii=False) for o in demo_order_dicts[5:8]) + "\n"
    response = client.post(
        f"{API}/orders/upload", files={"file": ("orders.ndjson", io.BytesIO(text.encode()))}, headers=auth
    )
    assert response.status_code == 200
    assert response.json()["issued"] == 3
    assert len(client.get(f"{API}/waybills", headers=auth).json()) == 3


def test_upload_with_unsupported_suffix_is_415(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(f"{API}/orders/upload", files={"file": ("orders.xlsx", b"PK\x03\x04")}, headers=auth)
    assert_problem(response, 415)


def test_upload_with_unknown_column_is_422(client: TestClient, auth: dict[str, str]) -> None:
    text = CSV_HEADER.replace("weight_g", "favourite_colour") + "A-1,欧阳震华,13812345678,x,y,z,w,v,blue\n"
    problem = assert_problem(
        client.post(f"{API}/orders/upload", files={"file": ("o.csv", text.encode())}, headers=auth), 422
    )
    assert "favourite_colour" in problem["detail"]
    assert_no_personal_values(json.dumps(problem, ensure_ascii=False))


def test_oversized_upload_is_413_and_issues_nothing(
    client: TestClient,
    auth: dict[str, str],
    sqlite_rt: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    demo_order_dicts: list[dict[str, Any]],
) -> None:
    monkeypatch.setattr(sqlite_rt.settings, "max_upload_bytes", 2048)
    text = "\n".join(json.dumps(o, ensure_ascii=False) for o in demo_order_dicts[10:20])
    assert len(text.encode()) > 2048
    assert_problem(
        client.post(f"{API}/orders/upload", files={"file": ("orders.jsonl", text.encode())}, headers=auth), 413
    )
    assert client.get(f"{API}/waybills", headers=auth).json() == []


def test_upload_without_file_is_422(client: TestClient, auth: dict[str, str]) -> None:
    problem = assert_problem(client.post(f"{API}/orders/upload", headers=auth), 422)
    assert fields_of(problem) == ["file"]


# --- waybills and labels ---------------------------------------------------------------


@pytest.fixture
def issued(client: TestClient, auth: dict[str, str]) -> dict[str, Any]:
    return client.post(f"{API}/orders", json=personal_order(), headers=auth).json()


def test_waybills_list_and_single(client: TestClient, auth: dict[str, str], issued: dict[str, Any]) -> None:
    second = client.post(f"{API}/orders", json=personal_order(), headers=auth).json()
    listed = client.get(f"{API}/waybills", headers=auth).json()
    assert {w["waybill_no"] for w in listed} == {issued["waybill_no"], second["waybill_no"]}
    assert len(client.get(f"{API}/waybills?limit=1", headers=auth).json()) == 1
    assert len(client.get(f"{API}/waybills?limit=1&offset=1", headers=auth).json()) == 1
    single = client.get(f"{API}/waybills/{issued['waybill_no'].lower()}", headers=auth).json()
    assert single["recipient"] == issued["masked"]["recipient"]  # merchants read the masked view
    assert single["sender"] == issued["masked"]["sender"]
    assert {k: single[k] for k in ("waybill_no", "order_id", "sort_code", "status")} == {
        k: issued[k] for k in ("waybill_no", "order_id", "sort_code", "status")
    }
    assert_problem(client.get(f"{API}/waybills?limit=0", headers=auth), 422)


LABEL_MAGIC = {
    "pdf": (b"%PDF-", "application/pdf"),
    "png": (b"\x89PNG\r\n\x1a\n", "image/png"),
    "zpl": (b"^XA", "application/zpl"),
}


@pytest.mark.parametrize("size", ["100x180", "76x130"])
@pytest.mark.parametrize("label_format", ["pdf", "png", "zpl"])
def test_label_download(
    client: TestClient, auth: dict[str, str], issued: dict[str, Any], label_format: str, size: str
) -> None:
    response = client.get(f"{issued['label_url']}?format={label_format}&size={size}", headers=auth)
    assert response.status_code == 200
    magic, media_type = LABEL_MAGIC[label_format]
    assert response.content.startswith(magic)
    assert response.headers["content-type"].startswith(media_type)
    assert f'filename="{issued["waybill_no"]}.{label_format}"' in response.headers["content-disposition"]
    if label_format == "zpl":
        assert response.content.rstrip().endswith(b"^XZ")
        assert_no_personal_values(response.content.decode("ascii"))


def test_label_at_300_dpi(client: TestClient, auth: dict[str, str], issued: dict[str, Any]) -> None:
    at_203 = client.get(f"{issued['label_url']}?format=zpl", headers=auth).content
    at_300 = client.get(f"{issued['label_url']}?format=zpl&dpi=300", headers=auth).content
    assert at_300.startswith(b"^XA") and at_300 != at_203


@pytest.mark.parametrize("query", ["dpi=250", "dpi=600", "dpi=abc", "format=gif", "size=A4"])
def test_bad_label_options_are_422(
    client: TestClient, auth: dict[str, str], issued: dict[str, Any], query: str
) -> None:
    problem = assert_problem(client.get(f"{issued['label_url']}?{query}", headers=auth), 422)
    assert fields_of(problem) == [query.split("=")[0]]


# --- tracking --------------------------------------------------------------------------


def _token(tracking_url: str) -> str:
    return tracking_url.rsplit("/t/", 1)[1]


def test_tracking_token_shows_status_only(api: TestClient, rt: Runtime) -> None:
    waybill = api.post(f"{API}/orders", json=personal_order(), headers=bearer(add_merchant(rt))).json()
    response = api.get(f"{API}/tracking/{_token(waybill['tracking_url'])}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"waybill_no", "status", "updated_at"}
    assert (body["waybill_no"], body["status"]) == (waybill["waybill_no"], "created")


def test_tampered_tracking_token_is_404(client: TestClient, issued: dict[str, Any]) -> None:
    token = _token(issued["tracking_url"])
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_problem(client.get(f"{API}/tracking/{tampered}"), 404)
    assert_problem(client.get(f"{API}/tracking/x"), 404)


def test_tracking_page_is_html(client: TestClient, issued: dict[str, Any]) -> None:
    response = client.get(f"/t/{_token(issued['tracking_url'])}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/static/track.js" in response.text


def test_console_page_is_html(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "/static/merchant.js" in response.text


# --- successful responses hold masked data only (both backends) --------------------------


def _demo_personal_values(orders: list[dict[str, Any]]) -> tuple[str, ...]:
    """Full and given names (2+ characters), phones and their first 7 digits, address detail below the road."""
    values: list[str] = []
    detail_levels = ("road_number", "poi", "building", "unit", "floor", "room", "remainder")
    for order in orders:
        for party in (order["recipient"], order["sender"]):
            values += [party["name"], party["phone"], party["phone"][:7], party["address"]]
            values += [party["name"][1:]] if len(party["name"]) >= 3 else []
            parsed = parse_address(party["address"])
            # Bare digits (a room "802") also occur in waybill numbers and times: check words.
            values += [part for part in (getattr(parsed, lv) for lv in detail_levels) if part and not part.isascii()]
    return tuple(values)


def test_successful_responses_hold_no_plaintext(
    api: TestClient, rt: Runtime, demo_order_dicts: list[dict[str, Any]]
) -> None:
    headers = bearer(add_merchant(rt))
    orders = demo_order_dicts[:12]
    values = PERSONAL_VALUES + _demo_personal_values(orders)
    responses = [
        api.post(f"{API}/orders", json=personal_order(), headers=headers),
        api.post(f"{API}/orders/batch", json={"orders": orders}, headers=headers),
        api.post(f"{API}/orders/batch", json={"orders": orders[:3]}, headers=headers),
    ]
    listed = api.get(f"{API}/waybills?limit=500", headers=headers)
    responses.append(listed)
    for waybill in listed.json():
        responses.append(api.get(f"{API}/waybills/{waybill['waybill_no']}", headers=headers))
        responses.append(api.get(f"{API}/tracking/{_token(waybill['tracking_url'])}"))
    assert len(listed.json()) == 13
    for response in responses:
        assert response.status_code in (200, 201)
        assert_no_personal_values(response.text, values)
