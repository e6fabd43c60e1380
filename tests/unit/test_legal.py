"""Legal escalation: referral refusals, the acceleration rule, the court-case lifecycle and judgment delay interest.

Worked examples are computed by hand in the comments; amounts are minor units (fen): 1_000_000 is 10,000.00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.collections import policy
from arrears.errors import InputRejected
from arrears.legal.escalation import (
    AMOUNT_BELOW_THRESHOLD,
    CN_REFERRAL,
    DPD_BELOW_THRESHOLD,
    LIVE_HARDSHIP_PLAN,
    NEXT,
    NOTHING_OWED,
    TIME_BARRED,
    US_REFERRAL,
    AccelerationRule,
    CaseRefused,
    CaseStatus,
    LegalCase,
    LegalRefused,
    ReferralFacts,
    ReferralRule,
    acceleration_due,
    advance,
    delay_interest,
    limitation_start,
    refer,
    referral_refusals,
    time_barred_on,
)
from arrears.money import FloatRefused

D = date

# -- referral -----------------------------------------------------------------------------------------------------

READY = ReferralFacts(
    as_of=D(2026, 9, 1),
    days_past_due=120,
    amount_owed=250_000,
    live_hardship_plan=False,
    last_due=D(2026, 12, 1),
    last_interruption=D(2026, 5, 1),
)


def codes(rule: ReferralRule, facts: ReferralFacts) -> list[str]:
    return [r.code for r in referral_refusals(rule, facts)]


def test_a_loan_past_every_threshold_may_be_referred() -> None:
    assert referral_refusals(CN_REFERRAL, READY) == []


def test_days_past_due_threshold_is_inclusive_and_the_message_says_when() -> None:
    assert codes(CN_REFERRAL, replace(READY, days_past_due=90)) == []
    [refusal] = referral_refusals(CN_REFERRAL, replace(READY, days_past_due=89))
    assert refusal.code == DPD_BELOW_THRESHOLD
    assert "89 days past due" in refusal.message and "at least 90" in refusal.message
    assert "from 2026-09-02" in refusal.message  # one more day unpaid
    assert "G" in refusal.source


def test_amount_threshold_is_inclusive() -> None:
    rule = ReferralRule(min_amount_minor=100_000)  # 1,000.00
    assert codes(rule, replace(READY, amount_owed=100_000)) == []
    [refusal] = referral_refusals(rule, replace(READY, amount_owed=99_999))
    assert refusal.code == AMOUNT_BELOW_THRESHOLD
    assert "999.99" in refusal.message and "1000.00" in refusal.message


def test_nothing_owed_is_refused_even_with_the_default_zero_threshold() -> None:
    assert codes(CN_REFERRAL, replace(READY, amount_owed=0)) == [NOTHING_OWED]


def test_a_live_hardship_plan_stops_referral() -> None:
    [refusal] = referral_refusals(CN_REFERRAL, replace(READY, live_hardship_plan=True))
    assert refusal.code == LIVE_HARDSHIP_PLAN and "broken or cancelled" in refusal.message


def test_time_barred_from_the_anniversary_of_the_last_due_date() -> None:
    # last due 2023-03-10, no payment since: barred from 2026-03-10 (one day stricter than art. 201/202, documented)
    facts = replace(READY, last_due=D(2023, 3, 10), last_interruption=None)
    assert codes(CN_REFERRAL, replace(facts, as_of=D(2026, 3, 9))) == []
    [refusal] = referral_refusals(CN_REFERRAL, replace(facts, as_of=D(2026, 3, 10)))
    assert refusal.code == TIME_BARRED
    assert "ran from 2023-03-10" in refusal.message and "since 2026-03-10" in refusal.message
    assert "民法典" in refusal.source


def test_a_payment_interrupts_the_limitation_period() -> None:
    facts = replace(READY, as_of=D(2026, 3, 10), last_due=D(2023, 3, 10), last_interruption=D(2023, 3, 11))
    assert codes(CN_REFERRAL, facts) == []


def test_acceleration_starts_the_limitation_period_for_the_whole_debt_early() -> None:
    # schedule ends 2025-06-01, but the lender accelerated on 2023-01-15: the whole debt was due then
    facts = replace(READY, as_of=D(2026, 1, 15), last_due=D(2025, 6, 1), last_interruption=None)
    assert codes(CN_REFERRAL, facts) == []
    accelerated = replace(facts, accelerated_on=D(2023, 1, 15))
    assert accelerated.limitation_from == D(2023, 1, 15)
    assert codes(CN_REFERRAL, accelerated) == [TIME_BARRED]
    # a payment after the acceleration interrupts it again
    assert codes(CN_REFERRAL, replace(accelerated, last_interruption=D(2023, 2, 1))) == []


def test_acceleration_after_the_last_due_date_does_not_postpone_the_limitation_period() -> None:
    assert limitation_start(D(2023, 1, 1), None, accelerated_on=D(2023, 6, 1)) == D(2023, 1, 1)
    assert limitation_start(D(2023, 1, 1), D(2023, 3, 1), accelerated_on=D(2023, 6, 1)) == D(2023, 3, 1)


def test_us_rule_takes_the_state_period_and_cites_reg_f() -> None:
    facts = replace(READY, as_of=D(2027, 1, 1), last_due=D(2022, 1, 1), last_interruption=None)
    assert codes(US_REFERRAL, facts) == [TIME_BARRED]
    assert "1006.26(b)" in referral_refusals(US_REFERRAL, facts)[0].source
    assert codes(replace(US_REFERRAL, limitation_years=6), facts) == []


def test_every_refusal_at_once() -> None:
    facts = ReferralFacts(D(2030, 1, 1), 10, 5_000, True, last_due=D(2020, 1, 1))
    rule = ReferralRule(min_amount_minor=10_000)
    assert codes(rule, facts) == [DPD_BELOW_THRESHOLD, AMOUNT_BELOW_THRESHOLD, LIVE_HARDSHIP_PLAN, TIME_BARRED]


def test_29_february_is_barred_on_28_february_like_the_policy_pack() -> None:
    assert time_barred_on(D(2024, 2, 29), 3) == D(2027, 2, 28) == policy.time_barred_on(policy.CN, D(2024, 2, 29))
    assert time_barred_on(D(2024, 2, 29), 4) == D(2028, 2, 29)


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31)))
def test_same_barred_day_as_the_policy_packs(start: date) -> None:
    for pack in (policy.CN, policy.US):
        assert time_barred_on(start, pack.limitation_years) == policy.time_barred_on(pack, start)


@pytest.mark.parametrize(
    "change",
    [
        {"days_past_due": -1},
        {"amount_owed": -1},
        {"days_past_due": True},
        {"last_interruption": D(2026, 9, 2)},  # after as_of
        {"accelerated_on": D(2026, 9, 2)},
    ],
)
def test_bad_referral_facts_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(LegalRefused):
        replace(READY, **change)  # type: ignore[arg-type]


def test_a_float_amount_is_refused_as_a_float() -> None:
    with pytest.raises(FloatRefused):
        replace(READY, amount_owed=2500.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("change", [{"min_days_past_due": -1}, {"min_amount_minor": -5}, {"limitation_years": 0}])
def test_bad_referral_rules_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(InputRejected):
        ReferralRule(**change)


# -- acceleration -------------------------------------------------------------------------------------------------


def test_acceleration_by_days_past_due_is_inclusive() -> None:
    rule = AccelerationRule()
    assert not acceleration_due(rule, 89, 10)  # instalments are not counted unless configured
    assert acceleration_due(rule, 90, 0)


def test_acceleration_by_missed_instalments_or_days_whichever_first() -> None:
    by_count = AccelerationRule(min_days_past_due=None, min_missed_installments=3)
    assert not acceleration_due(by_count, 400, 2)
    assert acceleration_due(by_count, 0, 3)
    both = AccelerationRule(min_days_past_due=60, min_missed_installments=3)
    assert acceleration_due(both, 60, 1) and acceleration_due(both, 10, 3) and not acceleration_due(both, 59, 2)


def test_a_product_without_acceleration_never_accelerates() -> None:
    assert not acceleration_due(AccelerationRule(min_days_past_due=None), 10_000, 100)


@pytest.mark.parametrize(
    "change", [{"min_days_past_due": 0}, {"min_missed_installments": 0}, {"min_days_past_due": -3}]
)
def test_bad_acceleration_rules_are_refused(change: dict[str, int]) -> None:
    with pytest.raises(LegalRefused):
        AccelerationRule(**change)


def test_negative_days_or_instalments_are_refused() -> None:
    with pytest.raises(LegalRefused):
        acceleration_due(AccelerationRule(), -1, 0)
    with pytest.raises(LegalRefused):
        acceleration_due(AccelerationRule(), 0, -1)


# -- the court case -----------------------------------------------------------------------------------------------

COURT = "深圳市南山区人民法院"
JUDGMENT = {"principal": 1_000_000, "interest": 50_000, "penalty": 20_000, "costs": 5_000, "pay_by": D(2026, 8, 10)}


def filed() -> LegalCase:
    return advance(
        refer(1, 7, D(2026, 6, 1)), CaseStatus.FILED, D(2026, 6, 20), case_number="(2026)粤0305民初1号", court=COURT
    )


def judged() -> LegalCase:
    return advance(filed(), CaseStatus.JUDGMENT, D(2026, 7, 31), **JUDGMENT)


def test_the_whole_life_of_a_case() -> None:
    case = judged()
    assert case.status is CaseStatus.JUDGMENT and case.judgment_date == D(2026, 7, 31)
    assert case.judgment_debt == 1_075_000 and case.pay_by == D(2026, 8, 10)
    case = advance(case, CaseStatus.ENFORCEMENT, D(2026, 8, 11), enforcement_case_number="(2026)粤0305执9号")
    case = advance(case, CaseStatus.CLOSED, D(2026, 12, 1))
    assert (case.status, case.enforcement_on, case.closed_on) == (CaseStatus.CLOSED, D(2026, 8, 11), D(2026, 12, 1))
    assert (case.court, case.case_number, case.enforcement_case_number) == (
        COURT,
        "(2026)粤0305民初1号",
        "(2026)粤0305执9号",
    )


def test_withdrawn_from_referred_or_filed_and_closed_from_any_open_step() -> None:
    assert advance(refer(1, 7, D(2026, 6, 1)), CaseStatus.WITHDRAWN, D(2026, 6, 1)).withdrawn_on == D(2026, 6, 1)
    assert advance(filed(), CaseStatus.WITHDRAWN, D(2026, 7, 1)).status is CaseStatus.WITHDRAWN
    for case in (refer(1, 7, D(2026, 6, 1)), filed(), judged()):
        assert advance(case, CaseStatus.CLOSED, D(2026, 9, 1)).status is CaseStatus.CLOSED


def at(status: CaseStatus) -> LegalCase:
    """A case in ``status``, reached legally."""
    if status is CaseStatus.REFERRED:
        return refer(1, 7, D(2026, 6, 1))
    if status is CaseStatus.FILED:
        return filed()
    if status is CaseStatus.JUDGMENT:
        return judged()
    if status is CaseStatus.ENFORCEMENT:
        return advance(judged(), CaseStatus.ENFORCEMENT, D(2026, 8, 11))
    if status is CaseStatus.WITHDRAWN:
        return advance(filed(), CaseStatus.WITHDRAWN, D(2026, 7, 1))
    return advance(judged(), CaseStatus.CLOSED, D(2026, 8, 11))


ILLEGAL = [(a, b) for a in CaseStatus for b in CaseStatus if b not in NEXT[a]]


@pytest.mark.parametrize(("start", "to"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_is_refused(start: CaseStatus, to: CaseStatus) -> None:
    details: dict[str, object] = {"case_number": "x", "court": "y"} if to is CaseStatus.FILED else {}
    details = dict(JUDGMENT, pay_by=D(2030, 1, 1)) if to is CaseStatus.JUDGMENT else details
    with pytest.raises(CaseRefused, match=f"cannot become {to}"):
        advance(at(start), to, D(2029, 1, 1), **details)


def test_final_statuses_say_so() -> None:
    with pytest.raises(CaseRefused, match="nothing"):
        advance(at(CaseStatus.CLOSED), CaseStatus.CLOSED, D(2029, 1, 1))


def test_a_step_may_not_be_dated_before_the_previous_one_but_may_be_the_same_day() -> None:
    with pytest.raises(CaseRefused, match="previous step was on 2026-06-20"):
        advance(filed(), CaseStatus.JUDGMENT, D(2026, 6, 19), **dict(JUDGMENT, pay_by=D(2026, 7, 1)))
    same_day = advance(filed(), CaseStatus.JUDGMENT, D(2026, 6, 20), **dict(JUDGMENT, pay_by=D(2026, 6, 20)))
    assert same_day.judgment_date == same_day.pay_by == D(2026, 6, 20)


def test_filing_needs_a_case_number_and_a_court() -> None:
    referred = refer(1, 7, D(2026, 6, 1))
    with pytest.raises(CaseRefused, match="case_number"):
        advance(referred, CaseStatus.FILED, D(2026, 6, 2), court=COURT)
    with pytest.raises(CaseRefused, match="case_number"):
        advance(referred, CaseStatus.FILED, D(2026, 6, 2), case_number="  ", court=COURT)
    with pytest.raises(CaseRefused, match="court"):
        advance(referred, CaseStatus.FILED, D(2026, 6, 2), case_number="(2026)1号")
    chosen = refer(1, 7, D(2026, 6, 1), court=COURT)  # the venue chosen at referral is enough
    assert advance(chosen, CaseStatus.FILED, D(2026, 6, 2), case_number="(2026)1号").court == COURT


@pytest.mark.parametrize("missing", ["principal", "interest", "penalty", "costs", "pay_by"])
def test_a_judgment_needs_every_amount_and_a_deadline(missing: str) -> None:
    details = {k: v for k, v in JUDGMENT.items() if k != missing}
    with pytest.raises(CaseRefused, match=f"needs {missing}"):
        advance(filed(), CaseStatus.JUDGMENT, D(2026, 7, 31), **details)


@pytest.mark.parametrize(
    "change",
    [{"principal": -1}, {"costs": 10.0}, {"interest": True}, {"penalty": "200"}],
    ids=["negative", "float", "bool", "text"],
)
def test_judgment_amounts_are_whole_minor_units_at_least_zero(change: dict[str, object]) -> None:
    with pytest.raises(CaseRefused, match="whole number of minor units"):
        advance(filed(), CaseStatus.JUDGMENT, D(2026, 7, 31), **{**JUDGMENT, **change})


def test_a_judgment_of_nothing_is_refused() -> None:
    nothing = {"principal": 0, "interest": 0, "penalty": 0, "costs": 0, "pay_by": D(2026, 8, 10)}
    with pytest.raises(CaseRefused, match="close the case"):
        advance(filed(), CaseStatus.JUDGMENT, D(2026, 7, 31), **nothing)


@pytest.mark.parametrize("pay_by", [D(2026, 7, 30), "2026-08-10", None])
def test_pay_by_is_a_date_on_or_after_the_judgment(pay_by: object) -> None:
    with pytest.raises(CaseRefused, match="pay_by"):
        advance(filed(), CaseStatus.JUDGMENT, D(2026, 7, 31), **{**JUDGMENT, "pay_by": pay_by})


def test_enforcement_only_after_the_performance_deadline() -> None:
    with pytest.raises(CaseRefused, match="from 2026-08-11"):
        advance(judged(), CaseStatus.ENFORCEMENT, D(2026, 8, 10))
    assert advance(judged(), CaseStatus.ENFORCEMENT, D(2026, 8, 11)).enforcement_case_number is None


def test_details_that_do_not_belong_to_the_step_are_refused() -> None:
    with pytest.raises(CaseRefused, match="do not belong to the step closed"):
        advance(filed(), CaseStatus.CLOSED, D(2026, 7, 1), principal=5)
    with pytest.raises(CaseRefused, match="pay_by"):
        advance(refer(1, 7, D(2026, 6, 1)), CaseStatus.FILED, D(2026, 6, 2), case_number="1", court="c", pay_by=None)


def test_an_unknown_status_is_refused_with_the_choices() -> None:
    with pytest.raises(CaseRefused, match="use one of referred, filed"):
        advance(filed(), "appealed", D(2026, 7, 1))  # type: ignore[arg-type]
    assert advance(filed(), "closed", D(2026, 7, 1)).status is CaseStatus.CLOSED  # type: ignore[arg-type]


def test_judgment_debt_is_none_before_a_judgment() -> None:
    assert filed().judgment_debt is None


def test_advance_never_changes_the_case_it_is_given() -> None:
    case = filed()
    advance(case, CaseStatus.JUDGMENT, D(2026, 7, 31), **JUDGMENT)
    assert case.status is CaseStatus.FILED and case.judgment_principal is None


# -- delay interest -----------------------------------------------------------------------------------------------

PAY_BY = D(2026, 3, 10)
TEN_THOUSAND = 1_000_000  # 10,000.00


def test_worked_example_thirty_days_late() -> None:
    # 10,000.00 x 0.000175 x 30 days (11 March .. 9 April) = 52.50
    result = delay_interest(TEN_THOUSAND, PAY_BY, [], D(2026, 4, 9))
    assert result.total == 5250
    [segment] = result.segments
    assert (segment.start, segment.end, segment.base, segment.days) == (D(2026, 3, 11), D(2026, 4, 9), TEN_THOUSAND, 30)
    assert (result.debt_outstanding, result.interest_outstanding, result.unapplied) == (TEN_THOUSAND, 5250, 0)


def test_nothing_accrues_on_or_before_the_deadline_and_the_first_day_after_counts() -> None:
    assert delay_interest(TEN_THOUSAND, PAY_BY, [], D(2026, 3, 1)).total == 0
    assert delay_interest(TEN_THOUSAND, PAY_BY, [], PAY_BY).segments == ()
    # 11 March alone: 10,000.00 x 0.000175 = 1.75
    assert delay_interest(TEN_THOUSAND, PAY_BY, [], D(2026, 3, 11)).total == 175


def test_the_day_of_payment_counts() -> None:
    # paid in full on 11 March: that day bears interest (SPC 2014 art. 3), then nothing more
    result = delay_interest(TEN_THOUSAND, PAY_BY, [(D(2026, 3, 11), TEN_THOUSAND)], D(2026, 12, 31))
    assert result.total == 175 and result.debt_outstanding == 0
    assert [(s.start, s.end, s.days) for s in result.segments] == [(D(2026, 3, 11), D(2026, 3, 11), 1)]


def test_paying_on_the_deadline_is_on_time() -> None:
    result = delay_interest(TEN_THOUSAND, PAY_BY, [(PAY_BY, TEN_THOUSAND)], D(2026, 12, 31))
    assert (result.total, result.segments, result.debt_outstanding) == (0, (), 0)


def test_a_part_paid_before_the_deadline_lowers_the_base() -> None:
    # 4,000.00 paid on 1 March: 6,000.00 x 0.000175 x 30 = 31.50
    assert delay_interest(TEN_THOUSAND, PAY_BY, [(D(2026, 3, 1), 400_000)], D(2026, 4, 9)).total == 3150


def test_a_partial_payment_splits_the_segments() -> None:
    # 11..20 March: 10 days on 10,000.00 = 17.50; 21 March..9 April: 20 days on 6,000.00 = 21.00; total 38.50
    result = delay_interest(TEN_THOUSAND, PAY_BY, [(D(2026, 3, 20), 400_000)], D(2026, 4, 9))
    assert [(s.base, s.days, s.interest) for s in result.segments] == [(1_000_000, 10, 1750), (600_000, 20, 2100)]
    assert result.total == 3850
    assert (result.debt_outstanding, result.interest_paid) == (600_000, 0)  # the debt first (art. 4)


def test_payments_on_one_day_count_as_one() -> None:
    one = delay_interest(TEN_THOUSAND, PAY_BY, [(D(2026, 3, 20), 400_000)], D(2026, 4, 9))
    split = delay_interest(TEN_THOUSAND, PAY_BY, [(D(2026, 3, 20), 150_000), (D(2026, 3, 20), 250_000)], D(2026, 4, 9))
    assert one == split


def test_rounding_is_half_up_once_per_segment() -> None:
    # 600.00 x 0.000175 x 1 day = 0.105 -> 0.11 (half-up; half-even or truncation would give 0.10)
    assert delay_interest(60_000, PAY_BY, [], D(2026, 3, 11)).total == 11
    # then 400.00 paid on 11 March: 200.00 x 0.000175 x 3 days = 0.105 -> 0.11; total 0.22
    # (rounding the exact total 0.21 once would give 0.21: per-segment rounding is the documented choice)
    result = delay_interest(60_000, PAY_BY, [(D(2026, 3, 11), 40_000)], D(2026, 3, 14))
    assert [s.interest for s in result.segments] == [11, 11] and result.total == 22


def test_a_payment_pays_the_debt_first_then_the_delay_interest() -> None:
    # 30 days on 10,000.00 = 52.50 accrued by 9 April; 10,020.00 paid then: debt 0, 20.00 of interest paid
    first = [(D(2026, 4, 9), 1_002_000)]
    result = delay_interest(TEN_THOUSAND, PAY_BY, first, D(2026, 6, 30))
    assert (result.total, result.debt_outstanding, result.interest_paid, result.interest_outstanding) == (
        5250,
        0,
        2000,
        3250,
    )
    # 50.00 more on 1 May: 32.50 to the interest, 17.50 unapplied
    result = delay_interest(TEN_THOUSAND, PAY_BY, [*first, (D(2026, 5, 1), 5_000)], D(2026, 6, 30))
    assert (result.interest_paid, result.interest_outstanding, result.unapplied) == (5250, 0, 1750)


def test_payments_after_as_of_are_not_made_yet() -> None:
    later = delay_interest(TEN_THOUSAND, PAY_BY, [(D(2026, 5, 1), TEN_THOUSAND)], D(2026, 4, 9))
    assert later == delay_interest(TEN_THOUSAND, PAY_BY, [], D(2026, 4, 9))


def test_the_daily_rate_is_configurable() -> None:
    # 10,000.00 x 0.0003 x 30 = 90.00
    assert delay_interest(TEN_THOUSAND, PAY_BY, [], D(2026, 4, 9), Decimal("0.0003")).total == 9000


@pytest.mark.parametrize(
    ("debt", "payments", "extra", "match"),
    [
        (-1, [], {}, "judgment_debt"),
        (TEN_THOUSAND, [(D(2026, 3, 20), -5)], {}, "payment on 2026-03-20"),
        (TEN_THOUSAND, [(D(2026, 3, 20), 0)], {}, "is 0"),
        (TEN_THOUSAND, [(D(2026, 2, 1), 5)], {"judgment_date": D(2026, 2, 28)}, "before the judgment date"),
        (TEN_THOUSAND, [], {"judgment_date": D(2026, 3, 11)}, "pay_by 2026-03-10 is before the judgment"),
        (TEN_THOUSAND, [], {"daily_rate": Decimal("-0.000175")}, "daily_rate"),
    ],
)
def test_bad_delay_interest_input_is_refused(
    debt: int, payments: list[tuple[date, int]], extra: dict[str, object], match: str
) -> None:
    with pytest.raises(LegalRefused, match=match):
        delay_interest(debt, PAY_BY, payments, D(2026, 4, 9), **extra)  # type: ignore[arg-type]


def test_floats_are_refused() -> None:
    with pytest.raises(FloatRefused):
        delay_interest(10000.0, PAY_BY, [], D(2026, 4, 9))  # type: ignore[arg-type]
    with pytest.raises(FloatRefused):
        delay_interest(TEN_THOUSAND, PAY_BY, [], D(2026, 4, 9), 0.000175)  # type: ignore[arg-type]


def test_delay_before_the_2014_interpretation_is_refused() -> None:
    with pytest.raises(LegalRefused, match="2009 reply"):
        delay_interest(TEN_THOUSAND, D(2014, 7, 30), [], D(2014, 9, 1))
    assert delay_interest(TEN_THOUSAND, D(2014, 7, 31), [], D(2014, 8, 1)).total == 175


# -- properties ---------------------------------------------------------------------------------------------------

START = D(2020, 1, 1)
debts = st.integers(min_value=0, max_value=10**9)
offsets = st.integers(min_value=-30, max_value=400)
payment_lists = st.lists(st.tuples(offsets, st.integers(min_value=1, max_value=10**8)), max_size=6)


def dated(payments: list[tuple[int, int]]) -> list[tuple[date, int]]:
    return [(START + timedelta(days=offset), amount) for offset, amount in payments]


@given(debts, payment_lists, offsets)
def test_segments_explain_the_total(debt: int, payments: list[tuple[int, int]], as_of: int) -> None:
    result = delay_interest(debt, START, dated(payments), START + timedelta(days=as_of))
    assert result.total == sum(s.interest for s in result.segments) >= 0
    assert result.interest_paid + result.interest_outstanding == result.total
    assert min(result.interest_paid, result.interest_outstanding, result.unapplied, result.debt_outstanding) >= 0
    expected_start = START + timedelta(days=1)
    for segment in result.segments:
        assert segment.start == expected_start and segment.end >= segment.start and segment.base > 0
        assert segment.days == (segment.end - segment.start).days + 1
        exact = Fraction(segment.base) * Fraction(Decimal("0.000175")) * segment.days
        assert abs(segment.interest - exact) <= Fraction(1, 2)
        expected_start = segment.end + timedelta(days=1)


@given(debts, payment_lists, offsets)
def test_every_payment_is_accounted_for(debt: int, payments: list[tuple[int, int]], as_of: int) -> None:
    result = delay_interest(debt, START, dated(payments), START + timedelta(days=as_of))
    paid = sum(amount for offset, amount in payments if offset <= as_of)
    assert paid == (debt - result.debt_outstanding) + result.interest_paid + result.unapplied


@given(debts, payment_lists, offsets, st.integers(min_value=0, max_value=200))
def test_monotone_in_as_of(debt: int, payments: list[tuple[int, int]], as_of: int, more: int) -> None:
    earlier = delay_interest(debt, START, dated(payments), START + timedelta(days=as_of))
    later = delay_interest(debt, START, dated(payments), START + timedelta(days=as_of + more))
    assert earlier.total <= later.total


@given(debts, payment_lists, st.integers(min_value=-30, max_value=200), st.integers(min_value=0, max_value=300))
def test_paying_everything_stops_it(debt: int, payments: list[tuple[int, int]], day: int, more: int) -> None:
    before = [(offset, amount) for offset, amount in payments if offset < day]
    paid_on = START + timedelta(days=day)
    owed = delay_interest(debt, START, dated(before), paid_on).debt_outstanding
    settled = [*dated(before), *([(paid_on, owed)] if owed else [])]
    at_payment = delay_interest(debt, START, settled, paid_on)
    afterwards = delay_interest(debt, START, settled, paid_on + timedelta(days=more))
    assert at_payment.debt_outstanding == afterwards.debt_outstanding == 0
    assert afterwards.total == at_payment.total
    assert all(s.end <= paid_on for s in afterwards.segments)


@given(debts, offsets)
def test_without_payments_it_is_one_rounded_product(debt: int, as_of: int) -> None:
    days = max(as_of, 0)
    exact = Fraction(debt) * Fraction(175, 1_000_000) * days
    total = delay_interest(debt, START, [], START + timedelta(days=as_of)).total
    assert total == int(exact + Fraction(1, 2))  # half-up for non-negative values
