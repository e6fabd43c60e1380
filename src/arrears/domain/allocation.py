"""Step 1 of the specification (:mod:`arrears.domain.engine`): money applied during a day.

Held credit goes to the installments due on or before the day, oldest first, and within an installment in the
loan's allocation order (default penalty, compound, interest, principal); what finds nothing due stays as
unapplied credit (rule :class:`arrears.domain.terms.Prepayment`). Whenever the credit covers the payoff amount the
loan is settled at once (提前结清), with interest for the actual days only (民法典 art. 677).
"""

from __future__ import annotations

import bisect
from datetime import date

from arrears.domain.journal import EarlySettlement
from arrears.domain.terms import Component
from arrears.domain.working import WorkingLoan


class Allocation(WorkingLoan):
    """Applying held credit to what is due, and early settlement when it covers everything."""

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
