"""Benchmark: the reference engine over 100,000 loans for 30 day-ends.

    .venv/bin/python bench/engine.py [--loans 100000] [--days 30] [--seed 7]   (or: make bench)

A portfolio on the sample product (products/cn-microcredit.toml) with loans drawn over the six months before
the window, replayed (untimed) up to the window; then the 30 day-ends of the window, with the payments that
fall in it (most borrowers pay on the due date, some ten days late, some never), run two ways, side by side:

- ``engine``: each loan takes its payments in date order and is closed through the window's last day in one
  call; the engine skips the days on which nothing can change (charges over a run of unchanged days are a
  product, not a loop);
- ``baseline``: the same engine driven one day-end at a time, as a naive day-end loop would.

Both must end in identical states for every loan (checked; the benchmark fails otherwise). It prints loan-days
per second for each and the ratio. Target (issue 2): at least 50,000 loan-days per second on a 2-core machine.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from arrears.domain.engine import LoanReplay, Payment
from arrears.domain.product import load_product
from arrears.domain.schedule import build_schedule

ROOT = Path(__file__).resolve().parents[1]
WINDOW_START = date(2026, 7, 1)


def build_portfolio(loans: int, days: int, seed: int) -> list[tuple[LoanReplay, LoanReplay, list[Payment]]]:
    """Two identical replays per loan (one per runner), each brought up to the window, and the window's payments."""
    product = load_product(ROOT / "products" / "cn-microcredit.toml")
    rng = random.Random(seed)
    window_end = WINDOW_START + timedelta(days=days - 1)
    portfolio = []
    for _ in range(loans):
        start = WINDOW_START - timedelta(days=rng.randrange(1, 183))
        terms = product.loan_terms(
            principal=rng.randrange(10000, 5000001, 10000), terms=rng.choice((5, 10, 20)), start=start
        )
        schedule = build_schedule(terms)
        behaviour = rng.random()
        lateness = 0 if behaviour < 0.8 else 10 if behaviour < 0.9 else None  # None: never pays
        payments = []
        if lateness is not None:
            payments = [Payment(row.due_date + timedelta(days=lateness), row.payment) for row in schedule]
        history = [p for p in payments if p.value_date < WINDOW_START]
        window = [p for p in payments if WINDOW_START <= p.value_date <= window_end]
        pair = []
        for _ in range(2):
            loan = LoanReplay(terms, schedule)
            for payment in history:
                loan.pay(payment.value_date, payment.amount)
            loan.close_through(WINDOW_START - timedelta(days=1))
            pair.append(loan)
        portfolio.append((pair[0], pair[1], window))
    return portfolio


def run_engine(portfolio: list[tuple[LoanReplay, LoanReplay, list[Payment]]], window_end: date) -> float:
    began = time.perf_counter()
    for loan, _, payments in portfolio:
        for payment in payments:
            loan.pay(payment.value_date, payment.amount)
        loan.close_through(window_end)
    return time.perf_counter() - began


def run_baseline(portfolio: list[tuple[LoanReplay, LoanReplay, list[Payment]]], days: int) -> float:
    began = time.perf_counter()
    for offset in range(days):
        today = WINDOW_START + timedelta(days=offset)
        for _, loan, payments in portfolio:
            for payment in payments:
                if payment.value_date == today:
                    loan.pay(today, payment.amount)
            loan.close_through(today)
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    window_end = WINDOW_START + timedelta(days=args.days - 1)

    began = time.perf_counter()
    portfolio = build_portfolio(args.loans, args.days, args.seed)
    print(f"portfolio: {args.loans:,} loans brought up to {WINDOW_START} in {time.perf_counter() - began:.1f} s")

    engine_seconds = run_engine(portfolio, window_end)
    baseline_seconds = run_baseline(portfolio, args.days)
    mismatches = sum(1 for fast, slow, _ in portfolio if fast.state() != slow.state())
    loan_days = args.loans * args.days
    engine_rate, baseline_rate = loan_days / engine_seconds, loan_days / baseline_seconds
    print(f"window: {args.days} day-ends, {WINDOW_START} .. {window_end}, {loan_days:,} loan-days")
    print(f"engine   (quiet days skipped): {engine_seconds:7.2f} s  {engine_rate:12,.0f} loan-days/s")
    print(f"baseline (one day-end a call): {baseline_seconds:7.2f} s  {baseline_rate:12,.0f} loan-days/s")
    print(f"ratio engine / baseline: {engine_rate / baseline_rate:.1f}x   target: >= 50,000 loan-days/s")
    print(f"states identical: {args.loans - mismatches:,} of {args.loans:,}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
