"""ZPL II labels: structure, barcode data, and ^GFA graphic fields that decode and verify."""

from __future__ import annotations

import base64
import binascii
import re
import zlib

import pytest
from PIL import Image

from label_support import label_content
from privacy_waybill.labels import LabelContent, LabelFormat, LabelSize, render_label
from privacy_waybill.labels.compose import Text, compose
from privacy_waybill.labels.zpl import field_data

SIZES = list(LabelSize)
DPIS = [203, 300]
GRAPHIC_FIELD = re.compile(r"\^GFA,(\d+),(\d+),(\d+),:Z64:([A-Za-z0-9+/=]+):([0-9A-F]{4})\^FS")


def _zpl(content: LabelContent, size: LabelSize = LabelSize.STANDARD_100X180, dpi: int = 203) -> str:
    return render_label(content, LabelFormat.ZPL, size, dpi).decode("ascii")


def _unescaped(field: str) -> str:
    return re.sub(r"\\([0-9A-F]{2})", lambda match: chr(int(match.group(1), 16)), field)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dpi", DPIS)
def test_one_format_sized_for_the_stock_and_print_head(size: LabelSize, dpi: int) -> None:
    zpl = _zpl(label_content(), size, dpi)
    dots_per_mm = {203: 8, 300: 12}[dpi]
    width_mm, height_mm = size.millimetres
    assert zpl.startswith("^XA\n") and zpl.endswith("^XZ\n")
    assert zpl.count("^XA") == zpl.count("^XZ") == 1
    assert f"^PW{width_mm * dots_per_mm}\n" in zpl
    assert f"^LL{height_mm * dots_per_mm}\n" in zpl
    assert zpl.count("^FO") == zpl.count("^FS")
    assert "^GB" in zpl


def test_barcode_and_qr_fields_carry_the_number_and_the_payload() -> None:
    content = label_content()
    zpl = _zpl(content)
    (barcode,) = re.findall(r"\^BCN,\d+,N,N,N,A\^FH\\\^FD(.*?)\^FS", zpl)
    (qr,) = re.findall(r"\^BY1,3,10\^BQN,2,\d+\^FH\\\^FDMA,(.*?)\^FS", zpl)
    assert _unescaped(barcode) == content.waybill_no
    assert _unescaped(qr) == content.qr_payload


def test_reserved_characters_in_field_data_are_hex_escaped() -> None:
    payload = "https://pwb.example.cn/t/a~b^c\\d_e"
    assert field_data(payload) == "https://pwb.example.cn/t/a\\7Eb\\5Ec\\5Cd_e"
    zpl = _zpl(label_content(qr_payload=payload))
    (qr,) = re.findall(r"\^FDMA,(.*?)\^FS", zpl)
    assert "^" not in qr and "~" not in qr
    assert _unescaped(qr) == payload


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dpi", DPIS)
def test_every_graphic_field_decodes_to_its_declared_size_and_crc(size: LabelSize, dpi: int) -> None:
    content = label_content()
    zpl = _zpl(content, size, dpi)
    fields = GRAPHIC_FIELD.findall(zpl)
    texts = [item for item in compose(content, size, dpi).items if isinstance(item, Text)]
    assert len(fields) == len(texts) == zpl.count("^GFA")
    for total, field_count, row_bytes, encoded, crc in fields:
        assert binascii.crc_hqx(encoded.encode("ascii"), 0) == int(crc, 16)
        bitmap = zlib.decompress(base64.b64decode(encoded, validate=True))
        assert len(bitmap) == int(total) == int(field_count)
        assert len(bitmap) % int(row_bytes) == 0
        assert any(bitmap), "a text field with no ink"


def test_sort_code_field_is_the_tallest_text() -> None:
    zpl = _zpl(label_content())
    heights = [int(total) // int(row_bytes) for total, _, row_bytes, _, _ in GRAPHIC_FIELD.findall(zpl)]
    sort_code_height = max(heights)
    # 13 mm type at 8 dots/mm: the digits alone stand about 70 dots tall.
    assert sort_code_height >= 70


def test_graphic_fields_mark_ink_with_one_bits() -> None:
    """ZPL prints 1 bits black: text must be sparse ones on zeros, not an inverted block."""
    for total, _, row_bytes, encoded, _ in GRAPHIC_FIELD.findall(_zpl(label_content())):
        bitmap = zlib.decompress(base64.b64decode(encoded))
        image = Image.frombytes("1", (int(row_bytes) * 8, int(total) // int(row_bytes)), bitmap)
        ink = image.histogram()[255]
        assert 0 < ink < image.width * image.height / 2


def test_zpl_is_plain_ascii_with_no_text_outside_graphic_fields() -> None:
    content = label_content()
    zpl = _zpl(content)
    without_graphics = GRAPHIC_FIELD.sub("", zpl)
    for value in (content.recipient.name, content.recipient.address, content.sort_code, content.contents):
        assert value not in without_graphics
