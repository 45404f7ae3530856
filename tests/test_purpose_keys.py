"""Finding 19: one versioned, rotatable key per purpose, none from the blind-index root.

Rotating a purpose gives it fresh random material, leaves every other purpose alone and keeps
what was made before working: printed QR codes resolve, TOTP secrets are re-sealed and still
sign in, OTPs sent just before still verify, and the audit log verifies across the rotation
while still naming a wrong key. Storage flows run on SQLite and PostgreSQL (`rt`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from api_support import API, add_merchant, bearer, personal_order
from cli_support import run_pwb
from privacy_waybill.access.model import Role
from privacy_waybill.addresses.parser import parse_address
from privacy_waybill.delivery.ordering import ParcelPlace, route_order
from privacy_waybill.delivery.points import DeliveryPointKeyer
from privacy_waybill.recipients.identity_code import IdentityCodes, InvalidIdentityCode
from privacy_waybill.telephony.callbacks import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, CallbackSigner
from privacy_waybill.telephony.model import CallbackRejected
from privacy_waybill.api.app import create_app
from privacy_waybill.audit.checkpoints import AuditKeys
from privacy_waybill.audit.model import AuditEvent, Outcome
from privacy_waybill.audit.verify import ProblemKind
from privacy_waybill.identity.credentials import OneTimeCodes, TotpSecrets
from privacy_waybill.identity.service import IdentityService
from privacy_waybill.issuance.intake import records_from_objects
from privacy_waybill.issuance.model import IssuedWaybill, WaybillStatus
from privacy_waybill.recipients.challenges import OtpChallenges
from privacy_waybill.runtime import Runtime
from privacy_waybill.storage import identity_tables
from privacy_waybill.storage.audit_log import SqlAuditLog
from privacy_waybill.storage.identity import IdentityStore
from privacy_waybill.notifications.service import OutboxSeals
from privacy_waybill.storage.key_rotation import SEALED_COLUMNS, ResealFailed
from privacy_waybill.telephony.service import PhoneSeals
from privacy_waybill.vault import KeyNotRetirable, LocalKeyManager, local_keys
from privacy_waybill.vault.aead import BrokenSeal
from privacy_waybill.vault.keyring import KeyVersions, VersionedSeal, sealed_version
from privacy_waybill.vault.purpose_keys import (
    LEGACY_ROOT_TENANT,
    PURPOSES,
    PurposeKeys,
    Rotation,
    UnknownKeyVersion,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
LEGACY_INFOS = [p.legacy_info for p in PURPOSES if p.legacy_info is not None]


def secret() -> bytes:
    return os.urandom(48).hex().encode()


def hkdf(root: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root)


# --- the key store: versions, independence, upgraded homes ----------------------------------


def test_every_purpose_rotates_to_material_independent_of_the_root_and_of_every_other_purpose(
    tmp_path: Path,
) -> None:
    store = LocalKeyManager.create(tmp_path / "keys", secret())
    keys = PurposeKeys(store)
    first = {p.name: keys.current(p.name) for p in PURPOSES}
    root = store.blind_index_key(LEGACY_ROOT_TENANT).material
    derived_from_root = {hkdf(root, info) for info in LEGACY_INFOS} | {root}
    for purpose in PURPOSES:
        others = {keys.current(p.name) for p in PURPOSES if p.name != purpose.name}
        version = keys.rotate(purpose.name)
        assert version == first[purpose.name][0] + 1
        new = keys.key(purpose.name, version)
        assert new not in derived_from_root
        assert new not in {key for _, key in others} | {first[purpose.name][1]}
        # Rotating one purpose leaves every other where it was; the old version still reads.
        assert {keys.current(p.name) for p in PURPOSES if p.name != purpose.name} == others
        assert keys.key(purpose.name, version - 1) == first[purpose.name][1]
    every_key = [keys.key(p.name, v) for p in PURPOSES for v in (1, 2)]
    assert len(set(every_key)) == len(every_key)


def test_a_home_from_before_keeps_version_one_derived_as_before_and_only_new_versions_are_random(
    tmp_path: Path,
) -> None:
    master = secret()
    store = LocalKeyManager.create(tmp_path / "keys", master)
    # What the old code left in every home: the `_platform` root its keys were derived from.
    root = store.blind_index_key(LEGACY_ROOT_TENANT).material
    keys = PurposeKeys(LocalKeyManager.open(tmp_path / "keys", master))
    for purpose in PURPOSES:
        if purpose.legacy_info is not None:
            assert keys.key(purpose.name, 1) == hkdf(root, purpose.legacy_info), purpose.name
            keys.rotate(purpose.name)
            assert keys.key(purpose.name, 2) not in {hkdf(root, info) for info in LEGACY_INFOS}


def test_a_new_home_stays_random_even_after_the_platform_root_appears(tmp_path: Path) -> None:
    master = secret()
    store = LocalKeyManager.create(tmp_path / "keys", master)
    before = {p.name: PurposeKeys(store).key(p.name, 1) for p in PURPOSES}
    # Platform blind indexes (recipient phones) create the `_platform` entry later on.
    root = store.blind_index_key(LEGACY_ROOT_TENANT).material
    reopened = PurposeKeys(LocalKeyManager.open(tmp_path / "keys", master))
    assert {p.name: reopened.key(p.name, 1) for p in PURPOSES} == before
    assert not set(before.values()) & {hkdf(root, info) for info in LEGACY_INFOS}


def test_a_version_never_made_is_refused_and_not_created(tmp_path: Path) -> None:
    store = LocalKeyManager.create(tmp_path / "keys", secret())
    keys = PurposeKeys(store)
    for version in (0, 2, 99):
        with pytest.raises(UnknownKeyVersion):
            keys.key("qr-reference", version)
    assert not store.knows("_purpose-qr-reference-v99")
    with pytest.raises(ValueError, match="unknown key purpose"):
        keys.rotate("no-such-purpose")


def test_every_resealing_purpose_names_where_it_keeps_sealed_values() -> None:
    resealing = {p.name for p in PURPOSES if p.rotation is Rotation.RESEAL}
    assert resealing == set(SEALED_COLUMNS)


# --- sealing across versions (property) -------------------------------------------------------

key_material = st.binary(min_size=32, max_size=32)


@given(
    st.lists(key_material, min_size=1, max_size=6, unique=True),
    st.data(),
    st.binary(max_size=200),
    st.binary(max_size=40),
)
def test_a_value_sealed_under_any_version_opens_under_that_version_only_and_reseals_to_the_current(
    materials: list[bytes], data: st.DataObject, plaintext: bytes, context: bytes
) -> None:
    ring = KeyVersions(dict(enumerate(materials, start=1)))
    sealed_at = data.draw(st.integers(1, len(materials)))
    blob = VersionedSeal(KeyVersions({v: k for v, k in enumerate(materials, start=1) if v <= sealed_at})).seal(
        plaintext, context
    )
    assert sealed_version(blob) == sealed_at
    seal = VersionedSeal(ring)
    assert seal.open(blob, context) == plaintext
    with pytest.raises(BrokenSeal):
        seal.open(blob, context + b"x")
    # The version header is bound in: naming any other version does not open.
    other = data.draw(st.integers(1, len(materials) + 1).filter(lambda v: v != sealed_at))
    renamed = b"K" + other.to_bytes(4, "big") + (blob[5:] if sealed_at > 1 else blob)
    with pytest.raises(BrokenSeal):
        seal.open(renamed, context)
    moved = seal.reseal(blob, context)
    current = len(materials)
    if sealed_at == current:
        assert moved is None
    else:
        assert moved is not None and sealed_version(moved) == current
        assert seal.open(moved, context) == plaintext
        older = VersionedSeal(KeyVersions({v: k for v, k in enumerate(materials, start=1) if v < current}))
        with pytest.raises(BrokenSeal):
            older.open(moved, context)


def test_version_one_is_sealed_exactly_as_before_keys_had_versions() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from privacy_waybill.vault.aead import frame, unseal

    key = bytes(range(32))
    blob = TotpSecrets(KeyVersions.single(key)).seal("u_1", "JBSWY3DPEHPK3PXP")
    # The old code opened TOTP secrets with this very call.
    assert unseal(AESGCM(key), blob, frame(b"pwb/totp", b"u_1")) == b"JBSWY3DPEHPK3PXP"


def test_identity_codes_and_provider_callbacks_made_just_before_a_rotation_still_pass_once() -> None:
    one, two, three = (KeyVersions({v: bytes([v]) * 32 for v in range(1, n + 1)}) for n in (1, 2, 3))
    token, _ = IdentityCodes(one).mint("+8613812345678", NOW)
    assert IdentityCodes(two).open(token, NOW) == "+8613812345678"
    with pytest.raises(InvalidIdentityCode):
        IdentityCodes(three).open(token, NOW)  # two rotations within its two minutes: ask for a new one
    headers = CallbackSigner(one).headers(b"{}", NOW, "nonce-0123456789ab")
    seen: set[str] = set()

    def remember(nonce: str, keep_until: datetime) -> bool:
        fresh = nonce not in seen
        seen.add(nonce)
        return fresh

    signed = [headers[h] for h in (TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)]
    CallbackSigner(two).verify(*signed, b"{}", NOW, remember)
    seen.clear()
    with pytest.raises(CallbackRejected):
        CallbackSigner(three).verify(*signed, b"{}", NOW, remember)


def test_parcels_hashed_before_a_delivery_point_rotation_still_find_their_place_on_the_route() -> None:
    address = parse_address("浙江省杭州市余杭区五常街道文一西路969号西溪园区5号楼")
    before = DeliveryPointKeyer(KeyVersions.single(b"a" * 32)).keys(address)
    rotated = DeliveryPointKeyer(KeyVersions({1: b"a" * 32, 2: b"b" * 32}))
    after = rotated.keys(address)
    assert before is not None and after is not None and after.point != before.point
    route = route_order([rotated.route_entry_keys("文二路"), rotated.route_entry_keys("文一西路")])
    for keys in (before, after):
        assert route.rank(ParcelPlace("wb", keys.point, keys.site, keys.road)) == 1
    # A chunk reads the current version once and hashes every waybill under it.
    assert rotated.current() == (2, b"b" * 32)
    assert rotated.keys(address, rotated.current()) == after
    assert rotated.keys(address, (1, b"a" * 32)) == before


# --- the platform keeps working across rotations --------------------------------------------


def test_a_label_printed_before_rotating_the_qr_key_still_resolves(rt: Runtime) -> None:
    with TestClient(create_app(rt)) as api:
        issued = api.post(f"{API}/orders", json=personal_order(), headers=bearer(add_merchant(rt))).json()
        printed = issued["tracking_url"].rsplit("/t/", 1)[1]
        assert "." not in printed
        rotated = rt.rotate_purpose_key("qr-reference", "cli:test")
        assert rotated.version == 2
        waybill = rt.waybills.get_by_number(None, issued["waybill_no"])
        assert waybill is not None
        reprinted = rt.tracking_url(waybill).rsplit("/t/", 1)[1]
        assert reprinted.startswith("2.") and reprinted != printed
        for token in (printed, reprinted):
            response = api.get(f"{API}/tracking/{token}")
            assert response.status_code == 200, response.text
            assert response.json()["waybill_no"] == issued["waybill_no"]
        # The courier's scanner reads either label too.
        assert rt.delivery.find(f"http://127.0.0.1:8000/t/{reprinted}").waybill_id == waybill.waybill_id
        assert rt.delivery.find(printed).waybill_id == waybill.waybill_id


def _totp_sealed(engine: Engine, user_id: str) -> bytes:
    with engine.connect() as conn:
        blob = conn.execute(
            select(identity_tables.User.__table__.c.totp_sealed).where(identity_tables.User.__table__.c.id == user_id)
        ).scalar_one()
    return bytes(blob)


def test_totp_secrets_are_resealed_under_the_new_key_and_still_sign_in(rt: Runtime, identity: IdentityService) -> None:
    created = identity.add_user("shop.owner", PASSWORD, Role.MERCHANT, NOW, tenant_id="default")
    other = identity.add_user("clerk.one", PASSWORD, Role.STATION_CLERK, NOW, station="HZ10")
    old_key = rt.purpose_keys.key("totp", 1)
    before = _totp_sealed(rt.engine, created.user.id)
    assert sealed_version(before) == 1

    rotated = rt.rotate_purpose_key("totp", "cli:test")

    assert (rotated.version, rotated.resealed) == (2, 2)
    after = _totp_sealed(rt.engine, created.user.id)
    assert sealed_version(after) == 2 and after != before
    with pytest.raises(BrokenSeal):
        TotpSecrets(KeyVersions.single(old_key)).unseal(created.user.id, after)
    for user, name in ((created, "shop.owner"), (other, "clerk.one")):
        assert user.totp_uri is not None
        code = pyotp.parse_uri(user.totp_uri).at(NOW)
        assert identity.sign_in(name, PASSWORD, code, None, NOW).token
    rotation = rt.audit.events(action="key.rotate")[-1].event()
    assert dict(rotation.detail) == {"purpose": "totp", "version": "2", "resealed": "2"}


def test_a_value_that_does_not_open_stops_the_reseal_and_nothing_moves(rt: Runtime, identity: IdentityService) -> None:
    first = identity.add_user("clerk.one", PASSWORD, Role.STATION_CLERK, NOW, station="HZ10")
    second = identity.add_user("clerk.two", PASSWORD, Role.STATION_CLERK, NOW, station="HZ10")
    intact = _totp_sealed(rt.engine, first.user.id)
    damaged = bytearray(_totp_sealed(rt.engine, second.user.id))
    damaged[-1] ^= 1
    users = identity_tables.User.__table__
    with rt.engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == second.user.id).values(totp_sealed=bytes(damaged)))
    with pytest.raises(ResealFailed, match="users.totp_sealed"):
        rt.rotate_purpose_key("totp", "cli:test")
    assert _totp_sealed(rt.engine, first.user.id) == intact
    assert rt.purpose_keys.version("totp") == 2  # and version 1 still opens the intact secret
    assert TotpSecrets(rt.purpose_keys.ring("totp")).unseal(first.user.id, intact)


def test_an_otp_sent_before_rotating_still_verifies_within_its_lifetime(rt: Runtime) -> None:
    def challenges() -> OtpChallenges:
        return OtpChallenges(IdentityStore(rt.engine), OneTimeCodes(rt.purpose_keys.ring("otp")))

    sent_before = challenges().issue(b"phone-index-0001", NOW)
    assert sent_before is not None
    rt.rotate_purpose_key("otp", "cli:test")
    assert challenges().redeem(b"phone-index-0001", sent_before, NOW + timedelta(minutes=2))
    # A code of the new version is hashed under it: the previous key alone does not match it.
    sent_after = challenges().issue(b"phone-index-0002", NOW)
    assert sent_after is not None
    with rt.engine.connect() as conn:
        stored = conn.execute(
            text("select id, code_hash from phone_otps where phone_index = :i"), {"i": b"phone-index-0002"}
        ).one()
    assert not OneTimeCodes(KeyVersions.single(rt.purpose_keys.key("otp", 1))).matches(
        stored[0], sent_after, bytes(stored[1])
    )
    assert challenges().redeem(b"phone-index-0002", sent_after, NOW + timedelta(minutes=1))


def test_every_resealing_purpose_moves_its_rows_and_they_still_open(rt: Runtime) -> None:
    rt.telephony.add_numbers(["+8617100000001"], capacity=10, pool="demo", now=NOW)
    phone_binding = rt.telephony.bind("wb_keys_1", "user:u_courier", "13812345678", "13987654321", NOW)
    rt.notifications.send("recipient.otp", "13812345678", {"code": "123456"}, "recipient-otp:keys-test", NOW)
    moved = {name: rt.rotate_purpose_key(name, "cli:test").resealed for name in SEALED_COLUMNS}
    # The binding's A and B; the message's body (its address is erased once it was delivered).
    assert (moved["axb-phone"], moved["outbox"]) == (2, 1)
    with rt.engine.connect() as conn:
        a_sealed, b_sealed = conn.execute(
            text("select a_sealed, b_sealed from telephony_bindings where id = :i"), {"i": phone_binding.id}
        ).one()
    assert {sealed_version(bytes(a_sealed)), sealed_version(bytes(b_sealed))} == {2}
    seals = PhoneSeals(rt.purpose_keys.ring("axb-phone"))
    assert seals.open(phone_binding.id, "a", bytes(a_sealed)) == "13812345678"
    with rt.engine.connect() as conn:
        message_id, body_sealed = conn.execute(text("select id, body_sealed from notification_outbox")).one()
    assert sealed_version(bytes(body_sealed)) == 2
    assert "123456" in OutboxSeals(rt.purpose_keys.ring("outbox")).open_body(message_id, bytes(body_sealed)).text


# --- retiring old versions ---------------------------------------------------------------------


def test_a_retired_version_is_no_key_at_all_and_short_lived_codes_stop_accepting_it(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = rt.purpose_keys.ring("otp")
    first = rt.purpose_keys.key("otp", 1)
    rt.rotate_purpose_key("otp", "cli:test")
    with pytest.raises(KeyNotRetirable, match="the otp key version 1 stopped being current at .* it can be retired from"):
        rt.retire_purpose_key("otp", 1, "cli:test")
    assert [v for v, _ in ring.accepted()] == [2, 1]
    monkeypatch.setattr(local_keys, "RETIRE_AFTER", timedelta(0))

    assert rt.retire_purpose_key("otp", 1, "cli:test") is None

    with pytest.raises(UnknownKeyVersion):
        rt.purpose_keys.key("otp", 1)
    assert [v for v, _ in ring.accepted()] == [2] and [v for v, _ in ring.all_versions()] == [2]
    assert first not in [key for _, key in ring.all_versions()]
    with pytest.raises(UnknownKeyVersion):
        rt.retire_purpose_key("otp", 1, "cli:test")
    with pytest.raises(KeyNotRetirable, match="version 2 is the current one"):
        rt.retire_purpose_key("otp", 2, "cli:test")
    assert rt.purpose_keys.rotate("otp") == 3  # versions go on counting
    assert [v for v, _ in ring.accepted()] == [3, 2]
    retired = rt.audit.events(action="key.retire")[-1].event()
    assert dict(retired.detail) == {"purpose": "otp", "version": "1", "resealed": "0"}


@pytest.mark.parametrize("purpose", ["audit", "device-id", "break-glass-reason"])
def test_purposes_whose_versions_must_stay_refuse_to_retire_one(rt: Runtime, purpose: str) -> None:
    rt.rotate_purpose_key(purpose, "cli:test")
    with pytest.raises(KeyNotRetirable, match=f"{purpose} key versions are never retired"):
        rt.retire_purpose_key(purpose, 1, "cli:test")
    assert rt.purpose_keys.key(purpose, 1)


def test_retiring_a_resealing_purpose_moves_what_is_left_then_deletes_the_version(
    rt: Runtime, identity: IdentityService, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = identity.add_user("shop.owner", PASSWORD, Role.MERCHANT, NOW, tenant_id="default")
    rt.purpose_keys.rotate("totp")  # a new version, and nothing re-sealed yet
    assert sealed_version(_totp_sealed(rt.engine, created.user.id)) == 1
    monkeypatch.setattr(local_keys, "RETIRE_AFTER", timedelta(0))

    assert rt.retire_purpose_key("totp", 1, "cli:test") == 1

    assert sealed_version(_totp_sealed(rt.engine, created.user.id)) == 2
    assert created.totp_uri is not None
    assert identity.sign_in("shop.owner", PASSWORD, pyotp.parse_uri(created.totp_uri).at(NOW), None, NOW).token
    assert not rt.keys.knows("_purpose-totp-v1")  # the version's own key is gone from the store


def _delivered(rt: Runtime, waybill: IssuedWaybill) -> IssuedWaybill:
    for status in (WaybillStatus.PRINTED, WaybillStatus.COLLECTED, WaybillStatus.IN_TRANSIT,
                   WaybillStatus.OUT_FOR_DELIVERY, WaybillStatus.DELIVERED):  # fmt: skip
        waybill = rt.waybills.transition(waybill, status, "test", rt.clock())
    return waybill


def test_a_qr_version_is_kept_until_every_waybill_printed_under_it_is_done(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_keys, "RETIRE_AFTER", timedelta(0))
    with TestClient(create_app(rt)) as api:
        issued = api.post(f"{API}/orders", json=personal_order(), headers=bearer(add_merchant(rt))).json()
        printed = issued["tracking_url"].rsplit("/t/", 1)[1]
        rt.rotate_purpose_key("qr-reference", "cli:test")
        with pytest.raises(KeyNotRetirable, match="1 waybills issued before qr-reference version 2 are neither final"):
            rt.retire_purpose_key("qr-reference", 1, "cli:test")
        assert api.get(f"{API}/tracking/{printed}").status_code == 200
        waybill = rt.waybills.get_by_number(None, issued["waybill_no"])
        assert waybill is not None
        waybill = _delivered(rt, waybill)

        rt.retire_purpose_key("qr-reference", 1, "cli:test")

        assert api.get(f"{API}/tracking/{printed}").status_code == 404  # the old label now resolves to nothing
        reprinted = rt.tracking_url(waybill).rsplit("/t/", 1)[1]
        assert api.get(f"{API}/tracking/{reprinted}").status_code == 200


def test_a_delivery_point_version_is_kept_until_the_parcels_hashed_under_it_are_delivered(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_keys, "RETIRE_AFTER", timedelta(0))
    [outcome] = rt.issuance().issue("default", records_from_objects([personal_order()]), actor="test")
    waybill = outcome.waybill  # type: ignore[union-attr]
    assert waybill.delivery_road is not None
    rt.rotate_purpose_key("delivery-point", "cli:test")
    assert len(rt.delivery_points.route_entry_keys("文一西路")) == 4  # as a road and a site, under both versions
    with pytest.raises(KeyNotRetirable, match="their route stops still need version 1"):
        rt.retire_purpose_key("delivery-point", 1, "cli:test")
    _delivered(rt, waybill)

    rt.retire_purpose_key("delivery-point", 1, "cli:test")

    assert [v for v, _ in rt.purpose_keys.ring("delivery-point").all_versions()] == [2]
    assert len(rt.delivery_points.route_entry_keys("文一西路")) == 2


def _record(audit_log: SqlAuditLog, count: int, start: int) -> None:
    audit_log.record_many(
        [
            AuditEvent(at=NOW + timedelta(seconds=n), actor=f"user:u_{n}", role="courier", action="waybill.read",
                       outcome=Outcome.ALLOWED, rule="courier.assigned")
            for n in range(start, start + count)
        ]
    )  # fmt: skip


def test_audit_verifies_across_a_rotation_and_still_names_a_wrong_key(rt: Runtime) -> None:
    _record(rt.audit, 5, 0)
    rt.audit.checkpoint()
    rt.rotate_purpose_key("audit", "cli:test")
    _record(rt.audit, 5, 10)
    rt.audit.checkpoint()
    result = rt.audit.verify()
    assert result.intact, result.problem
    with rt.engine.connect() as conn:
        versions = set(conn.execute(text("select distinct key_version from audit_entries")).scalars())
        key_ids = set(conn.execute(text("select key_id from audit_checkpoints")).scalars())
    assert versions == {1, 2} and len(key_ids) == 2
    last = result.entries

    # An entry claimed for the other version no longer matches its hash.
    with rt.engine.begin() as conn:
        conn.execute(text("update audit_entries set key_version = 1 where seq = :s"), {"s": last})
    problem = rt.audit.verify().problem
    assert problem is not None and (problem.seq, problem.kind) == (last, ProblemKind.CHANGED)
    with rt.engine.begin() as conn:
        conn.execute(text("update audit_entries set key_version = 2 where seq = :s"), {"s": last})
    assert rt.audit.verify().intact

    # The head re-signed with a key that is not one of the audit key's versions.
    with rt.engine.begin() as conn:
        conn.execute(text("delete from audit_checkpoints where seq = :s"), {"s": last})
    SqlAuditLog(rt.engine, AuditKeys(KeyVersions.single(os.urandom(32))), rt.clock).checkpoint()
    problem = rt.audit.verify().problem
    assert problem is not None and problem.seq == last
    assert problem.kind in (ProblemKind.BAD_SIGNATURE, ProblemKind.RESIGNED)


def test_an_audit_log_written_before_the_upgrade_verifies_after_it_and_across_a_rotation(engine: Engine) -> None:
    from alembic import command

    from privacy_waybill.audit.chain import GENESIS_HASH, chain_entry
    from privacy_waybill.storage.audit_tables import AuditEntry
    from privacy_waybill.storage.db import alembic_config, migrate

    seed = bytes(range(32))
    old_chain_key = AuditKeys(KeyVersions.single(seed)).current().chain_key
    command.downgrade(alembic_config(engine), "0009_risk")
    # Entries as the code before per-purpose keys wrote them: no key version column at all.
    prev, rows = GENESIS_HASH, []
    for n in range(1, 4):
        happened = NOW + timedelta(seconds=n)
        entry = chain_entry(n, prev, AuditEvent(at=happened, actor="user:u_1", role="courier", action="waybill.read",
                                                outcome=Outcome.ALLOWED, rule="courier.assigned"), old_chain_key)  # fmt: skip
        rows.append({**entry._asdict(), "at": happened})
        prev = entry.entry_hash
    with engine.begin() as conn:
        for row in rows:
            row.pop("key_version")  # the insert names only the columns of before
            conn.execute(AuditEntry.__table__.insert().values(row))
        conn.execute(text("update audit_head set seq = 3, head_hash = :h"), {"h": prev})
    migrate(engine)
    upgraded = SqlAuditLog(engine, AuditKeys(KeyVersions.single(seed)), lambda: NOW)
    assert upgraded.verify().intact
    rotated = SqlAuditLog(engine, AuditKeys(KeyVersions({1: seed, 2: os.urandom(32)})), lambda: NOW)
    _record(rotated, 2, 10)
    result = rotated.verify()
    assert result.intact and result.entries == 5, result.problem


# --- the CLI ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("keys-cli") / "home"
    result = run_pwb(home, "init")
    assert result.returncode == 0, result.stderr
    return home


def test_pwb_keys_rotate_purpose_says_the_new_version_and_audit_verify_stays_intact(home: Path) -> None:
    assert run_pwb(home, "audit", "verify").returncode == 0
    rotated = run_pwb(home, "keys", "rotate", "--purpose", "audit")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stderr.strip() == "pwb keys rotate: audit key now at version 2"
    verified = run_pwb(home, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("pwb audit verify: intact: ")
    totp = run_pwb(home, "keys", "rotate", "--purpose", "totp")
    assert totp.returncode == 0, totp.stderr
    assert totp.stderr.strip() == "pwb keys rotate: totp key now at version 2, 0 sealed values moved to it"


def test_pwb_keys_rotate_an_unknown_purpose_is_one_line_naming_the_purposes(home: Path) -> None:
    result = run_pwb(home, "keys", "rotate", "--purpose", "everything")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--purpose: one of audit, qr-reference," in lines[0]


def test_pwb_keys_retire_refuses_the_current_and_a_just_replaced_version_in_one_line(home: Path) -> None:
    current = run_pwb(home, "keys", "retire", "--tenant", "default", "--version", "1")
    assert current.returncode == 2
    assert current.stderr.strip() == "error: tenant default's key-encryption key version 1 is the current one"
    assert run_pwb(home, "keys", "rotate", "--tenant", "default").returncode == 0
    recent = run_pwb(home, "keys", "retire", "--tenant", "default", "--version", "1")
    assert recent.returncode == 2
    [line] = recent.stderr.strip().splitlines()
    assert "version 1 stopped being current at" in line and "it can be retired from" in line
    unknown = run_pwb(home, "keys", "retire", "--tenant", "nobody", "--version", "1")
    assert (unknown.returncode, unknown.stderr.strip()) == (2, "error: unknown tenant 'nobody'")
