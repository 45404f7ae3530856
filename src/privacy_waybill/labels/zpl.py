"""Write a composed label as ZPL II for Zebra-compatible thermal printers.

Printers carry no Chinese font, so every text line travels as a ^GFA bitmap drawn with
Pillow from the same font the PDF embeds (Z64: zlib, base64 and a CRC-16). Rules are ^GB
boxes; the printer draws the Code 128 (^BC) and the QR code (^BQ) itself, where the PDF and
PNG draw them (checked by rendering the ZPL with an independent renderer in the tests).
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from functools import lru_cache

from PIL import Image, ImageDraw

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
from privacy_waybill.labels.fonts import raster_font

PILLOW_ANCHORS = {Anchor.START: "ls", Anchor.MIDDLE: "ms", Anchor.END: "rs"}
# ^FH\ lets field data carry the characters ZPL reserves as command prefixes.
FIELD_HEX_ESCAPE = "\\"
RESERVED_IN_FIELD_DATA = ("\\", "^", "~")
QR_MODEL_2 = 2
# Zebra firmware (and renderers that follow it: Labelary, zebrash/zpl-renderer-js) draws a ^BQ
# QR code lower than its ^FO by the bar-code height last set with ^BY, which the Code 128 sets
# to its 15 mm bars. Each QR therefore sets that height itself, to ^BY's smallest documented
# value, and its ^FO is raised by as much.
QR_BAR_HEIGHT_DOTS = 10


def render_zpl(scene: Scene) -> bytes:
    dpm = scene.dots_per_mm
    commands = [
        "^XA",
        f"^PW{_dots(scene.width, dpm)}",
        f"^LL{_dots(scene.height, dpm)}",
        "^LH0,0",
        *(_command(item, dpm) for item in scene.items),
        "^XZ",
    ]
    return ("\n".join(commands) + "\n").encode("ascii")


def _command(item: Primitive, dpm: int) -> str:
    match item:
        case Text():
            return _text(item, dpm)
        case Frame(rect=rect, thickness=thickness):
            return (
                f"^FO{_dots(rect.x, dpm)},{_dots(rect.y, dpm)}"
                f"^GB{_dots(rect.width, dpm)},{_dots(rect.height, dpm)},{max(1, _dots(thickness, dpm))}^FS"
            )
        case Bar(rect=rect):
            width, height = max(1, _dots(rect.width, dpm)), max(1, _dots(rect.height, dpm))
            # A ^GB whose border is as thick as its shorter side is a filled bar.
            return f"^FO{_dots(rect.x, dpm)},{_dots(rect.y, dpm)}^GB{width},{height},{min(width, height)}^FS"
        case Barcode128(x=x, y=y, module=module, height=height, value=value):
            bar_height = _dots(height, dpm)
            return (
                f"^FO{_dots(x, dpm)},{_dots(y, dpm)}^BY{_dots(module, dpm)},3,{bar_height}"
                f"^BCN,{bar_height},N,N,N,A^FH{FIELD_HEX_ESCAPE}^FD{field_data(value)}^FS"
            )
        case QrSymbol(x=x, y=y, module=module, payload=payload, error_level=level):
            top = _dots(y, dpm) - QR_BAR_HEIGHT_DOTS
            return (
                f"^FO{_dots(x, dpm)},{top}^BY1,3,{QR_BAR_HEIGHT_DOTS}^BQN,{QR_MODEL_2},{_dots(module, dpm)}"
                f"^FH{FIELD_HEX_ESCAPE}^FD{level}A,{field_data(payload)}^FS"
            )


def field_data(value: str) -> str:
    """`value` with ZPL's reserved characters hex-escaped for ^FH."""
    escaped = value
    for char in RESERVED_IN_FIELD_DATA:
        escaped = escaped.replace(char, f"{FIELD_HEX_ESCAPE}{ord(char):02X}")
    return escaped


def _text(text: Text, dpm: int) -> str:
    pixel_size = max(1, _dots(text.size, dpm))
    stroke = math.ceil(pixel_size * BOLD_STROKE / 2) if text.bold else 0
    left, top, field = _rasterised(text.text, pixel_size, text.anchor, stroke)
    x = max(0, _dots(text.x, dpm) + left)
    y = max(0, _dots(text.baseline, dpm) + top)
    return f"^FO{x},{y}{field}^FS"


# Captions, the carrier and the service repeat on every label of a batch; rasterise them once.
@lru_cache(maxsize=256)
def _rasterised(text: str, pixel_size: int, anchor: Anchor, stroke: int) -> tuple[int, int, str]:
    """The ^GFA field of one text line and its top-left offset from the anchor point."""
    font = raster_font(pixel_size)
    pillow_anchor = PILLOW_ANCHORS[anchor]
    left, top, right, bottom = (round(edge) for edge in font.getbbox(text, anchor=pillow_anchor, stroke_width=stroke))
    image = Image.new("1", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(image).text(
        (-left, -top), text, font=font, fill=1, anchor=pillow_anchor, stroke_width=stroke, stroke_fill=1
    )
    return left, top, graphic_field(image)


def graphic_field(image: Image.Image) -> str:
    """A 1-bit image (ink = 1) as a ^GFA command with Z64-compressed data."""
    bytes_per_row = math.ceil(image.width / 8)
    bitmap = image.tobytes()
    encoded = base64.b64encode(zlib.compress(bitmap))
    crc = binascii.crc_hqx(encoded, 0)
    total = len(bitmap)
    return f"^GFA,{total},{total},{bytes_per_row},:Z64:{encoded.decode('ascii')}:{crc:04X}"


def _dots(millimetres: float, dpm: int) -> int:
    return round(millimetres * dpm)
