"""Acceleration and legal escalation: when a loan may be referred to court, what acceleration does, the life of a
court case, and the interest a judgment debtor owes for paying late. Pure functions; China pack first, the US
configurable. Tags as in shared/RULES.md: **V** read in the primary text, **S** secondary sources, **G** general
knowledge. Every S or G figure is a field of a rule with a documented default, never a constant.

**Limitation (诉讼时效).** 民法典 art. 188: three years (V). Art. 189: for a debt payable in instalments it runs
from the last instalment's due date (V; that it applies to loan instalments: G). Art. 195: a demand by the
creditor, the debtor's agreement to perform (a payment, an acknowledgement) or a suit interrupts it and it starts
again (V). After acceleration every instalment is due on the acceleration date, so the period for the whole debt
runs from then (G). :func:`limitation_start` puts these together; :func:`time_barred_on` gives the first day the
debt is time-barred. A court does not apply the limitation of its own motion (民法典 art. 193, G), but the
borrower may raise it, so a lender's policy never refers a time-barred debt (``cn.time_barred`` in
:mod:`arrears.collections.policy`). In the US a state statute sets the period (3..6 years for written contracts,
G) and Reg F 1006.26(b) bars suing on a time-barred debt (V): configure ``ReferralRule.limitation_years``.

**Referral (移交诉讼).** :func:`referral_refusals` lists every reason a loan may not be referred yet: too few days
past due (default 90, G), too little owed (default: anything above zero), a live hardship plan (协商还款) being
kept, or time-barred. An empty list means it may be referred.

**Acceleration (宣布提前到期).** :func:`acceleration_due` says when a product's acceleration clause may be used;
its docstring says what acceleration does to the debt.

**A court case.** :class:`LegalCase` moves referred -> filed -> judgment -> enforcement -> closed (withdrawn from
referred or filed; closed from any open step) by :func:`advance`, which refuses anything else with
:class:`CaseRefused`.

**Delay interest (迟延履行期间的债务利息).** 民事诉讼法 art. 264 (2023 numbering; art. 253 in the 2012/2017
numbering, art. 260 in 2021): a debtor who does not pay a money judgment by the deadline pays double interest for
the delay (V). The SPC 2014 interpretation (法释〔2014〕8号, in force 1 August 2014) fixes the extra part: the
unpaid money debt fixed by the judgment, other than its general interest, x 0.0175% a day x the days of delay
(art. 1), from the end of the performance period (art. 2) to the day of each payment (art. 3); a payment that does
not cover everything pays the judgment debt first and the delay interest after, unless the parties agreed
otherwise (art. 4) (V). :func:`delay_interest` computes it segment by segment
(:mod:`arrears.legal.judgment_interest`, re-exported here).

>>> delay_interest(1_000_000, date(2026, 3, 10), [], date(2026, 4, 9)).total  # 10,000.00 x 0.000175 x 30 days
5250
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from arrears.legal.judgment_interest import SPC_2014_DAILY_RATE as SPC_2014_DAILY_RATE
from arrears.legal.judgment_interest import SPC_2014_IN_FORCE as SPC_2014_IN_FORCE
from arrears.legal.judgment_interest import DelayInterest as DelayInterest
from arrears.legal.judgment_interest import DelaySegment as DelaySegment
from arrears.legal.judgment_interest import delay_interest as delay_interest
from arrears.legal.refusals import LegalRefused as LegalRefused
from arrears.legal.refusals import check_count as _check_count
from arrears.money import format_minor

# -- limitation ---------------------------------------------------------------------------------------------------

CN_LIMITATION_SOURCE: Final = "民法典 arts. 188, 189, 195 (V; 189 for loan instalments G)"
US_LIMITATION_SOURCE: Final = (
    "the state's statute of limitations, 3..6 years for written contracts (G); no suit on a time-barred debt, "
    "Reg F 1006.26(b) (V)"
)


class CaseRefused(LegalRefused):
    """A court-case step that may not happen (wrong order, a date before the previous step, missing details)."""


def time_barred_on(limitation_from: date, years: int) -> date:
    """The first day a debt is time-barred: ``years`` after ``limitation_from``, a 29 February start ending on
    28 February. The same day as :func:`arrears.collections.policy.time_barred_on` gives (that function could
    call this one with ``pack.limitation_years``), so the planner and the referral rule refuse on the same day.

    This is one day stricter than the civil code counts: the day of the event is not counted (民法典 art. 201),
    the period's last day is the anniversary (art. 202; no such day: the month's last day) and a last day on a
    public holiday moves to the next working day (art. 203) (G). Refusing from the anniversary keeps a referral
    on the safe side of all three.

    >>> time_barred_on(date(2024, 2, 29), 3), time_barred_on(date(2024, 3, 10), 3)
    (datetime.date(2027, 2, 28), datetime.date(2027, 3, 10))
    """
    if years < 1:
        raise LegalRefused(f"a limitation period is at least 1 year, got {years}")
    year = limitation_from.year + years
    try:
        return limitation_from.replace(year=year)
    except ValueError:  # 29 February into a common year
        return date(year, 2, 28)


def limitation_start(last_due: date, last_interruption: date | None = None, accelerated_on: date | None = None) -> date:
    """The day the limitation period of the whole debt runs from.

    ``last_due``: the last instalment's due date in the schedule (民法典 art. 189). ``accelerated_on``: the day an
    acceleration made the whole debt due; it only ever brings a due date forward, so the debt is due on the earlier
    of the two (G). ``last_interruption``: the last non-reversed payment or acknowledgement of the debt (art. 195
    (2)); a creditor's demand that provably reached the borrower interrupts too (art. 195 (1), V), but counting only
    payments and acknowledgements is the stricter choice, and the only one that also holds in US states. The later
    of the due day and the interruption wins.

    >>> limitation_start(date(2026, 12, 1), date(2026, 5, 3), accelerated_on=date(2026, 4, 30))
    datetime.date(2026, 5, 3)
    """
    due = last_due if accelerated_on is None else min(last_due, accelerated_on)
    return due if last_interruption is None else max(due, last_interruption)


# -- referral -----------------------------------------------------------------------------------------------------

DPD_BELOW_THRESHOLD: Final = "legal.dpd_below_threshold"
AMOUNT_BELOW_THRESHOLD: Final = "legal.amount_below_threshold"
NOTHING_OWED: Final = "legal.nothing_owed"
LIVE_HARDSHIP_PLAN: Final = "legal.live_hardship_plan"
TIME_BARRED: Final = "legal.time_barred"


@dataclass(frozen=True, slots=True)
class ReferralRule:
    """When a lender refers an overdue loan to court (its policy; the law sets only the limitation period).

    ``min_days_past_due``: default 90, the usual point where a loan is at least 次级 and collections turn to legal
    (G). ``min_amount_minor``: the least amount owed worth a suit, in minor units; default 0 (any amount; court
    fees and costs make a higher floor sensible, G). ``limitation_years``: 3 in China (民法典 art. 188, V); in the
    US the state's period (3 refuses first). ``limitation_source``: what a ``legal.time_barred`` refusal cites.
    """

    min_days_past_due: int = 90
    min_amount_minor: int = 0
    limitation_years: int = 3
    limitation_source: str = CN_LIMITATION_SOURCE

    def __post_init__(self) -> None:
        _check_count(self.min_days_past_due, "min_days_past_due")
        _check_count(self.min_amount_minor, "min_amount_minor")
        if _check_count(self.limitation_years, "limitation_years") < 1:
            raise LegalRefused("limitation_years must be at least 1 (China: 3, 民法典 art. 188)")


CN_REFERRAL: Final = ReferralRule()
US_REFERRAL: Final = ReferralRule(limitation_source=US_LIMITATION_SOURCE)  # set limitation_years to the state's


@dataclass(frozen=True, slots=True)
class ReferralFacts:
    """What the referral rule needs to know of one loan on ``as_of``. Amounts in minor units.

    The limitation period's start is derived (:attr:`limitation_from`), not passed in, because acceleration moves
    the due day but not an interruption: ``last_due`` (the schedule's last instalment), ``last_interruption`` (the
    last non-reversed payment or acknowledgement) and ``accelerated_on`` are kept apart (:func:`limitation_start`).
    """

    as_of: date
    days_past_due: int
    amount_owed: int
    live_hardship_plan: bool
    last_due: date
    last_interruption: date | None = None
    accelerated_on: date | None = None

    def __post_init__(self) -> None:
        _check_count(self.days_past_due, "days_past_due")
        _check_count(self.amount_owed, "amount_owed")
        for name, day in (("last_interruption", self.last_interruption), ("accelerated_on", self.accelerated_on)):
            if day is not None and day > self.as_of:
                raise LegalRefused(f"{name} {day} is after as_of {self.as_of}: facts are what is known on as_of")

    @property
    def limitation_from(self) -> date:
        return limitation_start(self.last_due, self.last_interruption, self.accelerated_on)


@dataclass(frozen=True, slots=True)
class Refusal:
    """One reason a loan may not be referred: the rule's code, why and what would change it, and the source."""

    code: str
    message: str
    source: str


