"""Notifications: templates as data, the outbox (idempotent, retried with backoff, sealed,
recipients as keyed hashes and last 4 digits), crowd-courier OTPs through it, `pwb outbox`
and the operator API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest
import typer
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import CHEAP_PASSWORDS
from privacy_waybill.access.model import Role
from privacy_waybill.api.app import create_app
from privacy_waybill.cli.outbox import outbox
from privacy_waybill.errors import FieldError
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.notifications import (
    Channel,
    DeliveryState,
    NotificationService,
    ProviderRejected,
    Rendered,
    RetryPolicy,
    SimulatedProvider,
    load_templates,
    mask_waybill_no,
)
from privacy_waybill.notifications.templates import TemplateError, parse_templates
from privacy_waybill.runtime import Runtime, initialise, open_runtime
from privacy_waybill.settings import Settings
from privacy_waybill.storage.identity import build_identity
from privacy_waybill.storage.notifications import OUTBOX, build_notifications

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
PHONE = "+8613812345678"
TEMPLATES = load_templates()


class RecordingProvider:
    """A provider whose copy is the recipient's: the outbox must not keep the body."""

    name = "recording"
    keeps_copy = False

    def __init__(self, reject: bool = False) -> None:
        self.delivered: list[tuple[Channel, str, Rendered, str]] = []
        self.reject = reject

    def deliver(self, channel: Channel, address: str, message: Rendered, idempotency_key: str) -> str:
        if self.reject:
            raise ProviderRejected("number is not a mobile")
        self.delivered.append((channel, address, message, idempotency_key))
        return f"r-{len(self.delivered)}"


def service(rt: Runtime, provider: object) -> NotificationService:
    return build_notifications(rt.engine, rt.purpose_keys, rt.blind_index, provider)  # type: ignore[arg-type]


def outbox_rows(rt: Runtime) -> list[dict[str, object]]:
    with rt.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(OUTBOX)).mappings()]


# --- templates -----------------------------------------------------------------------


def test_a_template_renders_text_and_a_machine_readable_part() -> None:
    rendered = TEMPLATES.render(
        "station.pickup_ready", {"waybill": "PW*********2345", "station": "HZ10", "pickup_code": "A-3-0172"}
    )
    assert rendered.text == "【隐私面单】您的快递PW*********2345已到驿站HZ10，取件码A-3-0172。"
    assert dict(rendered.data) == {
        "type": "pickup_ready", "waybill": "PW*********2345", "station": "HZ10", "pickup_code": "A-3-0172",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({}, "params.code", "is required"),
        ({"code": "12345"}, "params.code", "is not a valid otp_code"),
        ({"code": "123456", "name": "张三"}, "params.name", "is not a parameter of template crowd_courier.otp"),
        ({"code": "123456 张三"}, "params.code", "is not a valid otp_code"),
    ],
)
def test_rendering_refuses_missing_unknown_and_malformed_values(
    params: dict[str, str], field: str, reason: str
) -> None:
    with pytest.raises(FieldError) as caught:
        TEMPLATES.render("crowd_courier.otp", params)
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_a_masked_waybill_number_keeps_the_prefix_and_the_last_four_digits() -> None:
    assert mask_waybill_no("PW123456789012345") == "PW***********2345"
    assert TEMPLATES.kinds["masked_waybill"].fullmatch(mask_waybill_no("PW123456789012345"))


def raw_templates() -> dict:  # type: ignore[type-arg]
    from importlib.resources import files

    return yaml.safe_load((files("privacy_waybill.policies") / "notifications.yaml").read_text("utf-8"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=2), "version: must be 1"),
        (lambda d: d["templates"]["recipient.otp"].update(channel="fax"), "unknown channel 'fax'"),
        (lambda d: d["templates"]["recipient.otp"].update(text="{code} {name}"), "undeclared parameter 'name'"),
        (lambda d: d["templates"]["recipient.otp"].update(params=["code", "phone"]), "'phone' has no declared kind"),
        (lambda d: d["params"].update(phone="anything"), "unknown kind 'anything'"),
        (lambda d: d["templates"]["recipient.otp"]["data"].pop("type"), "data must be a mapping with a `type`"),
    ],
)
def test_broken_templates_are_refused_at_start_up(change, message: str) -> None:  # type: ignore[no-untyped-def]
    document = raw_templates()
    change(document)
    with pytest.raises(TemplateError) as caught:
        parse_templates(document)
    assert message in str(caught.value)


