"""Masking throughput: whole parties (name + phone + address) through the shipped policy.

Prints records/s for the standard label profile next to a trivial baseline measured in the
same run (string slicing that keeps the first name character, the last four phone digits
and the first nine address characters), plus each rule alone.
Run: .venv/bin/python benchmarks/bench_masking.py
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from faker import Faker

from privacy_waybill.masking import get_rule, load_masking_policy, scrub_free_text
from privacy_waybill.masking.free_text import display_text
from report import figure, sized

RECORDS = sized(5_000, 100)
ROADS = ["文一西路", "建国路", "科技园路", "文三路", "中山北路", "人民路"]
BASES = [
    "浙江省杭州市余杭区五常街道",
    "北京市朝阳区",
    "广东省深圳市南山区粤海街道",
    "浙江省杭州市西湖区",
    "上海市浦东新区",
    "江苏省南京市鼓楼区",
]


def make_parties(count: int) -> list[tuple[str, str, str]]:
    fake = Faker("zh_CN")
    Faker.seed(7)
    rng = random.Random(7)
    parties = []
    for _ in range(count):
        address = f"{rng.choice(BASES)}{rng.choice(ROADS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}幢{rng.randint(101, 2505)}室"
        parties.append((fake.name(), fake.phone_number(), address))
    return parties


def rate(label: str, work: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    work()
    per_second = count / (time.perf_counter() - started)
    print(f"{label:<46} {per_second:>12,.0f} records/s")
    return per_second


def main() -> None:
    parties = make_parties(RECORDS)
    policy = load_masking_policy()
    policy.mask_party("standard", "label", *parties[0])  # load surname and division data first

    baseline = rate(
        "baseline: string slicing",
        lambda: [(n[:1] + "**", "*******" + p[-4:], a[:9] + "****") for n, p, a in parties],
        RECORDS,
    )
    party_rate = rate(
        "mask_party(standard, label)",
        lambda: [policy.mask_party("standard", "label", n, p, a) for n, p, a in parties],
        RECORDS,
    )
    rate("  keep_surname alone", lambda: [get_rule("keep_surname").apply(n, {}) for n, _, _ in parties], RECORDS)
    rate("  phone_last4 alone", lambda: [get_rule("phone_last4").apply(p, {}) for _, p, _ in parties], RECORDS)
    levels = {"levels": ["province", "city", "district", "town", "road"]}
    rate(
        "  address_allow_list alone",
        lambda: [get_rule("address_allow_list").apply(a, levels) for _, _, a in parties],
        RECORDS,
    )
    remarks = [f"送到{a}，电话{p}，谢谢" for _, p, a in parties[:1000]]
    rate("scrub_free_text (remark with phone+address)", lambda: [scrub_free_text(r) for r in remarks], len(remarks))
    rate("display_text (same remarks, allow-list)", lambda: [display_text(r) for r in remarks], len(remarks))
    instructions = ["家里没人的话放快递柜，谢谢", "易碎 轻拿轻放", "欧阳娜娜本人不在家，交给她丈夫司马光明"] * 333
    rate("display_text (instructions and names)", lambda: [display_text(r) for r in instructions], len(instructions))
    print(f"mask_party is {baseline / party_rate:,.0f}x slower than slicing")
    figure("masking, whole parties", party_rate, "records/s", baseline="string slicing", baseline_value=baseline)


if __name__ == "__main__":
    main()
