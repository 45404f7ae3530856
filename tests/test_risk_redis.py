"""The scaled-out transport for real: audit entries published to a Redis stream by the log's
observer, read by a consumer group, run through the engine and acknowledged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.risk.engine import RiskEngine
from privacy_waybill.risk.rules import load_risk_rules
from privacy_waybill.storage.risk_stream import RedisAuditPublisher, RedisRiskConsumer, decode_event, encode_event

REDIS_URL = "redis://127.0.0.1:6379/0"
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def client() -> redis.Redis:
    connection = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        connection.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"Redis is unreachable at {REDIS_URL}: {error}")
    return connection


def event(i: int, device: str) -> AuditEvent:
    return AuditEvent(at=T0 + timedelta(minutes=i), actor="user:c1", role="courier", action="waybill.reveal",
                      outcome=Outcome.ALLOWED, rule="courier-reveal", waybill_id=f"w{i}", device=device,
                      fields=("address",), detail={"ticket": "T-1"})  # fmt: skip


def test_an_event_survives_the_wire_unchanged() -> None:
    original = event(1, "d1")
    assert decode_event(encode_event(7, original)) == (7, original)


def test_published_entries_reach_the_engine_through_a_consumer_group_and_are_acknowledged(client: redis.Redis) -> None:
    stream = f"pwb:test:{uuid.uuid4().hex}"
    try:
        publish = RedisAuditPublisher(client, stream)
        publish([(i, event(i, f"d{i}")) for i in range(1, 4)])  # three devices in three minutes
        engine = RiskEngine(load_risk_rules())
        alerts = []
        consumer = RedisRiskConsumer(client, lambda seq, e: alerts.extend(engine.observe(seq, e)), "w1", stream)
        assert consumer.run_once(block_ms=100) == 3
        assert [(a.signal, a.actor, a.evidence) for a in alerts] == [("device_hopping", "user:c1", (1, 2, 3))]
        assert client.xpending(stream, "risk")["pending"] == 0
        assert consumer.run_once(block_ms=100) == 0
    finally:
        client.delete(stream)
