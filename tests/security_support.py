"""Shared pieces of the security suite: one SQLite runtime per module and staff sessions."""

from __future__ import annotations

import uuid

import pyotp
from fastapi.testclient import TestClient

from api_support import API
from privacy_waybill.access.model import Role
from privacy_waybill.runtime import Runtime

PASSWORD = "correct horse battery staple"
DEVICE = "device-7f3a"


def staff(client: TestClient, rt: Runtime, role: Role, **scope: str) -> dict[str, str]:
    """A new user of `role` signed in over the API; returns the session's request headers."""
    username = f"{role.value.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    created = rt.identity.add_user(username, PASSWORD, role, rt.clock(), **scope)
    headers = {}
    if role is Role.COURIER:
        rt.identity.bind_device(username, DEVICE, rt.clock())
        headers["X-Device-Id"] = DEVICE
    code = pyotp.parse_uri(created.totp_uri).at(rt.clock()) if created.totp_uri else None  # type: ignore[union-attr]
    response = client.post(
        f"{API}/auth/login", json={"username": username, "password": PASSWORD, "totp": code}, headers=headers
    )
    assert response.status_code == 200, response.text
    return {**headers, "Authorization": f"Bearer {response.json()['token']}", "X-Actor": response.json()["actor"]}
