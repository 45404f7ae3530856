"""Masked shipping labels (GB/T 41833-2022 zones) as PDF, PNG and ZPL II."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from privacy_waybill.labels.model import LabelContent, LabelFormat, LabelSize, MaskedParty

if TYPE_CHECKING:
    from privacy_waybill.labels.fonts import LabelFontMissing
    from privacy_waybill.labels.render import render_label, render_labels, write_labels

__all__ = [
    "LabelContent",
    "LabelFontMissing",
    "LabelFormat",
    "LabelSize",
    "MaskedParty",
    "render_label",
    "render_labels",
    "write_labels",
]
_LAZY = {
    "LabelFontMissing": "fonts",
    "render_label": "render",
    "render_labels": "render",
    "write_labels": "render",
}


def __getattr__(name: str) -> Any:
    # The renderers and fonts pull in reportlab, Pillow and segno; a command that only names a
    # label size (`pwb --help`) should not pay for them.
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
