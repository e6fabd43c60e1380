"""Schedules: the contract's formulas, pinned with hand-checked examples."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from arrears.domain.schedule import ScheduleRefused, build_schedule
from arrears.domain.terms import InterestBasis, LoanTerms, Method
from arrears.money import RoundingMode


def _terms(principal: int, rate: str, terms: int, method: Method, basis: InterestBasis, start: date) -> LoanTerms:
    return LoanTerms(
        principal=principal, daily_rate=Decimal(rate), terms=terms, method=method, start=start, interest_basis=basis
    )


def test_worked_example_from_the_rules() -> None:
    """shared/RULES.md: 2,500 over 5 periods at 0.05%/day, equal principal, actual days."""
    schedule = build_schedule(
        _terms(250000, "0.0005", 5, Method.EQUAL_PRINCIPAL, InterestBasis.ACTUAL, date(2026, 5, 15))
    )
    assert [row.interest for row in schedule] == [3875, 3000, 2325, 1550, 750]
    assert [row.principal for row in schedule] == [50000] * 5
    assert [row.days for row in schedule] == [31, 30, 31, 31, 30]
    assert schedule.total_payment == 261500


def test_equal_installment_period_basis_matches_the_cli_contract_example() -> None:
    """EMI = round(10000 x 0.015 x 1.015^10 / (1.015^10 - 1)) = 1084.34 (exact: 1084.3418...)."""
    schedule = build_schedule(
        _terms(1000000, "0.0005", 10, Method.EQUAL_INSTALLMENT, InterestBasis.PERIOD, date(2026, 1, 15))
    )
    rows = list(schedule)
    assert [row.payment for row in rows[:-1]] == [108434] * 9
    assert (rows[0].principal, rows[0].interest) == (93434, 15000)
    # B1 = 10000.00 - 934.34 = 9065.66; interest round(9065.66 x 0.015) = round(135.9849) = 135.98
    assert (rows[1].interest, rows[1].principal) == (13598, 108434 - 13598)
    assert schedule.total_principal == 1000000
    assert rows[-1].principal == 1000000 - sum(row.principal for row in rows[:-1])


def test_equal_installment_actual_basis_keeps_the_period_principal() -> None:
    period = build_schedule(
        _terms(1000000, "0.0005", 10, Method.EQUAL_INSTALLMENT, InterestBasis.PERIOD, date(2026, 1, 15))
    )
    actual = build_schedule(
        _terms(1000000, "0.0005", 10, Method.EQUAL_INSTALLMENT, InterestBasis.ACTUAL, date(2026, 1, 15))
    )
    assert [r.principal for r in actual] == [r.principal for r in period]
    # February 2026 has 28 days: 10000.00 x 0.0005 x 31 (Jan 15 -> Feb 15) = 155.00; then 9065.66 x 0.0005 x 28
    assert actual.installments[0].interest == 15500
    assert actual.installments[1].interest == 12692  # 126.9192 -> 126.92


def test_due_dates_take_the_day_from_the_start() -> None:
    schedule = build_schedule(
        _terms(300000, "0.0005", 4, Method.EQUAL_PRINCIPAL, InterestBasis.ACTUAL, date(2027, 12, 31))
    )
    assert [r.due_date for r in schedule] == [
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]
    assert [r.days for r in schedule] == [31, 29, 31, 30]


def test_zero_rate_equal_installment_is_equal_principal() -> None:
    zero = build_schedule(_terms(100000, "0", 3, Method.EQUAL_INSTALLMENT, InterestBasis.ACTUAL, date(2026, 1, 1)))
    assert [(r.principal, r.interest) for r in zero] == [(33333, 0), (33333, 0), (33334, 0)]


def test_interest_first() -> None:
    schedule = build_schedule(
        _terms(1000000, "0.0005", 3, Method.INTEREST_FIRST, InterestBasis.PERIOD, date(2026, 3, 10))
    )
    assert [(r.principal, r.interest) for r in schedule] == [(0, 15000), (0, 15000), (1000000, 15000)]


def test_half_even_rounding_of_the_principal_part() -> None:
    """2.50 over 4: 0.625 a month: half-up 0.63 x 3 + 0.61; half-even 0.62 x 3 + 0.64."""
    base = _terms(250, "0", 4, Method.EQUAL_PRINCIPAL, InterestBasis.ACTUAL, date(2026, 1, 1))
    up = build_schedule(base)
    even = build_schedule(replace(base, rounding=RoundingMode.HALF_EVEN))
    assert [r.principal for r in up] == [63, 63, 63, 61]
    assert [r.principal for r in even] == [62, 62, 62, 64]


def test_a_schedule_with_a_negative_amount_is_refused() -> None:
    with pytest.raises(ScheduleRefused, match="installment 10 a negative principal"):
        build_schedule(_terms(5, "0.0005", 10, Method.EQUAL_PRINCIPAL, InterestBasis.ACTUAL, date(2026, 1, 1)))
