"""Wires the core to its adapters once per process: settings, database, keys, policies.

Everything is validated here, at start-up: a broken masking policy, routing table, weak
master secret or missing key store stops the process with one clear line.
"""

from __future__ import annotations

import gc
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from privacy_waybill.access.model import Resource, Role, Subject
from privacy_waybill.access.policy import AccessPolicy, load_access_policy
from privacy_waybill.access.service import FROZEN, AccessService
from privacy_waybill.addresses.divisions import load_divisions
from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.audit.checkpoints import signer_from_keys
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.errors import FieldError, Gone, PrivacyWaybillError
from privacy_waybill.identity.notify import Notifier, SimulatedNotifier
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.issuance.references import make_reference, reference_url
from privacy_waybill.issuance.routing import DEMO_TABLE, RoutingTable
from privacy_waybill.issuance.service import PHONE_INDEX_KIND, IssuanceService, Issued
from privacy_waybill.labels.model import LabelContent, LabelFormat, LabelSize
from privacy_waybill.masking.policy import MaskingPolicy, load_masking_policy
from privacy_waybill.printing import PrintService
from privacy_waybill.printing.model import PrintSettings
from privacy_waybill.printing.terminals import terminal_subject
from privacy_waybill.risk.canaries import canary_order
from privacy_waybill.risk.engine import RiskEngine
from privacy_waybill.risk.rules import RiskRules, load_risk_rules
from privacy_waybill.risk.service import InProcessRiskConsumer, RiskResponder
from privacy_waybill.settings import Settings
from privacy_waybill.storage.access import AlertStore, QuotaStore
from privacy_waybill.storage.audit_log import SqlAuditLog
from privacy_waybill.storage.db import make_engine, migrate
from privacy_waybill.storage.identity import build_identity
from privacy_waybill.storage.printing import PrintStore, TerminalStore
from privacy_waybill.storage.retention import RetentionStore
from privacy_waybill.storage.risk import CanaryStore, RestrictionStore, RiskAlertStore, TraceCaseStore
from privacy_waybill.storage.tenants import TenantStore
from privacy_waybill.storage.tracing import SqlWaybillDirectory, sync_warehouse
from privacy_waybill.storage.waybills import PurgeHook, WaybillStore
from privacy_waybill.tracing.exposure import AuditWarehouse
from privacy_waybill.tracing.matching import Masker, NoVirtualNumbers, VirtualNumbers
from privacy_waybill.tracing.service import TraceService
from privacy_waybill.vault import (
    KeyStoreExists,
    KeyStoreMissing,
    LocalKeyManager,
    SealedRecord,
    Vault,
    create_master_secret_file,
    load_master_secret,
)
from privacy_waybill.vault.blind_index import BlindIndexer
from privacy_waybill.vault.platform_keys import platform_key

TENANT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
DEFAULT_TENANT = "default"


