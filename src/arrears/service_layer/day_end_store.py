"""Running day-ends (日终) over the store, SQLite or PostgreSQL: every missing day, exactly once.

``run_store(services, through=D)`` runs day-ends up to D; ``run_store(services, day=D)`` runs exactly D, which
must be the next one (a day already run is a no-op; a skipped day is refused). The first day-end of a store
closes the latest business date commands posted on (or D, for a store without any), since every loan is then
day-ended from its events by the reference anyway; later ones follow day by day.

Each day is one database transaction, so a day-end killed at any point leaves nothing and a re-run does it
again whole; its ``day_ends`` row, written last, is what moves the business date on. While it runs, commands
wait (PostgreSQL: the runner holds the day-end lock exclusive, which every command takes shared first, in the
lock order of :meth:`arrears.service_layer.services.Services.transaction`; SQLite: one writer at a time) and then
see the new business date; a command that waits past ARREARS_LOCK_TIMEOUT is refused as busy, writing nothing.
Commands are never refused for the day-end's sake otherwise, and the day-end never fails for theirs: it waits for
the commands in flight, and a day whose transaction the database gave up on (a deadlock's loser, SQLite's write
lock not free in time) is run again, up to :data:`DAY_ATTEMPTS` times.

One day D:

1. **read** the columnar state after D-1 (:mod:`arrears.adapters.day_end_store`, COPY on PostgreSQL) and the
   repayments dated D;
2. **check** it: a row the kernel must not run (:func:`arrears.service_layer.day_end.quarantine_mask`) is not
   trusted: the loan is rebuilt from its events below, and an event ``day_end_state_rebuilt`` says why;
3. **the kernel** (:func:`arrears.day_end.kernel.day_end`) runs every loan whose state is as of D-1 with its
   repayments of D;
4. **the reference** (:class:`arrears.day_end.reference.LoanDayEnds`) day-ends from their events, up to and including D,
   the loans the kernel cannot take: drawn since the last day-end, changed in the past by a command (backdated
   payment, reversal, waiver: the command forgot their state), with terms a hardship plan or an acceleration
   changed (every day: the kernel knows only the contract's installments), or with a broken state row. Each
   becomes a kernel row again (:func:`arrears.day_end.columns.reference_state`). A loan whose events the reference
   refuses, or whose stored terms are outside :mod:`arrears.bounds` (stored before they were checked: a grace of
   10^14 days the kernel's columns cannot hold), is quarantined: left out, with a ``day_end_quarantined`` event
   (code and message); it never stops the day-end. Written-off loans are not day-ended: their books stay as the
   write-off left them;
5. **posts** one entry for the book (``day_end_postings``, chained day to day by hash): for each loan, its
   books after the day-end minus its books now. For a loan the kernel ran that is the kernel's postings, less
   what commands already posted to it during D; for a rebuilt loan, its standing's balances less its books as
   they stand (so books always end equal to the day-end's standing, whatever came before);
6. **writes** the new state, the transition events (``domain_events``), the loans whose status or outstanding
   principal moved, a snapshot at month-end (``day_end_snapshots``, for ``report portfolio``), the
   restrictions the product rules put on or lift (:mod:`arrears.service_layer.restriction_records`), the
   promises to pay the day's repayments kept or its end broke (:mod:`arrears.collections.promises`), and the
   ``day_ends`` row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection

from arrears.adapters import collections_store
from arrears.adapters import day_end_store as des
from arrears.day_end.columns import SCHEMA, day_number, from_arrow, reference_state, snapshot, to_arrow
from arrears.day_end.kernel import day_end
from arrears.day_end.reference import DayEndState, LoanDayEnds
from arrears.domain.engine import LoanReplay
from arrears.domain.ledger import LedgerInvariantBroken
from arrears.errors import Busy, InputRejected
from arrears.service_layer import restriction_records
from arrears.service_layer.day_end import DayEndRefused, RunReport, quarantine_mask
from arrears.service_layer.services import Services

Progress = Callable[[int], None]
DAY_ATTEMPTS = 20
"""How often a day is tried before the day-end gives up as busy (each try waits for the lock as long as it takes
on PostgreSQL, ARREARS_LOCK_TIMEOUT on SQLite); a re-run later resumes at that day."""


@dataclass
class _Day:
    loans: int = 0
    events: int = 0
    postings: int = 0
    quarantined: list[dict[str, str]] = field(default_factory=list)
    rebuilt: int = 0


def run_store(
    services: Services, *, through: date | None = None, day: date | None = None, progress: Progress | None = None
) -> RunReport:
    """Run the store's missing day-ends (module docstring); returns what was done."""
    if (through is None) == (day is None):
        raise DayEndRefused("give either --through D (catch up to D) or --date D (exactly the next day-end)")
    target = through if through is not None else day
    assert target is not None
    with services.reading() as connection:
        last, _ = des.last_day_end(connection)
        latest = des.latest_business_date(connection)
    if last is not None:
        first = last + timedelta(days=1)
        if day is not None and day > first:
            raise DayEndRefused(
                f"day-end {day} would skip {first}: the store's last day-end was {last}; "
                f"run --through {day} to catch up"
            )
    else:
        first = target if day is not None or latest is None else min(latest, target)
    if latest is not None and target < latest:
        raise DayEndRefused(
            f"commands were posted on business date {latest}; a day-end cannot close {target}, an earlier day"
        )
    if last is not None and target <= last:
        return RunReport(None, last, 0, 0, 0, 0, engine="store")
    started = time.perf_counter()
    report = RunReport(first, target, 0, 0, 0, 0, engine="store")
    current = first
    while current <= target:
        done = _run_day(services, current)
        if done is not None:
            report.days += 1
            report.loans = max(report.loans, done.loans)
            report.events += done.events
            report.postings += done.postings
            report.quarantined += done.quarantined
            if progress is not None:
                progress(done.loans)
        current += timedelta(days=1)
    report.seconds = time.perf_counter() - started
    return report


