"""The default key manager: one JSON key store file whose every key is sealed under a master key.

The master key is scrypt(master secret, random salt stored in the file). scrypt rather than
HKDF because the master-secret rules only estimate entropy: a human-made passphrase can pass
them, and scrypt makes every guess against a stolen key file cost about 0.1 s and 32 MiB.
That cost is paid once per process, when the store is opened, or earlier on a thread
(`derive_ahead`): scrypt lets go of the GIL, so a command can import the rest meanwhile.

Web workers and the CLI may share one store: changes (a tenant's first key, a rotation) run
under a file lock on a fresh read of the file and replace it atomically; readers notice other
processes' changes by reloading when the file changes.

A rotation notes when each KEK version stopped being current, so that retiring it (destroying
it for good) can wait until no process can still be wrapping data keys under it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from privacy_waybill.vault.aead import (
    KEY_BYTES,
    VERSION_BYTES,
    BrokenSeal,
    frame,
    seal,
    unseal,
)
from privacy_waybill.vault.errors import (
    KeyNotRetirable,
    KeyStoreError,
    KeyStoreExists,
    KeyStoreMissing,
    KeyUnwrapFailed,
    UnknownKey,
    WrongMasterSecret,
)
from privacy_waybill.vault.keys import BlindIndexKey, DataKey, KekRef, KeyEncryptionKey
from privacy_waybill.vault.master_secret import (
    check_master_secret,
    refuse_loose_permissions,
)

STORE_FILE = "keystore.json"
LOCK_FILE = "keystore.lock"
STORE_FORMAT = 1
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
# How stale a process's view of the store may get before it looks at the file again.
RELOAD_INTERVAL_S = 1.0
# How long after a KEK version stopped being current it may be destroyed: far beyond the
# reload interval and the few chunks a batch seals ahead of storing them.
RETIRE_AFTER = timedelta(minutes=10)

_CHECK_AAD = frame(b"pwb/keystore-check", VERSION_BYTES)

Document = dict[str, Any]
T = TypeVar("T")


class LocalKeyManager:
    """A `KeyManager` backed by ``<folder>/keystore.json``; build it with `create` or `open`."""

    def __init__(
        self, folder: Path, master: AESGCM, document: Document, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._folder = folder
        # Only rotations and retirements read it.
        self._clock = clock or (lambda: datetime.now(UTC))
        self._path = folder / STORE_FILE
        self._master = master
        self._lock = threading.Lock()
        self._kek_ciphers: dict[tuple[str, str, int], AESGCM] = {}
        self._document: Document
        self._stamp: tuple[int, int, int]
        self._checked_at: float
        self._blind_index_keys: dict[str, BlindIndexKey] = {}
        self._install(document)

    @classmethod
    def create(
        cls, folder: Path, master_secret: bytes, clock: Callable[[], datetime] | None = None
    ) -> LocalKeyManager:
        """A new, empty key store in `folder`; refuses weak secrets and existing stores."""
        check_master_secret(master_secret)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / STORE_FILE
        with _file_lock(folder):
            if path.exists():
                raise KeyStoreExists(path)
            kdf = {
                "name": "scrypt",
                "salt": _b64(os.urandom(SALT_BYTES)),
                "n": SCRYPT_N,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
            }
            master = AESGCM(_derive_master_key(master_secret, kdf))
            document: Document = {
                "format": STORE_FORMAT,
                "kdf": kdf,
                "check": _b64(seal(master, b"", _CHECK_AAD)),
                "tenants": {},
            }
            _write_atomically(path, document)
        return cls(folder, master, document, clock)

    @classmethod
    def open(cls, folder: Path, master_secret: bytes, clock: Callable[[], datetime] | None = None) -> LocalKeyManager:
        """The key store in `folder`; refuses loose permissions and a wrong master secret."""
        path = folder / STORE_FILE
        try:
            refuse_loose_permissions(path)
        except FileNotFoundError:
            raise KeyStoreMissing(path) from None
        document = _read_document(path)
        master = AESGCM(_derive_master_key(master_secret, document["kdf"]))
        try:
            unseal(master, _unb64(document["check"], path), _CHECK_AAD)
        except BrokenSeal:
            raise WrongMasterSecret(path) from None
        return cls(folder, master, document, clock)

    def current_kek(self, tenant_id: str) -> KekRef:
        self._reload_if_changed()
        entry = self._tenant_entry(tenant_id)
        return KekRef(entry["kek_id"], entry["current"])

    def wrap_dek(self, tenant_id: str, kek: KekRef, dek: DataKey, associated_data: bytes) -> bytes:
        return seal(self._kek_cipher(tenant_id, kek), dek.material, associated_data)

    def unwrap_dek(self, tenant_id: str, kek: KekRef, wrapped: bytes, associated_data: bytes) -> DataKey:
        cipher = self._kek_cipher(tenant_id, kek)
        try:
            return DataKey(unseal(cipher, wrapped, associated_data))
        except BrokenSeal:
            raise KeyUnwrapFailed(
                f"tenant {tenant_id}: a data key does not unwrap under {kek.kek_id} version {kek.version}"
            ) from None

    def rotate(self, tenant_id: str) -> KekRef:
        def add_version(document: Document) -> KekRef:
            entry = document["tenants"].get(tenant_id)
            if entry is None:
                entry = document["tenants"][tenant_id] = self._new_tenant_entry(tenant_id)
            version = entry["current"] + 1
            entry["keks"][str(version)] = self._seal_entry(
                KeyEncryptionKey.generate().material,
                _kek_aad(tenant_id, entry["kek_id"], version),
            )
            entry.setdefault("superseded", {})[str(entry["current"])] = self._clock().isoformat()
            entry["current"] = version
            return KekRef(entry["kek_id"], version)

        return self._mutate(add_version)

    def retire(
        self,
        tenant_id: str,
        kek: KekRef,
        check_only: bool = False,
        drop_entry: str | None = None,
        named: str | None = None,
    ) -> None:
        """Destroy KEK version `kek` of `tenant_id` (see `KeyManager.retire`), and with it the
        entry `drop_entry` names (a purpose version's own key) in the same change; refusals
        call the key `named` (by default the tenant's key-encryption key).

        A version superseded by a rotation made before rotations noted the time counts as
        superseded long ago.
        """
        named = named or f"tenant {tenant_id}'s key-encryption key"

        def destroy(document: Document) -> None:
            entry = document["tenants"].get(tenant_id)
            if entry is None or entry["kek_id"] != kek.kek_id or str(kek.version) not in entry["keks"]:
                raise UnknownKey(tenant_id, kek.kek_id, kek.version)
            if kek.version == entry["current"]:
                raise KeyNotRetirable(f"{named} version {kek.version} is the current one")
            superseded = entry.get("superseded", {}).get(str(kek.version))
            if superseded is not None:
                ended = datetime.fromisoformat(superseded)
                allowed_from = ended + RETIRE_AFTER
                if self._clock() < allowed_from:
                    raise KeyNotRetirable(
                        f"{named} version {kek.version} stopped being current at "
                        f"{ended.isoformat(timespec='seconds')}; it can be retired from "
                        f"{allowed_from.isoformat(timespec='seconds')} on, once no process can still be using it"
                    )
            if check_only:
                return
            del entry["keks"][str(kek.version)]
            entry.setdefault("retired", {})[str(kek.version)] = self._clock().isoformat()
            if drop_entry is not None:
                document["tenants"].pop(drop_entry, None)

        if check_only:
            self._reload()
            destroy(self._document)
        else:
            self._mutate(destroy)

    def superseded_at(self, tenant_id: str, version: int) -> datetime | None:
        """When KEK version `version` stopped being current (None: still current, or rotated
        past before rotations noted the time)."""
        self._reload_if_changed()
        noted = self._document["tenants"].get(tenant_id, {}).get("superseded", {}).get(str(version))
        return datetime.fromisoformat(noted) if noted else None

    def is_retired(self, tenant_id: str, version: int, fresh: bool = False) -> bool:
        """Whether KEK version `version` was retired; `fresh` reads the file first."""
        if fresh:
            self._reload()
        else:
            self._reload_if_changed()
        return str(version) in self._document["tenants"].get(tenant_id, {}).get("retired", {})

    def add_entry_once(self, decide: Callable[[Collection[str]], str | None]) -> None:
        """Add the entry `decide` names given the store's entries, deciding on a fresh read
        under the store's lock, so processes opening one store at once all decide alike."""

        def add(document: Document) -> None:
            name = decide(document["tenants"].keys())
            if name is not None:
                document["tenants"].setdefault(name, self._new_tenant_entry(name))

        self._mutate(add)

    def knows(self, tenant_id: str) -> bool:
        """Whether the store holds keys for `tenant_id` (without creating them)."""
        self._reload_if_changed()
        return tenant_id in self._document["tenants"]

    def ensure_tenant(self, tenant_id: str) -> None:
        """Create the keys of `tenant_id` unless the store holds them: a merchant gets them when
        it is added, so that its first batch can be prepared before the database is open."""
        self._reload_if_changed()
        self._tenant_entry(tenant_id)

    def blind_index_key(self, tenant_id: str) -> BlindIndexKey:
        key = self._blind_index_keys.get(tenant_id)
        if key is None:
            entry = self._tenant_entry(tenant_id)
            key = BlindIndexKey(self._unseal_entry(entry["blind_index_key"], _blind_index_aad(tenant_id), tenant_id))
            self._blind_index_keys[tenant_id] = key
        return key

    def _tenant_entry(self, tenant_id: str) -> dict[str, Any]:
        if not tenant_id:
            raise ValueError("tenant id is empty")
        entry: dict[str, Any] | None = self._document["tenants"].get(tenant_id)
        if entry is not None:
            return entry

        def add_tenant(document: Document) -> dict[str, Any]:
            # Another process may have created the tenant since this one last read the file.
            tenants: dict[str, dict[str, Any]] = document["tenants"]
            return tenants.setdefault(tenant_id, self._new_tenant_entry(tenant_id))

        return self._mutate(add_tenant)

    def _new_tenant_entry(self, tenant_id: str) -> dict[str, Any]:
        kek_id = f"local/{secrets.token_hex(8)}"
        return {
            "kek_id": kek_id,
            "current": 1,
            "keks": {"1": self._seal_entry(KeyEncryptionKey.generate().material, _kek_aad(tenant_id, kek_id, 1))},
            "blind_index_key": self._seal_entry(BlindIndexKey.generate().material, _blind_index_aad(tenant_id)),
        }

    def _kek_cipher(self, tenant_id: str, kek: KekRef) -> AESGCM:
        self._reload_if_changed()  # a version retired elsewhere stops unwrapping here too
        cache_key = (tenant_id, kek.kek_id, kek.version)
        cipher = self._kek_ciphers.get(cache_key)
        if cipher is None:
            sealed = self._find_kek(tenant_id, kek)
            if sealed is None:
                # The version may come from another process's rotation: look at the file again.
                self._reload()
                sealed = self._find_kek(tenant_id, kek)
            if sealed is None:
                entry = self._document["tenants"].get(tenant_id) or {}
                retired = entry.get("retired", {}).get(str(kek.version)) if entry.get("kek_id") == kek.kek_id else None
                raise UnknownKey(tenant_id, kek.kek_id, kek.version, retired_at=retired)
            kek_key = KeyEncryptionKey(
                self._unseal_entry(sealed, _kek_aad(tenant_id, kek.kek_id, kek.version), tenant_id)
            )
            cipher = self._kek_ciphers.setdefault(cache_key, AESGCM(kek_key.material))
        return cipher

    def _find_kek(self, tenant_id: str, kek: KekRef) -> str | None:
        return _sealed_kek(self._document, tenant_id, kek)

    def _seal_entry(self, material: bytes, associated_data: bytes) -> str:
        return _b64(seal(self._master, material, associated_data))

    def _unseal_entry(self, sealed: str, associated_data: bytes, tenant_id: str) -> bytes:
        try:
            return unseal(self._master, _unb64(sealed, self._path), associated_data)
        except BrokenSeal:
            raise KeyStoreError(
                f"{self._path}: a key of tenant {tenant_id} does not authenticate; the file was altered"
            ) from None

    def _mutate(self, change: Callable[[Document], T]) -> T:
        with self._lock, _file_lock(self._folder):
            document = self._read_same_store()
            result = change(document)
            _write_atomically(self._path, document)
            self._install(document)
        return result

    def _reload_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < RELOAD_INTERVAL_S:
            return
        self._checked_at = now
        try:
            changed = _file_stamp(self._path) != self._stamp
        except FileNotFoundError:
            raise KeyStoreMissing(self._path) from None
        if changed:
            self._reload()

    def _reload(self) -> None:
        with self._lock:
            self._install(self._read_same_store())

    def _read_same_store(self) -> Document:
        document = _read_document(self._path)
        if document["kdf"] != self._document["kdf"]:
            raise KeyStoreError(f"{self._path} was replaced by another key store")
        return document

    def _install(self, document: Document) -> None:
        # Readers use whichever whole document is current; it is never changed in place.
        self._document = document
        self._stamp = _file_stamp(self._path)
        self._checked_at = time.monotonic()
        for tenant_id, kek_id, version in list(self._kek_ciphers):
            if _sealed_kek(document, tenant_id, KekRef(kek_id, version)) is None:  # retired
                del self._kek_ciphers[(tenant_id, kek_id, version)]
        for dropped in self._blind_index_keys.keys() - document["tenants"].keys():  # a retired purpose version
            del self._blind_index_keys[dropped]


def _sealed_kek(document: Document, tenant_id: str, kek: KekRef) -> str | None:
    entry = document["tenants"].get(tenant_id)
    if entry is None or entry["kek_id"] != kek.kek_id:
        return None
    sealed: str | None = entry["keks"].get(str(kek.version))
    return sealed


def _kek_aad(tenant_id: str, kek_id: str, version: int) -> bytes:
    return frame(
        b"pwb/keystore-kek",
        VERSION_BYTES,
        tenant_id.encode(),
        kek_id.encode(),
        str(version).encode(),
    )


def _blind_index_aad(tenant_id: str) -> bytes:
    return frame(b"pwb/keystore-blind-index", VERSION_BYTES, tenant_id.encode())


# Master keys being derived ahead of `open`, by (master secret, the store's scrypt parameters);
# each is taken out by the one `open` it was started for.
_derived_ahead: dict[tuple[bytes, str], Future[bytes]] = {}
_derived_ahead_lock = threading.Lock()


def derive_ahead(folder: Path, master_secret: bytes) -> None:
    """Start deriving the master key of the store in `folder` on a thread, for the next `open`.

    Commands call this first and open the store after importing the rest of the platform,
    which scrypt's tenth of a second then overlaps. Does nothing when the store cannot be read:
    `open` reports why.
    """
    try:
        kdf = _read_document(folder / STORE_FILE)["kdf"]
    except (OSError, KeyStoreError):
        return
    ahead: Future[bytes] = Future()
    with _derived_ahead_lock:
        if _derived_ahead.setdefault(_kdf_key(master_secret, kdf), ahead) is not ahead:
            return

    def derive() -> None:
        try:
            ahead.set_result(_scrypt(master_secret, kdf))
        except Exception as error:  # handed to `open`, which raises it as it would have
            ahead.set_exception(error)

    threading.Thread(target=derive, name="pwb-master-key", daemon=True).start()


def _derive_master_key(master_secret: bytes, kdf: dict[str, Any]) -> bytes:
    with _derived_ahead_lock:
        ahead = _derived_ahead.pop(_kdf_key(master_secret, kdf), None)
    return ahead.result() if ahead is not None else _scrypt(master_secret, kdf)


def _kdf_key(master_secret: bytes, kdf: dict[str, Any]) -> tuple[bytes, str]:
    return master_secret, json.dumps(kdf, sort_keys=True)


def _scrypt(master_secret: bytes, kdf: dict[str, Any]) -> bytes:
    return Scrypt(
        salt=base64.b64decode(kdf["salt"]),
        length=KEY_BYTES,
        n=kdf["n"],
        r=kdf["r"],
        p=kdf["p"],
    ).derive(master_secret)


def _read_document(path: Path) -> Document:
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise KeyStoreMissing(path) from None
    except (ValueError, UnicodeDecodeError):
        raise KeyStoreError(f"{path} is not a key store (not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != STORE_FORMAT:
        raise KeyStoreError(f"{path} is not a key store of format {STORE_FORMAT}")
    if document.get("kdf", {}).get("name") != "scrypt":
        raise KeyStoreError(f"{path} names an unsupported key derivation")
    return document


def _write_atomically(path: Path, document: Document) -> None:
    # mkstemp creates the file 0600, so the keys are never readable by others, even briefly.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keystore-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextlib.contextmanager
def _file_lock(folder: Path) -> Iterator[None]:
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _file_stamp(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, path: Path) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError):
        raise KeyStoreError(f"{path} holds a malformed key entry") from None
