"""Columnar loan state: one Arrow row per loan, its installments stored compactly as list columns.

This is what the day-end pipeline reads and writes, what a Parquet dataset holds, and what a distributed runner
ships between workers. Every amount is int64 minor units; every date is an Arrow ``date32`` (days since
1970-01-01, which the kernel uses as plain integers). The schema (:data:`SCHEMA`):

Terms, fixed for the loan's life (the snapshot :class:`arrears.domain.terms.LoanTerms` holds):
    ``loan_id`` string, ``start`` date32, ``principal`` int64, ``daily_rate`` and ``penalty_multiplier``
    decimal text (for people and for rebuilding the terms), ``rate_num``/``rate_den`` and
    ``penalty_num``/``penalty_den`` int64 (the daily and penalty rates as exact reduced fractions, what the
    kernel computes with), ``terms`` int16, ``method``, ``interest_basis``, ``rounding`` strings,
    ``compound`` bool, ``grace_days`` int32, ``allocation`` string (components in order, comma-separated),
    ``currency`` string.

Installments, one list entry per installment in due order (all lists of a row have the same length):
    ``due`` list<date32>; ``principal_due``, ``interest_due``, ``penalty_due``, ``compound_due`` list<int64>
    (what remains unpaid); ``held_penalty``, ``held_compound`` list<int64> (charges held back in grace).

Position after the last day-end (``closed_through``, the same for the whole dataset):
    ``first_open`` int32 (index of the oldest installment not settled; the number of installments once
    settled), ``billed`` int32 (installments due on or before the day: their interest is billed),
    ``unapplied``, ``received``, ``paid_penalty``, ``paid_compound``, ``paid_interest``, ``paid_principal``,
    ``interest_billed``, ``penalty_charged``, ``compound_charged``, ``accrued``, ``suspended_interest``,
    ``suspended_penalty`` int64, ``days_past_due`` int32, ``bucket`` int8 (0 = M0 .. 7 = M7),
    ``classification`` int8 (index in :class:`arrears.domain.classification.Classification`), ``non_accrual`` bool,
    ``settled_on`` date32 (null while anything is owed).

A loan that has not started yet (start after ``closed_through``) carries its opening position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from arrears.day_end.column_names import INSTALLMENT_COLUMNS as INSTALLMENT_COLUMNS  # re-exported: callers read it here
from arrears.day_end.column_names import LOAN_AMOUNT_COLUMNS as LOAN_AMOUNT_COLUMNS
from arrears.day_end.reference import DayEndState
from arrears.domain.classification import Bucket, Classification, bucket_for, classification_for
from arrears.domain.engine import LoanReplay
from arrears.domain.loan_state import InstallmentState, InstallmentStatus, LoanState, Overdue
from arrears.domain.schedule import build_schedule
from arrears.domain.terms import Component, InterestBasis, LoanTerms, Method
from arrears.money import RoundingMode, rate_fraction

EPOCH = date(1970, 1, 1)
EPOCH_ORDINAL = EPOCH.toordinal()
COMPONENTS = tuple(Component)  # row order of LoanBatch.amounts: penalty, compound, interest, principal

Int64s = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
Bools = npt.NDArray[np.bool_]


def day_number(day: date) -> int:
    """A date as the kernel's integer (Arrow date32: days since 1970-01-01)."""
    return day.toordinal() - EPOCH_ORDINAL


def from_day_number(number: int) -> date:
    return date.fromordinal(int(number) + EPOCH_ORDINAL)


_TERMS_FIELDS = [
    pa.field("loan_id", pa.string(), nullable=False),
    pa.field("start", pa.date32(), nullable=False),
    pa.field("principal", pa.int64(), nullable=False),
    pa.field("daily_rate", pa.string(), nullable=False),
    pa.field("penalty_multiplier", pa.string(), nullable=False),
    pa.field("rate_num", pa.int64(), nullable=False),
    pa.field("rate_den", pa.int64(), nullable=False),
    pa.field("penalty_num", pa.int64(), nullable=False),
    pa.field("penalty_den", pa.int64(), nullable=False),
    pa.field("terms", pa.int16(), nullable=False),
    pa.field("method", pa.string(), nullable=False),
    pa.field("interest_basis", pa.string(), nullable=False),
    pa.field("rounding", pa.string(), nullable=False),
    pa.field("compound", pa.bool_(), nullable=False),
    pa.field("grace_days", pa.int32(), nullable=False),
    pa.field("allocation", pa.string(), nullable=False),
    pa.field("currency", pa.string(), nullable=False),
]
SCHEMA = pa.schema(
    [
        *_TERMS_FIELDS,
        pa.field("due", pa.list_(pa.date32()), nullable=False),
        *(pa.field(name, pa.list_(pa.int64()), nullable=False) for name in INSTALLMENT_COLUMNS),
        pa.field("first_open", pa.int32(), nullable=False),
        pa.field("billed", pa.int32(), nullable=False),
        *(pa.field(name, pa.int64(), nullable=False) for name in LOAN_AMOUNT_COLUMNS),
        pa.field("days_past_due", pa.int32(), nullable=False),
        pa.field("bucket", pa.int8(), nullable=False),
        pa.field("classification", pa.int8(), nullable=False),
        pa.field("non_accrual", pa.bool_(), nullable=False),
        pa.field("settled_on", pa.date32(), nullable=True),
    ]
)
TERMS_COLUMNS = tuple(field.name for field in _TERMS_FIELDS)

