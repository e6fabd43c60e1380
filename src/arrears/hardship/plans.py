"""Hardship and negotiation (协商还款 / 个性化分期): what a plan offers, who may grant it, and what it posts.

A borrower who cannot pay asks for help (a **request**); a collector or supervisor **proposes** a plan; someone
else **approves** it (maker-checker: the one who proposes never approves, 四眼原则), within the amount their role
may grant; the approval posts the plan's events on the loan, dated the day it is approved. A plan offers any of:

- **reschedule**: what is overdue (principal, interest, penalty and compound) carried into ``installments``
  new monthly installments from ``first_due`` (:class:`arrears.domain.engine.Reschedule`: no new interest on it);
- **penalty waiver** (减免罚息): the penalty and compound owed on the day, forgiven
  (:class:`arrears.domain.engine.Waiver`);
- **charge freeze** (停息): no penalty or compound for ``freeze_days`` days
  (:class:`arrears.domain.engine.ChargeFreeze`);
- **settlement at a discount** (折扣结清): pay ``settlement_amount`` within ``settlement_days`` days and the rest
  is forgiven (:class:`arrears.domain.engine.Settlement`); miss it and nothing is.

A plan never rewrites history: the events are dated the approval day, so past days past due, classes and credit
records stay as they were; the plan shows from its date on (the engine's replay), the loan is held at least
special-mention during the observation period (:class:`arrears.day_end.reference.DayEndPolicy`), and credit reporting
marks its records with the bureau's special comment for a plan.

The limits below are the lender's policy, not law (shared/RULES.md has no rule on them): configure them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from arrears.domain.dates import add_months
from arrears.domain.engine import LoanReplay
from arrears.domain.events import ChargeFreeze, LoanEvent, Reschedule, Settlement, Waiver
from arrears.domain.payoff import payoff_of
from arrears.domain.terms import Component
from arrears.errors import InputRejected
from arrears.money import format_minor


class PlanRefused(InputRejected):
    """A plan, or an approval, that the rules do not allow; the message names the rule."""


@dataclass(frozen=True, slots=True)
class HardshipPolicy:
    """The lender's limits on plans (policy [G]: configure them)."""

    max_installments: int = 12
    """At most this many new installments in a reschedule."""
    max_first_due_days: int = 62
    """The first new installment falls due within this many days of the plan."""
    max_freeze_days: int = 180
    min_settlement_share: Decimal = Decimal("0.5")
    """A settlement must pay at least this share of what is owed on the day (everything due, the principal not
    yet due and the current interest)."""
    max_settlement_days: int = 90
    approval_limits: dict[str, int | None] = field(
        default_factory=lambda: {"supervisor": 500_000, "admin": None}  # 5,000.00; None: no limit
    )
    """The largest concession (amount forgiven or waived) each role may approve; a role not named may not
    approve at all."""


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """What a plan offers (see the module docstring); at least one part."""

    installments: int | None = None
    first_due: date | None = None
    waive_penalty: bool = False
    freeze_days: int | None = None
    settlement_amount: int | None = None
    settlement_days: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "installments": self.installments,
            "first_due": self.first_due.isoformat() if self.first_due else None,
            "waive_penalty": self.waive_penalty,
            "freeze_days": self.freeze_days,
            "settlement_amount": format_minor(self.settlement_amount) if self.settlement_amount is not None else None,
            "settlement_days": self.settlement_days,
        }


@dataclass(frozen=True, slots=True)
class LoanFacts:
    """What the rules need to know of the loan on the plan's day (from its replay)."""

    days_past_due: int
    overdue: int
    """Everything unpaid on installments due before the day (all components)."""
    penalty_owed: int
    compound_owed: int
    payoff: int
    """What settles the loan in full on the day."""
    written_off: bool = False
    settled: bool = False
    live_plan: bool = False
    """Another plan is approved and still running (its installments unpaid, or its settlement not yet due)."""


def check_terms(terms: PlanTerms, facts: LoanFacts, on: date, policy: HardshipPolicy) -> None:
    """Refuse (:class:`PlanRefused`, naming the rule) a plan the loan or the policy does not allow."""
    if facts.settled or facts.written_off:
        state = "repaid" if facts.settled else "written off"
        raise PlanRefused(f"hardship.loan_closed: the loan is {state}; there is nothing to negotiate")
    if facts.live_plan:
        raise PlanRefused("hardship.one_plan_at_a_time: another plan is running on this loan; let it end first")
    parts = (terms.installments, terms.freeze_days, terms.settlement_amount)
    if not terms.waive_penalty and all(part is None for part in parts):
        raise PlanRefused(
            "hardship.empty_plan: a plan must offer something: installments, a penalty waiver, a freeze or a settlement"
        )
    arrears_only = terms.installments is not None or terms.settlement_amount is not None
    if arrears_only and (facts.days_past_due < 1 or facts.overdue <= 0):
        raise PlanRefused(
            "hardship.nothing_overdue: a reschedule or a settlement is for a loan in arrears; this one has "
            "nothing overdue"
        )
    if terms.installments is not None and terms.settlement_amount is not None:
        raise PlanRefused("hardship.settle_or_reschedule: a plan either reschedules or settles, not both")
    if terms.installments is not None:
        _check_reschedule(terms, on, policy)
    if terms.freeze_days is not None and not 1 <= terms.freeze_days <= policy.max_freeze_days:
        raise PlanRefused(
            f"hardship.freeze_days: a freeze lasts 1 to {policy.max_freeze_days} days, not {terms.freeze_days}"
        )
    if terms.waive_penalty and not (facts.penalty_owed or facts.compound_owed):
        raise PlanRefused("hardship.nothing_to_waive: no penalty or compound is owed today; drop the waiver")
    if terms.settlement_amount is not None:
        _check_settlement(terms, facts, policy)


