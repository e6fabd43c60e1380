"""The day-end: the scalar specification (arrears.day_end.reference) checked by hand, and the vectorized pipeline
(arrears.day_end.kernel) checked against it on random portfolios, every field, every day, to the cent."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.day_end.columns import (
    LoanBatch,
    day_number,
    from_arrow,
    loan_state,
    opening_state,
    reference_state,
    to_arrow,
)
from arrears.day_end.kernel import day_end, mul_div_round
from arrears.day_end.reference import (
    DayEnd,
    DayEndPolicy,
    LoanDayEnds,
    Transition,
    balances_during,
    day_end_state_through,
)
from arrears.domain.engine import LoanEvent, Payment
from arrears.domain.ledger import Account
from arrears.domain.scenario import load_scenario
from arrears.domain.schedule import ScheduleRefused, build_schedule
from arrears.domain.terms import LoanTerms, Method
from arrears.domain.views import state_view
from arrears.errors import InputRejected
from arrears.money import RoundingMode, round_div
from tests.support.hypothesis_strategies import event_histories, loan_terms
from tests.support.paths import SCENARIOS

AGEING = SCENARIOS / "cn_ageing.json"  # 2,500.00, 5 x equal principal, d 0.0005, from 2026-05-15, never paid


def _run(
    terms: LoanTerms, payments: tuple[Payment, ...], last: date, policy: DayEndPolicy | None = None
) -> dict[date, DayEnd]:
    loan = LoanDayEnds(terms, payments, policy)
    results, day = {}, terms.start
    while day <= last:
        result = loan.run(day)
        assert result is not None
        results[day] = result
        day += timedelta(days=1)
    return results


# -- the specification, by hand ----------------------------------------------------------------------------------


def test_daily_accrual_by_hand() -> None:
    """Period 1 is 31 days with interest 38.75: accrued-to-date is round(3875 x k / 31) = 125 k fen, so each
    day-end 05-16 .. 06-14 accrues 1.25; on the due date 06-15 the period's 38.75 is billed, and the accrual
    account empties (37.50 accrued before, 1.25 for the last day)."""
    scenario = load_scenario(AGEING)
    days = _run(scenario.terms, (), date(2026, 6, 15))
    assert days[date(2026, 5, 15)].postings == {}  # the start day: nothing has accrued yet
    assert days[date(2026, 5, 16)].postings == {Account.INTEREST_ACCRUED: 125, Account.INTEREST_INCOME: -125}
    assert days[date(2026, 6, 14)].standing.accrued == 3750
    assert days[date(2026, 6, 15)].postings == {
        Account.INTEREST_RECEIVABLE: 3875,
        Account.INTEREST_ACCRUED: -3750,
        Account.INTEREST_INCOME: -125,
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(terms=loan_terms(max_terms=6))
def test_daily_accruals_add_up_to_the_interest_billed(terms: LoanTerms) -> None:
    """Protects the issue's rule: the day's accrual is accrued-to-date(D) minus accrued-to-date(D-1), each
    rounded once, so over each period (nothing paid) the interest recognised adds up to exactly the
    installment's scheduled interest, for every method, basis and rounding mode."""
    try:
        schedule = build_schedule(terms)
    except ScheduleRefused:
        return
    days = _run(terms, (), schedule.installments[-1].due_date)
    since = terms.start
    for row in schedule:
        period = [days[since + timedelta(days=k)].postings for k in range(1, (row.due_date - since).days + 1)]
        accruals = [p.get(Account.INTEREST_ACCRUED, 0) for p in period[:-1]]
        assert all(amount >= 0 for amount in accruals)
        billed = period[-1].get(Account.INTEREST_RECEIVABLE, 0)
        assert sum(accruals) + period[-1].get(Account.INTEREST_ACCRUED, 0) + billed == row.interest
        assert billed == row.interest
        since = row.due_date


