"""Masked shipping labels (GB/T 41833-2022 zones) as PDF, PNG and ZPL II."""

from __future__ import annotations

from privacy_waybill.labels.fonts import LabelFontMissing
from privacy_waybill.labels.model import LabelContent, LabelFormat, LabelSize, MaskedParty
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
