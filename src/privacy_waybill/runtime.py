"""Wires the core to its adapters once per process: settings, database, keys, policies.

Everything is validated here, at start-up: a broken masking policy, routing table, weak
master secret or missing key store stops the process with one clear line.
"""

from __future__ import annotations

import gc
import hmac
import os
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from privacy_waybill.access.model import Resource, Role, Subject
from privacy_waybill.access.policy import AccessPolicy, load_access_policy
from privacy_waybill.access.service import FROZEN, AccessService
from privacy_waybill.audit.anchors import FileWitness
from privacy_waybill.audit.checkpoints import AuditKeys
from privacy_waybill.delivery.points import DeliveryPointKeyer
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.audit.noise import NoiseAggregator
from privacy_waybill.core import Core, master_secret, open_core, utc_now
from privacy_waybill.identity.notify import Notifier
from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.errors import FieldError, Gone, PrivacyWaybillError
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.issuance.references import make_reference, reference_url
from privacy_waybill.issuance.routing import RoutingTable
from privacy_waybill.issuance.service import PHONE_INDEX_KIND, IssuanceService, Issued
from privacy_waybill.labels.model import LabelContent, LabelFormat, LabelSize
from privacy_waybill.masking.policy import MaskingPolicy
from privacy_waybill.notifications import Templates, load_templates
from privacy_waybill.ratelimit import Limit, RateLimiter, Throttled, limiter_for
from privacy_waybill.ratelimit.policy import load_rate_limits
from privacy_waybill.risk.engine import RiskEngine
from privacy_waybill.risk.rules import RiskRules, load_risk_rules
from privacy_waybill.risk.service import InProcessRiskConsumer, RiskResponder
from privacy_waybill.settings import Settings
from privacy_waybill.storage.access import AlertStore, QuotaStore
from privacy_waybill.storage.audit_log import SqlAuditLog
from privacy_waybill.storage.db import make_engine, migrate
from privacy_waybill.storage.tenants import TenantStore
from privacy_waybill.storage.tickets import SqlTicketSystem
from privacy_waybill.tickets.service import BreakGlassTickets
from privacy_waybill.validation.phones import normalise_phone
from privacy_waybill.tracking.policy import TrackingPolicy, load_tracking_policy
from privacy_waybill.storage.risk import CanaryStore, RestrictionStore, RiskAlertStore
from privacy_waybill.storage.waybills import PurgeHook, WaybillStore
from privacy_waybill.vault import (
    KekRef,
    KeyNotRetirable,
    KeyStoreExists,
    LocalKeyManager,
    SealedRecord,
    Vault,
    create_master_secret_file,
)
from privacy_waybill.vault.blind_index import BlindIndexer
from privacy_waybill.vault.keyring import KeySource
from privacy_waybill.vault.purpose_keys import PurposeKeys

# Only the commands that use them pay for these: tracing alone pulls in scipy and DuckDB,
# about 1.5 s of a `pwb issue` start before they were imported here lazily; the services a
# batch never calls (sign-in, stations, telephony, printing, key rotation) another ~0.1 s.
if TYPE_CHECKING:
    from privacy_waybill.identity.service import IdentityService
    from privacy_waybill.identity.throttle import CredentialThrottle
    from privacy_waybill.notifications import NotificationService
    from privacy_waybill.printing import PrintService
    from privacy_waybill.storage.key_rotation import Rotated
    from privacy_waybill.storage.printing import TerminalStore
    from privacy_waybill.storage.recipients import RecipientStore
    from privacy_waybill.storage.retention import RetentionStore
    from privacy_waybill.storage.risk import TraceCaseStore
    from privacy_waybill.storage.risk_stream import RedisRiskConsumer
    from privacy_waybill.storage.stations import StationStore
    from privacy_waybill.telephony import CallbackSigner, TelephonyService
    from privacy_waybill.delivery.service import DeliveryService
    from privacy_waybill.recipients.service import RecipientService
    from privacy_waybill.stations.service import StationService
    from privacy_waybill.storage.redis_bindings import RedisBackedTelephonyStore
    from privacy_waybill.storage.redis_quotas import RedisQuotaStore
    from privacy_waybill.tracing.exposure import AuditWarehouse
    from privacy_waybill.tracing.matching import VirtualNumbers
    from privacy_waybill.tracing.service import TraceService
    from privacy_waybill.tracking.service import TrackingService

