"""Shared pieces of the HTTP tests: a recognisable personal order, merchants, problem checks."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import timedelta
from typing import Any

from privacy_waybill.access.api_keys import MERCHANT_SCOPES, Scope, new_api_key
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage.tickets import SqlTicketSystem
from privacy_waybill.tickets import Ticket

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"

RECIPIENT_ADDRESS = "浙江省杭州市余杭区五常街道文一西路969号西溪园区5号楼3单元1201室"
SENDER_ADDRESS = "北京市海淀区中关村街道中关村大街27号华芯大厦8层806室"
ID_NUMBER = "360426199101010071"
# Everything an order carries that must never come back in a response: full names, given
# names, full phones and all but their last four digits, address detail below the road,
# the ID number, the remark and the item names (labels show a contents category only).
PERSONAL_VALUES: tuple[str, ...] = (
    "欧阳震华",
    "震华",
    "13812345678",
    "1381234",
    "969号",
    "西溪园区",
    "1201室",
    "司马翊瑄",
    "翊瑄",
    "13987654321",
    "1398765",
    "27号",
    "华芯大厦",
    "806室",
    ID_NUMBER,
    "机密样品",
    "打电话给",
)
_order_numbers = itertools.count(1)


def personal_order(order_id: str | None = None) -> dict[str, Any]:
    """A valid order whose every personal field holds a recognisable value."""
    return {
        "order_id": order_id or f"P-{next(_order_numbers):06d}",
        "recipient": {"name": "欧阳震华", "phone": "13812345678", "address": RECIPIENT_ADDRESS},
        "sender": {"name": "司马翊瑄", "phone": "13987654321", "address": SENDER_ADDRESS},
        "items": [{"name": "机密样品XJ42", "quantity": 2}],
        "remark": "到了打电话给欧阳震华",
        "id_number": ID_NUMBER,
        "weight_g": 1200,
    }


def assert_no_personal_values(body: str, values: tuple[str, ...] = PERSONAL_VALUES) -> None:
    for value in values:
        escaped = json.dumps(value)[1:-1]  # the same value as a JSON \\u escape
        assert value not in body and escaped not in body, f"response leaks {value!r}"


def add_merchant(rt: Runtime, scopes: tuple[Scope, ...] = MERCHANT_SCOPES) -> str:
    """A new tenant with one API key; returns the key's token."""
    tenant_id = f"m-{uuid.uuid4().hex[:10]}"
    rt.tenants.ensure(tenant_id, "Test merchant", rt.clock())
    key = new_api_key()
    rt.tenants.add_api_key(tenant_id, key, scopes, "test", rt.clock())
    return key.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"]
    return body


def open_ticket(rt: Runtime, ticket_id: str, *waybills: IssuedWaybill, hours: int = 4) -> str:
    """A break-glass ticket in the built-in ticket system naming `waybills`, open from now."""
    [tenant] = {w.tenant_id for w in waybills}
    now = rt.clock()
    ids = frozenset(w.waybill_id for w in waybills)
    SqlTicketSystem(rt.engine).open(Ticket(ticket_id, tenant, ids, "test", now, now + timedelta(hours=hours)))
    return ticket_id
