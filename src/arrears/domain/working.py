"""The replay's working state: each installment as it stands (mutable, private to the replay) and the counters
every step of :mod:`arrears.domain.engine`'s specification reads and updates.

:class:`WorkingLoan` is the root of the replay's classes, each a step of the specification:
:class:`~arrears.domain.allocation.Allocation` (money applied during a day, early settlement),
:class:`~arrears.domain.accrual.DayEnds` (penalty and compound at each day-end, grace),
:class:`~arrears.domain.plan_events.PlanEvents` (hardship plans and legal decisions), and
:class:`~arrears.domain.engine.LoanReplay` (the events and reading the state). What they share lives here: the
installments in due order, the index of the oldest not settled, and the interest of the current period.
"""

from __future__ import annotations

import bisect
from datetime import date

from arrears.domain.events import PlanEvent
from arrears.domain.journal import GraceOutcome, JournalEntry
from arrears.domain.loan_state import WriteOffRecord
from arrears.domain.schedule import Schedule, build_schedule
from arrears.domain.terms import Component, LoanTerms
from arrears.money import rate_fraction, round_to_minor


class WorkingInstallment:
    """Working state of one installment during a replay (mutable; only the replay's classes touch it)."""

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


class WorkingLoan:
    """The state a replay works on, after day-end of :attr:`closed_through` (see :mod:`arrears.domain.engine`)."""

    def __init__(self, terms: LoanTerms, schedule: Schedule | None = None) -> None:
        self.terms = terms
        self.schedule = schedule if schedule is not None else build_schedule(terms)
        self._rows = [
            WorkingInstallment(row.number, row.due_date, row.principal, row.interest, terms.grace_days)
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

    def _frozen(self, day: int) -> bool:
        return any(first <= day <= last for first, last in self._freezes)

    def _after_reduction(self, day: int) -> None:
        self._advance_first_open(day)
        if self._first_open == len(self._rows) and self.settled_on is None:
            self.settled_on = date.fromordinal(day)

    @property
    def closed_through_date(self) -> date:
        return date.fromordinal(self.closed_through)

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
