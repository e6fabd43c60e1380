"""One loan's day-end (日终), in scalar form: the specification the vectorized pipeline (:mod:`arrears.day_end.kernel`)
must equal, field by field, to the cent.

A portfolio's day-end D takes every loan as it stood after day-end D-1 (loans that start after D wait) and:

1. **applies the day's payments**: held credit and each payment dated D go to the installments due on or
   before D, oldest first, in the loan's allocation order; credit that covers the payoff settles the loan
   (:class:`arrears.domain.engine.LoanReplay`, which also does steps 2 and 3);
2. **bills** what falls due on D (its interest becomes receivable) and **penalises** what fell due before D
   (penalty on unpaid principal, compound on unpaid interest);
3. **holds charges in grace**, releasing or dropping them at the grace end;
4. **accrues** interest: accrued-to-date after D is round(I x elapsed / n) for the current period
   (:meth:`arrears.domain.engine.LoanReplay.accrued_interest`), rounded once, so the day's accrual, the difference
   of two accrued-to-date amounts, adds up over a period to exactly the interest billed for it;
5. **ages**: days past due, M-bucket and five-category class (:mod:`arrears.domain.classification`);
6. **non-accrual**: a loan becomes non-accrual at the first day-end that leaves it more than
   ``non_accrual_dpd`` days past due (default 90) and stays so until nothing is overdue (DPD 0). While it is
   non-accrual, what a day-end recognises (the change in interest billed plus accrued, and the penalty and
   compound charged) is credited to ``income_suspense`` instead of income; when it returns to accrual, the
   suspense is released to income. This is general banking practice (interest on loans 90 days overdue is not
   booked as income: US call-report "nonaccrual", Chinese banks' 表外应收利息), not a rule verified in
   shared/RULES.md, hence :class:`DayEndPolicy`;
7. **detects transitions** (:class:`Transition`) between the standing before and after, as events;
8. **posts**: the loan's balances after (:func:`arrears.domain.ledger.accrual_basis_balances`) minus its balances
   before, one sub-ledger row per account that moved.

Waivers and write-offs are part of this specification (a waiver reduces what is owed and, net, what is
recognised: on a non-accrual loan it comes out of the suspense, which goes into debit when the waiver exceeds
what the suspense holds, i.e. waives income recognised before the loan became non-accrual; that nets out when
the loan returns to accrual or is written off. Capping it and reversing income instead is a policy question left
open); a written-off loan leaves the day-end with
its books frozen as :func:`arrears.domain.ledger.written_off_balances` says), but not of the batch kernel, which takes
payments only: the store's runner hands loans with such events to this reference
(:mod:`arrears.service_layer.day_end_store`).

**During a day** (between day-end D-1 and day-end D) commands post on the same basis: :func:`balances_during`
gives a loan's books from its standing after day-end D-1 and its events so far. Interest accrued stays as it
was after D-1 (it moves at day-ends only) except on a due date, when the period's interest is billed (its
accrual becomes the receivable); a non-accrual loan stays non-accrual until the day-end, so what it recognises
during the day goes to suspense. The day-end then posts the difference to its own standing, so books after
day-end D are the same whether a payment of day D came in during the day or was handed to the day-end.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from arrears.domain.classification import Bucket, Classification, bucket_for, classification_for
from arrears.domain.engine import LoanReplay
from arrears.domain.events import LoanEvent, WriteOff
from arrears.domain.ledger import Account, Balances, accrual_basis_balances, difference, written_off_balances
from arrears.domain.loan_state import LoanTotals
from arrears.domain.terms import Component, LoanTerms
from arrears.errors import InputRejected

DEFAULT_NON_ACCRUAL_DPD = 90


@dataclass(frozen=True, slots=True)
class DayEndPolicy:
    """Settings of the day-end that are policy, not contract."""

    non_accrual_dpd: int = DEFAULT_NON_ACCRUAL_DPD
    """A loan more than this many days past due is non-accrual (see the module docstring, step 6)."""
    observation_days: int = 365
    """How long a loan whose terms a hardship plan changed (reschedule, freeze, settlement) is held at
    ``restructured_floor`` at least, from the plan's date: its observation period. The 2023 classification
    measures (商业银行金融资产风险分类办法) hold restructured assets for an observation period of at least a
    year [S]: configure it."""
    restructured_floor: Classification = Classification.SPECIAL_MENTION
    """The best class a restructured loan can have during its observation period [S]."""

    def __post_init__(self) -> None:
        for name, value in (
            ("non-accrual days past due", self.non_accrual_dpd),
            ("observation days", self.observation_days),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
                raise InputRejected(f"{name} must be a whole number from 0 to 10000, got {value!r}")

    def floor(self, replay: LoanReplay) -> Classification:
        """The class a loan cannot be better than after the day-end the replay has closed: ``restructured_floor``
        during a hardship plan's observation period, else normal (days past due alone decide)."""
        since = replay.restructured_on
        observed = since is not None and (replay.closed_through_date - since).days < self.observation_days
        if observed and replay.settled_on is None:
            return self.restructured_floor
        return Classification.NORMAL


