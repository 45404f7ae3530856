"""The shelf sticker: a small label stuck on the parcel at check-in, drawn by the label renderers.

It shows exactly three things (SPEC 8): the shelf code, large, so the clerk finds the parcel;
the pickup code the recipient was sent; and the masked name the label already shows. Layout is
a 60 x 40 mm thermal sticker; PDF and ZPL come from the same composition as waybill labels.
"""

from __future__ import annotations

from privacy_waybill.labels.compose import Anchor, Bar, Frame, Scene, Text
from privacy_waybill.labels.fonts import text_width_mm
from privacy_waybill.labels.layout import Rect, dots_per_mm
from privacy_waybill.labels.model import LabelFormat
from privacy_waybill.labels.pdf import render_pdf
from privacy_waybill.labels.png import render_png
from privacy_waybill.labels.zpl import render_zpl
from privacy_waybill.stations.model import HeldParcel

WIDTH_MM, HEIGHT_MM = 60.0, 40.0
PICKUP_CAPTION = "取件码"
SHELF_SIZE, CODE_SIZE, NAME_SIZE, CAPTION_SIZE = 11.0, 6.0, 4.2, 3.2
MARGIN, RULE = 1.5, 0.3


def _fitted(text: str, size: float, width: float) -> float:
    natural = text_width_mm(text, size)
    return size if natural <= width else size * width / natural


def compose_sticker(parcel: HeldParcel, dpi: int = 203) -> Scene:
    inner = WIDTH_MM - 2 * MARGIN
    centre = WIDTH_MM / 2
    shelf_size = _fitted(parcel.shelf_code, SHELF_SIZE, inner - 2)
    code = f"{parcel.pickup_code[:3]} {parcel.pickup_code[3:]}"
    items = (
        Frame(Rect(MARGIN, MARGIN, inner, HEIGHT_MM - 2 * MARGIN), RULE),
        Text(centre, MARGIN + 2 + shelf_size * 0.8, shelf_size, parcel.shelf_code, Anchor.MIDDLE, bold=True),
        Bar(Rect(MARGIN, 19, inner, RULE)),
        Text(MARGIN + 2, 26.5, CAPTION_SIZE, PICKUP_CAPTION),
        Text(WIDTH_MM - MARGIN - 2, 27, CODE_SIZE, code, Anchor.END, bold=True),
        Text(centre, 35.5, NAME_SIZE, parcel.masked_name, Anchor.MIDDLE),
    )
    return Scene(WIDTH_MM, HEIGHT_MM, dots_per_mm(dpi), items)


def render_sticker(parcel: HeldParcel, fmt: LabelFormat, dpi: int = 203) -> bytes:
    scene = compose_sticker(parcel, dpi)
    match fmt:
        case LabelFormat.PDF:
            return render_pdf(scene)
        case LabelFormat.PNG:
            return render_png(render_pdf(scene), dpi)
        case LabelFormat.ZPL:
            return render_zpl(scene)
