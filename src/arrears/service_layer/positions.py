"""A loan during the business date (:class:`Position`): the day-ends before it run, the events of the day
applied, and the books it should have (:func:`arrears.day_end.reference.balances_during`).

Posting follows :mod:`arrears.domain.ledger`, on the day-end's accrual basis: a command on a loan first brings
the loan's books up to the business date with the events it already had (a ``recognition`` entry, if anything
changed), then posts the difference its own event makes (one entry of the command's kind).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from arrears.adapters.store import LoanRecord
from arrears.day_end.reference import (
    DayEndPolicy,
    DayEndState,
    balances_during,
    day_end_state_from,
    day_end_state_through,
)
from arrears.domain.engine import LoanEvent, LoanReplay, replay_events
from arrears.domain.ledger import Balances
from arrears.domain.terms import LoanTerms


@dataclass(frozen=True, slots=True)
class Position:
    """A loan during the business date: its state after the day-end before it, and its replay with every
    event so far applied; ``balances`` are its books (:func:`arrears.day_end.reference.balances_during`)."""

    replay: LoanReplay
    state: DayEndState
    balances: Balances
    day_ended: bool = False
    """The state is the store's day-end's (the loan's books are its balances until a command posts)."""


def during(replayed: LoanReplay, state: DayEndState, business_date: date, day_ended: bool = False) -> Position:
    """A replay holding the loan's events brought into ``business_date``: the day-ends before it run, held
    credit applied to what falls due on it (again, harmlessly, if an event of that day already did)."""
    if business_date >= replayed.terms.start:
        replayed.begin_day(business_date)
    return Position(replayed, state, balances_during(state, replayed, business_date), day_ended)


def position_of(terms: LoanTerms, events: list[LoanEvent], business_date: date, policy: DayEndPolicy) -> Position:
    """The loan during ``business_date``: day-ends through the day before run by the reference
    (:func:`arrears.day_end.reference.day_end_state_through`), then the events of that day applied in recorded order."""
    state, replayed = day_end_state_through(terms, events, business_date - timedelta(days=1), policy)
    _apply_day(replayed, events, business_date)
    return during(replayed, state, business_date)


def _apply_day(replayed: LoanReplay, events: list[LoanEvent], business_date: date) -> None:
    for event in sorted(events, key=lambda e: e.value_date):
        if event.value_date == business_date:
            replayed.apply(event)


def position_after_day_end(
    terms: LoanTerms,
    events: list[LoanEvent],
    business_date: date,
    status: tuple[bool, int, int],
    policy: DayEndPolicy | None = None,
) -> Position:
    """As :func:`position_of` for a loan the store's day-end ran through the day before, from the accrual
    status it stored (non-accrual, suspended interest, suspended penalty): one replay, no day-by-day reference."""
    closed = business_date - timedelta(days=1)
    replayed = replay_events(terms, events, closed)
    if closed >= terms.start:
        replayed.close_through(closed)
    state = day_end_state_from(replayed, *status, policy)
    _apply_day(replayed, events, business_date)
    return during(replayed, state, business_date, day_ended=True)


def position(
    policy: DayEndPolicy, loan: LoanRecord, events: list[LoanEvent], business_date: date, *, day_ended: bool = False
) -> Position:
    """The loan during ``business_date``: events on or before it applied, day-ends through the day before
    (with ``day_ended``, from the day-end's state read with the loan row, when it is as of the day before)."""
    status = loan.accrual_status(business_date - timedelta(days=1)) if day_ended else None
    if status is not None:
        return position_after_day_end(loan.terms, events, business_date, status, policy)
    return position_of(loan.terms, events, business_date, policy)