SQLITE_COMPANION_SUFFIXES = ("", "-wal", "-shm", "-journal")
DEFAULT_TENANT = "default"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    # Keys, vault, blind indexes, masking and routing: what needs no database.
    core: Core
    waybills: WaybillStore
    tenants: TenantStore
    access_policy: AccessPolicy
    rate_limits: dict[str, Limit]
    audit: SqlAuditLog
    quotas: QuotaStore | RedisQuotaStore
    alerts: AlertStore
    risk_rules: RiskRules
    # Validated at start-up like the other policies.
    notification_templates: Templates = field(default_factory=load_templates)
    # None: crowd-courier OTPs go through the notification outbox.
    notifier: Notifier | None = None
    tracking_policy: TrackingPolicy = field(default_factory=load_tracking_policy)
    clock: Callable[[], datetime] = utc_now

    @property
    def keys(self) -> LocalKeyManager:
        return self.core.keys

    @property
    def purpose_keys(self) -> PurposeKeys:
        return self.core.purpose_keys

    @property
    def vault(self) -> Vault:
        return self.core.vault

    @property
    def blind_index(self) -> BlindIndexer:
        return self.core.blind_index

    @property
    def masking(self) -> MaskingPolicy:
        return self.core.masking

    @property
    def routing(self) -> RoutingTable:
        return self.core.routing

    @property
    def delivery_points(self) -> DeliveryPointKeyer:
        return self.core.delivery_points

    @cached_property
    def telephony(self) -> TelephonyService:
        """Virtual numbers (AXB); the embedded simulator is the provider by default. With
        PWB_REDIS_URL, routing and the one-A-or-B-per-X claim go through Redis (docs/telephony.md)."""
        from privacy_waybill.storage.telephony import build_telephony
        from privacy_waybill.telephony import DEFAULT_TELEPHONY_POLICY, SimulatedTelephony

        return build_telephony(
            self.engine, self.purpose_keys, self.blind_index, SimulatedTelephony(), self.audit, DEFAULT_TELEPHONY_POLICY,
            self.redis_bindings,
        )  # fmt: skip

    @cached_property
    def redis_bindings(self) -> RedisBackedTelephonyStore | None:
        if not self.settings.redis_url:
            return None
        from privacy_waybill.storage.redis_bindings import RedisBackedTelephonyStore, RedisBindingLookup
        from privacy_waybill.storage.telephony import TelephonyStore

        lookup = RedisBindingLookup.from_url(self.settings.redis_url)
        return RedisBackedTelephonyStore(TelephonyStore(self.engine), lookup)

    def resync_redis_bindings(self) -> int:
        """Rewrite Redis's bindings from the database (`pwb serve` start): every binding that could
        still be live there, the ended ones removed. Returns how many bindings were written."""
        from privacy_waybill.telephony import DEFAULT_TELEPHONY_POLICY

        store = self.redis_bindings
        if store is None:
            return 0
        now = self.clock()
        return store.resync(now - DEFAULT_TELEPHONY_POLICY.hard_maximum, now)

    @cached_property
    def callback_signer(self) -> CallbackSigner:
        """Verifies telephony-provider callbacks (the simulator signs with the same secret)."""
        from privacy_waybill.telephony import CallbackSigner

        return CallbackSigner(self.purpose_keys.ring("telephony-callback"))

    @cached_property
    def delivery(self) -> DeliveryService:
        """Assignment, manifests, the out-for-delivery scan, reveal, calls and sign-off."""
        from privacy_waybill.delivery.service import DeliveryService
        from privacy_waybill.identity.credentials import OneTimeCodes
        from privacy_waybill.storage.delivery import DeliveryStore

        identity = self.identity
        return DeliveryService(
            store=DeliveryStore(self.engine),
            find_by_number=lambda number: self.waybills.get_by_number(None, number),
            find_by_public_ref=self.waybills.get_by_public_ref,
            reference_keys=self.reference_keys,
            access=self.access,
            policy=self.access_policy,
            couriers=identity.store,
            pass_phone_index=lambda phone: identity.phone_index(normalise_phone(phone).canonical),
            telephony=self.telephony,
            notifications=self.notifications,
            keyer=self.delivery_points,
            codes=OneTimeCodes(self.purpose_keys.ring("signoff-code")),
            line_keys=self.purpose_keys.ring("courier-line"),
        )

    @cached_property
    def notifications(self) -> NotificationService:
        """SMS and push through the outbox; the embedded simulator is the provider by default."""
        from privacy_waybill.notifications import SimulatedProvider
        from privacy_waybill.storage.notifications import build_notifications

        return build_notifications(
            self.engine, self.purpose_keys, self.blind_index, SimulatedProvider(), self.notification_templates
        )

    @cached_property
    def identity(self) -> IdentityService:
        """Sign-in: passwords, TOTP, sessions, device binding, crowd-courier passes."""
        from privacy_waybill.notifications.otp import OutboxNotifier
        from privacy_waybill.storage.identity import build_identity

        notifier = self.notifier or OutboxNotifier(self.notifications, lambda: self.clock())
        return build_identity(self.engine, self.purpose_keys, self.blind_index, notifier)

    @cached_property
    def limiter(self) -> RateLimiter:
        """Rate limits shared by every route: Redis when PWB_REDIS_URL is set, else this process."""
        return limiter_for(self.settings.redis_url)

    @cached_property
    def station_store(self) -> StationStore:
        from privacy_waybill.storage.stations import StationStore

        return StationStore(self.engine)

    @cached_property
    def recipient_store(self) -> RecipientStore:
        from privacy_waybill.storage.recipients import RecipientStore

        return RecipientStore(self.engine)

    @cached_property
    def stations(self) -> StationService:
        """The station desk: check-in with shelf and pickup codes, stickers, search, hand-over."""
        from privacy_waybill.stations.wiring import build_stations
        return build_stations(self, self.station_store, self.recipient_store)

    @cached_property
    def recipients(self) -> RecipientService:
        """The recipient portal: OTP sign-in, own parcels, who saw my data, preferences, leak reports."""
        from privacy_waybill.stations.wiring import build_recipients
        return build_recipients(self, self.recipient_store, self.station_store)

    @cached_property
    def tracking(self) -> TrackingService:
        """Public tracking by number, limited per client and per waybill (policies/tracking.yaml)."""
        from privacy_waybill.stations.wiring import build_tracking
        return build_tracking(self, self.station_store)

    @cached_property
    def throttle(self) -> CredentialThrottle:
        """Sign-in and OTP throttles (per client, per keyed username or phone)."""
        from privacy_waybill.identity.throttle import CredentialThrottle

        return CredentialThrottle(self.limiter, self.rate_limits, self.purpose_keys.ring("rate-limit"))

    @property
    def reference_keys(self) -> KeySource:
        """The QR reference key: labels name the version they were printed under."""
        return self.purpose_keys.ring("qr-reference")

    @cached_property
    def terminals(self) -> TerminalStore:
        from privacy_waybill.storage.printing import TerminalStore

        return TerminalStore(self.engine)

    @cached_property
    def printing(self) -> PrintService:
        """Cloud print: queues, pulls of rendered masked labels, print reports, capped reprints."""
        from privacy_waybill.printing import PrintService
        from privacy_waybill.storage.printing import PrintStore

        return PrintService(
            PrintStore(self.engine), self.label_content, self.audit, lambda: self.clock(), self.settings.reprint_limit
        )

    @cached_property
    def access(self) -> AccessService:
        """The one path to waybill data: decide, count, audit, disclose (uses the current clock)."""
        return AccessService(
            policy=self.access_policy,
            audit=self.audit,
            quotas=self.quotas,
            alerts=self.alerts,
            vault=self.vault,
            sealed_record=self.waybills.sealed_record,
            clock=lambda: self.clock(),
            noise=self.noise,
            tickets=self.tickets,
            restrictions=self.restrictions.kinds,
        )

    @cached_property
    def tickets(self) -> BreakGlassTickets:
        """Break-glass tickets from the built-in ticket system; reasons sealed with their own key."""
        return BreakGlassTickets(
            SqlTicketSystem(self.engine),
            re.compile(self.settings.ticket_pattern),
            self.purpose_keys.ring("break-glass-reason"),
        )

    @cached_property
    def noise(self) -> NoiseAggregator:
        """Anonymous refusals and look-ups, aggregated per kind and minute in the audit log."""
        return NoiseAggregator(self.audit, lambda: self.clock())

    def device_tag(self, device: str | None) -> str | None:
        """What the audit log keeps of a device id: a keyed hash (with its key version), never the id."""
        if device is None:
            return None
        version, key = self.purpose_keys.current("device-id")
        return f"dev{version}:" + hmac.digest(key, device.encode(), "sha256")[:12].hex()


    @cached_property
    def restrictions(self) -> RestrictionStore:
        """Accounts frozen or under step-up (by the risk engine or an auditor)."""
        return RestrictionStore(self.engine)

    @cached_property
    def canaries(self) -> CanaryStore:
        return CanaryStore(self.engine)

    @cached_property
    def risk_responder(self) -> RiskResponder:
        return RiskResponder(RiskAlertStore(self.engine), self.restrictions, self.audit, self._end_sessions)

    @cached_property
    def risk(self) -> InProcessRiskConsumer:
        """The risk engine, fed by the audit writer as entries commit (in-process by default;
        with PWB_RISK_TRANSPORT=redis the log publishes to a stream and `pwb risk consume` runs it)."""
        consumer = InProcessRiskConsumer(RiskEngine(self.risk_rules, self.canaries.planted_at), self.risk_responder)
        if self.settings.risk_transport == "redis":
            from privacy_waybill.storage.risk_stream import RedisAuditPublisher

            self.audit.subscribe(
                RedisAuditPublisher.connect(self.settings.require_redis_url(), self.settings.risk_stream)
            )
        else:
            self.audit.subscribe(consumer)
        return consumer

    @cached_property
    def warehouse(self) -> AuditWarehouse:
        """The DuckDB copy of the audit data that leak tracing counts in (PWB_HOME/analytics)."""
        from privacy_waybill.tracing.exposure import AuditWarehouse
        return AuditWarehouse(self.settings.home / "analytics" / "audit.duckdb")

    @cached_property
    def tracing(self) -> TraceService:
        from privacy_waybill.storage.tracing import SqlWaybillDirectory, sync_warehouse
        from privacy_waybill.tracing.matching import Masker
        from privacy_waybill.tracing.service import TraceService

        def phone_index(tenant_id: str, canonical_phone: str) -> bytes:
            return self.blind_index.index(tenant_id, PHONE_INDEX_KIND, canonical_phone)

        def label_view(field_name: str) -> Callable[[str], str]:
            return lambda value: self.masking.mask_field(self.settings.masking_profile, "label", field_name, value)

        def synced() -> AuditWarehouse:
            sync_warehouse(self.engine, self.warehouse)
            return self.warehouse

        return TraceService(
            SqlWaybillDirectory(self.engine, phone_index, self.tenants.all_ids),
            synced,
            Masker(name=label_view("name"), address=label_view("address")),
            self.canaries.planted_at,
            self.virtual_numbers,
        )

    @cached_property
    def virtual_numbers(self) -> VirtualNumbers:
        """Who was given which virtual number for which waybill (the telephony bindings), so a
        leaked X names its viewer."""
        from privacy_waybill.storage.telephony import BindingViewers

        return BindingViewers(self.engine)

    def trace_case(
        self, subject: Subject, data: bytes, since: datetime | None = None, until: datetime | None = None
    ) -> dict[str, Any]:
        """Run, store and audit a leak-trace case; a canary in the list raises its alert."""
        self.access.permit(subject, "trace.run", Resource(kind="platform"), self.access.context())
        case_id = f"tc_{secrets.token_hex(8)}"
        now = self.clock()
        with self._trace_lock:
            report = self.tracing.run(data, case_id, now, subject.actor, since, until)
        self.trace_cases.add(case_id, now, subject.actor, report)
        self.audit.record_many(
            [
                AuditEvent(at=now, actor=subject.actor, role=subject.role.value, action="trace.match",
                           outcome=Outcome.ALLOWED, rule="trace", waybill_id=canary["waybill_id"],
                           detail={"case": case_id})
                for canary in report["canaries"]
            ]
        )  # fmt: skip
        return report

    def plant_canary(self, tenant_id: str, scope_kind: str, scope: str, planted_by: str) -> IssuedWaybill:
        """Issue a canary waybill for `tenant_id` on the route or station `scope`, or queue one
        for the print terminal `scope` (of that tenant), so its label reaches that terminal."""
        from privacy_waybill.printing.model import PrintSettings
        from privacy_waybill.risk.canaries import canary_order
        from privacy_waybill.storage.printing import PrintStore

        if scope_kind == "terminal" and not any(
            t.terminal_id == scope and t.revoked_at is None for t in self.terminals.list_for_tenant(tenant_id)
        ):
            raise FieldError("scope", "is no live print terminal of this tenant")

        def sort_code_of(address: str) -> str | None:
            try:
                return str(self.routing.sort_code(parse_address(address)))
            except PrivacyWaybillError:
                return None

        order = canary_order(scope_kind, scope, self.routing.divisions_with, sort_code_of)
        [outcome] = self.issuance().issue(tenant_id, records_from_objects([order]), actor=planted_by)
        if not isinstance(outcome, Issued):
            raise PrivacyWaybillError(f"the canary could not be issued ({outcome.error.field})")
        self.canaries.plant(outcome.waybill.waybill_id, scope_kind, scope, self.clock(), planted_by)
        if scope_kind == "terminal":
            settings = PrintSettings(LabelFormat.PDF, LabelSize.ONE_PLY_76X130, 203)
            PrintStore(self.engine).queue(tenant_id, [outcome.waybill.waybill_no], settings, planted_by, self.clock())
        return outcome.waybill

    @cached_property
    def trace_cases(self) -> TraceCaseStore:
        from privacy_waybill.storage.risk import TraceCaseStore

        return TraceCaseStore(self.engine)

    @cached_property
    def _trace_lock(self) -> threading.Lock:
        # One DuckDB connection per process; cases run one at a time.
        return threading.Lock()

    def warm_up_risk(self, page: int = 5000, before_seq: int | None = None) -> int:
        """Feed the risk engine the audit entries of its longest look-back (the baselines' days),
        so a restarted server keeps each account's baseline; returns how many were replayed.

        `before_seq` stops the replay where a stream will deliver the rest, to be acted on.
        """
        days = max((s.baseline_days for s in self.risk_rules.signals), default=1)
        since = self.clock() - timedelta(days=days)

        def entries() -> Iterator[tuple[int, AuditEvent]]:
            after = 0
            while batch := self.audit.events(since=since, after_seq=after, limit=page):
                for entry in batch:
                    if before_seq is not None and entry.seq >= before_seq:
                        return
                    yield entry.seq, entry.event()
                after = batch[-1].seq

        return self.risk.warm_up(entries())

    def risk_from_stream(self, consumer: str) -> tuple[RedisRiskConsumer, int]:
        """A reader of the audit stream that feeds this process's risk engine, after replaying
        the log up to the first entry the stream will still hand it (each entry seen once, and
        every entry the stream delivers acted on); with how many entries were replayed."""
        import redis

        from privacy_waybill.storage.risk_stream import RedisRiskConsumer

        reader = RedisRiskConsumer(
            redis.Redis.from_url(self.settings.require_redis_url(), decode_responses=True),
            # Through the consumer's queue, not straight to the engine: the risk clock's tick
            # runs on another thread and the engine must never be entered twice.
            lambda seq, event: self.risk([(seq, event)]),
            consumer,
            self.settings.risk_stream,
        )
        return reader, self.warm_up_risk(before_seq=reader.first_seq_to_deliver())

    def _end_sessions(self, actor: str, now: datetime) -> None:
        if actor.startswith("user:"):
            self.identity.revoke_all_sessions(actor.removeprefix("user:"), now)

    def resolve_token(self, token: str, device: str | None) -> tuple[Subject, frozenset[str] | None] | None:
        """The Subject behind a bearer token, with the scopes of an API key (None for others)."""
        resolved = self._resolve_token(token, device)
        # A frozen account's credentials stop working at once, whatever their kind.
        return None if resolved is None or self.is_frozen(resolved[0].actor) else resolved

    def _resolve_token(self, token: str, device: str | None) -> tuple[Subject, frozenset[str] | None] | None:
        """The Subject carries the keyed hash of the device id (for the audit log). A live courier
        session presented from another device counts as a device-binding guess; past the limit
        the session is ended.
        """
        tag = self.device_tag(device)
        principal = self.tenants.authenticate(token)
        if principal is not None:
            subject = Subject(
                actor=f"key:{principal.key_id}", role=Role.MERCHANT, tenant_id=principal.tenant_id, device=tag
            )
            return subject, principal.scopes
        terminal = self.terminals.authenticate(token)
        if terminal is not None:
            from privacy_waybill.printing.terminals import terminal_subject

            return replace(terminal_subject(terminal), device=tag), None
        now = self.clock()
        session = self.identity.resolve_session(token, device, now)
        if session is not None:
            return replace(session, device=tag), None
        targeted = self.identity.device_mismatch(token, device, now)
        if targeted is not None:
            self._count_device_guess(token, targeted, tag, now)
        return None

    def _count_device_guess(self, token: str, actor: str, tag: str | None, now: datetime) -> None:
        from privacy_waybill.identity.credentials import session_token_hash

        try:
            self.throttle.device_mismatch(session_token_hash(token).hex(), now)
            rule = "device-binding:mismatch"
        except Throttled:
            self.identity.sign_out(token, now)
            rule = "device-binding:session-ended"
        self.audit.record(
            AuditEvent(
                at=now, actor=actor, role=Role.COURIER.value, action="session.device_check",
                outcome=Outcome.DENIED, rule=rule, device=tag,
            )
        )  # fmt: skip

    def is_frozen(self, actor: str) -> bool:
        return FROZEN in self.restrictions.kinds(actor)

    def issuance(self, profile: str | None = None, workers: int = 1) -> IssuanceService:
        """The issuance service; `workers` > 1 forks preparing processes (batch commands only)."""
        return IssuanceService(
            store=self.waybills, preparation=self.core.preparation(profile, self.clock), workers=workers
        )

    def tracking_url(self, waybill: IssuedWaybill) -> str:
        return reference_url(self.settings.public_base_url, make_reference(waybill.public_ref, self.reference_keys))

    def label_content(self, waybill: IssuedWaybill) -> LabelContent:
        if waybill.purged_at is not None:
            raise Gone("the waybill's personal data was purged after the retention period; no label can be made")
        return LabelContent(
            waybill_no=waybill.waybill_no,
            sort_code=waybill.sort_code,
            recipient=waybill.recipient,
            sender=waybill.sender,
            contents=waybill.contents_category,
            qr_payload=self.tracking_url(waybill),
            issued_on=waybill.created_at.date(),
            service=waybill.service,
            weight_g=waybill.weight_g,
            pieces=waybill.pieces,
        )

    def rewrap_data_keys(self, tenant_ids: set[str], batch_size: int = 1000) -> int:
        """Re-wrap the data keys of these tenants under their current KEK; ciphertexts stay."""
        return sum(self._rewrap(tenant_id, None, batch_size) for tenant_id in sorted(tenant_ids))

    def _rewrap(self, tenant_id: str, kek: KekRef | None, batch_size: int = 1000) -> int:
        """Re-wrap the tenant's data keys (those under `kek` only, if given); how many there were."""
        batch: list[tuple[str, SealedRecord]] = []
        count = 0
        for waybill_id, sealed in self.waybills.iter_sealed(tenant_id, kek, batch_size):
            batch.append((waybill_id, self.vault.rewrap(tenant_id, waybill_id, sealed)))
            if len(batch) >= batch_size:
                self.waybills.replace_wrapped_keys(batch)
                count += len(batch)
                batch = []
        self.waybills.replace_wrapped_keys(batch)
        return count + len(batch)

    def retire_kek(self, tenant_id: str, version: int, actor: str) -> int:
        """Destroy version `version` of the tenant's KEK for good, audited as `key.retire`.

        Data keys still wrapped under it (rotated past by a process's stale view, or never
        re-wrapped) move to the current version first; returns how many did. Refused for the
        current version and within `RETIRE_AFTER` of the rotation that replaced it.
        """
        old = KekRef(self.keys.current_kek(tenant_id).kek_id, version)
        self.keys.retire(tenant_id, old, check_only=True)  # so that a refusal changes nothing
        moved = self._rewrap(tenant_id, old)
        left = self.waybills.count_wrapped_under(tenant_id, old)
        if left:
            raise KeyNotRetirable(
                f"tenant {tenant_id}: {left} data keys were wrapped under version {version} meanwhile; run it again"
            )
        self.keys.retire(tenant_id, old)
        self._audit_key_change(
            "key.retire", actor, f"kek:{tenant_id}", {"tenant": tenant_id, "version": str(version), "rewrapped": str(moved)}
        )
        return moved

    @cached_property
    def retention(self) -> RetentionStore:
        from privacy_waybill.storage.retention import RetentionStore

        return RetentionStore(self.engine, self.settings.retention_days)

    @cached_property
    def purge_hooks(self) -> list[PurgeHook]:
        """What other domains keep per waybill and must shred with it (virtual-number bindings,
        crowd passes, outbox messages), run inside the shred's transaction."""
        from privacy_waybill.storage.delivery import purge_delivery
        from privacy_waybill.storage.telephony import purge_bindings

        store = self.redis_bindings
        return [purge_delivery, purge_bindings if store is None else store.purge_hook()]

    def purge_expired(self, actor: str = "system:retention", batch_size: int = 1000) -> int:
        """Crypto-shred the personal data of waybills whose retention period (per tenant) has run
        out since their last lifecycle event; each purged waybill is audited before it is shredded."""
        now = self.clock()
        retention = self.retention
        purged = 0
        for tenant_id, days in retention.periods().items():
            while ids := retention.due(tenant_id, now, batch_size):
                self.audit.record_many(
                    [
                        AuditEvent(at=now, actor=actor, role=Role.PLATFORM_ADMIN.value, action="data.purge",
                                   outcome=Outcome.ALLOWED, rule="retention", tenant_id=tenant_id,
                                   waybill_id=waybill_id, detail={"retention_days": str(days)})
                        for waybill_id in ids
                    ]
                )  # fmt: skip
                purged += self.waybills.shred(ids, now, self.purge_hooks, reclaim=False)
        if purged:
            self.waybills.reclaim_freed_space()
        return purged

    def rotate_purpose_key(self, purpose: str, actor: str) -> Rotated:
        """A new version of one purpose's key, with the values it seals moved to it, audited."""
        from privacy_waybill.storage.key_rotation import rotate_purpose

        rotated = rotate_purpose(self.engine, self.purpose_keys, purpose)
        detail = {"purpose": purpose, "version": str(rotated.version), "resealed": str(rotated.resealed or 0)}
        self._audit_key_change("key.rotate", actor, f"purpose:{purpose}", detail)
        return rotated

    def retire_purpose_key(self, purpose: str, version: int, actor: str) -> int | None:
        """Delete an old version of one purpose's key once nothing needs it, audited as
        `key.retire`; how many sealed values moved off it first (None: it seals nothing stored)."""
        from privacy_waybill.storage.key_rotation import retire_purpose

        moved = retire_purpose(self.engine, self.purpose_keys, purpose, version)
        detail = {"purpose": purpose, "version": str(version), "resealed": str(moved or 0)}
        self._audit_key_change("key.retire", actor, f"purpose:{purpose}", detail)
        return moved

    def _audit_key_change(self, action: str, actor: str, rule: str, detail: dict[str, str]) -> None:
        self.audit.record(
            AuditEvent(
                at=self.clock(), actor=actor, role=Role.PLATFORM_ADMIN.value, action=action,
                outcome=Outcome.ALLOWED, rule=rule, detail=detail,
            )
        )  # fmt: skip

    def close(self) -> None:
        self.engine.dispose()


