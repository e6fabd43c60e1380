"""The ledger's rules, without a database: a loan's books during any day (accrual basis, arrears.day_end.reference)
always
balance and add up."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.day_end.reference import DayEndPolicy
from arrears.domain.engine import LoanEvent, Payment, Waiver, WriteOff, replay_events
from arrears.domain.ledger import Account, LedgerInvariantBroken, difference, open_loan_balances
from arrears.domain.terms import Component, LoanTerms, Method
from arrears.errors import InputRejected
from arrears.service_layer.services import position_of

START = date(2026, 5, 15)
TERMS = LoanTerms(principal=250000, daily_rate=Decimal("0.0005"), terms=5, method=Method.EQUAL_PRINCIPAL, start=START)


def balances_on(events: list[LoanEvent], day: date, non_accrual_dpd: int = 90) -> dict[Account, int]:
    return position_of(TERMS, events, day, DayEndPolicy(non_accrual_dpd)).balances


def test_worked_example_of_the_module_docstring() -> None:
    """Billing basis as in arrears.domain.ledger's docstring; the accrual basis adds installment 2's interest (2,000.00
    x 0.0005 x 30 days = 30.00) accrued over the 4 day-ends 06-16..06-19: round(30.00 x 4 / 30) = 4.00."""
    loan = replay_events(TERMS, [Payment(date(2026, 6, 20), 54039)], date(2026, 6, 20))
    loan.begin_day(date(2026, 6, 20))
    billing = {
        Account.CASH_CLEARING: -195961,
        Account.PRINCIPAL_RECEIVABLE: 200000,
        Account.INTEREST_RECEIVABLE: 0,
        Account.PENALTY_RECEIVABLE: 0,
        Account.INTEREST_INCOME: -3875,
        Account.PENALTY_INCOME: -164,
        Account.SUSPENSE: 0,
    }
    assert open_loan_balances(loan.totals(date(2026, 6, 20))) == billing
    accrual = balances_on([Payment(date(2026, 6, 20), 54039)], date(2026, 6, 20))
    assert accrual == {
        **billing,
        Account.INTEREST_ACCRUED: 400,
        Account.INTEREST_INCOME: -4275,
        Account.INCOME_SUSPENSE: 0,
    }


def test_interest_is_recognised_as_it_accrues_and_billed_on_its_due_date() -> None:
    """Installment 1: 2,500.00 x 0.0005 x 31 days = 38.75 over 05-15..06-15. During 06-14 the day-ends through
    06-13 have accrued round(38.75 x 29 / 31) = 36.25; during the due date it is billed whole (the accrual
    becomes the receivable) and installment 2 has accrued nothing until day-end 06-16 adds 1.00 (30.00 / 30)."""
    assert balances_on([], date(2026, 5, 15))[Account.INTEREST_INCOME] == 0
    during = balances_on([], date(2026, 6, 14))
    assert (during[Account.INTEREST_ACCRUED], during[Account.INTEREST_INCOME]) == (3625, -3625)
    due = balances_on([], date(2026, 6, 15))
    assert (due[Account.INTEREST_ACCRUED], due[Account.INTEREST_RECEIVABLE], due[Account.INTEREST_INCOME]) == (
        0,
        3875,
        -3875,
    )
    assert balances_on([], date(2026, 6, 17))[Account.INTEREST_ACCRUED] == 100


def test_non_accrual_income_goes_to_suspense_and_a_write_off_nets_it() -> None:
    """Nothing paid, non-accrual after 5 days past due: from day-end 06-21 (DPD 6) the penalty and compound
    charged and interest accrued go to income suspense. A write-off then expenses the receivables and the
    accrued interest net of the suspense, and leaves income as it was."""
    day = date(2026, 7, 1)
    books = balances_on([], day, non_accrual_dpd=5)
    accrual = balances_on([], day, non_accrual_dpd=90)
    held = books[Account.INCOME_SUSPENSE]
    assert held < 0
    income = (Account.INTEREST_INCOME, Account.PENALTY_INCOME)
    assert sum(books[a] for a in income) + held == sum(accrual[a] for a in income)  # both credits
    written = balances_on([WriteOff(day)], day, non_accrual_dpd=5)
    assert written[Account.INCOME_SUSPENSE] == written[Account.INTEREST_ACCRUED] == 0
    assert sum(written[a] for a in income) == sum(books[a] for a in income)
    receivables = (
        Account.PRINCIPAL_RECEIVABLE,
        Account.INTEREST_RECEIVABLE,
        Account.PENALTY_RECEIVABLE,
        Account.INTEREST_ACCRUED,
    )
    assert written[Account.WRITE_OFF_EXPENSE] == sum(books[a] for a in receivables) + held


def test_write_off_moves_receivables_to_expense_and_later_money_to_recoveries() -> None:
    events: list[LoanEvent] = [WriteOff(date(2026, 8, 1)), Payment(date(2026, 9, 1), 10000)]
    before = balances_on(events[:1], date(2026, 8, 1))
    after = balances_on(events, date(2026, 12, 1))
    receivables = (Account.PRINCIPAL_RECEIVABLE, Account.INTEREST_RECEIVABLE, Account.PENALTY_RECEIVABLE)
    assert all(after[account] == 0 for account in receivables)
    assert after[Account.RECOVERIES] == -10000
    assert after[Account.WRITE_OFF_EXPENSE] == before[Account.WRITE_OFF_EXPENSE] > 250000  # principal + charges
    assert after[Account.PENALTY_INCOME] == before[Account.PENALTY_INCOME]  # non-accrual after the write-off
    assert after[Account.INTEREST_INCOME] == before[Account.INTEREST_INCOME]
    assert after[Account.INTEREST_ACCRUED] == 0


def test_waivers_are_refused_above_what_is_owed() -> None:
    with pytest.raises(InputRejected, match=r"only 0\.00 of penalty is owed"):
        balances_on([Waiver(date(2026, 6, 15), Component.PENALTY, 1)], date(2026, 6, 15))


def test_an_unbalanced_entry_is_refused() -> None:
    with pytest.raises(LedgerInvariantBroken):
        difference({}, {Account.CASH_CLEARING: 1})


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[LoanEvent], date]:
    events: list[LoanEvent] = []
    day = START
    for _ in range(draw(st.integers(0, 8))):
        day += timedelta(days=draw(st.integers(0, 40)))
        kind = draw(st.sampled_from(["pay", "pay", "waive"]))
        if kind == "pay":
            events.append(Payment(day, draw(st.integers(1, 120000))))
        else:  # waive what is owed on that day, so the waiver is always lawful
            owed = replay_events(TERMS, events, day)
            owed.begin_day(day)
            penalty = owed.state().overdue.penalty
            if penalty:
                events.append(Waiver(day, Component.PENALTY, draw(st.integers(1, penalty))))
    day += timedelta(days=draw(st.integers(0, 60)))
    standing = replay_events(TERMS, events, day)
    standing.begin_day(day)
    if draw(st.booleans()) and standing.settled_on is None:  # a repaid loan has nothing to write off
        events.append(WriteOff(day))
        if draw(st.booleans()):
            events.append(Payment(day + timedelta(days=draw(st.integers(0, 30))), draw(st.integers(1, 50000))))
    as_of = max([START, *(event.value_date for event in events)]) + timedelta(days=draw(st.integers(0, 90)))
    return events, as_of


@settings(max_examples=150, deadline=None)
@given(history=histories())
def test_books_balance_and_differences_add_up(history: tuple[list[LoanEvent], date]) -> None:
    """Every position balances; posting the differences event by event ends exactly at the final balances;
    receivables and suspense never go the wrong way; cash is what came in minus what went out."""
    events, as_of = history
    posted: dict[Account, int] = {}
    for count in range(len(events) + 1):
        applied = events[:count]
        day = max([START, *(event.value_date for event in applied)])
        for account, amount in difference(posted, balances_on(applied, day)).items():
            posted[account] = posted.get(account, 0) + amount
    final = balances_on(events, as_of)
    for account, amount in difference(posted, final).items():
        posted[account] = posted.get(account, 0) + amount
    assert {a: v for a, v in posted.items() if v} == {a: v for a, v in final.items() if v}
    assert sum(final.values()) == 0
    for account in (Account.PRINCIPAL_RECEIVABLE, Account.INTEREST_RECEIVABLE, Account.PENALTY_RECEIVABLE):
        assert final.get(account, 0) >= 0
    assert final.get(Account.SUSPENSE, 0) <= 0
    assert final.get(Account.INTEREST_ACCRUED, 0) >= 0
    received = sum(event.amount for event in events if isinstance(event, Payment))
    assert final[Account.CASH_CLEARING] == received - TERMS.principal
