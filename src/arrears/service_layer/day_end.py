"""Running day-ends (日终) over a Parquet dataset: every missing day, exactly once, part by part.

``run_dataset(root, through=D)`` runs day-ends closed_through+1 .. D; ``run_dataset(root, day=D)`` runs exactly
day D, which must be the next one (it refuses to skip a day; a day already run is a no-op). Each part of the
dataset is read, checked, run through the pipeline for every day, and written as the next generation (see
:mod:`arrears.adapters.dataset` for why a killed run leaves the dataset as it was and a re-run resumes).

A loan whose data is inconsistent (installment lists of different lengths, dates out of order, a negative
amount, a rate above 1, a payment that is not positive or is dated before the loan started, ...) is
quarantined: taken out of the state with its last good row and a structured error (loan, code, message),
written to the run's quarantine file and reported. It never stops the batch and is never skipped silently.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import permutations
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrears.adapters.dataset import Dataset, write_bytes, write_table
from arrears.day_end.columns import (
    SCHEMA,
    SNAPSHOT_SCHEMA,
    day_number,
    from_arrow,
    from_day_number,
    loan_state,
    snapshot,
    to_arrow,
)
from arrears.day_end.kernel import EVENT_SCHEMA, POSTING_SCHEMA, day_end
from arrears.day_end.reference import DayEndPolicy
from arrears.domain.engine import LoanState
from arrears.domain.terms import Component
from arrears.errors import InputRejected

QUARANTINE_SCHEMA = pa.schema(
    [pa.field("code", pa.string(), nullable=False), pa.field("message", pa.string(), nullable=False), *SCHEMA]
)

Progress = Callable[[int], None]
"""Called with the number of loan-days just processed."""


class DayEndRefused(InputRejected):
    """A day-end that cannot run as asked (a day would be skipped); the message says what to run instead."""


@dataclass
class RunReport:
    first: date | None
    through: date
    days: int
    loans: int
    events: int
    postings: int
    quarantined: list[dict[str, str]] = field(default_factory=list)
    general_ledger: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0
    resumed_parts: int = 0
    engine: str = "local"

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.first.isoformat() if self.first else None,
            "through": self.through.isoformat(),
            "days": self.days,
            "loans": self.loans,
            "loan_days_per_second": round(self.loans * self.days / self.seconds) if self.seconds else None,
            "seconds": round(self.seconds, 3),
            "events": self.events,
            "postings": self.postings,
            "quarantined": self.quarantined,
            "resumed_parts": self.resumed_parts,
            "engine": self.engine,
            "general_ledger": self.general_ledger,
        }


class _Problems:
    """The problems found so far, by row of the state: the first found for a row is the one kept."""

    def __init__(self, state: pa.Table) -> None:
        self.state = state
        self.rows = state.num_rows
        self.found: dict[int, tuple[str, str]] = {}

    def flag(self, mask: np.ndarray, code: str, message: str) -> None:
        for row in np.flatnonzero(mask):
            self.found.setdefault(int(row), (code, message))

    def per_loan(self, owner: np.ndarray, bad: np.ndarray) -> np.ndarray:
        return np.bincount(owner[bad], minlength=self.rows) > 0

    def column(self, name: str) -> np.ndarray:
        return np.asarray(self.state.column(name).to_numpy(zero_copy_only=False))


def quarantine_mask(state: pa.Table, payments: pa.Table, closed: date) -> dict[int, tuple[str, str]]:
    """Rows of ``state`` whose data the kernel must not run, with a code and a message each (the first found,
    in the order checked: ids, the schedule, amounts, the terms, payments)."""
    problems = _Problems(state)
    ids = state.column("loan_id").combine_chunks()
    _check_ids(problems, ids)
    count, start = _check_schedule(problems, closed)
    _check_amounts(problems)
    _check_terms(problems, count)
    _check_payments(problems, payments, ids, start)
    return problems.found


def _check_ids(problems: _Problems, ids: pa.Array) -> None:
    rows = problems.rows
    if rows > 1:
        # parts are written sorted by loan id, so a duplicate sits next to its twin; an unsorted part is itself
        # a sign of tampering, and then every id is compared the slow way
        earlier, later = ids.slice(0, rows - 1), ids.slice(1)
        if pc.all(pc.less_equal(earlier, later)).as_py():
            twin = pc.equal(earlier, later).to_numpy(zero_copy_only=False)
            duplicated = np.r_[twin, False] | np.r_[False, twin]
        else:
            unique, seen = np.unique(ids.to_numpy(zero_copy_only=False), return_counts=True)
            duplicated = np.isin(ids.to_numpy(zero_copy_only=False), unique[seen > 1])
        problems.flag(duplicated, "duplicate_loan_id", "the same loan id appears twice in a part")


def _check_schedule(problems: _Problems, closed: date) -> tuple[np.ndarray, np.ndarray]:
    """The installment lists: of one length, not empty, due dates rising, billed as due by ``closed``. Returns
    each loan's installment count and start day."""
    state, flag = problems.state, problems.flag
    lengths = [pc.list_value_length(state.column(name)).to_numpy(zero_copy_only=False) for name in _LISTS]
    count = lengths[0]
    flag(
        np.any([length != count for length in lengths], axis=0),
        "installments_mismatch",
        "installment lists differ in length",
    )
    flag(count == 0, "no_installments", "a loan needs at least one installment")
    start = state.column("start").cast(pa.int32()).to_numpy(zero_copy_only=False)
    due_column = state.column("due").combine_chunks()
    owner = pc.list_parent_indices(due_column).to_numpy(zero_copy_only=False)  # each list checked on its own
    due = pc.list_flatten(due_column).cast(pa.int32()).to_numpy(zero_copy_only=False)
    if len(due):
        previous = np.concatenate([[np.iinfo(np.int32).min], due[:-1]])
        first = np.r_[True, owner[1:] != owner[:-1]]
        flag(
            problems.per_loan(owner, np.where(first, due <= start[owner], due <= previous)),
            "due_dates_out_of_order",
            "due dates must rise after the start date",
        )
        due_by_then = np.bincount(owner[due <= day_number(closed)], minlength=problems.rows)
        billed, settled = (
            problems.column("billed"),
            state.column("settled_on").is_valid().to_numpy(zero_copy_only=False),
        )
        out_of_step = np.where(settled, billed > due_by_then, billed != due_by_then)  # billing stops at settlement
        flag(out_of_step, "billing_out_of_step", f"billed installments differ from those due by {closed}")
    return count, start


