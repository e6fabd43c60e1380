"""Field types and error wording shared by every reader of outside input (product files, scenario files).

Outside input gets one rule: amounts and rates are strings of plain decimals, whole numbers are real
integers (never ``"5"``, never ``true``), dates are ``YYYY-MM-DD``; and every error says where, what and how
to fix it, in one line, so the CLI can print it as is.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, ValidationError

from arrears.errors import InputRejected
from arrears.money import FloatRefused, InvalidAmount, parse_amount, parse_rate

E = TypeVar("E", bound=StrEnum)
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits, matched whole (fullmatch)


def _amount(value: object) -> int:
    try:
        return parse_amount(value, field="value")
    except (FloatRefused, InvalidAmount) as error:  # pydantic reports ValueErrors, not TypeErrors
        raise ValueError(str(error).removeprefix("value: ")) from None


def _rate(value: object) -> Decimal:
    try:
        return parse_rate(value, field="value")
    except (FloatRefused, InvalidAmount) as error:
        raise ValueError(str(error).removeprefix("value: ")) from None


EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
"""The dates any input may name. A loan's dates lie well inside them (360 monthly terms from 2199 still end
before 2230); a date near 9999-12-31 would overflow the date arithmetic of a schedule, a grace period or a
settlement window (OverflowError), and one near 0001-01-01 the day before it."""


def parse_date(value: object) -> date:
    """A ``YYYY-MM-DD`` string as a date from :data:`EARLIEST_DATE` to :data:`LATEST_DATE`; ValueError with the
    fix otherwise."""
    if not isinstance(value, str) or not _DATE_TEXT.fullmatch(value):
        raise ValueError(f'dates are strings YYYY-MM-DD such as "2026-01-15", got {value!r}')
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date; check the month and day") from None
    if not EARLIEST_DATE <= parsed <= LATEST_DATE:
        raise ValueError(f"{value} is outside {EARLIEST_DATE} .. {LATEST_DATE}, the dates a loan may have; check it")
    return parsed


def date_option(text: str, option: str) -> date:
    """A command-line date option; :class:`arrears.errors.InputRejected` naming the option otherwise."""
    try:
        return parse_date(text)
    except ValueError as error:
        raise InputRejected(f"{option}: {error}") from None


def parse_choice(kind: type[E], value: str) -> E:
    """``value`` as a member of ``kind``; ValueError naming the allowed values otherwise."""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member) for member in kind)
        raise ValueError(f"{value!r} is not one of {allowed}") from None


Amount = Annotated[int, BeforeValidator(_amount)]
"""A plain decimal amount string, as minor units."""
Rate = Annotated[Decimal, BeforeValidator(_rate)]
"""A plain decimal rate string (at most 8 decimals), as a Decimal."""
IsoDate = Annotated[date, BeforeValidator(parse_date)]
"""A ``YYYY-MM-DD`` string, as a date."""

_FIXES = {
    "missing": "is missing; add it",
    "extra_forbidden": "is not a known setting; remove it or check its spelling",
    "int_type": "must be a whole number written without quotes, such as 10",
    "int_from_float": "must be a whole number written without quotes, such as 10",
    "bool_type": "must be true or false",
    "string_type": "must be a string in quotes",
    "list_type": "must be a list [...]",
    "tuple_type": "must be a list [...]",
    "model_type": "must be a table / object {...}",
    "dict_type": "must be a table / object {...}",
}


def _where(location: tuple[int | str, ...], tables: frozenset[str]) -> str:
    parts = [str(part) for part in location]
    if tables and parts and parts[0] in tables:  # TOML reads as [table] key
        return f"[{'.'.join(parts[:-1])}] {parts[-1]}" if len(parts) > 1 else f"[{parts[0]}]"
    return ".".join(parts)


def error_detail(item: Any) -> str:
    """One of pydantic's errors (an item of ``ValidationError.errors()``) as what is wrong and the fix."""
    detail: str = _FIXES.get(item["type"]) or item["msg"].removeprefix("Value error, ")
    if item["type"] in {"int_type", "int_from_float", "bool_type", "string_type"}:
        detail = f"{detail} (got {item['input']!r})"
    return detail


def describe_errors(error: ValidationError, source: str, tables: frozenset[str] = frozenset()) -> str:
    """A pydantic ValidationError as one line: ``source: where: what is wrong and the fix; ...``."""
    problems = [
        f"{where}: {error_detail(item)}" if (where := _where(item["loc"], tables)) else error_detail(item)
        for item in error.errors()
    ]
    return f"{source}: " + "; ".join(problems)
