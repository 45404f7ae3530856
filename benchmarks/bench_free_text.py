"""Remarks with labelled names and places: how many stay readable, and how many instructions survive.

The baseline is the scrubber remarks went through before (`scrub_free_text`: phones, IDs,
e-mails, numbered addresses); the allow-list (`display_text`) is measured on the same
sentences. Names come from Faker's zh_CN names, places from compounds, shops and landmarks
people write without a number. A sentence "leaks" when any of its labelled values is still in
the stored text. "Instructions kept" counts sentences made only of recognised instructions
whose display text hides nothing.
Run: .venv/bin/python benchmarks/bench_free_text.py [--count N]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from faker import Faker

from privacy_waybill.masking.free_text import DELIVERY_INSTRUCTIONS, display_text, load_vocabulary
from privacy_waybill.masking.scrub import scrub_free_text
from report import figure, sized

PLACES = (
    "西溪花园", "紫金港科技城", "银泰城", "万达广场", "龙湖天街", "星巴克", "菜市场门口的水果店", "老槐树下",
    "云栖小镇", "蓝鲸健身房", "北门保安亭", "阳光幼儿园", "人民医院", "图书馆", "地铁站B口", "小区东门",
)  # fmt: skip
TEMPLATES = (
    "{name}本人不在家，交给她丈夫{other}",
    "放门口，{place}旁边",
    "送到{place}交给{name}",
    "{name}收，放快递柜",
    "工作日派送，找{other}签收",
    "到了打电话给{name}",
    "放{place}，{name}会去拿",
    "请交给{place}的{other}",
    "易碎，{name}的礼物",
    "周末送到{place}，联系{name}",
)
INSTRUCTION_ONLY = (
    "放门口", "请放快递柜，谢谢", "家里没人的话放驿站", "送货前打电话", "工作日送货", "易碎 轻拿轻放",
    "不要放快递柜", "周末送", "到了打电话，放门口就行", "急件，尽快送", "放物业", "本人签收",
)  # fmt: skip


def labelled_sentences(count: int, seed: int = 6) -> list[tuple[str, tuple[str, ...]]]:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        name, other, place = fake.name(), fake.name(), rng.choice(PLACES)
        template = rng.choice(TEMPLATES)
        values = tuple(v for key, v in (("name", name), ("other", other), ("place", place)) if f"{{{key}}}" in template)
        sentences.append((template.format(name=name, other=other, place=place), values))
    return sentences


def leaks(shown: Callable[[str], str], sentences: list[tuple[str, tuple[str, ...]]]) -> int:
    return sum(any(value in shown(text) for value in values) for text, values in sentences)


def rate(work: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=sized(2000, 100))
    args = parser.parse_args()
    sentences = labelled_sentences(args.count)
    vocabulary = load_vocabulary(DELIVERY_INSTRUCTIONS)

    def allow_list(text: str) -> str:
        return display_text(text, vocabulary)

    texts = [text for text, _ in sentences]
    print(
        f"{len(sentences):,} remarks with labelled names and places; {len(INSTRUCTION_ONLY)} instruction-only remarks"
    )
    print(f"  {'':<40} {'names/places readable':>22} {'instructions kept':>18} {'remarks/s':>12}")
    measured = {}
    for label, shown in (("baseline: scrub_free_text", scrub_free_text), ("display_text (allow-list)", allow_list)):
        readable = leaks(shown, sentences)
        kept = sum(shown(r) != "" and "[已隐藏]" not in shown(r) for r in INSTRUCTION_ONLY)
        speed = rate(lambda shown=shown: [shown(t) for t in texts], len(texts))
        measured[label] = (readable, speed)
        print(
            f"  {label:<40} {readable:>10,} of {len(sentences):<9,} {kept:>6} of {len(INSTRUCTION_ONLY):<9}"
            f" {speed:>12,.0f}"
        )
    (scrub_readable, scrub_speed), (shown_readable, shown_speed) = measured.values()
    figure("free text shown (allow-list), remarks", shown_speed, "remarks/s",
           baseline="scrub_free_text (detector)", baseline_value=scrub_speed)  # fmt: skip
    figure(f"free text: remarks still showing a name or place, of {len(sentences):,}", shown_readable, "remarks",
           baseline="scrub_free_text (detector)", baseline_value=scrub_readable, higher_is_better=False)  # fmt: skip


if __name__ == "__main__":
    main()
