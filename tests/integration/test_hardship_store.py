"""Hardship plans over the store (SQLite and PostgreSQL): request, propose, maker-checker approval, the events it
posts, the day-end after it, and the books."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import func, select

from arrears.adapters import store
from arrears.adapters import tables as t
from arrears.day_end.reference import day_end_state_through
from arrears.domain.classification import Classification
from arrears.domain.ledger import Account
from arrears.errors import InputRejected
from arrears.hardship.plans import PlanRefused, PlanTerms
from arrears.money import format_minor
from arrears.service_layer import hardship, legal
from arrears.service_layer.day_end_store import run_store
from arrears.service_layer.services import DrawdownRefused, Services
from tests.support.stores import one_loan


def _transactions(services: Services, loan: int) -> int:
    with services.reading() as connection:
        return int(connection.execute(select(func.count()).where(t.transactions.c.loan_id == loan)).scalar_one())


def _day_end_row(services: Services, loan: int) -> object:
    with services.reading() as connection:
        return connection.execute(select(t.day_end_state).where(t.day_end_state.c.loan_id == loan)).one()


def test_a_plan_is_requested_proposed_and_approved_by_someone_else(new_database: Callable[[], str]) -> None:
    """2,500.00 drawn 05-15; installment 1 (500.00 + 38.75) due 06-15 is unpaid. On 06-26 (business date after
    the day-end of 06-25) the borrower asks for help, a collector proposes 3 installments from 07-26 with the
    penalty waived, the collector cannot approve it, a supervisor does."""
    made = one_loan(new_database())
    services, loan = made.services, made.loan
    run_store(services, through=date(2026, 6, 25))
    asked = hardship.request(services, loan_id=loan, reason="失业了，下个月开始有收入")
    terms = PlanTerms(installments=3, first_due=date(2026, 7, 26), waive_penalty=True)
    proposed = hardship.propose(services, loan_id=loan, terms=terms, maker="collector 李", plan_id=asked["plan"])
    # the penalty and compound owed: 9 day-ends charged (06-17..06-25 after the 1 grace day; the grace days'
    # charges released at its end): penalty 10 x 0.38 = 3.80, compound 10 x 0.03 = 0.30
    assert proposed["concession"] == "4.10"
    assert proposed["overdue"] == "542.85"
    before = _transactions(services, loan)
    with pytest.raises(PlanRefused, match="maker_checker"):
        hardship.approve(services, plan_id=asked["plan"], checker="Collector 李 ", role="supervisor", note="", key="a1")
    with pytest.raises(PlanRefused, match="approver_role"):
        hardship.approve(services, plan_id=asked["plan"], checker="王", role="collector", note="", key="a2")
    assert _transactions(services, loan) == before  # refusals write nothing
    approved = hardship.approve(services, plan_id=asked["plan"], checker="王", role="supervisor", note="ok", key="a3")
    again = hardship.approve(services, plan_id=asked["plan"], checker="王", role="supervisor", note="ok", key="a3")
    assert again == approved
    assert len(approved["transactions"]) == 3  # penalty waiver, compound waiver, reschedule
    assert _transactions(services, loan) == before + 3
    [plan] = hardship.plans(services, loan_id=loan)
    assert (plan["status"], plan["maker"], plan["checker"], plan["checker_role"]) == (
        "approved",
        "collector 李",
        "王",
        "supervisor",
    )
    # the day-ends after it: the loan is current, held at special-mention, and the books agree with its events
    run_store(services, through=date(2026, 7, 10))
    row = _day_end_row(services, loan)
    assert row.days_past_due == 0  # type: ignore[attr-defined]
    assert row.classification == list(Classification).index(Classification.SPECIAL_MENTION)  # type: ignore[attr-defined]
    assert services.verify_ledger() == []
    with services.reading() as connection:
        record = store.get_loan(connection, loan)
        events = store.loan_events(connection, loan)
    standing, replayed = day_end_state_through(record.terms, events, date(2026, 7, 10), services.policy)
    assert standing.classification is Classification.SPECIAL_MENTION
    carried = [row for row in replayed.state().installments if row.carried]
    # 542.85 less the 4.10 waived = 538.75, in three: 179.59, 179.58, 179.58
    assert [r.principal + r.interest + r.penalty + r.compound for r in carried] == [17959, 17958, 17958]
    # a second plan while this one runs is refused
    with pytest.raises(PlanRefused, match="one_plan_at_a_time"):
        hardship.propose(services, loan_id=loan, terms=PlanTerms(freeze_days=10), maker="collector 李")


def test_settlement_at_a_discount_over_the_store(new_database: Callable[[], str]) -> None:
    made = one_loan(new_database())
    services, loan = made.services, made.loan
    run_store(services, through=date(2026, 6, 25))
    with pytest.raises(PlanRefused, match="settlement_amount"):  # below half of what is owed
        hardship.propose(services, loan_id=loan, terms=PlanTerms(settlement_amount=100, settlement_days=10), maker="李")
    proposed = hardship.propose(
        services, loan_id=loan, terms=PlanTerms(settlement_amount=200_000, settlement_days=10), maker="李"
    )
    hardship.approve(services, plan_id=proposed["plan"], checker="王", role="supervisor", note="", key="s1")
    services.repay(loan_id=loan, amount=200_000, value_date=date(2026, 6, 26), key="pay")
    with services.reading() as connection:
        record = store.get_loan(connection, loan)
    assert record.status == "settled"
    run_store(services, through=date(2026, 6, 27))
    assert services.verify_ledger() == []
    with services.reading() as connection:
        books = store.ledger_balances(connection, loan)
    # paid 2,000.00 of the 2,546.35 owed on 06-26 (542.85 overdue plus 0.38 and 0.03 for day-end 06-26? no: the
    # payment is during 06-26, so 542.85, then 2,000.00 principal and 11 days' interest, 11.00): the principal
    # left after the payment, 2,000.00 - (2,000.00 - 542.85 - 11.00) = 553.85, is forgiven
    assert books[Account.PRINCIPAL_FORGIVEN] == 55385


def test_a_settlement_forgives_no_more_than_was_approved_and_the_line_is_not_restored(
    new_database: Callable[[], str],
) -> None:
    """Agreed on 06-26 for 2,000.00 within 10 days (to 07-05), paid on the last day: what is forgiven is exactly
    the concession approved, which counted the penalty and interest running to that day."""
    made = one_loan(new_database())
    services, loan = made.services, made.loan
    run_store(services, through=date(2026, 6, 25))
    terms = PlanTerms(settlement_amount=200_000, settlement_days=10)
    proposed = hardship.propose(services, loan_id=loan, terms=terms, maker="李")
    approved = hardship.approve(services, plan_id=proposed["plan"], checker="王", role="supervisor", note="", key="s")
    # owed on 07-05 if nothing is paid before: installment 1 with 19 day-ends of charges (538.75 + 7.22 + 0.57),
    # 20 days' interest on 2,000.00 (20.00) and the 2,000.00: 2,566.54, less 2,000.00 (today's payoff gives 553.85)
    assert approved["concession"] == proposed["concession"] == "566.54"
    run_store(services, through=date(2026, 7, 4))
    services.repay(loan_id=loan, amount=200_000, value_date=date(2026, 7, 5), key="pay")
    with services.reading() as connection:
        record = store.get_loan(connection, loan)
        events = store.loan_events(connection, loan)
    _, replayed = day_end_state_through(record.terms, events, date(2026, 7, 5), services.policy)
    assert record.status == "settled" and replayed.settled_by_plan
    assert format_minor(sum(replayed.waived.values())) == approved["concession"]
    with pytest.raises(DrawdownRefused, match=r"line\.settled_for_less"):
        services.draw(line_id=made.line, amount=100_00, terms=5, start=date(2026, 7, 5), key="again")


def test_money_dated_before_a_plan_is_taken_and_the_plan_lapses(new_database: Callable[[], str]) -> None:
    made = one_loan(new_database())
    services, loan = made.services, made.loan
    run_store(services, through=date(2026, 6, 25))
    terms = PlanTerms(installments=2, first_due=date(2026, 7, 26))
    proposed = hardship.propose(services, loan_id=loan, terms=terms, maker="李")
    hardship.approve(services, plan_id=proposed["plan"], checker="王", role="supervisor", note="", key="r")
    # a bank transfer of 06-16 found late: installment 1's 538.75, paid within its grace day, so nothing was
    # overdue on 06-26 and the reschedule has nothing to carry
    services.repay(loan_id=loan, amount=53_875, value_date=date(2026, 6, 16), key="late")
    with services.reading() as connection:
        record = store.get_loan(connection, loan)
        events = store.loan_events(connection, loan)
    _, replayed = day_end_state_through(record.terms, events, date(2026, 6, 26), services.policy)
    assert [why for _, why in replayed.lapsed] == ["nothing is due and unpaid on 2026-06-26"]
    assert replayed.days_past_due() == 0
    run_store(services, through=date(2026, 6, 27))
    assert services.verify_ledger() == []
    view = services.loan_state(loan, date(2026, 6, 27))
    assert view["classification"] == "normal"  # a plan that lapsed restructured nothing
    # posting a plan event that would lapse at once is refused, and nothing is written
    before = _transactions(services, loan)
    with pytest.raises(InputRejected, match="would have no effect: nothing is past due"):
        legal.accelerate(services, loan_id=loan, by="decision", reason="test", key="acc")
    assert _transactions(services, loan) == before


def test_loan_show_holds_the_class_during_the_observation_period(new_database: Callable[[], str]) -> None:
    made = one_loan(new_database())
    services, loan = made.services, made.loan
    run_store(services, through=date(2026, 6, 25))
    proposed = hardship.propose(
        services, loan_id=loan, terms=PlanTerms(installments=2, first_due=date(2026, 7, 26)), maker="李"
    )
    hardship.approve(services, plan_id=proposed["plan"], checker="王", role="supervisor", note="", key="c")
    run_store(services, through=date(2026, 7, 1))
    view = services.loan_state(loan, date(2026, 7, 1))
    assert (view["days_past_due"], view["classification"]) == (0, "special-mention")
