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

Where each part lives: the events in :mod:`arrears.domain.events`; the records a replay gives in
:mod:`arrears.domain.loan_state` and its journal in :mod:`arrears.domain.journal`; the replay itself is
:class:`LoanReplay` here, built up one step at a time: :mod:`arrears.domain.working` (the working installments),
:mod:`arrears.domain.allocation` (step 1), :mod:`arrears.domain.accrual` (steps 2 and 3) and
:mod:`arrears.domain.plan_events` (hardship plans and legal decisions). Every name stays importable from here.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from arrears.domain.classification import bucket_for, classification_for
from arrears.domain.events import (
    Acceleration,
    ChargeFreeze,
    LoanEvent,
    Payment,
    PaymentRefused,
    PlanEvent,
    Reschedule,
    Settlement,
    Waiver,
    WriteOff,
)
from arrears.domain.journal import Accelerated, Carried, DailyCharge, EarlySettlement, GraceOutcome, JournalEntry
from arrears.domain.loan_state import (
    InstallmentState,
    InstallmentStatus,
    LoanState,
    LoanTotals,
    Overdue,
    WriteOffRecord,
)
from arrears.domain.plan_events import PlanEvents
from arrears.domain.schedule import Schedule
from arrears.domain.terms import Component, LoanTerms
from arrears.errors import InputRejected
from arrears.money import format_minor, round_div

__all__ = [
    "Accelerated",
    "Acceleration",
    "Carried",
    "ChargeFreeze",
    "DailyCharge",
    "EarlySettlement",
    "GraceOutcome",
    "InstallmentState",
    "InstallmentStatus",
    "JournalEntry",
    "LoanEvent",
    "LoanReplay",
    "LoanState",
    "LoanTotals",
    "Overdue",
    "Payment",
    "PaymentRefused",
    "PlanEvent",
    "Reschedule",
    "Settlement",
    "Waiver",
    "WriteOff",
    "WriteOffRecord",
    "replay",
    "replay_events",
]


class LoanReplay(PlanEvents):
    """Replays one loan forward in time: :meth:`pay` during a day, :meth:`close_through` for day-ends.

    The state is always "after day-end of :attr:`closed_through`". Events must come in value-date order; a
    payment dated on a day already closed needs a replay from the start (:func:`replay` does that).
    """

    # the working state and every step live in the base classes (see the module docstring)

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
