"""Hypothesis strategies that draw loans and their histories: any loan the engine accepts (:func:`loan_terms`), and
a loan with payments, waivers and perhaps a write-off (:func:`event_histories`). (Hypothesis calls these
*strategies*; they are not collection strategies.)"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from arrears.day_end.reference import DayEndPolicy
from arrears.domain.engine import LoanEvent, Payment, Waiver, WriteOff, replay_events
from arrears.domain.terms import Component, InterestBasis, LoanTerms, Method
from arrears.money import RoundingMode

FIRST_START = date(2020, 1, 1)
LAST_START = date(2030, 12, 31)
"""Loans start on FIRST_START .. LAST_START (or on a month end between them)."""

# Hypothesis favours small integers, so typical values are mixed in: without them most loans would carry a zero
# rate or a charge that rounds to nothing, and penalty and compound would hardly ever be exercised.
principals = st.one_of(
    st.integers(min_value=100, max_value=100_000_000),  # 1.00 .. 1,000,000.00 in minor units
    st.integers(min_value=50_000, max_value=5_000_000),  # 500.00 .. 50,000.00: a typical consumer loan
)
daily_rates = st.one_of(
    st.integers(min_value=0, max_value=98_630),  # 0 .. 0.0009863 (36% a year, arrears.bounds) in hundred-millionths
    st.sampled_from([20_000, 35_000, 50_000, 65_000, 98_630]),  # 0.0002 .. 0.0009863
).map(lambda n: Decimal(n).scaleb(-8))
multipliers = st.one_of(
    st.integers(min_value=0, max_value=150),  # 0.00 .. 1.50 (the bound, arrears.bounds)
    st.sampled_from([130, 150]),  # +30% .. +50% (银发〔2003〕251号)
).map(lambda n: Decimal(n).scaleb(-2))
month_ends = st.builds(
    lambda year, month: date(year, month, calendar.monthrange(year, month)[1]),
    st.integers(min_value=FIRST_START.year, max_value=LAST_START.year),
    st.integers(min_value=1, max_value=12),
)
starts = st.one_of(st.dates(min_value=FIRST_START, max_value=LAST_START), month_ends)


@st.composite
def loan_terms(draw: st.DrawFn, max_terms: int = 36, max_grace: int = 3) -> LoanTerms:
    """Any loan the engine accepts: every method, basis, rounding mode, overdue rule and grace of 0..3 days."""
    return LoanTerms(
        principal=draw(principals),
        daily_rate=draw(daily_rates),
        terms=draw(st.integers(min_value=1, max_value=max_terms)),
        method=draw(st.sampled_from(Method)),
        start=draw(starts),
        interest_basis=draw(st.sampled_from(InterestBasis)),
        penalty_multiplier=draw(multipliers),
        compound_overdue_interest=draw(st.booleans()),
        grace_days=draw(st.integers(min_value=0, max_value=max_grace)),
        rounding=draw(st.sampled_from(RoundingMode)),
        allocation=tuple(draw(st.permutations(list(Component)))),
    )


@st.composite
def event_histories(draw: st.DrawFn) -> tuple[LoanTerms, list[LoanEvent], DayEndPolicy]:
    """A loan with payments, waivers of what is owed, and perhaps a write-off (then maybe a recovery)."""
    terms = draw(loan_terms(max_terms=6))
    events: list[LoanEvent] = []
    day = terms.start
    for _ in range(draw(st.integers(0, 6))):
        day += timedelta(days=draw(st.integers(0, 60)))
        if draw(st.booleans()):
            events.append(Payment(day, draw(st.integers(1, max(1, terms.principal // 3)))))
            continue
        owed = replay_events(terms, events, day)
        owed.begin_day(day)
        overdue = owed.state().overdue
        component = draw(st.sampled_from([Component.PENALTY, Component.INTEREST]))
        amount = overdue.penalty if component is Component.PENALTY else overdue.interest
        if amount and owed.write_off is None:
            events.append(Waiver(day, component, draw(st.integers(1, amount))))
    if draw(st.booleans()):
        day += timedelta(days=draw(st.integers(0, 120)))
        standing = replay_events(terms, events, day)
        standing.begin_day(day)
        if standing.settled_on is None:
            events.append(WriteOff(day))
            events.append(Payment(day + timedelta(days=draw(st.integers(0, 20))), draw(st.integers(1, 10_000))))
    return terms, events, DayEndPolicy(non_accrual_dpd=draw(st.sampled_from([0, 3, 30, 90])))
