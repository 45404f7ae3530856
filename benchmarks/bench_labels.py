"""Labels per second for each format and size, next to trivial reportlab pages from the same run.

Run: .venv/bin/python benchmarks/bench_labels.py [labels_per_case]
The baselines are a blank page with one Helvetica string (nothing embedded) and the same page
with one string in the embedded CJK font, so the figures show what the label itself costs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from io import BytesIO

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from privacy_waybill.labels import LabelContent, LabelFormat, LabelSize, MaskedParty, render_labels
from privacy_waybill.labels.fonts import pdf_font
from report import figure, sized

DEFAULT_LABELS_PER_CASE = sized(150, 3)


def sample_contents(count: int) -> list[LabelContent]:
    return [
        LabelContent(
            waybill_no=f"PW{83920471650000 + index * 7919:014d}",
            sort_code=f"{571 + index % 9}-A{index % 90 + 10}-{index % 40:02d}",
            recipient=MaskedParty("张**", f"*******{index % 10000:04d}", "浙江省杭州市余杭区五常街道文一西路****"),
            sender=MaskedParty("欧阳*", "*******1234", "广东省深圳市南山区粤海街道科技南十二路****"),
            contents="日用品",
            qr_payload=f"https://pwb.example.cn/t/{index:08x}9fQ2xK7mLw3ZpR8vT1aB6cD4",
            issued_on=date(2026, 11, 1) + timedelta(days=index % 28),
            weight_g=500 + index,
        )
        for index in range(count)
    ]


def blank_page(font: str, text: str) -> bytes:
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(100 * mm, 180 * mm), invariant=True)
    canvas.setFont(font, 12)
    canvas.drawString(20, 400, text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def per_second(produce: Callable[[], Iterable[bytes]], count: int) -> tuple[float, int]:
    started = time.perf_counter()
    total_bytes = sum(len(data) for data in produce())
    elapsed = time.perf_counter() - started
    return count / elapsed, total_bytes // count


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_LABELS_PER_CASE
    contents = sample_contents(count)
    cjk_font = pdf_font()
    # One throw-away label so font loading is not charged to the first case.
    next(render_labels(contents[:1], LabelFormat.PDF))

    cases: list[tuple[str, Callable[[], Iterable[bytes]]]] = [
        (
            "baseline: blank PDF, one Helvetica string",
            lambda: (blank_page("Helvetica", "PW83920471650382") for _ in contents),
        ),
        (
            "baseline: blank PDF, one embedded CJK string",
            lambda: (blank_page(cjk_font, "隐私面单速运") for _ in contents),
        ),
    ]
    for size in (LabelSize.ONE_PLY_76X130, LabelSize.STANDARD_100X180):
        for fmt, dpi in (
            (LabelFormat.PDF, 203),
            (LabelFormat.PNG, 203),
            (LabelFormat.PNG, 300),
            (LabelFormat.ZPL, 203),
            (LabelFormat.ZPL, 300),
        ):
            name = f"{size.value} {fmt.value.upper()}" + ("" if fmt is LabelFormat.PDF else f" {dpi} dpi")
            cases.append((name, lambda fmt=fmt, size=size, dpi=dpi: render_labels(contents, fmt, size, dpi)))

    print(f"labels per case: {count} (one process, one core)")
    print(f"{'case':<46} {'labels/s':>10} {'ms/label':>10} {'bytes/label':>12}")
    baseline_rate = 0.0
    for name, produce in cases:
        rate, size_bytes = per_second(produce, count)
        print(f"{name:<46} {rate:>10.1f} {1000 / rate:>10.2f} {size_bytes:>12}")
        if name.startswith("baseline: blank PDF, one embedded CJK"):
            baseline_rate = rate
        elif not name.startswith("baseline"):
            figure(
                f"labels {name}",
                rate,
                "labels/s",
                baseline="blank PDF, one embedded CJK string",
                baseline_value=baseline_rate,
            )


if __name__ == "__main__":
    main()