def referral_refusals(rule: ReferralRule, facts: ReferralFacts) -> list[Refusal]:
    """Every reason the loan may not be referred to court on ``facts.as_of``; an empty list: it may be.

    All reasons are listed, not the first only, so an operator sees at once everything that stands in the way.

    >>> facts = ReferralFacts(date(2026, 6, 1), 91, 250_000, False, last_due=date(2026, 12, 1))
    >>> referral_refusals(CN_REFERRAL, facts)
    []
    >>> [r.code for r in referral_refusals(CN_REFERRAL, replace(facts, days_past_due=30, live_hardship_plan=True))]
    ['legal.dpd_below_threshold', 'legal.live_hardship_plan']
    """
    refusals: list[Refusal] = []
    if facts.days_past_due < rule.min_days_past_due:
        short = rule.min_days_past_due - facts.days_past_due
        refusals.append(
            Refusal(
                DPD_BELOW_THRESHOLD,
                f"the loan is {facts.days_past_due} days past due and referral needs at least "
                f"{rule.min_days_past_due}: if it stays unpaid it may be referred from "
                f"{facts.as_of + timedelta(days=short)}",
                "the lender's referral policy, ReferralRule.min_days_past_due (default 90, G)",
            )
        )
    if facts.amount_owed == 0:
        refusals.append(
            Refusal(NOTHING_OWED, "nothing is owed on the loan, so there is no claim to refer", "no debt, no claim")
        )
    elif facts.amount_owed < rule.min_amount_minor:
        refusals.append(
            Refusal(
                AMOUNT_BELOW_THRESHOLD,
                f"{format_minor(facts.amount_owed)} is owed and referral needs at least "
                f"{format_minor(rule.min_amount_minor)}: keep collecting, or lower ReferralRule.min_amount_minor",
                "the lender's referral policy, ReferralRule.min_amount_minor (default 0, G)",
            )
        )
    if facts.live_hardship_plan:
        refusals.append(
            Refusal(
                LIVE_HARDSHIP_PLAN,
                "the borrower has a live hardship plan (协商还款): while it is kept the loan is not referred; "
                "it may be once the plan is broken or cancelled",
                "the lender's hardship policy (G): an agreed plan replaces the old schedule while it is kept",
            )
        )
    start = facts.limitation_from
    barred = time_barred_on(start, rule.limitation_years)
    if facts.as_of >= barred:
        refusals.append(
            Refusal(
                TIME_BARRED,
                f"the {rule.limitation_years}-year limitation period ran from {start} and the debt is time-barred "
                f"since {barred}: only the borrower's agreement to pay it after all (China: 民法典 art. 192, G) or "
                f"facts showing a later payment or acknowledgement would allow a referral",
                rule.limitation_source,
            )
        )
    return refusals


