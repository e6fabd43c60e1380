"""Repayment schedules: equal principal (等额本金), equal instalment (等额本息), interest-first (先息后本).

The contract, with P the principal, n the terms, d the daily rate, r = 30 d the period rate, B_0 = P and
B_k = B_{k-1} - principal_k; every formula is evaluated exactly and rounded once ("round") in the loan's mode:

- equal principal: principal_k = round(P / n) for k < n; the last installment takes the remainder;
- equal instalment: EMI = round(P r (1+r)^n / ((1+r)^n - 1)); principal_k = EMI - round(B_{k-1} r) for k < n;
  the last takes the remaining balance; at a zero rate it is equal principal;
- interest-first: principal_k = 0 for k < n; the last takes P;
- interest_k: basis ``period``: round(B_{k-1} r); basis ``actual``: round(B_{k-1} d days_k) with
  days_k = due_k - due_{k-1} and due_0 the start date. (So under the actual basis an equal-instalment loan's
  payments vary a little with each month's length: the principal part follows the period schedule.)

Worked example (shared/RULES.md): 2,500.00 over 5 terms, equal principal, actual basis, d = 0.0005, start
2026-05-15. Due dates 06-15, 07-15, 08-15, 09-15, 10-15 (31, 30, 31, 31, 30 days); balances 2500, 2000, 1500,
1000, 500; interest 2500 x 0.0005 x 31 = 38.75, then 30.00, 23.25, 15.50, 7.50; principal 500.00 each.

A schedule that would hold a negative amount (a tiny principal over many terms, where the rounded parts add
up to more than the loan) is refused with :class:`ScheduleRefused`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import lru_cache

from arrears.domain.dates import due_date
from arrears.domain.terms import InterestBasis, LoanTerms, Method
from arrears.errors import InputRejected
from arrears.money import RoundingMode, rate_fraction, round_to_minor

PERIOD_DAYS = 30
"""Days in a period for the period rate r = 30 x daily rate (and for the ``period`` interest basis)."""


class ScheduleRefused(InputRejected):
    """The terms give a schedule with a negative amount; choose fewer terms or a larger principal."""


@dataclass(frozen=True, slots=True)
class ScheduledInstallment:
    """One row of the contractual schedule, in minor units."""

    number: int
    due_date: date
    days: int
    """Days in the period: due_date minus the previous due date (or the start)."""
    opening_balance: int
    """B_{k-1}: principal outstanding during the period, on which the period's interest is computed."""
    principal: int
    interest: int

    @property
    def payment(self) -> int:
        return self.principal + self.interest


@dataclass(frozen=True, slots=True)
class Schedule:
    """The contractual schedule of one loan, before any payment or charge."""

    installments: tuple[ScheduledInstallment, ...]

    def __iter__(self) -> Iterator[ScheduledInstallment]:
        return iter(self.installments)

    def __len__(self) -> int:
        return len(self.installments)

    @property
    def total_principal(self) -> int:
        return sum(i.principal for i in self.installments)

    @property
    def total_interest(self) -> int:
        return sum(i.interest for i in self.installments)

    @property
    def total_payment(self) -> int:
        return self.total_principal + self.total_interest


def equal_installment_payment(principal: int, period_rate: Fraction, terms: int, mode: RoundingMode) -> int:
    """EMI = round(P r (1+r)^n / ((1+r)^n - 1)), exact before the one rounding; P / n at a zero rate."""
    if period_rate == 0:
        return round_to_minor(Fraction(principal, terms), mode)
    growth = (1 + period_rate) ** terms
    return round_to_minor(principal * period_rate * growth / (growth - 1), mode)


def _principal_parts(terms: LoanTerms, period_rate: Fraction) -> list[int]:
    """Principal of each installment, per the method's formula; the last takes what remains."""
    n, total, mode = terms.terms, terms.principal, terms.rounding
    if terms.method is Method.INTEREST_FIRST:
        parts = [0] * (n - 1)
    elif terms.method is Method.EQUAL_PRINCIPAL or period_rate == 0:
        parts = [round_to_minor(Fraction(total, n), mode)] * (n - 1)
    else:
        emi = equal_installment_payment(total, period_rate, n, mode)
        parts, balance = [], total
        for _ in range(n - 1):
            part = emi - round_to_minor(balance * period_rate, mode)
            parts.append(part)
            balance -= part
    parts.append(total - sum(parts))
    return parts


@lru_cache(maxsize=65536)
def build_schedule(terms: LoanTerms) -> Schedule:
    """The contractual schedule of ``terms``; raises :class:`ScheduleRefused` if any amount would be negative.

    Memoised: terms and schedules are frozen values, and a command replays its loan more than once.
    """
    daily = rate_fraction(terms.daily_rate)
    period_rate = daily * PERIOD_DAYS
    parts = _principal_parts(terms, period_rate)
    if min(parts) < 0:  # rounded parts add up to more than the loan, so the remainder goes negative
        number = next(n for n, part in enumerate(parts, start=1) if part < 0)
        raise ScheduleRefused(
            f"{terms.method} over {terms.terms} terms of a {terms.principal}-minor-unit principal gives "
            f"installment {number} a negative principal ({parts[number - 1]}); use fewer terms or a larger principal"
        )
    rows: list[ScheduledInstallment] = []
    balance, previous_due = terms.principal, terms.start
    for number, principal in enumerate(parts, start=1):
        due = due_date(terms.start, number)
        days = (due - previous_due).days
        if terms.interest_basis is InterestBasis.PERIOD:
            interest = round_to_minor(balance * period_rate, terms.rounding)
        else:
            interest = round_to_minor(balance * daily * days, terms.rounding)
        rows.append(ScheduledInstallment(number, due, days, balance, principal, interest))
        balance -= principal
        previous_due = due
    return Schedule(tuple(rows))
