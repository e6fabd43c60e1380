"""Monthly credit-bureau records: one per account per month-end, from the loan's events, in the jurisdiction's codes.

**What a record says** (:class:`AccountRecord`): the account's status at the month-end, its balance (principal
outstanding plus what is overdue beyond principal) and the amount past due (minor units), days past due, the
payment history of the 24 month-ends before it, the date of first delinquency of the current delinquency, the
date it was closed and of the last payment, and whether it is **negative**.

**Codes.** United States (Metro 2, shared/RULES.md, V): account status 11 current (0..29 days), 71 (30..59), 78
(60..89), 80 (90..119), 82 (120..149), 83 (150..179), 84 (180+), 13 paid or closed at zero balance, 97 charged
off (written off); payment history ``0`` 0..29, ``1`` 30..59 ... ``6`` 180+, ``E`` zero balance, ``L`` charged
off, ``B`` before the account opened. China (the second-generation credit report's 24-month repayment string;
this encoding is ours, S): ``N`` normal, ``1``..``7`` (1..30 days past due, 31..60, ... 181+), ``C`` settled,
``B`` bad debt (written off), ``/`` before the account opened; status ``normal``, ``overdue``, ``settled``,
``written_off``.

**Negative.** A record is negative when the account is past due beyond the grace days (paying within the grace
day emits nothing negative: the product's grace, 1 day on the sample) under cn, 30+ days or charged off under us
(Metro 2 reports 0..29 days as current), or written off. A negative record needs a pre-notice first
(:mod:`arrears.bureau.pre_notice`) and every record the borrower's consent: credit reporting's service checks
both before it emits one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from arrears.domain.engine import LoanReplay
from arrears.domain.events import LoanEvent, Payment, WriteOff
from arrears.domain.terms import LoanTerms
from arrears.money import format_minor

HISTORY_MONTHS = 24


@dataclass(frozen=True, slots=True)
class MonthEnd:
    """A loan at one month-end, after that day's day-end."""

    day: date
    days_past_due: int
    principal: int  # outstanding
    overdue: int  # due by then and unpaid, every component, less held credit
    settled: bool
    written_off: bool
    first_delinquency: date | None  # the day after the oldest unpaid due date, while past due
    last_payment: date | None
    overdue_principal: int = 0  # the principal part of ``overdue`` (before held credit)
    closed_on: date | None = None  # the day it was settled or written off
    plan: str | None = None  # a hardship plan in force (arrears.domain.engine.LoanReplay.plan_in_force)

    @property
    def balance(self) -> int:
        """What the borrower owes at the month-end: principal outstanding plus the interest, penalty and
        compound overdue (held credit netted)."""
        if self.settled:
            return 0
        return self.principal + max(self.overdue - self.overdue_principal, 0)