class Transition(StrEnum):
    """What a day-end can change about a loan that someone downstream acts on (collections, restrictions,
    credit reporting). Within one loan and day, events come in this order."""

    ENTERED_OVERDUE = "entered_overdue"  # DPD 0 -> more than 0
    ROLLED = "rolled"  # to a worse M-bucket while already overdue (M1 -> M2, ...)
    CURED = "cured"  # DPD more than 0 -> 0
    RECLASSIFIED = "reclassified"  # five-category class changed
    ENTERED_NON_ACCRUAL = "entered_non_accrual"
    RETURNED_TO_ACCRUAL = "returned_to_accrual"
    FULLY_REPAID = "fully_repaid"  # the last amount owed was paid during the day


@dataclass(frozen=True, slots=True)
class TransitionEvent:
    day: date
    kind: Transition
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class DayEndState:
    """A loan after one day-end: its ageing, accrual status and the cumulative amounts the books follow."""

    day: date
    days_past_due: int
    non_accrual: bool
    settled: bool
    totals: LoanTotals
    accrued: int
    suspended_interest: int
    suspended_penalty: int
    written_off_at: dict[Account, int] | None = None
    """The books as they stood at the write-off (accrual basis), once the loan is written off."""
    floor: Classification = Classification.NORMAL
    """The best class the loan may have whatever its days past due (a hardship plan's observation period)."""

    @property
    def bucket(self) -> Bucket:
        return bucket_for(self.days_past_due)

    @property
    def classification(self) -> Classification:
        """The worse of what days past due give and the floor (:mod:`arrears.domain.classification`)."""
        by_dpd = classification_for(self.days_past_due)
        return max(by_dpd, self.floor, key=_CLASSES.index)

    @property
    def recognised_interest(self) -> int:
        """Interest billed (or charged at an early settlement) plus interest accrued and not yet billed, less
        interest waived."""
        return _recognised_interest(self.totals, self.accrued)

    @property
    def recognised_penalty(self) -> int:
        return _recognised_penalty(self.totals)

    def balances(self) -> Balances:
        if self.written_off_at is not None:
            return written_off_balances(self.written_off_at, self.totals.received, self.totals.principal)
        return accrual_basis_balances(self.totals, self.accrued, self.suspended_interest, self.suspended_penalty)


def _recognised_interest(totals: LoanTotals, accrued: int) -> int:
    return totals.charged[Component.INTEREST] - totals.waived[Component.INTEREST] + accrued


def _recognised_penalty(totals: LoanTotals) -> int:
    charges = (Component.PENALTY, Component.COMPOUND)
    return sum(totals.charged[c] - totals.waived[c] for c in charges)


def _suspended(before: DayEndState, non_accrual: bool, totals: LoanTotals, accrued: int) -> tuple[int, int]:
    """Interest and charges held in suspense: what a non-accrual loan recognised since ``before``, added to what
    was held then; nothing for a loan in accrual (what was held is released to income)."""
    if not non_accrual:
        return 0, 0
    interest = before.suspended_interest + _recognised_interest(totals, accrued) - before.recognised_interest
    penalty = before.suspended_penalty + _recognised_penalty(totals) - before.recognised_penalty
    return interest, penalty


def _written_off_at(before: DayEndState, replay: LoanReplay, day: date) -> dict[Account, int] | None:
    """The books at the write-off, for a loan written off during ``day`` (``before`` is the standing after the
    day-end before it); the frozen books of an earlier write-off; None for a loan not written off."""
    if before.written_off_at is not None or replay.write_off is None:
        return before.written_off_at
    totals, accrued = replay.write_off.totals, replay.accrued_during(day)
    interest, penalty = _suspended(before, before.non_accrual, totals, accrued)
    return accrual_basis_balances(totals, accrued, interest, penalty)