# -- acceleration -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccelerationRule:
    """When the product's acceleration clause (加速到期条款) may be used: at ``min_days_past_due`` days past due
    (default 90, G) or at ``min_missed_installments`` missed instalments (default None: not used), whichever comes
    first. Both None: the product never accelerates."""

    min_days_past_due: int | None = 90
    min_missed_installments: int | None = None

    def __post_init__(self) -> None:
        if self.min_days_past_due is not None and _check_count(self.min_days_past_due, "min_days_past_due") < 1:
            raise LegalRefused("min_days_past_due must be at least 1 (or None to not use days past due)")
        if self.min_missed_installments is not None and (
            _check_count(self.min_missed_installments, "min_missed_installments") < 1
        ):
            raise LegalRefused("min_missed_installments must be at least 1 (or None to not count instalments)")


def acceleration_due(rule: AccelerationRule, days_past_due: int, missed_installments: int) -> bool:
    """Whether the loan has reached the point where the lender may declare the whole debt due (宣布提前到期).

    This says the threshold is met; the lender still decides, and declares it: acceleration is the lender's right
    under the contract's clause, and takes effect when the notice reaches the borrower (民法典 art. 137, G); the
    acceleration date is that day.

    What acceleration does (G; the engine implements it):

    - the whole outstanding principal, and the interest accrued to the acceleration date, fall due that day;
    - no contract interest accrues after it: penalty interest (罚息) runs on the whole overdue principal, and
      compound interest (复利) on unpaid interest where the product charges it (RULES.md: S/G);
    - the limitation period for the whole debt runs from the acceleration date, unless a later payment or
      acknowledgement interrupts it (:func:`limitation_start`).

    >>> rule = AccelerationRule(min_days_past_due=90, min_missed_installments=3)
    >>> acceleration_due(rule, 89, 2), acceleration_due(rule, 90, 0), acceleration_due(rule, 60, 3)
    (False, True, True)
    """
    _check_count(days_past_due, "days_past_due")
    _check_count(missed_installments, "missed_installments")
    by_days = rule.min_days_past_due is not None and days_past_due >= rule.min_days_past_due
    by_count = rule.min_missed_installments is not None and missed_installments >= rule.min_missed_installments
    return by_days or by_count


