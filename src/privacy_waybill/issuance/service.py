"""Issuance: an order with real personal data in, a waybill with masked views and sealed data out.

Per record: validate and normalise (names, phones, address, ID number), route to a sort code,
mask for the label, seal the personal fields in the vault, compute the blind index; then
whole chunks of records are stored in one transaction, so a crash never leaves a half-written
waybill.
Bad records are rejected one by one with field and reason; the good ones go through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import NamedTuple, Protocol

from pydantic_core import to_json

from privacy_waybill.addresses.model import ParsedAddress
from privacy_waybill.addresses.parser import parse_address, parse_address_parts
from privacy_waybill.delivery.points import DeliveryPointKeyer
from privacy_waybill.errors import Conflict, FieldError
from privacy_waybill.issuance.intake import IntakeRecord, UnreadRecord, read_record
from privacy_waybill.issuance.model import IssuedWaybill, NewWaybill, Prepared, WaybillStatus
from privacy_waybill.issuance.numbers import WaybillIdentifiers
from privacy_waybill.issuance.orders import AddressParts, OrderIn, PartyIn, order_json
from privacy_waybill.issuance.parallel import PreparedAhead, PreparedChunk
from privacy_waybill.issuance.routing import RoutingTable
from privacy_waybill.masking.free_text import DELIVERY_INSTRUCTIONS, display_text
from privacy_waybill.masking.policy import MaskingPolicy
from privacy_waybill.masking.scrub import category_by_votes, item_category
from privacy_waybill.validation.id_numbers import validate_resident_id
from privacy_waybill.validation.names import PersonName, parse_person_name
from privacy_waybill.validation.phones import Phone, normalise_phone
from privacy_waybill.vault import Vault
from privacy_waybill.vault.blind_index import BlindIndexer
from privacy_waybill.vault.envelope import RecordSealer

LABEL_AUDIENCE = "label"
PHONE_INDEX_KIND = "phone"
ORDER_FINGERPRINT_KIND = "order"
# Records stored per transaction, in whole chunks. SQLite rewrites every index page a
# transaction touched; the random keys (waybill numbers, public references, blind indexes)
# touch most pages of their indexes in any chunk, so 500 records per transaction cost half
# as much again as 2,500 (30,000 waybills: 1.05 s against 0.78 s, measured).
TRANSACTION_RECORDS = 2500


class WaybillStorePort(Protocol):
    def find_by_order_ids(self, tenant_id: str, order_ids: Iterable[str]) -> dict[str, IssuedWaybill]: ...

    def add_all(self, new: Sequence[NewWaybill], actor: str) -> None: ...


class Issued(NamedTuple):
    """A record issued (or replayed: issued before, under the same order id and content).
    Named tuples, as the waybills they carry: one outcome is made per record."""

    position: int
    waybill: IssuedWaybill
    replayed: bool


class Rejected(NamedTuple):
    position: int
    order_id: str | None
    error: FieldError


Outcome = Issued | Rejected


class _Party(NamedTuple):
    """A party after validation (a named tuple: two are made per waybill)."""

    name: PersonName
    phone: Phone
    address: ParsedAddress
    address_text: str

    def __repr__(self) -> str:
        return "_Party(...)"  # every field is personal


class Preparation:
    """The pure per-record work of issuance: validate, route, mask, seal, hash.

    Touches no store, so it runs in forked worker processes, and can start before the
    database is open (see privacy_waybill.core).
    """

    def __init__(
        self,
        *,
        vault: Vault,
        blind_index: BlindIndexer,
        masking: MaskingPolicy,
        routing: RoutingTable,
        clock: Callable[[], datetime],
        carrier_prefix: str = "PW",
        profile: str = "standard",
        delivery_points: DeliveryPointKeyer | None = None,
    ) -> None:
        masking.masking_for(profile, LABEL_AUDIENCE, "name")  # fails now, not mid-batch, on an unknown profile
        WaybillIdentifiers(carrier_prefix)  # and so does a prefix that is not two letters A-Z
        self._vault = vault
        self._blind_index = blind_index
        self._masking = masking
        self._routing = routing
        self._clock = clock
        self._carrier_prefix = carrier_prefix
        self._profile = profile
        self._delivery_points = delivery_points

    def read_and_prepare(self, tenant_id: str, chunk: list[IntakeRecord | UnreadRecord]) -> PreparedChunk:
        read = [read_record(r) for r in chunk]
        return chunk, read, self.prepare_records(tenant_id, read)

    def prepare_records(self, tenant_id: str, chunk: Sequence[IntakeRecord]) -> list[Prepared | None]:
        """The work for a chunk (None for records that failed intake); repeated senders and
        remarks in a chunk are validated once."""
        return self.prepare_orders(
            tenant_id, [(r.order, order_json(r.order)) if r.order else None for r in chunk]
        )

    def prepare_orders(self, tenant_id: str, orders: Sequence[tuple[OrderIn, str] | None]) -> list[Prepared | None]:
        """As `prepare_records`, for orders given with their canonical JSON (the fingerprint input)."""
        memo = self._chunk_memo(tenant_id)
        prepared: list[Prepared | None] = []
        for entry in orders:
            if entry is None:
                prepared.append(None)
                continue
            order, order_json = entry
            fingerprint = self._blind_index.index(tenant_id, ORDER_FINGERPRINT_KIND, order_json)
            try:
                prepared.append(Prepared(fingerprint, self.prepare(tenant_id, order, fingerprint, memo)))
            except FieldError as error:
                prepared.append(Prepared(fingerprint, error))
        return prepared

    def _chunk_memo(self, tenant_id: str) -> ChunkMemo:
        # The KEK and the delivery-point key version are read once per chunk: a rotation
        # (here or in another process) applies from the next chunk on.
        return ChunkMemo(
            self._vault.sealer(tenant_id),
            self._delivery_points.current() if self._delivery_points else None,
            WaybillIdentifiers(self._carrier_prefix),
        )

    def prepare(self, tenant_id: str, order: OrderIn, fingerprint: bytes, memo: ChunkMemo | None = None) -> NewWaybill:
        """Validate, route, mask and seal one order (in a chunk of its own unless `memo` is
        the chunk's). Raises FieldError naming the field."""
        memo = memo or self._chunk_memo(tenant_id)
        recipient = memo.party(order.recipient, "recipient")
        sender = memo.party(order.sender, "sender")
        id_number = _validated_id_number(order.id_number)
        sort_code = str(self._routing.sort_code(recipient.address))
        waybill_id, waybill_no, public_ref = memo.identifiers.draw()
        # A pydantic model keeps its field values in __dict__ (all plain str/int here), so
        # there is no need for `model_dump`, which per item cost as much as the dump itself;
        # pydantic-core writes the JSON (UTF-8, compact) in a fifth of the time `json` takes.
        items_json = to_json([i.__dict__ for i in order.items]).decode()
        plaintext = {
            "recipient_name": recipient.name.written,
            "recipient_phone": recipient.phone.canonical,
            "recipient_address": recipient.address_text,
            "sender_name": sender.name.written,
            "sender_phone": sender.phone.canonical,
            "sender_address": sender.address_text,
            "items": items_json,
        }
        if order.remark:
            plaintext["remark"] = order.remark
        if id_number:
            plaintext["id_number"] = id_number
        sealed = memo.sealer.seal(waybill_id, plaintext)
        mask = self._masking.mask_party
        keys = self._delivery_points.keys(recipient.address, memo.delivery_key) if self._delivery_points else None
        waybill = IssuedWaybill(
            waybill_id=waybill_id,
            tenant_id=tenant_id,
            order_id=order.order_id,
            waybill_no=waybill_no,
            public_ref=public_ref,
            order_fingerprint=fingerprint,
            status=WaybillStatus.CREATED,
            service=order.service,
            weight_g=order.weight_g,
            pieces=1,
            contents_category=memo.contents([i.name for i in order.items]),
            sort_code=sort_code,
            masking_profile=self._profile,
            recipient=mask(self._profile, LABEL_AUDIENCE, recipient.name, recipient.phone, recipient.address),
            sender=mask(self._profile, LABEL_AUDIENCE, sender.name, sender.phone, sender.address),
            # Only recognised delivery instructions; the remark as written is sealed above.
            remark_scrubbed=memo.remark_display(order.remark) if order.remark else None,
            recipient_district_code=recipient.address.district_code or "",
            recipient_phone_index=self._blind_index.index(tenant_id, PHONE_INDEX_KIND, recipient.phone.canonical),
            created_at=self._clock(),
            delivery_point=keys.point if keys else None,
            delivery_site=keys.site if keys else None,
            delivery_road=keys.road if keys else None,
        )
        return NewWaybill(waybill=waybill, sealed=sealed)


class IssuanceService:
    """Issuance of whole batches: records prepared (in worker processes when `workers` > 1),
    then checked against the store and stored in input order."""

    def __init__(self, *, store: WaybillStorePort, preparation: Preparation, workers: int = 1) -> None:
        self._store = store
        self.preparation = preparation
        self._workers = workers

    def issue(
        self,
        tenant_id: str,
        records: Iterable[IntakeRecord | UnreadRecord],
        actor: str,
        chunk_size: int = 500,
        transaction_size: int = TRANSACTION_RECORDS,
    ) -> Iterator[Outcome]:
        """Issue every record, yielding one outcome per record in input order.

        Unread records are read (JSON parsed and validated) with the rest of the pure work,
        in the worker processes when there are any. Records are prepared in chunks of
        `chunk_size` and stored in transactions of whole chunks holding at least
        `transaction_size` records (or what is left); a transaction's outcomes are yielded
        once it has committed.
        """
        chunks = chunks_of(records, chunk_size)
        if self._workers > 1:
            with PreparedAhead(self.preparation, tenant_id, chunks, self._workers) as ahead:
                yield from self.issue_prepared(tenant_id, ahead, actor, transaction_size, ahead.next_is_late)
        else:
            prepared = (self.preparation.read_and_prepare(tenant_id, chunk) for chunk in chunks)
            yield from self.issue_prepared(tenant_id, prepared, actor, transaction_size)

    def issue_prepared(
        self,
        tenant_id: str,
        prepared_chunks: Iterable[PreparedChunk],
        actor: str,
        transaction_size: int = TRANSACTION_RECORDS,
        store_now: Callable[[], bool] | None = None,
    ) -> Iterator[Outcome]:
        """As `issue`, for chunks already prepared for `tenant_id` (by a `PreparedAhead`
        started before the store was open, say). The chunks gathered so far are also stored
        whenever `store_now` says so (`PreparedAhead.next_is_late`, at the end of a batch)."""
        group: list[PreparedChunk] = []
        grouped = 0
        for prepared_chunk in prepared_chunks:
            group.append(prepared_chunk)
            grouped += len(prepared_chunk[0])
            if grouped >= transaction_size or (store_now is not None and store_now()):
                yield from self._issue_group(tenant_id, group, actor)
                group, grouped = [], 0
        if group:
            yield from self._issue_group(tenant_id, group, actor)

    def _issue_group(self, tenant_id: str, group: list[PreparedChunk], actor: str) -> list[Outcome]:
        """Store prepared chunks in one transaction. Each chunk comes with its records as read;
        a record prepared in a worker comes back without its order (only its id or its
        error), which is all storing needs."""
        read = [record for _chunk, chunk_read, _prepared in group for record in chunk_read]
        prepared = [ready for _chunk, _read, chunk_prepared in group for ready in chunk_prepared]
        try:
            outcomes, new = self._resolve(tenant_id, read, prepared)
            self._store.add_all(new, actor)
            return outcomes
        except Conflict:
            # Another writer took an order id (or, astronomically rarely, a waybill number)
            # between our check and our insert: redo record by record, re-checking each.
            return [
                o
                for chunk, _read, _prepared in group
                for record in chunk
                for o in self._issue_one_by_one(tenant_id, read_record(record), actor)
            ]

    def _issue_one_by_one(self, tenant_id: str, record: IntakeRecord, actor: str) -> list[Outcome]:
        outcomes, new = self._resolve(tenant_id, [record], self.preparation.prepare_records(tenant_id, [record]))
        try:
            self._store.add_all(new, actor)
        except Conflict:
            outcomes, new = self._resolve(tenant_id, [record], self.preparation.prepare_records(tenant_id, [record]))
            self._store.add_all(new, actor)
        return outcomes

    def _resolve(
        self, tenant_id: str, records: list[IntakeRecord], prepared: list[Prepared | None]
    ) -> tuple[list[Outcome], list[NewWaybill]]:
        """Outcomes of prepared records against the store: new, replayed or rejected.

        A record was read as an order exactly when it has a preparation; its `order_id` is
        then the order's.
        """
        known = self._store.find_by_order_ids(
            tenant_id, (r.order_id for r, ready in zip(records, prepared, strict=True) if ready and r.order_id)
        )
        outcomes: list[Outcome] = []
        new: list[NewWaybill] = []
        for record, ready in zip(records, prepared, strict=True):
            if ready is None or record.order_id is None:
                error = record.error or FieldError("", "the record could not be read")
                outcomes.append(Rejected(record.position, record.order_id, error))
                continue
            order_id = record.order_id
            previous = known.get(order_id)
            if previous is not None:
                outcomes.append(self._replay(record.position, previous, ready.fingerprint))
                continue
            if isinstance(ready.result, FieldError):
                outcomes.append(Rejected(record.position, order_id, ready.result))
                continue
            known[order_id] = ready.result.waybill
            new.append(ready.result)
            outcomes.append(Issued(record.position, ready.result.waybill, replayed=False))
        return outcomes, new

    @staticmethod
    def _replay(position: int, previous: IssuedWaybill, fingerprint: bytes) -> Outcome:
        if previous.order_fingerprint != fingerprint:
            return Rejected(position, previous.order_id, FieldError("order_id", "already used for a different order"))
        return Issued(position, previous, replayed=True)


def _normalise_party(party: PartyIn, prefix: str) -> _Party:
    try:
        name = parse_person_name(party.name)
        # Only a sender may be a business reached on a 400/800 number; a parcel needs a person.
        phone = normalise_phone(party.phone, business=prefix == "sender")
        address = _parse_party_address(party.address)
    except FieldError as error:
        raise error.under(prefix) from None
    return _Party(name, phone, address, address.written())


class ChunkMemo:
    """Validated parties, remark displays and item categories of one chunk, so repeats cost
    one look-up.

    Merchants send the same sender (and often the same remark and the same products) on
    every order of a batch. Lives only as long as the chunk; errors are not kept, so each bad
    record raises afresh.
    """

    __slots__ = ("_parties", "_remarks", "_item_categories", "sealer", "delivery_key", "identifiers")

    def __init__(
        self, sealer: RecordSealer, delivery_key: tuple[int, bytes] | None, identifiers: WaybillIdentifiers
    ) -> None:
        self._parties: dict[tuple[str, str, object, str], _Party] = {}
        self._remarks: dict[str, str] = {}
        # By item name: a merchant's products recur across the orders of a batch, their
        # combinations far less.
        self._item_categories: dict[str, str | None] = {}
        # The chunk's tenant sealer and delivery-point (version, key) (None without delivery points).
        self.sealer = sealer
        self.delivery_key = delivery_key
        # Made per chunk in the process preparing it, so forked workers never share its bytes.
        self.identifiers = identifiers

    def party(self, party: PartyIn, prefix: str) -> _Party:
        parts = party.address
        address = (
            parts if isinstance(parts, str) else (parts.province, parts.city, parts.district, parts.town, parts.detail)
        )
        key = (party.name, party.phone, address, prefix)
        found = self._parties.get(key)
        if found is None:
            found = self._parties[key] = _normalise_party(party, prefix)
        return found

    def contents(self, item_names: list[str]) -> str:
        known = self._item_categories
        categories = []
        for name in item_names:
            if name not in known:
                known[name] = item_category(name)
            categories.append(known[name])
        return category_by_votes(categories)

    def remark_display(self, remark: str) -> str:
        found = self._remarks.get(remark)
        if found is None:
            found = self._remarks[remark] = display_text(remark, DELIVERY_INSTRUCTIONS)
        return found


def chunks_of(records: Iterable[IntakeRecord | UnreadRecord], size: int) -> Iterator[list[IntakeRecord | UnreadRecord]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _parse_party_address(address: str | AddressParts) -> ParsedAddress:
    if isinstance(address, str):
        return parse_address(address)
    return parse_address_parts(address.province, address.city, address.district, address.town, address.detail)


def _validated_id_number(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return validate_resident_id(raw)
    except FieldError as error:
        raise FieldError("id_number", error.reason) from None
