"""Rasterise a label PDF into a 1-bit PNG at the print head's own dot pitch.

Thermal printers print each dot black or white, so the PNG is bilevel at exactly 8 or 12 dots
per millimetre; the composition snapped bars and QR modules to that grid, so they stay crisp.
"""

from __future__ import annotations

from io import BytesIO

import pypdfium2

from privacy_waybill.labels.layout import dots_per_mm

POINTS_PER_MM = 72 / 25.4
# Anti-aliased grey above this level prints white; below prints black.
INK_THRESHOLD = 160


def render_png(pdf: bytes, dpi: int) -> bytes:
    scale = dots_per_mm(dpi) / POINTS_PER_MM
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        width, height = (round(side * scale) for side in page.get_size())
        bitmap = page.render(scale=scale, grayscale=True, no_smoothpath=True)
        # pdfium rounds the bitmap up, so float error can add a blank column past the label edge.
        grey = bitmap.to_pil().convert("L").crop((0, 0, width, height))
    finally:
        document.close()
    bilevel = grey.point(lambda level: 255 if level >= INK_THRESHOLD else 0, mode="1")
    buffer = BytesIO()
    bilevel.save(buffer, format="PNG", dpi=(dpi, dpi), optimize=False)
    return buffer.getvalue()
