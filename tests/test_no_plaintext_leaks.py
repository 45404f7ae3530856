"""Nothing readable is left behind: not in the database file, the logs, the output or a label.

Runs the real `pwb` command like an operator would, then searches every byte it left for
every personal value it was given.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from cli_support import flat_csv_row, json_lines, run_pwb, write_csv, write_jsonl
from leak_check import LeakFinder, masked_texts, not_public, personal_values
from privacy_waybill.demo import demo_orders


def stored_files(home: Path) -> list[Path]:
    """The database (with its WAL and shared-memory files), logs and key files."""
    return [p for p in home.rglob("*") if p.is_file()]


def pdf_text(path: Path) -> str:
    pdf = pypdfium2.PdfDocument(path)
    try:
        return "".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


def test_issuance_leaves_no_personal_data_in_database_logs_output_or_labels(tmp_path: Path) -> None:
    home = tmp_path / "home"
    orders = list(demo_orders(300, seed=99, prefix="LEAK"))
    orders[0]["remark"] = "到了打13912345678，我住文一西路969号西溪花园3幢"
    values = [*(v for o in orders for v in personal_values(o)), "13912345678", "西溪花园3幢"]
    orders[1]["recipient"]["phone"] = "1390000"  # a rejected record must not echo its values either
    source = write_jsonl(tmp_path / "orders.jsonl", orders)

    assert run_pwb(home, "init").returncode == 0
    pdf = run_pwb(home, "issue", str(source), "--labels", str(tmp_path / "pdf"), "--format", "pdf")
    zpl = run_pwb(home, "issue", str(source), "--labels", str(tmp_path / "zpl"), "--format", "zpl", "--size", "76x130")
    assert pdf.returncode == zpl.returncode == 1  # one record rejected
    assert len(list((tmp_path / "pdf").glob("*.pdf"))) == len(list((tmp_path / "zpl").glob("*.zpl"))) == 299
    finder = LeakFinder(not_public(values, masked_texts(json_lines(pdf.stdout))))
    assert len(finder.found_in(json.dumps(orders[5], ensure_ascii=False))) >= 4  # the search itself works

    assert finder.found_in_files(stored_files(home)) == {}
    assert finder.found_in(pdf.stdout + pdf.stderr + zpl.stdout + zpl.stderr) == set()
    assert "1390000" not in pdf.stdout + zpl.stdout
    assert finder.found_in_files((tmp_path / "zpl").glob("*.zpl")) == {}
    label_texts = {p.name: pdf_text(p) for p in (tmp_path / "pdf").glob("*.pdf")}
    assert {name: hits for name, text in label_texts.items() if (hits := finder.found_in(text))} == {}
    # The masked views are there: the labels are not blank.
    first = json_lines(pdf.stdout)[0]
    assert first["masked"]["recipient"]["name"] in label_texts[f"{first['waybill_no']}.pdf"]
    assert (home / "logs" / "pwb.log").stat().st_size > 0


def _decode_waybill_numbers(paths: list[str]) -> list[str | None]:
    numbers = []
    for path in paths:
        image = Image.open(path)
        # The Code 128 zone is at the top of every layout; reading only that quarter is 6x faster.
        top = image.crop((0, 0, image.width, image.height // 4))
        found = zxingcpp.read_barcodes(top, formats=zxingcpp.BarcodeFormat.Code128)
        numbers.append(found[0].text if found else None)
    return numbers


@pytest.mark.slow
def test_ten_thousand_orders_make_ten_thousand_readable_labels_and_leak_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    orders = list(demo_orders(10_000, seed=10_000, prefix="BULK"))
    source = write_csv(tmp_path / "orders.csv", [flat_csv_row(o) for o in orders])

    assert run_pwb(home, "init").returncode == 0
    result = run_pwb(home, "issue", str(source), "--labels", str(tmp_path / "labels"), "--format", "png", timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    issued = {line["waybill_no"] for line in json_lines(result.stdout)}
    assert len(issued) == 10_000

    labels = sorted(str(p) for p in (tmp_path / "labels").glob("*.png"))
    assert len(labels) == 10_000
    chunks = [labels[i : i + 500] for i in range(0, len(labels), 500)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        decoded = [n for chunk in pool.map(_decode_waybill_numbers, chunks) for n in chunk]
    assert {Path(p).stem for p in labels} == issued
    assert [Path(p).stem for p in labels] == decoded

    finder = LeakFinder(
        not_public((v for o in orders for v in personal_values(o)), masked_texts(json_lines(result.stdout)))
    )
    assert finder.found_in_files(stored_files(home)) == {}
    assert finder.found_in(result.stdout + result.stderr) == set()
