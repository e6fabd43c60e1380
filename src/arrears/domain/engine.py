"""The reference engine: one loan's exact state on any date, by replaying its events from the start.

This module is the specification in code. A loan's state after day-end D is what you get by starting from
its schedule and, day by day from the start date through D:

1. **During day d** (before day-end d), apply held credit to installments falling due on d, then each payment
   dated d to the installments due on or before d, oldest first; within an installment in the loan's
   allocation order (default penalty, compound, interest, principal). Money that finds nothing due is kept as
   unapplied credit (rule :class:`arrears.domain.terms.Prepayment`); whenever the credit covers the payoff amount
   (:mod:`arrears.domain.payoff`) the loan is settled at once, with interest for the actual days only.
2. **Day-end d** charges, for every installment due strictly before d with unpaid principal or interest:
   penalty += round(unpaid principal x daily rate x multiplier) and, when compounding, compound +=
   round(unpaid interest x daily rate x multiplier). Each day's charge is rounded on its own; nothing is
   charged on the due date itself.
3. **Grace** of g days: day-ends due+1 .. due+g compute the charges but hold them back. If principal and
   interest are paid in full by the end of day due+g, what was held is dropped; otherwise it is charged at
   day-end due+g. From due+g+1 on, charges apply each day-end as usual.

Days past due after day-end D = D minus the earliest due date before D of an installment not yet settled
(principal, interest, penalty and compound all zero); 0 if none. Grace never changes DPD: it only holds
charges back.

Replay is the specification, so a payment recorded late with an earlier value date gives exactly the state it
would have given on time: :func:`replay` sorts payments by value date before it starts.

Days on which nothing can change are not looped over: between two event days (a due date, the end of a
grace period, a payment) every day-end charges the same amounts, so n such day-ends charge n times one
day's rounded charge. That is the same arithmetic as n separate day-ends, and it makes the engine fast enough
to be the demo's and the benchmark's engine while staying readable.

Worked example (tests/scenarios/cn_late_then_paid.json): 2,500.00 over 5 terms, equal principal, actual
basis, d = 0.0005, multiplier 1.5, grace 0, start 2026-05-15. Installment 1 (500.00 + 38.75) is due
2026-06-15 and not paid. Day-ends 06-16 .. 06-20 each charge penalty round(500.00 x 0.00075) = 0.38 (0.375
rounded half-up) and compound round(38.75 x 0.00075) = 0.03; after day-end 06-20 the state shows DPD 5,
bucket M1, special-mention, penalty 1.90 and compound 0.15.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from arrears.domain.classification import Bucket, Classification, bucket_for, classification_for
from arrears.domain.schedule import Schedule, build_schedule
from arrears.domain.terms import Component, LoanTerms
from arrears.errors import InputRejected
from arrears.money import format_minor, rate_fraction, round_div, round_to_minor


class PaymentRefused(InputRejected):
    """A payment the engine cannot take (not positive, or dated before the loan started)."""


class InstallmentStatus(StrEnum):
    PAID = "paid"  # settled: principal, interest, penalty and compound all zero
    OVERDUE = "overdue"  # due before the as-of date and not settled (grace days included)
    DUE = "due"  # due on the as-of date and not settled; nothing charged yet
    FUTURE = "future"  # due after the as-of date


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


@dataclass(frozen=True, slots=True)
class LoanTotals:
    """Cumulative amounts of one loan at a position in its replay: what the ledger books from.

    ``charged`` holds interest billed (installments due on or before the position's day, and interest charged
    at an early settlement), penalty charged and compound charged; principal is "charged" at disbursement.
    """

    principal: int
    received: int
    allocated: dict[Component, int]
    unapplied: int
    waived: dict[Component, int]
    charged: dict[Component, int]

    def unpaid(self, component: Component) -> int:
        """Charged and neither paid nor waived (for principal: disbursed and not repaid)."""
        charged = self.principal if component is Component.PRINCIPAL else self.charged[component]
        return charged - self.allocated[component] - self.waived[component]


@dataclass(frozen=True, slots=True)
class WriteOffRecord:
    """A write-off: its date, the loan's totals at that moment, and the payments received since."""

    on: date
    totals: LoanTotals
    recovered: int


@dataclass(frozen=True, slots=True)
class DailyCharge:
    """One day-end's penalty and compound on one installment, for explanations (:mod:`arrears.domain.explain`):
    charged on the unpaid principal and interest of that day, or held back while the grace period runs."""

    number: int
    day: date
    principal: int
    interest: int
    penalty: int
    compound: int
    held: bool


