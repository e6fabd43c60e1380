"""The day-end pipeline over a batch of loans: the stages of :mod:`arrears.day_end.reference`, vectorized with numpy.

:func:`day_end` takes the batch after day-end D-1 and the payments dated D, and gives the batch after day-end
D (advanced in place), its transition events and its postings; it reads no clock and does no I/O. Inside, an
ordered list of stages (:data:`STAGES`) updates the batch; each stage touches only the loans it concerns
(the day's payers, the overdue, the loans with a due date today), so a quiet loan costs a handful of vector
operations.

Integer arithmetic only. Products that could overflow int64 (a balance up to 10^10 fen times a rate with
eight decimals times a multiplier with eight) are found per element and computed exactly with Python integers;
see :func:`mul_div_round`. The kernel does no I/O, so any runner (in-process over the store or Parquet, or a
distributed one) calls it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from arrears.day_end.columns import COMPONENTS, NOT_SETTLED, Bools, Int64s, LoanBatch
from arrears.day_end.reference import DayEndPolicy, Transition
from arrears.domain.classification import BUCKET_DAYS, CLASS_FLOORS, Bucket, Classification
from arrears.domain.ledger import Account

PENALTY, COMPOUND, INTEREST, PRINCIPAL = range(4)  # rows of LoanBatch.amounts (COMPONENTS order)
assert [c.value for c in COMPONENTS] == ["penalty", "compound", "interest", "principal"]
_INT64_MAX = np.iinfo(np.int64).max


def mul_div_round(x: Int64s, num: Int64s, den: Int64s, half_even: Bools) -> Int64s:
    """round(x * num / den) for x >= 0, 0 <= num <= den (a rate of at most 1, or a fraction of a period),
    each tie rounded half-up or half-even per element, exactly (as :func:`arrears.money.round_div`). Elements
    whose product would overflow int64 are computed with Python integers; the result is at most x."""
    if not len(x) or int(x.max()) * int(num.max()) <= _INT64_MAX:  # the usual case: one check for all
        quotient, remainder = np.divmod(x * num, den)
    else:
        fits = x <= _INT64_MAX // np.maximum(num, 1)
        quotient = np.empty_like(x)
        remainder = np.empty_like(x)
        quotient[fits], remainder[fits] = np.divmod(x[fits] * num[fits], den[fits])
        wide = ~fits
        product, divisor = x[wide].astype(object) * num[wide].astype(object), den[wide].astype(object)
        whole = product // divisor  # Python integers: exact at any size
        quotient[wide] = whole.astype(np.int64)
        remainder[wide] = (product - whole * divisor).astype(np.int64)
    twice = 2 * remainder  # remainder < den < 2^62, so this cannot overflow
    up = (twice > den) | ((twice == den) & (~half_even | (quotient & 1 == 1)))
    rounded: Int64s = quotient + up
    return rounded


def div_round(x: Int64s, den: Int64s, half_even: Bools) -> Int64s:
    """round(x / den) for 0 <= x (an amount times at most a period's days: no overflow), den > 0."""
    quotient, remainder = np.divmod(x, den)
    twice = 2 * remainder
    rounded: Int64s = quotient + ((twice > den) | ((twice == den) & (~half_even | (quotient & 1 == 1))))
    return rounded


def _ranges(starts: Int64s, stops: Int64s) -> tuple[Int64s, Int64s]:
    """Concatenated ranges starts[i]:stops[i] as flat indices, with the position i each index came from."""
    lengths = np.maximum(stops - starts, 0)
    owner = np.repeat(np.arange(len(starts)), lengths)
    begin = np.cumsum(lengths) - lengths
    return starts[owner] + np.arange(int(lengths.sum())) - begin[owner], owner


def _segment_sums(values: Int64s, owner: Int64s, size: int) -> Int64s:
    """Sum of ``values`` per owner (exact int64; owners need not be sorted)."""
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, owner, values)
    return sums