def balances_during(before: DayEndState, replay: LoanReplay, day: date) -> Balances:
    """A loan's books during ``day``: ``before`` is its standing after day-end ``day`` - 1, ``replay`` holds its
    events so far, positioned during ``day`` (see the module docstring)."""
    written_off_at = _written_off_at(before, replay, day)
    if written_off_at is not None:
        return written_off_balances(written_off_at, replay.received, replay.terms.principal)
    totals, accrued = replay.totals(day), replay.accrued_during(day)
    interest, penalty = _suspended(before, before.non_accrual, totals, accrued)
    return accrual_basis_balances(totals, accrued, interest, penalty)


def opening_day_end_state(terms: LoanTerms) -> DayEndState:
    """The loan just disbursed, before its first day-end: the disbursement is booked, nothing else."""
    nothing = dict.fromkeys(Component, 0)
    totals = LoanTotals(
        principal=terms.principal,
        received=0,
        allocated=dict(nothing),
        unapplied=0,
        waived=dict(nothing),
        charged=dict(nothing, **{Component.PRINCIPAL: terms.principal}),
    )
    return DayEndState(terms.start - timedelta(days=1), 0, False, False, totals, 0, 0, 0)


def day_end_state_after(
    before: DayEndState, replay: LoanReplay, policy: DayEndPolicy, written_off_at: dict[Account, int] | None = None
) -> DayEndState:
    """The standing after the day-end the replay has just closed (steps 4 to 6 of the module docstring);
    ``written_off_at`` is :func:`_written_off_at` taken during that day, before the day-end ran."""
    day = replay.closed_through_date
    totals = replay.totals(day)
    dpd = replay.days_past_due()
    accrued = replay.accrued_interest()
    non_accrual = written_off_at is not None or dpd > policy.non_accrual_dpd or (before.non_accrual and dpd > 0)
    suspended_interest, suspended_penalty = (
        (0, 0) if written_off_at else _suspended(before, non_accrual, totals, accrued)
    )
    return DayEndState(
        day=day,
        days_past_due=dpd,
        non_accrual=non_accrual,
        settled=replay.settled_on is not None,
        totals=totals,
        accrued=accrued,
        suspended_interest=suspended_interest,
        suspended_penalty=suspended_penalty,
        written_off_at=written_off_at,
        floor=policy.floor(replay),
    )


def day_end_state_from(
    replay: LoanReplay,
    non_accrual: bool,
    suspended_interest: int,
    suspended_penalty: int,
    policy: DayEndPolicy | None = None,
) -> DayEndState:
    """The standing after the day-end the replay has closed, given the accrual status that day-end stored (what
    a command needs of a loan the store's day-end runs, without replaying its day-ends one by one)."""
    day = replay.closed_through_date
    return DayEndState(
        day=day,
        days_past_due=replay.days_past_due(),
        non_accrual=non_accrual,
        settled=replay.settled_on is not None,
        totals=replay.totals(day),
        accrued=replay.accrued_interest(),
        suspended_interest=suspended_interest,
        suspended_penalty=suspended_penalty,
        floor=(policy or DayEndPolicy()).floor(replay),
    )


def transitions(before: DayEndState, after: DayEndState) -> tuple[TransitionEvent, ...]:
    """The events between two consecutive standings, in :class:`Transition` order."""
    day, events = after.day, []
    if before.days_past_due == 0 < after.days_past_due:
        events.append(TransitionEvent(day, Transition.ENTERED_OVERDUE, "0", str(after.days_past_due)))
    if before.days_past_due > 0 and _BUCKETS.index(after.bucket) > _BUCKETS.index(before.bucket):
        events.append(TransitionEvent(day, Transition.ROLLED, str(before.bucket), str(after.bucket)))
    if before.days_past_due > 0 == after.days_past_due:
        events.append(TransitionEvent(day, Transition.CURED, str(before.days_past_due), "0"))
    if before.classification is not after.classification:
        events.append(
            TransitionEvent(day, Transition.RECLASSIFIED, str(before.classification), str(after.classification))
        )
    if after.non_accrual and not before.non_accrual:
        events.append(TransitionEvent(day, Transition.ENTERED_NON_ACCRUAL, "accrual", "non-accrual"))
    if before.non_accrual and not after.non_accrual:
        events.append(TransitionEvent(day, Transition.RETURNED_TO_ACCRUAL, "non-accrual", "accrual"))
    if after.settled and not before.settled:
        events.append(TransitionEvent(day, Transition.FULLY_REPAID, "open", "repaid"))
    return tuple(events)


