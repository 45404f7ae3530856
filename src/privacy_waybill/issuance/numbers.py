"""Waybill numbers: a carrier prefix, 14 random digits and a Damm check digit.

The 14 digits come from `secrets`, so issued numbers are sparse in a space of 10^14 and
cannot be guessed from one another. The Damm check digit catches every single-digit error
and every adjacent transposition; Luhn and ISO 7064 MOD 11-10 each miss about 2% of
adjacent transpositions (for example 09 <-> 90 under Luhn), and MOD 11-2 needs an "X".

Internal waybill ids (never printed) are time-ordered instead, laid out like UUIDv7.
"""

from __future__ import annotations

import os
import re
import secrets
import time

from stdnum import damm

DEFAULT_PREFIX = "PW"
RANDOM_DIGITS = 14
_PREFIX = re.compile(r"[A-Z]{2}")
_WAYBILL_NO = re.compile(rf"([A-Z]{{2}})([0-9]{{{RANDOM_DIGITS + 1}}})")


def new_waybill_no(prefix: str = DEFAULT_PREFIX) -> str:
    """A fresh number such as ``PW384019283746502``; uniqueness is the store's job."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError("waybill prefix must be two uppercase letters A-Z")
    body = f"{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"
    return f"{prefix}{body}{damm.calc_check_digit(body)}"


def is_valid_waybill_no(number: str) -> bool:
    """True when `number` has the waybill shape and its check digit matches."""
    match = _WAYBILL_NO.fullmatch(number)
    return match is not None and damm.is_valid(match.group(2))


def new_waybill_id() -> str:
    """32 hex digits: milliseconds since the epoch (48 bits), then 80 random bits.

    The id keys the waybill, its sealed record and its events. A random id (uuid4) put each
    new row at a random place in those three indexes, and a bulk insert rewrote pages all
    over them; ids that grow with time append, which cut SQLite's share of issuance by about
    a third (measured on 30,000 waybills). 80 random bits keep ids of the same millisecond
    apart; they reveal nothing the stored creation time does not.
    """
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"