@dataclass(slots=True)
class Day:
    """What the stages share for one day-end: the date, the policy, the day's payments and the loans live."""

    day: int
    policy: DayEndPolicy
    pay_index: Int64s
    pay_amount: Int64s
    live: Bools  # started on or before the day and not yet settled
    billed_today: Int64s = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # set by bill()


Stage = Callable[[LoanBatch, Day], None]


def take_payments(batch: LoanBatch, today: Day) -> None:
    """Payments dated today join the loan's held credit (unapplied), to be applied next."""
    np.add.at(batch.unapplied, today.pay_index, today.pay_amount)
    np.add.at(batch.received, today.pay_index, today.pay_amount)


def bill(batch: LoanBatch, today: Day) -> None:
    """Installments falling due today are billed: their interest becomes receivable (before anything is
    applied to them, so what is billed is the scheduled interest)."""
    candidates = np.flatnonzero(today.live & (batch.billed < batch.count))
    rows = batch.offsets[candidates] + batch.billed[candidates]
    due_today = batch.due[rows] == today.day
    loans, rows = candidates[due_today], rows[due_today]
    batch.interest_billed[loans] += batch.amounts[INTEREST][rows]
    batch.billed[loans] += 1
    today.billed_today = loans


def apply_credit(batch: LoanBatch, today: Day) -> None:
    """Held credit goes to installments billed by today, oldest first, each in the loan's allocation order;
    then, if credit is left and covers the payoff, the loan is settled early (the engine's rules)."""
    loans = np.flatnonzero(today.live & (batch.unapplied > 0) & (batch.first_open < batch.billed))
    if len(loans):
        rows, owner = _ranges(
            batch.offsets[loans] + batch.first_open[loans], batch.offsets[loans] + batch.billed[loans]
        )
        order = batch.allocation[loans[owner]]  # (rows, 4) component rows in allocation order
        owed = batch.amounts[order, rows[:, None]]
        flat_owed = owed.ravel()
        flat_owner = np.repeat(owner, 4)
        running = np.cumsum(flat_owed)
        segment_start = np.searchsorted(flat_owner, np.arange(len(loans)))
        before_segment = np.where(segment_start > 0, running[segment_start - 1], 0)
        prefix = running - flat_owed - before_segment[flat_owner]
        available = batch.unapplied[loans][flat_owner]
        take = np.minimum(flat_owed, np.maximum(available - prefix, 0))
        batch.amounts[order, rows[:, None]] = owed - take.reshape(-1, 4)
        np.add.at(batch.paid, (order.ravel(), loans[flat_owner]), take)
        batch.unapplied[loans] -= _segment_sums(take, flat_owner, len(loans))
        _advance_first_open(batch, loans, today.day)
    _settle_early(batch, today)


def _advance_first_open(batch: LoanBatch, loans: Int64s, day: int) -> None:
    """Move each loan's first open installment past the settled ones (what was held for them is dropped)."""
    rows, owner = _ranges(batch.offsets[loans] + batch.first_open[loans], batch.offsets[loans + 1])
    settled = ~batch.amounts[:, rows].any(axis=0)
    batch.held_penalty[rows[settled]] = 0
    batch.held_compound[rows[settled]] = 0
    position = np.where(settled, np.iinfo(np.int64).max, rows)
    first_unsettled = np.full(len(loans), np.iinfo(np.int64).max)
    np.minimum.at(first_unsettled, owner, position)
    ends = batch.offsets[loans + 1]
    batch.first_open[loans] = (np.minimum(first_unsettled, ends) - batch.offsets[loans]).astype(np.int32)
    done = (batch.first_open[loans] == batch.count[loans]) & (batch.settled_on[loans] == NOT_SETTLED)
    batch.settled_on[loans[done]] = day