_BUCKETS = tuple(Bucket)
_CLASSES = tuple(Classification)


@dataclass(frozen=True, slots=True)
class DayEnd:
    """What one loan's day-end produced."""

    standing: DayEndState
    events: tuple[TransitionEvent, ...]
    postings: dict[Account, int]


class LoanDayEnds:
    """One loan's day-ends, run one day at a time from its start: the reference for the batch pipeline."""

    def __init__(self, terms: LoanTerms, events: Iterable[LoanEvent], policy: DayEndPolicy | None = None) -> None:
        self.terms = terms
        self.policy = policy or DayEndPolicy()
        self.replay = LoanReplay(terms)
        self.standing = opening_day_end_state(terms)
        ordered = sorted(events, key=lambda event: event.value_date)  # stable: recorded order within a day
        if ordered and ordered[0].value_date < terms.start:
            raise InputRejected(
                f"an event dated {ordered[0].value_date} is before the loan started on {terms.start}; check the date"
            )
        self._events = ordered
        self._days = [event.value_date for event in ordered]

    def run(self, day: date) -> DayEnd | None:
        """Day-end ``day``, which must follow the last one run; None before the loan starts."""
        if day < self.terms.start:
            return None
        expected = self.standing.day + timedelta(days=1)
        if day != expected:
            raise InputRejected(f"day-end {day} out of order: this loan's next day-end is {expected}")
        before = self.standing
        after = self.standing = self._advance(day)
        return DayEnd(after, transitions(before, after), difference(before.balances(), after.balances()))

    def _advance(self, day: date) -> DayEndState:
        for index in range(bisect.bisect_left(self._days, day), bisect.bisect_right(self._days, day)):
            self.replay.apply(self._events[index])
        if self.standing.written_off_at is None and self.replay.write_off is None:
            self.replay.close_through(day)
            return day_end_state_after(self.standing, self.replay, self.policy)
        written_off_at = _written_off_at(self.standing, self.replay, day)  # taken during the day, before it closes
        self.replay.close_through(day)
        return day_end_state_after(self.standing, self.replay, self.policy, written_off_at)

    def run_through(self, day: date) -> DayEndState:
        """Every day-end up to ``day`` (without their events and postings); the standing after it."""
        ordinal, last = self.standing.day.toordinal() + 1, day.toordinal()
        if ordinal > last:
            return self.standing
        first_due = min((row.due_date for row in self.replay.schedule), default=self.terms.start)
        written_off = any(isinstance(event, WriteOff) for event in self._events if event.value_date <= day)
        if not (written_off or self.standing.non_accrual) and (day - first_due).days <= self.policy.non_accrual_dpd:
            # Days past due after day-end d is at most d minus the first due date, so while that stays within
            # the threshold no day-end up to ``day`` can make the loan non-accrual: one jump is exact.
            after = bisect.bisect_right(self._days, self.standing.day)
            for event in self._events[after : bisect.bisect_right(self._days, day)]:
                self.replay.apply(event)
            self.replay.close_through(day)
            self.standing = day_end_state_after(self.standing, self.replay, self.policy)
            return self.standing
        while ordinal <= last:
            self.standing = self._advance(date.fromordinal(ordinal))
            ordinal += 1
        return self.standing


def day_end_state_through(
    terms: LoanTerms, events: Iterable[LoanEvent], day: date, policy: DayEndPolicy | None = None
) -> tuple[DayEndState, LoanReplay]:
    """A loan's standing after day-end ``day`` from its events (those dated after ``day`` are left out), and
    its replay closed through that day: the reference for the store's commands and its day-end."""
    kept = [event for event in events if event.value_date <= day]
    ends = LoanDayEnds(terms, kept, policy)
    if day < terms.start:
        return ends.standing, ends.replay
    return ends.run_through(day), ends.replay