# --- the outbox ----------------------------------------------------------------------


def test_a_sent_message_keeps_only_a_keyed_hash_and_the_last_four_digits(rt: Runtime) -> None:
    notifications = service(rt, SimulatedProvider())
    sent = notifications.send("crowd_courier.otp", PHONE, {"code": "481516"}, "otp:o_1", NOW)
    assert (sent.state, sent.attempts, sent.to_hint, sent.sent_at) == (DeliveryState.SENT, 1, "5678", NOW)
    assert sent.body is not None and "481516" in sent.body.text and sent.body.data["code"] == "481516"
    [row] = outbox_rows(rt)
    assert row["address_sealed"] is None  # erased once delivered
    assert row["to_index"] == notifications.index_of(Channel.SMS, PHONE) and len(row["to_index"]) == 16
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
    assert b"13812345678" not in stored and b"481516" not in stored and b"481516" not in stored
    assert [m.id for m in notifications.recent(to=PHONE)] == [sent.id]
    assert notifications.recent(to="+8613900000000") == []


def test_the_same_idempotency_key_sends_once(rt: Runtime) -> None:
    provider = RecordingProvider()
    notifications = service(rt, provider)
    first = notifications.send("recipient.otp", PHONE, {"code": "111111"}, "otp:o_2", NOW)
    again = notifications.send("recipient.otp", PHONE, {"code": "222222"}, "otp:o_2", NOW + timedelta(seconds=3))
    assert again.id == first.id and len(outbox_rows(rt)) == 1
    assert [(c, a, m.text, k) for c, a, m, k in provider.delivered] == [
        (Channel.SMS, PHONE, "【隐私面单】您的收件人验证码为111111，5分钟内有效。请勿告诉任何人。", "otp:o_2")
    ]
    # A real provider holds the recipient's copy: the outbox erased its own.
    assert first.body is None and first.provider_message_id == "r-1"


def test_a_failing_provider_is_retried_with_backoff_until_it_answers(rt: Runtime) -> None:
    simulator = SimulatedProvider()
    notifications = service(rt, simulator)
    simulator.fail_next(2)
    pickup = {"waybill": "PW******1234", "station": "HZ10", "pickup_code": "3-1-3001"}
    queued = notifications.send("station.pickup_ready", PHONE, pickup, "pickup:w1", NOW)
    assert (queued.state, queued.attempts, queued.next_attempt_at) == (
        DeliveryState.PENDING,
        1,
        NOW + timedelta(seconds=10),
    )
    assert queued.last_error == "unavailable: simulated provider outage"
    assert notifications.deliver_due(NOW + timedelta(seconds=9)) == 0
    assert notifications.deliver_due(NOW + timedelta(seconds=10)) == 0  # the second attempt fails too
    retried = notifications.message(queued.id)
    assert (retried.attempts, retried.next_attempt_at) == (2, NOW + timedelta(seconds=30))
    assert notifications.deliver_due(NOW + timedelta(seconds=30)) == 1
    delivered = notifications.message(queued.id)
    assert (delivered.state, delivered.attempts, delivered.sent_at) == (
        DeliveryState.SENT,
        3,
        NOW + timedelta(seconds=30),
    )
    assert notifications.deliver_due(NOW + timedelta(hours=1)) == 0
    assert outbox_rows(rt)[0]["address_sealed"] is None


def test_an_otp_is_given_up_once_a_retry_would_come_after_it_expires(rt: Runtime) -> None:
    simulator = SimulatedProvider()
    notifications = service(rt, simulator)
    simulator.fail_next(100)
    queued = notifications.send("crowd_courier.otp", PHONE, {"code": "999999"}, "otp:o_3", NOW)
    at = NOW
    while (message := notifications.message(queued.id)).state is DeliveryState.PENDING:
        assert message.next_attempt_at is not None
        at = message.next_attempt_at
        notifications.deliver_due(at)
    # 10 s, 20 s, 40 s, 80 s later: the next wait (160 s) would end after the 300 s lifetime.
    assert (message.state, message.attempts, at) == (DeliveryState.FAILED, 5, NOW + timedelta(seconds=150))
    assert outbox_rows(rt)[0]["address_sealed"] is None


