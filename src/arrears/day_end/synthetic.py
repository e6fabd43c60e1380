"""Synthetic portfolios: realistic micro-credit loans and payment behaviour, reproducible from a seed.

The mix follows the sample product (products/cn-microcredit.toml) and what secondary sources say of 微粒贷-like
lines: drawdowns of 500 .. 20,000 yuan in multiples of 100, 5, 10 or 20 monthly terms, mostly equal principal,
daily rates 0.02% .. 0.05%, one grace day, penalty 1.5x with compounding. Vintages are spread evenly over the
``history_days`` before the as-of date. Each loan gets one behaviour:

==================  ======  ====================================================================
behaviour           share   payments
==================  ======  ====================================================================
on time             74%     each installment in full, 0..3 days before its due date
late                 8%     each installment 1..20 days late, with enough extra for the penalty
defaults             12%    on time for the first k installments (k drawn), then nothing
partial              3%     half of each installment on its due date
settles early        3%     on time, then the whole remaining principal on a random day
==================  ======  ====================================================================

That leaves 10 .. 20% of a seasoned portfolio delinquent, across buckets, which is what the day-end issue asks
of a realistic portfolio. Payments dated after the as-of date are kept: they are the future the day-end meets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa

from arrears.day_end.columns import day_number, opening_state
from arrears.domain.schedule import build_schedule
from arrears.domain.terms import LoanTerms, Method

PRINCIPALS = np.array([500, 1_000, 2_000, 3_000, 5_000, 8_000, 10_000, 15_000, 20_000]) * 100
PRINCIPAL_WEIGHTS = np.array([10, 18, 18, 14, 14, 9, 8, 5, 4])
TERMS = np.array([5, 10, 20])
TERM_WEIGHTS = np.array([35, 45, 20])
METHODS = (Method.EQUAL_PRINCIPAL, Method.EQUAL_INSTALLMENT, Method.INTEREST_FIRST)
METHOD_WEIGHTS = np.array([75, 20, 5])
RATES = ("0.0002", "0.0003", "0.0004", "0.0005")
RATE_WEIGHTS = np.array([10, 20, 30, 40])
BEHAVIOURS = ("on_time", "late", "defaults", "partial", "settles_early")
BEHAVIOUR_WEIGHTS = np.array([74, 8, 12, 3, 3])


def _choice(rng: np.random.Generator, count: int, weights: np.ndarray) -> np.ndarray:
    return rng.choice(len(weights), size=count, p=weights / weights.sum())


@dataclass(frozen=True)
class Part:
    """One part of a synthetic portfolio: its opening loan state and its payments."""

    state: pa.Table
    payments: pa.Table


def generate(loans: int, seed: int, as_of: date, history_days: int = 360, part_size: int = 250_000) -> Iterator[Part]:
    """Parts of a synthetic portfolio of ``loans`` loans (ids ``L000000001`` ...), loan-id order."""
    if loans < 1:
        raise ValueError("a portfolio needs at least one loan")
    rng = np.random.default_rng(seed)
    first_start = as_of - timedelta(days=history_days)
    for begin in range(0, loans, part_size):
        count = min(part_size, loans - begin)
        yield _part(rng, begin, count, first_start, history_days)


def _part(rng: np.random.Generator, begin: int, count: int, first_start: date, history_days: int) -> Part:
    principal = PRINCIPALS[_choice(rng, count, PRINCIPAL_WEIGHTS)]
    terms = TERMS[_choice(rng, count, TERM_WEIGHTS)]
    method = _choice(rng, count, METHOD_WEIGHTS)
    rate = _choice(rng, count, RATE_WEIGHTS)
    start = rng.integers(0, history_days + 1, size=count)
    # Loans with the same terms share one schedule: build each distinct one once, then repeat its row.
    keys = np.stack([principal, terms, method, rate, start], axis=1)
    distinct, which = np.unique(keys, axis=0, return_inverse=True)
    templates = [
        LoanTerms(
            principal=int(p),
            daily_rate=Decimal(RATES[int(r)]),
            terms=int(t),
            method=METHODS[int(m)],
            start=first_start + timedelta(days=int(s)),
            grace_days=1,
        )
        for p, t, m, r, s in distinct
    ]
    template_state = pa.Table.from_batches([opening_state([""] * len(templates), templates)])
    ids = pa.array([f"L{begin + n + 1:09d}" for n in range(count)])
    state = template_state.take(pa.array(which.ravel())).set_column(0, "loan_id", ids)
    payments = _payments(rng, templates, which.ravel(), ids)
    return Part(state, payments)


def _payments(rng: np.random.Generator, templates: list[LoanTerms], which: np.ndarray, ids: pa.Array) -> pa.Table:
    schedules = [build_schedule(t) for t in templates]
    count = len(which)
    sizes = np.array([len(s) for s in schedules])[which]
    due = np.concatenate([[day_number(r.due_date) for r in s] for s in schedules])
    amount = np.concatenate([[r.payment for r in s] for s in schedules])
    template_offsets = np.concatenate([[0], np.cumsum([len(s) for s in schedules])])
    # flat installments of every loan: loan n owns sizes[n] rows, copied from its template
    owner = np.repeat(np.arange(count), sizes)
    first = np.cumsum(sizes) - sizes
    number = np.arange(len(owner)) - first[owner]
    source = template_offsets[which][owner] + number
    due, amount = due[source], amount[source]
    behaviour = _choice(rng, count, BEHAVIOUR_WEIGHTS)[owner]
    day = due.copy()
    pay = amount.copy()
    keep = np.ones(len(owner), dtype=bool)
    on_time = behaviour == BEHAVIOURS.index("on_time")
    day[on_time] -= rng.integers(0, 4, size=int(on_time.sum()))
    late = behaviour == BEHAVIOURS.index("late")
    lateness = rng.integers(1, 21, size=int(late.sum()))
    day[late] += lateness
    pay[late] += (amount[late] * lateness * 15) // 10_000 + 1  # covers penalty at up to 0.075% a day
    stops_after = rng.integers(0, np.maximum(sizes, 1))[owner]
    keep &= ~((behaviour == BEHAVIOURS.index("defaults")) & (number >= stops_after))
    partial = behaviour == BEHAVIOURS.index("partial")
    pay[partial] = np.maximum(amount[partial] // 2, 1)
    settles = behaviour == BEHAVIOURS.index("settles_early")
    settle_at = rng.integers(0, np.maximum(sizes - 1, 1))[owner]
    keep &= ~(settles & (number > settle_at))
    # the settling payment: the principal of that installment and every later one, plus that installment's
    # interest; the engine charges interest for the actual days only and holds any excess
    flat_principal = np.concatenate([[r.principal for r in s] for s in schedules])[source]
    to_end = np.cumsum(flat_principal[::-1])[::-1]  # principal from this row to the end of the flat array
    loan_end = (first + sizes)[owner]
    later_loans = np.where(loan_end < len(owner), to_end[np.minimum(loan_end, len(owner) - 1)], 0)
    at_settle = settles & (number == settle_at)
    pay[at_settle] = (to_end - later_loans + amount - flat_principal)[at_settle]
    start = np.array([day_number(t.start) for t in templates])[which][owner]
    day = np.maximum(day, start)
    keep &= pay > 0
    return pa.table(
        {
            "loan_id": ids.take(pa.array(owner[keep])),
            "value_date": pa.array(day[keep].astype(np.int32)).cast(pa.date32()),
            "amount": pa.array(pay[keep].astype(np.int64)),
        }
    )