def test_non_accrual_by_hand() -> None:
    """Never paid: DPD 91 on 2026-09-14 (installment 1 was due 06-15). That day-end the loan becomes
    non-accrual, and what it recognises goes to income_suspense, not income: the accrual of period 4 (15.50
    over 31 days: 15.00 to 14.50, 0.50), penalty on three overdue principals (round(500.00 x 0.00075) = 0.38
    each) and compound on their interest (38.75, 30.00, 23.25 x 0.00075 = 0.03, 0.02, 0.02): 1.71 in all."""
    scenario = load_scenario(AGEING)
    days = _run(scenario.terms, (), date(2026, 9, 15))
    before, on = days[date(2026, 9, 13)], days[date(2026, 9, 14)]
    assert not before.standing.non_accrual and on.standing.non_accrual
    assert [event.kind for event in on.events] == [
        Transition.ROLLED,
        Transition.RECLASSIFIED,
        Transition.ENTERED_NON_ACCRUAL,
    ]
    assert on.postings == {
        Account.INTEREST_ACCRUED: 50,
        Account.PENALTY_RECEIVABLE: 3 * 38 + 3 + 2 + 2,
        Account.INCOME_SUSPENSE: -171,
    }
    assert Account.PENALTY_INCOME in before.postings  # the day before, still income


def test_cure_returns_to_accrual_and_releases_the_suspense() -> None:
    """Paying everything overdue on a non-accrual loan cures it (DPD 0): the suspense is released to income
    and the loan returns to accrual; the events say so."""
    scenario = load_scenario(AGEING)
    days = _run(scenario.terms, (), date(2026, 9, 20))
    owed = LoanDayEnds(scenario.terms, ())
    for day in days:
        owed.run(day)
    due = owed.replay.due_total(date(2026, 9, 21))
    suspense = -days[date(2026, 9, 20)].standing.balances()[Account.INCOME_SUSPENSE]
    loan = LoanDayEnds(scenario.terms, (Payment(date(2026, 9, 21), due),))
    for day in days:
        loan.run(day)
    cured = loan.run(date(2026, 9, 21))
    assert cured is not None and cured.standing.days_past_due == 0 and not cured.standing.non_accrual
    assert {e.kind for e in cured.events} >= {Transition.CURED, Transition.RETURNED_TO_ACCRUAL}
    assert cured.postings[Account.INCOME_SUSPENSE] == suspense > 0
    assert cured.standing.balances()[Account.INCOME_SUSPENSE] == 0


# -- the pipeline against the specification --------------------------------------------------------------------


@dataclass(frozen=True)
class Portfolio:
    loans: tuple[tuple[LoanTerms, tuple[Payment, ...]], ...]
    days: int
    policy: DayEndPolicy


@st.composite
def portfolios(draw: st.DrawFn) -> Portfolio:
    """2..5 loans starting within three weeks of each other, each with 0..8 payments (exact installment amounts
    on and around due dates mixed with arbitrary ones), run for up to 420 day-ends, with a non-accrual
    threshold drawn low enough that loans enter and leave non-accrual."""
    base = draw(st.dates(min_value=date(2021, 1, 1), max_value=date(2030, 1, 1)))
    loans = []
    for _ in range(draw(st.integers(min_value=2, max_value=5))):
        terms = replace(draw(loan_terms(max_terms=12)), start=base + timedelta(days=draw(st.integers(0, 20))))
        try:
            schedule = build_schedule(terms)
        except ScheduleRefused:
            continue
        amounts = st.one_of(
            st.integers(min_value=1, max_value=schedule.total_payment),
            st.sampled_from([row.payment for row in schedule if row.payment] or [1]),
        )
        dues = [(row.due_date - terms.start).days for row in schedule]
        offsets = st.one_of(
            st.integers(min_value=0, max_value=420),
            st.builds(lambda due, lag: due + lag, st.sampled_from(dues), st.integers(-3, 5)).filter(lambda d: d >= 0),
        )
        payments = draw(
            st.lists(
                st.builds(lambda d, a, start=terms.start: Payment(start + timedelta(days=d), a), offsets, amounts),
                max_size=8,
            )
        )
        loans.append((terms, tuple(payments)))
    return Portfolio(
        tuple(loans),
        draw(st.integers(min_value=1, max_value=420)),
        DayEndPolicy(draw(st.sampled_from([0, 3, 10, 30, 90]))),
    )


