"""The hardship rules (arrears.hardship.plans): what a plan may offer, maker-checker, role limits, the events it
posts."""

from __future__ import annotations

from datetime import date

import pytest

from arrears.domain.engine import ChargeFreeze, Reschedule, Settlement, Waiver
from arrears.domain.terms import Component
from arrears.hardship.plans import (
    HardshipPolicy,
    LoanFacts,
    PlanRefused,
    PlanTerms,
    check_approval,
    check_terms,
    concession,
    plan_events,
)

ON = date(2026, 6, 26)
POLICY = HardshipPolicy()
FACTS = LoanFacts(days_past_due=11, overdue=54285, penalty_owed=380, compound_owed=30, payoff=254685)


def test_a_reschedule_with_a_waiver_posts_the_waivers_first_then_monthly_installments() -> None:
    terms = PlanTerms(installments=3, first_due=date(2026, 7, 31), waive_penalty=True)
    check_terms(terms, FACTS, ON, POLICY)
    assert plan_events(terms, FACTS, ON) == [
        Waiver(ON, Component.PENALTY, 380),
        Waiver(ON, Component.COMPOUND, 30),
        Reschedule(ON, (date(2026, 7, 31), date(2026, 8, 31), date(2026, 9, 30))),  # month-ends clamp
    ]
    assert concession(terms, FACTS) == 410


def test_a_freeze_covers_its_days_and_a_settlement_its_window() -> None:
    assert plan_events(PlanTerms(freeze_days=30), FACTS, ON) == [ChargeFreeze(ON, date(2026, 7, 25))]
    settle = PlanTerms(settlement_amount=200_000, settlement_days=10)
    assert plan_events(settle, FACTS, ON) == [Settlement(ON, 200_000, date(2026, 7, 5))]
    assert concession(settle, FACTS) == 254685 - 200_000


@pytest.mark.parametrize(
    ("terms", "facts", "rule"),
    [
        (PlanTerms(), FACTS, "hardship.empty_plan"),
        (PlanTerms(installments=13, first_due=date(2026, 7, 26)), FACTS, "hardship.installments"),
        (PlanTerms(installments=0, first_due=date(2026, 7, 26)), FACTS, "hardship.installments"),
        (PlanTerms(installments=3, first_due=ON), FACTS, "hardship.first_due"),
        (PlanTerms(installments=3, first_due=date(2026, 8, 28)), FACTS, "hardship.first_due"),  # 63 days
        (PlanTerms(installments=3), FACTS, "hardship.first_due"),
        (PlanTerms(freeze_days=181), FACTS, "hardship.freeze_days"),
        (PlanTerms(settlement_amount=127342, settlement_days=10), FACTS, "hardship.settlement_amount"),  # < 50%
        (PlanTerms(settlement_amount=254685, settlement_days=10), FACTS, "hardship.settlement_amount"),  # all of it
        (PlanTerms(settlement_amount=200_000, settlement_days=91), FACTS, "hardship.settlement_days"),
        (PlanTerms(settlement_amount=200_000), FACTS, "hardship.settlement_days"),
        (
            PlanTerms(installments=3, first_due=date(2026, 7, 26), settlement_amount=200_000, settlement_days=5),
            FACTS,
            "hardship.settle_or_reschedule",
        ),
        (
            PlanTerms(installments=3, first_due=date(2026, 7, 26)),
            LoanFacts(0, 0, 0, 0, 200_000),
            "hardship.nothing_overdue",
        ),
        (PlanTerms(waive_penalty=True), LoanFacts(3, 100, 0, 0, 100), "hardship.nothing_to_waive"),
        (PlanTerms(freeze_days=10), LoanFacts(3, 100, 0, 0, 100, live_plan=True), "hardship.one_plan_at_a_time"),
        (PlanTerms(freeze_days=10), LoanFacts(0, 0, 0, 0, 0, settled=True), "hardship.loan_closed"),
    ],
)
def test_plans_the_rules_refuse_name_the_rule(terms: PlanTerms, facts: LoanFacts, rule: str) -> None:
    with pytest.raises(PlanRefused, match=rule.replace(".", r"\.")):
        check_terms(terms, facts, ON, POLICY)


def test_the_settlement_floor_is_rounded_up_to_the_minor_unit() -> None:
    # 50% of 2,546.85 is 1,273.425: the floor is 1,273.43; 1,273.42 is refused, 1,273.43 taken
    check_terms(PlanTerms(settlement_amount=127343, settlement_days=10), FACTS, ON, POLICY)
    with pytest.raises(PlanRefused, match=r"at least 1273\.43"):
        check_terms(PlanTerms(settlement_amount=127342, settlement_days=10), FACTS, ON, POLICY)


def test_maker_checker_and_role_limits() -> None:
    for same in (" li wei ", "Li\u200bWei".replace("Wei", " Wei"), "ｌｉ  ｗｅｉ", "LI WEI"):
        with pytest.raises(PlanRefused, match="maker_checker"):
            check_approval("Li Wei", same, "supervisor", 0, POLICY)
    with pytest.raises(PlanRefused, match="maker_checker"):
        check_approval("José", "Jose\u0301", "supervisor", 0, POLICY)  # composed and decomposed: one name
    with pytest.raises(PlanRefused, match="checker_required"):
        check_approval("Li Wei", " \u200b ", "supervisor", 0, POLICY)
    with pytest.raises(PlanRefused, match="approver_role"):
        check_approval("Li Wei", "Wang", "collector", 0, POLICY)
    check_approval("Li Wei", "Wang", "supervisor", 500_000, POLICY)  # exactly the 5,000.00 limit
    with pytest.raises(PlanRefused, match=r"above the supervisor limit of 5000\.00"):
        check_approval("Li Wei", "Wang", "supervisor", 500_001, POLICY)
    check_approval("Li Wei", "Wang", "admin", 10**12, POLICY)  # no limit