def _settle_early(batch: LoanBatch, today: Day) -> None:
    """提前结清: credit left after everything billed is paid, enough for the principal not yet due plus the
    interest for the days since the last due date (民法典 art. 677), settles the loan at once."""
    loans = np.flatnonzero(
        today.live & (batch.unapplied > 0) & (batch.first_open >= batch.billed) & (batch.first_open < batch.count)
    )
    if not len(loans):
        return
    starts, ends = batch.offsets[loans] + batch.billed[loans], batch.offsets[loans + 1]
    rows, owner = _ranges(starts, ends)
    not_yet_due = _segment_sums(batch.amounts[PRINCIPAL][rows], owner, len(loans))
    last_due = np.where(batch.billed[loans] > 0, batch.due[np.maximum(starts - 1, 0)], batch.start[loans])
    days = (today.day - last_due).astype(np.int64)
    interest = mul_div_round(not_yet_due * days, batch.rate_num[loans], batch.rate_den[loans], batch.half_even[loans])
    covered = batch.unapplied[loans] >= not_yet_due + interest
    loans, not_yet_due, interest = loans[covered], not_yet_due[covered], interest[covered]
    rows = rows[covered[owner]]
    batch.amounts[PRINCIPAL][rows] = 0
    batch.amounts[INTEREST][rows] = 0
    batch.paid[PRINCIPAL, loans] += not_yet_due
    batch.paid[INTEREST, loans] += interest
    batch.interest_billed[loans] += interest
    batch.unapplied[loans] -= not_yet_due + interest
    batch.first_open[loans] = batch.count[loans].astype(np.int32)
    batch.settled_on[loans] = today.day


def penalise(batch: LoanBatch, today: Day) -> None:
    """Penalty on unpaid principal and compound on unpaid interest of installments due before today, each
    day's charge rounded on its own; held back during grace, then charged at the grace end if principal or
    interest is still unpaid (what was held is dropped when the installment is settled in time)."""
    due_before = batch.billed.copy()  # installments due strictly before today
    due_before[today.billed_today] -= 1
    loans = np.flatnonzero(today.live & (batch.first_open < due_before))
    if not len(loans):
        return
    rows, owner = _ranges(batch.offsets[loans] + batch.first_open[loans], batch.offsets[loans] + due_before[loans])
    loan_of = loans[owner]
    principal, interest = batch.amounts[PRINCIPAL][rows], batch.amounts[INTEREST][rows]
    half_even, num, den = batch.half_even[loan_of], batch.penalty_num[loan_of], batch.penalty_den[loan_of]
    penalty = mul_div_round(principal, num, den, half_even)
    compound = np.where(batch.compound[loan_of], mul_div_round(interest, num, den, half_even), 0)
    grace_end = batch.due[rows] + batch.grace_days[loan_of]
    in_grace = today.day <= grace_end
    held_penalty = batch.held_penalty[rows] + np.where(in_grace, penalty, 0)
    held_compound = batch.held_compound[rows] + np.where(in_grace, compound, 0)
    charge_penalty = np.where(in_grace, 0, penalty)
    charge_compound = np.where(in_grace, 0, compound)
    release = grace_end == today.day  # grace ends today: charge what was held if principal or interest is unpaid
    unpaid = release & ((principal > 0) | (interest > 0))
    charge_penalty = charge_penalty + np.where(unpaid, held_penalty, 0)
    charge_compound = charge_compound + np.where(unpaid, held_compound, 0)
    batch.held_penalty[rows] = np.where(release, 0, held_penalty)
    batch.held_compound[rows] = np.where(release, 0, held_compound)
    batch.amounts[PENALTY][rows] += charge_penalty
    batch.amounts[COMPOUND][rows] += charge_compound
    batch.penalty_charged[loans] += _segment_sums(charge_penalty, owner, len(loans))
    batch.compound_charged[loans] += _segment_sums(charge_compound, owner, len(loans))


def accrue(batch: LoanBatch, today: Day) -> None:
    """Interest accrued to date on the current period: round(I x elapsed / n), rounded once."""
    batch.accrued[:] = np.where(today.live, 0, batch.accrued)
    loans = np.flatnonzero(today.live & (batch.billed < batch.count) & (batch.first_open < batch.count))
    rows = batch.offsets[loans] + batch.billed[loans]
    since = np.where(batch.billed[loans] > 0, batch.due[rows - 1], batch.start[loans]).astype(np.int64)
    elapsed = today.day - since
    batch.accrued[loans] = div_round(
        batch.amounts[INTEREST][rows] * elapsed, batch.due[rows] - since, batch.half_even[loans]
    )


