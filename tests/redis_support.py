"""A Redis for tests: PWB_TEST_REDIS_URL (default the local server), keys under a fresh prefix.

Unreachable Redis skips the test with a loud reason, and fails it under CI, as PostgreSQL does.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

REDIS_URL = os.environ.get("PWB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_client() -> Iterator[tuple[redis.Redis, str]]:
    """A connected client and a unique key prefix; the prefix's keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI: {type(error).__name__}")
        pytest.skip(f"Redis UNREACHABLE at {REDIS_URL} ({type(error).__name__}); Redis tests did not run")
    prefix = f"pwb-test-{uuid.uuid4().hex[:10]}"
    try:
        yield client, prefix
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
