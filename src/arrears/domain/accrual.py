"""Steps 2 and 3 of the specification (:mod:`arrears.domain.engine`): what each day-end charges, and grace.

Every day-end charges, on each installment due strictly before the day with unpaid principal or interest,
penalty = round(unpaid principal x daily rate x multiplier) and, when compounding, compound = round(unpaid
interest x daily rate x multiplier), each day's charge rounded on its own. During grace the charges are held back,
then dropped if principal and interest were paid in full by the grace end, charged at it otherwise. A run of days
with no event inside (due date, grace end, payment, freeze edge) charges n times one day's rounded charge: the same
arithmetic as n separate day-ends.
"""

from __future__ import annotations

import bisect
from datetime import date

from arrears.domain.allocation import Allocation
from arrears.domain.events import PaymentRefused
from arrears.domain.journal import DailyCharge, GraceOutcome
from arrears.domain.working import WorkingInstallment
from arrears.money import round_div


class DayEnds(Allocation):
    """Running day-ends up to a day, and the start of a day (the day-ends before it, then its held credit)."""

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

    def _daily_charges(self, row: WorkingInstallment) -> tuple[int, int]:
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

    def _record(self, row: WorkingInstallment, first: int, last: int, penalty: int, compound: int, held: bool) -> None:
        assert self.journal is not None
        if penalty or compound:
            for day in range(first, last + 1):
                charge = DailyCharge(
                    row.number, date.fromordinal(day), row.principal, row.interest, penalty, compound, held
                )
                self.journal.append(charge)

    def _charge(self, row: WorkingInstallment, penalty: int, compound: int) -> None:
        row.penalty += penalty
        row.compound += compound
        self.penalty_charged += penalty
        self.compound_charged += compound