def month_ends(terms: LoanTerms, events: list[LoanEvent], through: date, *, ending_on: bool = False) -> list[MonthEnd]:
    """The loan at every month-end from the month it started to ``through`` (a month-end; with ``ending_on``, any
    day, whose own entry then comes last: what an event record on that day needs), from its events: the
    reference engine replayed from event date to event date and month-end to month-end (what a bureau record
    needs does not depend on accrual status, so no day-by-day day-end is run).

    The date of first delinquency is when the current run of days past due began: a partial payment that moves
    the oldest unpaid installment forward does not start a new run (re-aging a delinquency is what FCRA
    623(a)(5) forbids); only a day-end with nothing past due ends it. Between event dates nothing is paid, so a
    run can only end on an event date: those are the days checked, with every month-end."""
    replay = LoanReplay(terms)
    queue = sorted((e for e in events if e.value_date <= through), key=lambda e: e.value_date)
    payments = sorted(e.value_date for e in queue if isinstance(e, Payment))
    written = min((e.value_date for e in queue if isinstance(e, WriteOff)), default=None)
    run: date | None = None  # the first day of the current run of days past due

    def check() -> None:
        nonlocal run
        if replay.days_past_due() == 0:
            run = None
        elif run is None:
            oldest = replay.oldest_unpaid_due()
            run = oldest + timedelta(days=1) if oldest is not None else None

    found = []
    day = min(_month_end(terms.start), through) if ending_on else _month_end(terms.start)
    while day <= through:
        while queue and queue[0].value_date <= day:
            on = queue[0].value_date
            if on - timedelta(days=1) >= terms.start:
                replay.close_through(on - timedelta(days=1))
                check()  # the run as it stood before the day's payments
            while queue and queue[0].value_date == on:
                replay.apply(queue.pop(0))
            replay.close_through(on)
            check()
        replay.close_through(day)
        check()
        paid = [p for p in payments if p <= day]
        before = day - timedelta(days=1)  # an installment due on the month-end is due, not yet past due
        settled_on = replay.settled_on if replay.settled_on is not None and replay.settled_on <= day else None
        written_on = written if written is not None and written <= day else None
        found.append(
            MonthEnd(
                day=day,
                days_past_due=replay.days_past_due(),
                principal=replay.outstanding_principal(),
                overdue=replay.due_total(before),
                settled=settled_on is not None,
                written_off=written_on is not None,
                first_delinquency=run,
                last_payment=paid[-1] if paid else None,
                overdue_principal=sum(row[1] for row in replay.working_installments() if row[0] <= before),
                closed_on=settled_on or written_on,
                plan=replay.plan_in_force(day.toordinal()),
            )
        )
        if day == through:
            break
        day = _month_end(day + timedelta(days=1))
        if ending_on:
            day = min(day, through)
    return found


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """One account's record for one month-end (module docstring); amounts in minor units."""

    jurisdiction: str
    period: date
    loan: int
    borrower: int
    opened: date
    original_amount: int
    status: str
    payment_history: str  # 24 characters, the month-end before ``period`` first
    balance: int
    amount_past_due: int
    days_past_due: int
    first_delinquency: date | None
    closed: date | None
    last_payment: date | None
    negative: bool
    special_comment: str | None = None

    def as_json(self) -> dict[str, Any]:
        view = asdict(self)
        for key in ("period", "opened", "first_delinquency", "closed", "last_payment"):
            view[key] = view[key].isoformat() if view[key] else None
        for key in ("original_amount", "balance", "amount_past_due"):
            view[key] = format_minor(view[key])
        return view


SPECIAL_COMMENTS = {
    # Metro 2 special comment codes (CDIA Credit Reporting Resource Guide, as vendors' guides summarise it: S)
    "us": {"reschedule": "CO", "freeze": "CP", "settlement": "AC", "settled_for_less": "AU"},
    # our own codes for the cn file (S): the second-generation report's special transactions name these
    "cn": {
        "reschedule": "restructured",
        "freeze": "forbearance",
        "settlement": "settling",
        "settled_for_less": "settled_for_less",
    },
}
"""The special comment a record carries while a hardship plan is in force (loan modified, forbearance, paying
under a partial payment agreement) or after it settled the loan for less than the balance. A plan shows from its
month on; records reported before it are never changed by it."""


def us_status(month: MonthEnd) -> str:
    """The Metro 2 account status at a month-end.

    >>> [us_status(_at(dpd)) for dpd in (0, 29, 30, 60, 90, 120, 150, 180)]
    ['11', '11', '71', '78', '80', '82', '83', '84']
    """
    if month.written_off:
        return "97"
    if month.settled:
        return "13"
    for status, low in (("84", 180), ("83", 150), ("82", 120), ("80", 90), ("78", 60), ("71", 30)):
        if month.days_past_due >= low:
            return status
    return "11"


