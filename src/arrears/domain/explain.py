"""Every amount a loan owes, explained line by line (``arrears explain``): the borrower's "why 1.90?".

The explanation replays the loan with the engine's journal on (:attr:`arrears.domain.engine.LoanReplay.journal`), so
its lines are the engine's own arithmetic, not a second calculation that could drift from it:

- **interest**, per installment billed by the date: the period's balance x daily rate x days (basis ``actual``)
  or balance x daily rate x 30 (basis ``period``), exact, then rounded once (:mod:`arrears.domain.schedule`); for a loan
  settled early, the interest for the actual days on the principal not yet due (民法典 art. 677);
- **penalty** (罚息) and **compound** (复利), per installment and per day-end: the unpaid principal (or interest)
  it was charged on, the penalty rate (daily rate x multiplier: 银发〔2003〕251号 allows +30%..50%), the exact
  product and its rounding; charges held back in grace, and what became of them (charged at the grace end, or
  dropped because the installment was paid in full in time).

For each installment and component: ``charged`` (the sum of its lines' amounts), ``paid_or_waived`` (charged
minus owed) and ``owed`` (what ``loan show`` shows for that installment after day-end ``as_of``). A component
with no lines is left out (an installment paid on time has no penalty), and an installment with none at all:
a reader asks for the components present (the pages: ``web/templates/_explanation.html.j2``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from arrears.domain.engine import replay_events
from arrears.domain.events import LoanEvent
from arrears.domain.journal import Accelerated, Carried, DailyCharge, EarlySettlement, GraceOutcome, JournalEntry
from arrears.domain.loan_state import InstallmentState, LoanState
from arrears.domain.schedule import PERIOD_DAYS, ScheduledInstallment, build_schedule
from arrears.domain.terms import InterestBasis, LoanTerms
from arrears.errors import InputRejected
from arrears.money import format_minor, rate_fraction

LANGUAGES = ("zh-CN", "en-US")

_TEXT = {
    "en-US": {
        "interest": "Interest for {start}..{due}: {base} x {rate} a day x {days} days = {exact}, rounded {rounding} "
        "to {amount}",
        "interest_period": "Interest for the period to {due}: {base} x {rate} a day x 30 = {exact}, rounded "
        "{rounding} to {amount}",
        "settlement": "Settled early on {day}: interest for the {days} days since {since} on the {base} not yet due: "
        "{base} x {rate} x {days} = {exact}, rounded {rounding} to {amount} (Civil Code art. 677)",
        "penalty": "Day-end {day}: penalty on unpaid principal {base} x {rate} a day = {exact}, rounded {rounding} "
        "to {amount}{held}",
        "compound": "Day-end {day}: compound on unpaid interest {base} x {rate} a day = {exact}, rounded {rounding} "
        "to {amount}{held}",
        "held": " (held back: grace period)",
        "released": "Grace ended {day} with the installment unpaid: the {amount} held back is charged",
        "dropped": "Paid in full within grace by {day}: the {amount} held back is dropped",
        "carried_in": "Hardship plan of {day}: {amount} of older installments' {component} carried into this one",
        "carried_out": "Hardship plan of {day}: the {amount} unpaid moved to the plan's installments",
        "accelerated": "Accelerated on {day}: interest for the {days} days since {since} on the {base} not yet due: "
        "{base} x {rate} x {days} = {exact}, rounded {rounding} to {amount}; none for later periods (Civil Code "
        "art. 677)",
    },
    "zh-CN": {
        "interest": "{start}至{due}的利息：{base} × 日利率{rate} × {days}天 = {exact}，{rounding}后为{amount}",
        "interest_period": "至{due}一期的利息：{base} × 日利率{rate} × 30 = {exact}，{rounding}后为{amount}",
        "settlement": "{day}提前结清：自{since}起{days}天、未到期本金{base}的利息：{base} × {rate} × {days} = {exact}，"
        "{rounding}后为{amount}（民法典第677条）",
        "penalty": "{day}日终：逾期本金{base} × 罚息日利率{rate} = {exact}，{rounding}后为{amount}{held}",
        "compound": "{day}日终：逾期利息{base} × 罚息日利率{rate} = {exact}，{rounding}后为{amount}{held}",
        "held": "（宽限期内，暂不收取）",
        "released": "{day}宽限期结束仍未还清：暂缓的{amount}计入",
        "dropped": "{day}前在宽限期内还清：暂缓的{amount}免收",
        "carried_in": "{day}协商还款方案：原分期未还的{component}{amount}转入本期",
        "carried_out": "{day}协商还款方案：未还的{amount}转入方案的新分期",
        "accelerated": "{day}宣布提前到期：自{since}起{days}天、未到期本金{base}的利息：{base} × {rate} × {days} = "
        "{exact}，{rounding}后为{amount}；以后各期不计利息（民法典第677条）",
    },
}
_COMPONENT_NAMES = {
    "en-US": {"interest": "interest", "penalty": "penalty", "compound": "compound"},
    "zh-CN": {"interest": "利息", "penalty": "罚息", "compound": "复利"},
}
_ROUNDING = {
    "en-US": {"half-up": "half up", "half-even": "half to even"},
    "zh-CN": {"half-up": "四舍五入", "half-even": "四舍六入五成双"},
}
_RULES = {
    "interest": ("interest.period", "the contract: balance x daily rate x days (shared/RULES.md)"),
    "settlement": ("interest.early_settlement", "民法典 art. 677: interest for the actual period"),
    "accelerated": ("interest.acceleration", "the contract's acceleration clause; 民法典 art. 677"),
    "carried": ("hardship.reschedule", "a hardship plan approved by maker and checker (arrears.hardship.plans)"),
    "penalty": ("penalty.rate", "the contract: daily rate x multiplier on overdue principal (银发〔2003〕251号)"),
    "compound": ("compound.rate", "the contract: overdue interest at the penalty rate (银发〔2003〕251号)"),
}


def _decimal(value: Fraction) -> str:
    """An exact fraction with a terminating decimal expansion, every digit shown (1.875, 0.00075)."""
    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _values(base: int, rate: Fraction, exact_minor: Fraction, amount: int) -> dict[str, str]:
    """The figures a line shows: money in yuan, the rate per day, the exact product before its rounding."""
    return {
        "base": format_minor(base),
        "rate": _decimal(rate),
        "exact": _decimal(exact_minor / 100),
        "amount": format_minor(amount),
    }


def _line(kind: str, rule: str, sentence: str, charged: int, day: date, **figures: Any) -> dict[str, Any]:
    name, source = _RULES[rule]
    return {
        "kind": kind,
        "day": day.isoformat(),
        **figures,
        "charged": charged,
        "rule": name,
        "source": source,
        "text": sentence,
    }


@dataclass(frozen=True, slots=True)
class _Wording:
    """What every line of one explanation is written with: the language's sentences and the loan's rates."""

    lang: str
    text: dict[str, str]
    rounding: str
    daily: Fraction
    penalty_rate: Fraction


Lines = dict[str, list[dict[str, Any]]]


def explain(
    terms: LoanTerms, events: Iterable[LoanEvent], as_of: date, *, loan: str, lang: str = "zh-CN"
) -> dict[str, Any]:
    """The explanation of every interest, penalty and compound amount of the loan after day-end ``as_of``."""
    if lang not in LANGUAGES:
        raise InputRejected(f"--lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    if as_of < terms.start:
        raise InputRejected(f"{as_of} is before the loan started on {terms.start}; pick a later date")
    state, journal = _replay_with_journal(terms, events, as_of)
    wording = _Wording(
        lang,
        _TEXT[lang],
        _ROUNDING[lang][terms.rounding.value],
        rate_fraction(terms.daily_rate),
        rate_fraction(terms.penalty_daily_rate),
    )
    ended = next((entry for entry in journal if isinstance(entry, EarlySettlement | Accelerated)), None)
    schedule = build_schedule(terms)
    first_future = next((row.number for row in schedule if row.due_date > ended.day), None) if ended else None
    now_of = {row.number: row for row in state.installments}
    installments = []
    start = terms.start
    rows: list[ScheduledInstallment | InstallmentState] = [*schedule]
    rows += [row for row in state.installments if row.carried]  # a hardship plan's installments, after the contract's
    for row in rows:
        lines: Lines = {"interest": [], "penalty": [], "compound": []}
        if isinstance(row, ScheduledInstallment):  # a plan's installment has no contract interest, only what it carried
            lines["interest"] += _interest_lines(wording, terms, row, start, as_of, ended, first_future)
            start = row.due_date
        _journal_lines(wording, journal, row.number, lines)
        components = _components(lines, now_of[row.number])
        if components:
            installments.append({"number": row.number, "due_date": row.due_date.isoformat(), **components})
    return {
        "loan": loan,
        "as_of": as_of.isoformat(),
        "lang": lang,
        "installments": installments,
        "owed": {
            # billed interest: what is due, and what a plan carried (billed before it moved)
            "interest": format_minor(sum(i.interest for i in state.installments if i.due_date <= as_of or i.carried)),
            "penalty": format_minor(sum(i.penalty for i in state.installments)),
            "compound": format_minor(sum(i.compound for i in state.installments)),
        },
        "waived": {component.value: format_minor(amount) for component, amount in state.waived.items() if amount},
    }


def _replay_with_journal(
    terms: LoanTerms, events: Iterable[LoanEvent], as_of: date
) -> tuple[LoanState, list[JournalEntry]]:
    """The loan after day-end ``as_of``, replayed with the engine's journal on: every amount it moved, in order."""
    replayed = replay_events(terms, [], as_of)
    journal: list[JournalEntry] = []
    replayed.journal = journal
    for event in sorted(events, key=lambda e: e.value_date):
        if event.value_date <= as_of:
            replayed.apply(event)
    replayed.close_through(as_of)
    return replayed.state(), journal