_BUCKET_CODES = {bucket: code for code, bucket in enumerate(Bucket)}
_CLASS_CODES = {classification: code for code, classification in enumerate(Classification)}

NOT_SETTLED = np.iinfo(np.int32).min
"""``settled_on`` in the kernel while a loan is open (null in Arrow)."""


@dataclass(slots=True)
class LoanBatch:
    """The kernel's view of a batch of loans: numpy arrays, one entry per loan or per installment.

    Installment arrays are flat; loan i owns entries ``offsets[i]:offsets[i + 1]``. ``amounts`` holds the
    unpaid installment amounts as rows in :data:`COMPONENTS` order, so an allocation order is a row index.
    """

    terms: pa.RecordBatch  # the terms columns, carried through unchanged
    start: Int32s
    principal: Int64s
    rate_num: Int64s
    rate_den: Int64s
    penalty_num: Int64s
    penalty_den: Int64s
    compound: Bools
    grace_days: Int32s
    half_even: Bools
    allocation: npt.NDArray[np.int8]  # (loans, 4): component rows in allocation order
    offsets: Int64s
    due: Int32s
    amounts: Int64s  # (4, installments)
    held_penalty: Int64s
    held_compound: Int64s
    first_open: Int32s
    billed: Int32s
    unapplied: Int64s
    received: Int64s
    paid: Int64s  # (4, loans), COMPONENTS order
    interest_billed: Int64s
    penalty_charged: Int64s
    compound_charged: Int64s
    accrued: Int64s
    suspended_interest: Int64s
    suspended_penalty: Int64s
    days_past_due: Int32s
    bucket: npt.NDArray[np.int8]
    classification: npt.NDArray[np.int8]
    non_accrual: Bools
    settled_on: Int32s

    count: Int64s  # installments per loan (offsets[i + 1] - offsets[i]), kept rather than recomputed

    def __len__(self) -> int:
        return len(self.start)

    def copy(self) -> LoanBatch:
        """A deep copy of every array (the terms record batch is immutable and shared)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return LoanBatch(**{k: v if k == "terms" else v.copy() for k, v in values.items()})


def _np(column: pa.Array | pa.ChunkedArray, dtype: type) -> Any:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_date32(column.type):
        column = column.cast(pa.int32())
    return np.array(column.to_numpy(zero_copy_only=False), dtype=dtype)  # a writable copy: the kernel updates it


def _list_values(column: pa.Array, dtype: type) -> tuple[Int64s, Any]:
    offsets = np.asarray(column.offsets.to_numpy(), dtype=np.int64)
    values = column.values
    if pa.types.is_date32(values.type):
        values = values.cast(pa.int32())
    flat: Any = np.array(values.to_numpy(zero_copy_only=False)[offsets[0] : offsets[-1]], dtype=dtype)
    return offsets - offsets[0], flat


_COMPONENT_CODE = {component.value: index for index, component in enumerate(COMPONENTS)}


def from_arrow(record: pa.RecordBatch | pa.Table) -> LoanBatch:
    """The kernel's arrays for a batch with :data:`SCHEMA` (copies where Arrow's buffers are read-only)."""
    if isinstance(record, pa.Table):
        record = record.combine_chunks().to_batches()[0] if record.num_rows else pa.RecordBatch.from_pylist([], SCHEMA)
    column = record.column
    offsets, due = _list_values(column("due"), np.int32)
    installment = {name: _list_values(column(name), np.int64)[1] for name in INSTALLMENT_COLUMNS}
    settled = column("settled_on").cast(pa.int32()).fill_null(NOT_SETTLED)
    orders = column("allocation").dictionary_encode()  # a handful of distinct orders: parse each once
    codes = np.array(
        [[_COMPONENT_CODE[name] for name in text.split(",")] for text in orders.dictionary.to_pylist()],
        dtype=np.int8,
    ).reshape(-1, 4)
    allocation = codes[np.asarray(orders.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
    return LoanBatch(
        terms=record.select(list(TERMS_COLUMNS)),
        start=_np(column("start"), np.int32),
        principal=_np(column("principal"), np.int64),
        rate_num=_np(column("rate_num"), np.int64),
        rate_den=_np(column("rate_den"), np.int64),
        penalty_num=_np(column("penalty_num"), np.int64),
        penalty_den=_np(column("penalty_den"), np.int64),
        compound=_np(column("compound"), np.bool_),
        grace_days=_np(column("grace_days"), np.int32),
        half_even=np.asarray(pa.compute.equal(column("rounding"), "half-even").to_numpy(zero_copy_only=False)),
        allocation=allocation,
        offsets=offsets,
        due=due,
        amounts=np.stack([installment[f"{c.value}_due"] for c in COMPONENTS]),
        held_penalty=installment["held_penalty"],
        held_compound=installment["held_compound"],
        first_open=_np(column("first_open"), np.int32),
        billed=_np(column("billed"), np.int32),
        unapplied=_np(column("unapplied"), np.int64),
        received=_np(column("received"), np.int64),
        paid=np.stack([_np(column(f"paid_{c.value}"), np.int64) for c in COMPONENTS]),
        interest_billed=_np(column("interest_billed"), np.int64),
        penalty_charged=_np(column("penalty_charged"), np.int64),
        compound_charged=_np(column("compound_charged"), np.int64),
        accrued=_np(column("accrued"), np.int64),
        suspended_interest=_np(column("suspended_interest"), np.int64),
        suspended_penalty=_np(column("suspended_penalty"), np.int64),
        days_past_due=_np(column("days_past_due"), np.int32),
        bucket=_np(column("bucket"), np.int8),
        classification=_np(column("classification"), np.int8),
        non_accrual=_np(column("non_accrual"), np.bool_),
        settled_on=np.array(settled.to_numpy(zero_copy_only=False), dtype=np.int32),
        count=np.diff(offsets),
    )


def to_arrow(batch: LoanBatch) -> pa.RecordBatch:
    """The batch as an Arrow record batch with :data:`SCHEMA`."""
    offsets = pa.array(batch.offsets.astype(np.int32))

    def listed(values: npt.NDArray[np.generic], kind: pa.DataType) -> pa.Array:
        return pa.ListArray.from_arrays(offsets, pa.array(values, type=kind))

    columns: dict[str, pa.Array] = {name: batch.terms.column(name) for name in TERMS_COLUMNS}
    columns["due"] = listed(batch.due, pa.date32())
    for index, component in enumerate(COMPONENTS):
        columns[f"{component.value}_due"] = listed(batch.amounts[index], pa.int64())
    columns["held_penalty"] = listed(batch.held_penalty, pa.int64())
    columns["held_compound"] = listed(batch.held_compound, pa.int64())
    columns["first_open"] = pa.array(batch.first_open, pa.int32())
    columns["billed"] = pa.array(batch.billed, pa.int32())
    columns["unapplied"] = pa.array(batch.unapplied)
    columns["received"] = pa.array(batch.received)
    for index, component in enumerate(COMPONENTS):
        columns[f"paid_{component.value}"] = pa.array(batch.paid[index])
    for name in LOAN_AMOUNT_COLUMNS[6:]:
        columns[name] = pa.array(getattr(batch, name))
    columns["days_past_due"] = pa.array(batch.days_past_due, pa.int32())
    columns["bucket"] = pa.array(batch.bucket, pa.int8())
    columns["classification"] = pa.array(batch.classification, pa.int8())
    columns["non_accrual"] = pa.array(batch.non_accrual, pa.bool_())
    columns["settled_on"] = pa.array(batch.settled_on, pa.int32(), mask=batch.settled_on == NOT_SETTLED).cast(
        pa.date32()
    )
    return pa.RecordBatch.from_arrays([columns[f.name] for f in SCHEMA], schema=SCHEMA)


def opening_state(loan_ids: Sequence[str], terms: Sequence[LoanTerms]) -> pa.RecordBatch:
    """Freshly disbursed loans, before their first day-end: schedule in place, nothing paid or charged."""
    if len(loan_ids) != len(terms):
        raise ValueError("one loan id per terms record")
    rows: dict[str, list[object]] = {f.name: [] for f in SCHEMA}
    for loan_id, loan in zip(loan_ids, terms, strict=True):
        schedule = build_schedule(loan)
        values: dict[str, object] = {
            **_terms_values(loan_id, loan),
            "due": [row.due_date for row in schedule],
            "principal_due": [row.principal for row in schedule],
            "interest_due": [row.interest for row in schedule],
            "penalty_due": [0] * len(schedule),
            "compound_due": [0] * len(schedule),
            "held_penalty": [0] * len(schedule),
            "held_compound": [0] * len(schedule),
            "first_open": next((i for i, row in enumerate(schedule) if row.principal or row.interest), len(schedule)),
            "billed": 0,
            **dict.fromkeys(LOAN_AMOUNT_COLUMNS, 0),
            "days_past_due": 0,
            "bucket": 0,
            "classification": 0,
            "non_accrual": False,
            "settled_on": None,
        }
        for name, value in values.items():
            rows[name].append(value)
    return pa.RecordBatch.from_pydict(rows, schema=SCHEMA)


def _terms_values(loan_id: str, loan: LoanTerms) -> dict[str, object]:
    daily, penalty = rate_fraction(loan.daily_rate), rate_fraction(loan.penalty_daily_rate)
    return {
        "loan_id": loan_id,
        "start": loan.start,
        "principal": loan.principal,
        "daily_rate": str(loan.daily_rate),
        "penalty_multiplier": str(loan.penalty_multiplier),
        "rate_num": daily.numerator,
        "rate_den": daily.denominator,
        "penalty_num": penalty.numerator,
        "penalty_den": penalty.denominator,
        "terms": loan.terms,
        "method": loan.method.value,
        "interest_basis": loan.interest_basis.value,
        "rounding": loan.rounding.value,
        "compound": loan.compound_overdue_interest,
        "grace_days": loan.grace_days,
        "allocation": ",".join(c.value for c in loan.allocation),
        "currency": loan.currency,
    }


def reference_state(loans: Sequence[tuple[str, LoanReplay, DayEndState]]) -> pa.RecordBatch:
    """The :data:`SCHEMA` rows of loans day-ended by the reference (:mod:`arrears.day_end.reference`): each replay
    closed
    through its standing's day, which must be the same for all. How a loan with waivers or a backdated event
    joins the kernel: the pipeline then carries it on exactly as if it had run it all along (the agreement test
    checks this row against the pipeline's every day). Waived amounts are not columns: they never change once
    a loan is in the kernel (which takes payments only), so its postings, differences of columns, ignore them."""
    rows: dict[str, list[object]] = {f.name: [] for f in SCHEMA}
    for loan_id, replay, standing in loans:
        installments = replay.working_installments()
        closed = replay.closed_through_date
        settled = replay.settled_on
        billed_through = min(closed, settled) if settled is not None else closed
        totals = standing.totals
        values: dict[str, object] = {
            **_terms_values(loan_id, replay.terms),
            "due": [row[0] for row in installments],
            **{name: [row[k + 1] for row in installments] for k, name in enumerate(INSTALLMENT_COLUMNS)},
            "first_open": replay.first_open,
            "billed": sum(1 for row in installments if row[0] <= billed_through),
            "unapplied": totals.unapplied,
            "received": totals.received,
            **{f"paid_{c.value}": totals.allocated[c] for c in COMPONENTS},
            "interest_billed": totals.charged[Component.INTEREST],
            "penalty_charged": totals.charged[Component.PENALTY],
            "compound_charged": totals.charged[Component.COMPOUND],
            "accrued": standing.accrued,
            "suspended_interest": standing.suspended_interest,
            "suspended_penalty": standing.suspended_penalty,
            "days_past_due": standing.days_past_due,
            "bucket": _BUCKET_CODES[standing.bucket],
            "classification": _CLASS_CODES[standing.classification],
            "non_accrual": standing.non_accrual,
            "settled_on": settled,
        }
        for name, value in values.items():
            rows[name].append(value)
    return pa.RecordBatch.from_pydict(rows, schema=SCHEMA)


def terms_of(record: pa.RecordBatch, index: int) -> LoanTerms:
    """The :class:`LoanTerms` of one row (to replay it with the reference engine, or to explain it)."""
    row = {name: record.column(name)[index].as_py() for name in TERMS_COLUMNS}
    return LoanTerms(
        principal=row["principal"],
        daily_rate=Decimal(row["daily_rate"]),
        terms=row["terms"],
        method=Method(row["method"]),
        start=row["start"],
        interest_basis=InterestBasis(row["interest_basis"]),
        penalty_multiplier=Decimal(row["penalty_multiplier"]),
        compound_overdue_interest=row["compound"],
        grace_days=row["grace_days"],
        rounding=RoundingMode(row["rounding"]),
        allocation=tuple(Component(name) for name in row["allocation"].split(",")),
        currency=row["currency"],
    )


def loan_state(batch: LoanBatch, index: int, closed_through: date) -> LoanState:
    """One loan's :class:`arrears.domain.engine.LoanState` after day-end ``closed_through``, from its columns."""
    today = day_number(closed_through)
    first, last = int(batch.offsets[index]), int(batch.offsets[index + 1])
    overdue = [0, 0, 0, 0]
    rows = []
    penalty, compound, interest, principal = (batch.amounts[c, first:last] for c in range(4))
    for k in range(last - first):
        due = int(batch.due[first + k])
        amounts = (int(principal[k]), int(interest[k]), int(penalty[k]), int(compound[k]))
        if not any(amounts):
            status = InstallmentStatus.PAID
        elif due < today:
            status = InstallmentStatus.OVERDUE
            overdue = [a + b for a, b in zip(overdue, amounts, strict=True)]
        elif due == today:
            status = InstallmentStatus.DUE
        else:
            status = InstallmentStatus.FUTURE
        rows.append(InstallmentState(k + 1, from_day_number(due), status, *amounts))
    dpd = int(batch.days_past_due[index])
    settled = int(batch.settled_on[index])
    return LoanState(
        as_of=closed_through,
        days_past_due=dpd,
        bucket=bucket_for(dpd),
        classification=classification_for(dpd),
        outstanding_principal=int(principal[int(batch.first_open[index]) :].sum()),
        overdue=Overdue(*overdue),
        installments=tuple(rows),
        unapplied=int(batch.unapplied[index]),
        allocated={c: int(batch.paid[i, index]) for i, c in enumerate(COMPONENTS)},
        settled_on=None if settled == NOT_SETTLED else from_day_number(settled),
        waived=dict.fromkeys(Component, 0),
        written_off_on=None,
    )


def yesterday(day: date) -> date:
    return day - timedelta(days=1)


SNAPSHOT_SCHEMA = pa.schema(
    [
        pa.field("loan_id", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("start", pa.date32(), nullable=False),
        pa.field("principal", pa.int64(), nullable=False),
        pa.field("outstanding_principal", pa.int64(), nullable=False),
        pa.field("days_past_due", pa.int32(), nullable=False),
        pa.field("bucket", pa.int8(), nullable=False),
        pa.field("classification", pa.int8(), nullable=False),
        pa.field("non_accrual", pa.bool_(), nullable=False),
        pa.field("first_installment_open", pa.bool_(), nullable=False),
        pa.field("first_due", pa.date32(), nullable=False),
        pa.field("settled", pa.bool_(), nullable=False),
    ]
)
"""One row per loan that has started, after a day-end: what portfolio reports (bucket mix, roll rates, vintage
curves, first-payment default) are computed from. Runners write one at each month-end."""


def snapshot(batch: LoanBatch, day: int) -> pa.Table:
    """The batch's :data:`SNAPSHOT_SCHEMA` rows after day-end ``day`` (a date32 number)."""
    started = np.flatnonzero(batch.start <= day)
    if not len(started):
        return SNAPSHOT_SCHEMA.empty_table()
    first = batch.offsets[:-1][started]
    principal_left = np.add.reduceat(batch.amounts[3], batch.offsets[:-1])[started]  # settled rows hold 0
    return pa.table(
        [
            batch.terms.column("loan_id").take(pa.array(started)),
            pa.array(np.full(len(started), day, dtype=np.int32)).cast(pa.date32()),
            pa.array(batch.start[started]).cast(pa.date32()),
            pa.array(batch.principal[started]),
            pa.array(principal_left.astype(np.int64)),
            pa.array(batch.days_past_due[started]),
            pa.array(batch.bucket[started]),
            pa.array(batch.classification[started]),
            pa.array(batch.non_accrual[started]),
            pa.array(batch.first_open[started] == 0),
            pa.array(batch.due[first]).cast(pa.date32()),
            pa.array(batch.settled_on[started] != NOT_SETTLED),
        ],
        schema=SNAPSHOT_SCHEMA,
    )
