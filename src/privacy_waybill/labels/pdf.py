"""Draw a composed label as a one-page PDF with the CJK font embedded as a subset.

The QR code is drawn as one path of module rectangles (reportlab's QR widget is several times
slower); Code 128 uses reportlab's own barcode with the module width chosen by the layout.
"""

from __future__ import annotations

from io import BytesIO

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from privacy_waybill.labels.compose import (
    BOLD_STROKE,
    Anchor,
    Bar,
    Barcode128,
    Frame,
    Primitive,
    QrSymbol,
    Scene,
    Text,
)
from privacy_waybill.labels.fonts import pdf_font

# PDF text rendering modes (ISO 32000-1, 9.3.6).
FILL = 0
FILL_AND_STROKE = 2


def render_pdf(scene: Scene) -> bytes:
    font = pdf_font()
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(scene.width * mm, scene.height * mm), invariant=True)
    # Scenes are laid out from the top-left corner in millimetres, PDF from the bottom-left in points.
    canvas.translate(0, scene.height * mm)
    canvas.scale(mm, -mm)
    for item in scene.items:
        _draw(canvas, item, font)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw(canvas: Canvas, item: Primitive, font: str) -> None:
    match item:
        case Text():
            _draw_text(canvas, item, font)
        case Frame(rect=rect, thickness=thickness):
            canvas.setLineWidth(thickness)
            half = thickness / 2
            canvas.rect(rect.x + half, rect.y + half, rect.width - thickness, rect.height - thickness, stroke=1, fill=0)
        case Bar(rect=rect):
            canvas.rect(rect.x, rect.y, rect.width, rect.height, stroke=0, fill=1)
        case Barcode128():
            _draw_code128(canvas, item)
        case QrSymbol():
            _draw_qr(canvas, item)


def _draw_text(canvas: Canvas, text: Text, font: str) -> None:
    # Glyphs would come out upside down in the flipped coordinate system, so flip them back locally.
    canvas.saveState()
    canvas.translate(text.x, text.baseline)
    canvas.scale(1, -1)
    canvas.setFont(font, text.size)
    canvas.setLineWidth(text.size * BOLD_STROKE)
    mode = FILL_AND_STROKE if text.bold else FILL
    match text.anchor:
        case Anchor.START:
            canvas.drawString(0, 0, text.text, mode=mode)
        case Anchor.MIDDLE:
            canvas.drawCentredString(0, 0, text.text, mode=mode)
        case Anchor.END:
            canvas.drawRightString(0, 0, text.text, mode=mode)
    canvas.restoreState()


def _draw_code128(canvas: Canvas, barcode: Barcode128) -> None:
    symbol = Code128(
        barcode.value,
        barWidth=barcode.module,
        barHeight=barcode.height,
        quiet=False,
        humanReadable=False,
    )
    symbol.drawOn(canvas, barcode.x, barcode.y)


def _draw_qr(canvas: Canvas, qr: QrSymbol) -> None:
    path = canvas.beginPath()
    for row_index, row in enumerate(qr.matrix):
        y = qr.y + row_index * qr.module
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            run_start = column
            while column < len(row) and row[column]:
                column += 1
            path.rect(qr.x + run_start * qr.module, y, (column - run_start) * qr.module, qr.module)
    canvas.drawPath(path, stroke=0, fill=1)
