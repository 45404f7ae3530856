"""Every read of a waybill goes through here: decide, count, audit, then disclose.

The order is the guarantee: the policy decides; a disclosure that carries a quota is counted
(over the limit: refused, alerted); the audit entry is committed; only then is anything read
from the vault. A denial is audited too. When the audit log cannot be written nothing is
disclosed (AuditUnavailable propagates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from privacy_waybill.access.model import Context, Decision, Resource, Role, Subject
from privacy_waybill.access.policy import PERSONAL_FIELDS, AccessPolicy
from privacy_waybill.access.quotas import quota_windows
from privacy_waybill.audit.model import AuditEvent, AuditSink, Outcome
from privacy_waybill.audit.noise import NoiseAggregator, NoiseKind
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.masking.free_text import ACCESS_REASONS, display_text
from privacy_waybill.tickets.service import BreakGlassTickets
from privacy_waybill.vault import SealedRecord, Vault

T = TypeVar("T")


BREAK_GLASS = "waybill.break_glass"
TICKET_RULE = "break-glass:ticket"
FROZEN, STEP_UP = "freeze", "step_up"


class Forbidden(PrivacyWaybillError):
    """The policy denied the request; the message names the rule, never the data."""

    def __init__(self, decision: Decision) -> None:
        why = f" ({decision.unmet} not met)" if decision.unmet else ""
        super().__init__(f"not allowed by rule {decision.rule}{why}")
        self.decision = decision


class QuotaExceeded(PrivacyWaybillError):
    def __init__(self, quota: str, window: str) -> None:
        period = "hour" if window.startswith("h") else "day"
        super().__init__(f"quota {quota} is used up for this {period}")
        self.quota, self.window = quota, window


class QuotaPort(Protocol):
    def consume(self, actor: str, quota: str, windows: list[tuple[str, int]]) -> str | None: ...


class AlertPort(Protocol):
    def raise_alert(self, at: datetime, severity: str, kind: str, actor: str, detail: Mapping[str, str]) -> None: ...


def waybill_resource(waybill: IssuedWaybill) -> Resource:
    """The policy's view of a waybill: hub, station and route come from its sort code."""
    hub, station, route = (waybill.sort_code.split("-", 2) + ["", "", ""])[:3]
    return Resource(
        kind="waybill",
        id=waybill.waybill_id,
        tenant_id=waybill.tenant_id,
        status=waybill.status.value,
        assigned_courier=waybill.assigned_courier,
        hub=hub or None,
        station=station or None,
        route=route or None,
        recipient_phone_index=waybill.recipient_phone_index or None,
    )


@dataclass(frozen=True, slots=True)
class RecipientView:
    """The recipient's fields as this caller may see them; None where the policy shows nothing."""

    name: str | None
    phone: str | None
    address: str | None
    # Further sealed fields opened with a full address (the delivery remark for a reveal).
    extras: Mapping[str, str] = field(default_factory=dict, repr=False)