def store_snapshots(services: Services, first: date, last: date) -> pa.Table:
    """The month-end snapshots the store's day-ends wrote for days ``first`` .. ``last`` (what
    :func:`arrears.analytics.portfolio.portfolio_report` reads, as from a dataset)."""
    with services.reading() as connection:
        return des.read_snapshots(connection, first, last)


def _run_day(services: Services, day: date) -> _Day | None:
    """Day ``day`` in one transaction, tried again while the database gives up on its locks (module docstring)."""
    for attempt in range(1, DAY_ATTEMPTS + 1):
        try:
            return _run_day_once(services, day)
        except Busy:
            if attempt == DAY_ATTEMPTS:
                raise
            time.sleep(min(0.05 * attempt, 1.0))  # let the other side of a deadlock finish first
    raise AssertionError("unreachable")


def _run_day_once(services: Services, day: date) -> _Day | None:
    with services.transaction(day_end=True) as connection:
        des.lock(connection)
        last, prev_hash = des.last_day_end(connection)
        if last is not None and last >= day:
            return None  # another runner did it while this one waited
        if last is not None and last != day - timedelta(days=1):
            raise DayEndRefused(f"day-end {day} would skip {last + timedelta(days=1)}")
        return _day_end(services, connection, day, last is not None, prev_hash)


