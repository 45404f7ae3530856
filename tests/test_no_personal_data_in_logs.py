"""Every endpoint, with good and bad input, behind the real server and the product's logging:
no log line and no problem body carries a submitted personal value."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from api_support import API, PERSONAL_VALUES, add_merchant, bearer, personal_order
from browser_support import free_port, serve
from privacy_waybill.api.app import create_app
from privacy_waybill.logs import configure_logging
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings


@pytest.fixture
def logged_server(pwb_home: Path) -> Iterator[tuple[str, Runtime, Path]]:
    settings = Settings()
    initialise(settings)
    rt = open_runtime(settings)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    log_file = configure_logging(settings.log_dir, level=logging.DEBUG)
    try:
        with serve(create_app(rt), free_port(), log_config=None, access_log=True, log_level="debug") as url:
            yield url, rt, log_file
    finally:
        for handler in list(root.handlers):
            handler.close()
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        rt.close()


def exercise_every_endpoint(client: httpx.Client, rt: Runtime) -> list[httpx.Response]:
    """Good requests and bad ones, as a careless or hostile client would send them."""
    auth = bearer(add_merchant(rt))
    other = bearer(add_merchant(rt))
    order = personal_order()
    bad_phone = {**personal_order(), "recipient": {**order["recipient"], "phone": "1381234567X"}}
    bad_address = {**personal_order(), "recipient": {**order["recipient"], "address": "欧阳震华家13812345678"}}
    wrong_types = {**personal_order(), "weight_g": "13812345678", "items": "欧阳震华"}
    extra = {**personal_order(), "欧阳震华": "13812345678"}
    responses = [
        client.get(f"{API}/health"),
        created := client.post(f"{API}/orders", json=order, headers=auth),
        client.post(f"{API}/orders", json=order, headers=auth),
        client.post(f"{API}/orders", json={**order, "remark": "改了"}, headers=auth),
        client.post(f"{API}/orders", json=bad_phone, headers=auth),
        client.post(f"{API}/orders", json=bad_address, headers=auth),
        client.post(f"{API}/orders", json=wrong_types, headers=auth),
        client.post(f"{API}/orders", json=extra, headers=auth),
        client.post(
            f"{API}/orders",
            content=b'{"recipient": {"name": "\xe6\xac\xa7\xe9\x98\xb3\xe9\x9c\x87\xe5\x8d\x8e"',
            headers={**auth, "content-type": "application/json"},
        ),
        client.post(f"{API}/orders", json=order),
        client.post(f"{API}/orders", json=order, headers=bearer("pwb_13812345678")),
        client.post(f"{API}/orders/batch", json={"orders": [personal_order(), bad_phone, "欧阳震华"]}, headers=auth),
        client.post(
            f"{API}/orders/upload",
            files={"file": ("o.csv", "order_id,欧阳震华\nA,13812345678\n".encode())},
            headers=auth,
        ),
        client.post(f"{API}/orders/upload", files={"file": ("o.txt", b"13812345678")}, headers=auth),
        client.get(f"{API}/waybills", headers=auth),
    ]
    waybill_no = created.json()["waybill_no"]
    tracking = created.json()["tracking_url"].rsplit("/", 1)[1]
    responses += [
        client.get(f"{API}/waybills/{waybill_no}", headers=auth),
        client.get(f"{API}/waybills/{waybill_no}", headers=other),
        client.get(f"{API}/waybills/PW13812345678000", headers=auth),
        client.get(f"{API}/waybills/{waybill_no}/label?format=zpl", headers=auth),
        client.get(f"{API}/waybills/{waybill_no}/label?dpi=250", headers=auth),
        client.post(f"{API}/waybills/{waybill_no}/reveal", json={"purpose": "deliver"}, headers=auth),
        client.post(f"{API}/waybills/{waybill_no}/decrypt", json={"purpose": "curiosity"}, headers=auth),
        client.post(
            f"{API}/waybills/{waybill_no}/break-glass",
            json={"ticket": "T-1", "reason": "欧阳震华 13812345678"},
            headers=auth,
        ),
        client.post(
            f"{API}/waybills/{waybill_no}/events", json={"status": "collected", "place": "欧阳震华"}, headers=auth
        ),
        client.post(f"{API}/waybills/{waybill_no}/events", json={"status": "in_transit"}, headers=auth),
        client.get(f"{API}/tracking/{tracking}"),
        client.get(f"{API}/tracking/13812345678"),
        client.get(f"{API}/audit/events?actor=13812345678", headers=auth),
        # Percent-encoded, as browsers and HTTP clients send them (issue 7, finding 15).
        client.get(f"{API}/audit/events?actor={quote('欧阳震华')}&waybill_id={quote('西溪园区1201室')}", headers=auth),
        client.get(f"{API}/tracking/{quote('欧阳震华 13812345678')}"),
        client.get(f"{API}/alerts", headers=auth),
        client.get(f"/t/{tracking}"),
    ]
    # Sign-in, one-time codes and printing, with personal values where careless clients put them.
    responses += [
        client.post(f"{API}/auth/login", json={"username": "欧阳震华", "password": "13812345678", "totp": "123456"}),
        client.post(f"{API}/auth/login", json={"username": "13812345678"}),
        client.post(f"{API}/auth/otp/request", json={"phone": "13812345678"}),
        client.post(f"{API}/auth/otp/verify", json={"phone": "13812345678", "code": "000000"}),
        client.post(f"{API}/auth/otp/verify", json={"phone": "欧阳震华13812345678", "code": "13812345678"}),
        client.get(f"{API}/auth/session", headers=bearer("13812345678")),
        client.post(f"{API}/print-jobs", json={"waybill_nos": [waybill_no, "13812345678"]}, headers=auth),
        client.post(f"{API}/print-jobs", json={"waybill_nos": [waybill_no]}, headers=auth),
        client.get(f"{API}/print-jobs/next", headers=auth),
        client.post(f"{API}/print-jobs/13812345678/reprint", headers=auth),
    ]
    # Tracking by number, the station desk and the recipient portal (issue 9).
    responses += [
        client.get(f"{API}/track/{waybill_no}?last4=5678"),
        client.get(f"{API}/track/13812345678"),
        client.get(f"{API}/track/{waybill_no}?last4=13812345678"),
        client.post(f"{API}/stations/check-ins", json={"waybill_no": "欧阳震华"}, headers=auth),
        client.get(f"{API}/stations/parcels?last4=13812345678", headers=auth),
        client.post(f"{API}/stations/pickups", json={"method": "pickup_code", "pickup_code": "13812345678"}, headers=auth),
        client.post(f"{API}/stations/identity-code", json={"identity_code": "欧阳震华13812345678"}, headers=auth),
        client.post(f"{API}/recipient/otp/request", json={"phone": "13812345678"}),
        client.post(f"{API}/recipient/otp/verify", json={"phone": "13812345678", "code": "欧阳震华"}),
        client.get(f"{API}/recipient/parcels", headers=bearer("pwr_13812345678")),
    ]
    [otp] = rt.notifications.recent(limit=1, to="+8613812345678", template="recipient.otp")
    assert otp.body is not None
    signed = client.post(f"{API}/recipient/otp/verify", json={"phone": "13812345678", "code": otp.body.data["code"]})
    recipient = bearer(signed.json()["token"])
    responses += [
        client.post(
            f"{API}/recipient/leak-reports",
            json={"kind": "calls", "text": "欧阳震华 13812345678 文一西路969号", "waybill_nos": [waybill_no]},
            headers=recipient,
        ),
        client.post(
            f"{API}/recipient/leak-reports", json={"kind": "欧阳震华", "waybill_nos": ["13812345678"]}, headers=recipient
        ),
        client.get(f"{API}/recipient/parcels/13812345678/timeline", headers=recipient),
    ]
    # The one disclosure a merchant may make: its own order, with a purpose, audited.
    decrypted = client.post(f"{API}/waybills/{waybill_no}/decrypt", json={"purpose": "customer_service"}, headers=auth)
    assert decrypted.status_code == 200 and decrypted.json()["recipient"]["name"] == "欧阳震华"
    return responses


def test_no_log_line_or_problem_body_carries_personal_data(logged_server) -> None:  # type: ignore[no-untyped-def]
    url, rt, log_file = logged_server
    with httpx.Client(base_url=url, timeout=30) as client:
        responses = exercise_every_endpoint(client, rt)
    problems = [r for r in responses if r.status_code >= 400]
    assert {r.status_code for r in problems} >= {401, 403, 404, 409, 415, 422}
    assert any(r.request.url.path.endswith("/otp/request") and r.status_code == 202 for r in responses)
    for response in problems:
        assert response.headers["content-type"] == "application/problem+json"
        for value in PERSONAL_VALUES:
            assert value not in response.text, (response.request.url.path, value)
    for handler in logging.getLogger().handlers:
        handler.flush()
    logged = log_file.read_text(encoding="utf-8")
    assert "POST /api/v1/orders" in logged  # the server did log, through our handlers
    for value in PERSONAL_VALUES:
        assert value not in logged, value
        assert quote(value) not in logged and quote_plus(value) not in logged, value
