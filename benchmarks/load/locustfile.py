"""Locust scenario: couriers scanning and revealing, station clerks checking parcels in,
recipients tracking, merchants issuing, against one seeded `pwb serve`.

Run through benchmarks/load/run_load.py, which starts and seeds the server and hands the
accounts over in the JSON file named by PWB_LOAD_SEED. Each role is one User class; a new
role (delivery-point hand-over, lockers, risk review) is one more class with its own
`weight` and tasks, reading its accounts from the same seed file.
Reveals are paced under the courier's hourly quota: a refused reveal would be a correct
answer, but it would hide real errors in the error count.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import time
import uuid
from pathlib import Path

from locust import HttpUser, between, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from load_support import API, Seed  # noqa: E402

SEED = Seed.load(Path(os.environ["PWB_LOAD_SEED"]))
REVEAL_EVERY_S = 61.0  # courier_reveal allows 60 per hour
_couriers = itertools.cycle(SEED.couriers)
_clerks = itertools.cycle(SEED.clerks)
_order_numbers = itertools.count(1)
_run = uuid.uuid4().hex[:6]

RECIPIENT = "浙江省杭州市余杭区五常街道文一西路969号西溪园区5号楼3单元1201室"
SENDER = "北京市海淀区中关村街道中关村大街27号华芯大厦8层806室"


def new_order() -> dict[str, object]:
    return {
        "order_id": f"LOAD-{_run}-{next(_order_numbers):07d}",
        "recipient": {"name": "欧阳震华", "phone": "13812345678", "address": RECIPIENT},
        "sender": {"name": "司马翊瑄", "phone": "13987654321", "address": SENDER},
        "items": [{"name": "图书", "quantity": random.randint(1, 3)}],
        "weight_g": random.randint(100, 5000),
    }


class Courier(HttpUser):
    """Scans the parcels assigned to them; reveals an address now and then."""

    weight = 4
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.account = next(_couriers)
        self.last_reveal = time.monotonic() - random.uniform(0, REVEAL_EVERY_S)

    @task(5)
    def scan(self) -> None:
        waybill = random.choice(self.account.waybills)
        self.client.get(f"{API}/waybills/{waybill}", headers=self.account.headers, name="courier scan")

    @task(1)
    def reveal(self) -> None:
        if time.monotonic() - self.last_reveal < REVEAL_EVERY_S:
            return
        self.last_reveal = time.monotonic()
        waybill = random.choice(self.account.waybills)
        self.client.post(
            f"{API}/waybills/{waybill}/reveal",
            json={"purpose": "deliver"},
            headers=self.account.headers,
            name="courier reveal",
        )


class StationClerk(HttpUser):
    """Checks arriving parcels in, then looks them up at the counter."""

    weight = 2
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.account = next(_clerks)
        self.checked_in: list[str] = []

    @task
    def check_in_or_look_up(self) -> None:
        if self.account.waybills:
            waybill = self.account.waybills.pop()
            response = self.client.post(
                f"{API}/waybills/{waybill}/events",
                json={"status": "at_station"},
                headers=self.account.headers,
                name="station check-in",
            )
            if response.status_code == 200:
                self.checked_in.append(waybill)
        elif self.checked_in:
            waybill = random.choice(self.checked_in)
            self.client.get(f"{API}/waybills/{waybill}", headers=self.account.headers, name="station look-up")


class Recipient(HttpUser):
    """Follows a parcel by the token in its QR code."""

    weight = 3
    wait_time = between(1, 3)

    @task
    def track(self) -> None:
        token = random.choice(SEED.tracking_tokens)
        self.client.get(f"{API}/tracking/{token}", name="recipient tracking")


class Merchant(HttpUser):
    """Issues single orders and small batches with its API key."""

    weight = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {SEED.merchant_key}"}

    @task(4)
    def issue_one(self) -> None:
        self.client.post(f"{API}/orders", json=new_order(), headers=self.headers, name="merchant order")

    @task(1)
    def issue_batch(self) -> None:
        self.client.post(
            f"{API}/orders/batch",
            json={"orders": [new_order() for _ in range(20)]},
            headers=self.headers,
            name="merchant batch of 20",
        )
