"""Chinese phone numbers as merchants send them, normalised to one canonical form.

libphonenumber decides what a valid mobile or landline is; this module only adds what it
does not know: Chinese extension markers (转, 分机) and platform virtual numbers, a mobile
or 95xxx number followed by an extension that reaches the recipient.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    PhoneNumberType,
)

from privacy_waybill.errors import FieldError

PhoneKind = Literal["mobile", "landline", "virtual"]

INVALID_PHONE = "not a valid Chinese mobile or landline number"

_EXPLICIT_EXTENSION = re.compile(r"^(?P<base>.+?)\s*(?:转|分机|ext\.?|x|#)\s*(?P<ext>\d{1,8})$", re.IGNORECASE)
_DASH_EXTENSION = re.compile(r"^(?P<base>.+?)\s*-\s*(?P<ext>\d{1,8})$")
# Only digits and the separators people type: letters would be read as a vanity number.
_NUMBER_CHARACTERS = re.compile(r"[\d\s\-+().]+")
_SERVICE_NUMBER = re.compile(r"95\d{3,4}")
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


@dataclass(frozen=True, slots=True)
class Phone:
    """A validated phone number.

    `number` is E.164 (``+8613800138000``) for mobiles and landlines and the bare digits
    for 95xxx service numbers. The repr shows only the kind.
    """

    kind: PhoneKind
    number: str = field(repr=False)
    extension: str | None = field(default=None, repr=False)

    @property
    def last4(self) -> str:
        """The last four digits of the subscriber number, never of the extension."""
        return self.number[-4:]

    @property
    def canonical(self) -> str:
        """One string per reachable number (RFC 3966 extension syntax): the blind-index input."""
        return f"{self.number};ext={self.extension}" if self.extension else self.number


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _parse_cn(base: str) -> tuple[PhoneKind, str] | None:
    """Kind and E.164 of a Chinese mobile or landline, or None when it is neither."""
    if _NATIONAL_MOBILE.fullmatch(base):
        parsed = PhoneNumber(country_code=86, national_number=int(base))
    else:
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
    # number_type() is UNKNOWN for an invalid number (it is what is_valid_number() checks).
    kind = _ACCEPTED_TYPES.get(phonenumbers.number_type(parsed))
    if kind is None:
        return None
    return kind, phonenumbers.format_number(parsed, PhoneNumberFormat.E164)  # type: ignore[return-value]


def _with_extension(base: str, extension: str) -> Phone | None:
    if _SERVICE_NUMBER.fullmatch(_digits(base)) and _NUMBER_CHARACTERS.fullmatch(base):
        return Phone("virtual", _digits(base), extension)
    parsed = _parse_cn(base)
    if parsed is None:
        return None
    kind, e164 = parsed
    # A mobile never has an extension of its own: with one it is a platform's relay number.
    return Phone("virtual" if kind == "mobile" else kind, e164, extension)


def normalise_phone(raw: str) -> Phone:
    """Validate a phone number and return its canonical form.

    Accepts +86/0086/86 prefixes, spaces, dashes and brackets, landlines with area code,
    extensions after -, 转, 分机, ext., x or #, and virtual numbers with an extension.
    Raises FieldError("phone", reason) otherwise.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise FieldError("phone", "is empty")
    explicit = _EXPLICIT_EXTENSION.fullmatch(text)
    if explicit:
        phone = _with_extension(explicit["base"], explicit["ext"])
        if phone is None:
            raise FieldError("phone", INVALID_PHONE)
        return phone
    whole = _parse_cn(text)
    if whole is not None:
        return Phone(whole[0], whole[1])
    # "0571-8888-8888" is a whole number; only when it is not does a final "-123" mean an extension.
    dashed = _DASH_EXTENSION.fullmatch(text)
    if dashed:
        phone = _with_extension(dashed["base"], dashed["ext"])
        if phone is not None:
            return phone
    if _SERVICE_NUMBER.fullmatch(_digits(text)):
        raise FieldError("phone", "a 95xxx service number needs the recipient's extension")
    raise FieldError("phone", INVALID_PHONE)
