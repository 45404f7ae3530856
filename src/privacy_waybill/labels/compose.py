"""Turn masked label content into a list of drawing primitives placed in millimetres.

The composition is the single source of what a label shows and where: the PDF (and the PNG
rendered from it) and the ZPL only translate these primitives. Positions of the barcode and
the QR code snap to whole printer dots so thermal printers reproduce their modules exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import segno
from reportlab.graphics.barcode.code128 import Code128

from privacy_waybill.errors import FieldError
from privacy_waybill.labels.fonts import text_width_mm
from privacy_waybill.labels.layout import LAYOUTS, Layout, Rect, Zone, dots_per_mm
from privacy_waybill.labels.model import LabelContent, LabelSize, MaskedParty

RECIPIENT_MARK = "收"
SENDER_MARK = "寄"
CONTENTS_CAPTION = "内件："
WEIGHT_CAPTION = "重量："
PIECES_CAPTION = "件数："
ISSUED_CAPTION = "日期："
SIGNATURE_CAPTION = "签收人："
SIGNED_AT_CAPTION = "签收时间："
PRIVACY_NOTICE = "隐私面单：收寄件人信息已加密保护"
SERVICE_NAMES = {"standard": "标准快递", "express": "特快专递", "economy": "经济快递"}
# Every fixed string a label may print besides the content it was given.
CAPTIONS = (
    RECIPIENT_MARK,
    SENDER_MARK,
    CONTENTS_CAPTION,
    WEIGHT_CAPTION,
    PIECES_CAPTION,
    ISSUED_CAPTION,
    SIGNATURE_CAPTION,
    SIGNED_AT_CAPTION,
    PRIVACY_NOTICE,
    *SERVICE_NAMES.values(),
)

# The waybill number names label files and feeds Code 128, so it stays plain ASCII.
WAYBILL_NO_PATTERN = re.compile(r"[A-Za-z0-9-]{4,40}")
QR_ERROR_LEVEL = "M"
# Scoring all eight masks for the best one is ~80 % of segno's time per label; any mask
# decodes, and this one keeps a label under 10 ms to compose.
QR_MASK = 0
CODE128_QUIET_MODULES = 10
QR_QUIET_MODULES = 4
# 4 dots (0.5 mm at 203 dpi) is already a generous Code 128 module; ZPL's ^BQ accepts QR
# modules of at most 10 dots.
MAX_BAR_MODULE_DOTS = 4
MAX_QR_MODULE_DOTS = 10
LINE_SPACING = 1.3  # baseline-to-baseline distance in ems
CJK_CAP_HEIGHT = 0.8  # height of a Han glyph above the baseline, in ems
ELLIPSIS = "…"
# The font has one weight; bold is the glyph outline stroked this wide (in ems) on top of the fill.
BOLD_STROKE = 0.05


class Anchor(StrEnum):
    START = "start"
    MIDDLE = "middle"
    END = "end"


@dataclass(frozen=True, slots=True)
class Text:
    x: float  # at the anchor
    baseline: float
    size: float  # em size
    text: str
    anchor: Anchor = Anchor.START
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Frame:
    """An outlined rectangle; the stroke lies inside `rect`, as ZPL's ^GB draws it."""

    rect: Rect
    thickness: float


@dataclass(frozen=True, slots=True)
class Bar:
    """A filled rectangle: the rules between zones."""

    rect: Rect


@dataclass(frozen=True, slots=True)
class Barcode128:
    x: float  # left edge of the first bar
    y: float  # top of the bars
    module: float  # narrowest bar width
    height: float
    value: str


@dataclass(frozen=True, slots=True)
class QrSymbol:
    x: float
    y: float
    module: float
    payload: str
    error_level: str
    matrix: tuple[tuple[bool, ...], ...]  # rows of dark modules, without the quiet zone


Primitive = Text | Frame | Bar | Barcode128 | QrSymbol


@dataclass(frozen=True, slots=True)
class Scene:
    width: float
    height: float
    dots_per_mm: int
    items: tuple[Primitive, ...]


def compose(content: LabelContent, size: LabelSize, dpi: int) -> Scene:
    """Place every element of `content` on a label of `size` for a printer of `dpi`."""
    layout = LAYOUTS[size]
    dpm = dots_per_mm(dpi)
    zones = layout.zones
    items: list[Primitive] = [
        *_rules(layout),
        *_header(content, layout),
        *_barcode(content.waybill_no, zones[Zone.BARCODE], layout, dpm),
        *_destination(content.sort_code, zones[Zone.DESTINATION], layout),
        *_party(RECIPIENT_MARK, content.recipient, zones[Zone.RECIPIENT], layout, layout.type.address),
        *_party(SENDER_MARK, content.sender, zones[Zone.SENDER], layout, layout.type.body),
        *_contents(content, zones[Zone.CONTENTS], layout),
        _qr(content.qr_payload, zones[Zone.QR], dpm),
        *_signoff(zones[Zone.SIGNOFF], layout),
    ]
    return Scene(layout.width, layout.height, dpm, tuple(items))


