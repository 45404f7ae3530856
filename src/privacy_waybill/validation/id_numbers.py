"""Resident identity card numbers (公民身份号码, GB 11643-1999).

Eighteen characters: a 6-digit division code, the birth date, a sequence number and an
ISO 7064 MOD 11-2 check character. Only the normalised number leaves this module; no
error repeats it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from privacy_waybill.addresses.divisions import known_area_codes
from privacy_waybill.errors import FieldError

_RESIDENT_ID = re.compile(r"\d{17}[\dX]")
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARACTERS = "10X98765432"


def check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def _birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def validate_resident_id(raw: str, *, today: date | None = None) -> str:
    """Validate an 18-character resident ID and return it with an uppercase X.

    The division code must be one that was in use at some time (codes stay on a card
    after the district is renamed, and are assigned at first issue rather than at birth,
    so the birth year is not checked against the code's years of use).
    Raises FieldError("id_number", reason).
    """
    number = unicodedata.normalize("NFKC", raw).strip().upper()
    if len(number) == 15 and number.isdigit():
        raise FieldError("id_number", "15-digit first-generation numbers are no longer accepted")
    if not _RESIDENT_ID.fullmatch(number):
        raise FieldError("id_number", "must be 17 digits followed by a digit or X")
    if check_character(number[:17]) != number[17]:
        raise FieldError("id_number", "check character does not match")
    born = _birth_date(number)
    if born is None:
        raise FieldError("id_number", "birth date is not a real date")
    if born > (today or date.today()):
        raise FieldError("id_number", "birth date is in the future")
    if number[:6] not in known_area_codes():
        raise FieldError("id_number", "division code is not a known area code")
    return number
