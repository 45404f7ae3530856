"""The scaled-out transport for real: audit entries published to a Redis stream by the log's
observer, read by a consumer group, run through the engine and acknowledged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.risk.engine import RiskEngine
from privacy_waybill.risk.rules import load_risk_rules
from privacy_waybill.runtime import initialise, open_runtime
from privacy_waybill.settings import Settings
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


def test_the_first_entry_still_to_deliver_is_where_a_log_replay_must_stop(client: redis.Redis) -> None:
    stream = f"pwb:test:{uuid.uuid4().hex}"
    try:
        RedisAuditPublisher(client, stream)([(seq, event(seq, "d1")) for seq in (5, 6, 7)])
        reader = RedisRiskConsumer(client, lambda seq, e: None, "w1", stream)
        assert reader.first_seq_to_deliver() == 5  # a new group starts at the stream's beginning
        [(_, [(first_id, _fields)])] = client.xreadgroup("risk", "w1", {stream: ">"}, count=1)
        assert reader.first_seq_to_deliver() == 5  # read, not acknowledged: it comes back
        client.xack(stream, "risk", first_id)
        assert reader.first_seq_to_deliver() == 6
        # Another member's unacknowledged entry is not handed to this one.
        client.xreadgroup("risk", "w2", {stream: ">"}, count=1)
        assert reader.first_seq_to_deliver() == 7
        assert reader.run_once(block_ms=100) == 1
        assert reader.first_seq_to_deliver() is None
    finally:
        client.delete(stream)


def test_a_reader_replays_the_log_up_to_the_stream_and_acts_on_what_the_stream_delivers(
    client: redis.Redis, engine: Engine, pwb_home: Path
) -> None:
    stream = f"pwb:test:{uuid.uuid4().hex}"
    settings = Settings(redis_url=REDIS_URL, risk_transport="redis", risk_stream=stream)
    initialise(settings, engine)
    rt = open_runtime(settings, engine)
    try:
        before = rt.audit.verify().entries  # written by initialise, never published
        threshold = next(s.threshold for s in rt.risk_rules.signals if s.id == "denied_attempts")
        # Refusals published by an API node while no engine was reading: they must raise the alert.
        for _ in range(int(threshold)):
            rt.audit.record(
                AuditEvent(at=rt.clock(), actor="user:prober", role="courier", action="waybill.reveal",
                           outcome=Outcome.DENIED, rule="deny:default")  # fmt: skip
            )
        reader, replayed = rt.risk_from_stream("w1")
        assert replayed == before
        assert reader.run_once(block_ms=100) == threshold
        assert rt.risk.engine.events_seen == before + threshold  # each entry once
        assert "step_up" in rt.restrictions.kinds("user:prober")
    finally:
        client.delete(stream)
