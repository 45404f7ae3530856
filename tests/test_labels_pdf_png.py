"""PDF and PNG labels: embedded font, exact text, and codes a real barcode reader decodes."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from label_support import label_content
from privacy_waybill.labels import (
    LabelContent,
    LabelFormat,
    LabelSize,
    MaskedParty,
    render_label,
    render_labels,
    write_labels,
)

SIZES = list(LabelSize)
DPIS = [203, 300]


def _expected_text(content: LabelContent) -> str:
    """Everything the label should print, in drawing order, whitespace removed."""
    parts = [
        content.carrier_name,
        "标准快递",
        content.waybill_no,
        content.sort_code,
        "收",
        content.recipient.name,
        content.recipient.phone,
        content.recipient.address,
        "寄",
        content.sender.name,
        content.sender.phone,
        content.sender.address,
        "内件：",
        content.contents,
        *(["重量：", f"{content.weight_g / 1000:.2f}kg"] if content.weight_g is not None else []),
        "件数：",
        str(content.pieces),
        "日期：",
        content.issued_on.isoformat(),
        "签收人：",
        "签收时间：",
        "隐私面单：收寄件人信息已加密保护",
    ]
    return "".join(parts)


def _pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return re.sub(r"\s+", "", document[0].get_textpage().get_text_range())
    finally:
        document.close()


def _decoded(png: bytes) -> dict[str, str]:
    results = zxingcpp.read_barcodes(Image.open(BytesIO(png)))
    return {result.format.name: result.text for result in results}


@pytest.mark.parametrize("size", SIZES)
def test_pdf_embeds_its_font_and_is_one_page_of_the_label_size(size: LabelSize) -> None:
    pdf = render_label(label_content(), LabelFormat.PDF, size)
    assert pdf.startswith(b"%PDF")
    assert b"/FontFile2" in pdf
    document = pypdfium2.PdfDocument(pdf)
    try:
        assert len(document) == 1
        width_pt, height_pt = document[0].get_size()
    finally:
        document.close()
    width_mm, height_mm = size.millimetres
    assert width_pt == pytest.approx(width_mm * 72 / 25.4, abs=0.01)
    assert height_pt == pytest.approx(height_mm * 72 / 25.4, abs=0.01)


@pytest.mark.parametrize("size", SIZES)
def test_pdf_text_is_exactly_the_masked_content_and_the_captions(size: LabelSize) -> None:
    content = label_content()
    assert _pdf_text(render_label(content, LabelFormat.PDF, size)) == _expected_text(content)


masked_chars = st.sampled_from("张王李欧阳司马浙江杭州余杭区街道路镇村乡*·")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(masked_chars, min_size=1, max_size=6),
    phone=st.from_regex(r"\*{7}[0-9]{4}", fullmatch=True),
    address=st.text(masked_chars, min_size=1, max_size=40),
    sort_code=st.from_regex(r"[0-9]{3}-[A-Z][0-9]{2}-[0-9]{2}", fullmatch=True),
    weight_g=st.none() | st.integers(min_value=1, max_value=99_999),
    size=st.sampled_from(SIZES),
)
def test_pdf_never_prints_more_than_it_was_given(
    name: str, phone: str, address: str, sort_code: str, weight_g: int | None, size: LabelSize
) -> None:
    content = label_content(
        recipient=MaskedParty(name, phone, address),
        sender=MaskedParty(name, phone, address),
        sort_code=sort_code,
        weight_g=weight_g,
    )
    assert _pdf_text(render_label(content, LabelFormat.PDF, size)) == _expected_text(content)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dpi", DPIS)
def test_png_is_bilevel_at_printer_resolution_and_its_codes_decode(size: LabelSize, dpi: int) -> None:
    content = label_content()
    png = render_label(content, LabelFormat.PNG, size, dpi)
    image = Image.open(BytesIO(png))
    dots_per_mm = {203: 8, 300: 12}[dpi]
    width_mm, height_mm = size.millimetres
    assert image.mode == "1"
    assert image.size == (width_mm * dots_per_mm, height_mm * dots_per_mm)
    assert round(image.info["dpi"][0]) == dpi
    assert _decoded(png) == {"Code128": content.waybill_no, "QRCode": content.qr_payload}


def test_long_waybill_number_and_payload_still_decode_on_the_small_label() -> None:
    content = label_content(
        waybill_no="PWX-20261123-83920471650382",
        qr_payload="https://pwb.example.cn/t/" + "9fQ2xK7mLw3ZpR8vT1aB6cD4eF0gH5jN" * 3 + "?sig=~^_\\",
    )
    png = render_label(content, LabelFormat.PNG, LabelSize.ONE_PLY_76X130, 203)
    assert _decoded(png) == {"Code128": content.waybill_no, "QRCode": content.qr_payload}


def test_batch_renders_each_label_in_input_order() -> None:
    contents = [label_content(waybill_no=f"PW8392047165{index:04d}") for index in range(3)]
    texts = [_pdf_text(pdf) for pdf in render_labels(contents, LabelFormat.PDF, LabelSize.ONE_PLY_76X130)]
    assert [content.waybill_no in text for content, text in zip(contents, texts, strict=True)] == [True] * 3


def test_write_labels_names_each_file_after_its_waybill_number(tmp_path: Path) -> None:
    contents = [label_content(waybill_no=f"PW8392047165{index:04d}") for index in range(2)]
    written = list(write_labels(contents, tmp_path / "labels", LabelFormat.PNG, LabelSize.ONE_PLY_76X130))
    assert [path.name for path in written] == ["PW83920471650000.png", "PW83920471650001.png"]
    assert _decoded(written[1].read_bytes())["Code128"] == "PW83920471650001"