def _day_end(services: Services, connection: Connection, day: date, has_state: bool, prev_hash: str) -> _Day:
    """Day ``day`` over the store (module docstring): the kernel for the loans whose state it can run, the
    reference from the events for every other one, one balanced entry, then the bulk writes."""
    closed, today, now = day - timedelta(days=1), day_number(day), services.clock()
    counts = _Day()
    events: list[dict[str, Any]] = []
    loans, state, payments = _to_run(connection, day, has_state)
    in_day_end = loans.column("loan_id").combine_chunks()
    # 2. rows the kernel must not run are rebuilt from the events
    state = _quarantined(state, payments, day, closed, events)
    clean_ids = state.column("loan_id").cast(pa.int64()).to_numpy()
    # 3. the kernel
    kernel_state, postings = _kernel(services, connection, state, payments, day, clean_ids, events)
    # 4. the reference, for every other loan
    dirty = np.setdiff1d(in_day_end.to_numpy(), clean_ids)
    rebuilt, targets, replayed = _reference(services, connection, day, dirty.tolist(), counts, events)
    counts.rebuilt = len(rebuilt)
    if rebuilt:
        ids = [int(loan_id) for loan_id, _, _ in rebuilt]
        postings.append(
            pa.Table.from_pylist([dict(zip(des.POSTINGS.names, t, strict=True)) for t in targets], des.POSTINGS)
        )
        postings.append(_negated(des.books_of(connection, ids)))
        final = pa.concat_tables([kernel_state, pa.Table.from_batches([reference_state(rebuilt)])])
    else:
        final = kernel_state
    # 5. one entry for the book: target minus books, loan by loan and account by account
    entry = _summed(pa.concat_tables(postings))
    by_loan = entry.group_by("loan_id").aggregate([("amount", "sum")])
    if by_loan.num_rows and pc.any(pc.not_equal(by_loan.column("amount_sum"), 0)).as_py():
        raise LedgerInvariantBroken(f"the day-end of {day} does not balance for some loan: a bug, nothing was posted")
    # 6. write
    counts.loans = final.num_rows
    counts.events = len(events)
    counts.postings = entry.num_rows
    _write(connection, day, now, prev_hash, counts, loans, final, entry, events, replayed)
    if (day + timedelta(days=1)).day == 1:
        des.write_snapshots(connection, snapshot(from_arrow(final), today))
    return counts


