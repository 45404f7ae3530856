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


# The demo's walkthrough station: route 13 of station HZ10 (文一西路, 余杭区) under hub 571 in
# the shipped routing table, three compounds along it.
DEMO_HUB = "571"
DEMO_STATION = "HZ10"
DEMO_ROUTE = "13"
_COMPOUNDS = (("969号", "西溪园区"), ("998号", "海创园"), ("1818号", "未来科技城"))
_BUILDING_SPELLINGS = ("{n}号楼", "{n}幢", "{n}栋")
_ROUTE_REMARKS = (None, "放{compound}门卫，找{surname}先生", "工作日送货", "到了打电话")
# The route's recipients have the numbers 13900130001 and up, so a visitor of the demo can sign
# in to the recipient portal as one of them (the code arrives in the simulated outbox).
ROUTE_PHONE_BASE = 13900130000


def route_phone(n: int) -> str:
    return str(ROUTE_PHONE_BASE + n)


def route_orders(count: int) -> Iterator[dict[str, object]]:
    """`count` orders to buildings on one courier route (2 parcels a building, each building
    written several ways), deterministic, so seeding them twice replays the same orders."""
    fake = Faker("zh_CN")
    fake.seed_instance(13)
    for n in range(1, count + 1):
        number, compound = _COMPOUNDS[(n - 1) // 8 % len(_COMPOUNDS)]
        building = (n - 1) // 2 % 4 + 1
        spelled = _BUILDING_SPELLINGS[n % len(_BUILDING_SPELLINGS)].format(n=building)
        name = fake.name()
        order: dict[str, object] = {
            "order_id": f"DEMO-R{DEMO_ROUTE}-{n:03d}",
            "recipient": {
                "name": name,
                "phone": route_phone(n),
                "address": f"浙江省杭州市余杭区五常街道文一西路{number}{compound}{spelled}{n % 3 + 1}单元{n % 9 + 1}0{n % 4 + 1}室",
            },
            "sender": {"name": "杭州小店", "phone": "13512345678", "address": "浙江省杭州市西湖区文三路90号"},
            "items": [{"name": _ITEMS[n % len(_ITEMS)], "quantity": 1}],
            "weight_g": 300 + 40 * n,
            "service": "standard",
        }
        remark = _ROUTE_REMARKS[n % len(_ROUTE_REMARKS)]
        if remark:
            order["remark"] = remark.format(compound=compound, surname=name[0])
        yield order
