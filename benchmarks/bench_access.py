"""Authorization decisions per second, next to a dictionary lookup of the same answers.

The mix: every role asking every action on an in-scope waybill in every lifecycle state
(the table the policy tests walk), so allow, deny and default-deny paths all count.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from privacy_waybill.access.model import Context, Resource, Role, Subject
from privacy_waybill.access.policy import load_access_policy
from privacy_waybill.issuance.model import WaybillStatus
from report import figure

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def cases() -> list[tuple[Subject, str, Resource, Context]]:
    policy = load_access_policy()
    out = []
    for role in Role:
        subject = Subject(
            actor=f"user:{role.value}",
            role=role,
            tenant_id="acme",
            hub="571",
            station="HZ10",
            route="13",
            pass_day="2026-11-23",
        )
        for action in sorted(policy.actions):
            for status in WaybillStatus:
                resource = Resource(
                    kind="waybill",
                    id="w",
                    tenant_id="acme",
                    status=status.value,
                    assigned_courier=subject.actor,
                    hub="571",
                    station="HZ10",
                    route="13",
                )
                out.append(
                    (subject, action, resource, Context(now=NOW, purpose="deliver", ticket="T-1", reason="call back"))
                )
    return out


def best_rate(run, count: int, repeats: int = 5) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    policy = load_access_policy()
    mix = cases()
    answers = {(s.role, a, r.status): policy.authorize(s, a, r, c) for s, a, r, c in mix}
    keys = [(s.role, a, r.status) for s, a, r, _ in mix]

    decide = best_rate(lambda: [policy.authorize(s, a, r, c) for s, a, r, c in mix], len(mix))
    lookup = best_rate(lambda: [answers[k] for k in keys], len(keys))
    allowed = sum(d.allowed for d in answers.values())
    print(f"authorization mix: {len(mix):,} requests ({allowed:,} allowed), best of 5")
    print(f"  policy.authorize             {decide:>12,.0f} decisions/s   {1e6 / decide:6.2f} µs each")
    print(f"  baseline: dict of answers    {lookup:>12,.0f} lookups/s     {1e6 / lookup:6.2f} µs each")
    figure("authorization decisions", decide, "decisions/s", baseline="dict of the same answers", baseline_value=lookup)


if __name__ == "__main__":
    main()
