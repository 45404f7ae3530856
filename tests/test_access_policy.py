"""The access policy, row by row: every role x action x lifecycle state against an
expectation table written here by hand, independently of policies/access.yaml."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
import yaml

from privacy_waybill.access.model import Context, Resource, Role, Subject
from privacy_waybill.access.policy import DEFAULT_DENY, AccessPolicyError, load_access_policy, parse_access_policy
from privacy_waybill.issuance.model import WaybillStatus as S

POLICY = load_access_policy()
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
ALL_STATES = frozenset(S)
R = Role

# (role, action) -> the states in which it is allowed when every scope condition holds.
EXPECTED: dict[tuple[Role, str], frozenset[S]] = {
    (R.MERCHANT, "waybill.read"): ALL_STATES,
    (R.MERCHANT, "waybill.label"): ALL_STATES,
    (R.MERCHANT, "waybill.decrypt"): ALL_STATES,
    **{
        (R.PRINT_TERMINAL, a): frozenset({S.CREATED, S.PRINTED})
        for a in ("print_job.pull", "print_job.report", "print_job.reprint")
    },
    **{
        (R.SORTING_OPERATOR, a): frozenset({S.PRINTED, S.COLLECTED, S.IN_TRANSIT})
        for a in ("waybill.read", "waybill.scan", "waybill.sort")
    },
    (R.STATION_CLERK, "waybill.read"): ALL_STATES,
    (R.STATION_CLERK, "waybill.search"): ALL_STATES,
    (R.STATION_CLERK, "waybill.check_in"): frozenset({S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.EXCEPTION}),
    (R.STATION_CLERK, "waybill.dispatch"): frozenset({S.IN_TRANSIT, S.AT_STATION, S.OUT_FOR_DELIVERY, S.EXCEPTION}),
    (R.STATION_CLERK, "waybill.hand_over"): frozenset({S.AT_STATION, S.IN_LOCKER}),
    (R.STATION_CLERK, "waybill.sticker"): frozenset({S.AT_STATION, S.IN_LOCKER}),
    **{
        (role, a): frozenset({S.OUT_FOR_DELIVERY})
        for role in (R.COURIER, R.CROWD_COURIER)
        for a in ("waybill.read", "waybill.scan", "waybill.reveal", "waybill.call", "waybill.sign_off")
    },
    **{
        (role, "waybill.scan_out"): frozenset({S.IN_TRANSIT, S.AT_STATION, S.EXCEPTION, S.OUT_FOR_DELIVERY})
        for role in (R.COURIER, R.CROWD_COURIER)
    },
    (R.CUSTOMER_SERVICE, "waybill.read"): ALL_STATES,
    (R.CUSTOMER_SERVICE, "waybill.break_glass"): ALL_STATES,
    **{(R.RECIPIENT, a): ALL_STATES for a in ("waybill.read", "preferences.write", "leak.report")},
    **{(role, "tracking.read"): ALL_STATES for role in Role},
    **{
        (role, "tracking.verified"): ALL_STATES
        for role in Role
        if role not in (R.SECURITY_AUDITOR, R.PLATFORM_ADMIN)
    },
}
# Non-waybill resources: (role, action) pairs that are allowed.
EXPECTED_TENANT = {(R.MERCHANT, "order.create"), (R.MERCHANT, "print_job.create"), (R.MERCHANT, "key.manage")}
EXPECTED_PLATFORM = {
    *((R.SECURITY_AUDITOR, a) for a in ("audit.read", "alert.read", "trace.run")),
    *((R.PLATFORM_ADMIN, a) for a in ("user.manage", "key.manage", "policy.manage", "tenant.manage", "data.purge")),
    (R.PLATFORM_ADMIN, "outbox.read"),
    (R.COURIER, "manifest.read"),
    (R.CROWD_COURIER, "manifest.read"),
    (R.PLATFORM_ADMIN, "station.register"),

    # Risk: auditors freeze and plant canaries; only administrators unfreeze.
    *((R.SECURITY_AUDITOR, a) for a in ("account.read", "account.freeze", "canary.plant")),
    *((R.PLATFORM_ADMIN, a) for a in ("account.read", "account.freeze", "account.unfreeze")),
}
EXPECTED_STATION = {(R.STATION_CLERK, "station.manage")}
PURPOSE = {"waybill.reveal": "deliver", "waybill.decrypt": "customer_service"}


def subject(role: Role) -> Subject:
    """A subject of `role` whose scope matches `in_scope`."""
    return Subject(
        actor=f"user:{role.value}",
        role=role,
        tenant_id="acme",
        hub="571",
        station="HZ10",
        route="13",
        pass_day=NOW.date().isoformat(),
        phone_index=b"p" * 16,
    )


def in_scope(role: Role, status: S) -> Resource:
    return Resource(
        kind="waybill",
        id="w1",
        tenant_id="acme",
        status=status.value,
        assigned_courier=f"user:{role.value}",
        hub="571",
        station="HZ10",
        route="13",
        recipient_phone_index=b"p" * 16,
    )


def context(action: str) -> Context:
    if action == "waybill.break_glass":
        return Context(now=NOW, ticket="T-1001", reason="customer cannot be reached")
    return Context(now=NOW, purpose=PURPOSE.get(action))


CASES = [(role, action, status) for role in Role for action in sorted(POLICY.actions) for status in S]


@pytest.mark.parametrize(("role", "action", "status"), CASES, ids=lambda v: str(getattr(v, "value", v)))
def test_every_role_action_and_state_matches_the_expectation_table(role: Role, action: str, status: S) -> None:
    decision = POLICY.authorize(subject(role), action, in_scope(role, status), context(action))
    assert decision.allowed == (status in EXPECTED.get((role, action), frozenset())), decision


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", sorted(POLICY.actions))
def test_tenant_and_platform_actions_match_the_expectation_table(role: Role, action: str) -> None:
    tenant = POLICY.authorize(subject(role), action, Resource(kind="tenant", tenant_id="acme"), context(action))
    platform = POLICY.authorize(subject(role), action, Resource(kind="platform"), context(action))
    station = POLICY.authorize(subject(role), action, Resource(kind="station", station="HZ10"), context(action))
    other_station = POLICY.authorize(subject(role), action, Resource(kind="station", station="BJ05"), context(action))
    assert tenant.allowed == ((role, action) in EXPECTED_TENANT)
    assert platform.allowed == ((role, action) in EXPECTED_PLATFORM)
    assert station.allowed == ((role, action) in EXPECTED_STATION)
    assert not other_station.allowed


def out_of_scope(status: S) -> Resource:
    return Resource(
        kind="waybill", tenant_id="other", status=status.value, assigned_courier="user:someone-else",
        hub="010", station="BJ05", route="99", recipient_phone_index=b"q" * 16,
    )  # fmt: skip


SCOPED = [
    (role, action) for (role, action) in EXPECTED if role not in (R.CUSTOMER_SERVICE,) and action not in ("tracking.read", "tracking.verified")
]


@pytest.mark.parametrize(("role", "action"), SCOPED, ids=str)
def test_out_of_scope_waybills_are_denied_in_every_state(role: Role, action: str) -> None:
    for status in S:
        decision = POLICY.authorize(subject(role), action, out_of_scope(status), context(action))
        assert not decision.allowed, (role, action, status)


def test_a_courier_cannot_read_a_parcel_assigned_to_another_courier() -> None:
    resource = Resource(kind="waybill", status="out_for_delivery", assigned_courier="user:other")
    decision = POLICY.authorize(subject(R.COURIER), "waybill.read", resource, Context(now=NOW))
    assert not decision.allowed
    assert (decision.rule, decision.unmet) == ("courier-read-assigned", "assigned_to_subject")


def test_crowd_courier_pass_is_bound_to_its_day_by_the_clock_passed_in() -> None:
    resource = in_scope(R.CROWD_COURIER, S.OUT_FOR_DELIVERY)
    next_day = Context(now=datetime(2026, 11, 24, 9, tzinfo=UTC))
    assert POLICY.authorize(subject(R.CROWD_COURIER), "waybill.read", resource, Context(now=NOW)).allowed
    assert (
        POLICY.authorize(subject(R.CROWD_COURIER), "waybill.read", resource, next_day).unmet == "on_pass_route_and_day"
    )


def test_a_pass_day_is_a_day_in_china_standard_time() -> None:
    resource = in_scope(R.CROWD_COURIER, S.OUT_FOR_DELIVERY)
    last_minute = Context(now=datetime(2026, 11, 23, 15, 59, tzinfo=UTC))  # 23:59 in Beijing
    past_midnight = Context(now=datetime(2026, 11, 23, 16, 1, tzinfo=UTC))  # 00:01 the next day
    assert POLICY.authorize(subject(R.CROWD_COURIER), "waybill.read", resource, last_minute).allowed
    assert not POLICY.authorize(subject(R.CROWD_COURIER), "waybill.read", resource, past_midnight).allowed


@pytest.mark.parametrize(
    ("purpose", "allowed"),
    [("deliver", True), ("contact", True), ("return", True), ("curiosity", False), (None, False)],
)
def test_reveal_is_purpose_bound(purpose: str | None, allowed: bool) -> None:
    resource = in_scope(R.COURIER, S.OUT_FOR_DELIVERY)
    assert (
        POLICY.authorize(subject(R.COURIER), "waybill.reveal", resource, Context(now=NOW, purpose=purpose)).allowed
        == allowed
    )


@pytest.mark.parametrize(("ticket", "reason"), [(None, "x"), ("T-1", None), ("  ", "reason"), ("T-1", " ")])
def test_break_glass_needs_a_ticket_and_a_reason(ticket: str | None, reason: str | None) -> None:
    resource = in_scope(R.CUSTOMER_SERVICE, S.IN_TRANSIT)
    decision = POLICY.authorize(
        subject(R.CUSTOMER_SERVICE), "waybill.break_glass", resource, Context(now=NOW, ticket=ticket, reason=reason)
    )
    assert not decision.allowed and decision.unmet == "ticket_and_reason"


def allowed_views(role: Role) -> set[tuple[str, str]]:
    """Every (field, view) the role is ever shown, leaving out "none"."""
    views = set()
    for action in POLICY.actions:
        for status in S:
            decision = POLICY.authorize(subject(role), action, in_scope(role, status), context(action))
            if decision.allowed:
                views |= {(f, view) for f, view in decision.fields.items() if view != "none"}
    return views


def test_what_each_role_may_see_follows_the_threat_model() -> None:
    assert allowed_views(R.STATION_CLERK) == {("name", "surname"), ("phone", "last4")}
    assert allowed_views(R.SECURITY_AUDITOR) == allowed_views(R.PLATFORM_ADMIN) == set()
    for courier in (R.COURIER, R.CROWD_COURIER):
        assert ("phone", "full") not in allowed_views(courier) and ("name", "full") not in allowed_views(courier)
    assert ("phone", "full") not in allowed_views(R.SORTING_OPERATOR) | allowed_views(R.PRINT_TERMINAL)
    support_read = POLICY.authorize(
        subject(R.CUSTOMER_SERVICE), "waybill.read", in_scope(R.CUSTOMER_SERVICE, S.IN_TRANSIT), Context(now=NOW)
    )
    assert set(support_read.fields.values()) == {"masked"}


def test_quotas_attach_to_every_full_disclosure() -> None:
    for rule in POLICY.rules:
        if rule.allow and "full" in rule.fields.values() and rule.id != "recipient-own":
            assert rule.quota, rule.id
    assert (POLICY.quotas["courier_reveal"].per_hour, POLICY.quotas["courier_reveal"].per_day) == (60, 300)
    assert (POLICY.quotas["crowd_courier_reveal"].per_hour, POLICY.quotas["crowd_courier_reveal"].per_day) == (30, 150)
    assert POLICY.quotas["break_glass"].per_day == 20 and POLICY.quotas["merchant_decrypt"].per_day == 1000


def test_nothing_is_allowed_by_default() -> None:
    decision = POLICY.authorize(
        subject(R.SORTING_OPERATOR), "waybill.decrypt", in_scope(R.SORTING_OPERATOR, S.IN_TRANSIT), Context(now=NOW)
    )
    assert (decision.allowed, decision.rule) == (False, DEFAULT_DENY)


def raw_policy() -> dict:  # type: ignore[type-arg]
    from importlib.resources import files

    return yaml.safe_load((files("privacy_waybill.policies") / "access.yaml").read_text("utf-8"))


def test_deny_beats_allow_even_when_a_tenant_policy_loosens() -> None:
    document = raw_policy()
    document["rules"].append(
        {
            "id": "loosened",
            "roles": ["security_auditor"],
            "actions": ["waybill.read"],
            "resource": "waybill",
            "fields": {"name": "full"},
        }
    )
    policy = parse_access_policy(document)
    decision = policy.authorize(
        subject(R.SECURITY_AUDITOR), "waybill.read", in_scope(R.SECURITY_AUDITOR, S.IN_TRANSIT), Context(now=NOW)
    )
    assert (decision.allowed, decision.rule) == (False, "deny-personal-data-to-oversight")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=2), "version must be 1"),
        (lambda d: d["rules"][0].update(roles=["janitor"]), "unknown role"),
        (lambda d: d["rules"][0].update(actions=["waybill.steal"]), "unknown action(s) waybill.steal"),
        (lambda d: d["rules"][1].update(when=["full_moon"]), "unknown condition 'full_moon'"),
        (lambda d: d["rules"][1].update(fields={"name": "everything"}), "unknown view(s) everything"),
        (lambda d: d["rules"][1].update(quota="unlimited"), "unknown quota 'unlimited'"),
        (lambda d: d["rules"][1].update(effect="maybe"), "effect must be allow or deny"),
        (lambda d: d["rules"][1].update(when=[{"status_in": ["lost"]}]), "unknown status"),
        (lambda d: d["rules"].append(copy.deepcopy(d["rules"][0])), "rule ids must be unique"),
        (lambda d: d["quotas"].update(bad={"per_week": 3}), "quota 'bad'"),
    ],
)
def test_a_broken_policy_is_refused_with_a_message_naming_the_rule(change, message: str) -> None:  # type: ignore[no-untyped-def]
    document = raw_policy()
    change(document)
    with pytest.raises(AccessPolicyError) as caught:
        parse_access_policy(document)
    assert message in str(caught.value)


def test_unknown_actions_are_a_programming_error() -> None:
    with pytest.raises(AccessPolicyError):
        POLICY.authorize(subject(R.MERCHANT), "waybill.teleport", in_scope(R.MERCHANT, S.CREATED), Context(now=NOW))
