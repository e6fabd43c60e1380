"""Benchmark: planning one day of collections for a million delinquent accounts, beside the day-end pipeline.

(The issue calls it bench/collections.py; a script named so would shadow the standard library's ``collections``
for every script in this folder, bench/eod.py included, so it is named for what it measures.)

    .venv/bin/python bench/collections_plan.py [--accounts 1000000] [--loans 1000000] [--work DIR] [--sample 3000]

Set-up, untimed: the seasoned synthetic portfolio of bench/eod.py (``--loans`` loans seasoned through 2026-11-28,
generated once into ``--work`` and reused); its delinquent loans (days past due above 0 after that day-end) tiled
with fresh ids to ``--accounts`` accounts, two loans to a borrower, with their days past due, bucket and amount
overdue; segments, promises, special statuses (1%), opt-outs (2%) and consent (90%) drawn at random (seed 11);
and 30 days of contact history: a Poisson(1) number of contacts a day per account, 70% calls, 30% texts.

Timed, side by side in this one run (best of 3 each):

1. **the plan**: :func:`arrears.collections.planning.plan_batch` for 2026-11-29 with strategies/cn-default.toml
   (every rule matched, every action checked against the cn pack: stops, window, the daily call cap across the
   day's steps and a borrower's loans) and with strategies/us-default.toml (the us pack: Reg F's 7 calls in 7
   days per debt counts the history);
2. **the day-end pipeline** (:func:`arrears.day_end.kernel.day_end`, in memory, as bench/eod.py line 1) on the
   seasoned portfolio the accounts come from: the issue asks for the plan's ratio to it;
3. **the scalar reference** (:func:`plan_accounts`) on ``--sample`` accounts, checked equal to the columnar plan
   of the same accounts, as accounts per second.

Target (issue): the plan at most 10 s.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

import eod  # bench/eod.py, beside this file: the seasoned portfolio
from arrears.collections.planning import (
    CHANNEL_CODES,
    PROMISES,
    STATUS_BITS,
    Accounts,
    AccountView,
    History,
    plan_accounts,
    plan_batch,
)
from arrears.collections.policy import Channel, Contact, ContactFacts, Status
from arrears.collections.strategy import load_strategy
from arrears.day_end.columns import day_number

ROOT = Path(__file__).resolve().parents[1]
DAY = eod.DAY
SEGMENTS = ("", "salaried", "young")


def delinquent_accounts(work: Path, loans: int, accounts: int, rng: np.random.Generator) -> Accounts:
    state, _ = eod.load(eod.seasoned(work, loans))
    dpd = state.column("days_past_due").to_numpy()
    bucket = state.column("bucket").to_numpy()
    late = np.flatnonzero(dpd > 0)
    due = state.column("due").combine_chunks()
    offsets = due.offsets.to_numpy()
    owed = np.zeros(len(pc.list_flatten(due)), np.int64)
    for name in ("principal_due", "interest_due", "penalty_due", "compound_due"):
        owed += pc.list_flatten(state.column(name).combine_chunks()).to_numpy()
    past = pc.list_flatten(due).to_numpy(zero_copy_only=False).astype("datetime64[D]").astype(np.int64) <= day_number(
        eod.SEASONED
    )
    summed = np.add.reduceat(np.where(past, owed, 0), offsets[:-1] - offsets[0])
    pick = late[np.arange(accounts) % len(late)]
    loan = np.arange(1, accounts + 1, dtype=np.int64)
    statuses = np.where(rng.random(accounts) < 0.01, rng.choice([STATUS_BITS[s] for s in Status], accounts), 0)
    return Accounts(
        loan=loan,
        borrower=(loan + 1) // 2,
        days_past_due=dpd[pick].astype(np.int32),
        bucket=bucket[pick].astype(np.int8),
        overdue=summed[pick],
        segment=rng.integers(0, len(SEGMENTS), accounts).astype(np.int32),
        segments=SEGMENTS,
        promise=np.where(rng.random(accounts) < 0.05, PROMISES.index("live"), 0).astype(np.int8),
        statuses=statuses.astype(np.int32),
        opted_out=np.where(rng.random(accounts) < 0.02, 1 << CHANNEL_CODES[Channel.SMS], 0).astype(np.int32),
        automated_consent=rng.random(accounts) < 0.9,
        first_contact=np.full(accounts, -1, np.int32),
        validation_notice_sent=np.full(accounts, -1, np.int32),
        # a third of the accounts 61+ days past due are with an agency, placed up to 40 days ago
        placed_on=np.where(
            (dpd[pick] >= 61) & (rng.random(accounts) < 0.33), DAY.toordinal() - rng.integers(0, 41, accounts), -1
        ).astype(np.int32),
        # the limitation period runs from up to four years ago: some debts are time-barred
        limitation_from=(DAY.toordinal() - rng.integers(0, 4 * 365, accounts)).astype(np.int32),
        recalled=rng.random(accounts) < 0.05,
    )


def contact_history(accounts: Accounts, rng: np.random.Generator, days: int = 30) -> History:
    per_day = rng.poisson(1.0, size=(len(accounts.loan), days)).astype(np.int32)
    account = np.repeat(np.repeat(np.arange(len(accounts.loan)), days), per_day.ravel())
    day = np.repeat(
        np.tile(DAY.toordinal() - days + np.arange(days, dtype=np.int32), len(accounts.loan)), per_day.ravel()
    )
    channel = np.where(rng.random(len(account)) < 0.7, CHANNEL_CODES[Channel.VOICE_CALL], CHANNEL_CODES[Channel.SMS])
    return History(accounts.borrower[account], accounts.loan[account], channel.astype(np.int8), day.astype(np.int32))


def views(accounts: Accounts, rows: np.ndarray) -> list[AccountView]:
    found = []
    for i in rows:
        statuses = frozenset(s for s, bit in STATUS_BITS.items() if accounts.statuses[i] & bit)
        opted = frozenset(c for c, code in CHANNEL_CODES.items() if accounts.opted_out[i] & (1 << code))
        found.append(
            AccountView(
                int(accounts.loan[i]),
                int(accounts.borrower[i]),
                int(accounts.days_past_due[i]),
                f"M{int(accounts.bucket[i])}",
                int(accounts.overdue[i]),
                SEGMENTS[int(accounts.segment[i])],
                PROMISES[int(accounts.promise[i])],
                account=ContactFacts(
                    statuses,
                    opted,
                    bool(accounts.automated_consent[i]),
                    limitation_from=date.fromordinal(int(accounts.limitation_from[i])),
                ),
                placed_with="agency" if accounts.placed_on[i] >= 0 else None,
                placed_on=date.fromordinal(int(accounts.placed_on[i])) if accounts.placed_on[i] >= 0 else None,
                recalled=bool(accounts.recalled[i]),
            )
        )
    return found


def subset(accounts: Accounts, rows: np.ndarray) -> Accounts:
    return Accounts(
        **{name: (value[rows] if isinstance(value, np.ndarray) else value) for name, value in vars(accounts).items()}
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--work", type=Path, default=ROOT / ".bench")
    options = parser.parse_args()
    rng = np.random.default_rng(11)
    strategy = load_strategy(ROOT / "strategies" / "cn-default.toml")
    print(f"collections plan for {DAY} (bench/collections_plan.py: strategies cn-default and us-default)")
    accounts = delinquent_accounts(options.work, options.loans, options.accounts, rng)
    history = contact_history(accounts, rng)
    print(f"  {len(accounts.loan):,} delinquent accounts, {len(history.loan):,} contacts in the last 30 days")

    plan = plan_batch(strategy, accounts, DAY, history)
    planning = eod.best_of(3, lambda: plan_batch(strategy, accounts, DAY, history))
    refused = len(plan.refused) - plan.allowed()
    print(f"  plan, cn-default:       {planning:7.3f} s  {len(plan.refused):,} actions, {refused:,} refused")
    us = load_strategy(ROOT / "strategies" / "us-default.toml")  # Reg F's 7 calls in 7 days: reads the history
    us_plan = plan_batch(us, accounts, DAY, history)
    us_seconds = eod.best_of(3, lambda: plan_batch(us, accounts, DAY, history))
    us_refused = len(us_plan.refused) - us_plan.allowed()
    print(f"  plan, us-default:       {us_seconds:7.3f} s  {len(us_plan.refused):,} actions, {us_refused:,} refused")

    pipeline, _, loans = eod.in_memory(eod.seasoned(options.work, options.loans))  # bench/eod.py's line 1
    print(f"  day-end pipeline:       {pipeline:7.3f} s  {loans:,} loans (the same seasoned portfolio)")

    rows = np.sort(rng.choice(len(accounts.loan), options.sample, replace=False))
    borrowers = set(accounts.borrower[rows].tolist())
    rows = np.flatnonzero(np.isin(accounts.borrower, list(borrowers)))  # whole borrowers: caps span their loans
    small = subset(accounts, rows)
    mine = np.isin(history.borrower, list(borrowers))
    small_history = History(*(column[mine] for column in vars(history).values()))
    by_borrower: dict[int, list[Contact]] = {}
    for b, loan, channel, day in zip(*(c.tolist() for c in vars(small_history).values()), strict=True):
        at = datetime.combine(date.fromordinal(day), clock(12))
        by_borrower.setdefault(b, []).append(Contact(list(CHANNEL_CODES)[channel], at, loan))
    sample_views = views(small, np.arange(len(rows)))
    for name, checked in (("cn-default", strategy), ("us-default", us)):
        started = time.perf_counter()
        reference = plan_accounts(checked, sample_views, DAY, by_borrower)
        scalar = time.perf_counter() - started
        check = plan_batch(checked, small, DAY, small_history)
        got = [
            (int(small.loan[a]), check.steps[s].step.action, check.rules[r].name if r >= 0 else None)
            for s, a, r in zip(check.step.tolist(), check.account.tolist(), check.refused.tolist(), strict=True)
        ]
        assert got == [(p.loan, p.action, p.refused_by.name if p.refused_by else None) for p in reference]
        print(
            f"  scalar reference, {name}: {len(rows) / scalar:9,.0f} accounts/s on {len(rows):,} accounts, "
            f"equal to the columnar plan of them"
        )
    cn_rate, us_rate = len(accounts.loan) / planning, len(accounts.loan) / us_seconds
    print(f"  columnar: {cn_rate:,.0f} (cn) and {us_rate:,.0f} (us) accounts/s")
    slowest = max(planning, us_seconds)
    print(
        f"  ratio plan / day-end pipeline: cn {planning / pipeline:.2f}x, us {us_seconds / pipeline:.2f}x; "
        f"target: plan <= 10 s: {'met' if slowest <= 10 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
