"""Wires the core to its adapters once per process: settings, database, keys, policies.

Everything is validated here, at start-up: a broken masking policy, routing table, weak
master secret or missing key store stops the process with one clear line.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from sqlalchemy import Engine

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.access.policy import AccessPolicy, load_access_policy
from privacy_waybill.access.service import AccessService
from privacy_waybill.addresses.divisions import load_divisions
from privacy_waybill.audit.checkpoints import signer_from_keys
from privacy_waybill.delivery.points import DeliveryPointKeyer
from privacy_waybill.delivery.service import DeliveryService
from privacy_waybill.errors import Gone, PrivacyWaybillError
from privacy_waybill.identity.credentials import OneTimeCodes
from privacy_waybill.identity.notify import Notifier
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.issuance.model import IssuedWaybill
from privacy_waybill.issuance.references import make_reference, reference_url
from privacy_waybill.issuance.routing import DEMO_TABLE, RoutingTable
from privacy_waybill.issuance.service import IssuanceService
from privacy_waybill.labels.model import LabelContent
from privacy_waybill.masking.policy import MaskingPolicy, load_masking_policy
from privacy_waybill.notifications import NotificationService, SimulatedProvider, Templates, load_templates
from privacy_waybill.notifications.otp import OutboxNotifier
from privacy_waybill.printing import PrintService
from privacy_waybill.printing.terminals import terminal_subject
from privacy_waybill.ratelimit import RateLimiter, limiter_for
from privacy_waybill.recipients.service import RecipientService
from privacy_waybill.settings import Settings
from privacy_waybill.stations.service import StationService
from privacy_waybill.stations.wiring import build_recipients, build_stations, build_tracking
from privacy_waybill.storage.access import AlertStore, QuotaStore
from privacy_waybill.storage.audit_log import SqlAuditLog
from privacy_waybill.storage.db import make_engine, migrate
from privacy_waybill.storage.delivery import DeliveryStore
from privacy_waybill.storage.identity import build_identity
from privacy_waybill.storage.notifications import build_notifications
from privacy_waybill.storage.printing import PrintStore, TerminalStore
from privacy_waybill.storage.recipients import RecipientStore
from privacy_waybill.storage.redis_quotas import RedisQuotaStore
from privacy_waybill.storage.stations import StationStore
from privacy_waybill.storage.telephony import build_telephony
from privacy_waybill.storage.tenants import TenantStore
from privacy_waybill.storage.waybills import WaybillStore
from privacy_waybill.telephony import DEFAULT_TELEPHONY_POLICY, CallbackSigner, SimulatedTelephony, TelephonyService
from privacy_waybill.validation.phones import normalise_phone
from privacy_waybill.tracking.policy import TrackingPolicy, load_tracking_policy
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
from privacy_waybill.tracking.service import TrackingService
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
    quotas: QuotaStore | RedisQuotaStore
    alerts: AlertStore
    # Validated at start-up like the other policies.
    notification_templates: Templates = field(default_factory=load_templates)
    # None: crowd-courier OTPs go through the notification outbox.
    notifier: Notifier | None = None
    tracking_policy: TrackingPolicy = field(default_factory=load_tracking_policy)
    clock: Callable[[], datetime] = utc_now

    @cached_property
    def delivery_points(self) -> DeliveryPointKeyer:
        """Keyed building / compound / road hashes, one platform key for every merchant."""
        return DeliveryPointKeyer(platform_key(self.keys, b"pwb delivery-point v1"))

    @cached_property
    def telephony(self) -> TelephonyService:
        """Virtual numbers (AXB); the embedded simulator is the provider by default."""
        return build_telephony(
            self.engine, self.keys, self.blind_index, SimulatedTelephony(), self.audit, DEFAULT_TELEPHONY_POLICY
        )

    @cached_property
    def callback_signer(self) -> CallbackSigner:
        """Verifies telephony-provider callbacks (the simulator signs with the same secret)."""
        return CallbackSigner(platform_key(self.keys, b"pwb telephony callback v1"))

    @cached_property
    def delivery(self) -> DeliveryService:
        """Assignment, manifests, the out-for-delivery scan, reveal, calls and sign-off."""
        identity = self.identity
        return DeliveryService(
            store=DeliveryStore(self.engine),
            find_by_number=lambda number: self.waybills.get_by_number(None, number),
            find_by_public_ref=self.waybills.get_by_public_ref,
            reference_key=self.reference_key,
            access=self.access,
            policy=self.access_policy,
            couriers=identity.store,
            pass_phone_index=lambda phone: identity.phone_index(normalise_phone(phone).canonical),
            telephony=self.telephony,
            notifications=self.notifications,
            keyer=self.delivery_points,
            codes=OneTimeCodes(platform_key(self.keys, b"pwb signoff code v1")),
            line_key=platform_key(self.keys, b"pwb courier line v1"),
        )

    @cached_property
    def notifications(self) -> NotificationService:
        """SMS and push through the outbox; the embedded simulator is the provider by default."""
        return build_notifications(
            self.engine, self.keys, self.blind_index, SimulatedProvider(), self.notification_templates
        )

    @cached_property
    def identity(self) -> IdentityService:
        """Sign-in: passwords, TOTP, sessions, device binding, crowd-courier passes."""
        notifier = self.notifier or OutboxNotifier(self.notifications, lambda: self.clock())
        return build_identity(self.engine, self.keys, self.blind_index, notifier)

    @cached_property
    def limiter(self) -> RateLimiter:
        """Rate limits shared by every route: Redis when PWB_REDIS_URL is set, else this process."""
        return limiter_for(self.settings.redis_url)

    @cached_property
    def station_store(self) -> StationStore:
        return StationStore(self.engine)

    @cached_property
    def recipient_store(self) -> RecipientStore:
        return RecipientStore(self.engine)

    @cached_property
    def stations(self) -> StationService:
        """The station desk: check-in with shelf and pickup codes, stickers, search, hand-over."""
        return build_stations(self, self.station_store, self.recipient_store)

    @cached_property
    def recipients(self) -> RecipientService:
        """The recipient portal: OTP sign-in, own parcels, who saw my data, preferences, leak reports."""
        return build_recipients(self, self.recipient_store, self.station_store)

    @cached_property
    def tracking(self) -> TrackingService:
        """Public tracking by number, limited per client and per waybill (policies/tracking.yaml)."""
        return build_tracking(self, self.station_store)

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
        )

    def resolve_token(self, token: str, device: str | None) -> tuple[Subject, frozenset[str] | None] | None:
        """The Subject behind a bearer token, with the scopes of an API key (None for others)."""
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

    def issuance(self, profile: str | None = None, workers: int = 1) -> IssuanceService:
        """The issuance service; `workers` > 1 forks preparing processes (batch commands only)."""
        return IssuanceService(
            store=self.waybills,
            vault=self.vault,
            blind_index=self.blind_index,
            masking=self.masking,
            routing=self.routing,
            clock=self.clock,
            carrier_prefix=self.settings.carrier_prefix,
            profile=profile or self.settings.masking_profile,
            delivery_points=self.delivery_points,
            workers=workers,
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

    def purge_expired(self) -> int:
        """Crypto-shred the personal data of waybills older than the retention period."""
        now = self.clock()
        return self.waybills.shred_created_before(now - timedelta(days=self.settings.retention_days), now)

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
        quotas=RedisQuotaStore.from_url(settings.redis_url) if settings.redis_url else QuotaStore(engine),
        alerts=AlertStore(engine),
    )
    load_divisions()
    # The division tables are ~100k long-lived objects; freezing them keeps every later
    # full garbage collection from rescanning them (+10-17% issuance throughput, measured).
    gc.freeze()
    return runtime
