"""Keeping the restrictions registry (arrears/restrictions/registry.py) as the events give it: at commands, at day-ends.

**At a command** (:func:`record_line`): a posting of today can only lift what is in force (a payment that
leaves nothing overdue, a review), so a command reconciles its line only when something is in force there, or
when it changed the past (a backdated payment, a reversal, a waiver or a write-off: any day-end since may now
give other restrictions). Reconciling replays the line (:func:`arrears.restrictions.registry.line_history`) and records
the difference (:func:`arrears.restrictions.registry.reconcile`) on the business date: lifted effective on the value
date, the imposition and every earlier event kept.

**At the store's day-end** (:func:`record_day_end`): the portfolio cannot be replayed line by line every
night, so each line's days past due and principal outstanding are summed from the day-end's own state, and
:func:`arrears.restrictions.registry.day_end_changes` applies the rules to them. Lines it cannot take are replayed
instead: lines with a loan the reference rebuilt (a command changed its past, or its state was missing), with a
written-off loan (the kernel no longer carries it), or with commands already posted on a later business date B
(replayed as of B and recorded on B: what a command already recorded is never taken back by a day-end catching
up to it). A line with a quarantined loan is left as it was (the loan's events are refused; ``day_end_quarantined`` says
why). The registry is kept by the store's day-ends and the commands after them: in a store whose day-ends were
never run it holds only what commands reconciled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import Connection

from arrears.adapters import day_end_store as des
from arrears.adapters import restriction_store as rs
from arrears.adapters import store
from arrears.domain.product import ProductError, RestrictionRule
from arrears.restrictions.registry import Change, clean_from, day_end_changes, line_history, reconcile

logger = logging.getLogger(__name__)


def record_line(connection: Connection, line_id: int, day: date, recorded_on: date, cause: str, now: datetime) -> int:
    """Reconcile line ``line_id``'s registry with its history during ``day`` (day-ends through ``day`` - 1,
    the postings of ``day`` in); returns how many changes were recorded."""
    return record_lines(connection, [line_id], day, recorded_on, cause, now)


def record_lines(
    connection: Connection, line_ids: Iterable[int], day: date, recorded_on: date, cause: str, now: datetime
) -> int:
    """:func:`record_line` for many lines, each read in bulk (rules, loans and events, reviews, the registry)."""
    rules = rules_of(connection, sorted(set(line_ids)))
    lines = sorted(line_id for line_id, line_rules in rules.items() if line_rules)
    if not lines:
        return 0
    members = store.loans_of_lines(connection, lines)
    loans = des.loans_to_rebuild(connection, [loan for line in lines for loan in members.get(line, [])])
    reviews = store.line_reviews_of_lines(connection, lines)
    decisions = store.line_decisions_of_lines(connection, lines)
    recorded = rs.recorded_of_lines(connection, lines)
    changes: list[tuple[int, Change, str]] = []
    clean: dict[int, date | None] = {}
    for line_id in lines:
        line_loans = [(loan, *loans[loan]) for loan in members.get(line_id, [])]
        during = line_history(rules[line_id], line_loans, day, reviews.get(line_id, []), decisions.get(line_id, ()))
        changes += [(line_id, change, cause) for change in reconcile(recorded.get(line_id, []), during.history)]
        clean[line_id] = clean_from(during)
    written = rs.apply(connection, changes, recorded_on, now)
    rs.start_clean_runs(connection, clean)
    return written


def record_day_end(
    connection: Connection,
    day: date,
    now: datetime,
    lines: Sequence[int] | np.ndarray,
    days_past_due: Sequence[int] | np.ndarray,
    outstanding: Sequence[int] | np.ndarray,
    replay_lines: Iterable[int],
    skip_lines: Iterable[int],
) -> int:
    """The registry after day-end ``day`` (module docstring). ``lines``, ``days_past_due`` and ``outstanding``,
    one entry per loan the day-end carries: its line, its days past due and principal outstanding after it;
    ``replay_lines`` are reconciled by replaying, ``skip_lines`` left alone. Returns how many changes."""
    line_ids = np.asarray(lines, dtype=np.int64)
    dpd = np.asarray(days_past_due, dtype=np.int64)
    principal = np.asarray(outstanding, dtype=np.int64)
    unique, inverse = np.unique(line_ids, return_inverse=True)
    worst = np.zeros(len(unique), dtype=np.int64)
    np.maximum.at(worst, inverse, dpd)
    owed = np.zeros(len(unique), dtype=np.int64)
    np.add.at(owed, inverse, principal)
    active = rs.in_force(connection)
    skip = set(skip_lines)
    ahead = {line: last for line, last in rs.lines_posted_after(connection, day).items() if line not in skip}
    replay = set(replay_lines) - skip - set(ahead)
    decided = store.decisions_on(connection, day)
    candidates = (set(unique[worst > 0].tolist()) | set(active) | set(decided)) - replay - skip - set(ahead)
    rules = rules_of(connection, sorted(candidates))
    position = {int(line_id): i for i, line_id in enumerate(unique.tolist())}
    changes: list[tuple[int, Change, str]] = []
    clean: dict[int, date | None] = {}
    for line_id in sorted(candidates):
        line_rules = rules.get(line_id, ())
        if not line_rules:
            continue
        at = position.get(line_id)
        line_dpd, line_owed = (int(worst[at]), int(owed[at])) if at is not None else (0, 0)
        found, moved = day_end_changes(
            line_rules, active.get(line_id, ()), day, line_dpd, line_owed, decided.get(line_id, ())
        )
        cause = f"day-end {day}: line {line_id} {line_dpd} days past due"
        changes += [(line_id, change, cause) for change in found]
        clean.update(moved)
    written = rs.apply(connection, changes, day, now, clean)
    written += record_lines(connection, replay, day + timedelta(days=1), day, f"day-end {day}: line replayed", now)
    # A line with commands already posted on a later business date B is known as of B: the command recorded
    # what it knew then, and replaying it as of this earlier day-end would take back what is already known (and
    # record it on an earlier date). Replayed as of B instead, recorded on B: nothing new unless the command did
    # not reconcile it (nothing was in force then); the day-end of B takes it back by the rules.
    by_date: dict[date, list[int]] = {}
    for line_id, last in ahead.items():
        by_date.setdefault(last, []).append(line_id)
    for last, ahead_lines in sorted(by_date.items()):
        written += record_lines(connection, ahead_lines, last, last, f"day-end {day}: line replayed as of {last}", now)
    return written


def rules_of(connection: Connection, line_ids: Sequence[int]) -> dict[int, tuple[RestrictionRule, ...]]:
    """Each line's restriction rules, each distinct product snapshot parsed once."""
    digests = store.product_digests(connection, line_ids)
    documents = store.product_documents(connection, set(digests.values()))
    rules: dict[str, tuple[RestrictionRule, ...]] = {}
    for digest, document in documents.items():
        try:
            rules[digest] = store.line_product(document, f"product snapshot {digest[:12]}").rules.restrictions
        except ProductError as error:
            # a snapshot stored before arrears.bounds checked it (the max_daily_rate "5"): its lines keep
            # what is recorded, and the day-end of every other line goes on; its loans' terms are quarantined
            logger.warning("restrictions of lines on %s left as recorded: %s", f"product snapshot {digest[:12]}", error)
            rules[digest] = ()
    return {line_id: tuple(rules[digest]) for line_id, digest in digests.items()}