def _rules(layout: Layout) -> list[Primitive]:
    zones = layout.zones
    outer = Rect(
        zones[Zone.HEADER].x,
        zones[Zone.HEADER].y,
        zones[Zone.HEADER].width,
        zones[Zone.SIGNOFF].bottom - zones[Zone.HEADER].y,
    )
    rules: list[Primitive] = [Frame(outer, layout.rule)]
    for zone in (Zone.BARCODE, Zone.DESTINATION, Zone.RECIPIENT, Zone.SENDER, Zone.CONTENTS, Zone.SIGNOFF):
        rules.append(Bar(Rect(outer.x, zones[zone].y, outer.width, layout.rule)))
    qr = zones[Zone.QR]
    rules.append(Bar(Rect(qr.x, qr.y, layout.rule, qr.height)))
    for zone in (Zone.RECIPIENT, Zone.SENDER):
        rect = zones[zone]
        rules.append(Bar(Rect(rect.x + layout.mark_column, rect.y, layout.rule, rect.height)))
    return rules


def _header(content: LabelContent, layout: Layout) -> list[Text]:
    zone = layout.zones[Zone.HEADER]
    service = SERVICE_NAMES.get(content.service, content.service)
    service_size = layout.type.name
    service_width = text_width_mm(service, service_size) + layout.padding
    carrier_room = zone.width - 2 * layout.padding - service_width
    carrier_size = _fitted_size(content.carrier_name, layout.type.carrier, carrier_room)
    baseline = _centred_baseline(zone, layout.type.carrier)
    return [
        Text(zone.x + layout.padding, baseline, carrier_size, content.carrier_name, bold=True),
        Text(zone.right - layout.padding, baseline, service_size, service, Anchor.END),
    ]


def _barcode(waybill_no: str, zone: Rect, layout: Layout, dpm: int) -> list[Primitive]:
    if not WAYBILL_NO_PATTERN.fullmatch(waybill_no):
        raise FieldError("waybill_no", "must be 4 to 40 ASCII letters, digits or hyphens")
    modules = Code128(waybill_no, barWidth=1, quiet=False).width + 2 * CODE128_QUIET_MODULES
    module_dots = min(MAX_BAR_MODULE_DOTS, math.floor(zone.width * dpm / modules))
    if module_dots < 1:
        raise FieldError("waybill_no", "is too long for the label barcode")
    module = module_dots / dpm
    bars_width = (modules - 2 * CODE128_QUIET_MODULES) * module
    x = _snap(zone.x + (zone.width - bars_width) / 2, dpm)
    y = _snap(zone.y + layout.padding, dpm)
    number_size = layout.type.name
    number_baseline = y + layout.bar_height + layout.padding / 2 + number_size * CJK_CAP_HEIGHT
    return [
        Barcode128(x, y, module, layout.bar_height, waybill_no),
        Text(zone.x + zone.width / 2, number_baseline, number_size, _grouped(waybill_no), Anchor.MIDDLE),
    ]


def _destination(sort_code: str, zone: Rect, layout: Layout) -> list[Text]:
    size = _fitted_size(sort_code, layout.type.sort_code, zone.width - 2 * layout.padding)
    return [Text(zone.x + zone.width / 2, _centred_baseline(zone, size), size, sort_code, Anchor.MIDDLE, bold=True)]


def _party(mark: str, party: MaskedParty, zone: Rect, layout: Layout, address_size: float) -> list[Text]:
    type_ = layout.type
    items = [
        Text(
            zone.x + layout.mark_column / 2,
            _centred_baseline(zone, type_.party_mark),
            type_.party_mark,
            mark,
            Anchor.MIDDLE,
            bold=True,
        )
    ]
    left = zone.x + layout.mark_column + layout.padding
    width = zone.right - layout.padding - left
    baseline = zone.y + layout.padding + type_.name * CJK_CAP_HEIGHT
    items.append(Text(left, baseline, type_.name, party.name))
    items.append(Text(left + text_width_mm(party.name, type_.name) + type_.name, baseline, type_.name, party.phone))

    first_address_baseline = baseline + type_.name * (LINE_SPACING - CJK_CAP_HEIGHT) + address_size
    room = zone.bottom - layout.padding - first_address_baseline
    fitted_size, lines = _wrapped_to_fit(party.address, address_size, width, room)
    for index, line in enumerate(lines):
        line_baseline = first_address_baseline + index * fitted_size * LINE_SPACING
        items.append(Text(left, line_baseline, fitted_size, line))
    return items