@dataclass(frozen=True, slots=True)
class GraceOutcome:
    """What became of the charges held in grace on one installment: charged at the grace end (not paid in
    full in time) or dropped (paid in full within grace)."""

    number: int
    day: date
    penalty: int
    compound: int
    charged: bool


@dataclass(frozen=True, slots=True)
class EarlySettlement:
    """提前结清 on ``day``: interest for the actual days since ``since`` on the principal not yet due."""

    day: date
    since: date
    principal: int
    interest: int


@dataclass(frozen=True, slots=True)
class Carried:
    """What a reschedule (:class:`Reschedule`) moved on ``day``: out of installment ``number`` (``into`` False),
    or into the new installment ``number`` (``into`` True), by component."""

    number: int
    day: date
    into: bool
    principal: int
    interest: int
    penalty: int
    compound: int


@dataclass(frozen=True, slots=True)
class Accelerated:
    """Acceleration on ``day``: the current period's interest for the actual days since ``since`` on the principal
    not yet due (:class:`Acceleration`)."""

    day: date
    since: date
    principal: int
    interest: int


JournalEntry = DailyCharge | GraceOutcome | EarlySettlement | Carried | Accelerated


@dataclass(frozen=True, slots=True)
class InstallmentState:
    """What remains unpaid on one installment after day-end of the as-of date."""

    number: int
    due_date: date
    status: InstallmentStatus
    principal: int
    interest: int
    penalty: int
    compound: int
    carried: bool = False
    """Made by a hardship plan's reschedule (:class:`Reschedule`): it carries older debt."""

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty + self.compound


@dataclass(frozen=True, slots=True)
class Overdue:
    """Unpaid amounts of installments due before the as-of date."""

    principal: int
    interest: int
    penalty: int
    compound: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty + self.compound


@dataclass(frozen=True, slots=True)
class LoanState:
    """A loan's exact state after day-end of ``as_of``."""

    as_of: date
    days_past_due: int
    bucket: Bucket
    classification: Classification
    outstanding_principal: int
    overdue: Overdue
    installments: tuple[InstallmentState, ...]
    unapplied: int
    """Money received that found nothing due (held credit; suspense in the ledger)."""
    allocated: dict[Component, int]
    """Everything applied so far, by component: with ``unapplied`` it adds up to every payment received."""
    settled_on: date | None
    """The day the last amount owed was paid, by regular payments or early settlement; None while any is owed."""
    waived: dict[Component, int]
    """Everything forgiven so far, by component."""
    written_off_on: date | None
    """The write-off date, if the loan was written off."""
    restructured_on: date | None = None
    """The date of the last hardship plan event that changed the terms (reschedule, freeze, settlement)."""
    accelerated_on: date | None = None
    """The date every installment was made due (宣布提前到期), if the loan was accelerated."""


class _Installment:
    """Working state of one installment during a replay (mutable, private to this module)."""

    __slots__ = (
        "carried",
        "compound",
        "due",
        "due_date",
        "grace_end",
        "held_compound",
        "held_penalty",
        "interest",
        "number",
        "penalty",
        "principal",
    )

    def __init__(
        self, number: int, due_date: date, principal: int, interest: int, grace_days: int, carried: bool = False
    ) -> None:
        self.carried = carried  # made by a reschedule: its interest was billed before, and it accrues nothing
        self.number = number
        self.due_date = due_date
        self.due = due_date.toordinal()
        self.grace_end = self.due + grace_days
        self.principal = principal
        self.interest = interest
        self.penalty = 0
        self.compound = 0
        self.held_penalty = 0
        self.held_compound = 0

    def settled(self) -> bool:
        return not (self.principal or self.interest or self.penalty or self.compound)


