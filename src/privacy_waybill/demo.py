"""Realistic synthetic orders: Faker's zh_CN names and phones, addresses from the official divisions.

Deterministic for a seed, so seeding the demo twice replays the same orders (idempotent).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from faker import Faker

from privacy_waybill.addresses.generate import generate_address

_ITEMS = (
    "纯棉T恤",
    "运动鞋",
    "蓝牙耳机",
    "手机壳",
    "坚果礼盒",
    "绿茶",
    "洗发水",
    "保温杯",
    "小说",
    "口红",
    "婴儿湿巾",
    "电饭煲",
)
_REMARKS = (None, None, None, "工作日送货", "放快递柜", "请电话联系13900001111再送", "周末不在家")


def demo_orders(count: int, seed: int = 2024, prefix: str = "DEMO") -> Iterator[dict[str, object]]:
    """`count` orders as plain dicts in the intake format (what a merchant would post)."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    for n in range(1, count + 1):
        items = rng.sample(_ITEMS, k=rng.randint(1, 3))
        order: dict[str, object] = {
            "order_id": f"{prefix}-{n:06d}",
            "recipient": {"name": fake.name(), "phone": fake.phone_number(), "address": generate_address(rng).text},
            "sender": {"name": fake.name(), "phone": fake.phone_number(), "address": generate_address(rng).text},
            "items": [{"name": name, "quantity": rng.randint(1, 3)} for name in items],
            "weight_g": rng.randint(80, 8000),
            "service": rng.choice(("standard", "standard", "express", "economy")),
        }
        remark = rng.choice(_REMARKS)
        if remark:
            order["remark"] = remark
        yield order