def test_a_permanent_refusal_is_not_retried() -> None:
    policy = RetryPolicy()
    assert [policy.delay_after(n).total_seconds() for n in range(1, 8)] == [10, 20, 40, 80, 160, 320, 600]
    assert policy.next_attempt(6, NOW, None) is None


def test_a_rejected_message_fails_at_once(rt: Runtime) -> None:
    notifications = service(rt, RecordingProvider(reject=True))
    failed = notifications.send("recipient.otp", PHONE, {"code": "123456"}, "otp:o_4", NOW)
    assert (failed.state, failed.attempts, failed.last_error) == (
        DeliveryState.FAILED,
        1,
        "rejected: number is not a mobile",
    )
    assert notifications.deliver_due(NOW + timedelta(minutes=5)) == 0


# --- crowd-courier OTPs through the outbox --------------------------------------------


def test_a_crowd_courier_signs_in_with_the_code_from_the_outbox(rt: Runtime) -> None:
    rt.clock = lambda: NOW
    identity = build_identity(rt.engine, rt.purpose_keys, rt.blind_index, rt.identity.notifier, passwords=CHEAP_PASSWORDS)
    identity.create_pass("13812345678", "13", date(2026, 12, 1), "user:u_clerk", NOW)
    identity.request_otp("13812345678", NOW)
    [message] = rt.notifications.recent(template="crowd_courier.otp", to=PHONE)
    assert message.to_hint == "5678" and message.body is not None
    code = message.body.data["code"]
    signed_in = identity.verify_otp("13812345678", code, "handset-0001", NOW + timedelta(minutes=1))
    assert signed_in.subject.role is Role.CROWD_COURIER and signed_in.subject.route == "13"
    assert message.idempotency_key.startswith("otp:o_")


# --- operator views --------------------------------------------------------------------


def test_pwb_outbox_lists_messages_with_the_last_four_digits_only(pwb_home) -> None:  # type: ignore[no-untyped-def]
    initialise(Settings())
    rt = open_runtime(Settings())
    try:
        rt.notifications.send("recipient.otp", PHONE, {"code": "246810"}, "otp:o_5", NOW)
    finally:
        rt.close()
    app = typer.Typer()
    app.command()(outbox)
    result = CliRunner().invoke(app, ["--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "****5678" in result.stdout and "246810" in result.stdout and "13812345678" not in result.stdout
    bad = CliRunner().invoke(app, ["--template", "nope"])
    assert bad.exit_code == 2 and "--template: is not a known notification template" in bad.output


def test_only_platform_admins_read_the_outbox_over_http(rt: Runtime, identity: IdentityService) -> None:
    rt.clock = lambda: NOW
    client = TestClient(create_app(rt))
    rt.notifications.send("recipient.otp", PHONE, {"code": "135791"}, "otp:o_6", NOW)
    admin = identity.add_user("ops.admin", "correct horse battery", Role.PLATFORM_ADMIN, NOW)
    clerk = identity.add_user("clerk.two", "correct horse battery", Role.STATION_CLERK, NOW, station="HZ10")
    tokens = {}
    for created in (admin, clerk):
        assert created.totp_uri is not None
        totp = pyotp.TOTP(pyotp.parse_uri(created.totp_uri).secret).at(NOW)
        response = client.post(
            "/api/v1/auth/login",
            json={"username": created.user.username, "password": "correct horse battery", "totp": totp},
        )
        tokens[created.user.role] = response.json()["token"]
    listed = client.get("/api/v1/outbox", headers={"Authorization": f"Bearer {tokens[Role.PLATFORM_ADMIN]}"})
    assert listed.status_code == 200
    [entry] = listed.json()
    assert (entry["to"], entry["template"], entry["state"], entry["data"]["code"]) == (
        "****5678",
        "recipient.otp",
        "sent",
        "135791",
    )
    assert "13812345678" not in listed.text
    refused = client.get("/api/v1/outbox", headers={"Authorization": f"Bearer {tokens[Role.STATION_CLERK]}"})
    assert refused.status_code == 403