def _payments_of(loans: tuple[tuple[LoanTerms, tuple[Payment, ...]], ...], day: date) -> tuple[np.ndarray, np.ndarray]:
    index = [i for i, (_, paid) in enumerate(loans) for p in paid if p.value_date == day]
    amount = [p.amount for _, paid in loans for p in paid if p.value_date == day]
    return np.array(index, dtype=np.int64), np.array(amount, dtype=np.int64)


def _assert_agree(
    batch: LoanBatch,
    index: int,
    loan_id: str,
    reference: DayEnd,
    result_tables: tuple[Any, ...],
    day: date,
    loan: LoanDayEnds,
) -> None:
    events, postings = result_tables
    assert state_view(loan_state(batch, index, day)) == state_view(loan.replay.state()), f"{loan_id} state on {day}"
    standing = reference.standing
    assert int(batch.accrued[index]) == standing.accrued
    assert int(batch.suspended_interest[index]) == standing.suspended_interest
    assert int(batch.suspended_penalty[index]) == standing.suspended_penalty
    assert bool(batch.non_accrual[index]) == standing.non_accrual
    assert int(batch.interest_billed[index]) == standing.recognised_interest - standing.accrued
    assert int(batch.received[index]) == standing.totals.received
    mine = [(e["kind"], e["before"], e["after"]) for e in events if e["loan_id"] == loan_id]
    assert mine == [(e.kind.value, e.before, e.after) for e in reference.events], f"{loan_id} events on {day}"
    mine_postings = {p["account"]: p["amount"] for p in postings if p["loan_id"] == loan_id}
    assert mine_postings == {k.value: v for k, v in reference.postings.items()}, f"{loan_id} postings on {day}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(portfolio=portfolios())
def test_pipeline_equals_the_reference_every_day(portfolio: Portfolio) -> None:
    """The central promise of the day-end issue: N day-ends through the vectorized pipeline give the same
    state (the simulate view of every installment), accrual, suspense, status, events and postings as the
    scalar reference, every loan, every day, to the cent. The state goes through Arrow every day, as a runner
    would store it."""
    loans = portfolio.loans
    ids = [f"L{i}" for i in range(len(loans))]
    references = [LoanDayEnds(terms, payments, portfolio.policy) for terms, payments in loans]
    batch = from_arrow(opening_state(ids, [terms for terms, _ in loans]))
    day = min(terms.start for terms, _ in loans)
    for _ in range(portfolio.days):
        index, amount = _payments_of(loans, day)
        result = day_end(batch, day_number(day), index, amount, portfolio.policy)
        stored = to_arrow(result.batch)
        batch = from_arrow(stored)
        tables = (result.events.to_pylist(), result.postings.to_pylist())
        for i, reference in enumerate(references):
            expected = reference.run(day)
            if expected is not None:
                _assert_agree(batch, i, ids[i], expected, tables, day, reference)
                # the reference's own row for the loan (how the store hands a loan over to the kernel) is the
                # pipeline's row, every column
                mine = reference_state([(ids[i], reference.replay, expected.standing)]).to_pylist()
                assert mine == stored.slice(i, 1).to_pylist(), f"{ids[i]} columns on {day}"
        assert sum(result.totals.values()) == 0
        day += timedelta(days=1)


def test_pipeline_equals_the_reference_on_every_hand_checked_scenario() -> None:
    """All the scenario files as one portfolio, 420 day-ends: the pipeline agrees with the reference."""
    scenarios = [load_scenario(path) for path in sorted(SCENARIOS.glob("*.json"))]
    test_pipeline_equals_the_reference_every_day.hypothesis.inner_test(  # type: ignore[attr-defined]
        Portfolio(tuple((s.terms, s.payments) for s in scenarios), 420, DayEndPolicy())
    )


# -- integer bounds ---------------------------------------------------------------------------------------------


