"""Label geometry as data: the GB/T 41833-2022 zones of each stock size, in millimetres.

Every renderer draws from these rectangles, so the PDF, the PNG and the ZPL of a label agree.
Coordinates start at the top-left corner of the label and grow right and down, the way a
thermal printer addresses its dots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from privacy_waybill.errors import FieldError
from privacy_waybill.labels.model import LabelSize

# Thermal print heads are 8 or 12 dots per millimetre (sold as "203 dpi" and "300 dpi").
DOTS_PER_MM: Mapping[int, int] = MappingProxyType({203: 8, 300: 12})


def dots_per_mm(dpi: int) -> int:
    try:
        return DOTS_PER_MM[dpi]
    except KeyError:
        raise FieldError("dpi", "must be 203 or 300") from None


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


class Zone(StrEnum):
    """The label zones, top to bottom."""

    HEADER = "header"  # carrier and service
    BARCODE = "barcode"  # Code 128 of the waybill number, number in text below
    DESTINATION = "destination"  # sort code (三段码)
    RECIPIENT = "recipient"  # 收
    SENDER = "sender"  # 寄
    CONTENTS = "contents"  # category, weight, pieces, issue date
    QR = "qr"  # signed opaque reference
    SIGNOFF = "signoff"  # 签收栏


@dataclass(frozen=True, slots=True)
class TypeScale:
    """Text heights in millimetres (the em size of the font)."""

    caption: float  # zone titles and small print
    body: float  # sender address, contents
    address: float  # recipient address, read by the courier at the door
    name: float  # masked name and phone
    party_mark: float  # the big 收 / 寄
    carrier: float
    sort_code: float  # printed large so sorters read it from a distance


@dataclass(frozen=True, slots=True)
class Layout:
    size: LabelSize
    zones: Mapping[Zone, Rect]
    type: TypeScale
    padding: float  # inner margin of every zone
    mark_column: float  # width of the 收 / 寄 column
    rule: float  # line thickness
    bar_height: float  # height of the Code 128 bars

    @property
    def width(self) -> float:
        return float(self.size.millimetres[0])

    @property
    def height(self) -> float:
        return float(self.size.millimetres[1])


def _zones(margin: float, width: float, rows: Mapping[Zone, float], qr_side: float) -> Mapping[Zone, Rect]:
    """Stack full-width rows downwards; the QR sits at the right of the contents row."""
    inner = width - 2 * margin
    zones: dict[Zone, Rect] = {}
    y = margin
    for zone, height in rows.items():
        if zone is Zone.CONTENTS:
            zones[Zone.CONTENTS] = Rect(margin, y, inner - qr_side, height)
            zones[Zone.QR] = Rect(margin + inner - qr_side, y, qr_side, height)
        else:
            zones[zone] = Rect(margin, y, inner, height)
        y += height
    return MappingProxyType(zones)


LAYOUTS: Mapping[LabelSize, Layout] = MappingProxyType(
    {
        LabelSize.STANDARD_100X180: Layout(
            size=LabelSize.STANDARD_100X180,
            zones=_zones(
                margin=2,
                width=100,
                rows={
                    Zone.HEADER: 10,
                    Zone.BARCODE: 25,
                    Zone.DESTINATION: 21,
                    Zone.RECIPIENT: 34,
                    Zone.SENDER: 24,
                    Zone.CONTENTS: 32,
                    Zone.SIGNOFF: 30,
                },
                qr_side=32,
            ),
            type=TypeScale(caption=2.8, body=3.4, address=4.0, name=4.4, party_mark=8, carrier=5, sort_code=13),
            padding=1.6,
            mark_column=11,
            rule=0.3,
            bar_height=15,
        ),
        LabelSize.ONE_PLY_76X130: Layout(
            size=LabelSize.ONE_PLY_76X130,
            zones=_zones(
                margin=1.5,
                width=76,
                rows={
                    Zone.HEADER: 7,
                    Zone.BARCODE: 19,
                    Zone.DESTINATION: 15,
                    Zone.RECIPIENT: 25,
                    Zone.SENDER: 18,
                    Zone.CONTENTS: 24,
                    Zone.SIGNOFF: 19,
                },
                qr_side=24,
            ),
            type=TypeScale(caption=2.3, body=2.7, address=3.1, name=3.4, party_mark=6, carrier=3.8, sort_code=9.5),
            padding=1.2,
            mark_column=8,
            rule=0.25,
            bar_height=11,
        ),
    }
)