class AccessService:
    def __init__(
        self,
        *,
        policy: AccessPolicy,
        audit: AuditSink,
        quotas: QuotaPort,
        alerts: AlertPort,
        vault: Vault,
        sealed_record: Callable[[str], SealedRecord | None],
        clock: Callable[[], datetime],
        noise: NoiseAggregator | None = None,
        tickets: BreakGlassTickets | None = None,
        restrictions: Callable[[str], frozenset[str]] = lambda actor: frozenset(),
    ) -> None:
        """`restrictions(actor)` names what the risk engine or an auditor put on the account
        (`freeze`, `step_up`); a frozen account is refused everything, one under step-up every
        disclosure of a full field until it signs in again."""
        self._policy = policy
        self._restrictions = restrictions
        self._audit = audit
        self._quotas = quotas
        self._alerts = alerts
        self._vault = vault
        self._sealed_record = sealed_record
        self._clock = clock
        self._noise = noise
        self._tickets = tickets

    def context(self, purpose: str | None = None, ticket: str | None = None, reason: str | None = None) -> Context:
        return Context(now=self._clock(), purpose=purpose, ticket=ticket, reason=reason)

    def require(self, subject: Subject, action: str, resource: Resource, context: Context) -> Decision:
        """Decide; audit a denial and raise Forbidden. Allowed decisions are audited by the caller's act."""
        decision = self._restricted(subject, self._policy.authorize(subject, action, resource, context))
        if not decision.allowed:
            self._record(subject, action, resource, context, decision, Outcome.DENIED)
            raise Forbidden(decision)
        return decision

    def _restricted(self, subject: Subject, decision: Decision) -> Decision:
        if not decision.allowed:
            return decision
        restrictions = self._restrictions(subject.actor)
        if FROZEN in restrictions:
            return Decision(False, "risk:frozen")
        if STEP_UP in restrictions and "full" in decision.fields.values():
            return Decision(False, "risk:step-up-required")
        return decision

    def permit(
        self,
        subject: Subject,
        action: str,
        resource: Resource,
        context: Context,
        detail: Mapping[str, str] | None = None,
    ) -> Decision:
        """Decide and audit an act that discloses no personal data (scans, printing, admin)."""
        decision = self.require(subject, action, resource, context)
        self._record(subject, action, resource, context, decision, Outcome.ALLOWED, detail=detail)
        return decision

    def view(
        self,
        subject: Subject,
        action: str,
        waybill: IssuedWaybill,
        context: Context,
        also_open: tuple[str, ...] = (),
    ) -> RecipientView:
        """The recipient's fields as `subject` may see them for `action`, audited before disclosure.

        `also_open` names further vault fields (e.g. ``remark``) disclosed only when the
        decision shows the address in full; they are listed in the same audit entry.
        """
        resource = waybill_resource(waybill)
        decision = self.require(subject, action, resource, context)
        detail: dict[str, str] = {}
        if action == BREAK_GLASS:
            detail = self._check_ticket(subject, waybill, resource, context)
        full = tuple(f for f in PERSONAL_FIELDS if decision.fields[f] == "full")
        extras = also_open if decision.fields["address"] == "full" else ()
        if decision.quota:
            self._consume_quota(subject, action, resource, context, decision)
        if action == BREAK_GLASS and self._tickets is not None:  # _check_ticket refused without one
            reason_id = self._tickets.keep_reason(
                detail["ticket"], subject.actor, waybill.waybill_id, context.reason or "", context.now
            )
            detail["reason_id"] = str(reason_id)
        disclosed = full + extras
        self._record(subject, action, resource, context, decision, Outcome.ALLOWED, disclosed=disclosed, detail=detail)
        if action == BREAK_GLASS:
            self._flag_for_review(subject, waybill, context, detail)
        plaintext = self._open(waybill, full) if full else {}
        opened = self._open_fields(waybill, extras) if extras else {}
        shown = {f: _shown(waybill, f, decision.fields[f], plaintext) for f in PERSONAL_FIELDS}
        return RecipientView(**shown, extras=opened)

    def hand_to_processor(
        self,
        subject: Subject,
        action: str,
        waybill: IssuedWaybill,
        context: Context,
        vault_field: str,
        processor: str,
        use: Callable[[str], T],
    ) -> T:
        """Open one sealed field for a processor acting for `subject` (a virtual-number or SMS
        provider needs the recipient's phone), never for the subject: the value goes only to
        `use`. Decided and audited like any disclosure, naming the processor."""
        resource = waybill_resource(waybill)
        decision = self.require(subject, action, resource, context)
        self._record(
            subject, action, resource, context, decision, Outcome.ALLOWED,
            disclosed=(f"{vault_field}>processor",), detail={"processor": processor},
        )  # fmt: skip
        value = self._open_fields(waybill, (vault_field,)).get(vault_field)
        if value is None:
            raise PrivacyWaybillError(f"the waybill holds no {vault_field}")
        return use(value)

    def _consume_quota(
        self, subject: Subject, action: str, resource: Resource, context: Context, decision: Decision
    ) -> None:
        quota = decision.quota or ""
        windows = quota_windows(self._policy.quotas[quota], context.now)
        # A tenant's quota is counted for the tenant as a whole too: another API key or user
        # of the same merchant adds no allowance. The tenant is counted first, so a refusal
        # there costs the caller nothing; a refusal per caller leaves the tenant's count one
        # high (it errs towards refusing, never towards disclosing).
        full_window = None
        if subject.tenant_id is not None:
            full_window = self._quotas.consume(f"tenant:{subject.tenant_id}", quota, windows)
        if full_window is None:
            full_window = self._quotas.consume(subject.actor, quota, windows)
        if full_window is None:
            return
        over = Decision(False, f"quota:{decision.quota}")
        self._record(subject, action, resource, context, over, Outcome.DENIED, detail={"window": full_window})
        self._alerts.raise_alert(
            context.now,
            "high",
            "quota_exceeded",
            subject.actor,
            {"quota": decision.quota, "window": full_window, "role": subject.role.value},
        )
        raise QuotaExceeded(decision.quota, full_window)

    def _check_ticket(
        self, subject: Subject, waybill: IssuedWaybill, resource: Resource, context: Context
    ) -> dict[str, str]:
        """The ticket must open exactly this tenant's waybill now; a denial is audited, naming why."""
        ticket = (context.ticket or "").strip()
        unmet = (
            "ticket_system"
            if self._tickets is None
            else self._tickets.problem(ticket, waybill.tenant_id, waybill.waybill_id, context.now)
        )
        if unmet is not None:
            refused = Decision(False, TICKET_RULE, unmet=unmet)
            # The ticket text is recorded only once it has the shape of a ticket id.
            shown = {"ticket": ticket} if unmet != "ticket_pattern" else {}
            self._record(subject, BREAK_GLASS, resource, context, refused, Outcome.DENIED, detail=shown)
            raise Forbidden(refused)
        return {"ticket": ticket}

    def _flag_for_review(
        self, subject: Subject, waybill: IssuedWaybill, context: Context, detail: Mapping[str, str]
    ) -> None:
        # Reviewers get the ticket and the id the sealed reason is kept under, never its text.
        self._alerts.raise_alert(
            context.now,
            "review",
            "break_glass",
            subject.actor,
            {
                "waybill_id": waybill.waybill_id,
                "ticket": detail["ticket"],
                "reason_id": detail["reason_id"],
                # Reviewers read only the recognised reasons; the text itself stays sealed.
                "reason": display_text(context.reason, ACCESS_REASONS),
            },
        )

    def _open_fields(self, waybill: IssuedWaybill, names: Iterable[str]) -> dict[str, str]:
        sealed = self._sealed_record(waybill.waybill_id)
        if sealed is None:
            raise PrivacyWaybillError("the waybill has no sealed record")
        present = [n for n in names if n in sealed.ciphertexts]
        return dict(self._vault.open(waybill.tenant_id, waybill.waybill_id, sealed, present)) if present else {}

    def _open(self, waybill: IssuedWaybill, fields: Iterable[str]) -> dict[str, str]:
        sealed = self._sealed_record(waybill.waybill_id)
        if sealed is None:
            raise PrivacyWaybillError("the waybill has no sealed record")
        opened = self._vault.open(waybill.tenant_id, waybill.waybill_id, sealed, [f"recipient_{f}" for f in fields])
        return {name.removeprefix("recipient_"): value for name, value in opened.items()}

    def _record(
        self,
        subject: Subject,
        action: str,
        resource: Resource,
        context: Context,
        decision: Decision,
        outcome: Outcome,
        disclosed: tuple[str, ...] = (),
        detail: Mapping[str, str] | None = None,
    ) -> None:
        extra = dict(detail or {})
        if decision.unmet:
            extra["unmet"] = decision.unmet
        if self._noise is not None and subject.role is Role.ANONYMOUS and not disclosed:
            # Anonymous acts that show nothing personal (tracking status) are counted, not listed.
            self._noise.count(NoiseKind(action, outcome, decision.rule, resource.tenant_id), context.now)
            return
        self._audit.record(
            AuditEvent(
                at=context.now,
                actor=subject.actor,
                role=subject.role.value,
                action=action,
                outcome=outcome,
                rule=decision.rule,
                tenant_id=resource.tenant_id or subject.tenant_id,
                waybill_id=resource.id if resource.kind == "waybill" else None,
                purpose=context.purpose,
                fields=disclosed,
                device=subject.device,
                detail=extra,
            )
        )


def _shown(waybill: IssuedWaybill, field: str, view: str, plaintext: Mapping[str, str]) -> str | None:
    masked = getattr(waybill.recipient, field)
    match view:
        case "full":
            return plaintext[field]
        case "masked" | "label" | "surname" | "last4":
            # The stored label view is exactly these: surname only, last four digits, road level.
            return masked
        case _:
            # "none", and "virtual" until a virtual number is bound at dispatch: never the real one.
            return None
