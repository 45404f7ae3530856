"""Chinese phone numbers as merchants send them, normalised to one canonical form.

Mainland mobiles are checked against the segment allocation table shipped in
data/phones/cn_mobile_segments.csv: libphonenumber's patterns lag new allocations (149 was
rejected for years after China Telecom received it), and a parcel cannot wait for a library
release. libphonenumber still decides landlines and the Hong Kong, Macao and Taiwan numbering
plans. This module adds what neither knows: Chinese extension markers (转, 分机), platform
virtual numbers (a mobile or 95/96 service number followed by an extension that reaches the
person) and 400/800 business numbers, which only a sender may give.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal, NamedTuple

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneNumberFormat,
    PhoneNumberType,
)

from privacy_waybill.errors import FieldError

PhoneKind = Literal["mobile", "landline", "virtual", "business"]

INVALID_PHONE = "not a valid Chinese mobile or landline number"
BUSINESS_NUMBER_FOR_RECIPIENT = "a 400/800 business number cannot reach a recipient: give the recipient's own phone"

_EXPLICIT_EXTENSION = re.compile(r"^(?P<base>.+?)\s*(?:转|分机|ext\.?|x|#)\s*(?P<ext>\d{1,8})$", re.IGNORECASE)
_DASH_EXTENSION = re.compile(r"^(?P<base>.+?)\s*-\s*(?P<ext>\d{1,8})$")
# Only digits and the separators people type: letters would be read as a vanity number.
_NUMBER_CHARACTERS = re.compile(r"[\d\s\-+().]+")
_SERVICE_NUMBER = re.compile(r"9[56]\d{3,4}")
# 400 and 800 numbers: ten digits, written 400-xxx-xxxx or 400 xxxx xxx.
_BUSINESS_NUMBER = re.compile(r"[48]00\d{7}")
_NEIGHBOUR_REGIONS = {"852": "HK", "853": "MO", "886": "TW"}
_NEIGHBOUR_PREFIX = re.compile(r"^(?:\+|00)\s*(852|853|886)\b")
_BARE_COUNTRY_CODE = re.compile(r"86(1\d{10}|0?[2-9]\d{8,10})")
# Most numbers arrive as 11 bare digits. For these libphonenumber's parse() only attaches +86:
# there is no international prefix or country code to strip, and CN's carrier-prefix rule
# never applies because the six digits it would leave are no valid Chinese length. Building
# the number directly saves a third of the work; number_type() below still decides validity.
_NATIONAL_MOBILE = re.compile(r"1[0-9]{10}")

_ACCEPTED_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "landline",
}


class Phone(NamedTuple):
    """A validated phone number.

    `number` is E.164 (``+8613800138000``) for mobiles and landlines and the bare digits
    for 95xxx service numbers. The repr shows only the kind. (A named tuple, made twice per
    waybill issued, as `PersonName`.)
    """

    kind: PhoneKind
    number: str
    extension: str | None = None

    def __repr__(self) -> str:
        return f"Phone(kind={self.kind!r})"

    @property
    def last4(self) -> str:
        """The last four digits of the subscriber number, never of the extension."""
        return self.number[-4:]

    @property
    def canonical(self) -> str:
        """One string per reachable number (RFC 3966 extension syntax): the blind-index input."""
        return f"{self.number};ext={self.extension}" if self.extension else self.number


@dataclass(frozen=True, slots=True)
class MobileSegment:
    prefix: str
    operator: str
    service: str


@cache
def mobile_segments() -> dict[str, MobileSegment]:
    """The allocated mainland mobile segments by prefix (3 or 4 digits)."""
    text = files("privacy_waybill.data").joinpath("phones/cn_mobile_segments.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {row["prefix"]: MobileSegment(row["prefix"], row["operator"], row["service"]) for row in rows}


def mobile_segment(national: str) -> MobileSegment | None:
    """The segment an 11-digit mainland mobile number belongs to, or None if it is unallocated."""
    if not _NATIONAL_MOBILE.fullmatch(national):
        return None
    segments = mobile_segments()
    return segments.get(national[:4]) or segments.get(national[:3])


def _digits(text: str) -> str:
    return "".join(filter(str.isdigit, text))


def _parse_cn(base: str) -> tuple[PhoneKind, str] | None:
    """Kind and E.164 of a Chinese mobile or landline, or None when it is neither."""
    if _NATIONAL_MOBILE.fullmatch(base):
        return ("mobile", "+86" + base) if mobile_segment(base) else None
    if not _NUMBER_CHARACTERS.fullmatch(base):
        return None
    digits = _digits(base)
    if not base.lstrip().startswith("+") and _BARE_COUNTRY_CODE.fullmatch(digits):
        base = "+" + digits
    try:
        parsed = phonenumbers.parse(base, "CN")
    except NumberParseException:
        return None
    if parsed.country_code != 86:
        return None
    national = str(parsed.national_number)
    if national.startswith("1") and len(national) == 11:
        return ("mobile", "+86" + national) if mobile_segment(national) else None
    # number_type() is UNKNOWN for an invalid number (it is what is_valid_number() checks).
    kind = _ACCEPTED_TYPES.get(phonenumbers.number_type(parsed))
    if kind != "landline":
        return None
    return kind, phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def _parse_neighbour(base: str) -> tuple[PhoneKind, str] | None:
    """Kind and E.164 of a Hong Kong, Macao or Taiwan number written with its country code."""
    prefix = _NEIGHBOUR_PREFIX.match(base)
    if prefix is None or not _NUMBER_CHARACTERS.fullmatch(base):
        return None
    digits = _digits(base)
    international = digits[2:] if base.startswith("00") else digits
    try:
        parsed = phonenumbers.parse("+" + international, None)
    except NumberParseException:
        return None
    if phonenumbers.region_code_for_number(parsed) != _NEIGHBOUR_REGIONS[prefix[1]]:
        return None
    kind = _ACCEPTED_TYPES.get(phonenumbers.number_type(parsed))
    if kind is None:
        return None
    return kind, phonenumbers.format_number(parsed, PhoneNumberFormat.E164)  # type: ignore[return-value]


def _parse_number(base: str) -> tuple[PhoneKind, str] | None:
    return _parse_cn(base) or _parse_neighbour(base.strip())


def _with_extension(base: str, extension: str) -> Phone | None:
    if _SERVICE_NUMBER.fullmatch(_digits(base)) and _NUMBER_CHARACTERS.fullmatch(base):
        return Phone("virtual", _digits(base), extension)
    parsed = _parse_number(base)
    if parsed is None:
        return None
    kind, e164 = parsed
    # A mobile never has an extension of its own: with one it is a platform's relay number.
    return Phone("virtual" if kind == "mobile" else kind, e164, extension)


def normalise_phone(raw: str, *, business: bool = False) -> Phone:
    """Validate a phone number and return its canonical form.

    Accepts +86/0086/86 prefixes, spaces, dashes and brackets, mobiles in allocated segments,
    landlines with area code, extensions after -, 转, 分机, ext., x or #, virtual numbers with
    an extension (a mobile or a 95/96 service number), and +852/+853/+886 numbers. With
    `business` (a sender) a 400/800 number is accepted too. Raises FieldError("phone", reason).
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise FieldError("phone", "is empty")
    if _NATIONAL_MOBILE.fullmatch(text):
        # Eleven bare digits starting with 1, as most numbers arrive: no 400/800 number,
        # extension, country code or service number can be written so, and for these
        # `_parse_number` decides by the segment alone. Decided here, it costs a third.
        if mobile_segment(text):
            return Phone("mobile", "+86" + text)
        raise FieldError("phone", INVALID_PHONE)
    if _NUMBER_CHARACTERS.fullmatch(text) and _BUSINESS_NUMBER.fullmatch(_digits(text)):
        if not business:
            raise FieldError("phone", BUSINESS_NUMBER_FOR_RECIPIENT)
        return Phone("business", _digits(text))
    explicit = _EXPLICIT_EXTENSION.fullmatch(text)
    if explicit:
        phone = _with_extension(explicit["base"], explicit["ext"])
        if phone is None:
            raise FieldError("phone", INVALID_PHONE)
        return phone
    whole = _parse_number(text)
    if whole is not None:
        return Phone(whole[0], whole[1])
    # "0571-8888-8888" is a whole number; only when it is not does a final "-123" mean an extension.
    dashed = _DASH_EXTENSION.fullmatch(text)
    if dashed:
        phone = _with_extension(dashed["base"], dashed["ext"])
        if phone is not None:
            return phone
    if _SERVICE_NUMBER.fullmatch(_digits(text)):
        raise FieldError("phone", "a 95xxx/96xxx service number needs the person's extension")
    raise FieldError("phone", INVALID_PHONE)