class LoanReplay:
    """Replays one loan forward in time: :meth:`pay` during a day, :meth:`close_through` for day-ends.

    The state is always "after day-end of :attr:`closed_through`". Events must come in value-date order; a
    payment dated on a day already closed needs a replay from the start (:func:`replay` does that).
    """

    def __init__(self, terms: LoanTerms, schedule: Schedule | None = None) -> None:
        self.terms = terms
        self.schedule = schedule if schedule is not None else build_schedule(terms)
        self._rows = [
            _Installment(row.number, row.due_date, row.principal, row.interest, terms.grace_days)
            for row in self.schedule
        ]
        self._start = terms.start.toordinal()
        self.closed_through = self._start - 1
        self.unapplied = 0
        self.allocated = dict.fromkeys(Component, 0)
        self.waived = dict.fromkeys(Component, 0)
        self.received = 0
        self.penalty_charged = 0
        self.compound_charged = 0
        self.settled_on: date | None = None
        self.write_off: WriteOffRecord | None = None
        self.journal: list[JournalEntry] | None = None
        """Set to a list to have every charge, grace outcome and early settlement recorded (explanations)."""
        self._first_open = 0
        self._advance_first_open()  # zero installments (interest-free, interest-first) are settled from the start
        penalty_rate = rate_fraction(terms.penalty_daily_rate)
        self._penalty_num, self._penalty_den = penalty_rate.numerator, penalty_rate.denominator
        self._daily = rate_fraction(terms.daily_rate)
        self._mode = terms.rounding
        self._freezes: list[tuple[int, int]] = []  # day-ends (first, last) that charge nothing
        self._settlement: tuple[int, int, int, int] | None = None  # from, amount, pay-by, received so far
        self.restructured_on: date | None = None
        """The value date of the last reschedule, freeze or settlement: the classification's observation period
        runs from it (:mod:`arrears.day_end.reference`)."""
        self.accelerated_on: date | None = None
        self.settled_by_plan = False
        """The loan was settled by a settlement at a discount (what was left is forgiven)."""
        self.lapsed: list[tuple[PlanEvent, str]] = []
        """Plan events that had no effect, and why (see :data:`PlanEvent`)."""
        self._reindex()

    def _reindex(self) -> None:
        """Rebuild what the day-ends look up, after the installments changed (at the start, or a plan event)."""
        grace = self.terms.grace_days
        rows = self._rows
        days = {r.due for r in rows} | ({r.grace_end for r in rows} if grace else set())
        days |= {edge for first, last in self._freezes for edge in (first, last + 1)}
        self._event_days = sorted(days)
        self._regular = [r for r in rows if not r.carried]
        self._due_days = [r.due for r in self._regular]
        self._due_day_set = frozenset(self._due_days)
        self._any_due_set = frozenset(r.due for r in rows)

    # -- events -------------------------------------------------------------------------------------------

    def begin_day(self, value_date: date) -> int:
        """Run the day-ends before ``value_date`` and apply held credit to what falls due on it: the loan as it
        stands during that day, before any of its own events. Returns the day as an ordinal."""
        day = value_date.toordinal()
        if day < self._start:
            raise PaymentRefused(f"{value_date} is before the loan started on {self.terms.start}; check the date")
        if day <= self.closed_through:
            raise PaymentRefused(
                f"{value_date} falls on a day already closed ({self.closed_through_date}); "
                "replay the loan from its start with the event in place"
            )
        self.close_through_ordinal(day - 1)
        if self.unapplied:
            self._apply_credit(day)
        return day

    def apply(self, event: LoanEvent) -> None:
        """Apply one event during its value date."""
        if isinstance(event, Payment):
            self.pay(event.value_date, event.amount)
        elif isinstance(event, Waiver):
            self.waive(event.value_date, event.component, event.amount)
        elif isinstance(event, WriteOff):
            self.write_off_on(event.value_date)
        elif isinstance(event, Reschedule):
            self.reschedule(event)
        elif isinstance(event, ChargeFreeze):
            self.freeze(event)
        elif isinstance(event, Settlement):
            self.settle_at_discount(event)
        else:
            self.accelerate(event)

    def pay(self, value_date: date, amount: int) -> None:
        """Apply a payment received during ``value_date`` (before that day's day-end)."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise PaymentRefused(f"a payment must be a positive number of minor units, got {amount!r}")
        day = self.begin_day(value_date)
        self.received += amount
        if self.write_off is not None:
            self.write_off = replace(self.write_off, recovered=self.write_off.recovered + amount)
        self.unapplied += amount
        self._apply_credit(day)
        if self._settlement is not None:
            self._count_towards_settlement(day, amount)

    def waive(self, value_date: date, component: Component, amount: int) -> None:
        """Forgive ``amount`` of ``component`` on installments due on or before ``value_date``, oldest first."""
        if component is Component.PRINCIPAL:
            raise PaymentRefused("principal cannot be waived; a discount on principal is a settlement plan")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise PaymentRefused(f"a waiver must be a positive number of minor units, got {amount!r}")
        day = self.begin_day(value_date)
        due_rows = [row for row in self._rows[self._first_open :] if row.due <= day]
        owed = sum(getattr(row, component.value) for row in due_rows)
        if amount > owed:
            raise PaymentRefused(
                f"only {format_minor(owed)} of {component} is owed on installments due by {value_date}; "
                f"waive at most that, not {format_minor(amount)}"
            )
        remaining = amount
        for row in due_rows:
            take = min(getattr(row, component.value), remaining)
            setattr(row, component.value, getattr(row, component.value) - take)
            remaining -= take
        self.waived[component] += amount
        self._after_reduction(day)

    def write_off_on(self, value_date: date) -> None:
        """Write the loan off during ``value_date`` (see :class:`WriteOff`)."""
        day = self.begin_day(value_date)
        if self.write_off is not None:
            raise PaymentRefused(f"the loan was already written off on {self.write_off.on}")
        if self._first_open == len(self._rows):
            raise PaymentRefused("the loan is fully repaid; there is nothing to write off")
        for row in self._rows[self._first_open :]:  # held credit reduces the principal written off
            take = min(row.principal, self.unapplied)
            row.principal -= take
            self.allocated[Component.PRINCIPAL] += take
            self.unapplied -= take
        self._after_reduction(day)
        self.write_off = WriteOffRecord(on=value_date, totals=self.totals(value_date), recovered=0)

    # -- plan events (hardship plans and legal decisions) -----------------------------------------------------

    def _plan_day(self, event: PlanEvent) -> int | None:
        """The plan event's day, or None when it lapses because the loan is closed (see :data:`PlanEvent`)."""
        day = self.begin_day(event.value_date)
        if self.write_off is not None:
            self._lapse(event, f"the loan was written off on {self.write_off.on}")
            return None
        if self._first_open == len(self._rows):
            self._lapse(event, "the loan is fully repaid")
            return None
        return day

    def _lapse(self, event: PlanEvent, why: str) -> None:
        self.lapsed.append((event, why))

    def reschedule(self, plan: Reschedule) -> None:
        """Carry what is unpaid on installments due by the value date into new installments (see
        :class:`Reschedule`); lapses when nothing is."""
        dues = [d.toordinal() for d in plan.due_dates]
        if not dues or any(b <= a for a, b in itertools.pairwise(dues)) or dues[0] <= plan.value_date.toordinal():
            raise PaymentRefused(
                "a reschedule needs one or more due dates, each after the plan's date and after the one before"
            )
        day = self._plan_day(plan)
        if day is None:
            return
        due_rows = [row for row in self._rows[self._first_open :] if row.due <= day and not row.settled()]
        order = self.terms.allocation
        carried = {c: sum(getattr(row, c.value) for row in due_rows) for c in order}
        total = sum(carried.values())
        if not total:
            self._lapse(plan, f"nothing is due and unpaid on {plan.value_date}")
            return
        share, odd = divmod(total, len(dues))
        amounts = [share + (1 if k < odd else 0) for k in range(len(dues))]
        for row in due_rows:  # the old installments are settled by the plan: their debt moves, nothing is paid
            if self.journal is not None:
                moved = (row.principal, row.interest, row.penalty, row.compound)
                self.journal.append(Carried(row.number, plan.value_date, False, *moved))
            row.principal = row.interest = row.penalty = row.compound = 0
            row.held_penalty = row.held_compound = 0
        new_rows, number = [], max(row.number for row in self._rows)
        for due, amount in zip(dues, amounts, strict=True):
            number += 1
            row = _Installment(number, date.fromordinal(due), 0, 0, self.terms.grace_days, carried=True)
            for component in order:
                take = min(carried[component], amount)
                setattr(row, component.value, take)
                carried[component] -= take
                amount -= take
            new_rows.append(row)
            if self.journal is not None:
                moved = (row.principal, row.interest, row.penalty, row.compound)
                self.journal.append(Carried(row.number, plan.value_date, True, *moved))
        self._rows.extend(new_rows)
        # carried installments come before regular ones due the same day: they are the older debt
        self._rows.sort(key=lambda r: (r.due, not r.carried, r.number))
        self._first_open = 0
        self._reindex()
        self._advance_first_open(day)
        self.restructured_on = plan.value_date

    def freeze(self, plan: ChargeFreeze) -> None:
        """Charge no penalty or compound at the day-ends from the value date through ``until``."""
        if plan.until < plan.value_date:
            raise PaymentRefused(f"a freeze must end on or after it starts ({plan.value_date}), not {plan.until}")
        day = self._plan_day(plan)
        if day is None:
            return
        self._freezes.append((day, plan.until.toordinal()))
        self._reindex()
        self.restructured_on = plan.value_date

    def settle_at_discount(self, plan: Settlement) -> None:
        """Start a settlement at a discount; payments from now count towards it (see :class:`Settlement`)."""
        if isinstance(plan.amount, bool) or not isinstance(plan.amount, int) or plan.amount <= 0:
            raise PaymentRefused(f"a settlement amount must be a positive number of minor units, got {plan.amount!r}")
        if plan.pay_by < plan.value_date:
            raise PaymentRefused(f"a settlement must be paid on or after it is agreed ({plan.value_date})")
        day = self._plan_day(plan)
        if day is None:
            return
        self._settlement = (day, plan.amount, plan.pay_by.toordinal(), 0)
        self.restructured_on = plan.value_date

    def _count_towards_settlement(self, day: int, amount: int) -> None:
        assert self._settlement is not None
        start, agreed, pay_by, received = self._settlement
        if day > pay_by or self.settled_on is not None:
            return
        received += amount
        self._settlement = (start, agreed, pay_by, received)
        if received < agreed:
            return
        # reached: the money held goes to what is owed, oldest first, then the rest is forgiven
        self._collapse_future(day, move_due=False)
        for row in self._rows[self._first_open :]:
            for component in self.terms.allocation:
                owed = getattr(row, component.value)
                take = min(owed, self.unapplied)
                self.allocated[component] += take
                self.unapplied -= take
                self.waived[component] += owed - take
                setattr(row, component.value, 0)
            row.held_penalty = row.held_compound = 0
        self._settlement = None
        self.settled_by_plan = True
        self._after_reduction(day)

    def settlement_outstanding(self) -> tuple[int, date] | None:
        """What is still to pay under a running settlement at a discount, and by when (None if none runs)."""
        if self._settlement is None or self.settled_on is not None:
            return None
        _, agreed, pay_by, received = self._settlement
        if self.closed_through >= pay_by:
            return None
        return agreed - received, date.fromordinal(pay_by)

    def plan_in_force(self, day: int) -> str | None:
        """What a hardship plan makes of the loan on ``day``, for credit reporting's special comment:
        ``settled_for_less`` (settled at a discount), ``reschedule`` (carried installments unpaid), ``settlement``
        (a settlement running), ``freeze`` (charges frozen that day), or None."""
        if self.settled_by_plan:
            return "settled_for_less"
        if self.settled_on is not None:
            return None
        if any(row.carried for row in self._rows[self._first_open :]):
            return "reschedule"
        if self._settlement is not None and day <= self._settlement[2]:
            return "settlement"
        if any(first <= day <= last for first, last in self._freezes):
            return "freeze"
        return None

    def plan_running(self, day: int) -> bool:
        """A hardship plan still runs on ``day``: installments it carried are unpaid, its settlement is not yet
        due, or its freeze has not ended."""
        if self.settled_on is not None:
            return False
        carried = any(row.carried for row in self._rows[self._first_open :])
        settling = self._settlement is not None and day <= self._settlement[2]
        return carried or settling or any(last >= day for _, last in self._freezes)

    def accelerate(self, event: Acceleration) -> None:
        """Make every installment not yet due fall due on its date (see :class:`Acceleration`); lapses unless
        the loan is in default (an installment past its due date and unpaid), or if it was accelerated before."""
        day = self._plan_day(event)
        if day is None:
            return
        if self.accelerated_on is not None:
            self._lapse(event, f"the loan was already accelerated on {self.accelerated_on}")
            return
        if not any(row.due < day for row in self._rows[self._first_open :]):
            self._lapse(event, f"nothing is past due on {event.value_date}: a loan is accelerated only after a default")
            return
        self._collapse_future(day, move_due=True)
        self._reindex()
        self.accelerated_on = event.value_date

    def _collapse_future(self, day: int, *, move_due: bool) -> None:
        """Interest of the periods not begun is dropped; the current period's is what its actual days earned
        (民法典 art. 677), put on the first installment not yet due. ``move_due``: those installments fall due
        on ``day`` (acceleration)."""
        current = self.current_interest(day)
        future = [row for row in self._regular if row.due > day]
        if self.journal is not None and future:
            position = bisect.bisect_right(self._due_days, day)
            since = date.fromordinal(self._due_days[position - 1] if position else self._start)
            principal = sum(row.principal for row in future)
            entry = Accelerated if move_due else EarlySettlement
            self.journal.append(entry(date.fromordinal(day), since, principal, current))
        for position, row in enumerate(future):
            row.interest = current if position == 0 else 0
            if move_due:
                row.due_date, row.due = date.fromordinal(day), day
                row.grace_end = day + self.terms.grace_days
        if move_due:  # what a plan carried falls due too: acceleration makes the whole debt due
            for row in self._rows[self._first_open :]:
                if row.carried and row.due > day:
                    row.due_date, row.due = date.fromordinal(day), day
                    row.grace_end = day + self.terms.grace_days
            self._rows.sort(key=lambda r: (r.due, not r.carried, r.number))
            self._first_open = 0
            self._advance_first_open(day)

    def _frozen(self, day: int) -> bool:
        return any(first <= day <= last for first, last in self._freezes)

    def _after_reduction(self, day: int) -> None:
        self._advance_first_open(day)
        if self._first_open == len(self._rows) and self.settled_on is None:
            self.settled_on = date.fromordinal(day)

    def close_through(self, day: date) -> None:
        """Run every day-end up to and including ``day``."""
        self.close_through_ordinal(day.toordinal())

    def close_through_ordinal(self, last: int) -> None:
        events = self._event_days
        while self.closed_through < last:
            first = self.closed_through + 1
            index = bisect.bisect_left(events, first)
            event = events[index] if index < len(events) else last + 1
            if event > last:  # a quiet run to the end: every day-end charges the same
                self._quiet_day_ends(first, last)
                self.closed_through = last
                return
            if event > first:
                self._quiet_day_ends(first, event - 1)
            if self.unapplied and event in self._any_due_set:
                self._apply_credit(event)
            self._event_day_end(event)
            self.closed_through = event

    # -- during a day -------------------------------------------------------------------------------------

    def _apply_credit(self, day: int) -> None:
        """Apply held credit to installments due on or before ``day``, oldest first; settle if it covers all."""
        rows, order = self._rows, self.terms.allocation
        allocated = self.allocated
        index = self._first_open
        while self.unapplied and index < len(rows) and rows[index].due <= day:
            row = rows[index]
            for component in order:
                owed = getattr(row, component.value)
                if owed:
                    take = min(owed, self.unapplied)
                    setattr(row, component.value, owed - take)
                    allocated[component] += take
                    self.unapplied -= take
                    if not self.unapplied:
                        break
            index += 1
        self._after_reduction(day)
        if self.unapplied and self._first_open < len(rows):
            self._settle_if_covered(day)

    def _settle_if_covered(self, day: int) -> None:
        """Early settlement (提前结清): if the credit covers current interest plus the principal not yet due
        (everything due is already paid when credit is left over), pay both and waive future interest. Amounts a
        reschedule carried into installments not yet due are owed in full (their interest was billed before)."""
        rows = self._rows
        future = [row for row in rows[self._first_open :] if row.due > day]
        if any(not row.settled() for row in rows[self._first_open :] if row.due <= day):
            return
        principal_not_yet_due = sum(row.principal for row in future if not row.carried)
        carried = sum(row.principal + row.interest + row.penalty + row.compound for row in future if row.carried)
        current_interest = self.current_interest(day)
        if self.unapplied < principal_not_yet_due + current_interest + carried:
            return
        first_regular = True
        for row in future:
            if row.carried:
                for component in Component:
                    self.allocated[component] += getattr(row, component.value)
                    setattr(row, component.value, 0)
                continue
            self.allocated[Component.PRINCIPAL] += row.principal
            row.principal = 0
            row.interest = current_interest if first_regular else 0
            first_regular = False
            self.allocated[Component.INTEREST] += row.interest
            row.interest = 0
        self.unapplied -= principal_not_yet_due + current_interest + carried
        self.settled_on = date.fromordinal(day)
        if self.journal is not None:
            position = bisect.bisect_right(self._due_days, day)
            since = date.fromordinal(self._due_days[position - 1] if position else self._start)
            self.journal.append(EarlySettlement(self.settled_on, since, principal_not_yet_due, current_interest))
        self._advance_first_open(day)

    def current_interest(self, day: int) -> int:
        """Interest earned from the last due date on or before ``day`` (or the start) up to ``day``, on the
        principal not yet due: round(principal not yet due x daily rate x days). 民法典 art. 677. Amounts a
        reschedule carried bear no interest."""
        position = bisect.bisect_right(self._due_days, day)
        since = self._due_days[position - 1] if position else self._start
        principal_not_yet_due = sum(row.principal for row in self._regular[position:])
        return round_to_minor(principal_not_yet_due * self._daily * (day - since), self._mode)

    def carried_not_yet_due(self, day: int) -> int:
        """What a reschedule carried into installments due after ``day`` and is still unpaid (all components)."""
        return sum(
            row.principal + row.interest + row.penalty + row.compound
            for row in self._rows[self._first_open :]
            if row.carried and row.due > day
        )

    def _advance_first_open(self, day: int = 0) -> None:
        rows = self._rows
        while self._first_open < len(rows) and rows[self._first_open].settled():
            row = rows[self._first_open]
            if self.journal is not None and (row.held_penalty or row.held_compound):
                self.journal.append(
                    GraceOutcome(row.number, date.fromordinal(day), row.held_penalty, row.held_compound, False)
                )
            row.held_penalty = row.held_compound = 0  # paid in full within grace: what was held is dropped
            self._first_open += 1

    # -- day-ends -----------------------------------------------------------------------------------------

    def _daily_charges(self, row: _Installment) -> tuple[int, int]:
        penalty = round_div(row.principal * self._penalty_num, self._penalty_den, self._mode) if row.principal else 0
        compound = 0
        if row.interest and self.terms.compound_overdue_interest:
            compound = round_div(row.interest * self._penalty_num, self._penalty_den, self._mode)
        return penalty, compound

    def _quiet_day_ends(self, first: int, last: int) -> None:
        """Day-ends ``first``..``last``, a run with no due date, grace end or payment inside: one day's
        charge times the number of days, held back if the run lies inside the grace period."""
        if self.write_off is not None:  # non-accrual: a written-off loan is charged nothing more
            return
        if self._freezes and self._frozen(first):  # a freeze's edges are event days: the whole run is frozen
            return
        days = last - first + 1
        for row in self._rows[self._first_open :]:
            if row.due >= first:
                break
            if not (row.principal or row.interest):
                continue
            penalty, compound = self._daily_charges(row)
            if self.journal is not None:
                self._record(row, first, last, penalty, compound, last <= row.grace_end)
            if last <= row.grace_end:
                row.held_penalty += penalty * days
                row.held_compound += compound * days
            else:
                self._charge(row, penalty * days, compound * days)

    def _event_day_end(self, day: int) -> None:
        """One day-end on an event day: charge, hold in grace, and release or drop held charges at grace end."""
        if self.write_off is not None:
            return
        for row in self._rows[self._first_open :]:
            if row.due >= day:
                break
            if (row.principal or row.interest) and not (self._freezes and self._frozen(day)):
                penalty, compound = self._daily_charges(row)
                if self.journal is not None:
                    self._record(row, day, day, penalty, compound, day <= row.grace_end)
                if day <= row.grace_end:
                    row.held_penalty += penalty
                    row.held_compound += compound
                else:
                    self._charge(row, penalty, compound)
            if day == row.grace_end and (row.held_penalty or row.held_compound):
                charged = bool(row.principal or row.interest)
                if charged:  # not paid in full within grace: charge what was held
                    self._charge(row, row.held_penalty, row.held_compound)
                if self.journal is not None:
                    outcome = GraceOutcome(
                        row.number, date.fromordinal(day), row.held_penalty, row.held_compound, charged
                    )
                    self.journal.append(outcome)
                row.held_penalty = row.held_compound = 0

    def _record(self, row: _Installment, first: int, last: int, penalty: int, compound: int, held: bool) -> None:
        assert self.journal is not None
        if penalty or compound:
            for day in range(first, last + 1):
                charge = DailyCharge(
                    row.number, date.fromordinal(day), row.principal, row.interest, penalty, compound, held
                )
                self.journal.append(charge)

    def _charge(self, row: _Installment, penalty: int, compound: int) -> None:
        row.penalty += penalty
        row.compound += compound
        self.penalty_charged += penalty
        self.compound_charged += compound

    # -- reading the state --------------------------------------------------------------------------------

    @property
    def closed_through_date(self) -> date:
        return date.fromordinal(self.closed_through)

    @property
    def first_open(self) -> int:
        """Index of the oldest installment not settled (the number of installments once all are)."""
        return self._first_open

    def working_installments(self) -> list[tuple[date, int, int, int, int, int, int]]:
        """Each installment as it stands: due date, principal, interest, penalty and compound unpaid, penalty and
        compound held in grace (what :mod:`arrears.day_end.columns` stores as list columns)."""
        return [
            (r.due_date, r.principal, r.interest, r.penalty, r.compound, r.held_penalty, r.held_compound)
            for r in self._rows
        ]

    def days_past_due(self) -> int:
        """DPD after the last closed day-end (cheap: the demo asks it of every loan every day)."""
        if self._first_open < len(self._rows):
            row = self._rows[self._first_open]
            if row.due < self.closed_through:
                return self.closed_through - row.due
        return 0

    def oldest_unpaid_due(self) -> date | None:
        """The due date of the oldest installment not settled (None once everything is paid)."""
        if self._first_open == len(self._rows):
            return None
        return self._rows[self._first_open].due_date

    def due_total(self, day: date) -> int:
        """Everything unpaid on installments due on or before ``day``, less held credit: what a borrower must
        pay during ``day`` to have nothing overdue after its day-end."""
        limit = day.toordinal()
        owed = 0
        for row in self._rows[self._first_open :]:
            if row.due > limit:
                break
            owed += row.principal + row.interest + row.penalty + row.compound
        return max(0, owed - self.unapplied)

    def accrued_interest(self) -> int:
        """Interest earned on the current period up to :attr:`closed_through` and not yet billed.

        The period's interest I (the first installment not yet due, untouched until it falls due) accrues
        evenly over its n days: accrued-to-date after day-end D is round(I x (D - period start) / n), rounded
        once, so the daily accruals (each the difference of two such amounts) add up to exactly I on the due
        date, when it is billed and this drops back to 0. Nothing accrues once the loan is settled, past its
        last due date, or written off (non-accrual). See :mod:`arrears.day_end.reference`.
        """
        if self.write_off is not None:
            return 0
        return self._accrued_after(self.closed_through)

    def accrued_during(self, value_date: date) -> int:
        """Interest accrued and not yet billed while ``value_date`` runs, its day-end not yet run: what
        :meth:`accrued_interest` gave after the day before, except on the due date that bills the period (its
        interest is then billed, and the next period has accrued nothing yet). A write-off is ignored: this is
        the amount a write-off of that day takes off the books. The replay must be positioned during the day
        (:meth:`begin_day`) or before it."""
        day = value_date.toordinal()
        if day in self._due_day_set:
            return 0
        return self._accrued_after(day - 1)

    def _accrued_after(self, day: int) -> int:
        position = bisect.bisect_right(self._due_days, day)
        if day < self._start or position == len(self._regular) or self._first_open == len(self._rows):
            return 0
        row = self._regular[position]
        since = self._due_days[position - 1] if position else self._start
        return round_div(row.interest * (day - since), row.due - since, self._mode)

    def outstanding_principal(self) -> int:
        return sum(row.principal for row in self._rows[self._first_open :])

    def totals(self, billed_through: date) -> LoanTotals:
        """Cumulative amounts, with interest billed for installments due on or before ``billed_through``."""
        limit = billed_through.toordinal()
        # interest a reschedule carried was billed before, whenever its new installment falls due
        unpaid_billed = sum(row.interest for row in self._rows[self._first_open :] if row.due <= limit or row.carried)
        charged = {
            Component.PRINCIPAL: self.terms.principal,
            Component.INTEREST: self.allocated[Component.INTEREST] + self.waived[Component.INTEREST] + unpaid_billed,
            Component.PENALTY: self.penalty_charged,
            Component.COMPOUND: self.compound_charged,
        }
        return LoanTotals(
            principal=self.terms.principal,
            received=self.received,
            allocated=dict(self.allocated),
            unapplied=self.unapplied,
            waived=dict(self.waived),
            charged=charged,
        )

    def state(self) -> LoanState:
        """The full state after day-end of :attr:`closed_through`."""
        today = self.closed_through
        rows: list[InstallmentState] = []
        overdue = [0, 0, 0, 0]
        for row in self._rows:
            if row.settled():
                status = InstallmentStatus.PAID
            elif row.due < today:
                status = InstallmentStatus.OVERDUE
                overdue[0] += row.principal
                overdue[1] += row.interest
                overdue[2] += row.penalty
                overdue[3] += row.compound
            elif row.due == today:
                status = InstallmentStatus.DUE
            else:
                status = InstallmentStatus.FUTURE
            rows.append(
                InstallmentState(
                    row.number,
                    row.due_date,
                    status,
                    row.principal,
                    row.interest,
                    row.penalty,
                    row.compound,
                    row.carried,
                )
            )
        dpd = self.days_past_due()
        return LoanState(
            as_of=self.closed_through_date,
            days_past_due=dpd,
            bucket=bucket_for(dpd),
            classification=classification_for(dpd),
            outstanding_principal=self.outstanding_principal(),
            overdue=Overdue(*overdue),
            installments=tuple(rows),
            unapplied=self.unapplied,
            allocated=dict(self.allocated),
            settled_on=self.settled_on,
            waived=dict(self.waived),
            written_off_on=self.write_off.on if self.write_off else None,
            restructured_on=self.restructured_on,
            accelerated_on=self.accelerated_on,
        )


def replay_events(
    terms: LoanTerms, events: Iterable[LoanEvent], through: date, schedule: Schedule | None = None
) -> LoanReplay:
    """A replay with every event dated on or before ``through`` applied, in value-date order (ties keep the
    order given, which callers make the recorded order), and no day-end of ``through`` run yet."""
    loan = LoanReplay(terms, schedule)
    for event in sorted(events, key=lambda e: e.value_date):
        if event.value_date <= through:
            loan.apply(event)
    return loan


def replay(
    terms: LoanTerms,
    events: Iterable[LoanEvent],
    as_of: date,
    schedule: Schedule | None = None,
) -> LoanState:
    """The loan's state after day-end ``as_of``, replayed from its start with every event dated on or before
    ``as_of`` (later ones do not affect it), in value-date order, whatever order they were recorded in."""
    if as_of < terms.start:
        raise InputRejected(f"as-of date {as_of} is before the loan started on {terms.start}; pick a later date")
    loan = replay_events(terms, events, as_of, schedule)
    loan.close_through(as_of)
    return loan.state()