def _interest_lines(
    wording: _Wording,
    terms: LoanTerms,
    row: ScheduledInstallment,
    start: date,
    as_of: date,
    ended: EarlySettlement | Accelerated | None,
    first_future: int | None,
) -> list[dict[str, Any]]:
    """The contract interest of one scheduled installment: the period's interest once billed, or, on the first
    installment not yet due when the loan was settled early or accelerated, the interest of the actual days."""
    text, rounding, daily = wording.text, wording.rounding, wording.daily
    if ended is not None and row.number == first_future:
        settled = isinstance(ended, EarlySettlement)
        kind, key = ("early_settlement", "settlement") if settled else ("acceleration", "accelerated")
        days = (ended.day - ended.since).days
        exact = ended.principal * daily * days
        figures = _values(ended.principal, daily, exact, ended.interest)
        sentence = text[key].format(day=ended.day, since=ended.since, days=days, rounding=rounding, **figures)
        return [_line(kind, key, sentence, ended.interest, ended.day, **figures)]
    if row.due_date <= as_of and row.interest and (ended is None or row.due_date <= ended.day):
        days = PERIOD_DAYS if terms.interest_basis is InterestBasis.PERIOD else row.days
        figures = _values(row.opening_balance, daily, row.opening_balance * daily * days, row.interest)
        template = "interest_period" if terms.interest_basis is InterestBasis.PERIOD else "interest"
        sentence = text[template].format(start=start, due=row.due_date, days=days, rounding=rounding, **figures)
        return [_line("period_interest", "interest", sentence, row.interest, row.due_date, **figures)]
    return []