# -- the court case -----------------------------------------------------------------------------------------------


class CaseStatus(StrEnum):
    REFERRED = "referred"  # 移交诉讼: handed to the lawyers
    FILED = "filed"  # 立案: the court accepted the case and gave it a number
    JUDGMENT = "judgment"  # 判决 (or 调解书): amounts and a performance deadline fixed
    ENFORCEMENT = "enforcement"  # 申请执行: the deadline passed unpaid, the court enforces
    CLOSED = "closed"  # 结案: paid, settled, written off or ended
    WITHDRAWN = "withdrawn"  # 撤诉 / 撤回移交: dropped before a judgment


NEXT: Final[Mapping[CaseStatus, frozenset[CaseStatus]]] = {
    CaseStatus.REFERRED: frozenset({CaseStatus.FILED, CaseStatus.WITHDRAWN, CaseStatus.CLOSED}),
    CaseStatus.FILED: frozenset({CaseStatus.JUDGMENT, CaseStatus.WITHDRAWN, CaseStatus.CLOSED}),
    CaseStatus.JUDGMENT: frozenset({CaseStatus.ENFORCEMENT, CaseStatus.CLOSED}),
    CaseStatus.ENFORCEMENT: frozenset({CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
    CaseStatus.WITHDRAWN: frozenset(),
}
"""The steps a case may take from each status; closed and withdrawn are final."""

_DATE_FIELD: Final[Mapping[CaseStatus, str]] = {
    CaseStatus.REFERRED: "referred_on",
    CaseStatus.FILED: "filed_on",
    CaseStatus.JUDGMENT: "judgment_date",
    CaseStatus.ENFORCEMENT: "enforcement_on",
    CaseStatus.CLOSED: "closed_on",
    CaseStatus.WITHDRAWN: "withdrawn_on",
}

_JUDGMENT_AMOUNTS: Final = ("principal", "interest", "penalty", "costs")
_DETAILS: Final[Mapping[CaseStatus, frozenset[str]]] = {
    CaseStatus.FILED: frozenset({"case_number", "court"}),
    CaseStatus.JUDGMENT: frozenset({*_JUDGMENT_AMOUNTS, "pay_by"}),
    CaseStatus.ENFORCEMENT: frozenset({"enforcement_case_number"}),
    CaseStatus.CLOSED: frozenset(),
    CaseStatus.WITHDRAWN: frozenset(),
}


@dataclass(frozen=True, slots=True)
class LegalCase:
    """One loan's court case. Each step's date is set when the case takes it; the judgment's amounts (minor units)
    and its performance deadline ``pay_by`` (履行期限) when a judgment is recorded. Build one with :func:`refer`
    and move it with :func:`advance`."""

    id: int
    loan_id: int
    status: CaseStatus
    referred_on: date
    court: str | None = None
    case_number: str | None = None  # the trial case number, e.g. (2026)粤0305民初123号
    filed_on: date | None = None
    judgment_date: date | None = None
    judgment_principal: int | None = None
    judgment_interest: int | None = None
    judgment_penalty: int | None = None
    judgment_costs: int | None = None
    pay_by: date | None = None
    enforcement_case_number: str | None = None  # enforcement has its own number, e.g. (2026)粤0305执456号
    enforcement_on: date | None = None
    closed_on: date | None = None
    withdrawn_on: date | None = None

    @property
    def last_step_on(self) -> date:
        """The date of the latest step taken: the next one may not be earlier."""
        days = (self.referred_on, self.filed_on, self.judgment_date, self.enforcement_on)
        return max(d for d in (*days, self.closed_on, self.withdrawn_on) if d is not None)

    @property
    def judgment_debt(self) -> int | None:
        """Everything the judgment orders paid (principal + interest + penalty + costs), None before a judgment.

        The base of :func:`delay_interest` is this less the "general debt interest" that the SPC 2014
        interpretation art. 1 leaves out. Whether that excludes the judgment's interest and penalty (and whether
        costs count) is read differently by courts, so the caller chooses the base (G)."""
        parts = (self.judgment_principal, self.judgment_interest, self.judgment_penalty, self.judgment_costs)
        return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)


def refer(case_id: int, loan_id: int, on: date, court: str | None = None) -> LegalCase:
    """A new case, referred on ``on`` (check :func:`referral_refusals` first)."""
    return LegalCase(id=case_id, loan_id=loan_id, status=CaseStatus.REFERRED, referred_on=on, court=court)


def _text(details: Mapping[str, object], name: str, *, required: bool) -> str | None:
    value = details.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CaseRefused(f"{name} must be given as non-empty text, got {value!r}")
    return value.strip()


def advance(case: LegalCase, to: CaseStatus, on: date, **details: object) -> LegalCase:
    """The case after it takes the step ``to`` on ``on``, or :class:`CaseRefused` saying why it may not.

    Rules: only the steps in :data:`NEXT` (never backwards, never skipping filing or judgment); ``on`` not before
    the previous step; to file, a ``case_number`` and a court (``court`` here, or already on the case); a judgment
    needs ``principal``, ``interest``, ``penalty`` and ``costs`` (minor units, at least 0, not all 0: a claim
    dismissed is closed, not judged) and ``pay_by`` on or after the judgment date; enforcement may be applied for
    only after ``pay_by`` has passed unpaid; ``enforcement_case_number`` is optional. Any other detail is refused.

    >>> case = advance(refer(1, 7, date(2026, 6, 1)), CaseStatus.FILED, date(2026, 6, 20),
    ...                case_number="(2026)粤0305民初123号", court="深圳市南山区人民法院")
    >>> case.status, case.filed_on
    (<CaseStatus.FILED: 'filed'>, datetime.date(2026, 6, 20))
    >>> try:
    ...     advance(case, CaseStatus.REFERRED, date(2026, 6, 21))
    ... except CaseRefused as refused:
    ...     print(refused)
    case 1 is filed and cannot become referred; from filed it can become: closed, judgment, withdrawn
    """
    try:
        to = CaseStatus(to)
    except ValueError:
        raise CaseRefused(f"unknown case status {to!r}; use one of {', '.join(s.value for s in CaseStatus)}") from None
    allowed = NEXT[case.status]
    if to not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "nothing (it is final)"
        raise CaseRefused(
            f"case {case.id} is {case.status} and cannot become {to}; from {case.status} it can become: {options}"
        )
    if on < case.last_step_on:
        raise CaseRefused(
            f"case {case.id} cannot become {to} on {on}: its previous step was on {case.last_step_on}; a step is "
            "dated on or after the one before"
        )
    unknown = sorted(set(details) - _DETAILS[to])
    if unknown:
        expected = ", ".join(sorted(_DETAILS[to])) or "none"
        raise CaseRefused(f"details {', '.join(unknown)} do not belong to the step {to}; it takes: {expected}")
    changes: dict[str, object] = {"status": to, _DATE_FIELD[to]: on}
    if to is CaseStatus.FILED:
        changes["case_number"] = _text(details, "case_number", required=True)
        court = _text(details, "court", required=case.court is None)
        if court is not None:
            changes["court"] = court
    elif to is CaseStatus.JUDGMENT:
        missing = [name for name in (*_JUDGMENT_AMOUNTS, "pay_by") if name not in details]
        if missing:
            raise CaseRefused(f"a judgment needs {', '.join(missing)} (amounts in minor units; pay_by a date)")
        amounts = {name: _check_case_amount(details[name], name) for name in _JUDGMENT_AMOUNTS}
        if sum(amounts.values()) == 0:
            raise CaseRefused("a judgment that awards nothing is not recorded as a judgment: close the case instead")
        pay_by = details["pay_by"]
        if not isinstance(pay_by, date) or pay_by < on:
            raise CaseRefused(
                f"pay_by (the performance deadline) must be a date on or after the judgment date {on}, got {pay_by!r}"
            )
        changes.update({f"judgment_{name}": value for name, value in amounts.items()}, pay_by=pay_by)
    elif to is CaseStatus.ENFORCEMENT:
        if case.pay_by is not None and on <= case.pay_by:
            raise CaseRefused(
                f"enforcement may be applied for only once the performance deadline {case.pay_by} has passed "
                f"unpaid (民事诉讼法 art. 247, 2023 numbering, G): from {case.pay_by + timedelta(days=1)}"
            )
        number = _text(details, "enforcement_case_number", required=False)
        if number is not None:
            changes["enforcement_case_number"] = number
    return replace(case, **changes)  # type: ignore[arg-type]


def _check_case_amount(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CaseRefused(f"the judgment's {name} must be a whole number of minor units at least 0, got {value!r}")
    return value
