"""Wires the core to its adapters once per process: settings, database, keys, policies.

Everything is validated here, at start-up: a broken masking policy, routing table, weak
master secret or missing key store stops the process with one clear line.
"""

from __future__ import annotations

import gc
import hmac
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from privacy_waybill.access.model import Role, Subject
from privacy_waybill.access.policy import AccessPolicy, load_access_policy
from privacy_waybill.access.service import AccessService
from privacy_waybill.addresses.divisions import load_divisions
from privacy_waybill.audit.anchors import FileWitness
from privacy_waybill.audit.checkpoints import signer_from_keys
from privacy_waybill.delivery.points import DeliveryPointKeyer
from privacy_waybill.delivery.service import DeliveryService
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.audit.noise import NoiseAggregator
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
from privacy_waybill.identity.credentials import session_token_hash
from privacy_waybill.identity.throttle import CredentialThrottle
from privacy_waybill.ratelimit import Limit, RateLimiter, Throttled, limiter_for
from privacy_waybill.ratelimit.policy import load_rate_limits
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
from privacy_waybill.storage.stations import StationStore
from privacy_waybill.storage.telephony import build_telephony
from privacy_waybill.storage.tenants import TenantStore
from privacy_waybill.storage.tickets import SqlTicketSystem
from privacy_waybill.tickets.service import BreakGlassTickets
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
from privacy_waybill.vault.purpose_keys import PurposeKeys

SQLITE_COMPANION_SUFFIXES = ("", "-wal", "-shm", "-journal")
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
    rate_limits: dict[str, Limit]
    audit: SqlAuditLog
    quotas: QuotaStore
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
    def throttle(self) -> CredentialThrottle:
        """Sign-in and OTP throttles (per client, per keyed username or phone)."""
        return CredentialThrottle(self.limiter, self.rate_limits, self.purpose_keys.current("rate-limit")[1])

    @cached_property
    def purpose_keys(self) -> PurposeKeys:
        """Rotatable keys for rate limits, device tags and break-glass reasons (`pwb keys rotate --purpose`)."""
        return PurposeKeys(self.keys)

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
            noise=self.noise,
            tickets=self.tickets,
        )

    @cached_property
    def tickets(self) -> BreakGlassTickets:
        """Break-glass tickets from the built-in ticket system; reasons sealed with their own key."""
        return BreakGlassTickets(
            SqlTicketSystem(self.engine),
            re.compile(self.settings.ticket_pattern),
            *self.purpose_keys.current("break-glass-reason"),
        )

    @cached_property
    def noise(self) -> NoiseAggregator:
        """Anonymous refusals and look-ups, aggregated per kind and minute in the audit log."""
        return NoiseAggregator(self.audit, lambda: self.clock())

    @cached_property
    def _device_key(self) -> tuple[int, bytes]:
        return self.purpose_keys.current("device-id")

    def device_tag(self, device: str | None) -> str | None:
        """What the audit log keeps of a device id: a keyed hash (with its key version), never the id."""
        if device is None:
            return None
        version, key = self._device_key
        return f"dev{version}:" + hmac.digest(key, device.encode(), "sha256")[:12].hex()

    def resolve_token(self, token: str, device: str | None) -> tuple[Subject, frozenset[str] | None] | None:
        """The Subject behind a bearer token, with the scopes of an API key (None for others).

        The Subject carries the keyed hash of the device id (for the audit log). A live courier
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
            delivery_points=self.delivery_points,
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


def _master_secret(settings: Settings) -> bytes:
    return load_master_secret(os.environ.get("PWB_MASTER_SECRET"), settings.master_secret_file)


def initialise(settings: Settings, engine: Engine | None = None) -> list[str]:
    """Create what is missing (data folder, master secret, key store, schema, default tenant).

    Idempotent; returns what it did, for the CLI to report.
    """
    done: list[str] = []
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    restrict_to_owner(settings)
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
        rate_limits=load_rate_limits(),
        audit=SqlAuditLog(
            engine, signer_from_keys(keys), clock=utc_now, witnesses=[FileWitness(settings.audit_anchor_file)]
        ),
        quotas=QuotaStore(engine),
        alerts=AlertStore(engine),
    )
    restrict_to_owner(settings)
    load_divisions()
    # The division tables are ~100k long-lived objects; freezing them keeps every later
    # full garbage collection from rescanning them (+10-17% issuance throughput, measured).
    gc.freeze()
    return runtime
