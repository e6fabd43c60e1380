"""Delay interest on a money judgment (迟延履行期间的债务利息), 民事诉讼法 art. 264 (2023 numbering; art. 253 in the
2012/2017 numbering, art. 260 in 2021): a debtor who does not pay a money judgment by the deadline pays double
interest for the delay (V). The SPC 2014 interpretation (法释〔2014〕8号, in force 1 August 2014) fixes the extra
part: the unpaid money debt fixed by the judgment, other than its general interest, x 0.0175% a day x the days of
delay (art. 1), from the end of the performance period (art. 2) to the day of each payment (art. 3); a payment that
does not cover everything pays the judgment debt first and the delay interest after, unless the parties agreed
otherwise (art. 4) (V). Tags as in shared/RULES.md. Part of :mod:`arrears.legal.escalation`, which re-exports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Final

from arrears.legal.refusals import LegalRefused
from arrears.legal.refusals import check_count as _check_count
from arrears.money import RoundingMode, rate_fraction, round_to_minor

SPC_2014_DAILY_RATE: Final = Decimal("0.000175")
"""日万分之一点七五: SPC 2014 interpretation on delay interest, art. 1 (V)."""
SPC_2014_IN_FORCE: Final = date(2014, 8, 1)
"""Days of delay before this are counted by the SPC's 2009 reply (twice the benchmark rate), not implemented here."""


@dataclass(frozen=True, slots=True)
class DelaySegment:
    """A run of days, ``start`` to ``end`` both included, on which ``base`` (the unpaid judgment debt) was the
    same; ``interest`` = base x daily rate x days, rounded half-up once."""

    start: date
    end: date
    base: int
    days: int
    interest: int


@dataclass(frozen=True, slots=True)
class DelayInterest:
    """The delay interest to ``as_of`` (``total``, the segments' sum) and how the payments were applied:
    ``debt_outstanding`` of the judgment debt; ``interest_paid`` and ``interest_outstanding`` of the delay
    interest; ``unapplied`` what was paid beyond both (to refund or apply elsewhere)."""

    total: int
    segments: tuple[DelaySegment, ...]
    debt_outstanding: int
    interest_paid: int
    interest_outstanding: int
    unapplied: int


def delay_interest(
    judgment_debt: int,
    pay_by: date,
    payments: Sequence[tuple[date, int]],
    as_of: date,
    daily_rate: Decimal = SPC_2014_DAILY_RATE,
    *,
    judgment_date: date | None = None,
) -> DelayInterest:
    """The extra (加倍部分) delay interest on a money judgment, accrued to ``as_of``, and how payments apply.

    ``judgment_debt``: the money debt fixed by the judgment, less its general interest (SPC 2014 art. 1), in minor
    units. ``payments``: (date, amount in minor units) of what the debtor paid or the court transferred; several
    on one day count as one; those after ``as_of`` are not made yet on ``as_of`` and are left out.
    ``judgment_date``: if given, a payment or a ``pay_by`` before it is refused.

    The rules, and the choices where the text leaves one:

    - **From the day after** ``pay_by``: art. 2 counts from the end of the performance period, and ``pay_by`` is
      its last day, on which paying is on time. Nothing accrues on or before ``pay_by``; a payment by then simply
      lowers the debt.
    - **To the day of payment, that day included** (art. 3: the part paid bears interest to the day it is paid).
      A payment on day d ends a segment on d; the lower debt bears interest from d + 1. ``as_of`` is counted as if
      paying on it: the total is what a full payment on ``as_of`` would owe.
    - **Debt first, then interest** (art. 4): each payment pays the unpaid judgment debt, then the delay interest
      accrued to its day; the rest is ``unapplied``. Once the debt is paid nothing more accrues. A different order
      agreed by the parties (art. 4's exception) is not modelled.
    - **Rounding**: each segment's interest is rounded half-up to the minor unit once (the convention of Chinese
      lending and of court calculators, which show a line per segment); the total is the sum of the rounded
      segments, so the explanation adds up to the cent.
    - Delay interest is simple: it never bears interest itself, and it is not part of the base.

    Worked example: 10,000.00 due by 10 March, 4,000.00 paid on 20 March, as of 9 April: 11..20 March is 10 days on
    10,000.00 = 17.50, 21 March..9 April is 20 days on 6,000.00 = 21.00, total 38.50.

    >>> result = delay_interest(1_000_000, date(2026, 3, 10), [(date(2026, 3, 20), 400_000)], date(2026, 4, 9))
    >>> [(s.start.isoformat(), s.end.isoformat(), s.base, s.days, s.interest) for s in result.segments]
    [('2026-03-11', '2026-03-20', 1000000, 10, 1750), ('2026-03-21', '2026-04-09', 600000, 20, 2100)]
    >>> result.total, result.debt_outstanding
    (3850, 600000)
    """
    _check_count(judgment_debt, "judgment_debt")
    rate = rate_fraction(daily_rate)
    if rate < 0:
        raise LegalRefused(f"daily_rate must be at least 0, got {daily_rate}")
    start = _delay_starts(pay_by, judgment_date)
    by_day = _payments_by_day(payments, as_of, judgment_date)

    debt, accrued, interest_paid, unapplied = judgment_debt, 0, 0, 0
    segments: list[DelaySegment] = []
    segment_start = start

    def close(end: date) -> None:
        nonlocal accrued
        days = (end - segment_start).days + 1
        interest = round_to_minor(Fraction(debt) * rate * days, RoundingMode.HALF_UP)
        segments.append(DelaySegment(segment_start, end, debt, days, interest))
        accrued += interest

    for day in sorted(by_day):
        if debt > 0 and day >= segment_start:
            close(day)
            segment_start = day + timedelta(days=1)
        to_debt = min(by_day[day], debt)
        debt -= to_debt
        to_interest = min(by_day[day] - to_debt, accrued - interest_paid)
        interest_paid += to_interest
        unapplied += by_day[day] - to_debt - to_interest
    if debt > 0 and as_of >= segment_start:
        close(as_of)
    return DelayInterest(accrued, tuple(segments), debt, interest_paid, accrued - interest_paid, unapplied)


def _delay_starts(pay_by: date, judgment_date: date | None) -> date:
    """The first day of delay (the day after ``pay_by``), refused before SPC 2014 or a ``pay_by`` before the
    judgment."""
    start = pay_by + timedelta(days=1)
    if start < SPC_2014_IN_FORCE:
        raise LegalRefused(
            f"delay from {start} is before the SPC 2014 interpretation took effect on {SPC_2014_IN_FORCE}; days "
            "before it follow the SPC 2009 reply, which this does not compute"
        )
    if judgment_date is not None and pay_by < judgment_date:
        raise LegalRefused(f"pay_by {pay_by} is before the judgment date {judgment_date}; check both dates")
    return start


def _payments_by_day(payments: Sequence[tuple[date, int]], as_of: date, judgment_date: date | None) -> dict[date, int]:
    """The payments made by ``as_of``, several on one day counted as one; a zero payment, or one before the
    judgment, is refused (every payment is checked, even those after ``as_of``)."""
    by_day: dict[date, int] = {}
    for day, amount in payments:
        if _check_count(amount, f"the payment on {day}") == 0:
            raise LegalRefused(f"the payment on {day} is 0; leave it out or give the amount paid in minor units")
        if judgment_date is not None and day < judgment_date:
            raise LegalRefused(
                f"a payment on {day} is before the judgment date {judgment_date}: it belongs to the loan, not the "
                "judgment; a judgment debt already reflects it"
            )
        if day <= as_of:
            by_day[day] = by_day.get(day, 0) + amount
    return by_day
