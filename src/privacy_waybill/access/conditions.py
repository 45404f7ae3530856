"""Conditions a policy rule can require: small pure functions registered by name.

Each takes (subject, resource, context, params) and answers yes or no. A missing scope
attribute never matches: a subject without a hub is at no hub.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

from privacy_waybill.access.model import Context, Resource, Subject

# Crowd passes are for a calendar day where the work is done (identity.rules.day_bounds).
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))

Condition = Callable[[Subject, Resource, Context, Any], bool]

# name -> (function, whether it takes a list parameter)
CONDITIONS: dict[str, tuple[Condition, bool]] = {}


def condition(name: str, *, takes_list: bool = False) -> Callable[[Condition], Condition]:
    def register(function: Condition) -> Condition:
        CONDITIONS[name] = (function, takes_list)
        return function

    return register


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and a == b


@condition("own_tenant")
def own_tenant(subject: Subject, resource: Resource, context: Context, params: Any) -> bool:
    return _same(subject.tenant_id, resource.tenant_id)


@condition("assigned_to_subject")
def assigned_to_subject(subject: Subject, resource: Resource, context: Context, params: Any) -> bool:
    return _same(subject.actor, resource.assigned_courier)


@condition("at_subject_hub")
def at_subject_hub(subject: Subject, resource: Resource, context: Context, params: Any) -> bool:
    return _same(subject.hub, resource.hub)


@condition("at_subject_station")
def at_subject_station(subject: Subject, resource: Resource, context: Context, params: Any) -> bool:
    return _same(subject.station, resource.station)


@condition("on_pass_route_and_day")
def on_pass_route_and_day(subject: Subject, resource: Resource, context: Context, params: Any) -> bool:
    return _same(subject.route, resource.route) and _same(
        subject.pass_day, context.now.astimezone(CHINA_STANDARD_TIME).date().isoformat()
    )


@condition("own_parcel")
def own_parcel(subject: Subject, resource: Resource, context: Context, params: Any) -> bool:
    if subject.phone_index is None or resource.recipient_phone_index is None:
        return False
    return hmac.compare_digest(subject.phone_index, resource.recipient_phone_index)


@condition("status_in", takes_list=True)
def status_in(subject: Subject, resource: Resource, context: Context, params: Any) -> bool:
    return resource.status in params


@condition("purpose_in", takes_list=True)
def purpose_in(subject: Subject, resource: Resource, context: Context, params: Any) -> bool:
    return context.purpose in params


@condition("ticket_and_reason")
def ticket_and_reason(subject: Subject, resource: Resource, context: Context, params: Any) -> bool:
    return bool(context.ticket and context.ticket.strip() and context.reason and context.reason.strip())