def _journal_lines(wording: _Wording, journal: list[JournalEntry], number: int, lines: Lines) -> None:
    """Add to ``lines`` what the journal moved on installment ``number``, in the journal's order."""
    for entry in journal:
        if isinstance(entry, Carried) and entry.number == number:
            _carried_lines(wording, entry, lines)
        elif isinstance(entry, DailyCharge) and entry.number == number:
            _charge_lines(wording, entry, lines)
        elif isinstance(entry, GraceOutcome) and entry.number == number:
            _grace_lines(wording, entry, lines)


def _carried_lines(wording: _Wording, entry: Carried, lines: Lines) -> None:
    """A hardship plan's reschedule: what it carried into this installment, or out of it."""
    moved = (("interest", entry.interest), ("penalty", entry.penalty), ("compound", entry.compound))
    for component, amount in moved:
        if amount:
            name = _COMPONENT_NAMES[wording.lang][component]
            key = "carried_in" if entry.into else "carried_out"
            sentence = wording.text[key].format(day=entry.day, amount=format_minor(amount), component=name)
            charged = amount if entry.into else -amount
            lines[component].append(_line(key, "carried", sentence, charged, entry.day, amount=format_minor(amount)))


def _charge_lines(wording: _Wording, entry: DailyCharge, lines: Lines) -> None:
    """One day-end's penalty and compound on the installment: charged, or held back in grace."""
    penalty_rate = wording.penalty_rate
    for component, base, amount in (
        ("penalty", entry.principal, entry.penalty),
        ("compound", entry.interest, entry.compound),
    ):
        if amount:
            figures = _values(base, penalty_rate, base * penalty_rate, amount)
            sentence = wording.text[component].format(
                day=entry.day, rounding=wording.rounding, held=wording.text["held"] if entry.held else "", **figures
            )
            kind = "held_in_grace" if entry.held else "daily_charge"
            charged = 0 if entry.held else amount  # held amounts count when the grace end charges them
            lines[component].append(_line(kind, component, sentence, charged, entry.day, **figures))


def _grace_lines(wording: _Wording, entry: GraceOutcome, lines: Lines) -> None:
    """What became of the charges held in grace: charged at the grace end, or dropped."""
    for component, amount in (("penalty", entry.penalty), ("compound", entry.compound)):
        if amount:
            key = "released" if entry.charged else "dropped"
            sentence = wording.text[key].format(day=entry.day, amount=format_minor(amount))
            kind = "released_at_grace_end" if entry.charged else "dropped_in_grace"
            charged = amount if entry.charged else 0
            lines[component].append(_line(kind, component, sentence, charged, entry.day, amount=format_minor(amount)))


def _components(lines: Lines, now: InstallmentState) -> dict[str, Any]:
    """Each component with lines: its lines, what they charged, what was paid or waived, and what is owed."""
    owed = {"interest": now.interest, "penalty": now.penalty, "compound": now.compound}
    components = {}
    for component, found in lines.items():
        if found:
            charged = sum(line["charged"] for line in found)
            components[component] = {
                "lines": [{**line, "charged": format_minor(line["charged"])} for line in found],
                "charged": format_minor(charged),
                "paid_or_waived": format_minor(charged - owed[component]),
                "owed": format_minor(owed[component]),
            }
    return components
