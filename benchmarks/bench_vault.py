"""Vault throughput next to the raw primitives it is built on, measured in the same run.

Seal/open of a typical 8-field waybill against raw AES-256-GCM encrypt/decrypt of the same
fields under one fixed key; blind indexes against a raw HMAC-SHA256 of the same value.
Run: .venv/bin/python benchmarks/bench_vault.py
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy_waybill.vault import BlindIndexer, LocalKeyManager, Vault
from report import figure, sized

FIELDS = {
    "recipient_name": "欧阳娜娜",
    "recipient_phone": "13800138000",
    "recipient_address": "浙江省杭州市余杭区五常街道文一西路969号3幢2单元501室",
    "sender_name": "李四",
    "sender_phone": "13912345678",
    "sender_address": "北京市朝阳区建国路88号SOHO现代城5号楼1203",
    "remark": "放门口，别按门铃",
    "items": '[{"name": "图书", "quantity": 2}]',
}
REPEAT = 5


def per_call_us(function: Callable[[], object], number: int) -> float:
    """Best of REPEAT runs, in microseconds per call (best = least disturbed by the OS)."""
    return min(timeit.repeat(function, number=number, repeat=REPEAT)) / number * 1e6


def report(name: str, measured_us: float, baseline_name: str, baseline_us: float) -> None:
    figure(name, 1e6 / measured_us, "ops/s", baseline=baseline_name, baseline_value=1e6 / baseline_us)
    print(
        f"{name:<34} {measured_us:8.2f} µs  {1e6 / measured_us:>10,.0f} ops/s   "
        f"baseline {baseline_name:<30} {baseline_us:6.2f} µs  {1e6 / baseline_us:>10,.0f} ops/s   "
        f"x{measured_us / baseline_us:.2f}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        key_manager = LocalKeyManager.create(Path(home) / "keys", secrets.token_urlsafe(48).encode())
        vault = Vault(key_manager)
        record = vault.seal("tenant-a", "wb-0", FIELDS)
        names = list(FIELDS)

        raw_key = AESGCM(AESGCM.generate_key(256))
        encoded = {name: value.encode() for name, value in FIELDS.items()}
        associated = {name: f"tenant-a|wb-0|{name}".encode() for name in FIELDS}

        def raw_encrypt() -> dict[str, bytes]:
            sealed = {}
            for name, value in encoded.items():
                nonce = os.urandom(12)
                sealed[name] = nonce + raw_key.encrypt(nonce, value, associated[name])
            return sealed

        raw_sealed = raw_encrypt()

        def raw_decrypt() -> dict[str, str]:
            return {
                name: raw_key.decrypt(blob[:12], blob[12:], associated[name]).decode()
                for name, blob in raw_sealed.items()
            }

        number = sized(20_000, 200)
        print(f"8-field waybill, {sum(map(len, encoded.values()))} plaintext bytes; best of {REPEAT}")
        report(
            "vault.seal (8 fields)",
            per_call_us(lambda: vault.seal("tenant-a", "wb-1", FIELDS), number),
            "raw AESGCM encrypt x8",
            per_call_us(raw_encrypt, number),
        )
        report(
            "vault.open (8 fields)",
            per_call_us(lambda: vault.open("tenant-a", "wb-0", record, names), number),
            "raw AESGCM decrypt x8",
            per_call_us(raw_decrypt, number),
        )
        report(
            "vault.open (1 field: phone)",
            per_call_us(
                lambda: vault.open("tenant-a", "wb-0", record, ["recipient_phone"]),
                number,
            ),
            "raw AESGCM decrypt x1",
            per_call_us(
                lambda: raw_key.decrypt(
                    raw_sealed["recipient_phone"][:12],
                    raw_sealed["recipient_phone"][12:],
                    associated["recipient_phone"],
                ),
                number,
            ),
        )

        indexer = BlindIndexer(key_manager)
        raw_hmac_key = os.urandom(32)
        phone = "+8613800138000"
        number = sized(100_000, 1_000)
        indexer_us = per_call_us(lambda: indexer.index("tenant-a", "phone", phone), number)
        report(
            "BlindIndexer.index (phone)",
            indexer_us,
            "raw hmac.digest sha256",
            per_call_us(lambda: hmac.digest(raw_hmac_key, phone.encode(), "sha256"), number),
        )
        report(
            "BlindIndexer.index (phone)",
            indexer_us,
            "raw hmac.new(...).digest()",
            per_call_us(
                lambda: hmac.new(raw_hmac_key, phone.encode(), hashlib.sha256).digest(),
                number,
            ),
        )


if __name__ == "__main__":
    main()
