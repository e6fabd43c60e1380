"""Money and rates: integer minor units, exact rationals, and one rounding door.

Every amount in `arrears` is an ``int`` of minor units (fen for CNY, cents for USD). Every rate is a
``Decimal`` parsed from text (a product file or a JSON string), never from a float. Formulas are evaluated
exactly, as ``fractions.Fraction`` of integers, and turned into money once, by :func:`round_to_minor`, in a
rounding mode that the caller names. So a formula that the contract writes as ``round(P * r * days)`` is
``round_to_minor(P * r * days, mode)`` here, and nothing in between can lose a cent.

Floats are refused everywhere with :class:`FloatRefused` (a ``TypeError``): 0.1 + 0.2 is not money.

>>> parse_amount("1084.34", field="amount")
108434
>>> format_minor(108434)
'1084.34'
>>> round_to_minor(Fraction(5, 2), RoundingMode.HALF_UP), round_to_minor(Fraction(5, 2), RoundingMode.HALF_EVEN)
(3, 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Final

from arrears.errors import InputRejected

MINOR_PER_MAJOR: Final = 100
"""Both currencies we ship (CNY, USD) have two decimals; a currency with another exponent needs this per currency."""

_AMOUNT_TEXT: Final = re.compile(r"[0-9]{1,15}(\.[0-9]{1,2})?")
"""ASCII digits only, at most 15 before the point: 999 trillion, far past any loan, far inside 64-bit minor units.
Matched with ``fullmatch``: ``$`` in ``re.match`` also matches before a final newline, which let "100\\n" in."""
_RATE_TEXT: Final = re.compile(r"[0-9]+(\.[0-9]{1,8})?")
"""ASCII digits only (``\\d`` would take fullwidth and Arabic-Indic ones), matched whole: no trailing newline."""


class FloatRefused(InputRejected, TypeError):
    """A float reached a money or rate path. Pass a string such as "0.0005" or a Decimal instead."""


class InvalidAmount(InputRejected):
    """Text that is not a plain decimal amount (or rate) with the allowed number of decimals."""


class RoundingMode(StrEnum):
    """How an exact result becomes a whole number of minor units. Ties are the only case that differs."""

    HALF_UP = "half-up"
    """Ties away from zero (2.5 -> 3, -2.5 -> -3): the usual convention in Chinese lending contracts."""
    HALF_EVEN = "half-even"
    """Ties to the even neighbour (2.5 -> 2, 3.5 -> 4): banker's rounding, unbiased over many postings."""


def round_div(numerator: int, denominator: int, mode: RoundingMode) -> int:
    """``numerator / denominator`` rounded to an integer in ``mode``, in integer arithmetic only.

    This is the hot path of daily charges, so it avoids building Fractions.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        return -round_div(-numerator, denominator, mode)
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and (mode is RoundingMode.HALF_UP or quotient % 2 == 1)):
        return quotient + 1
    return quotient


def round_to_minor(value: Fraction | int, mode: RoundingMode) -> int:
    """An exact amount of minor units (possibly fractional) rounded once to a whole number of minor units."""
    if isinstance(value, float):
        raise FloatRefused("a float is not money; compute with Fraction or Decimal")
    exact = Fraction(value)
    return round_div(exact.numerator, exact.denominator, mode)


def rate_fraction(rate: Decimal) -> Fraction:
    """A Decimal rate as an exact Fraction (Fraction(Decimal) is exact; a float never gets here)."""
    if isinstance(rate, float):
        raise FloatRefused("a rate must be a Decimal or a string, not a float")
    return Fraction(rate)


def parse_amount(text: object, *, field: str) -> int:
    """Amount text such as ``"2500"`` or ``"560.50"`` as minor units; anything else is an :class:`InvalidAmount`.

    Only plain decimals are accepted: no sign, no exponent, no underscores, at most two decimals. JSON numbers
    (int or float) are refused too, because a JSON number has already lost the author's decimals.
    """
    if isinstance(text, float):
        raise FloatRefused(f'{field}: a float is not money; write the amount as a string such as "560.50"')
    if not isinstance(text, str):
        raise InvalidAmount(f'{field}: amounts are strings such as "560.50", got {text!r}')
    if not _AMOUNT_TEXT.fullmatch(text):
        raise InvalidAmount(
            f"{field}: {text[:40]!r} is not a plain amount; write at most 15 digits with at most two decimals, "
            'such as "560.50"'
        )
    units, _, cents = text.partition(".")
    return int(units) * MINOR_PER_MAJOR + int(cents.ljust(2, "0") or "0")


def parse_rate(text: object, *, field: str) -> Decimal:
    """Rate text such as ``"0.0005"`` (at most 8 decimals, no sign or exponent) as a Decimal."""
    if isinstance(text, float):
        raise FloatRefused(f'{field}: a float is not a rate; write it as a string such as "0.0005"')
    if isinstance(text, Decimal):
        text = str(text)
    if not isinstance(text, str):
        raise InvalidAmount(f'{field}: rates are strings such as "0.0005", got {text!r}')
    if not _RATE_TEXT.fullmatch(text):
        raise InvalidAmount(
            f'{field}: {text[:40]!r} is not a plain rate; write digits with at most 8 decimals, such as "0.0005"'
        )
    return Decimal(text)


def format_minor(minor: int) -> str:
    """Minor units as text with exactly two decimals: 108434 -> "1084.34", -5 -> "-0.05"."""
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), MINOR_PER_MAJOR)
    return f"{sign}{units}.{cents:02d}"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units with its currency; mixing currencies is a ``TypeError``.

    The engine computes in plain ints of one loan's currency; Money is the value at the edges (credit lines,
    reports) where amounts of several loans meet.
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, float) or not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise FloatRefused(f"Money takes integer minor units, got {self.minor!r}")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"currency must be an ISO 4217 code such as CNY, got {self.currency!r}")

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        return cls(parse_amount(text, field="amount"), currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise TypeError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __str__(self) -> str:
        return f"{format_minor(self.minor)} {self.currency}"
