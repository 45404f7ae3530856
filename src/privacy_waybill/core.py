"""The core opened from the data folder alone: keys, vault, blind indexes, masking policy,
routing table and division tables, with no database and no SQLAlchemy.

`open_runtime` builds the runtime on it. `pwb issue` opens it first and forks its workers
from it, so they prepare the first chunks while the parent imports the storage, opens the
database, checks the tenant and audits the command (about a third of a second of start-up on
these machines).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from privacy_waybill.addresses.divisions import load_divisions
from privacy_waybill.delivery.points import DeliveryPointKeyer
from privacy_waybill.errors import PrivacyWaybillError
from privacy_waybill.issuance.routing import DEMO_TABLE, RoutingTable
from privacy_waybill.issuance.service import Preparation
from privacy_waybill.masking.policy import MaskingPolicy, load_masking_policy
from privacy_waybill.settings import Settings
from privacy_waybill.vault import KeyStoreMissing, LocalKeyManager, Vault, configured_master_secret
from privacy_waybill.vault.blind_index import BlindIndexer
from privacy_waybill.vault.purpose_keys import PurposeKeys


TENANT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class NotInitialised(PrivacyWaybillError):
    def __init__(self) -> None:
        super().__init__("no key store found in PWB_HOME: run `pwb init` first")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False)
class Core:
    settings: Settings
    keys: LocalKeyManager
    # One versioned key per purpose (`pwb keys rotate --purpose`); see vault/purpose_keys.py.
    purpose_keys: PurposeKeys
    vault: Vault
    blind_index: BlindIndexer
    masking: MaskingPolicy
    routing: RoutingTable

    @cached_property
    def delivery_points(self) -> DeliveryPointKeyer:
        """Keyed building / compound / road hashes, one platform key for every merchant."""
        return DeliveryPointKeyer(self.purpose_keys.ring("delivery-point"))

    def preparation(self, profile: str | None = None, clock: Callable[[], datetime] = utc_now) -> Preparation:
        """The pure per-record work of issuance under masking `profile` (the settings' by default)."""
        return Preparation(
            vault=self.vault,
            blind_index=self.blind_index,
            masking=self.masking,
            routing=self.routing,
            clock=clock,
            carrier_prefix=self.settings.carrier_prefix,
            profile=profile or self.settings.masking_profile,
            delivery_points=self.delivery_points,
        )


def master_secret(settings: Settings) -> bytes:
    return configured_master_secret(settings.master_secret_file)


def open_core(settings: Settings) -> Core:
    """Open the key store and load the policies and division tables; NotInitialised without a key store."""
    if not settings.master_secret_file.exists() and not os.environ.get("PWB_MASTER_SECRET"):
        raise NotInitialised()
    # The tables first: the master key is being derived on a thread meanwhile (see
    # `derive_ahead`), and opening the key store waits for it (about 45 ms of `pwb issue`'s
    # start-up, measured, which the division tables' 100 ms now cover).
    masking = load_masking_policy()
    routing = RoutingTable.load(settings.routing_table or DEMO_TABLE)
    load_divisions()
    try:
        keys = LocalKeyManager.open(settings.keys_dir, master_secret(settings))
    except KeyStoreMissing:
        raise NotInitialised() from None
    # Built first: on a store's first open it settles what version 1 of each purpose is.
    purpose_keys = PurposeKeys(keys)
    return Core(
        settings=settings,
        keys=keys,
        purpose_keys=purpose_keys,
        vault=Vault(keys),
        blind_index=BlindIndexer(keys),
        masking=masking,
        routing=routing,
    )