def restrict_to_owner(settings: Settings) -> None:
    """PWB_HOME 0700; the SQLite database and its WAL, shared-memory and journal files 0600."""
    if settings.home.exists():
        os.chmod(settings.home, 0o700)
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        for suffix in SQLITE_COMPANION_SUFFIXES:
            path = Path(url.database + suffix)
            if path.exists():
                os.chmod(path, 0o600)
    for path in (settings.audit_anchor_file, settings.log_dir):
        if path.exists():
            os.chmod(path, 0o700 if path.is_dir() else 0o600)


def initialise(settings: Settings, engine: Engine | None = None) -> list[str]:
    """Create what is missing (data folder, master secret, key store, schema, default tenant).

    Idempotent; returns what it did, for the CLI to report.
    """
    done: list[str] = []
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not os.environ.get("PWB_MASTER_SECRET") and not settings.master_secret_file.exists():
        create_master_secret_file(settings.master_secret_file)
        done.append(f"created master secret {settings.master_secret_file} (owner-only)")
    secret = master_secret(settings)
    try:
        keys = LocalKeyManager.create(settings.keys_dir, secret)
        done.append(f"created key store in {settings.keys_dir}")
    except KeyStoreExists:
        keys = LocalKeyManager.open(settings.keys_dir, secret)  # proves the secret still matches the store
    engine = engine or make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        if TenantStore(engine).ensure(DEFAULT_TENANT, "Default merchant", utc_now()):
            done.append(f"created tenant {DEFAULT_TENANT!r}")
        keys.ensure_tenant(DEFAULT_TENANT)
    finally:
        engine.dispose()
    restrict_to_owner(settings)
    return done