def us_history(month: MonthEnd | None) -> str:
    if month is None:
        return "B"
    if month.written_off:
        return "L"
    if month.settled:
        return "E"
    return str(min(month.days_past_due // 30, 6))


def cn_status(month: MonthEnd, grace_days: int) -> str:
    if month.written_off:
        return "written_off"
    if month.settled:
        return "settled"
    return "overdue" if month.days_past_due > grace_days else "normal"


def cn_history(month: MonthEnd | None, grace_days: int) -> str:
    """One character of the 24-month repayment string.

    >>> [cn_history(_at(dpd), 1) for dpd in (0, 1, 2, 30, 31, 180, 181)]
    ['N', 'N', '1', '1', '2', '6', '7']
    """
    if month is None:
        return "/"
    if month.written_off:
        return "B"
    if month.settled:
        return "C"
    if month.days_past_due <= grace_days:
        return "N"
    return str(min((month.days_past_due - 1) // 30 + 1, 7))


def account_record(
    jurisdiction: str,
    loan: int,
    borrower: int,
    terms: LoanTerms,
    history: list[MonthEnd],
    grace_days: int,
) -> AccountRecord:
    """The record for the last month-end of ``history`` (every month-end of the loan up to it, in order)."""
    month = history[-1]
    earlier = [*reversed(history[:-1])][:HISTORY_MONTHS]
    before: list[MonthEnd | None] = [*earlier, *[None] * (HISTORY_MONTHS - len(earlier))]
    if jurisdiction == "us":
        status = us_status(month)
        profile = "".join(us_history(m) for m in before)
        negative = status not in ("11", "13")
    else:
        status = cn_status(month, grace_days)
        profile = "".join(cn_history(m, grace_days) for m in before)
        negative = status in ("overdue", "written_off")
    closed = next((m.closed_on for m in history if m.closed_on is not None), None)
    return AccountRecord(
        jurisdiction=jurisdiction,
        period=month.day,
        loan=loan,
        borrower=borrower,
        opened=terms.start,
        original_amount=terms.principal,
        status=status,
        payment_history=profile,
        balance=month.balance,
        amount_past_due=month.overdue,
        days_past_due=month.days_past_due,
        first_delinquency=month.first_delinquency if negative else None,
        closed=closed,
        last_payment=month.last_payment,
        negative=negative,
        special_comment=SPECIAL_COMMENTS[jurisdiction].get(month.plan) if month.plan else None,
    )


def _at(days_past_due: int) -> MonthEnd:
    """A month-end with only its days past due (doctests)."""
    return MonthEnd(date(2026, 6, 30), days_past_due, 100, 0, False, False, None, None)


def retained(jurisdiction: str, record: AccountRecord) -> bool:
    """Whether negative information on the record may still be reported. China: 5 years from the day the default
    ended (征信业管理条例 art. 16: deleted then; a default still running has not ended). United States: 7 years
    from 180 days after the delinquency began (FCRA 605, S).

    >>> began = date(2024, 1, 1)  # + 180 days = 2024-06-29; + 7 years = 2031-06-29
    >>> retained("us", _record("us", date(2031, 5, 31), first_delinquency=began))
    True
    >>> retained("us", _record("us", date(2031, 6, 30), first_delinquency=began))
    False
    >>> retained("cn", _record("cn", date(2031, 5, 31), closed=date(2026, 6, 30)))
    True
    >>> retained("cn", _record("cn", date(2031, 6, 30), closed=date(2026, 6, 30)))
    False
    """
    if jurisdiction == "us":
        start = record.first_delinquency
        return start is None or record.period < _years_after(start + timedelta(days=180), 7)
    return record.closed is None or record.period < _years_after(record.closed, 5)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return date(day.year + years, 2, 28)


def _record(
    jurisdiction: str, period: date, *, first_delinquency: date | None = None, closed: date | None = None
) -> AccountRecord:
    """A negative record with only the dates retention looks at (doctests)."""
    status = "97" if jurisdiction == "us" else "written_off"
    return AccountRecord(
        jurisdiction,
        period,
        1,
        1,
        date(2023, 1, 1),
        100,
        status,
        "",
        100,
        100,
        400,
        first_delinquency,
        closed,
        None,
        True,
    )
