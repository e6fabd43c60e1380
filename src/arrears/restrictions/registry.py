"""The restrictions registry: what a lender may restrict when payments are missed, and the way back (解封).

**Only the lender's own product.** A restriction has a scope in :class:`arrears.domain.product.RestrictionScope`:
``drawdown`` (new drawdowns suspended), ``limit`` (the limit lowered), ``line`` (the line closed),
``auto_debit``. Anything else (freezing or limiting a messaging account, telling the borrower's contacts,
touching another company's service) is refused by :func:`refuse_outside_product` with the rule and its source:
the seed article's claims are exactly what this refuses (shared/RULES.md: the messaging account is not the
lender's; disclosure to contacts breaches PIPL arts. 23 and 25; freezing money is a court's measure, 民事诉讼法
art. 253, executed by the bank or payment institution, never by the lender).

**Rules, not flags.** A product's ``[[restrictions]]`` rules (:class:`arrears.domain.product.RestrictionRule`) put a
restriction on a line when, after a day-end, its days past due (the worst of its loans) reach ``dpd_at_least``
(a ``trigger = "decision"`` rule only at the day-end of a day a collections decision asked for it: the
strategy's restriction actions, arrears.collections),
and lift it when its condition holds: ``nothing_overdue`` the moment nothing is overdue (at posting time: a
payment during the day lifts it that day); ``good_standing`` after that many consecutive day-ends with nothing
overdue; ``review_after_full_repayment`` only by the lender's review (``arrears line review``) once everything
is repaid. A ``limit`` restriction lowers the limit to the principal outstanding at the day-end that triggered it.

**Derived from the events.** :func:`line_history` replays the line's loans day by day, so the restrictions are
always those the events give: a backdated payment that cures a loan lifts its restrictions as of its value date,
and the history (:class:`Restriction` with ``since`` and ``lifted_on``) shows what applied when.

**Recorded as announced.** The store keeps the registry (``restrictions``, with an append-only
``restriction_events`` log saying what changed, effective when, recorded on which business date and why):
:func:`reconcile` turns the difference between what was recorded and what the events now give into
:class:`Change` s (a backdated payment: ``lifted`` effective on its value date, recorded today, the imposition
kept; a reversal: ``reinstated``; facts that never warranted it: ``withdrawn``), and :func:`day_end_changes`
applies one day-end's rules to a line from its days past due alone, which is how the store's day-end keeps the
registry at portfolio scale (tests/e2e/test_restriction_records.py holds it equal to :func:`line_history`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from arrears.domain.engine import LoanReplay
from arrears.domain.events import LoanEvent
from arrears.domain.product import LiftCondition, RestrictionRule, RestrictionScope, RestrictionTrigger
from arrears.domain.terms import LoanTerms
from arrears.errors import InputRejected


class RestrictionRefused(InputRejected):
    """A restriction the lender may not impose; the message names the rule and its source."""

    def __init__(self, rule: str, reason: str, source: str) -> None:
        super().__init__(f"refused by rule {rule}: {reason} (source: {source})")
        self.rule, self.reason, self.source = rule, reason, source


OUTSIDE_PRODUCT = "restriction.outside_product"
OUTSIDE_PRODUCT_SOURCE = (
    "shared/RULES.md: the messaging account belongs to another company and is not frozen (S); contact only the "
    "borrower, never disclose the debt to contacts (PIPL arts. 23, 25: V); freezing or seizing money is a court "
    "measure run through the bank or payment institution (民事诉讼法 art. 253: V)"
)


NO_CONTRACT_BASIS = "restriction.no_contract_basis"
NO_CONTRACT_BASIS_SOURCE = (
    'the product\'s [[restrictions]] rules with trigger = "decision": each names the contract clause '
    "(legal_basis) that allows the lender to restrict its own product, and from how many days past due"
)


def decision_rule(rules: Sequence[RestrictionRule], scope: RestrictionScope, days_past_due: int) -> RestrictionRule:
    """The product's ``decision`` rule a collections decision to restrict ``scope`` applies, or
    :class:`RestrictionRefused`: a lender restricts only as its contract allows, from the days it says."""
    allowed = [r for r in rules if r.trigger is RestrictionTrigger.DECISION and r.scope is scope]
    if not allowed:
        raise RestrictionRefused(
            NO_CONTRACT_BASIS, f"the line's product has no decision rule for {scope}", NO_CONTRACT_BASIS_SOURCE
        )
    ready = [r for r in allowed if days_past_due >= r.dpd_at_least]
    if not ready:
        first = min(allowed, key=lambda r: r.dpd_at_least)
        raise RestrictionRefused(
            NO_CONTRACT_BASIS,
            f"{first.name} applies from {first.dpd_at_least} days past due, not {days_past_due} ({first.legal_basis})",
            NO_CONTRACT_BASIS_SOURCE,
        )
    return min(ready, key=lambda r: r.dpd_at_least)


def refuse_outside_product(scope: str) -> RestrictionScope:
    """The scope if the lender may restrict it; :class:`RestrictionRefused` for anything outside its product."""
    try:
        return RestrictionScope(scope)
    except ValueError:
        allowed = ", ".join(s.value for s in RestrictionScope)
        raise RestrictionRefused(
            OUTSIDE_PRODUCT,
            f"{scope!r} is not the lender's own product; a lender may restrict only {allowed} on its own line",
            OUTSIDE_PRODUCT_SOURCE,
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
    clean_day_ends: int = 0  # consecutive day-ends up to ``day`` - 1 with nothing past due

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
    decisions: Collection[tuple[date, str]] = (),
) -> LineDuring:
    """The line during ``day``: every day-end up to ``day`` - 1 run for each of its loans, the events of ``day``
    applied, and the rules applied at each day-end and at each day's postings (module docstring). ``reviews``:
    the days the lender reviewed the line; a review on a day everything is repaid lifts what waits for one.
    ``decisions``: (day, rule name) of the collections decisions taken on the line; a ``decision`` rule is put
    on at the day-end of the day it was decided, if the line's days past due still reach its threshold then."""
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
            return LineDuring(day, tuple(history), dpd, overdue, min(found, default=None), outstanding, clean_day_ends)
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
            decided = rule.trigger is RestrictionTrigger.DAY_END or (current, rule.name) in decisions
            if rule.name not in active and dpd >= rule.dpd_at_least and decided:
                limit = None
                if rule.scope is RestrictionScope.LIMIT:
                    limit = sum(replays[loan_id].outstanding_principal() for loan_id in overdue)
                active[rule.name] = len(history)
                history.append(Restriction(rule, current, None, dpd, limit))
        current += timedelta(days=1)


