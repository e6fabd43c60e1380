"""Payoff amount for early settlement (提前结清) on a date D.

After the payments dated on or before D (and the day-ends through D-1), the payoff is:

    overdue_and_due       everything unpaid on installments due on or before D
                          (principal, interest, penalty and compound; charges through day-end D-1)
  + current_interest      round(principal of installments due after D x daily rate x days from the last due
                          date on or before D, or the start, to D) -- interest for the actual days (民法典 art. 677)
  + principal_not_yet_due the principal of installments due after D
  + rescheduled_not_yet_due what a hardship plan carried into installments due after D (all of it: its
                          interest was billed before the plan, and it bears no more)
  - unapplied credit held
  = total                 (never below zero)

A payment dated D of at least ``total`` settles the loan; whatever is above it stays unapplied credit. Interest
of the periods after D is never charged: early repayment pays interest for the time the money was used.

Worked example: 2,500.00 over 5 terms, equal principal, actual basis, daily rate 0.0005, start 2026-05-15,
installment 1 (538.75) paid on its due date 2026-06-15, payoff on 2026-07-01. Nothing is due on or before
07-01 and unpaid: overdue_and_due 0.00. Principal not yet due: installments 2..5, 2,000.00. Current interest:
2,000.00 x 0.0005 x 16 days (06-15 to 07-01) = 16.00. Total 2,016.00 (tests/scenarios/cn_payoff_early.json).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from arrears.domain.engine import LoanReplay
from arrears.domain.events import Payment
from arrears.domain.schedule import Schedule
from arrears.domain.terms import LoanTerms
from arrears.errors import InputRejected


@dataclass(frozen=True, slots=True)
class Payoff:
    """What settles the loan in full on ``on``, in minor units, and how it is made up."""

    on: date
    overdue_and_due: int
    current_interest: int
    principal_not_yet_due: int
    unapplied: int
    total: int
    rescheduled_not_yet_due: int = 0


def payoff(terms: LoanTerms, payments: Iterable[Payment], on: date, schedule: Schedule | None = None) -> Payoff:
    """The payoff amount on ``on`` (see the module docstring for the rule and a worked example)."""
    if on < terms.start:
        raise InputRejected(f"payoff date {on} is before the loan started on {terms.start}; pick a later date")
    loan = LoanReplay(terms, schedule)
    for payment in sorted(payments, key=lambda p: p.value_date):
        if payment.value_date <= on:
            loan.pay(payment.value_date, payment.amount)
    loan.close_through(on - timedelta(days=1))
    return payoff_of(loan, on)


def payoff_of(loan: LoanReplay, on: date) -> Payoff:
    """The payoff of a loan replayed through day-end ``on`` - 1 (and any payments of ``on``)."""
    if loan.closed_through_date >= on:
        raise ValueError(f"the loan is already closed through {loan.closed_through_date}; payoff needs day {on} open")
    day = on.toordinal()
    state = loan.state()
    overdue_and_due = sum(row.total for row in state.installments if row.due_date <= on)
    carried = loan.carried_not_yet_due(day)
    principal_not_yet_due = sum(row.principal for row in state.installments if row.due_date > on and not row.carried)
    current_interest = loan.current_interest(day)
    owed = overdue_and_due + current_interest + principal_not_yet_due + carried
    return Payoff(
        on=on,
        overdue_and_due=overdue_and_due,
        current_interest=current_interest,
        principal_not_yet_due=principal_not_yet_due,
        unapplied=loan.unapplied,
        total=max(0, owed - loan.unapplied),
        rescheduled_not_yet_due=carried,
    )
