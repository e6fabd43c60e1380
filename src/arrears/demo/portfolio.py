"""The demo portfolio: synthetic borrowers on the sample product, run day by day through the reference engine.

Each borrower draws one loan on the sample product (limit, amount and terms drawn at random within the
product's rules) and behaves in one of five ways:

==============  =====  =======================================================================================
behaviour       share  what the borrower does
==============  =====  =======================================================================================
on time         60%    pays what is due on the due date; a third of them pay the next installment 1..3 days early
late            15%    lets each installment run 2..45 days past due, then pays everything overdue
partial         10%    pays half of what is due on the due date, and clears everything once DPD reaches 60
never            8%    pays 0..2 installments on time, then stops
settles early    7%    pays on time, then pays the loan off 60..120 days after drawing it
==============  =====  =======================================================================================

Randomness decides behaviour and dates only; amounts always come from the engine (what is due, the payoff),
so every yuan in the demo is exact. Month-end snapshots give the bucket mix over time, the classification mix
at the end, and the roll-rate (迁徙率) matrix: of the principal in bucket Mn at one month-end, the share found
in each bucket at the next month-end.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

from arrears.domain.classification import Bucket, Classification, bucket_for, classification_for
from arrears.domain.credit_line import DrawdownLimits, check_drawdown
from arrears.domain.dates import add_months
from arrears.domain.engine import LoanReplay
from arrears.domain.payoff import payoff_of
from arrears.domain.product import Product
from arrears.money import format_minor


class Behaviour(StrEnum):
    ON_TIME = "on time"
    LATE = "late"
    PARTIAL = "partial"
    NEVER = "never"
    SETTLES_EARLY = "settles early"


BEHAVIOUR_SHARES: tuple[tuple[Behaviour, int], ...] = (
    (Behaviour.ON_TIME, 60),
    (Behaviour.LATE, 15),
    (Behaviour.PARTIAL, 10),
    (Behaviour.NEVER, 8),
    (Behaviour.SETTLES_EARLY, 7),
)


@dataclass(slots=True)
class Borrower:
    """One synthetic borrower, their loan, and the parameters of their behaviour."""

    number: int
    behaviour: Behaviour
    loan: LoanReplay
    due_dates: frozenset[date]
    lateness: int = 0
    early_days: int = 0
    installments_paid_before_stopping: int = 0
    settle_on: date | None = None
    paid: int = 0
    limit: int = 0
    payments: list[tuple[date, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MonthEnd:
    """The portfolio at one month-end: bucket and outstanding principal of every loan that has started."""

    day: date
    buckets: dict[int, Bucket]
    principal: dict[int, int]


@dataclass(slots=True)
class DemoResult:
    borrowers: int
    start: date
    end: date
    loan_days: int = 0
    payments: int = 0
    collected: int = 0
    disbursed: int = 0
    month_ends: list[MonthEnd] = field(default_factory=list)
    behaviours: Counter[Behaviour] = field(default_factory=Counter)
    classifications: Counter[Classification] = field(default_factory=Counter)
    classification_principal: Counter[Classification] = field(default_factory=Counter)
    allocated: int = 0
    """Money applied to installments by the engine; with ``unapplied`` it must equal ``collected``."""
    unapplied: int = 0
    portfolio: list[Borrower] = field(default_factory=list)

    def roll_matrix(self) -> dict[Bucket, dict[Bucket, int]]:
        """Principal (at the first month-end) moving from each bucket to each bucket, over all month pairs."""
        matrix: dict[Bucket, dict[Bucket, int]] = {b: dict.fromkeys(Bucket, 0) for b in Bucket}
        for before, after in zip(self.month_ends, self.month_ends[1:], strict=False):
            for number, bucket in before.buckets.items():
                balance = before.principal[number]
                if balance:
                    matrix[bucket][after.buckets[number]] += balance
        return matrix


def _draw_loans(product: Product, count: int, first_start: date, rng: random.Random) -> list[Borrower]:
    rules = product.rules
    limits = DrawdownLimits(rules.drawdown.minimum, rules.drawdown.multiple, rules.drawdown.max_open_loans)
    weights = [share for _, share in BEHAVIOUR_SHARES]
    borrowers = []
    for number in range(count):
        limit = rng.randrange(rules.line.min_limit, 5_000_001, 10_000)  # 500 .. 50,000 yuan, whole hundreds
        amount = rng.randrange(limits.minimum, limit + 1, limits.multiple)
        refusal = check_drawdown(limits, limit=limit, outstanding=(), amount=amount)
        if refusal is not None:  # cannot happen with these draws; a demo that hid it would lie
            raise AssertionError(f"demo drew a loan its product refuses: {refusal.reason}")
        start = first_start + timedelta(days=rng.randrange(0, 60))
        terms = product.loan_terms(principal=amount, terms=rng.choice(rules.pricing.terms), start=start)
        behaviour = rng.choices([b for b, _ in BEHAVIOUR_SHARES], weights)[0]
        loan = LoanReplay(terms)
        borrower = Borrower(number, behaviour, loan, frozenset(row.due_date for row in loan.schedule), limit=limit)
        if behaviour is Behaviour.ON_TIME and rng.random() < 1 / 3:
            borrower.early_days = rng.randint(1, 3)
        borrower.lateness = rng.randint(2, 45)
        borrower.installments_paid_before_stopping = rng.randint(0, 2)
        if behaviour is Behaviour.SETTLES_EARLY:
            borrower.settle_on = start + timedelta(days=rng.randint(60, 120))
        borrowers.append(borrower)
    return borrowers


def _payment_today(borrower: Borrower, today: date) -> int:
    """What this borrower pays during ``today`` (0 for nothing), decided from the engine's own figures."""
    loan, behaviour = borrower.loan, borrower.behaviour
    due_today = today in borrower.due_dates
    if behaviour is Behaviour.SETTLES_EARLY and borrower.settle_on == today:
        return payoff_of(loan, today).total
    if behaviour in (Behaviour.ON_TIME, Behaviour.SETTLES_EARLY):
        upcoming = today + timedelta(days=borrower.early_days)
        if borrower.early_days and upcoming in borrower.due_dates:
            return loan.due_total(upcoming)
        return loan.due_total(today) if due_today else 0
    dpd = loan.days_past_due() + 1 if loan.days_past_due() else 0  # DPD this day-end, if nothing is paid
    if behaviour is Behaviour.LATE:
        return loan.due_total(today) if dpd >= borrower.lateness else 0
    if behaviour is Behaviour.PARTIAL:
        if dpd >= 60:
            return loan.due_total(today)
        return loan.due_total(today) // 200 * 100 if due_today else 0  # half, in whole yuan
    # never: a few installments on time, then nothing
    if due_today and borrower.paid < borrower.installments_paid_before_stopping:
        borrower.paid += 1
        return loan.due_total(today)
    return 0


