"""Hardship plans and acceleration in the reference engine: worked by hand to the cent, and properties over random
loans (a plan never rewrites history; money is never lost; the books always balance).

The loan of every worked example: 2,500.00 over 5 terms, equal principal, d = 0.0005 (penalty 0.00075),
no grace, from 2026-05-15 (tests/scenarios/cn_ageing.json). Installment 1 (500.00 + 38.75) is due 2026-06-15
and not paid: day-ends 06-16 .. 06-20 charge 0.38 penalty and 0.03 compound each (engine docstring).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.bureau.records import account_record, month_ends
from arrears.day_end.reference import DayEndPolicy, LoanDayEnds, day_end_state_through
from arrears.domain.classification import Classification
from arrears.domain.engine import (
    Acceleration,
    ChargeFreeze,
    LoanEvent,
    Payment,
    PaymentRefused,
    Reschedule,
    Settlement,
    replay,
    replay_events,
)
from arrears.domain.explain import explain
from arrears.domain.ledger import Account, open_loan_balances
from arrears.domain.payoff import payoff_of
from arrears.domain.scenario import load_scenario
from arrears.domain.schedule import ScheduleRefused, build_schedule
from arrears.domain.terms import Component, LoanTerms
from tests.support.hypothesis_strategies import loan_terms
from tests.support.paths import SCENARIOS

TERMS = load_scenario(SCENARIOS / "cn_ageing.json").terms
PLAN_DAY = date(2026, 6, 21)


def _state(events: list[LoanEvent], as_of: date) -> object:
    return replay(TERMS, events, as_of)


def test_reschedule_carries_every_overdue_component_into_new_installments_in_allocation_order() -> None:
    # Overdue on 06-21: 500.00 principal, 38.75 interest, 1.90 penalty, 0.15 compound = 540.80, split in two:
    # 270.40 each. The first takes penalty, compound and interest first (the allocation order), then 229.60 of
    # principal; the second takes the other 270.40 of principal.
    plan = Reschedule(PLAN_DAY, (date(2026, 7, 21), date(2026, 8, 21)))
    state = replay(TERMS, [plan], PLAN_DAY)
    carried = [row for row in state.installments if row.number > 5]
    assert [(r.due_date, r.principal, r.interest, r.penalty, r.compound) for r in carried] == [
        (date(2026, 7, 21), 22960, 3875, 190, 15),
        (date(2026, 8, 21), 27040, 0, 0, 0),
    ]
    assert state.installments[0].total == 0  # the old installment is settled by the plan, not paid
    assert state.days_past_due == 0
    assert state.restructured_on == PLAN_DAY
    assert state.allocated == dict.fromkeys(Component, 0)  # nothing was paid
    assert state.overdue.total == 0


def test_a_plan_never_rewrites_history() -> None:
    plan = Reschedule(PLAN_DAY, (date(2026, 7, 21), date(2026, 8, 21)))
    for day in (date(2026, 6, 16), date(2026, 6, 20)):
        assert replay(TERMS, [plan], day) == replay(TERMS, [], day)
    assert replay(TERMS, [], date(2026, 6, 20)).days_past_due == 5  # still 5 days past due on 06-20


def test_carried_installments_bear_no_interest_and_are_penalised_only_once_overdue() -> None:
    plan = Reschedule(PLAN_DAY, (date(2026, 7, 21), date(2026, 8, 21)))
    events: list[LoanEvent] = [plan]
    loan = replay_events(TERMS, events, date(2026, 7, 21))
    loan.close_through(date(2026, 7, 21))
    # installment 2 (400.00 principal due... equal principal: 500.00 + 30.00) is due 07-15 and unpaid: DPD 6 on
    # 07-21, penalty 0.38 and compound 0.02 (30.00 x 0.00075 = 0.0225) a day from day-end 07-16: 6 days.
    state = loan.state()
    assert state.days_past_due == 6
    assert loan.penalty_charged == 190 + 6 * 38
    assert loan.compound_charged == 15 + 6 * 2
    # day-end 07-22 also charges the first carried installment: 229.60 x 0.00075 = 0.1722 -> 0.17 penalty,
    # 38.75 x 0.00075 = 0.029 -> 0.03 compound; never on the penalty and compound it carries.
    loan.close_through(date(2026, 7, 22))
    assert loan.penalty_charged == 190 + 7 * 38 + 17
    assert loan.compound_charged == 15 + 7 * 2 + 3


def test_carried_interest_is_billed_income_already_so_the_books_do_not_move_at_the_plan() -> None:
    before = replay_events(TERMS, [], PLAN_DAY)
    before.begin_day(PLAN_DAY)
    after = replay_events(TERMS, [Reschedule(PLAN_DAY, (date(2026, 7, 21),))], PLAN_DAY)
    after.begin_day(PLAN_DAY)
    assert open_loan_balances(after.totals(PLAN_DAY)) == open_loan_balances(before.totals(PLAN_DAY))
    assert after.accrued_during(PLAN_DAY) == before.accrued_during(PLAN_DAY)


def test_a_reschedule_needs_due_dates_after_it_and_lapses_when_nothing_is_overdue() -> None:
    with pytest.raises(PaymentRefused, match="after the plan's date"):
        replay(TERMS, [Reschedule(PLAN_DAY, (PLAN_DAY,))], PLAN_DAY)
    with pytest.raises(PaymentRefused, match="after the one before"):
        replay(TERMS, [Reschedule(PLAN_DAY, (date(2026, 8, 21), date(2026, 7, 21)))], PLAN_DAY)
    early = Reschedule(date(2026, 6, 1), (date(2026, 7, 1),))
    loan = replay_events(TERMS, [early], date(2026, 6, 1))
    assert loan.lapsed == [(early, "nothing is due and unpaid on 2026-06-01")]
    assert loan.restructured_on is None


def test_a_payment_dated_before_a_plan_that_leaves_nothing_overdue_makes_the_plan_lapse() -> None:
    """Money recorded late is never refused for a plan's sake: the plan's condition is checked on replay."""
    plan = Reschedule(PLAN_DAY, (date(2026, 7, 21),))
    paid = Payment(date(2026, 6, 20), 54080)  # everything overdue on 06-20: 500.00 + 38.75 + 1.90 + 0.15
    loan = replay_events(TERMS, [plan, paid], PLAN_DAY)
    loan.close_through(PLAN_DAY)
    assert [why for _, why in loan.lapsed] == ["nothing is due and unpaid on 2026-06-21"]
    assert loan.days_past_due() == 0 and not any(row.carried for row in loan.state().installments)


def test_paying_the_plan_on_time_keeps_the_loan_current_and_repays_it_exactly() -> None:
    plan = Reschedule(PLAN_DAY, (date(2026, 7, 21), date(2026, 8, 21)))
    # pay every installment on its due date: regular 2..5 (500.00 + 30.00, 23.25, 15.50, 7.50) and the plan's
    pays = [
        Payment(date(2026, 7, 15), 53000),
        Payment(date(2026, 7, 21), 27040),
        Payment(date(2026, 8, 15), 52325),
        Payment(date(2026, 8, 21), 27040),
        Payment(date(2026, 9, 15), 51550),
        Payment(date(2026, 10, 15), 50750),
    ]
    loan = replay_events(TERMS, [plan, *pays], date(2026, 10, 15))
    loan.close_through(date(2026, 10, 20))
    assert loan.settled_on == date(2026, 10, 15)
    assert loan.unapplied == 0
    assert loan.days_past_due() == 0
    assert loan.received == sum(p.amount for p in pays)
    assert sum(loan.allocated.values()) == loan.received


def test_freeze_stops_penalty_and_compound_for_its_days_only() -> None:
    # 06-16..06-20 charged (5 days), 06-21..06-30 frozen, 07-01..07-03 charged again (3 days)
    freeze = ChargeFreeze(PLAN_DAY, date(2026, 6, 30))
    state = replay(TERMS, [freeze], date(2026, 7, 3))
    first = state.installments[0]
    assert (first.penalty, first.compound) == (190 + 3 * 38, 15 + 3 * 3)
    assert replay(TERMS, [freeze], date(2026, 6, 30)).installments[0].penalty == 190
    assert state.restructured_on == PLAN_DAY


def test_settlement_reached_forgives_the_rest_principal_included() -> None:
    # On 06-25, 1,000.00 is paid under a settlement agreed on 06-21 for 1,000.00 by 06-30. Installment 1 takes
    # 542.44 (penalty 9 x 0.38 = 3.42, compound 9 x 0.03 = 0.27, 38.75, 500.00); the 457.56 left pays the current
    # interest, 2,000.00 x 0.0005 x 10 days = 10.00, and 447.56 of principal. The other 1,552.44 is forgiven.
    events: list[LoanEvent] = [Settlement(PLAN_DAY, 100000, date(2026, 6, 30)), Payment(date(2026, 6, 25), 100000)]
    loan = replay_events(TERMS, events, date(2026, 6, 25))
    loan.close_through(date(2026, 6, 25))
    assert loan.settled_on == date(2026, 6, 25)
    assert loan.settled_by_plan
    assert loan.waived[Component.PRINCIPAL] == 155244
    assert loan.allocated[Component.INTEREST] == 3875 + 1000
    assert loan.allocated[Component.PRINCIPAL] == 50000 + 44756
    assert loan.unapplied == 0
    balances = open_loan_balances(loan.totals(date(2026, 6, 25)))
    assert balances[Account.PRINCIPAL_FORGIVEN] == 155244
    assert balances[Account.PRINCIPAL_RECEIVABLE] == 0


def test_settlement_missed_forgives_nothing() -> None:
    events: list[LoanEvent] = [
        Settlement(PLAN_DAY, 100000, date(2026, 6, 30)),
        Payment(date(2026, 6, 25), 99999),
        Payment(date(2026, 7, 1), 1),  # after pay-by: an ordinary payment
    ]
    loan = replay_events(TERMS, events, date(2026, 7, 1))
    loan.close_through(date(2026, 7, 1))
    assert loan.settled_on is None
    assert loan.waived == dict.fromkeys(Component, 0)
    assert loan.settlement_outstanding() is None
    partial = replay_events(TERMS, events[:2], date(2026, 6, 26))
    partial.close_through(date(2026, 6, 26))
    assert partial.settlement_outstanding() == (1, date(2026, 6, 30))


def test_acceleration_makes_everything_due_with_interest_for_the_actual_days() -> None:
    # On 06-21 installments 2..5 fall due: 2,000.00 principal and the current period's interest for 6 days
    # (06-15 to 06-21): 2,000.00 x 0.0005 x 6 = 6.00. From day-end 06-22 each of the five installments' 500.00
    # principal is charged 0.38 a day (rounded per installment, as every day-end does).
    loan = replay_events(TERMS, [Acceleration(PLAN_DAY)], date(2026, 6, 22))
    loan.close_through(date(2026, 6, 22))
    state = loan.state()
    assert all(row.due_date <= PLAN_DAY for row in state.installments)
    assert sum(row.interest for row in state.installments) == 3875 + 600
    assert state.overdue.principal == 250000
    assert loan.penalty_charged == 7 * 38 + 4 * 38  # installment 1: day-ends 06-16..06-22; the rest: 06-22
    assert loan.accrued_interest() == 0  # no contract interest after acceleration
    assert state.accelerated_on == PLAN_DAY
    assert state.days_past_due == 7  # still counted from installment 1's due date


def test_acceleration_lapses_without_a_default_and_takes_a_plan_s_installments_too() -> None:
    early = Acceleration(date(2026, 6, 1))
    assert replay_events(TERMS, [early], date(2026, 6, 1)).lapsed[0][1].startswith("nothing is past due")
    # rescheduled on 06-21 into 07-21 and 08-21; installment 2 (due 07-15) missed; accelerated on 07-25: every
    # installment, the plan's included, falls due that day
    events: list[LoanEvent] = [
        Reschedule(PLAN_DAY, (date(2026, 7, 21), date(2026, 8, 21))),
        Acceleration(date(2026, 7, 25)),
    ]
    state = replay(TERMS, events, date(2026, 7, 26))
    assert all(row.due_date <= date(2026, 7, 25) for row in state.installments)
    assert state.overdue.principal == 250_000 - 0  # nothing was paid: all the principal is overdue


def test_restructured_loan_is_held_at_special_mention_for_the_observation_period() -> None:
    plan = Reschedule(PLAN_DAY, (date(2026, 7, 21), date(2026, 8, 21)))
    pays = [Payment(date(2026, 7, 15), 53000), Payment(date(2026, 7, 21), 27040)]
    policy = DayEndPolicy(observation_days=30)
    standing, _ = day_end_state_through(TERMS, [plan, *pays], date(2026, 7, 20), policy)
    assert standing.days_past_due == 0
    assert standing.classification is Classification.SPECIAL_MENTION  # DPD 0, but observed
    later, _ = day_end_state_through(TERMS, [plan, *pays], date(2026, 7, 21), policy)
    assert later.classification is Classification.NORMAL  # 30 days after the plan: DPD alone decides
    ends = LoanDayEnds(TERMS, [plan, *pays], policy)
    kinds = []
    day = TERMS.start
    while day <= date(2026, 7, 21):
        result = ends.run(day)
        assert result is not None
        kinds += [(e.day, e.kind.value, e.after) for e in result.events]
        day += timedelta(days=1)
    assert (PLAN_DAY, "cured", "0") in kinds  # the plan cures the loan; its class stays special-mention
    assert (date(2026, 7, 21), "reclassified", "normal") in kinds


def test_payoff_counts_what_a_plan_carried_into_installments_not_yet_due() -> None:
    loan = replay_events(TERMS, [Reschedule(PLAN_DAY, (date(2026, 7, 21), date(2026, 8, 21)))], PLAN_DAY)
    loan.close_through(PLAN_DAY)
    on = PLAN_DAY + timedelta(days=1)
    quote = payoff_of(loan, on)
    # carried 540.80, principal not yet due 2,000.00, current interest 2,000.00 x 0.0005 x 7 = 7.00
    assert (quote.rescheduled_not_yet_due, quote.principal_not_yet_due, quote.current_interest) == (54080, 200000, 700)
    assert quote.total == 54080 + 200000 + 700
    loan.pay(on, quote.total)
    assert loan.settled_on == on and loan.unapplied == 0


@st.composite
def _planned(draw: st.DrawFn) -> tuple[LoanTerms, list[LoanEvent], date]:
    terms = draw(loan_terms(max_terms=12))
    try:
        schedule = build_schedule(terms)
    except ScheduleRefused:
        terms = TERMS
        schedule = build_schedule(terms)
    last = max(row.due_date for row in schedule)
    span = (last - terms.start).days + 60
    day = lambda: terms.start + timedelta(days=draw(st.integers(1, span)))  # noqa: E731
    events: list[LoanEvent] = [
        Payment(day(), draw(st.integers(1, terms.principal))) for _ in range(draw(st.integers(0, 4)))
    ]
    plan_day = day()
    kind = draw(st.sampled_from(["reschedule", "freeze", "settlement", "acceleration"]))
    if kind == "reschedule":
        count = draw(st.integers(1, 4))
        dues = tuple(plan_day + timedelta(days=31 * (k + 1)) for k in range(count))
        events.append(Reschedule(plan_day, dues))
    elif kind == "freeze":
        events.append(ChargeFreeze(plan_day, plan_day + timedelta(days=draw(st.integers(0, 90)))))
    elif kind == "settlement":
        events.append(Settlement(plan_day, draw(st.integers(1, terms.principal)), plan_day + timedelta(days=30)))
    else:
        events.append(Acceleration(plan_day))
    events += [Payment(day(), draw(st.integers(1, terms.principal))) for _ in range(draw(st.integers(0, 4)))]
    return terms, events, plan_day


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_planned(), st.integers(0, 500))
def test_plans_keep_history_money_and_books(case: tuple[LoanTerms, list[LoanEvent], date], extra: int) -> None:
    terms, events, plan_day = case
    as_of = plan_day + timedelta(days=extra)
    try:
        loan = replay_events(terms, events, as_of)
        loan.close_through(as_of)
    except PaymentRefused:
        return  # a plan the engine refuses (nothing overdue, already repaid): refusal is tested above
    without = [e for e in events if isinstance(e, Payment)]
    day_before = plan_day - timedelta(days=1)
    if day_before >= terms.start:
        assert replay(terms, events, day_before) == replay(terms, without, day_before)  # history unchanged
    totals = loan.totals(as_of)
    assert sum(totals.allocated.values()) + totals.unapplied == totals.received  # no money lost
    for component in Component:
        assert totals.unpaid(component) >= 0
    open_loan_balances(totals)  # raises if the books do not balance
    state = loan.state()
    regular = len(list(loan.schedule))
    unbilled = sum(r.interest for r in state.installments if r.due_date > as_of and r.number <= regular)
    assert sum(row.total for row in state.installments) - unbilled == sum(totals.unpaid(c) for c in Component)


def test_bureau_records_carry_the_plan_from_its_month_on_and_never_before() -> None:
    plan = Reschedule(PLAN_DAY, (date(2026, 7, 21), date(2026, 8, 21)))
    history = month_ends(TERMS, [plan], date(2026, 7, 31))
    assert [m.plan for m in history] == [None, "reschedule", "reschedule"]  # May, June, July
    assert month_ends(TERMS, [], date(2026, 5, 31)) == history[:1]
    us = account_record("us", 1, 1, TERMS, history[:2], 0)
    cn = account_record("cn", 1, 1, TERMS, history[:2], 0)
    assert (us.special_comment, cn.special_comment) == ("CO", "restructured")
    assert account_record("us", 1, 1, TERMS, history[:1], 0).special_comment is None
    settled = [Settlement(PLAN_DAY, 100000, date(2026, 6, 30)), Payment(date(2026, 6, 25), 100000)]
    closed = month_ends(TERMS, settled, date(2026, 6, 30))
    record = account_record("us", 1, 1, TERMS, closed, 0)
    assert (record.status, record.special_comment) == ("13", "AU")  # paid in full for less than the balance


def test_explain_accounts_for_what_a_plan_moved_and_what_acceleration_charged() -> None:
    plan = Reschedule(PLAN_DAY, (date(2026, 7, 21), date(2026, 8, 21)))
    view = explain(TERMS, [plan], date(2026, 7, 25), loan="L1", lang="en-US")
    by_number = {row["number"]: row for row in view["installments"]}
    first = by_number[1]  # its interest, penalty and compound moved out: nothing owed, nothing paid or waived
    assert (first["penalty"]["charged"], first["penalty"]["owed"], first["penalty"]["paid_or_waived"]) == (
        "0.00",
        "0.00",
        "0.00",
    )
    assert first["interest"]["lines"][-1]["kind"] == "carried_out"
    carried = by_number[6]  # 229.60 principal, 38.75 interest, 1.90 penalty, 0.15 compound carried in, then
    # penalty 229.60 x 0.00075 = 0.17 a day at day-ends 07-22..07-25 (4 days), compound 38.75 x 0.00075 = 0.03
    assert carried["interest"]["owed"] == "38.75"
    assert carried["penalty"]["charged"] == carried["penalty"]["owed"] == "2.58"  # 1.90 + 4 x 0.17
    assert carried["compound"]["owed"] == "0.27"  # 0.15 + 4 x 0.03
    assert "Hardship plan of 2026-06-21" in carried["penalty"]["lines"][0]["text"]
    assert view["owed"]["interest"] == "68.75"  # 38.75 carried (billed before it moved) + 30.00 due 07-15
    zh = explain(TERMS, [plan], date(2026, 7, 25), loan="L1", lang="zh-CN")
    assert "协商还款方案" in zh["installments"][0]["interest"]["lines"][-1]["text"]

    accelerated = explain(TERMS, [Acceleration(PLAN_DAY)], date(2026, 9, 1), loan="L1", lang="en-US")
    second = next(row for row in accelerated["installments"] if row["number"] == 2)
    [line] = second["interest"]["lines"]
    assert (line["kind"], line["charged"]) == ("acceleration", "6.00")  # 2,000.00 x 0.0005 x 6 days
    assert all("interest" not in row for row in accelerated["installments"] if row["number"] > 2)
