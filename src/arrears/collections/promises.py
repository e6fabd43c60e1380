"""Promises to pay (承诺还款): a borrower's word to pay an amount by a date, and how the day-end judges it.

A promise is **kept** once the repayments received since the day it was made (value dates from ``made_on`` on,
reversals netted) reach its amount, **broken** when the day-end of its date has run without that, and **live**
until then. A payment posted late with a value date inside the promise's days turns a broken promise kept at
the next day-end: what counts is when the borrower paid, not when the lender posted it.

What a promise does to collections is the strategy's to say: a rule's ``when = { promise = "broken" }``
escalates, ``promise = "live"`` plans a follow-up, and ``[strategy] promise_pauses`` lists the actions a live
promise holds back (arrears.collections.strategy). The longest promise accepted is lender policy, not law:
:data:`MAX_PROMISE_DAYS` by default, a parameter where promises are recorded.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from arrears.errors import InputRejected

MAX_PROMISE_DAYS = 30
"""Lender policy: a promise further out than this is a repayment plan, negotiated as hardship (协商还款)."""


class PromiseStatus(StrEnum):
    LIVE = "live"
    KEPT = "kept"
    BROKEN = "broken"


def check_promise(*, amount: int, made_on: date, due: date, max_days: int = MAX_PROMISE_DAYS) -> None:
    """Refuse a promise that cannot be judged or is not a promise: nothing to pay, a date before it was made, or
    further out than ``max_days`` (say what to do instead)."""
    if amount <= 0:
        raise InputRejected(f"a promise needs an amount above zero (got {amount} minor units)")
    if due < made_on:
        raise InputRejected(f"the promised date {due} is before the day the promise was made ({made_on})")
    if due > made_on + timedelta(days=max_days):
        raise InputRejected(
            f"the promised date {due} is more than {max_days} days after {made_on}: "
            "a longer arrangement is a hardship plan, not a promise to pay"
        )


def judge(*, amount: int, due: date, paid: int, day: date) -> PromiseStatus:
    """The promise's status after the day-end of ``day``, given ``paid`` (received toward it so far).

    >>> judge(amount=10_000, due=date(2026, 6, 30), paid=10_000, day=date(2026, 6, 20))
    <PromiseStatus.KEPT: 'kept'>
    >>> judge(amount=10_000, due=date(2026, 6, 30), paid=9_999, day=date(2026, 6, 30))
    <PromiseStatus.BROKEN: 'broken'>
    >>> judge(amount=10_000, due=date(2026, 6, 30), paid=9_999, day=date(2026, 6, 29))
    <PromiseStatus.LIVE: 'live'>
    """
    if paid >= amount:
        return PromiseStatus.KEPT
    if day >= due:
        return PromiseStatus.BROKEN
    return PromiseStatus.LIVE
