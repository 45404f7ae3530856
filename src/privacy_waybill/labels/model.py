"""What a label shows. Everything here is already masked: the renderers never see plaintext."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import NamedTuple


class LabelFormat(StrEnum):
    PDF = "pdf"
    PNG = "png"
    ZPL = "zpl"


class LabelSize(StrEnum):
    """Label stock in millimetres (width x height)."""

    ONE_PLY_76X130 = "76x130"
    STANDARD_100X180 = "100x180"

    @property
    def millimetres(self) -> tuple[int, int]:
        width, height = self.value.split("x")
        return int(width), int(height)


class MaskedParty(NamedTuple):
    """A party as a label shows it (a named tuple, as `IssuedWaybill` that holds two)."""

    name: str
    phone: str
    address: str


@dataclass(frozen=True, slots=True)
class LabelContent:
    """The masked view of one waybill that a label prints.

    `qr_payload` is the signed opaque reference URL: it holds no personal data.
    `contents` is a generic category, never item names.
    """

    waybill_no: str
    sort_code: str
    recipient: MaskedParty
    sender: MaskedParty
    contents: str
    qr_payload: str
    issued_on: date
    carrier_name: str = "隐私面单速运"
    service: str = "standard"
    weight_g: int | None = None
    pieces: int = 1