def _lifted(restriction: Restriction, day: date) -> Restriction:
    return Restriction(restriction.rule, restriction.since, day, restriction.days_past_due, restriction.limit)


class ChangeKind(StrEnum):
    IMPOSED = "imposed"  # put on at a day-end (effective the day-end's date: in force from the next day)
    LIFTED = "lifted"  # no longer applies from the effective date
    REINSTATED = "reinstated"  # a lift undone (the payment that lifted it was reversed)
    WITHDRAWN = "withdrawn"  # the events no longer give it at all (a backdated payment came before it)


@dataclass(frozen=True, slots=True)
class Recorded:
    """A restriction as the registry holds it: its id, its identity (rule, since, days past due, limit) and
    when it was lifted; ``clean_from`` is the first day-end of the line's current run of day-ends with nothing
    past due (None: the last one was not clean), what a ``good_standing`` lift counts."""

    id: int
    rule: str
    since: date
    days_past_due: int
    limit: int | None
    lifted_on: date | None
    clean_from: date | None = None

    def same(self, restriction: Restriction) -> bool:
        return (self.rule, self.since, self.days_past_due, self.limit) == (
            restriction.rule.name,
            restriction.since,
            restriction.days_past_due,
            restriction.limit,
        )


@dataclass(frozen=True, slots=True)
class Change:
    """One change to the registry: ``restriction`` for an imposition, ``recorded`` (an id) for the others."""

    kind: ChangeKind
    effective_on: date
    restriction: Restriction | None = None
    recorded: int | None = None


def reconcile(recorded: Sequence[Recorded], derived: Sequence[Restriction]) -> list[Change]:
    """The changes that bring the registry's ``recorded`` restrictions of a line (withdrawn ones left out) to
    the ``derived`` history (:func:`line_history`); nothing recorded is rewritten, only added to."""
    changes: list[Change] = []
    unmatched = list(recorded)
    for restriction in derived:
        match = next((r for r in unmatched if r.same(restriction)), None)
        if match is None:
            changes.append(Change(ChangeKind.IMPOSED, restriction.since, restriction=restriction))
            if restriction.lifted_on is not None:
                changes.append(Change(ChangeKind.LIFTED, restriction.lifted_on, restriction=restriction))
            continue
        unmatched.remove(match)
        if match.lifted_on == restriction.lifted_on:
            continue
        if restriction.lifted_on is None:
            changes.append(Change(ChangeKind.REINSTATED, restriction.since, recorded=match.id))
        else:
            changes.append(Change(ChangeKind.LIFTED, restriction.lifted_on, recorded=match.id))
    changes += [Change(ChangeKind.WITHDRAWN, r.since, recorded=r.id) for r in unmatched]
    return changes


def clean_from(during: LineDuring) -> date | None:
    """The first day-end of the line's current clean run (see :class:`Recorded`), from a derived history."""
    if not during.clean_day_ends:
        return None
    return during.day - timedelta(days=during.clean_day_ends)


def day_end_changes(
    rules: Sequence[RestrictionRule],
    active: Sequence[Recorded],
    day: date,
    days_past_due: int,
    outstanding_principal: int,
    decided: Collection[str] = (),
) -> tuple[list[Change], dict[int, date | None]]:
    """Day-end ``day`` on one line from its days past due and principal outstanding after it, given the
    restrictions in force before it: the lifts by good standing and the impositions :func:`line_history`
    makes at that day-end (``decided``: the ``decision`` rules a collections decision asked for on ``day``),
    and each in-force restriction's new ``clean_from``. Exact because the other lifts happen only at postings
    (``nothing_overdue``, reviews), which the commands record."""
    changes: list[Change] = []
    clean: dict[int, date | None] = {}
    by_name = {rule.name: rule for rule in rules}
    in_force = set()
    for restriction in active:
        rule = by_name.get(restriction.rule)
        run_from = None if days_past_due else (restriction.clean_from or day)
        lifts = (
            rule is not None
            and rule.lift is LiftCondition.GOOD_STANDING
            and run_from is not None
            and (day - run_from).days + 1 >= rule.good_standing_days
        )
        if lifts:
            changes.append(Change(ChangeKind.LIFTED, day + timedelta(days=1), recorded=restriction.id))
            continue
        in_force.add(restriction.rule)
        if run_from != restriction.clean_from:
            clean[restriction.id] = run_from
    for rule in rules:
        wanted = rule.trigger is RestrictionTrigger.DAY_END or rule.name in decided
        if rule.name not in in_force and days_past_due >= rule.dpd_at_least and wanted:
            limit = outstanding_principal if rule.scope is RestrictionScope.LIMIT else None
            changes.append(
                Change(ChangeKind.IMPOSED, day, restriction=Restriction(rule, day, None, days_past_due, limit))
            )
    return changes, clean
