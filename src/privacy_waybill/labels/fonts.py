"""The one CJK TrueType font every label format draws with, found locally and loaded once.

Labels must render offline and look the same in PDF, PNG and ZPL, so the font is a file on
this machine (``PWB_LABEL_FONT`` or Debian's fonts-wqy-zenhei), never a download.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from PIL import ImageFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from privacy_waybill.errors import PrivacyWaybillError

FONT_ENV_VAR = "PWB_LABEL_FONT"
DEBIAN_FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT_PACKAGE = "fonts-wqy-zenhei"
PDF_FONT_NAME = "PwbLabelCJK"


class LabelFontMissing(PrivacyWaybillError):
    """No usable CJK TrueType font: labels cannot be drawn."""


def font_path() -> Path:
    """The font file to use: the ``PWB_LABEL_FONT`` setting first, then the Debian package."""
    configured = os.environ.get(FONT_ENV_VAR)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise LabelFontMissing(
                f"{FONT_ENV_VAR} names a font file that does not exist; point it at a "
                f"TrueType (.ttf/.ttc) CJK font or unset it to use {DEBIAN_FONT_PATH}"
            )
        return path
    if DEBIAN_FONT_PATH.is_file():
        return DEBIAN_FONT_PATH
    raise LabelFontMissing(
        f"no CJK label font: install the Debian package {FONT_PACKAGE} "
        f"(`make install` does, or `apt-get install {FONT_PACKAGE}`), "
        f"or set {FONT_ENV_VAR} to a TrueType CJK font file"
    )


@cache
def _registered_pdf_font(path: Path) -> str:
    # Registering parses the whole 16 MB collection, so it happens once per process and path.
    pdfmetrics.registerFont(TTFont(PDF_FONT_NAME, str(path), subfontIndex=0))
    return PDF_FONT_NAME


def pdf_font() -> str:
    """The reportlab name of the label font, registered on first use (embedded as a subset)."""
    return _registered_pdf_font(font_path())


@cache
def _raster_font(path: Path, pixel_size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), pixel_size, index=0)


def raster_font(pixel_size: int) -> ImageFont.FreeTypeFont:
    """The label font for Pillow at a size in pixels (printer dots)."""
    return _raster_font(font_path(), pixel_size)


def text_width_mm(text: str, size_mm: float) -> float:
    """Advance width of `text` set at `size_mm`; the one metric layout wrapping relies on."""
    return float(pdfmetrics.stringWidth(text, pdf_font(), size_mm))