def _check_reschedule(terms: PlanTerms, on: date, policy: HardshipPolicy) -> None:
    count = terms.installments
    assert count is not None
    if not 1 <= count <= policy.max_installments:
        raise PlanRefused(
            f"hardship.installments: a reschedule has 1 to {policy.max_installments} installments, not {count}"
        )
    first = terms.first_due
    if first is None or not on < first <= on + timedelta(days=policy.max_first_due_days):
        raise PlanRefused(
            f"hardship.first_due: the first new installment must fall due after {on} and within "
            f"{policy.max_first_due_days} days of it, got {first}"
        )


def _check_settlement(terms: PlanTerms, facts: LoanFacts, policy: HardshipPolicy) -> None:
    amount, days = terms.settlement_amount, terms.settlement_days
    assert amount is not None
    floor = int((facts.payoff * policy.min_settlement_share).to_integral_value(rounding="ROUND_CEILING"))
    if not floor <= amount < facts.payoff:
        raise PlanRefused(
            f"hardship.settlement_amount: a settlement is at least {format_minor(floor)} "
            f"({policy.min_settlement_share:.0%} of the {format_minor(facts.payoff)} owed) and less than all of it, "
            f"not {format_minor(amount)}"
        )
    if days is None or not 1 <= days <= policy.max_settlement_days:
        raise PlanRefused(
            f"hardship.settlement_days: a settlement is paid within 1 to {policy.max_settlement_days} days, not {days}"
        )


def concession(terms: PlanTerms, facts: LoanFacts, payoff_at_deadline: int | None = None) -> int:
    """What the plan forgives at most, in minor units: the penalty and compound waived, and a settlement's
    discount: what would be owed on its last day (``payoff_at_deadline``: nothing paid meanwhile, penalty and
    interest running on; today's payoff if not given) less the amount agreed. What an approver's role limit is
    compared with (a freeze forgives charges not yet made, and is counted at nothing; a reschedule forgives
    nothing)."""
    waived = facts.penalty_owed + facts.compound_owed if terms.waive_penalty else 0
    owed = facts.payoff if payoff_at_deadline is None else payoff_at_deadline
    discount = owed - terms.settlement_amount if terms.settlement_amount is not None else 0
    return waived + discount


def person(name: str) -> str:
    """A name as maker-checker compares it: Unicode NFKC (full-width and composed forms folded), invisible
    format characters (zero-width spaces) dropped, runs of spaces collapsed, case folded. "Li Wei", " ｌｉ  wei"
    and "li\u200bwei" are one person here; a name with nothing left is no name."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", name) if unicodedata.category(ch) != "Cf")
    return " ".join(text.split()).casefold()


def check_approval(maker: str, checker: str, role: str, amount: int, policy: HardshipPolicy) -> None:
    """Maker-checker: the one who proposed a plan never approves it (names compared by :func:`person`), and an
    approver grants no more than their role's limit (:attr:`HardshipPolicy.approval_limits`)."""
    if not person(checker):
        raise PlanRefused("hardship.checker_required: an approval needs the approver's name")
    if person(checker) == person(maker):
        raise PlanRefused(f"hardship.maker_checker: {checker} proposed this plan and cannot also approve it")
    if role not in policy.approval_limits:
        allowed = ", ".join(sorted(policy.approval_limits))
        raise PlanRefused(f"hardship.approver_role: the {role} role may not approve plans (roles that may: {allowed})")
    limit = policy.approval_limits[role]
    if limit is not None and amount > limit:
        raise PlanRefused(
            f"hardship.approval_limit: this plan forgives {format_minor(amount)}, above the {role} limit of "
            f"{format_minor(limit)}; ask a role with a higher limit"
        )


def plan_events(terms: PlanTerms, facts: LoanFacts, on: date) -> list[LoanEvent]:
    """The events the approved plan posts, dated ``on``, in the order they apply: the waiver first (so that a
    reschedule carries what is left), then the freeze, then the reschedule or the settlement."""
    events: list[LoanEvent] = []
    if terms.waive_penalty:
        owed = ((Component.PENALTY, facts.penalty_owed), (Component.COMPOUND, facts.compound_owed))
        events += [Waiver(on, component, amount) for component, amount in owed if amount]
    if terms.freeze_days is not None:
        events.append(ChargeFreeze(on, on + timedelta(days=terms.freeze_days - 1)))
    if terms.installments is not None and terms.first_due is not None:
        dues = tuple(add_months(terms.first_due, k) for k in range(terms.installments))
        events.append(Reschedule(on, dues))
    if terms.settlement_amount is not None and terms.settlement_days is not None:
        events.append(Settlement(on, terms.settlement_amount, on + timedelta(days=terms.settlement_days - 1)))
    return events


def facts_of(replay: LoanReplay, on: date) -> LoanFacts:
    """The facts the rules need, from a replay positioned during ``on`` (its day-ends through the day before run,
    the events of the day so far applied)."""
    day = on.toordinal()
    state = replay.state()
    due = [row for row in state.installments if row.due_date <= on]
    quote = payoff_of(replay, on)
    return LoanFacts(
        days_past_due=replay.days_past_due(),
        overdue=sum(row.total for row in due if row.due_date < on),
        penalty_owed=sum(row.penalty for row in due),
        compound_owed=sum(row.compound for row in due),
        payoff=quote.total,
        written_off=replay.write_off is not None,
        settled=replay.settled_on is not None,
        live_plan=replay.plan_running(day),
    )