def run_demo(
    product: Product,
    *,
    borrowers: int = 3000,
    months: int = 6,
    start: date = date(2026, 1, 1),
    seed: int = 20261129,
    on_day: Callable[[date], None] | None = None,
) -> DemoResult:
    """Run the demo portfolio day by day from ``start`` for ``months`` months; ``on_day`` reports progress."""
    rng = random.Random(seed)
    portfolio = _draw_loans(product, borrowers, start, rng)
    end = add_months(start, months) - timedelta(days=1)
    result = DemoResult(borrowers=borrowers, start=start, end=end)
    result.portfolio = portfolio
    result.behaviours.update(b.behaviour for b in portfolio)
    result.disbursed = sum(b.loan.terms.principal for b in portfolio)
    today = start
    while today <= end:
        for borrower in portfolio:
            loan = borrower.loan
            if loan.terms.start > today:
                continue
            amount = _payment_today(borrower, today)
            if amount > 0:
                loan.pay(today, amount)
                borrower.payments.append((today, amount))
                result.payments += 1
                result.collected += amount
            loan.close_through(today)
            result.loan_days += 1
        if (today + timedelta(days=1)).day == 1:
            started = [b for b in portfolio if b.loan.terms.start <= today]
            result.month_ends.append(
                MonthEnd(
                    today,
                    {b.number: bucket_for(b.loan.days_past_due()) for b in started},
                    {b.number: b.loan.outstanding_principal() for b in started},
                )
            )
        if on_day is not None:
            on_day(today)
        today += timedelta(days=1)
    for borrower in portfolio:
        classification = classification_for(borrower.loan.days_past_due())
        result.classifications[classification] += 1
        result.classification_principal[classification] += borrower.loan.outstanding_principal()
        result.allocated += sum(borrower.loan.allocated.values())
        result.unapplied += borrower.loan.unapplied
    return result


def write_portfolio(result: DemoResult, product_path: Path, directory: Path) -> Path:
    """Write the simulated portfolio as the CSV files ``arrears portfolio import`` reads (lines, loans, payments).

    Names and phone numbers are synthetic (示例借款人0001, 1990000xxxx); the loans and payments are exactly those
    the simulation ran, so importing them replays every loan to the same state.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tables: dict[str, tuple[list[str], list[list[str]]]] = {
        "lines": (["line_ref", "borrower_name", "phone", "product", "limit"], []),
        "loans": (["loan_ref", "line_ref", "amount", "terms", "start"], []),
        "payments": (["loan_ref", "date", "amount"], []),
    }
    for borrower in result.portfolio:
        ref, terms = f"D{borrower.number:05d}", borrower.loan.terms
        name, phone = f"示例借款人{borrower.number:04d}", f"1990000{borrower.number:04d}"
        tables["lines"][1].append([ref, name, phone, str(product_path.resolve()), format_minor(borrower.limit)])
        tables["loans"][1].append([ref, ref, format_minor(terms.principal), str(terms.terms), terms.start.isoformat()])
        tables["payments"][1].extend([ref, day.isoformat(), format_minor(amount)] for day, amount in borrower.payments)
    for name, (header, rows) in tables.items():
        with (directory / f"{name}.csv").open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            writer.writerows(rows)
    return directory