@st.composite
def rate_fractions(draw: st.DrawFn) -> tuple[int, int]:
    """A rate of at most 1 as a fraction with up to 16 decimals: an 8-decimal rate times an 8-decimal multiplier."""
    den = draw(st.one_of(st.integers(min_value=1, max_value=10**16), st.just(10**16)))
    return draw(st.integers(min_value=0, max_value=den)), den


@given(x=st.integers(min_value=0, max_value=10**10 * 400), rate=rate_fractions(), mode=st.sampled_from(RoundingMode))
def test_mul_div_round_is_exact_where_int64_would_overflow(x: int, rate: tuple[int, int], mode: RoundingMode) -> None:
    """round(x num / den) for balances up to 10^10 fen (times 400 days) and rate fractions of 16 decimals:
    the product overflows int64 and must still be exact."""
    num, den = rate
    got = mul_div_round(np.array([x]), np.array([num]), np.array([den]), np.array([mode is RoundingMode.HALF_EVEN]))
    assert int(got[0]) == round_div(x * num, den, mode)


def test_a_loan_at_the_bounds_agrees_with_the_reference() -> None:
    """10^10 fen (100 million yuan) at a daily rate with eight decimals and a multiplier with eight, never paid
    for 200 days: penalty and compound overflow int64 before division and still agree to the cent."""
    terms = LoanTerms(
        principal=10**10,
        daily_rate=Decimal("0.00098629"),  # eight decimals, just under the bound (36% a year)
        terms=6,
        method=Method.EQUAL_INSTALLMENT,
        start=date(2026, 1, 31),
        penalty_multiplier=Decimal("1.23456789"),
    )
    portfolio = Portfolio(((terms, ()), (replace(terms, principal=123_456), ())), 200, DayEndPolicy())
    test_pipeline_equals_the_reference_every_day.hypothesis.inner_test(portfolio)  # type: ignore[attr-defined]


def test_a_payment_for_a_loan_not_started_is_refused() -> None:
    scenario = load_scenario(AGEING)
    batch = from_arrow(opening_state(["a"], [scenario.terms]))
    with pytest.raises(ValueError, match="before its loan started"):
        day_end(batch, day_number(date(2026, 5, 1)), np.array([0]), np.array([100]), DayEndPolicy())


def test_the_reference_refuses_a_payment_before_the_start() -> None:
    scenario = load_scenario(AGEING)
    with pytest.raises(InputRejected, match="before the loan started"):
        LoanDayEnds(scenario.terms, (Payment(date(2026, 5, 1), 100),))


# -- the store's view: standings from events, and books during a day ---------------------------------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=event_histories(), extra=st.integers(0, 200))
def test_standing_through_equals_day_by_day_and_books_during_a_day_lead_to_the_day_end(
    history: tuple[LoanTerms, list[LoanEvent], DayEndPolicy], extra: int
) -> None:
    """day_end_state_through (which jumps over days that cannot change the accrual status) equals the day-ends run
    one by one; and on every day, the books during the day (balances_during) differ from the books after the
    day-end before it only by what the day's own events and billing do: posting standing -> during -> next
    standing ends exactly where the day-end alone would (the store posts that way)."""
    terms, events, policy = history
    last = max([terms.start, *(event.value_date for event in events)]) + timedelta(days=extra)
    one_by_one = LoanDayEnds(terms, events, policy)
    day = terms.start
    while day <= last:
        before = one_by_one.standing
        during_events = [event for event in events if event.value_date < day]
        standing, replayed = day_end_state_through(terms, during_events, day - timedelta(days=1), policy)
        assert standing == before
        for event in events:
            if event.value_date == day:
                replayed.apply(event)
        replayed.begin_day(day)
        during = balances_during(standing, replayed, day)
        assert sum(during.values()) == 0
        after = one_by_one.run(day)
        assert after is not None
        quiet = not any(event.value_date == day for event in events)
        billing = any(row.due_date == day for row in build_schedule(terms))
        if quiet and not billing and before.written_off_at is None:
            assert {a: v for a, v in during.items() if v} == {a: v for a, v in before.balances().items() if v}
        day += timedelta(days=1)
    jumped, _ = day_end_state_through(terms, events, last, policy)
    assert jumped == one_by_one.standing
