"""ZPL read the way a printer reads it: rendered by an independent renderer, then scanned.

zpl-renderer-js (npm, a WebAssembly build of zebrash, which follows Zebra firmware) renders
every layout's ZPL; zxing-cpp decodes the Code 128 and the QR code from that render and from
the PNG of the same label, and each code must sit within 1 mm of where the PNG draws it.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from label_support import label_content
from privacy_waybill.labels import LabelFormat, LabelSize, render_label
from privacy_waybill.labels.layout import dots_per_mm

REPO = Path(__file__).resolve().parents[1]
RENDER_SCRIPT = REPO / "scripts" / "render-zpl.mjs"
TOLERANCE_MM = 1.0


def rendered_zpl(zpl: bytes, size: LabelSize, dpm: int) -> Image.Image:
    width_mm, height_mm = size.millimetres
    result = subprocess.run(
        ["node", str(RENDER_SCRIPT), str(width_mm), str(height_mm), str(dpm)],
        input=zpl,
        capture_output=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    return Image.open(io.BytesIO(result.stdout))


def codes(image: Image.Image) -> dict[str, tuple[str, tuple[int, int, int, int]]]:
    """Format name -> (decoded text, (left, top, right, bottom) in dots)."""
    found = {}
    for code in zxingcpp.read_barcodes(image, formats=(zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.QRCode)):
        position = code.position
        corners = [position.top_left, position.top_right, position.bottom_right, position.bottom_left]
        xs, ys = [p.x for p in corners], [p.y for p in corners]
        found[code.format.name] = (code.text, (min(xs), min(ys), max(xs), max(ys)))
    return found


@pytest.mark.parametrize("size", list(LabelSize))
@pytest.mark.parametrize("dpi", [203, 300])
def test_a_printer_puts_both_codes_where_the_png_shows_them(size: LabelSize, dpi: int) -> None:
    content = label_content()
    dpm = dots_per_mm(dpi)
    printed = codes(rendered_zpl(render_label(content, LabelFormat.ZPL, size, dpi), size, dpm))
    shown = codes(Image.open(io.BytesIO(render_label(content, LabelFormat.PNG, size, dpi))))

    assert {name: text for name, (text, _box) in printed.items()} == {
        "Code128": content.waybill_no,
        "QRCode": content.qr_payload,
    }
    assert {name: text for name, (text, _box) in shown.items()} == {
        name: text for name, (text, _box) in printed.items()
    }
    for name, (_text, box) in printed.items():
        offsets_mm = [abs(a - b) / dpm for a, b in zip(box, shown[name][1], strict=True)]
        assert max(offsets_mm) <= TOLERANCE_MM, f"{name} is {max(offsets_mm):.2f} mm off on {size.value} at {dpi} dpi"