class NotInitialised(PrivacyWaybillError):
    def __init__(self) -> None:
        super().__init__("no key store found in PWB_HOME: run `pwb init` first")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    keys: LocalKeyManager
    vault: Vault
    blind_index: BlindIndexer
    masking: MaskingPolicy
    routing: RoutingTable
    waybills: WaybillStore
    tenants: TenantStore
    reference_key: bytes
    access_policy: AccessPolicy
    audit: SqlAuditLog
    quotas: QuotaStore
    alerts: AlertStore
    risk_rules: RiskRules
    notifier: Notifier = field(default_factory=SimulatedNotifier)
    clock: Callable[[], datetime] = utc_now

    @cached_property
    def identity(self) -> IdentityService:
        """Sign-in: passwords, TOTP, sessions, device binding, crowd-courier passes."""
        return build_identity(self.engine, self.keys, self.blind_index, self.notifier)

    @cached_property
    def terminals(self) -> TerminalStore:
        return TerminalStore(self.engine)

    @cached_property
    def printing(self) -> PrintService:
        """Cloud print: queues, pulls of rendered masked labels, print reports, capped reprints."""
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
            restrictions=self.restrictions.kinds,
        )

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

            self.audit.subscribe(RedisAuditPublisher.connect(self.settings.require_redis_url()))
        else:
            self.audit.subscribe(consumer)
        return consumer

    @cached_property
    def warehouse(self) -> AuditWarehouse:
        """The DuckDB copy of the audit data that leak tracing counts in (PWB_HOME/analytics)."""
        return AuditWarehouse(self.settings.home / "analytics" / "audit.duckdb")

    @cached_property
    def tracing(self) -> TraceService:
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
        """Who was given which virtual number for which waybill, for leak tracing; the courier
        module's binding store takes this place when it is wired in."""
        return NoVirtualNumbers()

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
        return TraceCaseStore(self.engine)

    @cached_property
    def _trace_lock(self) -> threading.Lock:
        # One DuckDB connection per process; cases run one at a time.
        return threading.Lock()

    def warm_up_risk(self, page: int = 5000) -> int:
        """Feed the risk engine the audit entries of its longest look-back (the baselines' days),
        so a restarted server keeps each account's baseline; returns how many were replayed."""
        days = max((s.baseline_days for s in self.risk_rules.signals), default=1)
        since = self.clock() - timedelta(days=days)

        def entries() -> Iterator[tuple[int, AuditEvent]]:
            after = 0
            while batch := self.audit.events(since=since, after_seq=after, limit=page):
                yield from ((entry.seq, entry.event()) for entry in batch)
                after = batch[-1].seq

        return self.risk.warm_up(entries())

    def _end_sessions(self, actor: str, now: datetime) -> None:
        if actor.startswith("user:"):
            self.identity.revoke_all_sessions(actor.removeprefix("user:"), now)

    def resolve_token(self, token: str, device: str | None) -> tuple[Subject, frozenset[str] | None] | None:
        """The Subject behind a bearer token, with the scopes of an API key (None for others)."""
        resolved = self._resolve_token(token, device)
        # A frozen account's credentials stop working at once, whatever their kind.
        return None if resolved is None or self.is_frozen(resolved[0].actor) else resolved

    def _resolve_token(self, token: str, device: str | None) -> tuple[Subject, frozenset[str] | None] | None:
        principal = self.tenants.authenticate(token)
        if principal is not None:
            subject = Subject(
                actor=f"key:{principal.key_id}", role=Role.MERCHANT, tenant_id=principal.tenant_id, device=device
            )
            return subject, principal.scopes
        terminal = self.terminals.authenticate(token)
        if terminal is not None:
            return terminal_subject(terminal), None
        session = self.identity.resolve_session(token, device, self.clock())
        return (session, None) if session else None

    def is_frozen(self, actor: str) -> bool:
        return FROZEN in self.restrictions.kinds(actor)

    def issuance(self, profile: str | None = None) -> IssuanceService:
        return IssuanceService(
            store=self.waybills,
            vault=self.vault,
            blind_index=self.blind_index,
            masking=self.masking,
            routing=self.routing,
            clock=self.clock,
            carrier_prefix=self.settings.carrier_prefix,
            profile=profile or self.settings.masking_profile,
        )

    def tracking_url(self, waybill: IssuedWaybill) -> str:
        return reference_url(self.settings.public_base_url, make_reference(waybill.public_ref, self.reference_key))

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
        batch: list[tuple[str, SealedRecord]] = []
        count = 0
        for waybill_id, tenant_id, sealed in self.waybills.iter_sealed(batch_size):
            if tenant_id not in tenant_ids:
                continue
            batch.append((waybill_id, self.vault.rewrap(tenant_id, waybill_id, sealed)))
            if len(batch) >= batch_size:
                self.waybills.replace_wrapped_keys(batch)
                count += len(batch)
                batch = []
        self.waybills.replace_wrapped_keys(batch)
        return count + len(batch)

    @cached_property
    def retention(self) -> RetentionStore:
        return RetentionStore(self.engine, self.settings.retention_days)

    @cached_property
    def purge_hooks(self) -> list[PurgeHook]:
        """What other domains keep per waybill and must shred with it (virtual-number bindings,
        crowd passes, outbox messages): each appends its hook here when it is wired in."""
        return []

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

    def close(self) -> None:
        self.engine.dispose()


def _master_secret(settings: Settings) -> bytes:
    return load_master_secret(os.environ.get("PWB_MASTER_SECRET"), settings.master_secret_file)


def initialise(settings: Settings, engine: Engine | None = None) -> list[str]:
    """Create what is missing (data folder, master secret, key store, schema, default tenant).

    Idempotent; returns what it did, for the CLI to report.
    """
    done: list[str] = []
    settings.home.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("PWB_MASTER_SECRET") and not settings.master_secret_file.exists():
        create_master_secret_file(settings.master_secret_file)
        done.append(f"created master secret {settings.master_secret_file} (owner-only)")
    secret = _master_secret(settings)
    try:
        LocalKeyManager.create(settings.keys_dir, secret)
        done.append(f"created key store in {settings.keys_dir}")
    except KeyStoreExists:
        LocalKeyManager.open(settings.keys_dir, secret)  # proves the secret still matches the store
    engine = engine or make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        if TenantStore(engine).ensure(DEFAULT_TENANT, "Default merchant", utc_now()):
            done.append(f"created tenant {DEFAULT_TENANT!r}")
    finally:
        engine.dispose()
    return done


def open_runtime(settings: Settings, engine: Engine | None = None) -> Runtime:
    """Open keys, database and policies; `engine` overrides the settings' database (tests)."""
    if not settings.master_secret_file.exists() and not os.environ.get("PWB_MASTER_SECRET"):
        raise NotInitialised()
    try:
        keys = LocalKeyManager.open(settings.keys_dir, _master_secret(settings))
    except KeyStoreMissing:
        raise NotInitialised() from None
    engine = engine or make_engine(settings.resolved_database_url)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        keys=keys,
        vault=Vault(keys),
        blind_index=BlindIndexer(keys),
        masking=load_masking_policy(),
        routing=RoutingTable.load(settings.routing_table or DEMO_TABLE),
        waybills=WaybillStore(engine),
        tenants=TenantStore(engine),
        reference_key=platform_key(keys, b"pwb qr-reference v1"),
        access_policy=load_access_policy(),
        audit=SqlAuditLog(engine, signer_from_keys(keys), clock=utc_now),
        quotas=QuotaStore(engine),
        alerts=AlertStore(engine),
        risk_rules=load_risk_rules(settings.risk_rules),
    )
    _ = runtime.risk  # subscribes the engine to the audit log before any request is served
    load_divisions()
    # The division tables are ~100k long-lived objects; freezing them keeps every later
    # full garbage collection from rescanning them (+10-17% issuance throughput, measured).
    gc.freeze()
    return runtime