def _check_amounts(problems: _Problems) -> None:
    """Every amount within its bounds, the principal above zero, nothing owed on a loan marked settled."""
    state, flag = problems.state, problems.flag
    owing = np.zeros(problems.rows, dtype=bool)
    for name in _LISTS[1:]:
        listed = state.column(name).combine_chunks()
        values = pc.list_flatten(listed).to_numpy(zero_copy_only=False)
        owners = pc.list_parent_indices(listed).to_numpy(zero_copy_only=False)
        flag(
            problems.per_loan(owners, (values < 0) | (values > MAX_AMOUNT)),
            "amount_out_of_range",
            f"{name} below zero or above {MAX_AMOUNT}",
        )
        if name in ("principal_due", "interest_due", "penalty_due", "compound_due"):
            owing |= problems.per_loan(owners, values > 0)
    for name in _AMOUNTS:
        value = problems.column(name)
        flag((value < 0) | (value > MAX_AMOUNT), "amount_out_of_range", f"{name} below zero or above {MAX_AMOUNT}")
    flag(problems.column("principal") == 0, "amount_out_of_range", "principal must be above zero")
    flag(
        state.column("settled_on").is_valid().to_numpy(zero_copy_only=False) & owing,
        "settled_but_owing",
        "marked settled while installments are unpaid",
    )


