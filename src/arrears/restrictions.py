"""The restrictions registry: what a lender may restrict when payments are missed, and the way back (解封).

**Only the lender's own product.** A restriction has a scope in :class:`arrears.product.RestrictionScope`:
``drawdown`` (new drawdowns suspended), ``limit`` (the limit lowered), ``line`` (the line closed),
``auto_debit``. Anything else (freezing or limiting a messaging account, telling the borrower's contacts,
touching another company's service) is refused by :func:`refuse_outside_product` with the rule and its source:
the seed article's claims are exactly what this refuses (shared/RULES.md: the messaging account is not the
lender's; disclosure to contacts breaches PIPL arts. 23 and 25; freezing money is a court's measure, 民事诉讼法
art. 253, executed by the bank or payment institution, never by the lender).

**Rules, not flags.** A product's ``[[restrictions]]`` rules (:class:`arrears.product.RestrictionRule`) put a
restriction on a line when, after a day-end, its days past due (the worst of its loans) reach ``dpd_at_least``,
and lift it when its condition holds: ``nothing_overdue`` the moment nothing is overdue (at posting time: a
payment during the day lifts it that day); ``good_standing`` after that many consecutive day-ends with nothing
overdue; ``review_after_full_repayment`` only by the lender's review (``arrears line review``) once everything
is repaid. A ``limit`` restriction lowers the limit to the principal outstanding at the day-end that triggered it.

**Derived from the events.** :func:`line_history` replays the line's loans day by day, so the restrictions are
always those the events give: a backdated payment that cures a loan lifts its restrictions as of its value date,
and the history (:class:`Restriction` with ``since`` and ``lifted_on``) shows what applied when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from arrears.engine import LoanEvent, LoanReplay
from arrears.errors import InputRejected
from arrears.product import LiftCondition, RestrictionRule, RestrictionScope
from arrears.terms import LoanTerms


class RestrictionRefused(InputRejected):
    """A restriction the lender may not impose; the message names the rule and its source."""

    def __init__(self, rule: str, reason: str, source: str) -> None:
        super().__init__(f"refused by rule {rule}: {reason} (source: {source})")
        self.rule, self.reason, self.source = rule, reason, source


OUTSIDE_PRODUCT = "restriction.outside_product"
_OUTSIDE_SOURCE = (
    "shared/RULES.md: the messaging account belongs to another company and is not frozen (S); contact only the "
    "borrower, never disclose the debt to contacts (PIPL arts. 23, 25: V); freezing or seizing money is a court "
    "measure run through the bank or payment institution (民事诉讼法 art. 253: V)"
)


def refuse_outside_product(scope: str) -> RestrictionScope:
    """The scope if the lender may restrict it; :class:`RestrictionRefused` for anything outside its product."""
    try:
        return RestrictionScope(scope)
    except ValueError:
        allowed = ", ".join(s.value for s in RestrictionScope)
        raise RestrictionRefused(
            OUTSIDE_PRODUCT,
            f"{scope!r} is not the lender's own product; a lender may restrict only {allowed} on its own line",
            _OUTSIDE_SOURCE,
        ) from None


@dataclass(frozen=True, slots=True)
class Restriction:
    """One restriction in a line's history: put on at day-end ``since`` (in force from the next day), lifted on
    ``lifted_on``, the first day it no longer applies (None: still in force)."""

    rule: RestrictionRule
    since: date
    lifted_on: date | None
    days_past_due: int
    limit: int | None = None  # a ``limit`` restriction: the limit in force while it lasts

    def in_force_during(self, day: date) -> bool:
        return self.since < day and (self.lifted_on is None or self.lifted_on > day)


@dataclass(frozen=True, slots=True)
class LineDuring:
    """A line during ``day``: its history of restrictions, and where its loans stand (payments of the day in)."""

    day: date
    history: tuple[Restriction, ...]
    days_past_due: int  # after day-end ``day`` - 1, the worst of the line's loans
    overdue: dict[int, int]  # loan -> what it must pay during ``day`` for nothing to be overdue
    oldest_overdue_due: date | None
    outstanding_principal: int

    @property
    def in_force(self) -> tuple[Restriction, ...]:
        return tuple(r for r in self.history if r.in_force_during(self.day))

    def limit_in_force(self, limit: int) -> int:
        lowered = [r.limit for r in self.in_force if r.rule.scope is RestrictionScope.LIMIT and r.limit is not None]
        return min([limit, *lowered])

    def next_escalation(self, rules: Sequence[RestrictionRule]) -> tuple[RestrictionRule, date] | None:
        """The next rule the line would reach if nothing is paid, and the last day paying avoids it."""
        if self.oldest_overdue_due is None:
            return None
        active = {r.rule.name for r in self.in_force}
        ahead = [rule for rule in rules if rule.name not in active and rule.dpd_at_least > self.days_past_due]
        if not ahead:
            return None
        rule = min(ahead, key=lambda r: r.dpd_at_least)
        # days past due after day-end d is d - oldest due date: paying during that day-end's day avoids it
        return rule, self.oldest_overdue_due + timedelta(days=rule.dpd_at_least)


def line_history(
    rules: Sequence[RestrictionRule],
    loans: Sequence[tuple[int, LoanTerms, Sequence[LoanEvent]]],
    day: date,
    reviews: Sequence[date] = (),
) -> LineDuring:
    """The line during ``day``: every day-end up to ``day`` - 1 run for each of its loans, the events of ``day``
    applied, and the rules applied at each day-end and at each day's postings (module docstring). ``reviews``:
    the days the lender reviewed the line; a review on a day everything is repaid lifts what waits for one."""
    started = [(loan_id, terms, sorted(events, key=lambda e: e.value_date)) for loan_id, terms, events in loans]
    started = [loan for loan in started if loan[1].start <= day]
    replays = {loan_id: LoanReplay(terms) for loan_id, terms, _ in started}
    pending = {loan_id: list(events) for loan_id, _, events in started}
    history: list[Restriction] = []
    active: dict[str, int] = {}  # rule name -> index in history
    clean_day_ends = 0
    dpd = 0
    current = min((terms.start for _, terms, _ in started), default=day)
    while True:
        for loan_id, terms, _ in started:
            if terms.start <= current:
                replay, queue = replays[loan_id], pending[loan_id]
                replay.begin_day(current)
                while queue and queue[0].value_date == current:
                    replay.apply(queue.pop(0))
        overdue = {
            loan_id: replays[loan_id].due_total(current - timedelta(days=1))
            for loan_id, terms, _ in started
            if terms.start <= current
        }
        if not any(overdue.values()):  # posting time: nothing overdue lifts what waits for that
            # loans drawn on the review's day came after it (a closed line refuses drawdowns until reviewed)
            repaid = all(
                replays[loan_id].oldest_unpaid_due() is None for loan_id, terms, _ in started if terms.start < current
            )
            for name, index in list(active.items()):
                lift = history[index].rule.lift
                reviewed = lift is LiftCondition.REVIEW_AFTER_FULL_REPAYMENT and repaid and current in reviews
                if lift is LiftCondition.NOTHING_OVERDUE or reviewed:
                    history[index] = _lifted(history[index], current)
                    del active[name]
        if current == day:
            oldest = [replays[loan_id].oldest_unpaid_due() for loan_id, amount in overdue.items() if amount]
            outstanding = sum(replays[loan_id].outstanding_principal() for loan_id in overdue)
            found = [due for due in oldest if due is not None]
            return LineDuring(day, tuple(history), dpd, overdue, min(found, default=None), outstanding)
        for loan_id, terms, _ in started:  # day-end ``current``
            if terms.start <= current:
                replays[loan_id].close_through(current)
        dpd = max((replays[loan_id].days_past_due() for loan_id in overdue), default=0)
        clean_day_ends = clean_day_ends + 1 if dpd == 0 else 0
        for name, index in list(active.items()):
            rule = history[index].rule
            if rule.lift is LiftCondition.GOOD_STANDING and clean_day_ends >= rule.good_standing_days:
                history[index] = _lifted(history[index], current + timedelta(days=1))  # from the next day
                del active[name]
        for rule in rules:
            if rule.name not in active and dpd >= rule.dpd_at_least:
                limit = None
                if rule.scope is RestrictionScope.LIMIT:
                    limit = sum(replays[loan_id].outstanding_principal() for loan_id in overdue)
                active[rule.name] = len(history)
                history.append(Restriction(rule, current, None, dpd, limit))
        current += timedelta(days=1)


def _lifted(restriction: Restriction, day: date) -> Restriction:
    return Restriction(restriction.rule, restriction.since, day, restriction.days_past_due, restriction.limit)
