"""Waybill numbers: a carrier prefix, 14 random digits and a Damm check digit.

The 14 digits come from the operating system's random source (`os.urandom`), so issued
numbers are sparse in a space of 10^14 and cannot be guessed from one another. The Damm
check digit catches every single-digit error and every adjacent transposition; Luhn and
ISO 7064 MOD 11-10 each miss about 2% of adjacent transpositions (for example 09 <-> 90
under Luhn), and MOD 11-2 needs an "X".

Internal waybill ids (never printed) are time-ordered instead, laid out like UUIDv7.
"""

from __future__ import annotations

import re
import time
from os import urandom

DEFAULT_PREFIX = "PW"
RANDOM_DIGITS = 14
_PREFIX = re.compile(r"[A-Z]{2}")
_WAYBILL_NO = re.compile(rf"([A-Z]{{2}})([0-9]{{{RANDOM_DIGITS + 1}}})")


# Damm's operation table (a weakly totally anti-symmetric quasigroup of order 10, as in
# python-stdnum, which the tests check this against), each row indexed by a digit's ASCII
# code: a number is issued per waybill, and stdnum's general loop (int() of every character)
# cost about 1% of preparing a waybill. Numbers are checked with it too: importing stdnum
# pulls in ssl and urllib, 10 ms of every command's start.
_DAMM_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
_DAMM_BY_CODE = tuple((0,) * ord("0") + row for row in _DAMM_TABLE)


def damm_check_digit(digits: str) -> str:
    """The Damm check digit of a string of ASCII digits."""
    interim = 0
    for code in digits.encode("ascii"):
        interim = _DAMM_BY_CODE[interim][code]
    return "0123456789"[interim]


def is_valid_waybill_no(number: str) -> bool:
    """True when `number` has the waybill shape and its check digit matches."""
    match = _WAYBILL_NO.fullmatch(number)
    # A Damm check digit makes the interim digit of the whole number, itself included, zero.
    return match is not None and damm_check_digit(match.group(2)) == "0"


# Random bytes drawn per system call: 4 KiB serve 136 waybills.
_DRAWN_BYTES = 4096
_ID_RANDOM_BYTES = 10
_NUMBER_BYTES = 8
_PUBLIC_ID_BYTES = 12
_PER_WAYBILL = _ID_RANDOM_BYTES + _NUMBER_BYTES + _PUBLIC_ID_BYTES
_NUMBER_SPACE = 10**RANDOM_DIGITS
# A body is 8 random bytes modulo 10^14; draws at or above this bound are drawn again, so
# every body is equally likely (a redraw happens about once in 190,000 numbers).
_UNBIASED_BELOW = 2**64 - 2**64 % _NUMBER_SPACE


class WaybillIdentifiers:
    """Fresh identifiers for a run of waybills: internal id, waybill number and public id.

    Each waybill used to draw its three in three system calls, the number through
    `secrets.randbelow` (Python code over `os.urandom`): 28,600 instructions. Bytes drawn
    from `os.urandom` a few KiB at a time are as unpredictable as separate draws: 17,400.
    Make one per chunk of waybills and never keep one across a fork: a forked copy would
    hand out the same bytes in both processes. Uniqueness is the store's job.
    """

    __slots__ = ("_prefix", "_drawn", "_at")

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        if not _PREFIX.fullmatch(prefix):
            raise ValueError("waybill prefix must be two uppercase letters A-Z")
        self._prefix = prefix
        self._drawn = b""
        self._at = 0

    def __repr__(self) -> str:
        return f"WaybillIdentifiers({self._prefix!r})"  # never the bytes still to be handed out

    def _take(self, count: int) -> bytes:
        at = self._at
        if at + count > len(self._drawn):
            self._drawn, at = urandom(_DRAWN_BYTES), 0
        self._at = at + count
        return self._drawn[at : at + count]

    def draw(self) -> tuple[str, str, bytes]:
        """(internal id, waybill number, public id) for one new waybill.

        The id is 32 hex digits: milliseconds since the epoch (48 bits), then 80 random bits.
        It keys the waybill, its sealed record and its events. A random id (uuid4) put each
        new row at a random place in those three indexes, and a bulk insert rewrote pages all
        over them; ids that grow with time append, which cut SQLite's share of issuance by
        about a third (measured on 30,000 waybills). 80 random bits keep ids of the same
        millisecond apart; they reveal nothing the stored creation time does not.

        The number reads like ``PW384019283746502``. The public id is 12 random bytes, which
        the waybill's signed tracking references carry (see issuance.references) instead of
        its number.
        """
        drawn = self._take(_PER_WAYBILL)
        number = int.from_bytes(drawn[_ID_RANDOM_BYTES : _ID_RANDOM_BYTES + _NUMBER_BYTES])
        while number >= _UNBIASED_BELOW:
            number = int.from_bytes(self._take(_NUMBER_BYTES))
        body = str(number % _NUMBER_SPACE).zfill(RANDOM_DIGITS)
        return (
            ((time.time_ns() // 1_000_000).to_bytes(6) + drawn[:_ID_RANDOM_BYTES]).hex(),
            f"{self._prefix}{body}{damm_check_digit(body)}",
            drawn[_ID_RANDOM_BYTES + _NUMBER_BYTES :],
        )
