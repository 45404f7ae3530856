"""Tracking, pickup and portal endpoints are in the OpenAPI document, each with examples."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from privacy_waybill.api.app import create_app
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings

OPERATIONS = [
    ("get", "/api/v1/track/{waybill_no}"),
    ("post", "/api/v1/stations/check-ins"),
    ("get", "/api/v1/stations/parcels"),
    ("post", "/api/v1/stations/identity-code"),
    ("post", "/api/v1/stations/pickups"),
    ("post", "/api/v1/recipient/otp/request"),
    ("post", "/api/v1/recipient/otp/verify"),
    ("get", "/api/v1/recipient/parcels"),
    ("get", "/api/v1/recipient/parcels/{waybill_no}/timeline"),
    ("get", "/api/v1/recipient/who-saw-my-data"),
    ("put", "/api/v1/recipient/preferences"),
    ("post", "/api/v1/recipient/leak-reports"),
]


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PWB_HOME", str(tmp_path_factory.mktemp("openapi-home")))
        env.delenv("PWB_MASTER_SECRET", raising=False)
        env.delenv("PWB_DATABASE_URL", raising=False)
        settings = Settings()
        initialise(settings)
        rt: Runtime = open_runtime(settings)
    body = TestClient(create_app(rt)).get("/api/v1/openapi.json").json()
    rt.close()
    return body


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("type") == "array":
        return _resolve(document, schema["items"])
    return schema


def _has_examples(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    resolved = _resolve(document, schema)
    return "examples" in resolved or any("examples" in p for p in resolved.get("properties", {}).values())


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_the_operation_is_documented_with_examples(document: dict[str, Any], method: str, path: str) -> None:
    operation = document["paths"][path][method]
    assert operation.get("description") or operation.get("summary")
    schemas = [
        content["schema"]
        for part in (operation.get("requestBody", {}), *operation["responses"].values())
        for content in part.get("content", {}).values()
        if "schema" in content
    ]
    parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
    assert any(_has_examples(document, s) for s in schemas) or any("examples" in p.get("schema", {}) or "examples" in p for p in parameters)
