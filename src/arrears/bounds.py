"""The bounds of every product, line and loan term: one definition, checked by every door where a value enters.

A product file, ``line open``, a portfolio import, the API and a scenario file all describe loans the day-end kernel
must run for years. A value outside these bounds is refused where it enters, with the field and the bound named,
never warned about and never stored: a line at 200% a day would be opened, drawn, charged and dunned, and a grace
of 10^14 days would stop every day-end of the store (the kernel's columns cannot hold it).

============================  =====================================  =================================================
Field                         Bound                                  Why
============================  =====================================  =================================================
amounts: line limits,         above 0, at most 1,000,000,000.00      a consumer line is far below it; the kernel's
drawdown minimum and          (``MAX_AMOUNT`` minor units)           int64 columns hold every sum of such amounts
multiple, a loan's principal                                         exactly (its own bound is 10^12,
                                                                     :data:`arrears.service_layer.day_end.MAX_AMOUNT`)
daily rates: a product's      0 .. 0.0009863 a day                   0.0009863 x 365 = 35.99995%: interest above 36% a
daily, min and max rate, a    (``MAX_DAILY_RATE``)                   year is void in cn (SPC private-lending provisions
line's rate, a scenario's                                            2015 art. 26: the 24%/36% lines; cash-loan notice
                                                                     整治办函〔2017〕141号: all-in cost within 36%),
                                                                     and 36% is the US Military Lending Act's MAPR
                                                                     and most states' small-loan cap (G: general
                                                                     knowledge). No lawful product here charges more
penalty multiplier            0 .. 1.5                               罚息 is the contract rate +30%..50%
                                                                     (银发〔2003〕251号, shared/RULES.md)
overdue cost: max daily rate  at most 36% a year, after the          the same 36% line: overdue interest and penalty
x multiplier x 365            reference cap's clamp                  count in the all-in cost (SPC 2020 arts. 28, 29);
                                                                     the lender's own reference cap (24%) warns,
                                                                     clamps or refuses below it
reference cap annual_rate     above 0, at most 1 (100% a year)       a rate a year; above 100% it caps nothing
terms (monthly)               1 .. 360                               30 years, the longest consumer loan (a mortgage);
                                                                     every due date stays a real calendar date
grace days                    0 .. 30                                a grace longer than a monthly period runs into
                                                                     the next due date; the kernel holds days as int32
max open loans                1 .. 100                               the sample product allows 20; more is a typo
restriction days              1 .. 3,650 (``dpd_at_least``),         ten years: past any loan's life on the books
(``dpd_at_least``,            0 .. 3,650 (``good_standing_days``)    (written off at 180 DPD in the US, 损失 at 360 in
``good_standing_days``)                                              cn)
============================  =====================================  =================================================

The pydantic field types below carry these bounds into the product and scenario models (their errors name the
field); :func:`check_terms` is what :class:`arrears.domain.terms.LoanTerms` runs on every loan however it was built, so
a
loan the bounds refuse never reaches the kernel, and one stored before they existed is quarantined by the day-end
(:mod:`arrears.service_layer.day_end_store`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, StrictInt

from arrears.errors import InputRejected
from arrears.money import format_minor
from arrears.validation import Amount, Rate

MAX_AMOUNT = 100_000_000_000
"""The largest amount (minor units) a limit, a drawdown rule or a principal may be: 1,000,000,000.00."""
MAX_ANNUAL_RATE = Decimal("0.36")
"""The all-in cost a year no lawful consumer product here charges more than (module docstring)."""
DAYS_PER_YEAR = 365
MAX_DAILY_RATE = Decimal("0.0009863")
"""The largest daily rate (8 decimals) whose daily rate x 365 stays within :data:`MAX_ANNUAL_RATE`."""
MAX_PENALTY_MULTIPLIER = Decimal("1.5")
MAX_REFERENCE_CAP = Decimal("1")
MAX_TERMS = 360
MAX_GRACE_DAYS = 30
MAX_OPEN_LOANS = 100
MAX_RULE_DAYS = 3650


def amount_problem(value: int) -> str | None:
    """Why an amount (minor units) is outside the bounds, or None."""
    if value <= 0:
        return "must be above zero"
    if value > MAX_AMOUNT:
        return f"{format_minor(value)} is above the bound of {format_minor(MAX_AMOUNT)}; check the figure"
    return None


def daily_rate_problem(value: Decimal) -> str | None:
    """Why a daily rate is outside the bounds, or None."""
    if value < 0:
        return "must not be negative"
    if value > MAX_DAILY_RATE:
        return (
            f"{value} a day is {_percent(value * DAYS_PER_YEAR)} a year; no lawful product charges above "
            f"{_percent(MAX_ANNUAL_RATE)} a year (daily rate at most {MAX_DAILY_RATE}): refused"
        )
    return None


def multiplier_problem(value: Decimal) -> str | None:
    if not 0 <= value <= MAX_PENALTY_MULTIPLIER:
        return (
            f"{value} is outside 0..{MAX_PENALTY_MULTIPLIER}: the penalty rate is the contract rate plus 30%..50% "
            "at most (银发〔2003〕251号)"
        )
    return None


def overdue_cost_problem(daily_rate: Decimal, multiplier: Decimal) -> str | None:
    """Why overdue principal at ``daily_rate`` x ``multiplier`` costs more than the all-in bound a year, or None."""
    cost = daily_rate * multiplier * DAYS_PER_YEAR
    if cost > MAX_ANNUAL_RATE:
        return (
            f"overdue principal would cost {_percent(cost)} a year at daily rate {daily_rate} x {multiplier} x 365, "
            f"above the {_percent(MAX_ANNUAL_RATE)} all-in bound; lower the multiplier or the rate, or clamp "
            'with [overdue.reference_cap] mode = "clamp"'
        )
    return None


def _whole(low: int, high: int, unit: str) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high} {unit}")
        return value

    return AfterValidator(check)


def _checked(problem: object) -> AfterValidator:
    def check(value: object) -> object:
        found = problem(value)  # type: ignore[operator]
        if found is not None:
            raise ValueError(found)
        return value

    return AfterValidator(check)


def _reference_cap(value: Decimal) -> str | None:
    if not 0 < value <= MAX_REFERENCE_CAP:
        return f"{value} is outside 0..1 (a rate a year: 0.24 is 24%)"
    return None


BoundedAmount = Annotated[Amount, _checked(amount_problem)]
"""An amount string within 0 < x <= :data:`MAX_AMOUNT`."""
DailyRate = Annotated[Rate, _checked(daily_rate_problem)]
"""A daily rate string within 0 .. :data:`MAX_DAILY_RATE`."""
PenaltyMultiplier = Annotated[Rate, _checked(multiplier_problem)]
ReferenceCapRate = Annotated[Rate, _checked(_reference_cap)]
Terms = Annotated[StrictInt, _whole(1, MAX_TERMS, "monthly terms")]
GraceDays = Annotated[StrictInt, _whole(0, MAX_GRACE_DAYS, "days")]
OpenLoans = Annotated[StrictInt, _whole(1, MAX_OPEN_LOANS, "loans")]
RuleDays = Annotated[StrictInt, _whole(1, MAX_RULE_DAYS, "days")]
StandingDays = Annotated[StrictInt, _whole(0, MAX_RULE_DAYS, "days")]


def check_terms(
    *, principal: int, daily_rate: Decimal, penalty_multiplier: Decimal, terms: int, grace_days: int
) -> None:
    """The bounds of one loan's terms (what :class:`arrears.domain.terms.LoanTerms` checks on every loan); an
    :class:`InputRejected` naming the field and the bound otherwise."""
    problems = {
        "principal": amount_problem(principal),
        "daily rate": daily_rate_problem(daily_rate),
        "penalty multiplier": multiplier_problem(penalty_multiplier),
        "terms": None if 1 <= terms <= MAX_TERMS else f"{terms} is outside 1..{MAX_TERMS} monthly terms",
        "grace days": None if 0 <= grace_days <= MAX_GRACE_DAYS else f"{grace_days} is outside 0..{MAX_GRACE_DAYS}",
    }
    for field, problem in problems.items():
        if problem is not None:
            raise InputRejected(f"{field}: {problem}")


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.001')).normalize():f}%"