def _check_terms(problems: _Problems, count: np.ndarray) -> None:
    """Rates from 0 to 1, positions within the installments, a known allocation order and rounding."""
    state, flag, column = problems.state, problems.flag, problems.column
    for num, den in (("rate_num", "rate_den"), ("penalty_num", "penalty_den")):
        n, d = column(num), column(den)
        flag((d <= 0) | (d > 2**62) | (n < 0) | (n > d), "rate_out_of_range", f"{num}/{den} must be a rate from 0 to 1")
    for name in ("first_open", "billed"):
        value = column(name)
        flag((value < 0) | (value > count), "position_out_of_range", f"{name} outside the installments")
    flag(
        ~pc.is_in(state.column("allocation"), value_set=_ALLOCATIONS).to_numpy(zero_copy_only=False),
        "bad_allocation",
        "allocation must name penalty, compound, interest and principal once each",
    )
    flag(
        ~pc.is_in(state.column("rounding"), value_set=pa.array(["half-up", "half-even"])).to_numpy(
            zero_copy_only=False
        ),
        "bad_rounding",
        "rounding must be half-up or half-even",
    )


def _check_payments(problems: _Problems, payments: pa.Table, ids: pa.Array, start: np.ndarray) -> None:
    """The part's payments of its loans: within the bounds, none before its loan started."""
    if payments.num_rows:
        index = pc.index_in(payments.column("loan_id"), value_set=ids)
        mine = payments.filter(pc.is_valid(index))  # payments of loans quarantined in an earlier run stay unmatched
        at = index.drop_null().to_numpy(zero_copy_only=False).astype(np.int64)
        value_date = mine.column("value_date").cast(pa.int32()).to_numpy(zero_copy_only=False)
        amount = mine.column("amount").to_numpy(zero_copy_only=False)
        problems.flag(
            problems.per_loan(at, (amount <= 0) | (amount > MAX_AMOUNT)),
            "payment_out_of_range",
            "a payment of zero or less, or above the bound",
        )
        problems.flag(
            problems.per_loan(at, value_date < start[at]),
            "payment_before_start",
            "a payment dated before the loan started",
        )


_ALLOCATIONS = pa.array([",".join(order) for order in permutations(c.value for c in Component)])
MAX_AMOUNT = 10**12
"""The largest amount (minor units) a loan's column may hold: 10^10 yuan. The kernel's int64 arithmetic is exact
well beyond it (rates times amounts that could overflow are done with Python integers)."""
_LISTS = ("due", "principal_due", "interest_due", "penalty_due", "compound_due", "held_penalty", "held_compound")
_AMOUNTS = ("principal", "unapplied", "received", "paid_principal", "paid_interest", "paid_penalty", "paid_compound")