def _to_run(connection: Connection, day: date, has_state: bool) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The loans in the day-end, the state of those the kernel may run (as closed the day before) and the day's
    payments."""
    loans = des.loans_in_day_end(connection, day)
    in_day_end = loans.column("loan_id").combine_chunks()
    state = des.read_state(connection, day - timedelta(days=1)) if has_state else SCHEMA.empty_table()
    state = state.filter(pc.is_in(state.column("loan_id").cast(pa.int64()), value_set=in_day_end))
    # a loan whose terms a plan or an acceleration changed is day-ended by the reference from its events
    planned = des.loans_with_plans(connection)
    if len(planned):
        state = state.filter(pc.invert(pc.is_in(state.column("loan_id").cast(pa.int64()), value_set=planned)))
    payments = des.payments_on(connection, day)
    return loans, state, payments


def _quarantined(
    state: pa.Table, payments: pa.Table, day: date, closed: date, events: list[dict[str, Any]]
) -> pa.Table:
    """``state`` without the rows :func:`quarantine_mask` finds, each recorded as an event."""
    checked = pa.table(
        {
            "loan_id": payments.column("loan_id").cast(pa.string()),
            "value_date": pa.array([day] * payments.num_rows, pa.date32()),
            "amount": payments.column("amount"),
        }
    )
    problems = quarantine_mask(state, checked, closed)
    if problems:
        broken = np.zeros(state.num_rows, dtype=bool)
        for row, (code, message) in problems.items():
            broken[row] = True
            loan_id = int(state.column("loan_id")[row].as_py())
            events.append(
                {"loan_id": loan_id, "kind": "day_end_state_rebuilt", "payload": {"code": code, "message": message}}
            )
        state = state.filter(pa.array(~broken))
    return state


def _kernel(
    services: Services,
    connection: Connection,
    state: pa.Table,
    payments: pa.Table,
    day: date,
    clean_ids: np.ndarray,
    events: list[dict[str, Any]],
) -> tuple[pa.Table, list[pa.Table]]:
    """The kernel over the clean rows: their state after ``day``, and the postings (the kernel's, less what the
    day's commands already posted)."""
    mine = pc.is_in(payments.column("loan_id"), value_set=pa.array(clean_ids))
    paying = payments.filter(mine)
    order = np.argsort(clean_ids, kind="stable")
    at = np.searchsorted(clean_ids, paying.column("loan_id").to_numpy(), sorter=order)
    result = day_end(
        from_arrow(state),
        day_number(day),
        order[at].astype(np.int64),
        paying.column("amount").to_numpy().astype(np.int64),
        services.policy,
    )
    kernel_state = pa.Table.from_batches([to_arrow(result.batch)])
    postings = [_as_postings(result.postings)]
    events += _transition_events(result.events)
    commands = des.command_postings_on(connection, day)
    commands = commands.filter(pc.is_in(commands.column("loan_id"), value_set=pa.array(clean_ids)))
    postings.append(_negated(commands))
    return kernel_state, postings


def _reference(
    services: Services,
    connection: Connection,
    day: date,
    dirty: list[int],
    counts: _Day,
    events: list[dict[str, Any]],
) -> tuple[list[tuple[str, LoanReplay, DayEndState]], list[tuple[int, str, int]], list[int]]:
    """The reference day-end of each loan the kernel did not run, from its events: the rebuilt loans, their
    target balances and the loans drawn before ``day`` (their lines' restrictions are replayed too). A loan
    whose terms or events are refused is quarantined (``counts``) and left as it was."""
    closed = day - timedelta(days=1)
    rebuilt: list[tuple[str, LoanReplay, DayEndState]] = []
    targets: list[tuple[int, str, int]] = []
    replayed: list[int] = []  # rebuilt loans drawn before today: their lines' restrictions are replayed too
    refused: dict[int, str] = {}  # stored terms outside arrears.bounds: the kernel cannot run them
    to_rebuild = des.loans_to_rebuild(connection, dirty, refused)
    for loan_id, message in sorted(refused.items()):
        problem = {"code": "terms_out_of_bounds", "message": message}
        counts.quarantined.append({"loan_id": str(loan_id), "day": day.isoformat(), **problem})
        events.append({"loan_id": loan_id, "kind": "day_end_quarantined", "payload": problem})
    for loan_id, (terms, loan_events) in sorted(to_rebuild.items()):
        if terms.start < day:
            replayed.append(loan_id)
        try:
            ends = LoanDayEnds(terms, loan_events, services.policy)
            ends.run_through(closed)
            done = ends.run(day)
            if done is None or done.standing.written_off_at is not None:
                raise InputRejected("a write-off among its events, but the loan is not marked written off")
        except InputRejected as error:
            problem = {"code": "events_refused", "message": str(error)}
            counts.quarantined.append({"loan_id": str(loan_id), "day": day.isoformat(), **problem})
            events.append({"loan_id": loan_id, "kind": "day_end_quarantined", "payload": problem})
            continue
        rebuilt.append((str(loan_id), ends.replay, done.standing))
        targets += [(loan_id, str(account), amount) for account, amount in done.standing.balances().items() if amount]
        events += [
            {"loan_id": loan_id, "kind": e.kind.value, "payload": {"before": e.before, "after": e.after}}
            for e in done.events
        ]
    return rebuilt, targets, replayed


def _write(
    connection: Connection,
    day: date,
    now: datetime,
    prev_hash: str,
    counts: _Day,
    loans: pa.Table,
    final: pa.Table,
    entry: pa.Table,
    events: list[dict[str, Any]],
    replayed: list[int],
) -> None:
    """The day-end's writes, in bulk and in this order: the state, the day-end row with its entry, the events,
    the loans' positions, the restrictions registry, the promises judged."""
    des.write_state(connection, final, day)
    des.record_day_end(
        connection,
        day,
        now=now,
        prev_hash=prev_hash,
        postings=entry,
        counts={
            "loans": counts.loans,
            "events": counts.events,
            "postings": counts.postings,
            "quarantined": len(counts.quarantined),
            "rebuilt": counts.rebuilt,
        },
    )
    des.write_events(connection, day, now, events)
    outstanding = _outstanding(final)
    des.update_loans(connection, _moved_loans(loans, final, outstanding))
    known, line_ids = loans.column("loan_id").to_numpy(), loans.column("line_id").to_numpy()

    def lines_of(loan_ids: Any) -> set[int]:
        return set(line_ids[np.searchsorted(known, np.asarray(loan_ids, dtype=np.int64))].tolist())

    restriction_records.record_day_end(
        connection,
        day,
        now,
        lines=line_ids[np.searchsorted(known, final.column("loan_id").cast(pa.int64()).to_numpy())],
        days_past_due=final.column("days_past_due").to_numpy(),
        outstanding=outstanding,
        replay_lines=lines_of(replayed) | des.lines_with_written_off_loans(connection),
        skip_lines=lines_of([int(q["loan_id"]) for q in counts.quarantined]),
    )
    collections_store.judge_promises(connection, day)  # kept or broken, from the day's repayments


def _as_postings(kernel: pa.Table) -> pa.Table:
    return pa.table(
        {
            "loan_id": kernel.column("loan_id").cast(pa.string()).cast(pa.int64()),
            "account": kernel.column("account").cast(pa.string()),
            "amount": kernel.column("amount"),
        },
        schema=des.POSTINGS,
    )


def _negated(postings: pa.Table) -> pa.Table:
    return postings.set_column(2, "amount", pc.negate(postings.column("amount")))


def _summed(postings: pa.Table) -> pa.Table:
    summed = postings.group_by(["loan_id", "account"]).aggregate([("amount", "sum")])
    summed = summed.filter(pc.not_equal(summed.column("amount_sum"), 0))
    table = pa.table(
        {
            "loan_id": summed.column("loan_id"),
            "account": summed.column("account"),
            "amount": summed.column("amount_sum"),
        },
        schema=des.POSTINGS,
    )
    return table.sort_by([("loan_id", "ascending"), ("account", "ascending")])


def _transition_events(kernel: pa.Table) -> list[dict[str, Any]]:
    ids = kernel.column("loan_id").cast(pa.string()).cast(pa.int64()).to_pylist()
    kinds = kernel.column("kind").cast(pa.string()).to_pylist()
    before, after = kernel.column("before").to_pylist(), kernel.column("after").to_pylist()
    return [
        {"loan_id": loan_id, "kind": kind, "payload": {"before": b, "after": a}}
        for loan_id, kind, b, a in zip(ids, kinds, before, after, strict=True)
    ]


def _outstanding(final: pa.Table) -> np.ndarray:
    """Each loan's principal outstanding after the day-end (settled installments hold 0)."""
    principal = final.column("principal_due").combine_chunks()
    values = pc.list_flatten(principal).to_numpy()
    offsets = principal.offsets.to_numpy()
    counts = np.diff(offsets)
    outstanding = np.zeros(final.num_rows, dtype=np.int64)
    if len(values):  # exact int64 sums (settled installments hold 0); every loan has an installment
        outstanding = np.where(
            counts > 0, np.add.reduceat(values, np.minimum(offsets[:-1] - offsets[0], len(values) - 1)), 0
        )
    return outstanding


def _moved_loans(loans: pa.Table, final: pa.Table, outstanding: np.ndarray) -> list[dict[str, Any]]:
    """Loans whose cached status or outstanding principal the day-end changed."""
    ids = final.column("loan_id").cast(pa.int64()).to_numpy()
    settled = final.column("settled_on").is_valid().to_numpy(zero_copy_only=False)
    known = loans.column("loan_id").to_numpy()
    position = np.searchsorted(known, ids)
    was_outstanding = loans.column("outstanding_principal").to_numpy()[position]
    was_settled = np.asarray(pc.equal(loans.column("status"), "settled").to_numpy(zero_copy_only=False))[position]
    moved = np.flatnonzero((was_outstanding != outstanding) | (was_settled != settled))
    return [
        {
            "loan_id": int(ids[i]),
            "status": "settled" if settled[i] else "open",
            "outstanding": int(outstanding[i]),
        }
        for i in moved
    ]
