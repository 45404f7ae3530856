"""Who asks (Subject), for what (action on a Resource), in which Context, and the Decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    MERCHANT = "merchant"
    PRINT_TERMINAL = "print_terminal"
    SORTING_OPERATOR = "sorting_operator"
    STATION_CLERK = "station_clerk"
    COURIER = "courier"
    CROWD_COURIER = "crowd_courier"
    CUSTOMER_SERVICE = "customer_service"
    SECURITY_AUDITOR = "security_auditor"
    RECIPIENT = "recipient"
    # Not signed in: the public tracking page behind a label's QR code.
    ANONYMOUS = "anonymous"


STAFF_ROLES = frozenset(
    {
        Role.PLATFORM_ADMIN,
        Role.SORTING_OPERATOR,
        Role.STATION_CLERK,
        Role.COURIER,
        Role.CUSTOMER_SERVICE,
        Role.SECURITY_AUDITOR,
    }
)


@dataclass(frozen=True, slots=True)
class Subject:
    """An authenticated caller and the scope attributes its role is bounded by.

    `actor` is the audit name (``user:<id>``, ``key:<id>``, ``terminal:<id>``). Scope
    attributes are set only for the roles they bound: `tenant_id` (merchant, print terminal),
    `hub` (sorting operator), `station` (station clerk), `route` and `pass_day` (crowd
    courier), `phone_index` (recipient, the blind index of the OTP-verified phone).
    """

    actor: str
    role: Role
    tenant_id: str | None = None
    hub: str | None = None
    station: str | None = None
    route: str | None = None
    pass_day: str | None = None
    device: str | None = None
    phone_index: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Resource:
    """What is acted on. For waybills, the non-personal attributes the policy looks at."""

    kind: str
    id: str | None = None
    tenant_id: str | None = None
    status: str | None = None
    assigned_courier: str | None = None
    hub: str | None = None
    station: str | None = None
    route: str | None = None
    recipient_phone_index: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Context:
    """Facts about the request: the clock is passed in, never read inside the policy."""

    now: datetime
    purpose: str | None = None
    ticket: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer: allowed or not, the rule that decided, and what the caller may see.

    `fields` maps each personal field (name, phone, address) to the view the caller gets:
    ``none``, ``masked``, ``surname``, ``last4``, ``virtual``, ``label`` or ``full``.
    `quota` names the quota a disclosure counts against, when one applies. When an allow rule
    matched role and action but not its conditions, `unmet` names the first condition that
    failed, so a denial's audit entry says why.
    """

    allowed: bool
    rule: str
    fields: Mapping[str, str] = field(default_factory=dict)
    quota: str | None = None
    unmet: str | None = None