def age(batch: LoanBatch, today: Day) -> None:
    """Days past due from the oldest unsettled installment, then the M-bucket and the five-category class."""
    started = batch.start <= today.day
    open_row = batch.offsets[:-1] + np.minimum(batch.first_open, np.maximum(batch.count - 1, 0))
    overdue = started & (batch.first_open < batch.count) & (batch.due[open_row] < today.day)
    dpd = np.where(overdue, today.day - batch.due[open_row], 0).astype(np.int32)
    batch.days_past_due[:] = dpd
    batch.bucket[:] = np.minimum(7, (dpd + BUCKET_DAYS - 1) // BUCKET_DAYS)
    batch.classification[:] = _floors_reached(dpd)


def _floors_reached(dpd: npt.NDArray[np.int32]) -> npt.NDArray[np.int8]:
    """How many of the class floors (:data:`arrears.domain.classification.CLASS_FLOORS`) each loan's days past
    due reach: its class's index in :class:`arrears.domain.classification.Classification`."""
    reached = np.zeros(len(dpd), np.int8)
    for floor, _ in CLASS_FLOORS:
        reached += dpd >= floor
    return reached


def non_accrual(batch: LoanBatch, today: Day) -> None:
    """Non-accrual above the policy's DPD until cured; the status itself (suspense follows in postings)."""
    dpd = batch.days_past_due
    batch.non_accrual[:] = (dpd > today.policy.non_accrual_dpd) | (batch.non_accrual & (dpd > 0))


STAGES: tuple[Stage, ...] = (take_payments, bill, apply_credit, penalise, accrue, age, non_accrual)
"""The stages in order. Transitions and postings compare the result with the batch before the day-end."""


@dataclass(frozen=True, slots=True)
class DayEndResult:
    batch: LoanBatch
    events: pa.Table  # loan_id, day, kind, before, after
    postings: pa.Table  # loan_id, day, account, amount (per-loan sub-ledger rows)
    totals: dict[Account, int]  # the general ledger's movement per account


_NAMES = pa.dictionary(pa.int8(), pa.string())  # a handful of names: kinds, accounts
_IDS = pa.dictionary(pa.int32(), pa.string())  # indices into the batch's loan ids: no string is copied
EVENT_SCHEMA = pa.schema(
    [
        pa.field("loan_id", _IDS, nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("kind", _NAMES, nullable=False),
        pa.field("before", pa.string(), nullable=False),
        pa.field("after", pa.string(), nullable=False),
    ]
)
POSTING_SCHEMA = pa.schema(
    [
        pa.field("loan_id", _IDS, nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("account", _NAMES, nullable=False),
        pa.field("amount", pa.int64(), nullable=False),
    ]
)


_COMPARED = (  # the loan-level columns that transitions and postings compare before and after
    "unapplied",
    "received",
    "paid",
    "interest_billed",
    "penalty_charged",
    "compound_charged",
    "accrued",
    "suspended_interest",
    "suspended_penalty",
    "days_past_due",
    "bucket",
    "classification",
    "non_accrual",
    "settled_on",
)


def day_end(
    batch: LoanBatch, day: int, pay_index: Int64s, pay_amount: Int64s, policy: DayEndPolicy, outputs: bool = True
) -> DayEndResult:
    """Day-end ``day`` (a date32 number) for a batch closed through ``day - 1``: the batch is advanced in place
    (copying ten installment arrays of a million-loan batch every day would cost more than the day-end itself)
    and returned in the result with the day's events and postings.

    ``pay_index``/``pay_amount``: the payments dated ``day``, as loan positions in the batch and minor units.
    ``outputs=False`` skips building the events and postings tables (to season a synthetic portfolio).
    """
    if len(pay_amount) and (pay_amount <= 0).any():
        raise ValueError("payments must be positive")
    if len(pay_index) and not (batch.start[pay_index] <= day).all():
        raise ValueError("a payment is dated before its loan started")
    before = replace(batch, **{name: getattr(batch, name).copy() for name in _COMPARED})
    after = batch
    live = (after.start <= day) & (after.settled_on == NOT_SETTLED)
    today = Day(day, policy, np.asarray(pay_index, dtype=np.int64), np.asarray(pay_amount, dtype=np.int64), live)
    for stage in STAGES:
        stage(after, today)
    _suspend(before, after)
    if not outputs:
        return DayEndResult(after, EVENT_SCHEMA.empty_table(), POSTING_SCHEMA.empty_table(), {})
    loan_ids = after.terms.column("loan_id")
    return DayEndResult(after, _events(before, after, day, loan_ids), *_postings(before, after, day, loan_ids))


def _recognised(batch: LoanBatch) -> tuple[Int64s, Int64s]:
    return batch.interest_billed + batch.accrued, batch.penalty_charged + batch.compound_charged


def _suspend(before: LoanBatch, after: LoanBatch) -> None:
    """Non-accrual loans credit what the day recognised to suspense; loans back in accrual release it."""
    interest_before, penalty_before = _recognised(before)
    interest_after, penalty_after = _recognised(after)
    held = after.non_accrual
    after.suspended_interest[:] = np.where(held, before.suspended_interest + interest_after - interest_before, 0)
    after.suspended_penalty[:] = np.where(held, before.suspended_penalty + penalty_after - penalty_before, 0)


_ACCOUNTS = [
    Account.CASH_CLEARING,
    Account.PRINCIPAL_RECEIVABLE,
    Account.INTEREST_RECEIVABLE,
    Account.PENALTY_RECEIVABLE,
    Account.INTEREST_INCOME,
    Account.PENALTY_INCOME,
    Account.SUSPENSE,
    Account.INTEREST_ACCRUED,
    Account.INCOME_SUSPENSE,
]
_ACCOUNT_NAMES = pa.array([account.value for account in _ACCOUNTS])


def _postings(before: LoanBatch, after: LoanBatch, day: int, loan_ids: pa.Array) -> tuple[pa.Table, dict[Account, int]]:
    """Each loan's balances after minus before (:func:`arrears.domain.ledger.accrual_basis_balances`), from the changes
    of the columns they are made of; non-zero amounts only, account by account (chart order), loans in batch
    order."""
    if (after.received - after.paid.sum(axis=0) - after.unapplied).any():
        raise AssertionError("money received is not all applied or held: a bug in the pipeline")
    paid = after.paid - before.paid
    billed = after.interest_billed - before.interest_billed
    charged = (after.penalty_charged - before.penalty_charged) + (after.compound_charged - before.compound_charged)
    accrued = after.accrued - before.accrued
    suspended_interest = after.suspended_interest - before.suspended_interest
    suspended_penalty = after.suspended_penalty - before.suspended_penalty
    columns = {
        Account.CASH_CLEARING: after.received - before.received,
        Account.PRINCIPAL_RECEIVABLE: -paid[PRINCIPAL],
        Account.INTEREST_RECEIVABLE: billed - paid[INTEREST],
        Account.PENALTY_RECEIVABLE: charged - paid[PENALTY] - paid[COMPOUND],
        Account.INTEREST_INCOME: suspended_interest - billed - accrued,
        Account.PENALTY_INCOME: suspended_penalty - charged,
        Account.SUSPENSE: before.unapplied - after.unapplied,
        Account.INTEREST_ACCRUED: accrued,
        Account.INCOME_SUSPENSE: -(suspended_interest + suspended_penalty),
    }
    moved = [np.flatnonzero(columns[account]) for account in _ACCOUNTS]  # account by account, loans in order
    loan_index = np.concatenate(moved)
    account_index = np.repeat(np.arange(len(_ACCOUNTS), dtype=np.int8), [len(m) for m in moved])
    amounts = np.concatenate([columns[account][m] for account, m in zip(_ACCOUNTS, moved, strict=True)])
    table = pa.table(
        [
            pa.DictionaryArray.from_arrays(pa.array(loan_index.astype(np.int32)), loan_ids),
            pa.array(np.full(len(loan_index), day, dtype=np.int32)).cast(pa.date32()),
            pa.DictionaryArray.from_arrays(pa.array(account_index), _ACCOUNT_NAMES),
            pa.array(amounts),
        ],
        schema=POSTING_SCHEMA,
    )
    totals = {account: int(columns[account].sum()) for account in _ACCOUNTS}
    return table, {account: amount for account, amount in totals.items() if amount}


Texts = npt.NDArray[np.str_]
_KINDS = list(Transition)
_BUCKET_NAMES = np.array([b.value for b in Bucket])
_CLASS_NAMES = np.array([c.value for c in Classification])


def _events(before: LoanBatch, after: LoanBatch, day: int, loan_ids: pa.Array) -> pa.Table:
    """Transition events, per loan in :class:`arrears.day_end.reference.Transition` order (texts built for those loans
    only)."""
    dpd0, dpd1 = before.days_past_due, after.days_past_due
    found: list[tuple[Int64s, int, npt.NDArray[np.str_], npt.NDArray[np.str_]]] = []

    def add(kind: Transition, mask: Bools, old: Callable[[Int64s], Texts], new: Callable[[Int64s], Texts]) -> None:
        loans = np.flatnonzero(mask)
        if len(loans):
            found.append((loans, _KINDS.index(kind), old(loans), new(loans)))

    def text(values: npt.NDArray[np.int32]) -> Callable[[Int64s], Texts]:
        return lambda loans: values[loans].astype(str)

    def constant(value: str) -> Callable[[Int64s], Texts]:
        return lambda loans: np.full(len(loans), value)

    def named(names: Texts, codes: npt.NDArray[np.int8]) -> Callable[[Int64s], Texts]:
        return lambda loans: names[codes[loans]]

    add(Transition.ENTERED_OVERDUE, (dpd0 == 0) & (dpd1 > 0), constant("0"), text(dpd1))
    add(
        Transition.ROLLED,
        (dpd0 > 0) & (after.bucket > before.bucket),
        named(_BUCKET_NAMES, before.bucket),
        named(_BUCKET_NAMES, after.bucket),
    )
    add(Transition.CURED, (dpd0 > 0) & (dpd1 == 0), text(dpd0), constant("0"))
    add(
        Transition.RECLASSIFIED,
        before.classification != after.classification,
        named(_CLASS_NAMES, before.classification),
        named(_CLASS_NAMES, after.classification),
    )
    accrual, non = constant("accrual"), constant("non-accrual")
    add(Transition.ENTERED_NON_ACCRUAL, after.non_accrual & ~before.non_accrual, accrual, non)
    add(Transition.RETURNED_TO_ACCRUAL, before.non_accrual & ~after.non_accrual, non, accrual)
    settled_now = (after.settled_on != NOT_SETTLED) & (before.settled_on == NOT_SETTLED)
    add(Transition.FULLY_REPAID, settled_now, constant("open"), constant("repaid"))
    if not found:
        return EVENT_SCHEMA.empty_table()
    loans = np.concatenate([f[0] for f in found])
    kinds = np.concatenate([np.full(len(f[0]), f[1]) for f in found])
    order = np.lexsort((kinds, loans))
    kind_names = pa.array([t.value for t in _KINDS])
    return pa.table(
        [
            pa.DictionaryArray.from_arrays(pa.array(loans[order].astype(np.int32)), loan_ids),
            pa.array(np.full(len(loans), day, dtype=np.int32)).cast(pa.date32()),
            pa.DictionaryArray.from_arrays(pa.array(kinds[order].astype(np.int8)), kind_names),
            pa.array(np.concatenate([f[2] for f in found])[order]),
            pa.array(np.concatenate([f[3] for f in found])[order]),
        ],
        schema=EVENT_SCHEMA,
    )
