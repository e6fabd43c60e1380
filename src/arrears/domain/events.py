"""What can happen to a loan on a value date: a payment, a waiver, a write-off, and the plan events of hardship
plans and legal decisions (reschedule, freeze, settlement at a discount, acceleration).

Each is a plain frozen record; what it does to the loan is the replay's (:class:`arrears.domain.engine.LoanReplay`,
specified in :mod:`arrears.domain.engine`): payments and waivers in :mod:`arrears.domain.allocation` and
:mod:`arrears.domain.engine`, plan events in :mod:`arrears.domain.plan_events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from arrears.domain.terms import Component
from arrears.errors import InputRejected


class PaymentRefused(InputRejected):
    """A payment the engine cannot take (not positive, or dated before the loan started)."""


@dataclass(frozen=True, slots=True)
class Payment:
    """Money received for a loan: its value date and amount in minor units."""

    value_date: date
    amount: int


@dataclass(frozen=True, slots=True)
class Waiver:
    """Amounts of one component forgiven (减免) on installments due on or before the value date, oldest first.

    Penalty, compound and interest may be waived; principal is not (a discount on principal is a settlement,
    which needs a hardship plan). Waiving more than is owed of that component is refused.
    """

    value_date: date
    component: Component
    amount: int


@dataclass(frozen=True, slots=True)
class WriteOff:
    """The loan written off (核销) on the value date: an accounting act, not forgiveness.

    The borrower still owes what the contract says, and later payments are still applied to the installments;
    but from the write-off on the loan is non-accrual (day-ends charge nothing more), its receivables leave the
    books, and money received afterwards is booked as recoveries. Held credit is first applied to the principal
    not yet due, oldest installment first, so that nothing sits in suspense for a written-off loan.
    """

    value_date: date


@dataclass(frozen=True, slots=True)
class Reschedule:
    """A hardship plan's re-scheduling (个性化分期 / 协商还款) of what is overdue, from the value date on.

    Everything unpaid on the installments due on or before the value date (principal, interest, penalty and
    compound) is carried into new installments due on ``due_dates``: the total split evenly, the odd minor
    units on the earliest, each taking its amount from the carried components in the loan's allocation order, as
    payments would pay them. All of it is carried: a plan never leaves part of the overdue debt out. The carried
    amounts bear no new interest; a new installment left unpaid after its due date is charged penalty and
    compound like any other.

    History is never rewritten: replaying to any day before the value date gives what it gave before, so past
    days past due, classes and reported records stay true. From the value date the old installments show as
    settled by the plan and the new ones carry the debt.
    """

    value_date: date
    due_dates: tuple[date, ...]


@dataclass(frozen=True, slots=True)
class ChargeFreeze:
    """A hardship plan's freeze of penalty and compound interest (罚息、复利停计): the day-ends from the value date
    through ``until`` charge neither. Contract interest already scheduled is unchanged."""

    value_date: date
    until: date


@dataclass(frozen=True, slots=True)
class Settlement:
    """A settlement at a discount (折扣结清): once the money received from the value date through ``pay_by``
    reaches ``amount``, everything still owed is forgiven (principal included: the discount is a loss, booked
    to ``principal_forgiven``) and the loan is settled. Interest of the periods not yet begun is never owed
    (民法典 art. 677); interest for the actual days of the current period is. If ``pay_by`` passes first,
    nothing is forgiven and the payments stand as ordinary repayments."""

    value_date: date
    amount: int
    pay_by: date


@dataclass(frozen=True, slots=True)
class Acceleration:
    """Acceleration (宣布提前到期) on the value date: every installment not yet due falls due that day, with the
    interest for the actual days of the current period (民法典 art. 677: none for periods not begun). From the
    next day-end, penalty interest runs on the whole unpaid principal; no contract interest accrues any more."""

    value_date: date


PlanEvent = Reschedule | ChargeFreeze | Settlement | Acceleration
"""Events of a hardship plan or a legal decision: they change the loan's terms from their value date on.

They are conditions, checked when replayed: a plan event whose condition no longer holds on its date **lapses**
(has no effect, and is listed in :attr:`LoanReplay.lapsed`): a reschedule when nothing is overdue that day, an
acceleration when nothing is past due, any of them on a loan already repaid or written off. That is what a
payment recorded late, dated before the plan, does to it: the money is never refused for the plan's sake. A
command that posts a plan event refuses it if it would lapse at once (:meth:`LoanReplay.apply` raises nothing;
the service layer checks :attr:`LoanReplay.lapsed`)."""

LoanEvent = Payment | Waiver | WriteOff | Reschedule | ChargeFreeze | Settlement | Acceleration
"""What can happen to a loan on a value date; replay applies them in value-date order, then recorded order."""
