"""Label geometry, composition rules and font lookup (no rendering)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from label_support import label_content
from privacy_waybill.errors import FieldError
from privacy_waybill.labels import (
    LabelContent,
    LabelFontMissing,
    LabelFormat,
    LabelSize,
    MaskedParty,
    fonts,
    render_label,
)
from privacy_waybill.labels.compose import (
    CAPTIONS,
    ELLIPSIS,
    Barcode128,
    QrSymbol,
    Text,
    compose,
    wrap,
)
from privacy_waybill.labels.fonts import text_width_mm
from privacy_waybill.labels.layout import LAYOUTS, Zone

SIZES = list(LabelSize)


def _texts(content: LabelContent, size: LabelSize, dpi: int = 203) -> list[Text]:
    return [item for item in compose(content, size, dpi).items if isinstance(item, Text)]


def _extent(text: Text) -> tuple[float, float]:
    width = text_width_mm(text.text, text.size)
    start = {"start": text.x, "middle": text.x - width / 2, "end": text.x - width}[text.anchor]
    return start, start + width


@pytest.mark.parametrize("size", SIZES)
def test_zones_tile_the_label_without_overlapping(size: LabelSize) -> None:
    layout = LAYOUTS[size]
    assert set(layout.zones) == set(Zone)
    rects = list(layout.zones.values())
    for rect in rects:
        assert rect.x >= 0 and rect.y >= 0
        assert rect.right <= layout.width and rect.bottom <= layout.height
    for index, a in enumerate(rects):
        for b in rects[index + 1 :]:
            overlap_x = min(a.right, b.right) - max(a.x, b.x)
            overlap_y = min(a.bottom, b.bottom) - max(a.y, b.y)
            assert overlap_x <= 1e-9 or overlap_y <= 1e-9


@pytest.mark.parametrize("size", SIZES)
def test_every_text_stays_inside_the_label_frame(size: LabelSize) -> None:
    layout = LAYOUTS[size]
    left, right = layout.zones[Zone.HEADER].x, layout.zones[Zone.HEADER].right
    for text in _texts(label_content(), size):
        start, end = _extent(text)
        assert left < start and end < right, text.text


@pytest.mark.parametrize("size", SIZES)
def test_sort_code_is_the_largest_text(size: LabelSize) -> None:
    texts = _texts(label_content(), size)
    sort_code = next(text for text in texts if text.text == "571-A12-03")
    assert sort_code.bold
    assert sort_code.size == max(text.size for text in texts)
    assert sort_code.size >= 9


@pytest.mark.parametrize("size", SIZES)
def test_label_prints_only_captions_and_the_givenlabel_content(size: LabelSize) -> None:
    content = label_content()
    given_values = {
        content.carrier_name,
        content.sort_code,
        content.recipient.name,
        content.recipient.phone,
        content.recipient.address,
        content.sender.name,
        content.sender.phone,
        content.sender.address,
        content.contents,
        "1.25 kg",
        "1",
        "2026-11-23",
        "PW83 9204 7165 0382",
    }
    for text in _texts(content, size):
        assert text.text in CAPTIONS or text.text in given_values, text.text


@pytest.mark.parametrize("dpi", [203, 300])
def test_codes_sit_on_whole_printer_dots(dpi: int) -> None:
    scene = compose(label_content(), LabelSize.ONE_PLY_76X130, dpi)
    codes = [item for item in scene.items if isinstance(item, Barcode128 | QrSymbol)]
    assert len(codes) == 2
    for code in codes:
        for value in (code.x, code.y, code.module):
            assert abs(value * scene.dots_per_mm - round(value * scene.dots_per_mm)) < 1e-9


def test_service_code_prints_its_chinese_name_and_unknown_codes_print_as_given() -> None:
    assert "标准快递" in {text.text for text in _texts(label_content(), LabelSize.STANDARD_100X180)}
    assert "冷链" in {text.text for text in _texts(label_content(service="冷链"), LabelSize.STANDARD_100X180)}


def test_missing_weight_leaves_the_weight_row_out() -> None:
    texts = {text.text for text in _texts(label_content(weight_g=None), LabelSize.STANDARD_100X180)}
    assert "重量：" not in texts


def test_long_address_wraps_inside_its_zone_and_is_cut_rather_than_overflowing() -> None:
    address = "新疆维吾尔自治区伊犁哈萨克自治州霍尔果斯市卡拉苏河镇" * 8
    size = LabelSize.ONE_PLY_76X130
    zone = LAYOUTS[size].zones[Zone.RECIPIENT]
    texts = _texts(label_content(recipient=MaskedParty("张**", "*******5678", address)), size)
    lines = [text for text in texts if text.text and text.text[0] in address and zone.y < text.baseline < zone.bottom]
    address_lines = [line for line in lines if line.text not in {"张**", "收"}]
    assert len(address_lines) >= 2
    assert address_lines[-1].text.endswith(ELLIPSIS)
    assert all(line.baseline < zone.bottom for line in address_lines)
    assert "".join(line.text for line in address_lines).rstrip(ELLIPSIS) in address


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("浙江省杭州市路街道*0123456789ABCdef·-"), min_size=1, max_size=80),
    width=st.floats(min_value=8, max_value=90),
)
def test_wrap_keeps_every_character_in_order_and_lines_within_width(text: str, width: float) -> None:
    lines = wrap(text, 3.0, width)
    assert "".join(lines) == text
    assert all(len(line) == 1 or text_width_mm(line, 3.0) <= width + 1e-9 for line in lines)


@pytest.mark.parametrize("waybill_no", ["PW 123456", "../../etc/passwd", "单号12345", "PW1"])
def test_waybill_numbers_that_cannot_name_a_file_or_a_barcode_are_refused(waybill_no: str) -> None:
    with pytest.raises(FieldError) as caught:
        compose(label_content(waybill_no=waybill_no), LabelSize.STANDARD_100X180, 203)
    assert caught.value.field == "waybill_no"
    assert waybill_no not in str(caught.value)


def test_unsupported_dpi_is_a_field_error() -> None:
    with pytest.raises(FieldError) as caught:
        render_label(label_content(), LabelFormat.ZPL, dpi=600)
    assert caught.value.field == "dpi"


def test_font_setting_takes_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    link = tmp_path / "label-font.ttc"
    link.symlink_to(fonts.DEBIAN_FONT_PATH)
    monkeypatch.setenv(fonts.FONT_ENV_VAR, str(link))
    assert fonts.font_path() == link


def test_font_setting_naming_no_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(fonts.FONT_ENV_VAR, str(tmp_path / "missing.ttf"))
    with pytest.raises(LabelFontMissing, match=fonts.FONT_ENV_VAR):
        render_label(label_content(), LabelFormat.PDF)


def test_missing_font_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(fonts.FONT_ENV_VAR, raising=False)
    monkeypatch.setattr(fonts, "DEBIAN_FONT_PATH", tmp_path / "absent.ttc")
    with pytest.raises(LabelFontMissing, match="fonts-wqy-zenhei") as caught:
        render_label(label_content(), LabelFormat.ZPL)
    assert "make install" in str(caught.value)
