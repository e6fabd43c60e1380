"""Double-entry ledger: the chart of accounts, and each loan's balances derived from its replayed totals.

Every amount that enters or leaves a loan is in a balanced entry. Rather than hand-writing a posting rule per
event (and getting backdated corrections wrong), the books follow from the engine: a loan's balance in every
account is a function of its cumulative totals (:class:`arrears.domain.engine.LoanTotals`), and each command posts
the difference between the balances after it and the balances before. A backdated payment therefore posts
exactly the adjustment that makes the books equal "recorded on time", penalty reversals included.

Balances are signed: debit positive, credit negative. For a loan that is not written off, with P the
principal disbursed and R everything received::

    cash_clearing         R - P                      (Dr repayments received, Cr the disbursement)
    principal_receivable  P - principal repaid
    interest_receivable   interest billed - paid - waived        (billed: installments due; early settlement)
    penalty_receivable    penalty + compound charged - paid - waived
    interest_income       -(interest billed - waived)
    penalty_income        -(penalty + compound charged - waived)
    suspense              -unapplied credit                      (money received that found nothing due)
    principal_forgiven    principal waived                       (a settlement at a discount: an expense)

They add up to R - (everything allocated) - unapplied = 0, because the engine never drops money.

When are amounts recognised? On the accrual basis of the day-end (:mod:`arrears.day_end.reference`): principal at
disbursement; interest day by day as it accrues (``interest_accrued``, billed into ``interest_receivable`` on its
due date, or charged for the actual days at an early settlement); penalty and compound when a day-end charges
them (held grace charges only when released). While a loan is non-accrual, what it would recognise goes to
``income_suspense`` instead (:func:`accrual_basis_balances`). A loan's books are brought up to a business date
by every command that posts to it, by the day-end, and by ``arrears ledger accrue``; ``ledger verify`` checks
that each loan's sub-ledger equals what its events give as of the date it was last posted through.

A written-off loan (核销) keeps its books as they stood at the write-off (:func:`written_off_balances`): its
receivables and unbilled accrued interest move to write_off_expense, except what was held in income suspense,
which was never income and is netted against the receivables it stood for; income stays as recognised then
(non-accrual afterwards), and money received since is credited to recoveries.

Worked example, on the billing basis of :func:`open_loan_balances`: 2,500.00 drawn, installment 1 (500.00 +
38.75) billed on its due date, paid four days late with 1.52 penalty and 0.12 compound charged: cash 540.39 -
2,500.00 = -1,959.61; principal receivable 2,000.00; interest income -38.75; penalty income -1.64; all else 0;
sum 0. The accrual basis adds the interest accrued on installment 2 since 06-15 (tests/unit/test_ledger.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from arrears.domain.loan_state import LoanTotals
from arrears.domain.terms import Component


class Account(StrEnum):
    """The chart of accounts of a loan book."""

    CASH_CLEARING = "cash_clearing"  # asset: money moving through the lender's bank accounts
    PRINCIPAL_RECEIVABLE = "principal_receivable"  # asset
    INTEREST_RECEIVABLE = "interest_receivable"  # asset
    PENALTY_RECEIVABLE = "penalty_receivable"  # asset: penalty (罚息) and compound (复利)
    INTEREST_INCOME = "interest_income"  # income
    PENALTY_INCOME = "penalty_income"  # income: penalty and compound
    SUSPENSE = "suspense"  # liability: money received that found nothing due
    WRITE_OFF_EXPENSE = "write_off_expense"  # expense: receivables taken off the books (核销)
    RECOVERIES = "recoveries"  # income: money received on a written-off loan
    INTEREST_ACCRUED = "interest_accrued"  # asset: interest earned day by day, not yet billed (应计利息)
    INCOME_SUSPENSE = "income_suspense"  # held back from income while the loan is non-accrual (利息挂账)
    PRINCIPAL_FORGIVEN = "principal_forgiven"  # expense: principal a settlement at a discount forgave


Balances = dict[Account, int]


class LedgerInvariantBroken(AssertionError):
    """Books that do not balance: a bug, never bad input. Raised rather than posted."""


def _penalties(values: Mapping[Component, int]) -> int:
    return values[Component.PENALTY] + values[Component.COMPOUND]


def open_loan_balances(totals: LoanTotals) -> Balances:
    """Balances of a loan that is not written off (module docstring, first table)."""
    balances = {
        Account.CASH_CLEARING: totals.received - totals.principal,
        Account.PRINCIPAL_RECEIVABLE: totals.unpaid(Component.PRINCIPAL),
        Account.INTEREST_RECEIVABLE: totals.unpaid(Component.INTEREST),
        Account.PENALTY_RECEIVABLE: totals.unpaid(Component.PENALTY) + totals.unpaid(Component.COMPOUND),
        Account.INTEREST_INCOME: -(totals.charged[Component.INTEREST] - totals.waived[Component.INTEREST]),
        Account.PENALTY_INCOME: -(_penalties(totals.charged) - _penalties(totals.waived)),
        Account.SUSPENSE: -totals.unapplied,
    }
    if totals.waived[Component.PRINCIPAL]:  # only a settlement at a discount forgives principal: a loss
        balances[Account.PRINCIPAL_FORGIVEN] = totals.waived[Component.PRINCIPAL]
    return _checked(balances)


def accrual_basis_balances(
    totals: LoanTotals, accrued: int, suspended_interest: int, suspended_penalty: int
) -> Balances:
    """Balances on the day-end's accrual basis (:mod:`arrears.day_end.reference`): as :func:`open_loan_balances`, plus
    interest accrued and not yet billed (``interest_accrued``, recognised as income), less what a non-accrual
    loan recognised into ``income_suspense`` instead of income::

        interest_accrued   accrued
        interest_income    -(interest billed - waived + accrued - suspended interest)
        penalty_income     -(penalty + compound charged - waived - suspended penalty)
        income_suspense    -(suspended interest + suspended penalty)
    """
    balances = open_loan_balances(totals)
    balances[Account.INTEREST_ACCRUED] = accrued
    balances[Account.INTEREST_INCOME] -= accrued - suspended_interest
    balances[Account.PENALTY_INCOME] += suspended_penalty
    balances[Account.INCOME_SUSPENSE] = -(suspended_interest + suspended_penalty)
    return _checked(balances)


def written_off_balances(at: Mapping[Account, int], received: int, principal: int) -> Balances:
    """Balances of a loan written off when its books stood at ``at`` (on the accrual basis, the write-off's
    own effect on the installments included), now that ``received`` has come in over its life.

    Receivables and unbilled accrued interest go to write_off_expense, netted against what income suspense
    held (interest and charges never recognised as income are not an expense either); income stays as it
    was; money received since the write-off is credited to recoveries.
    """
    cleared = (
        Account.PRINCIPAL_RECEIVABLE,
        Account.INTEREST_RECEIVABLE,
        Account.PENALTY_RECEIVABLE,
        Account.INTEREST_ACCRUED,
        Account.INCOME_SUSPENSE,
    )
    cash = received - principal
    balances = {
        **at,
        Account.CASH_CLEARING: cash,
        Account.WRITE_OFF_EXPENSE: sum(at.get(a, 0) for a in cleared),
        Account.RECOVERIES: -(cash - at.get(Account.CASH_CLEARING, 0)),
    }
    for account in cleared:
        balances[account] = 0
    return _checked(balances)


def difference(before: Mapping[Account, int], after: Mapping[Account, int]) -> Balances:
    """The postings that take ``before`` to ``after``: non-zero amounts only, balanced or refused."""
    postings = {account: after.get(account, 0) - before.get(account, 0) for account in Account}
    return _checked({account: amount for account, amount in postings.items() if amount})


def _checked(balances: Balances) -> Balances:
    total = sum(balances.values())
    if total:
        raise LedgerInvariantBroken(f"entry does not balance: off by {total} minor units in {balances}")
    return balances
