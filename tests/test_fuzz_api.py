"""API fuzzing: schemathesis over the whole OpenAPI document, as every kind of caller.

Bounded and seeded here (make test): every operation, as each role, with a few generated
requests each; no response may be a 5xx and every documented response must match its
schema. `make fuzz` runs the same with many more examples (PWB_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api_support import add_merchant, bearer, personal_order
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.printing import new_terminal
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.storage.printing import TerminalStore
from security_support import staff

EXAMPLES = int(os.environ.get("PWB_FUZZ_EXAMPLES", "6"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # seeded: the same requests every run, so a failure is reproducible
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
CALLERS = ["anonymous", "merchant", "customer_service", "security_auditor", "courier", "station_clerk",
           "platform_admin", "print_terminal"]  # fmt: skip


def _fuzz_runtime() -> Runtime:
    """A SQLite runtime of its own, made at import: schemathesis reads the schema at collection."""
    home = Path(tempfile.mkdtemp(prefix="pwb-fuzz-"))
    runtime_settings = Settings(home=home, database_url=f"sqlite:///{home / 'fuzz.sqlite3'}", redis_url=None)
    initialise(runtime_settings)
    return open_runtime(runtime_settings)


FUZZ_RT = _fuzz_runtime()
APP = create_app(FUZZ_RT)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@pytest.fixture(scope="module")
def credentials() -> Iterator[dict[str, dict[str, str]]]:
    fuzz_rt = FUZZ_RT
    client = TestClient(APP)
    token = add_merchant(fuzz_rt)
    # Some real data, so that generated look-ups sometimes hit something.
    for _ in range(3):
        client.post("/api/v1/orders", json=personal_order(), headers=bearer(token))
    tenant_id = fuzz_rt.tenants.authenticate(token).tenant_id  # type: ignore[union-attr]
    terminal = new_terminal()
    TerminalStore(fuzz_rt.engine).add(tenant_id, terminal, "fuzz", fuzz_rt.clock())
    found = {
        "anonymous": {},
        "merchant": bearer(token),
        "print_terminal": bearer(terminal.token),
    }
    for role, scope in (
        (Role.CUSTOMER_SERVICE, {}),
        (Role.SECURITY_AUDITOR, {}),
        (Role.COURIER, {}),
        (Role.STATION_CLERK, {"station": "HZ10"}),
        (Role.PLATFORM_ADMIN, {}),
    ):
        headers = staff(client, fuzz_rt, role, **scope)
        headers.pop("X-Actor")
        found[role.value] = headers
    yield found
    fuzz_rt.close()
    shutil.rmtree(fuzz_rt.settings.home, ignore_errors=True)


@schema.parametrize()
@FUZZ
def test_no_request_gets_a_5xx_and_every_answer_matches_its_schema(  # type: ignore[no-untyped-def]
    case, credentials
) -> None:
    # Each generated request is sent as every kind of caller: what differs is who may do what.
    for caller in CALLERS:
        headers = {**(case.headers or {}), **credentials[caller]}
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])