def _contents(content: LabelContent, zone: Rect, layout: Layout) -> list[Text]:
    rows = [(CONTENTS_CAPTION, content.contents)]
    if content.weight_g is not None:
        rows.append((WEIGHT_CAPTION, f"{content.weight_g / 1000:.2f} kg"))
    rows.append((PIECES_CAPTION, str(content.pieces)))
    rows.append((ISSUED_CAPTION, content.issued_on.isoformat()))

    size = layout.type.body
    left = zone.x + layout.padding
    pitch = (zone.height - 2 * layout.padding) / len(rows)
    items: list[Text] = []
    for index, (caption, value) in enumerate(rows):
        baseline = zone.y + layout.padding + index * pitch + (pitch + size * CJK_CAP_HEIGHT) / 2
        value_x = left + text_width_mm(caption, size)
        value_size = _fitted_size(value, size, zone.right - layout.padding - value_x)
        items.append(Text(left, baseline, size, caption))
        items.append(Text(value_x, baseline, value_size, value))
    return items


def _qr(payload: str, zone: Rect, dpm: int) -> QrSymbol:
    symbol = segno.make(payload, error=QR_ERROR_LEVEL, mask=QR_MASK, micro=False)
    matrix = tuple(tuple(bool(cell) for cell in row) for row in symbol.matrix)
    side = len(matrix)
    module_dots = min(
        MAX_QR_MODULE_DOTS, math.floor(min(zone.width, zone.height) * dpm / (side + 2 * QR_QUIET_MODULES))
    )
    if module_dots < 1:
        raise FieldError("qr_payload", "is too long for the label QR code")
    module = module_dots / dpm
    symbol_side = side * module
    x = _snap(zone.x + (zone.width - symbol_side) / 2, dpm)
    y = _snap(zone.y + (zone.height - symbol_side) / 2, dpm)
    return QrSymbol(x, y, module, payload, QR_ERROR_LEVEL, matrix)


def _signoff(zone: Rect, layout: Layout) -> list[Text]:
    size = layout.type.body
    left = zone.x + layout.padding
    first = zone.y + layout.padding + size * CJK_CAP_HEIGHT + size * 0.4
    notice_size = layout.type.caption
    return [
        Text(left, first, size, SIGNATURE_CAPTION),
        Text(zone.x + zone.width * 0.55, first, size, SIGNED_AT_CAPTION),
        Text(left, zone.bottom - layout.padding - notice_size * 0.25, notice_size, PRIVACY_NOTICE),
    ]


def wrap(text: str, size: float, width: float) -> list[str]:
    """Greedy line breaks at any character: Chinese addresses have no spaces to break at."""
    lines: list[str] = []
    line = ""
    line_width = 0.0
    for char in text:
        char_width = text_width_mm(char, size)
        if line and line_width + char_width > width:
            lines.append(line)
            line, line_width = "", 0.0
        line += char
        line_width += char_width
    if line:
        lines.append(line)
    return lines


def _wrapped_to_fit(text: str, size: float, width: float, height: float) -> tuple[float, list[str]]:
    """Wrap `text`, shrinking down to 75 % of `size` before cutting lines that still overflow."""
    smallest = size * 0.75
    current = size
    while True:
        # The last line still needs room for its descenders below the baseline.
        max_lines = max(1, math.floor((height - 0.2 * current) / (current * LINE_SPACING)) + 1)
        lines = wrap(text, current, width)
        if len(lines) <= max_lines:
            return current, lines
        if current <= smallest:
            return current, _truncated(lines[:max_lines], current, width)
        current = max(smallest, current * 0.9)


def _truncated(lines: Sequence[str], size: float, width: float) -> list[str]:
    last = lines[-1]
    while last and text_width_mm(last + ELLIPSIS, size) > width:
        last = last[:-1]
    return [*lines[:-1], last + ELLIPSIS]


def _fitted_size(text: str, size: float, width: float) -> float:
    natural = text_width_mm(text, size)
    return size if natural <= width else size * width / natural


def _centred_baseline(zone: Rect, size: float) -> float:
    return zone.y + (zone.height + size * CJK_CAP_HEIGHT) / 2


def _grouped(waybill_no: str) -> str:
    """The number in blocks of four, as people read it out on the phone, unless it has its own hyphens."""
    if not waybill_no.isalnum():
        return waybill_no
    return " ".join(waybill_no[i : i + 4] for i in range(0, len(waybill_no), 4))


def _snap(value: float, dpm: int) -> float:
    return round(value * dpm) / dpm
