"""Plan events (:data:`arrears.domain.events.PlanEvent`): a hardship plan's reschedule, freeze and settlement at a
discount, and a legal decision's acceleration, as the replay applies them on their value date.

Each is a condition checked when replayed: one whose condition no longer holds on its date lapses (has no
effect, and is listed in :attr:`arrears.domain.engine.LoanReplay.lapsed`). History is never rewritten: replaying to
a day before the value date gives what it gave before.
"""

from __future__ import annotations

import bisect
import itertools
from datetime import date

from arrears.domain.accrual import DayEnds
from arrears.domain.events import Acceleration, ChargeFreeze, PaymentRefused, PlanEvent, Reschedule, Settlement
from arrears.domain.journal import Accelerated, Carried, EarlySettlement
from arrears.domain.working import WorkingInstallment


class PlanEvents(DayEnds):
    """Reschedule, freeze, settlement at a discount and acceleration, and what runs of a plan on a day."""

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
            row = WorkingInstallment(number, date.fromordinal(due), 0, 0, self.terms.grace_days, carried=True)
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
