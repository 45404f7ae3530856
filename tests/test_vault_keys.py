"""The local key store: files, permissions, master secret, persistence, rotation, processes."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from privacy_waybill.vault import (
    BlindIndexer,
    BlindIndexKey,
    DataKey,
    InsecurePermissions,
    KekRef,
    KeyEncryptionKey,
    KeyNotRetirable,
    KeyStoreError,
    KeyStoreExists,
    KeyStoreMissing,
    KeyUnwrapFailed,
    LocalKeyManager,
    UnknownKey,
    Vault,
    WeakMasterSecret,
    WrongMasterSecret,
    local_keys,
)
from privacy_waybill.vault.local_keys import RETIRE_AFTER, STORE_FILE

FIELDS = {"recipient_name": "张三", "recipient_phone": "13800138000"}


@pytest.fixture
def secret() -> bytes:
    return secrets.token_urlsafe(48).encode()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "keys"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def store_document(folder: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / STORE_FILE).read_text())
    return document


def write_document(folder: Path, document: dict[str, Any]) -> None:
    (folder / STORE_FILE).write_text(json.dumps(document))


def test_create_writes_owner_only_files(folder: Path, secret: bytes) -> None:
    LocalKeyManager.create(folder, secret).current_kek("tenant-a")

    assert mode_of(folder) == 0o700
    assert mode_of(folder / STORE_FILE) == 0o600
    assert mode_of(folder / local_keys.LOCK_FILE) == 0o600
    assert [path.name for path in folder.iterdir() if path.name.endswith(".tmp")] == []


def test_store_file_holds_no_key_in_the_clear(folder: Path, secret: bytes) -> None:
    key_manager = LocalKeyManager.create(folder, secret)
    blind_index_key = key_manager.blind_index_key("tenant-a")

    text = (folder / STORE_FILE).read_text()
    assert blind_index_key.material.hex() not in text
    assert secret.decode() not in text
    assert store_document(folder)["kdf"]["name"] == "scrypt"


def test_create_refuses_an_existing_store(folder: Path, secret: bytes) -> None:
    LocalKeyManager.create(folder, secret)

    with pytest.raises(KeyStoreExists):
        LocalKeyManager.create(folder, secret)


def test_create_refuses_a_weak_master_secret(folder: Path) -> None:
    with pytest.raises(WeakMasterSecret):
        LocalKeyManager.create(folder, b"changeme")
    assert not (folder / STORE_FILE).exists()


def test_keys_persist_across_reopen(folder: Path, secret: bytes) -> None:
    first = LocalKeyManager.create(folder, secret)
    record = Vault(first).seal("tenant-a", "wb-1", FIELDS)
    index = BlindIndexer(first).index("tenant-a", "phone", "+8613800138000")

    reopened = LocalKeyManager.open(folder, secret)

    assert reopened.current_kek("tenant-a") == first.current_kek("tenant-a")
    assert Vault(reopened).open("tenant-a", "wb-1", record, FIELDS) == FIELDS
    assert BlindIndexer(reopened).index("tenant-a", "phone", "+8613800138000") == index


def test_a_tenants_keys_are_made_once_when_it_is_ensured_and_never_by_asking(folder: Path, secret: bytes) -> None:
    store = LocalKeyManager.create(folder, secret)
    assert not store.knows("tenant-a")
    store.ensure_tenant("tenant-a")
    kek = store.current_kek("tenant-a")
    store.ensure_tenant("tenant-a")
    reopened = LocalKeyManager.open(folder, secret)
    assert reopened.knows("tenant-a") and reopened.current_kek("tenant-a") == kek
    assert not reopened.knows("tenant-b")


def test_a_master_key_derived_ahead_opens_the_store_as_a_fresh_derivation_does(
    folder: Path, secret: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_keys, "_derived_ahead", {})
    first = LocalKeyManager.create(folder, secret)
    record = Vault(first).seal("tenant-a", "wb-1", FIELDS)
    derivations: list[bytes] = []
    real_scrypt = local_keys._scrypt
    monkeypatch.setattr(local_keys, "_scrypt", lambda s, kdf: derivations.append(s) or real_scrypt(s, kdf))

    local_keys.derive_ahead(folder, secret)
    reopened = LocalKeyManager.open(folder, secret)

    assert Vault(reopened).open("tenant-a", "wb-1", record, FIELDS) == FIELDS
    assert derivations == [secret] and local_keys._derived_ahead == {}  # derived once, then let go
    LocalKeyManager.open(folder, secret)  # a second opening derives afresh
    assert derivations == [secret, secret]


def test_deriving_ahead_changes_no_outcome_of_opening(
    folder: Path, secret: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_keys, "_derived_ahead", {})
    local_keys.derive_ahead(folder, secret)  # no store yet: nothing to derive
    assert local_keys._derived_ahead == {}
    LocalKeyManager.create(folder, secret)
    wrong = secrets.token_urlsafe(48).encode()
    local_keys.derive_ahead(folder, wrong)
    with pytest.raises(WrongMasterSecret):
        LocalKeyManager.open(folder, wrong)
    document = store_document(folder)
    document["kdf"]["n"] = 3  # not a power of two: scrypt refuses it, on the thread
    write_document(folder, document)
    local_keys.derive_ahead(folder, secret)
    with pytest.raises(ValueError):
        LocalKeyManager.open(folder, secret)
    assert local_keys._derived_ahead == {}


def test_tenants_get_keys_lazily_and_persist_them(folder: Path, secret: bytes) -> None:
    key_manager = LocalKeyManager.create(folder, secret)
    assert store_document(folder)["tenants"] == {}

    kek = key_manager.current_kek("tenant-new")

    assert kek.version == 1 and kek.kek_id.startswith("local/")
    assert store_document(folder)["tenants"]["tenant-new"]["kek_id"] == kek.kek_id
    assert key_manager.current_kek("tenant-new") == kek


def test_tenants_get_distinct_keys(folder: Path, secret: bytes) -> None:
    key_manager = LocalKeyManager.create(folder, secret)

    assert key_manager.current_kek("tenant-a").kek_id != key_manager.current_kek("tenant-b").kek_id
    assert key_manager.blind_index_key("tenant-a") != key_manager.blind_index_key("tenant-b")


def test_wrong_master_secret_is_a_clear_error(folder: Path, secret: bytes) -> None:
    LocalKeyManager.create(folder, secret)
    wrong = secrets.token_urlsafe(48).encode()

    with pytest.raises(WrongMasterSecret) as failure:
        LocalKeyManager.open(folder, wrong)
    assert "master secret does not open" in str(failure.value)
    assert wrong.decode() not in str(failure.value)


def test_open_refuses_a_store_readable_by_others(folder: Path, secret: bytes) -> None:
    LocalKeyManager.create(folder, secret)
    os.chmod(folder / STORE_FILE, 0o644)

    with pytest.raises(InsecurePermissions) as failure:
        LocalKeyManager.open(folder, secret)
    assert "chmod 600" in str(failure.value)


def test_open_without_a_store_says_how_to_make_one(folder: Path, secret: bytes) -> None:
    with pytest.raises(KeyStoreMissing) as failure:
        LocalKeyManager.open(folder, secret)
    assert "pwb init" in str(failure.value)


def test_open_refuses_a_file_that_is_not_a_key_store(folder: Path, secret: bytes) -> None:
    folder.mkdir(mode=0o700)
    (folder / STORE_FILE).write_text("not json")
    os.chmod(folder / STORE_FILE, 0o600)

    with pytest.raises(KeyStoreError):
        LocalKeyManager.open(folder, secret)


def test_an_altered_key_entry_is_detected(folder: Path, secret: bytes) -> None:
    LocalKeyManager.create(folder, secret).current_kek("tenant-a")
    document = store_document(folder)
    entry = document["tenants"]["tenant-a"]
    sealed = bytearray(base64.b64decode(entry["keks"]["1"]))
    sealed[20] ^= 1
    entry["keks"]["1"] = base64.b64encode(bytes(sealed)).decode()
    write_document(folder, document)

    key_manager = LocalKeyManager.open(folder, secret)
    with pytest.raises(KeyStoreError) as failure:
        Vault(key_manager).seal("tenant-a", "wb-1", FIELDS)
    assert "tenant-a" in str(failure.value)


def test_a_key_entry_copied_to_another_tenant_is_detected(folder: Path, secret: bytes) -> None:
    key_manager = LocalKeyManager.create(folder, secret)
    key_manager.current_kek("tenant-a")
    key_manager.current_kek("tenant-b")
    document = store_document(folder)
    document["tenants"]["tenant-b"] = document["tenants"]["tenant-a"]
    write_document(folder, document)

    with pytest.raises(KeyStoreError):
        LocalKeyManager.open(folder, secret).blind_index_key("tenant-b")


def test_rotation_adds_versions_and_keeps_old_ones(folder: Path, secret: bytes) -> None:
    key_manager = LocalKeyManager.create(folder, secret)
    first = key_manager.current_kek("tenant-a")
    dek = DataKey.generate()
    wrapped = key_manager.wrap_dek("tenant-a", first, dek, b"context")

    second = key_manager.rotate("tenant-a")
    third = key_manager.rotate("tenant-a")

    assert (second.version, third.version) == (2, 3)
    assert second.kek_id == third.kek_id == first.kek_id
    assert key_manager.current_kek("tenant-a") == third
    assert key_manager.unwrap_dek("tenant-a", first, wrapped, b"context") == dek
    reopened = LocalKeyManager.open(folder, secret)
    assert reopened.current_kek("tenant-a") == third
    assert reopened.unwrap_dek("tenant-a", first, wrapped, b"context") == dek


def test_a_retired_version_is_gone_for_good_and_says_so(folder: Path, secret: bytes) -> None:
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    key_manager = LocalKeyManager.create(folder, secret, clock=lambda: now[0])
    first = key_manager.current_kek("tenant-a")
    wrapped = key_manager.wrap_dek("tenant-a", first, DataKey.generate(), b"context")
    second = key_manager.rotate("tenant-a")

    with pytest.raises(KeyNotRetirable, match="version 2 is the current one"):
        key_manager.retire("tenant-a", second)
    now[0] += RETIRE_AFTER - timedelta(seconds=1)
    with pytest.raises(KeyNotRetirable, match="can be retired from 2026-12-01T09:10:00"):
        key_manager.retire("tenant-a", first)
    assert key_manager.unwrap_dek("tenant-a", first, wrapped, b"context")  # refused: nothing changed

    now[0] += timedelta(seconds=1)
    key_manager.retire("tenant-a", first)

    entry = store_document(folder)["tenants"]["tenant-a"]
    assert list(entry["keks"]) == ["2"] and entry["retired"] == {"1": "2026-12-01T09:10:00+00:00"}
    for manager in (key_manager, LocalKeyManager.open(folder, secret)):
        with pytest.raises(UnknownKey, match="version 1 \\(retired at 2026-12-01T09:10:00\\+00:00"):
            manager.unwrap_dek("tenant-a", first, wrapped, b"context")
    with pytest.raises(UnknownKey):
        key_manager.retire("tenant-a", first)
    assert key_manager.current_kek("tenant-a") == second


def test_a_version_rotated_past_before_rotations_were_dated_may_be_retired_at_once(
    folder: Path, secret: bytes
) -> None:
    key_manager = LocalKeyManager.create(folder, secret)
    first = key_manager.current_kek("tenant-a")
    key_manager.rotate("tenant-a")
    document = store_document(folder)
    del document["tenants"]["tenant-a"]["superseded"]
    write_document(folder, document)
    os.chmod(folder / STORE_FILE, 0o600)

    LocalKeyManager.open(folder, secret).retire("tenant-a", first)

    assert list(store_document(folder)["tenants"]["tenant-a"]["keks"]) == ["2"]


def test_a_version_retired_in_another_process_stops_unwrapping_here_at_the_next_reload(
    folder: Path, secret: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = datetime.now(UTC) + RETIRE_AFTER + timedelta(minutes=1)
    server = LocalKeyManager.create(folder, secret)
    first = server.current_kek("tenant-a")
    wrapped = server.wrap_dek("tenant-a", first, DataKey.generate(), b"")
    server.rotate("tenant-a")
    assert server.unwrap_dek("tenant-a", first, wrapped, b"")  # the server now holds v1's cipher

    LocalKeyManager.open(folder, secret, clock=lambda: later).retire("tenant-a", first)

    monkeypatch.setattr(local_keys, "RELOAD_INTERVAL_S", 0.0)
    with pytest.raises(UnknownKey, match="retired at"):
        server.unwrap_dek("tenant-a", first, wrapped, b"")


def test_rotating_an_unknown_tenant_creates_it_first(folder: Path, secret: bytes) -> None:
    key_manager = LocalKeyManager.create(folder, secret)

    assert key_manager.rotate("tenant-z").version == 2


def test_unwrap_with_other_associated_data_fails(folder: Path, secret: bytes) -> None:
    key_manager = LocalKeyManager.create(folder, secret)
    kek = key_manager.current_kek("tenant-a")
    wrapped = key_manager.wrap_dek("tenant-a", kek, DataKey.generate(), b"waybill 1")

    with pytest.raises(KeyUnwrapFailed):
        key_manager.unwrap_dek("tenant-a", kek, wrapped, b"waybill 2")


def test_unknown_kek_version_or_id_is_reported(folder: Path, secret: bytes) -> None:
    key_manager = LocalKeyManager.create(folder, secret)
    kek = key_manager.current_kek("tenant-a")
    wrapped = key_manager.wrap_dek("tenant-a", kek, DataKey.generate(), b"")

    with pytest.raises(UnknownKey):
        key_manager.unwrap_dek("tenant-a", KekRef(kek.kek_id, 9), wrapped, b"")
    with pytest.raises(UnknownKey):
        key_manager.unwrap_dek("tenant-a", KekRef("local/other", 1), wrapped, b"")
    with pytest.raises(UnknownKey):
        key_manager.unwrap_dek("tenant-never-seen", kek, wrapped, b"")


def test_two_processes_share_one_tenant_key(folder: Path, secret: bytes) -> None:
    # Two managers opened before either knew the tenant stand for two server processes.
    worker_a = LocalKeyManager.create(folder, secret)
    worker_b = LocalKeyManager.open(folder, secret)

    record = Vault(worker_a).seal("tenant-a", "wb-1", FIELDS)

    assert worker_b.current_kek("tenant-a") == worker_a.current_kek("tenant-a")
    assert Vault(worker_b).open("tenant-a", "wb-1", record, FIELDS) == FIELDS
    assert BlindIndexer(worker_a).index("tenant-a", "phone", "x") == BlindIndexer(worker_b).index(
        "tenant-a", "phone", "x"
    )


def test_a_rotation_in_another_process_is_picked_up(
    folder: Path, secret: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = LocalKeyManager.create(folder, secret)
    server.current_kek("tenant-a")
    cli = LocalKeyManager.open(folder, secret)

    cli.rotate("tenant-a")
    record = Vault(cli).seal("tenant-a", "wb-1", FIELDS)

    # Unwrapping under a version it has not seen makes the server read the file again.
    assert Vault(server).open("tenant-a", "wb-1", record, FIELDS) == FIELDS
    monkeypatch.setattr(local_keys, "RELOAD_INTERVAL_S", 0.0)
    assert server.current_kek("tenant-a").version == 2


def test_concurrent_first_use_creates_each_tenant_once(folder: Path, secret: bytes) -> None:
    key_manager = LocalKeyManager.create(folder, secret)
    tenants = [f"tenant-{number % 10}" for number in range(80)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        keks = list(pool.map(key_manager.current_kek, tenants))

    by_tenant: dict[str, set[KekRef]] = {}
    for tenant, kek in zip(tenants, keks):
        by_tenant.setdefault(tenant, set()).add(kek)
    assert all(len(refs) == 1 for refs in by_tenant.values())
    reopened = LocalKeyManager.open(folder, secret)
    assert {tenant: reopened.current_kek(tenant) for tenant in by_tenant} == {
        tenant: refs.pop() for tenant, refs in by_tenant.items()
    }


def test_empty_tenant_id_is_refused(folder: Path, secret: bytes) -> None:
    with pytest.raises(ValueError):
        LocalKeyManager.create(folder, secret).current_kek("")


@pytest.mark.parametrize("key_type", [DataKey, KeyEncryptionKey, BlindIndexKey])
def test_key_objects_never_show_their_bytes(key_type: type[DataKey]) -> None:
    key = key_type.generate()

    for shown in (repr(key), str(key), f"{key!s} {key!r}", repr({"key": key})):
        assert key.material.hex() not in shown
        assert repr(key.material)[2:-1] not in shown
        assert "hidden" in shown


def test_key_objects_compare_by_value_but_are_not_hashable() -> None:
    material = os.urandom(32)

    assert DataKey(material) == DataKey(material)
    assert DataKey(material) != KeyEncryptionKey(material)
    with pytest.raises(TypeError):
        hash(DataKey(material))
    with pytest.raises(ValueError):
        DataKey(b"short")