def run_dataset(
    root: Path,
    *,
    through: date | None = None,
    day: date | None = None,
    progress: Progress | None = None,
    outputs: bool = True,
    engine: str = "local",
    master: str | None = None,
) -> RunReport:
    """Run the missing day-ends of the dataset at ``root`` (module docstring); returns what was done.

    ``outputs=False`` writes no events or postings (only to season a synthetic portfolio; the run history in
    the manifest says so). ``engine="spark"`` runs the parts as Spark tasks (:mod:`.eod_spark`) on ``master``
    (default ``local[2]``); everything else, and every result, is the same."""
    if engine not in ENGINES:
        raise DayEndRefused(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    Dataset(root).manifest()  # a clear error for a folder that is not a dataset, before taking its lock
    with Dataset(root).lock():
        return _run_locked(root, through, day, progress, outputs, engine, master)


def _run_locked(
    root: Path,
    through: date | None,
    day: date | None,
    progress: Progress | None,
    outputs: bool,
    engine: str,
    master: str | None,
) -> RunReport:
    if (through is None) == (day is None):
        raise DayEndRefused("give either --through D (catch up to D) or --date D (exactly the next day-end)")
    dataset = Dataset(root)
    manifest = dataset.manifest()
    closed = manifest.closed_through
    target = through if through is not None else day
    assert target is not None
    if day is not None and day > closed + timedelta(days=1):
        raise DayEndRefused(
            f"day-end {day} would skip {closed + timedelta(days=1)}: the dataset is closed through {closed}; "
            f"run --through {day} to catch up"
        )
    if target <= closed:
        return RunReport(None, closed, 0, manifest.loans, 0, 0)
    started = time.perf_counter()
    policy = DayEndPolicy(manifest.non_accrual_dpd)
    generation = manifest.generation + 1
    first = closed + timedelta(days=1)
    days = (target - closed).days
    report = RunReport(first, target, days, 0, 0, 0, engine=engine)
    dataset.begin(generation, {"from": first.isoformat(), "through": target.isoformat(), "outputs": outputs})
    pending = [part for part in range(manifest.parts) if not dataset.state_path(generation, part).exists()]
    report.resumed_parts = manifest.parts - len(pending)
    job = PartJob(str(root), manifest.generation, closed, target, policy.non_accrual_dpd, outputs)
    if engine == "spark":
        from arrears.service_layer.day_end_spark import run_parts_on_spark  # pyspark is an optional extra

        run_parts_on_spark(job, pending, master)
    else:
        for part in pending:
            job.run(part)
            if progress is not None:
                progress(_rows(dataset.state_path(generation, part)) * days)
    for part in range(manifest.parts):
        report.loans += _rows(dataset.state_path(generation, part))
        quarantine = dataset.run_path(generation, "quarantine", part)
        if quarantine.exists():
            table = pq.read_table(quarantine, columns=["loan_id", "code", "message"])
            report.quarantined += table.to_pylist()
    report.general_ledger = _general_ledger(dataset, generation, manifest.parts)
    for kind in ("events", "postings"):
        setattr(report, kind, sum(_rows(dataset.run_path(generation, kind, part)) for part in range(manifest.parts)))
    report.seconds = time.perf_counter() - started
    manifest.runs.append(
        {
            "generation": generation,
            "from": first.isoformat(),
            "through": target.isoformat(),
            "loans": report.loans,
            "events": report.events,
            "postings": report.postings,
            "quarantined": len(report.quarantined),
            "outputs": outputs,
        }
    )
    manifest.closed_through, manifest.generation, manifest.loans = target, generation, report.loans
    dataset.commit(manifest)
    return report


def _rows(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows)


ENGINES = ("local", "spark")


@dataclass(frozen=True)
class PartJob:
    """Everything a worker needs to run one part of a day-end run: plain values, so that it pickles to a Spark
    executor unchanged."""

    root: str
    generation: int  # the generation read; the run writes generation + 1
    closed: date
    through: date
    non_accrual_dpd: int
    outputs: bool

    def run(self, part: int) -> int:
        """Run one part (skipped if a previous attempt already finished it); returns its loan count."""
        dataset = Dataset(Path(self.root))
        state_file = dataset.state_path(self.generation + 1, part)
        if not state_file.exists():
            policy = DayEndPolicy(self.non_accrual_dpd)
            _run_part(dataset, part, self.generation, self.closed, self.through, policy, self.outputs)
        return _rows(state_file)


def _run_part(
    dataset: Dataset, part: int, generation: int, closed: date, through: date, policy: DayEndPolicy, outputs: bool
) -> None:
    """One part, every day closed+1 .. through, written as generation+1 (state file last)."""
    state = dataset.read_state(generation, part)
    payments = dataset.read_payments(part, closed, through)
    problems = quarantine_mask(state, payments, closed)
    new = generation + 1
    if problems:
        rows = sorted(problems)
        bad = state.take(pa.array(rows))
        quarantine = pa.Table.from_arrays(
            [pa.array([problems[r][0] for r in rows]), pa.array([problems[r][1] for r in rows]), *bad.columns],
            schema=QUARANTINE_SCHEMA,
        )
        write_table(dataset.run_path(new, "quarantine", part), quarantine)
        keep = np.ones(state.num_rows, dtype=bool)
        keep[rows] = False
        state = state.filter(pa.array(keep))
    batch = from_arrow(state)
    index = pc.index_in(payments.column("loan_id"), value_set=state.column("loan_id").combine_chunks())
    valid = pc.is_valid(index)
    pay_index = index.filter(valid).to_numpy(zero_copy_only=False).astype(np.int64)
    pay_day = payments.column("value_date").filter(valid).cast(pa.int32()).to_numpy(zero_copy_only=False)
    pay_amount = payments.column("amount").filter(valid).to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.argsort(pay_day, kind="stable")  # within a day, payments keep their recorded order
    pay_day, pay_index, pay_amount = pay_day[order], pay_index[order], pay_amount[order]
    events: list[pa.Table] = []
    postings: list[pa.Table] = []
    snapshots: list[pa.Table] = []
    for offset in range((through - closed).days):
        today = day_number(closed) + 1 + offset
        lo, hi = np.searchsorted(pay_day, today, "left"), np.searchsorted(pay_day, today, "right")
        result = day_end(batch, today, pay_index[lo:hi], pay_amount[lo:hi], policy, outputs)
        batch = result.batch
        events.append(result.events)
        postings.append(result.postings)
        if from_day_number(today + 1).day == 1:  # month-ends: what reports read, however runs are split
            snapshots.append(snapshot(batch, today))
    write_table(dataset.run_path(new, "snapshots", part), pa.concat_tables([SNAPSHOT_SCHEMA.empty_table(), *snapshots]))
    write_table(dataset.run_path(new, "events", part), pa.concat_tables([EVENT_SCHEMA.empty_table(), *events]))
    write_table(dataset.run_path(new, "postings", part), pa.concat_tables([POSTING_SCHEMA.empty_table(), *postings]))
    write_table(dataset.state_path(new, part), pa.Table.from_batches([to_arrow(batch)], schema=SCHEMA))


def _general_ledger(dataset: Dataset, generation: int, parts: int) -> dict[str, dict[str, int]]:
    """The run's movement per day and account over every part (written beside the parts, and returned)."""
    tables = [
        pq.read_table(dataset.run_path(generation, "postings", p), columns=["day", "account", "amount"])
        for p in range(parts)
    ]
    table = pa.concat_tables(tables)
    table = table.set_column(1, "account", table.column("account").cast(pa.string()))
    totals: dict[str, dict[str, int]] = {}
    for row in table.group_by(["day", "account"]).aggregate([("amount", "sum")]).to_pylist():
        totals.setdefault(row["day"].isoformat(), {})[row["account"]] = row["amount_sum"]
    totals = {day: dict(sorted(accounts.items())) for day, accounts in sorted(totals.items())}
    data = json.dumps(totals, indent=2).encode() + b"\n"
    write_bytes(dataset.run_path(generation, "general-ledger.json"), data)
    return totals


def dataset_loan_state(root: Path, loan_id: str, as_of: date | None = None) -> LoanState:
    """A loan's state after the dataset's last day-end (``as_of``, when given, must be that day)."""
    dataset = Dataset(root)
    manifest = dataset.manifest()
    closed = manifest.closed_through
    if as_of is not None and as_of != closed:
        raise InputRejected(
            f"the dataset holds each loan's state after its last day-end, {closed}; ask for --as-of {closed} "
            f"(or run `arrears eod run --dataset {root} --through {as_of}` first)"
        )
    table = dataset.find_loan(manifest.generation, manifest.parts, loan_id)
    if table is None:
        for quarantine in sorted(root.glob("runs/g*/quarantine-part-*.parquet")):
            hit = pq.read_table(quarantine, filters=[("loan_id", "=", loan_id)], columns=["code", "message"])
            if hit.num_rows:
                row = hit.to_pylist()[0]
                raise InputRejected(f"loan {loan_id} is quarantined ({row['code']}: {row['message']}); fix its data")
        raise InputRejected(f"no loan {loan_id!r} in the dataset {root}; check the id (a scenario file's stem)")
    if table.column("start")[0].as_py() > closed:
        raise InputRejected(f"loan {loan_id} starts after {closed}, the last day-end run; run the day-ends first")
    return loan_state(from_arrow(table), 0, closed)