def _quota_store(settings: Settings, engine: Engine) -> QuotaStore | RedisQuotaStore:
    if not settings.redis_url:
        return QuotaStore(engine)
    from privacy_waybill.storage.redis_quotas import RedisQuotaStore

    return RedisQuotaStore.from_url(settings.redis_url)


def open_runtime(settings: Settings, engine: Engine | None = None, core: Core | None = None) -> Runtime:
    """Open keys, database and policies; `engine` overrides the settings' database (tests),
    `core` is the one already opened from the same settings (`pwb issue`)."""
    core = core or open_core(settings)
    engine = engine or make_engine(settings.resolved_database_url)
    purpose_keys = core.purpose_keys
    runtime = Runtime(
        settings=settings,
        engine=engine,
        core=core,
        waybills=WaybillStore(engine),
        tenants=TenantStore(engine),
        access_policy=load_access_policy(),
        rate_limits=load_rate_limits(),
        audit=SqlAuditLog(
            engine,
            AuditKeys(purpose_keys.ring("audit")),
            clock=utc_now,
            witnesses=[FileWitness(settings.audit_anchor_file)],
        ),
        quotas=_quota_store(settings, engine),
        alerts=AlertStore(engine),
        risk_rules=load_risk_rules(settings.risk_rules),
    )
    restrict_to_owner(settings)
    _ = runtime.risk  # subscribes the engine to the audit log before any request is served
    # The division tables are ~100k long-lived objects; freezing them keeps every later
    # full garbage collection from rescanning them (+10-17% issuance throughput, measured).
    gc.freeze()
    return runtime
